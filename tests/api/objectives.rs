//! Issue 14: objectives and their measurements (ISO 27001 / 42001 6.2, 9.1) through the
//! API on both databases: the register, bad input per field, derived status at the band's
//! edges, measurements pushed by an integration, the time series, overdue measurements,
//! other tenants, and the dashboard's figures.

use chrono::{Days, Months, NaiveDate};
use serde_json::{Value, json};

use crate::support::{Actor, TestApp, assert_error};

const FIELDS: &str = "title description standards owner measure unit target direction frequency atRiskBandPercent dueOn status nextMeasurementDue measurementOverdue version viewerCanUpdate viewerCanDelete latest { value measuredOn recordedBy }";
const UPDATE: &str =
    "mutation($i: UpdateObjectiveInput!) { updateObjective(input: $i) { objective { id status version target } } }";
const RECORD: &str = "mutation($i: RecordMeasurementInput!) { recordMeasurement(input: $i) { measurement { id value measuredOn recordedBy note } objective { id status latest { id } } } }";
const DELETE: &str = "mutation($i: DeleteObjectiveInput!) { deleteObjective(input: $i) { deletedId } }";

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn days_ago(n: u64) -> String {
    (today() - Days::new(n)).to_string()
}

async fn record(by: &Actor<'_>, objective: &str, value: f64, on: &str) -> Value {
    by.gql(RECORD, json!({ "i": { "objectiveId": objective, "value": value, "measuredOn": on } })).await
}

async fn status(by: &Actor<'_>, id: &str) -> String {
    by.node(id, "Objective", "status").await["status"].as_str().expect("status").to_string()
}

async fn objectives_register_and_time_series(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    let created = o
        .objective()
        .set("description", "Everyone knows the AI policy")
        .set("owner", "HR lead")
        .set("dueOn", (today() + Days::new(90)).to_string())
        .create_returning(FIELDS)
        .await;
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["status"], "NO_DATA");
    assert_eq!(created["atRiskBandPercent"], 10.0);
    assert_eq!(created["direction"], "AT_LEAST");
    assert_eq!(created["standards"], json!(["ISO27001", "ISO42001"]));
    assert_eq!(created["latest"], Value::Null);
    assert_eq!(created["measurementOverdue"], false);
    let due = today().checked_add_months(Months::new(3)).expect("date");
    assert_eq!(created["nextMeasurementDue"], json!(due.to_string()));

    // A monitoring tool pushes a KPI; measurements of earlier days do not replace the latest.
    let body = record(&t.integration, &id, 80.0, &days_ago(10)).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let pushed = &body["data"]["recordMeasurement"];
    assert_eq!(pushed["measurement"]["recordedBy"], json!(t.integration.sub));
    assert_eq!(pushed["objective"]["status"], "OFF_TRACK");
    let latest = pushed["measurement"]["id"].clone();
    assert_eq!(pushed["objective"]["latest"]["id"], latest);
    let older = record(o, &id, 99.0, &days_ago(40)).await;
    assert_eq!(older["data"]["recordMeasurement"]["objective"]["latest"]["id"], latest, "{older:#}");
    assert_eq!(status(o, &id).await, "OFF_TRACK");
    record(&t.contributor, &id, 90.0, &days_ago(5)).await;
    assert_eq!(status(o, &id).await, "AT_RISK");
    record(&t.manager, &id, 96.0, &days_ago(1)).await;
    assert_eq!(status(o, &id).await, "ACHIEVED");

    // The time series, in date order, page by page.
    let q = "query($id: ID!, $after: String) { node(id: $id) { ... on Objective { measurements(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { value measuredOn } } } } }";
    let first = o.ok(q, json!({ "id": id })).await;
    let page = &first["node"]["measurements"];
    assert_eq!(page["totalCount"], 4);
    assert_eq!(
        page["nodes"],
        json!([{ "value": 99.0, "measuredOn": days_ago(40) }, { "value": 80.0, "measuredOn": days_ago(10) }])
    );
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let next = o.ok(q, json!({ "id": id, "after": page["pageInfo"]["endCursor"] })).await;
    assert_eq!(
        next["node"]["measurements"]["nodes"],
        json!([{ "value": 90.0, "measuredOn": days_ago(5) }, { "value": 96.0, "measuredOn": days_ago(1) }])
    );

    // Updates: a continuing objective meeting its target is ON_TRACK; a tighter target
    // with a wider band is AT_RISK; clearing fields with null.
    let body = o.ok(UPDATE, json!({ "i": { "id": id, "dueOn": null, "owner": null, "expectedVersion": 4 } })).await;
    assert_eq!(body["updateObjective"]["objective"]["status"], "ON_TRACK");
    let stale = o.gql(UPDATE, json!({ "i": { "id": id, "title": "x", "expectedVersion": 1 } })).await;
    assert_error(&stale, "CONFLICT", None);
    let body = o.ok(UPDATE, json!({ "i": { "id": id, "target": 100, "atRiskBandPercent": 5 } })).await;
    assert_eq!(body["updateObjective"]["objective"]["status"], "AT_RISK");
    let body = o.ok(UPDATE, json!({ "i": { "id": id, "atRiskBandPercent": 3 } })).await;
    assert_eq!(body["updateObjective"]["objective"]["status"], "OFF_TRACK");
    let read = o.node(&id, "Objective", FIELDS).await;
    assert_eq!(read["owner"], Value::Null);
    assert_eq!(read["dueOn"], Value::Null);
    assert_eq!(read["latest"]["value"], 96.0);

    // The trail records the objective's changes and the measurements.
    let h = o.node(&id, "Objective", "history(first: 100) { totalCount }").await;
    assert!(h["history"]["totalCount"].as_i64().expect("count") >= 6, "{h:#}");
    let m = o.node(latest.as_str().expect("id"), "Measurement", "history(first: 5) { nodes { action } }").await;
    assert_eq!(m["history"]["nodes"][0]["action"], "CREATE", "{m:#}");

    // Delete takes the measurements with it.
    let before = app.count("measurements").await;
    let gone = o.ok(DELETE, json!({ "i": { "id": id } })).await;
    assert_eq!(gone["deleteObjective"]["deletedId"], json!(id));
    assert_eq!(app.count("measurements").await, before - 4);
    assert_eq!(o.node(&id, "Objective", "title").await, Value::Null);
}

