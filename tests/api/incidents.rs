//! Issue 15, incidents (ISO 27001 A.5.24-A.5.28; ISO 42001 A.3.3): the workflow and its
//! times, the ticketing upsert (idempotent, one row under concurrent calls, an external
//! "resolved" at most to RESOLVED), nonconformities raised from incidents, roles,
//! cross-tenant links and the dashboard, through the API on both databases.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::support::{Actor, TestApp, assert_error};

const REPORT: &str = "mutation($i: ReportIncidentInput!) { reportIncident(input: $i) { incident { id status version detectedAt reportedAt } } }";
const UPDATE: &str =
    "mutation($i: UpdateIncidentInput!) { updateIncident(input: $i) { incident { id version title lessonsLearned } } }";
const MOVE: &str = "mutation($i: TransitionIncidentInput!) { transitionIncident(input: $i) { incident { id status detectedAt triagedAt containedAt resolvedAt closedAt } } }";
const UPSERT: &str = "mutation($i: UpsertIncidentByExternalRefInput!) { upsertIncidentByExternalRef(input: $i) { created incident { id status version title externalStatus resolvedAt ticketSynced } } }";
const RAISE: &str = "mutation($i: RaiseNonconformityFromIncidentInput!) { raiseNonconformityFromIncident(input: $i) { created incident { id nonconformity { id } } nonconformity { id source severity status incident { id } } } }";

fn report_input(org: &str, extra: Value) -> Value {
    let mut i = json!({ "organizationId": org, "title": "Phishing wave", "kind": "SECURITY", "severity": "MEDIUM" });
    for (k, v) in extra.as_object().expect("object") {
        i[k] = v.clone();
    }
    i
}

async fn report(by: &Actor<'_>, extra: Value) -> String {
    let data = by.ok(REPORT, json!({ "i": report_input(by.org(), extra) })).await;
    data["reportIncident"]["incident"]["id"].as_str().expect("id").to_string()
}

async fn move_to(by: &Actor<'_>, id: &str, to: &str, extra: Value) -> Value {
    let mut i = json!({ "id": id, "to": to });
    for (k, v) in extra.as_object().expect("object") {
        i[k] = v.clone();
    }
    by.gql(MOVE, json!({ "i": i })).await
}

fn upsert_input(org: &str, key: &str, extra: Value) -> Value {
    let mut i = json!({ "organizationId": org, "externalRef": { "system": "servicenow", "key": key }, "title": "Model drift alert", "kind": "AI", "aiHarms": ["MODEL_DRIFT"], "severity": "HIGH" });
    for (k, v) in extra.as_object().expect("object") {
        i[k] = v.clone();
    }
    i
}

fn time(v: &Value) -> chrono::DateTime<Utc> {
    v.as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).expect("a time").with_timezone(&Utc)
}

// ---------------------------------------------------------------------------------------

