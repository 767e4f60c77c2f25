//! Issue 16: the implementation programme (template INTEGRATED_AIMS_ON_ISMS), its phase
//! dates and progress, and moving phases with and without shifting the later ones.

use serde_json::{Value, json};

use crate::api_tests;
use crate::support::{TestApp, assert_error};

const CREATE: &str = "mutation($i: CreateProgrammeInput!) { createProgramme(input: $i) { programme { id plannedWeeks templateWeeksRange phases { id position name plannedWeeks plannedStart plannedEnd progress status tasks { id dueOn } } } } }";
const MOVE: &str = "mutation($i: UpdateProgrammePhaseInput!) { updateProgrammePhase(input: $i) { phase { id plannedStart plannedEnd } programme { phases { plannedStart plannedEnd } } } }";

fn date(v: &Value) -> chrono::NaiveDate {
    v.as_str().expect("date").parse().expect("a date")
}

async fn the_programme_follows_the_template(app: &TestApp) {
    let t = app.tenant("acme").await;
    let c = &t.contributor;
    let d = c
        .ok(
            CREATE,
            json!({ "i": { "organizationId": t.id, "startOn": "2027-01-04", "template": "INTEGRATED_AIMS_ON_ISMS" } }),
        )
        .await;
    let p = &d["createProgramme"]["programme"];
    let phases = p["phases"].as_array().expect("phases").clone();
    let names: Vec<&str> = phases.iter().filter_map(|x| x["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "Gap assessment",
            "Scope and context",
            "Risk framework",
            "Controls",
            "Documentation",
            "Operation and monitoring",
            "Internal audit and management review"
        ]
    );
    // The planned weeks add up to the guide's 15-21 weeks, phase after phase.
    let weeks: i64 = phases.iter().map(|x| x["plannedWeeks"].as_i64().expect("weeks")).sum();
    assert_eq!(p["plannedWeeks"], json!(weeks));
    assert!((15..=21).contains(&weeks), "{weeks}");
    assert_eq!(p["templateWeeksRange"], json!([15, 21]));
    assert_eq!(phases[0]["plannedStart"], "2027-01-04");
    for w in phases.windows(2) {
        assert_eq!(date(&w[0]["plannedEnd"]).succ_opt(), Some(date(&w[1]["plannedStart"])));
    }
    for x in &phases {
        let span = (date(&x["plannedEnd"]) - date(&x["plannedStart"])).num_days() + 1;
        assert_eq!(span, x["plannedWeeks"].as_i64().expect("weeks") * 7);
        assert!(!x["tasks"].as_array().expect("tasks").is_empty());
        assert_eq!(x["tasks"][0]["dueOn"], x["plannedEnd"]);
        assert_eq!(x["progress"], 0.0);
    }
    let last = date(&phases[6]["plannedEnd"]);
    assert_eq!((last - date(&phases[0]["plannedStart"])).num_days() + 1, weeks * 7);

    // Progress: the share of a phase's tasks done.
    let first = phases[0]["tasks"].as_array().expect("tasks").clone();
    let done = "mutation($i: CompleteTaskInput!) { completeTask(input: $i) { task { id } } }";
    c.ok(done, json!({ "i": { "id": first[0]["id"] } })).await;
    let phase = c.node(phases[0]["id"].as_str().expect("id"), "ProgrammePhase", "progress status").await;
    assert_eq!(phase["progress"], 1.0 / first.len() as f64);
    for task in &first[1..] {
        c.ok(done, json!({ "i": { "id": task["id"] } })).await;
    }
    let phase = c.node(phases[0]["id"].as_str().expect("id"), "ProgrammePhase", "progress status").await;
    assert_eq!(phase["progress"], 1.0);
    assert_eq!(phase["status"], "DONE");
    // The organization lists it; the tasks are in the organization's task list.
    let q = "query($o: ID!) { organization(id: $o) { programmes { totalCount } tasks { totalCount } } }";
    let d = t.viewer.ok(q, json!({ "o": t.id })).await;
    assert_eq!(d["organization"]["programmes"]["totalCount"], 1);
    assert_eq!(d["organization"]["tasks"]["totalCount"], 14);
    // Roles: auditors read, do not create.
    let e = t
        .auditor
        .gql(
            CREATE,
            json!({ "i": { "organizationId": t.id, "startOn": "2027-01-04", "template": "INTEGRATED_AIMS_ON_ISMS" } }),
        )
        .await;
    assert_error(&e, "FORBIDDEN", None);
}

async fn moving_a_phase_shifts_the_later_ones_when_asked(app: &TestApp) {
    let t = app.tenant("acme").await;
    let m = &t.manager;
    let d = m
        .ok(
            CREATE,
            json!({ "i": { "organizationId": t.id, "startOn": "2027-01-04", "template": "INTEGRATED_AIMS_ON_ISMS" } }),
        )
        .await;
    let phases = d["createProgramme"]["programme"]["phases"].as_array().expect("phases").clone();
    let id = |i: usize| phases[i]["id"].as_str().expect("id").to_string();
    let dates = |d: &Value| -> Vec<(String, String)> {
        d["updateProgrammePhase"]["programme"]["phases"]
            .as_array()
            .expect("phases")
            .iter()
            .map(|p| {
                (
                    p["plannedStart"].as_str().unwrap_or("").to_string(),
                    p["plannedEnd"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let original: Vec<(String, String)> = phases
        .iter()
        .map(|p| (p["plannedStart"].as_str().unwrap_or("").into(), p["plannedEnd"].as_str().unwrap_or("").into()))
        .collect();
    // A phase may not end before it starts.
    let e = m.gql(MOVE, json!({ "i": { "id": id(1), "plannedEnd": "2027-01-01" } })).await;
    assert_error(&e, "BAD_USER_INPUT", Some("plannedEnd"));
    // Longer by one week, later phases kept.
    let new_end = (date(&phases[1]["plannedEnd"]) + chrono::Duration::days(7)).to_string();
    let d = m.ok(MOVE, json!({ "i": { "id": id(1), "plannedEnd": new_end } })).await;
    let got = dates(&d);
    assert_eq!(got[1].1, new_end);
    assert_eq!(got[2..], original[2..]);
    // Another week, shifting the later phases by as much.
    let newer_end = (date(&json!(new_end)) + chrono::Duration::days(7)).to_string();
    let d = m.ok(MOVE, json!({ "i": { "id": id(1), "plannedEnd": newer_end, "shiftLaterPhases": true } })).await;
    let got = dates(&d);
    assert_eq!(got[0], original[0]);
    for i in 2..7 {
        let shifted = |s: &str| (s.parse::<chrono::NaiveDate>().expect("date") + chrono::Duration::days(7)).to_string();
        assert_eq!(got[i], (shifted(&original[i].0), shifted(&original[i].1)), "phase {i}");
    }
    // Another tenant's phase is missing; stale versions conflict.
    let b = app.tenant("beta").await;
    assert_error(&b.owner.gql(MOVE, json!({ "i": { "id": id(1), "plannedEnd": newer_end } })).await, "NOT_FOUND", None);
    let e = m.gql(MOVE, json!({ "i": { "id": id(1), "plannedEnd": newer_end, "expectedVersion": 1 } })).await;
    assert_error(&e, "CONFLICT", None);
    assert_error(
        &t.viewer.gql(MOVE, json!({ "i": { "id": id(1), "plannedEnd": newer_end } })).await,
        "FORBIDDEN",
        None,
    );
}

api_tests!(the_programme_follows_the_template, moving_a_phase_shifts_the_later_ones_when_asked);