async fn objectives_refuse_bad_input(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    let rows = app.count("objectives").await;
    for (field, value, code_field) in [
        ("title", json!("  "), Some("title")),
        ("measure", json!(""), Some("measure")),
        ("standards", json!([]), Some("standards")),
        ("atRiskBandPercent", json!(101), Some("atRiskBandPercent")),
        ("atRiskBandPercent", json!(-1), Some("atRiskBandPercent")),
        ("unit", json!("x".repeat(51)), Some("unit")),
        // Enums, dates and numbers the schema does not take.
        ("direction", json!("SIDEWAYS"), None),
        ("frequency", json!("WEEKLY"), None),
        ("dueOn", json!("2026-13-01"), None),
        ("target", json!("high"), None),
    ] {
        let body = o.objective().set(field, value).send().await;
        assert_error(&body, "BAD_USER_INPUT", code_field);
    }
    assert_eq!(app.count("objectives").await, rows, "nothing half-written");

    let id = o.objective().create().await;
    for (input, field) in [
        (json!({ "title": "" }), Some("title")),
        (json!({ "standards": [] }), Some("standards")),
        (json!({ "atRiskBandPercent": 100.5 }), Some("atRiskBandPercent")),
        (json!({ "direction": "UP" }), None),
        (json!({ "dueOn": "tomorrow" }), None),
    ] {
        let mut i = input;
        i["id"] = json!(id);
        assert_error(&o.gql(UPDATE, json!({ "i": i })).await, "BAD_USER_INPUT", field);
    }
    let future = (today() + Days::new(1)).to_string();
    assert_error(&record(o, &id, 1.0, &future).await, "BAD_USER_INPUT", Some("measuredOn"));
    assert_error(&record(o, &id, 1.0, "2026-02-30").await, "BAD_USER_INPUT", None);
    let body = o
        .gql(
            RECORD,
            json!({ "i": { "objectiveId": id, "value": 1, "measuredOn": days_ago(0), "note": "n".repeat(20_001) } }),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("note"));
    assert_eq!(app.count("measurements").await, 0);
    // Not a risk, not an objective: the ID's kind is checked.
    let risk = o.risk().create().await;
    let body = record(o, &risk, 1.0, &days_ago(0)).await;
    assert!(matches!(crate::support::code(&body), "BAD_USER_INPUT" | "NOT_FOUND"), "{body:#}");
}