async fn incident_workflow_sets_times_and_needs_lessons_to_close(app: &TestApp) {
    let t = app.tenant("acme").await;
    let (c, o) = (&t.contributor, &t.owner);
    let detected = (Utc::now() - Duration::hours(5)).to_rfc3339();
    let id = report(c, json!({ "detectedAt": detected })).await;
    let before = o.node(&id, "Incident", "status version").await;
    assert_eq!(before["status"], "REPORTED");

    // No skips, no way back.
    assert_error(&move_to(c, &id, "CONTAINED", json!({})).await, "BAD_USER_INPUT", Some("to"));
    assert_error(&move_to(c, &id, "REPORTED", json!({})).await, "BAD_USER_INPUT", Some("to"));
    // lessonsLearned only with CLOSED.
    assert_error(
        &move_to(c, &id, "TRIAGED", json!({ "lessonsLearned": "x" })).await,
        "BAD_USER_INPUT",
        Some("lessonsLearned"),
    );
    assert_eq!(o.node(&id, "Incident", "status version").await, before, "nothing moved");

    let mut last = json!(null);
    for to in ["TRIAGED", "CONTAINED", "RESOLVED"] {
        let body = move_to(c, &id, to, json!({ "note": format!("to {to}") })).await;
        assert!(body.get("errors").is_none(), "{body:#}");
        last = body["data"]["transitionIncident"]["incident"].clone();
        assert_eq!(last["status"], to);
    }
    let d = time(&last["detectedAt"]);
    for f in ["triagedAt", "containedAt", "resolvedAt"] {
        assert!(time(&last[f]) >= d, "{f} before detectedAt: {last}");
    }
    assert!(time(&last["containedAt"]) >= time(&last["triagedAt"]));
    assert!(last["closedAt"].is_null());

    // CLOSED needs the lessons learned (A.5.27).
    assert_error(&move_to(c, &id, "CLOSED", json!({})).await, "BAD_USER_INPUT", Some("lessonsLearned"));
    assert_error(
        &move_to(c, &id, "CLOSED", json!({ "lessonsLearned": "  " })).await,
        "BAD_USER_INPUT",
        Some("lessonsLearned"),
    );
    // The auditor may report but not move it.
    assert_error(&move_to(&t.auditor, &id, "CLOSED", json!({ "lessonsLearned": "x" })).await, "FORBIDDEN", None);
    let body = move_to(c, &id, "CLOSED", json!({ "lessonsLearned": "MFA everywhere" })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert!(time(&body["data"]["transitionIncident"]["incident"]["closedAt"]) >= d);
    let node = o
        .node(&id, "Incident", "lessonsLearned transitions { from to note } viewerCanUpdate viewerCanTransition")
        .await;
    assert_eq!(node["lessonsLearned"], "MFA everywhere");
    assert_eq!(node["transitions"].as_array().expect("moves").len(), 4);
    assert_eq!(node["transitions"][0], json!({ "from": "REPORTED", "to": "TRIAGED", "note": "to TRIAGED" }));
    assert_eq!(node["viewerCanUpdate"], false);
    assert_eq!(node["viewerCanTransition"], false);
    // Closed incidents are records.
    assert_error(&o.gql(UPDATE, json!({ "i": { "id": id, "title": "New" } })).await, "BAD_USER_INPUT", Some("id"));
    assert_error(&move_to(c, &id, "CLOSED", json!({ "lessonsLearned": "x" })).await, "BAD_USER_INPUT", Some("to"));

    // The trail has every change.
    let history = o.node(&id, "Incident", "history(first: 20) { totalCount }").await;
    assert!(history["history"]["totalCount"].as_i64().expect("count") >= 5, "{history}");

    // Lessons recorded beforehand also let it close.
    let other = report(o, json!({})).await;
    for to in ["TRIAGED", "CONTAINED", "RESOLVED"] {
        assert!(move_to(o, &other, to, json!({})).await.get("errors").is_none());
    }
    o.ok(UPDATE, json!({ "i": { "id": other, "lessonsLearned": "patch sooner" } })).await;
    assert!(move_to(o, &other, "CLOSED", json!({})).await.get("errors").is_none());
}

async fn reporting_checks_input_and_roles(app: &TestApp) {
    let t = app.tenant("acme").await;
    let beta = app.tenant("beta").await;
    let o = &t.owner;
    let org = t.id.as_str();
    let future = (Utc::now() + Duration::hours(2)).to_rfc3339();
    for (extra, field) in [
        (json!({ "title": "  " }), "title"),
        (json!({ "title": "x".repeat(301) }), "title"),
        (json!({ "detectedAt": future }), "detectedAt"),
        (json!({ "aiHarms": ["BIAS"] }), "aiHarms"),
        (json!({ "aiSystemId": "nonsense" }), "aiSystemId"),
        (json!({ "affectedControlIds": ["nonsense"] }), "affectedControlIds"),
    ] {
        let body = o.gql(REPORT, json!({ "i": report_input(org, extra.clone()) })).await;
        assert_error(&body, "BAD_USER_INPUT", Some(field));
    }
    // Another tenant's AI system and SoA rows look missing.
    let their_ai = beta.owner.ai_system().create().await;
    let their_control = beta.owner.control_id("ISO27001", "A.5.24").await;
    let body = o.gql(REPORT, json!({ "i": report_input(org, json!({ "aiSystemId": their_ai })) })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("aiSystemId"));
    let body = o.gql(REPORT, json!({ "i": report_input(org, json!({ "affectedControlIds": [their_control] })) })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("affectedControlIds"));
    assert_eq!(app.count("incidents").await, 0, "nothing half-written");

    // Own links are kept and read back.
    let ai = o.ai_system().create().await;
    let ctl = o.control_id("ISO27001", "A.5.24").await;
    let id = report(
        &t.auditor,
        json!({ "kind": "AI", "aiHarms": ["BIAS", "BIAS", "SAFETY"], "aiSystemId": ai, "affectedControlIds": [ctl, ctl] }),
    )
    .await;
    let node = o.node(&id, "Incident", "kind aiHarms aiSystem { id } affectedControls { id ref } ticketSynced").await;
    assert_eq!(node["aiHarms"], json!(["BIAS", "SAFETY"]));
    assert_eq!(node["aiSystem"]["id"], json!(ai));
    assert_eq!(node["affectedControls"], json!([{ "id": ctl, "ref": "A.5.24" }]));
    assert_eq!(node["ticketSynced"], false);
    // The AI system is referenced now: deleting it is refused.
    let del = "mutation($i: DeleteAiSystemInput!) { deleteAiSystem(input: $i) { deletedId } }";
    assert_error(&o.gql(del, json!({ "i": { "id": ai } })).await, "CONFLICT", None);
    // Harms stay with AI incidents.
    assert_error(
        &o.gql(UPDATE, json!({ "i": { "id": id, "kind": "SECURITY" } })).await,
        "BAD_USER_INPUT",
        Some("aiHarms"),
    );
    o.ok(UPDATE, json!({ "i": { "id": id, "kind": "SECURITY", "aiHarms": [] } })).await;
    // detectedAt never after reportedAt.
    let body = o.gql(UPDATE, json!({ "i": { "id": id, "detectedAt": future } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("detectedAt"));

    // Every member role except VIEWER reports.
    for who in t.members() {
        let body = who.gql(REPORT, json!({ "i": report_input(org, json!({})) })).await;
        if who.sub.starts_with("viewer") {
            assert_error(&body, "FORBIDDEN", None);
        } else {
            assert!(body.get("errors").is_none(), "{} {body:#}", who.sub);
        }
    }
    // INTEGRATION updates only ticket-synced incidents; AUDITOR updates none.
    assert_error(&t.integration.gql(UPDATE, json!({ "i": { "id": id, "title": "x" } })).await, "FORBIDDEN", None);
    assert_error(&t.auditor.gql(UPDATE, json!({ "i": { "id": id, "title": "x" } })).await, "FORBIDDEN", None);
    assert_error(&move_to(&t.integration, &id, "TRIAGED", json!({})).await, "FORBIDDEN", None);
    // Stale version.
    let body = o.gql(UPDATE, json!({ "i": { "id": id, "title": "x", "expectedVersion": 99 } })).await;
    assert_error(&body, "CONFLICT", None);

    // Another tenant's incident is missing, for every verb.
    let b = &beta.owner;
    assert_error(&b.gql(UPDATE, json!({ "i": { "id": id, "title": "x" } })).await, "NOT_FOUND", None);
    assert_error(&move_to(b, &id, "TRIAGED", json!({})).await, "NOT_FOUND", None);
    assert_error(&b.gql(RAISE, json!({ "i": { "incidentId": id } })).await, "NOT_FOUND", None);
    let body = b.gql("query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
    assert_eq!(body["data"]["node"], Value::Null, "{body:#}");
    let body = b.gql(REPORT, json!({ "i": report_input(org, json!({})) })).await;
    assert_error(&body, "NOT_FOUND", None);
}

async fn upsert_is_idempotent_and_makes_one_row_under_concurrency(app: &TestApp) {
    let t = app.tenant("acme").await;
    let org = t.id.clone();
    let i = &t.integration;
    let first = i.ok(UPSERT, json!({ "i": upsert_input(&org, "INC-1", json!({ "externalStatus": "New" })) })).await;
    let created = &first["upsertIncidentByExternalRef"];
    assert_eq!(created["created"], true);
    assert_eq!(created["incident"]["ticketSynced"], true);
    let id = created["incident"]["id"].as_str().expect("id").to_string();
    // An identical retry writes nothing.
    let changes = app.count("changes").await;
    let again = i.ok(UPSERT, json!({ "i": upsert_input(&org, "INC-1", json!({ "externalStatus": "New" })) })).await;
    assert_eq!(again["upsertIncidentByExternalRef"]["created"], false);
    assert_eq!(again["upsertIncidentByExternalRef"]["incident"], created["incident"]);
    assert_eq!(app.count("changes").await, changes, "a retry writes nothing");
    // New tickets need kind and severity; bad refs are refused.
    let body = i.gql(UPSERT, json!({ "i": upsert_input(&org, "INC-2", json!({ "severity": null })) })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("severity"));
    let body = i.gql(UPSERT, json!({ "i": upsert_input(&org, "INC-2", json!({ "kind": null })) })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("kind"));
    let body = i.gql(UPSERT, json!({ "i": upsert_input(&org, " ", json!({})) })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("externalRef.key"));
    let body = i.gql(UPSERT, json!({ "i": upsert_input(&org, "INC-2", json!({ "kind": "SECURITY" })) })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("aiHarms"));
    // The viewer and the auditor do not sync.
    for who in [&t.viewer, &t.auditor] {
        assert_error(&who.gql(UPSERT, json!({ "i": upsert_input(&org, "INC-3", json!({})) })).await, "FORBIDDEN", None);
    }
    // Another tenant's member cannot reach this organization.
    let beta = app.tenant("beta").await;
    let body = beta.integration.gql(UPSERT, json!({ "i": upsert_input(&org, "INC-1", json!({})) })).await;
    assert_error(&body, "NOT_FOUND", None);
    assert_eq!(app.count("incidents").await, 1);

    // N spawned tasks deliver one new ticket at once: exactly one row, one `created`.
    let n = 12;
    let mut tasks = Vec::new();
    for _ in 0..n {
        let client = app.client.clone();
        let url = format!("{}/graphql", app.base);
        let token = app.token(&i.sub);
        let vars = json!({ "i": upsert_input(&org, "INC-20", json!({ "externalStatus": "Open" })) });
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "query": UPSERT, "variables": vars }))
                .send()
                .await
                .expect("request");
            resp.json::<Value>().await.expect("json")
        }));
    }
    let mut bodies = Vec::new();
    for task in tasks {
        bodies.push(task.await.expect("task"));
    }
    for b in &bodies {
        assert!(b.get("errors").is_none(), "{b}");
    }
    let made = bodies.iter().filter(|b| b["data"]["upsertIncidentByExternalRef"]["created"] == true).count();
    assert_eq!(made, 1);
    let rows = app
        .sql("SELECT COUNT(*) FROM incidents WHERE external_system = 'servicenow' AND external_key = 'INC-20'")
        .await;
    assert_eq!(rows[0][0], json!(1));
    let ids: std::collections::BTreeSet<&str> =
        bodies.iter().filter_map(|b| b["data"]["upsertIncidentByExternalRef"]["incident"]["id"].as_str()).collect();
    assert_eq!(ids.len(), 1);

    // The ticket's content syncs; INTEGRATION may update its own incident.
    let data = i.ok(UPDATE, json!({ "i": { "id": id, "title": "Drift on scorer v2" } })).await;
    assert_eq!(data["updateIncident"]["incident"]["title"], "Drift on scorer v2");
    // An external "resolved" moves it at most to RESOLVED, each step recorded.
    let data = i
        .ok(UPSERT, json!({ "i": upsert_input(&org, "INC-1", json!({ "externalStatus": "Resolved", "externalResolved": true })) }))
        .await;
    let inc = &data["upsertIncidentByExternalRef"]["incident"];
    assert_eq!(inc["status"], "RESOLVED");
    assert_eq!(inc["externalStatus"], "Resolved");
    let node = t.owner.node(&id, "Incident", "transitions { from to note } detectedAt containedAt resolvedAt").await;
    let moves: Vec<(&str, &str)> = node["transitions"]
        .as_array()
        .expect("moves")
        .iter()
        .map(|m| (m["from"].as_str().expect("from"), m["to"].as_str().expect("to")))
        .collect();
    assert_eq!(moves, vec![("REPORTED", "TRIAGED"), ("TRIAGED", "CONTAINED"), ("CONTAINED", "RESOLVED")]);
    assert!(time(&node["resolvedAt"]) >= time(&node["detectedAt"]));
    // Again: nothing more (never CLOSED by a ticket).
    let changes = app.count("changes").await;
    let data = i
        .ok(UPSERT, json!({ "i": upsert_input(&org, "INC-1", json!({ "externalStatus": "Resolved", "externalResolved": true })) }))
        .await;
    assert_eq!(data["upsertIncidentByExternalRef"]["incident"]["status"], "RESOLVED");
    assert_eq!(app.count("changes").await, changes);
    // A person closes it; then the ticket may report its state, not rewrite the record.
    let body = move_to(&t.owner, &id, "CLOSED", json!({ "lessonsLearned": "monitor drift weekly" })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let data = i
        .ok(UPSERT, json!({ "i": upsert_input(&org, "INC-1", json!({ "externalStatus": "Archived", "externalResolved": true })) }))
        .await;
    assert_eq!(data["upsertIncidentByExternalRef"]["incident"]["status"], "CLOSED");
    let body = i.gql(UPSERT, json!({ "i": upsert_input(&org, "INC-1", json!({ "title": "Rewritten" })) })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("title"));
}

async fn raising_a_nonconformity_is_idempotent_and_linked(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    let id = report(&t.contributor, json!({ "severity": "CRITICAL", "description": "Backups unreadable" })).await;
    let ncrs = app.count("nonconformities").await;
    let first = t.contributor.ok(RAISE, json!({ "i": { "incidentId": id } })).await;
    let r = &first["raiseNonconformityFromIncident"];
    assert_eq!(r["created"], true);
    let ncr = r["nonconformity"]["id"].as_str().expect("ncr").to_string();
    assert_eq!(r["nonconformity"]["source"], "INCIDENT");
    assert_eq!(r["nonconformity"]["severity"], "MAJOR");
    assert_eq!(r["nonconformity"]["status"], "OPEN");
    assert_eq!(r["nonconformity"]["incident"]["id"], json!(id));
    assert_eq!(r["incident"]["nonconformity"]["id"], json!(ncr));
    let again = o.ok(RAISE, json!({ "i": { "incidentId": id } })).await;
    assert_eq!(again["raiseNonconformityFromIncident"]["created"], false);
    assert_eq!(again["raiseNonconformityFromIncident"]["nonconformity"]["id"], json!(ncr));
    assert_eq!(app.count("nonconformities").await, ncrs + 1);
    // Both ways, through node.
    let n = o.node(&ncr, "Nonconformity", "incident { id title }").await;
    assert_eq!(n["incident"]["id"], json!(id));
    // Roles: AUDITOR, VIEWER and INTEGRATION do not raise.
    let other = report(o, json!({ "severity": "LOW" })).await;
    for who in [&t.auditor, &t.viewer, &t.integration] {
        assert_error(&who.gql(RAISE, json!({ "i": { "incidentId": other } })).await, "FORBIDDEN", None);
    }
    let data = t.manager.ok(RAISE, json!({ "i": { "incidentId": other } })).await;
    assert_eq!(data["raiseNonconformityFromIncident"]["nonconformity"]["severity"], "MINOR");
    assert_error(
        &o.gql(RAISE, json!({ "i": { "incidentId": "nonsense" } })).await,
        "BAD_USER_INPUT",
        Some("incidentId"),
    );
}