async fn objective_roles_and_tenants(app: &TestApp) {
    let t = app.tenant("acme").await;
    let b = app.tenant("beta").await;
    let id = t.owner.objective().create().await;
    // AUDITOR and VIEWER read; they may not write or record.
    for who in [&t.auditor, &t.viewer] {
        assert_eq!(who.node(&id, "Objective", "title viewerCanUpdate").await["viewerCanUpdate"], false);
        assert_error(&record(who, &id, 1.0, &days_ago(0)).await, "FORBIDDEN", None);
        assert_error(&who.objective().send().await, "FORBIDDEN", None);
    }
    // INTEGRATION records measurements but does not edit objectives.
    assert!(record(&t.integration, &id, 1.0, &days_ago(0)).await.get("errors").is_none());
    assert_error(&t.integration.gql(UPDATE, json!({ "i": { "id": id, "title": "x" } })).await, "FORBIDDEN", None);
    // Another tenant's objective is indistinguishable from a missing one.
    for who in b.members() {
        assert_eq!(who.node(&id, "Objective", "title").await, Value::Null);
        assert_error(&record(who, &id, 1.0, &days_ago(0)).await, "NOT_FOUND", None);
        assert_error(&who.gql(UPDATE, json!({ "i": { "id": id, "title": "x" } })).await, "NOT_FOUND", None);
        assert_error(&who.gql(DELETE, json!({ "i": { "id": id } })).await, "NOT_FOUND", None);
    }
    assert_error(&b.owner.objective().org(&t.id).send().await, "NOT_FOUND", None);
}

async fn measurement_overdue_per_frequency(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    for (frequency, months) in [("MONTHLY", 1), ("QUARTERLY", 3), ("SEMI_ANNUAL", 6), ("ANNUAL", 12)] {
        let id = o.objective().set("frequency", frequency).create().await;
        // The latest measured exactly one period ago: due today, not overdue yet.
        let on_time = today().checked_sub_months(Months::new(months)).expect("date");
        record(o, &id, 99.0, &on_time.to_string()).await;
        let read = o.node(&id, "Objective", "nextMeasurementDue measurementOverdue").await;
        let due = on_time.checked_add_months(Months::new(months)).expect("date");
        assert_eq!(read["nextMeasurementDue"], json!(due.to_string()), "{frequency}");
        assert_eq!(read["measurementOverdue"], due < today(), "{frequency}");
        // A period and a day ago: overdue.
        let late = o.objective().set("frequency", frequency).create().await;
        let when = on_time - Days::new(1);
        record(o, &late, 99.0, &when.to_string()).await;
        let read = o.node(&late, "Objective", "measurementOverdue").await;
        assert_eq!(read["measurementOverdue"], true, "{frequency}");
    }
}

async fn objective_dashboard_figures(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    let q = "query($o: ID!) { organization(id: $o) { dashboard { objectivesOffTrack objectives { status count } } } }";
    let empty = t.viewer.ok(q, json!({ "o": t.id })).await;
    assert_eq!(empty["organization"]["dashboard"]["objectivesOffTrack"], 0);
    // Fixture: one of each status, plus a second OFF_TRACK past its due day (within band).
    let no_data = o.objective().create().await;
    let on_track = o.objective().create().await;
    record(o, &on_track, 95.0, &days_ago(0)).await; // on the target
    let at_risk = o.objective().create().await;
    record(o, &at_risk, 85.5, &days_ago(0)).await; // the band's far edge (95 - 9.5)
    let off = o.objective().create().await;
    record(o, &off, 85.4, &days_ago(0)).await; // just beyond it
    let achieved = o.objective().set("dueOn", days_ago(0)).set("direction", "AT_MOST").set("target", 2).create().await;
    record(o, &achieved, 1.0, &days_ago(0)).await;
    let late = o.objective().set("dueOn", days_ago(1)).create().await;
    record(o, &late, 94.0, &days_ago(2)).await;
    for (id, want) in [
        (&no_data, "NO_DATA"),
        (&on_track, "ON_TRACK"),
        (&at_risk, "AT_RISK"),
        (&off, "OFF_TRACK"),
        (&achieved, "ACHIEVED"),
        (&late, "OFF_TRACK"),
    ] {
        assert_eq!(status(o, id).await, want);
    }
    // Another tenant's objectives do not count.
    let b = app.tenant("beta").await;
    let other = b.owner.objective().create().await;
    record(&b.owner, &other, 1.0, &days_ago(0)).await;

    let d = t.viewer.ok(q, json!({ "o": t.id })).await;
    let dash = &d["organization"]["dashboard"];
    assert_eq!(dash["objectivesOffTrack"], 2);
    assert_eq!(
        dash["objectives"],
        json!([
            { "status": "NO_DATA", "count": 1 },
            { "status": "ON_TRACK", "count": 1 },
            { "status": "AT_RISK", "count": 1 },
            { "status": "OFF_TRACK", "count": 2 },
            { "status": "ACHIEVED", "count": 1 },
        ])
    );
}

crate::api_tests!(
    objectives_register_and_time_series,
    objectives_refuse_bad_input,
    objective_roles_and_tenants,
    measurement_overdue_per_frequency,
    objective_dashboard_figures,
);