async fn dashboard_counts_open_incidents_and_mean_times(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    let ago = |h: i64| (Utc::now() - Duration::hours(h)).to_rfc3339();
    // Open: two HIGH SECURITY, one LOW AI (TRIAGED), one CRITICAL PRIVACY (CONTAINED).
    report(o, json!({ "severity": "HIGH" })).await;
    report(o, json!({ "severity": "HIGH" })).await;
    let ai = report(o, json!({ "severity": "LOW", "kind": "AI" })).await;
    move_to(o, &ai, "TRIAGED", json!({})).await;
    // Contained 10 h after detection.
    let p = report(o, json!({ "severity": "CRITICAL", "kind": "PRIVACY", "detectedAt": ago(10) })).await;
    for to in ["TRIAGED", "CONTAINED"] {
        assert!(move_to(o, &p, to, json!({})).await.get("errors").is_none());
    }
    // Resolved (not open): contained and resolved 20 h after detection.
    let r = report(o, json!({ "severity": "MEDIUM", "detectedAt": ago(20) })).await;
    for to in ["TRIAGED", "CONTAINED", "RESOLVED"] {
        assert!(move_to(o, &r, to, json!({})).await.get("errors").is_none());
    }
    // Another tenant's incidents never count.
    let beta = app.tenant("beta").await;
    report(&beta.owner, json!({ "severity": "HIGH" })).await;

    let q = "query($o: ID!) { organization(id: $o) { dashboard { openIncidents openIncidentsBySeverity { severity count } openIncidentsByKind { kind count } meanHoursToContain meanHoursToResolve } } }";
    for who in t.members() {
        let d = who.ok(q, json!({ "o": t.id })).await["organization"]["dashboard"].clone();
        assert_eq!(d["openIncidents"], 4, "{d}");
        assert_eq!(
            d["openIncidentsBySeverity"],
            json!([
                { "severity": "LOW", "count": 1 },
                { "severity": "MEDIUM", "count": 0 },
                { "severity": "HIGH", "count": 2 },
                { "severity": "CRITICAL", "count": 1 },
            ])
        );
        assert_eq!(
            d["openIncidentsByKind"],
            json!([{ "kind": "SECURITY", "count": 2 }, { "kind": "AI", "count": 1 }, { "kind": "PRIVACY", "count": 1 }])
        );
        assert_eq!(d["meanHoursToContain"], json!(15.0), "mean of 10 h and 20 h");
        assert_eq!(d["meanHoursToResolve"], json!(20.0));
    }
    let q = "query($o: ID!) { organization(id: $o) { incidents(first: 10, filter: {open: true, kind: SECURITY}) { totalCount } all: incidents(first: 10) { totalCount nodes { id } } } }";
    let data = o.ok(q, json!({ "o": t.id })).await;
    assert_eq!(data["organization"]["incidents"]["totalCount"], 2);
    assert_eq!(data["organization"]["all"]["totalCount"], 5);
    // Most recently detected first: the one detected 20 h ago is last.
    assert_eq!(data["organization"]["all"]["nodes"][4]["id"], json!(r));
    // Empty organization: nulls.
    let d = beta
        .owner
        .ok(
            "query($o: ID!) { organization(id: $o) { dashboard { meanHoursToContain openIncidents } } }",
            json!({ "o": beta.id }),
        )
        .await;
    assert_eq!(d["organization"]["dashboard"], json!({ "meanHoursToContain": null, "openIncidents": 1 }));
}

crate::api_tests!(
    incident_workflow_sets_times_and_needs_lessons_to_close,
    reporting_checks_input_and_roles,
    upsert_is_idempotent_and_makes_one_row_under_concurrency,
    raising_a_nonconformity_is_idempotent_and_linked,
    dashboard_counts_open_incidents_and_mean_times,
);
