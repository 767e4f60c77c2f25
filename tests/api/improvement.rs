//! The audit programme, findings, nonconformities, corrective actions and ticketing sync.

use serde_json::{Value, json};

use crate::builders::NCR_PATH;
use crate::support::{Actor, Role, TestApp, assert_error};

const CREATE_AUDIT: &str = "mutation($i: CreateAuditInput!) { createAudit(input: $i) { audit { id status version standards mode type scopeId criteria plannedStart plannedEnd } } }";
const UPDATE_AUDIT: &str = "mutation($i: UpdateAuditInput!) { updateAudit(input: $i) { audit { id version title standards scopeId plannedStart plannedEnd actualStart actualEnd } } }";
const TRANSITION_AUDIT: &str = "mutation($i: TransitionAuditInput!) { transitionAudit(input: $i) { audit { id status version actualStart actualEnd cancelReason } } }";
const ADD_FINDING: &str =
    "mutation($i: AddFindingInput!) { addFinding(input: $i) { finding { id type title references version } } }";
const UPDATE_FINDING: &str =
    "mutation($i: UpdateFindingInput!) { updateFinding(input: $i) { finding { id type title references version } } }";
const RAISE: &str = "mutation($i: RaiseNonconformityInput!) { raiseNonconformity(input: $i) { created nonconformity { id title status source severity references finding { id } } } }";
const CREATE_NCR: &str = "mutation($i: CreateNonconformityInput!) { createNonconformity(input: $i) { nonconformity { id status version references externalRef { system key url } } } }";
const UPDATE_NCR: &str = "mutation($i: UpdateNonconformityInput!) { updateNonconformity(input: $i) { nonconformity { id status version rootCause effectivenessReview } } }";
const TRANSITION_NCR: &str = "mutation($i: TransitionNonconformityInput!) { transitionNonconformity(input: $i) { nonconformity { id status version effectivenessReview closedAt } } }";
const UPSERT: &str = "mutation($i: UpsertNonconformityByExternalRefInput!) { upsertNonconformityByExternalRef(input: $i) { created nonconformity { id title status version severity source externalStatus externalDone externalRef { system key url } correctiveActions { id status completionNote } } } }";
const ADD_ACTION: &str = "mutation($i: AddCorrectiveActionInput!) { addCorrectiveAction(input: $i) { correctiveAction { id status dueDate overdue version } } }";
const UPDATE_ACTION: &str = "mutation($i: UpdateCorrectiveActionInput!) { updateCorrectiveAction(input: $i) { correctiveAction { id status dueDate overdue completedAt version } } }";

const AUDIT_STATUSES: [&str; 5] = ["PLANNED", "IN_PROGRESS", "REPORTING", "COMPLETED", "CANCELLED"];
const AUDIT_TITLE: &str = "Integrated internal audit 2026";
const NCR_TITLE: &str = "Access reviews skipped";

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

fn day(offset: i64) -> String {
    (today() + chrono::Duration::days(offset)).format("%Y-%m-%d").to_string()
}

fn audit_input(org: &str, extra: Value) -> Value {
    merge(
        json!({
            "organizationId": org,
            "title": AUDIT_TITLE,
            "type": "INTERNAL",
            "mode": "INTEGRATED",
            "standards": ["ISO27001", "ISO42001"],
        }),
        extra,
    )
}

/// An integrated internal audit of both standards planned by `by`, with `extra` input.
async fn create_audit(by: &Actor<'_>, extra: Value) -> String {
    by.audit().title(AUDIT_TITLE).with(extra).create().await
}

async fn move_audit(by: &Actor<'_>, id: &str, to: &str, reason: Option<&str>) -> Value {
    by.gql(TRANSITION_AUDIT, json!({ "i": { "id": id, "to": to, "reason": reason } })).await
}

/// An audit driven to `status` along the workflow (CANCELLED: from PLANNED).
async fn audit_at(by: &Actor<'_>, status: &str) -> String {
    by.audit().title(AUDIT_TITLE).at(status).create().await
}

async fn add_finding(by: &Actor<'_>, audit: &str, kind: &str, refs: Value) -> String {
    by.finding(audit).kind(kind).title(&format!("{kind} finding")).set("references", refs).create().await
}

async fn create_ncr(by: &Actor<'_>) -> String {
    by.nonconformity().title(NCR_TITLE).create().await
}

async fn add_action(by: &Actor<'_>, ncr: &str, due: Option<String>) -> String {
    by.corrective_action(ncr).title("Quarterly review").set("dueDate", due).create().await
}

async fn set_action(by: &Actor<'_>, action: &str, status: &str) {
    by.ok(UPDATE_ACTION, json!({ "i": { "id": action, "status": status } })).await;
}

async fn move_ncr(by: &Actor<'_>, id: &str, to: &str, note: Option<&str>) -> Value {
    by.gql(TRANSITION_NCR, json!({ "i": { "id": id, "to": to, "note": note } })).await
}

/// An NCR that satisfies every rule (root cause, a DONE action, a review), driven to `status`.
async fn ncr_at(by: &Actor<'_>, status: &str) -> String {
    by.nonconformity().title(NCR_TITLE).at(status).create().await
}

async fn ncr_state(by: &Actor<'_>, id: &str) -> (String, i64) {
    let n = by.node(id, "Nonconformity", "status version").await;
    (n["status"].as_str().expect("status").to_string(), n["version"].as_i64().expect("version"))
}

// ---------------------------------------------------------------------------------------

async fn audit_transition_table(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let o = &acme.owner;
    let allowed = [
        ("PLANNED", "IN_PROGRESS"),
        ("PLANNED", "CANCELLED"),
        ("IN_PROGRESS", "REPORTING"),
        ("IN_PROGRESS", "CANCELLED"),
        ("REPORTING", "COMPLETED"),
        ("REPORTING", "CANCELLED"),
    ];
    for from in AUDIT_STATUSES {
        for to in AUDIT_STATUSES {
            let id = audit_at(&acme.owner, from).await;
            let before = o.node(&id, "Audit", "status version").await;
            assert_eq!(before["status"], from);
            let rows = app.count("workflow_transitions").await;
            let body = move_audit(o, &id, to, Some("budget cut")).await;
            if allowed.contains(&(from, to)) {
                assert!(body.get("errors").is_none(), "{from} -> {to}: {body}");
                assert_eq!(body["data"]["transitionAudit"]["audit"]["status"], to, "{from} -> {to}");
                assert_eq!(app.count("workflow_transitions").await, rows + 1);
            } else {
                assert_error(&body, "BAD_USER_INPUT", Some("to"));
                let after = o.node(&id, "Audit", "status version").await;
                assert_eq!(after, before, "{from} -> {to}: nothing written");
                assert_eq!(app.count("workflow_transitions").await, rows);
            }
        }
    }

    // Cancelling needs a reason; the reason is kept.
    let id = audit_at(&acme.owner, "IN_PROGRESS").await;
    assert_error(&move_audit(o, &id, "CANCELLED", None).await, "BAD_USER_INPUT", Some("reason"));
    assert_error(&move_audit(o, &id, "CANCELLED", Some("  ")).await, "BAD_USER_INPUT", Some("reason"));
    let body = move_audit(o, &id, "CANCELLED", Some("auditee unavailable")).await;
    assert_eq!(body["data"]["transitionAudit"]["audit"]["cancelReason"], "auditee unavailable");

    // Actual dates follow the workflow; who, when and the note are recorded.
    let id = audit_at(&acme.owner, "COMPLETED").await;
    let data = o.ok("query($id: ID!) { node(id: $id) { ... on Audit { actualStart actualEnd viewerCanUpdate viewerCanTransition transitions { from to actor note at } } } }",
            json!({ "id": id }),
        )
        .await;
    let a = &data["node"];
    assert_eq!(a["actualStart"], json!(day(0)));
    assert_eq!(a["actualEnd"], json!(day(0)));
    assert_eq!(a["viewerCanUpdate"], false);
    assert_eq!(a["viewerCanTransition"], false);
    let moves: Vec<(String, String, String)> = a["transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .map(|t| {
            (
                t["from"].as_str().unwrap_or("").into(),
                t["to"].as_str().unwrap_or("").into(),
                t["actor"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        vec![
            ("PLANNED".into(), "IN_PROGRESS".into(), o.sub.clone()),
            ("IN_PROGRESS".into(), "REPORTING".into(), o.sub.clone()),
            ("REPORTING".into(), "COMPLETED".into(), o.sub.clone())
        ]
    );
    let trail = app.sql("SELECT COUNT(*) FROM changes WHERE action = 'TRANSITION' AND entity_type = 'Audit'").await;
    assert!(trail[0][0].as_i64().expect("count") >= 3);

    // Completed and cancelled audits are read-only and closed to findings.
    for status in ["COMPLETED", "CANCELLED"] {
        let id = audit_at(&acme.owner, status).await;
        assert_error(
            &o.gql(UPDATE_AUDIT, json!({ "i": { "id": id, "title": "edited" } })).await,
            "BAD_USER_INPUT",
            Some("id"),
        );
        let body = o.gql(ADD_FINDING, json!({ "i": { "auditId": id, "type": "OBSERVATION", "title": "late" } })).await;
        assert_error(&body, "BAD_USER_INPUT", Some("auditId"));
    }
    // Findings are accepted while PLANNED (document review), IN_PROGRESS and REPORTING.
    for status in ["PLANNED", "IN_PROGRESS", "REPORTING"] {
        let id = audit_at(&acme.owner, status).await;
        add_finding(&acme.owner, &id, "OBSERVATION", json!([])).await;
    }
    // Stale versions conflict.
    let id = audit_at(&acme.owner, "PLANNED").await;
    let body = o.gql(TRANSITION_AUDIT, json!({ "i": { "id": id, "to": "IN_PROGRESS", "expectedVersion": 7 } })).await;
    assert_error(&body, "CONFLICT", None);
}

async fn ncr_transition_table(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let o = &acme.owner;
    let allowed = [
        ("OPEN", "ANALYSIS"),
        ("ANALYSIS", "ACTION_PLANNED"),
        ("ACTION_PLANNED", "IN_PROGRESS"),
        ("IN_PROGRESS", "VERIFICATION"),
        ("VERIFICATION", "CLOSED"),
        ("VERIFICATION", "IN_PROGRESS"),
    ];
    for from in NCR_PATH {
        for to in NCR_PATH {
            let id = ncr_at(&acme.owner, from).await;
            let before = ncr_state(&acme.owner, &id).await;
            let rows = app.count("workflow_transitions").await;
            let body = move_ncr(o, &id, to, Some("the retest failed")).await;
            if allowed.contains(&(from, to)) {
                assert!(body.get("errors").is_none(), "{from} -> {to}: {body}");
                assert_eq!(body["data"]["transitionNonconformity"]["nonconformity"]["status"], to);
                assert_eq!(app.count("workflow_transitions").await, rows + 1);
            } else {
                // ANALYSIS → CLOSED is an edge only when no action is needed (issue 12, 10.2 b).
                let field = if (from, to) == ("ANALYSIS", "CLOSED") { "actionNeeded" } else { "to" };
                assert_error(&body, "BAD_USER_INPUT", Some(field));
                assert_eq!(ncr_state(&acme.owner, &id).await, before, "{from} -> {to}: nothing written");
                assert_eq!(app.count("workflow_transitions").await, rows);
            }
        }
    }
}

async fn ncr_rules_refuse_and_write_nothing(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let o = &acme.owner;
    let id = create_ncr(&acme.owner).await;

    // Refused moves leave status, version, history and trail untouched.
    async fn refused(app: &TestApp, o: &Actor<'_>, id: &str, to: &str, note: Option<&str>, field: &str) {
        let before = ncr_state(o, id).await;
        let (rows, changes) = (app.count("workflow_transitions").await, app.count("changes").await);
        let body = move_ncr(o, id, to, note).await;
        assert_error(&body, "BAD_USER_INPUT", Some(field));
        assert_eq!(ncr_state(o, id).await, before);
        assert_eq!((app.count("workflow_transitions").await, app.count("changes").await), (rows, changes));
    }

    refused(app, o, &id, "ACTION_PLANNED", None, "to").await; // skipping ANALYSIS
    assert!(move_ncr(o, &id, "ANALYSIS", None).await.get("errors").is_none());
    refused(app, o, &id, "ACTION_PLANNED", None, "rootCause").await;
    o.ok(UPDATE_NCR, json!({ "i": { "id": id, "rootCause": "no review calendar" } })).await;
    refused(app, o, &id, "ACTION_PLANNED", None, "correctiveActions").await;
    let cancelled = add_action(&acme.owner, &id, None).await;
    set_action(&acme.owner, &cancelled, "CANCELLED").await;
    refused(app, o, &id, "ACTION_PLANNED", None, "correctiveActions").await; // cancelled ones do not count
    let action = add_action(&acme.owner, &id, Some(day(30))).await;
    assert!(move_ncr(o, &id, "ACTION_PLANNED", None).await.get("errors").is_none());
    // The root cause stays once actions are planned.
    let body = o.gql(UPDATE_NCR, json!({ "i": { "id": id, "rootCause": "" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("rootCause"));
    assert!(move_ncr(o, &id, "IN_PROGRESS", None).await.get("errors").is_none());
    refused(app, o, &id, "VERIFICATION", None, "correctiveActions").await; // action still OPEN
    set_action(&acme.owner, &action, "IN_PROGRESS").await;
    refused(app, o, &id, "VERIFICATION", None, "correctiveActions").await;
    set_action(&acme.owner, &action, "DONE").await;
    assert!(move_ncr(o, &id, "VERIFICATION", None).await.get("errors").is_none());
    refused(app, o, &id, "CLOSED", None, "effectivenessReview").await;
    refused(app, o, &id, "IN_PROGRESS", None, "note").await; // reopening explains itself
    // A review given with a move other than CLOSED is refused.
    let body = o
        .gql(
            TRANSITION_NCR,
            json!({ "i": { "id": id, "to": "IN_PROGRESS", "note": "x", "effectivenessReview": "fine" } }),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("effectivenessReview"));
    // An action reopened during verification blocks closure.
    set_action(&acme.owner, &action, "OPEN").await;
    let body = o
        .gql(TRANSITION_NCR, json!({ "i": { "id": id, "to": "CLOSED", "effectivenessReview": "two clean quarters" } }))
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("correctiveActions"));
    set_action(&acme.owner, &action, "DONE").await;

    // The auditor closes, recording the review in the same step (10.2 d).
    let (_, version) = ncr_state(&acme.owner, &id).await;
    let data = acme.auditor.ok(TRANSITION_NCR,
            json!({ "i": { "id": id, "to": "CLOSED", "note": "verified on site", "effectivenessReview": "two clean quarters", "expectedVersion": version } }),
        )
        .await;
    let n = &data["transitionNonconformity"]["nonconformity"];
    assert_eq!(n["status"], "CLOSED");
    assert_eq!(n["effectivenessReview"], "two clean quarters");
    assert!(n["closedAt"].is_string());
    let data = o.ok("query($id: ID!) { node(id: $id) { ... on Nonconformity { viewerCanUpdate viewerCanTransition transitions { from to actor note } } } }", json!({ "id": id }))
        .await;
    let t = data["node"]["transitions"].as_array().expect("transitions");
    assert_eq!(t.len(), 5);
    assert_eq!(
        t[4],
        json!({ "from": "VERIFICATION", "to": "CLOSED", "actor": acme.auditor.sub, "note": "verified on site" })
    );
    assert_eq!(t[0], json!({ "from": "OPEN", "to": "ANALYSIS", "actor": o.sub, "note": null }));
    assert_eq!(data["node"]["viewerCanUpdate"], false);
    assert_eq!(data["node"]["viewerCanTransition"], false);

    // Closed NCRs are read-only, actions included.
    let body = o.gql(UPDATE_NCR, json!({ "i": { "id": id, "title": "edited" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("id"));
    let body = o.gql(ADD_ACTION, json!({ "i": { "nonconformityId": id, "title": "late" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("nonconformityId"));
    let body = o.gql(UPDATE_ACTION, json!({ "i": { "id": action, "status": "OPEN" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("id"));
    // Stale versions conflict.
    let other = create_ncr(&acme.owner).await;
    let body = o.gql(TRANSITION_NCR, json!({ "i": { "id": other, "to": "ANALYSIS", "expectedVersion": 9 } })).await;
    assert_error(&body, "CONFLICT", None);
}

async fn close_is_for_owner_manager_auditor(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let cases = [
        (&acme.owner, true),
        (&acme.manager, true),
        (&acme.auditor, true),
        (&acme.contributor, false),
        (&acme.viewer, false),
        (&acme.integration, false),
    ];
    for (who, may_close) in cases {
        let sub = who.sub.as_str();
        let id = ncr_at(&acme.owner, "VERIFICATION").await;
        let data = who
            .ok("query($id: ID!) { node(id: $id) { ... on Nonconformity { viewerCanClose } } }", json!({ "id": id }))
            .await;
        assert_eq!(data["node"]["viewerCanClose"], may_close, "{sub}");
        let body = move_ncr(who, &id, "CLOSED", None).await;
        if may_close {
            assert_eq!(body["data"]["transitionNonconformity"]["nonconformity"]["status"], "CLOSED", "{sub}: {body}");
        } else {
            assert_error(&body, "FORBIDDEN", None);
            assert_eq!(ncr_state(&acme.owner, &id).await.0, "VERIFICATION");
        }
    }
    // Auditors close but do not drive the rest of the workflow (independence).
    let id = create_ncr(&acme.owner).await;
    assert_error(&move_ncr(&acme.auditor, &id, "ANALYSIS", None).await, "FORBIDDEN", None);
    let data = acme
        .auditor
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Nonconformity { viewerCanTransition viewerCanClose } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["node"], json!({ "viewerCanTransition": false, "viewerCanClose": false }));
}

async fn overdue_at_date_boundaries(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let org = acme.id.clone();
    let o = &acme.owner;
    let late = create_ncr(&acme.owner).await;
    let on_time = create_ncr(&acme.owner).await;
    let cases = [
        (&late, Some(day(-1)), "OPEN", true),
        (&late, Some(day(-1)), "IN_PROGRESS", true),
        (&late, Some(day(-400)), "DONE", false),
        (&late, Some(day(-1)), "CANCELLED", false),
        (&on_time, Some(day(0)), "OPEN", false), // due today is not overdue
        (&on_time, Some(day(1)), "OPEN", false),
        (&on_time, None, "OPEN", false),
    ];
    for (ncr, due, status, overdue) in cases {
        let id = add_action(&acme.owner, ncr, due.clone()).await;
        if status != "OPEN" {
            set_action(&acme.owner, &id, status).await;
        }
        let data = o
            .ok(
                "query($id: ID!) { node(id: $id) { ... on CorrectiveAction { overdue dueDate status } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(data["node"], json!({ "overdue": overdue, "dueDate": due, "status": status }), "{due:?} {status}");
    }
    let q = "query($org: ID!, $f: NonconformityFilter) { organization(id: $org) { nonconformities(filter: $f) { totalCount nodes { id hasOverdueActions } } } }";
    let data = o.ok(q, json!({ "org": org, "f": { "overdue": true } })).await;
    assert_eq!(data["organization"]["nonconformities"]["nodes"], json!([{ "id": late, "hasOverdueActions": true }]));
    let data = o.ok(q, json!({ "org": org, "f": { "overdue": false } })).await;
    assert_eq!(
        data["organization"]["nonconformities"]["nodes"],
        json!([{ "id": on_time, "hasOverdueActions": false }])
    );
    // Moving the due date clears it.
    let data = o
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Nonconformity { correctiveActions { id overdue } } } }",
            json!({ "id": late }),
        )
        .await;
    let first = data["node"]["correctiveActions"][0]["id"].as_str().expect("id").to_string();
    let data = o.ok(UPDATE_ACTION, json!({ "i": { "id": first, "dueDate": day(0) } })).await;
    assert_eq!(data["updateCorrectiveAction"]["correctiveAction"]["overdue"], false);
    let data = o.ok(UPDATE_ACTION, json!({ "i": { "id": first, "dueDate": null } })).await;
    assert_eq!(data["updateCorrectiveAction"]["correctiveAction"]["dueDate"], Value::Null);
}

async fn references_are_validated(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let org = acme.id.clone();
    let o = &acme.owner;
    let isms = create_audit(&acme.owner, json!({ "mode": "SEPARATE", "standards": ["ISO27001"] })).await;
    let both = create_audit(&acme.owner, json!({})).await;
    let data = o.ok(ADD_FINDING, json!({ "i": { "auditId": isms, "type": "MINOR_NONCONFORMITY", "title": "t", "references": ["ISO27001:A.5.15", "ISO27001:9.2", "ISO27001:A.5.15"] } }))
        .await;
    assert_eq!(data["addFinding"]["finding"]["references"], json!(["ISO27001:A.5.15", "ISO27001:9.2"]));
    let findings = app.count("findings").await;
    for (audit, r, needle) in [
        (&isms, "ISO27001:A.9.99", "ISO27001:A.9.99"),
        (&isms, "ISO42001:6.1.4", "ISO42001:6.1.4"), // a standard the audit does not cover
        (&isms, "A.5.15", "A.5.15"),
        (&isms, "ISO9001:4.1", "ISO9001:4.1"),
        (&both, "ISO42001:A.99", "ISO42001:A.99"),
    ] {
        let body = o
            .gql(
                ADD_FINDING,
                json!({ "i": { "auditId": audit, "type": "OBSERVATION", "title": "t", "references": [r] } }),
            )
            .await;
        assert_error(&body, "BAD_USER_INPUT", Some("references"));
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{message}");
    }
    assert_eq!(app.count("findings").await, findings, "nothing written");
    // Both standards' clauses and controls, keyed by standard (27001 A.5.2 is not 42001 A.5.2).
    let data = o.ok(ADD_FINDING, json!({ "i": { "auditId": both, "type": "OBSERVATION", "title": "t", "references": ["ISO42001:6.1.4", "ISO42001:A.5.2", "ISO27001:A.5.2"] } }))
        .await;
    let finding = data["addFinding"]["finding"]["id"].as_str().expect("id").to_string();
    let body = o.gql(UPDATE_FINDING, json!({ "i": { "id": finding, "references": ["ISO42001:A.5.99"] } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("references"));
    // Narrowing the audit's standards would orphan the finding's 42001 references.
    let body = o.gql(UPDATE_AUDIT, json!({ "i": { "id": both, "mode": "SEPARATE", "standards": ["ISO27001"] } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("standards"));
    // Criteria are references within the audit's standards.
    let body = o.gql(CREATE_AUDIT, json!({ "i": audit_input(&org, json!({ "mode": "SEPARATE", "standards": ["ISO27001"], "criteria": ["ISO42001:8.4"] })) }))
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("criteria"));
    // NCRs take references of either standard, checked the same way.
    let body = o.gql(CREATE_NCR, json!({ "i": { "organizationId": org, "title": "t", "source": "OTHER", "severity": "MINOR", "references": ["ISO27001:A.5.99"] } }))
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("references"));
    let data = o.ok(CREATE_NCR, json!({ "i": { "organizationId": org, "title": "t", "source": "OTHER", "severity": "MINOR", "references": ["ISO42001:A.6.2.4", "ISO27001:10.2"] } }))
        .await;
    assert_eq!(
        data["createNonconformity"]["nonconformity"]["references"],
        json!(["ISO42001:A.6.2.4", "ISO27001:10.2"])
    );
}

async fn audit_input_rules_and_listing(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let org = acme.id.clone();
    let other = app.org("other", &[("bob", "OWNER")]).await;
    let o = &acme.owner;
    let cases = [
        (json!({ "standards": [] , "mode": "SEPARATE" }), "standards"),
        (json!({ "standards": ["ISO27001"], "mode": "INTEGRATED" }), "standards"),
        (json!({ "standards": ["ISO42001", "ISO42001"], "mode": "SEQUENTIAL" }), "standards"),
        (json!({ "plannedStart": "2026-05-10", "plannedEnd": "2026-05-09" }), "plannedEnd"),
        (json!({ "title": "  " }), "title"),
        (json!({ "scopeId": "scp_0190000000007000800000000000dead" }), "scopeId"),
        (json!({ "scopeId": "garbage" }), "scopeId"),
    ];
    for (extra, field) in cases {
        let body = o.gql(CREATE_AUDIT, json!({ "i": audit_input(&org, extra.clone()) })).await;
        assert_error(&body, "BAD_USER_INPUT", Some(field));
    }
    // Another tenant's scope is refused exactly like a missing one.
    let foreign = app.user("bob").in_org(&other).scope().name("Bob HQ").create().await;
    let body = o.gql(CREATE_AUDIT, json!({ "i": audit_input(&org, json!({ "scopeId": foreign })) })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("scopeId"));
    assert_eq!(app.count("audits").await, 0, "nothing written");

    let scope = o.scope().name("HQ").create().await;
    let data = o.ok(CREATE_AUDIT, json!({ "i": audit_input(&org, json!({ "scopeId": scope, "plannedStart": "2026-05-10", "plannedEnd": "2026-05-10", "criteria": ["ISO27001:A.5.15", "ISO42001:6.1.4"] })) }))
        .await;
    let a = &data["createAudit"]["audit"];
    assert_eq!(a["scopeId"], json!(scope));
    assert_eq!(a["standards"], json!(["ISO27001", "ISO42001"]));
    assert_eq!(a["status"], "PLANNED");
    assert_eq!(a["criteria"], json!(["ISO27001:A.5.15", "ISO42001:6.1.4"]));
    let id = a["id"].as_str().expect("id").to_string();
    // Updates: dates checked against each other, nulls clear, unchanged input writes nothing.
    let body = o.gql(UPDATE_AUDIT, json!({ "i": { "id": id, "plannedStart": "2026-05-11" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("plannedEnd"));
    let body =
        o.gql(UPDATE_AUDIT, json!({ "i": { "id": id, "actualStart": "2026-05-11", "actualEnd": "2026-05-10" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("actualEnd"));
    let body = o.gql(UPDATE_AUDIT, json!({ "i": { "id": id, "scopeId": foreign } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("scopeId"));
    let changes = app.count("changes").await;
    let data = o.ok(UPDATE_AUDIT, json!({ "i": { "id": id, "title": "Integrated internal audit 2026" } })).await;
    assert_eq!(data["updateAudit"]["audit"]["version"], 1);
    assert_eq!(app.count("changes").await, changes);
    let data = o
        .ok(UPDATE_AUDIT, json!({ "i": { "id": id, "scopeId": null, "plannedEnd": null, "expectedVersion": 1 } }))
        .await;
    let a = &data["updateAudit"]["audit"];
    assert_eq!(
        (a["scopeId"].clone(), a["plannedEnd"].clone(), a["version"].clone()),
        (Value::Null, Value::Null, json!(2))
    );
    assert_eq!(app.count("changes").await, changes + 1);
    let body = o.gql(UPDATE_AUDIT, json!({ "i": { "id": id, "title": "x", "expectedVersion": 1 } })).await;
    assert_error(&body, "CONFLICT", None);

    // The programme: filters and keyset pages by planned start (unplanned last).
    for (title, kind, standards, start) in [
        ("ISMS surveillance", "SURVEILLANCE", json!(["ISO27001"]), Some("2026-02-01")),
        ("AIMS certification", "CERTIFICATION", json!(["ISO42001"]), Some("2026-09-01")),
        ("Unplanned", "INTERNAL", json!(["ISO42001"]), None),
    ] {
        create_audit(
            o,
            json!({ "title": title, "type": kind, "mode": "SEPARATE", "standards": standards, "plannedStart": start }),
        )
        .await;
    }
    let q = "query($org: ID!, $f: AuditFilter, $after: String) { organization(id: $org) { audits(filter: $f, first: 2, after: $after) { totalCount nodes { title } pageInfo { hasNextPage endCursor } } } }";
    let mut titles = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = o.ok(q, json!({ "org": org, "after": after })).await;
        let c = &data["organization"]["audits"];
        assert_eq!(c["totalCount"], 4);
        titles.extend(
            c["nodes"].as_array().expect("nodes").iter().map(|n| n["title"].as_str().unwrap_or("").to_string()),
        );
        if c["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = c["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(titles, ["ISMS surveillance", "Integrated internal audit 2026", "AIMS certification", "Unplanned"]);
    let titles_for = |data: &Value| -> Vec<String> {
        data["organization"]["audits"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["title"].as_str().unwrap_or("").to_string())
            .collect()
    };
    for (f, expected) in [
        (json!({ "standard": "ISO27001" }), vec!["ISMS surveillance", "Integrated internal audit 2026"]),
        (json!({ "type": "CERTIFICATION" }), vec!["AIMS certification"]),
        (
            json!({ "from": "2026-05-10", "to": "2026-09-01" }),
            vec!["Integrated internal audit 2026", "AIMS certification"],
        ),
        (json!({ "status": ["CANCELLED", "COMPLETED"] }), vec![]),
        (
            json!({ "status": ["PLANNED"], "standard": "ISO42001", "to": "2026-12-31" }),
            vec!["Integrated internal audit 2026", "AIMS certification"],
        ),
    ] {
        let data = o.ok(q, json!({ "org": org, "f": f })).await;
        let got = titles_for(&data);
        assert_eq!(got, expected, "{f}");
    }
}

async fn raising_is_idempotent(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let a = &acme.auditor;
    let internal = audit_at(&acme.owner, "IN_PROGRESS").await;
    let major =
        add_finding(&acme.owner, &internal, "MAJOR_NONCONFORMITY", json!(["ISO27001:A.5.15", "ISO42001:6.1.4"])).await;
    let first = a.ok(RAISE, json!({ "i": { "findingId": major } })).await;
    let n = &first["raiseNonconformity"];
    assert_eq!(n["created"], true);
    assert_eq!(n["nonconformity"]["source"], "INTERNAL_AUDIT");
    assert_eq!(n["nonconformity"]["severity"], "MAJOR");
    assert_eq!(n["nonconformity"]["status"], "OPEN");
    assert_eq!(n["nonconformity"]["title"], "MAJOR_NONCONFORMITY finding");
    assert_eq!(n["nonconformity"]["references"], json!(["ISO27001:A.5.15", "ISO42001:6.1.4"]));
    assert_eq!(n["nonconformity"]["finding"]["id"], json!(major));
    let ncr = n["nonconformity"]["id"].clone();
    let changes = app.count("changes").await;
    let again = a.ok(RAISE, json!({ "i": { "findingId": major } })).await;
    assert_eq!(again["raiseNonconformity"]["created"], false);
    assert_eq!(again["raiseNonconformity"]["nonconformity"]["id"], ncr);
    assert_eq!(app.count("changes").await, changes, "raising again writes nothing");
    // Concurrent raises of a new finding still make one NCR.
    let minor = add_finding(&acme.owner, &internal, "MINOR_NONCONFORMITY", json!([])).await;
    let calls = (0..10).map(|_| a.gql(RAISE, json!({ "i": { "findingId": minor } })));
    let bodies = futures_util::future::join_all(calls).await;
    let ids: std::collections::BTreeSet<String> = bodies
        .iter()
        .map(|b| {
            b["data"]["raiseNonconformity"]["nonconformity"]["id"].as_str().unwrap_or_else(|| panic!("{b}")).to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(bodies.iter().filter(|b| b["data"]["raiseNonconformity"]["created"] == true).count(), 1);
    assert_eq!(app.count("nonconformities").await, 2);
    // Linked both ways.
    let data = a
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Audit { findings { id type nonconformity { id } } } } }",
            json!({ "id": internal }),
        )
        .await;
    assert_eq!(
        data["node"]["findings"][0],
        json!({ "id": major, "type": "MAJOR_NONCONFORMITY", "nonconformity": { "id": ncr } })
    );
    assert_eq!(data["node"]["findings"][1]["nonconformity"]["id"], json!(ids.iter().next()));
    // Its type is fixed once raised.
    let body = a.gql(UPDATE_FINDING, json!({ "i": { "id": major, "type": "OBSERVATION" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("type"));
    // External audits raise EXTERNAL_AUDIT NCRs; observations and opportunities raise none.
    let cert = create_audit(&acme.owner, json!({ "type": "CERTIFICATION" })).await;
    move_audit(a, &cert, "IN_PROGRESS", None).await;
    let minor = add_finding(&acme.owner, &cert, "MINOR_NONCONFORMITY", json!([])).await;
    let data = a.ok(RAISE, json!({ "i": { "findingId": minor } })).await;
    assert_eq!(data["raiseNonconformity"]["nonconformity"]["source"], "EXTERNAL_AUDIT");
    assert_eq!(data["raiseNonconformity"]["nonconformity"]["severity"], "MINOR");
    for kind in ["OBSERVATION", "OPPORTUNITY_FOR_IMPROVEMENT"] {
        let f = add_finding(&acme.owner, &cert, kind, json!([])).await;
        let before = app.count("nonconformities").await;
        assert_error(&a.gql(RAISE, json!({ "i": { "findingId": f } })).await, "BAD_USER_INPUT", Some("findingId"));
        assert_eq!(app.count("nonconformities").await, before);
    }
}

fn upsert_input(org: &str, key: &str, extra: Value) -> Value {
    merge(
        json!({
            "organizationId": org,
            "externalRef": { "system": "jira", "key": key, "url": format!("https://jira.example/browse/{key}") },
            "title": "Backups untested",
            "severity": "MAJOR",
        }),
        extra,
    )
}

async fn ticketing_sync_is_idempotent(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let org = acme.id.clone();
    let i = &acme.integration;
    let data = i.ok(UPSERT, json!({ "i": upsert_input(&org, "SEC-1", json!({ "externalStatus": "To Do" })) })).await;
    let n = data["upsertNonconformityByExternalRef"].clone();
    assert_eq!(n["created"], true);
    assert_eq!(n["nonconformity"]["source"], "OTHER");
    assert_eq!(n["nonconformity"]["externalStatus"], "To Do");
    assert_eq!(
        n["nonconformity"]["externalRef"],
        json!({ "system": "jira", "key": "SEC-1", "url": "https://jira.example/browse/SEC-1" })
    );
    let id = n["nonconformity"]["id"].clone();
    // A retried delivery changes nothing, not even the version.
    let changes = app.count("changes").await;
    let data = i.ok(UPSERT, json!({ "i": upsert_input(&org, "SEC-1", json!({ "externalStatus": "To Do" })) })).await;
    assert_eq!(data["upsertNonconformityByExternalRef"]["created"], false);
    assert_eq!(data["upsertNonconformityByExternalRef"]["nonconformity"]["id"], id);
    assert_eq!(data["upsertNonconformityByExternalRef"]["nonconformity"]["version"], 1);
    assert_eq!(app.count("changes").await, changes);
    let data =
        i.ok(UPSERT, json!({ "i": upsert_input(&org, "SEC-1", json!({ "title": "Backups never restored" })) })).await;
    assert_eq!(data["upsertNonconformityByExternalRef"]["nonconformity"]["title"], "Backups never restored");
    assert_eq!(data["upsertNonconformityByExternalRef"]["nonconformity"]["version"], 2);
    // Same key in another system is another ticket.
    let data = i.ok(UPSERT, json!({ "i": upsert_input(&org, "SEC-1", json!({ "externalRef": { "system": "servicenow", "key": "SEC-1" } })) }))
        .await;
    assert_eq!(data["upsertNonconformityByExternalRef"]["created"], true);
    // Bad input writes nothing.
    let before = app.count("nonconformities").await;
    let body = i.gql(UPSERT, json!({ "i": upsert_input(&org, "SEC-2", json!({ "severity": null })) })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("severity"));
    let body = i.gql(UPSERT, json!({ "i": upsert_input(&org, "SEC-2", json!({ "externalRef": { "system": "jira", "key": "SEC-2", "url": "javascript:alert(1)" } })) }))
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("externalRef.url"));
    let body = i.gql(UPSERT, json!({ "i": upsert_input(&org, " ", json!({})) })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("externalRef.key"));
    assert_eq!(app.count("nonconformities").await, before);
    // One NCR per ticket, also through create.
    let body = i.gql(CREATE_NCR, json!({ "i": { "organizationId": org, "title": "dup", "source": "OTHER", "severity": "MINOR", "externalRef": { "system": "jira", "key": "SEC-1" } } }))
        .await;
    assert_error(&body, "CONFLICT", None);

    // 20 concurrent deliveries of a new ticket: exactly one row, one `created`.
    let vars = json!({ "i": upsert_input(&org, "SEC-20", json!({ "externalStatus": "Open" })) });
    let calls = (0..20).map(|_| i.gql(UPSERT, vars.clone()));
    let bodies = futures_util::future::join_all(calls).await;
    for b in &bodies {
        assert!(b.get("errors").is_none(), "{b}");
    }
    assert_eq!(bodies.iter().filter(|b| b["data"]["upsertNonconformityByExternalRef"]["created"] == true).count(), 1);
    let rows = app
        .sql("SELECT COUNT(*) FROM nonconformities WHERE external_system = 'jira' AND external_key = 'SEC-20'")
        .await;
    assert_eq!(rows[0][0], json!(1));
    let versions: std::collections::BTreeSet<i64> = bodies
        .iter()
        .map(|b| b["data"]["upsertNonconformityByExternalRef"]["nonconformity"]["version"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(versions, [1].into_iter().collect());
}

async fn ticket_done_stops_at_verification(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let org = acme.id.clone();
    let (i, o) = (&acme.integration, &acme.owner);
    let data = i.ok(UPSERT, json!({ "i": upsert_input(&org, "SEC-7", json!({})) })).await;
    let id = data["upsertNonconformityByExternalRef"]["nonconformity"]["id"].as_str().expect("id").to_string();
    // INTEGRATION drives the content and the actions, not the workflow.
    i.ok(UPDATE_NCR, json!({ "i": { "id": id, "rootCause": "restore never rehearsed" } })).await;
    add_action(&acme.owner, &id, Some(day(-3))).await;
    let started = add_action(&acme.owner, &id, None).await;
    let dropped = add_action(&acme.owner, &id, None).await;
    set_action(&acme.owner, &started, "IN_PROGRESS").await;
    set_action(&acme.owner, &dropped, "CANCELLED").await;
    assert_error(&move_ncr(i, &id, "ANALYSIS", None).await, "FORBIDDEN", None);
    assert!(move_ncr(o, &id, "ANALYSIS", None).await.get("errors").is_none());
    assert!(move_ncr(o, &id, "ACTION_PLANNED", None).await.get("errors").is_none());

    let data = i
        .ok(
            UPSERT,
            json!({ "i": upsert_input(&org, "SEC-7", json!({ "externalStatus": "Done", "externalDone": true })) }),
        )
        .await;
    let n = &data["upsertNonconformityByExternalRef"]["nonconformity"];
    assert_eq!(n["status"], "VERIFICATION");
    assert_eq!(n["externalDone"], true);
    let statuses: Vec<&str> = n["correctiveActions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses, ["DONE", "DONE", "CANCELLED"]);
    assert_eq!(n["correctiveActions"][0]["completionNote"], "ticket jira:SEC-7 reported done");
    let data = o
        .ok(
            "query($id: ID!) { node(id: $id) { ... on Nonconformity { transitions { from to actor note } } } }",
            json!({ "id": id }),
        )
        .await;
    let t = data["node"]["transitions"].as_array().expect("transitions");
    assert_eq!(t.len(), 4);
    assert_eq!(
        t[2],
        json!({ "from": "ACTION_PLANNED", "to": "IN_PROGRESS", "actor": i.sub, "note": "ticket jira:SEC-7 reported done" })
    );
    assert_eq!(t[3]["to"], "VERIFICATION");
    // Repeating it changes nothing; closing stays a person's decision.
    let version = ncr_state(&acme.owner, &id).await.1;
    i.ok(
        UPSERT,
        json!({ "i": upsert_input(&org, "SEC-7", json!({ "externalStatus": "Done", "externalDone": true })) }),
    )
    .await;
    assert_eq!(ncr_state(&acme.owner, &id).await, ("VERIFICATION".to_string(), version));
    // A ticket without root cause or actions stops where the rules stop it.
    let data = i.ok(UPSERT, json!({ "i": upsert_input(&org, "SEC-8", json!({ "externalDone": true })) })).await;
    assert_eq!(data["upsertNonconformityByExternalRef"]["nonconformity"]["status"], "ANALYSIS");

    // Closed: the ticket may report its state but not rewrite the record.
    let body = o
        .gql(
            TRANSITION_NCR,
            json!({ "i": { "id": id, "to": "CLOSED", "effectivenessReview": "restore test passed twice" } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let body = i.gql(UPSERT, json!({ "i": upsert_input(&org, "SEC-7", json!({ "title": "rewritten" })) })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("title"));
    let data = i.ok(UPSERT, json!({ "i": upsert_input(&org, "SEC-7", json!({ "externalStatus": "Closed" })) })).await;
    let n = &data["upsertNonconformityByExternalRef"]["nonconformity"];
    assert_eq!((n["status"].clone(), n["externalStatus"].clone()), (json!("CLOSED"), json!("Closed")));
}

async fn other_tenants_objects_are_missing(app: &TestApp) {
    let a = app.org("alpha", &[("alice", "OWNER")]).await;
    let b = app.org("beta", &[("bob", "OWNER")]).await;
    let alice = app.user("alice").in_org(&a);
    let audit = alice.audit().title(AUDIT_TITLE).at("IN_PROGRESS").create().await;
    let finding = alice.finding(&audit).kind("MAJOR_NONCONFORMITY").title("f").create().await;
    let ncr =
        alice.ok(RAISE, json!({ "i": { "findingId": finding } })).await["raiseNonconformity"]["nonconformity"]["id"]
            .as_str()
            .expect("id")
            .to_string();
    let action = alice.corrective_action(&ncr).title("fix").create().await;
    alice.ok(UPSERT, json!({ "i": upsert_input(&a, "A-1", json!({})) })).await;

    let bob = app.user("bob").in_org(&b);
    let ghosts = [
        "aud_0190000000007000800000000000dead",
        "fnd_0190000000007000800000000000dead",
        "ncr_0190000000007000800000000000dead",
        "cap_0190000000007000800000000000dead",
    ];
    for id in [audit.as_str(), finding.as_str(), ncr.as_str(), action.as_str()].into_iter().chain(ghosts) {
        let data = bob.ok("query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(data["node"], Value::Null, "{id}");
    }
    let data = bob
        .ok(
            "query($a: ID!) { organization(id: $a) { audits { totalCount } nonconformities { totalCount } } }",
            json!({ "a": a }),
        )
        .await;
    assert_eq!(data["organization"], Value::Null);

    let counts = async || {
        let mut v = Vec::new();
        for t in ["audits", "findings", "nonconformities", "corrective_actions", "workflow_transitions", "changes"] {
            v.push(app.count(t).await);
        }
        v
    };
    let before = counts().await;
    let attempts: Vec<(&str, Value)> = vec![
        (UPDATE_AUDIT, json!({ "id": audit, "title": "pwned" })),
        (TRANSITION_AUDIT, json!({ "id": audit, "to": "REPORTING" })),
        (ADD_FINDING, json!({ "auditId": audit, "type": "OBSERVATION", "title": "pwned" })),
        (UPDATE_FINDING, json!({ "id": finding, "title": "pwned" })),
        (RAISE, json!({ "findingId": finding })),
        (UPDATE_NCR, json!({ "id": ncr, "title": "pwned" })),
        (TRANSITION_NCR, json!({ "id": ncr, "to": "ANALYSIS" })),
        (ADD_ACTION, json!({ "nonconformityId": ncr, "title": "pwned" })),
        (UPDATE_ACTION, json!({ "id": action, "title": "pwned" })),
        (CREATE_AUDIT, audit_input(&a, json!({}))),
        (CREATE_NCR, json!({ "organizationId": a, "title": "pwned", "source": "OTHER", "severity": "MINOR" })),
        (UPSERT, upsert_input(&a, "A-1", json!({ "title": "pwned" }))),
    ];
    for (q, input) in &attempts {
        let body = bob.gql(q, json!({ "i": input })).await;
        assert_error(&body, "NOT_FOUND", None);
    }
    // A missing object behaves the same.
    for (q, input) in [
        (UPDATE_AUDIT, json!({ "id": ghosts[0], "title": "x" })),
        (UPDATE_FINDING, json!({ "id": ghosts[1], "title": "x" })),
        (TRANSITION_NCR, json!({ "id": ghosts[2], "to": "ANALYSIS" })),
        (UPDATE_ACTION, json!({ "id": ghosts[3], "title": "x" })),
    ] {
        assert_error(&alice.gql(q, json!({ "i": input })).await, "NOT_FOUND", None);
    }
    assert_eq!(counts().await, before, "nothing written");
    // Bob's own data stays apart: his upsert of the same ticket key makes his own NCR.
    let data = bob.ok(UPSERT, json!({ "i": upsert_input(&b, "A-1", json!({})) })).await;
    assert_eq!(data["upsertNonconformityByExternalRef"]["created"], true);
    let data =
        bob.ok("query($b: ID!) { organization(id: $b) { nonconformities { totalCount } } }", json!({ "b": b })).await;
    assert_eq!(data["organization"]["nonconformities"]["totalCount"], 1);
}

async fn role_matrix(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let org = acme.id.clone();
    // (operation, roles allowed among o m c a v i)
    let table: [(&str, [bool; 6]); 16] = [
        ("createAudit", [true, true, false, true, false, false]),
        ("updateAudit", [true, true, false, true, false, false]),
        ("transitionAudit", [true, true, false, true, false, false]),
        ("addFinding", [true, true, false, true, false, false]),
        ("updateFinding", [true, true, false, true, false, false]),
        ("raiseNonconformity", [true, true, false, true, false, false]),
        ("readAudits", [true, true, true, true, true, false]),
        ("nodeAudit", [true, true, true, true, true, false]),
        // Issue 9, 3: INTEGRATION syncs only NCRs its tickets made; these are people's.
        ("createNonconformity", [true, true, true, false, false, false]),
        ("updateNonconformity", [true, true, true, false, false, false]),
        ("upsertNonconformityByExternalRef", [true, true, true, false, false, true]),
        ("transitionNonconformity", [true, true, true, false, false, false]),
        ("closeNonconformity", [true, true, false, true, false, false]),
        ("addCorrectiveAction", [true, true, true, false, false, false]),
        ("updateCorrectiveAction", [true, true, true, false, false, false]),
        ("readNonconformities", [true, true, true, true, true, true]),
    ];
    for (r, token) in acme.members().into_iter().enumerate() {
        let (sub, role) = (token.sub.as_str(), token.role.map_or("?", Role::as_str));
        let audit = audit_at(&acme.owner, "IN_PROGRESS").await;
        let finding = add_finding(&acme.owner, &audit, "MAJOR_NONCONFORMITY", json!([])).await;
        let ncr = create_ncr(&acme.owner).await;
        let action = add_action(&acme.owner, &ncr, None).await;
        let verified = ncr_at(&acme.owner, "VERIFICATION").await;
        for (op, allowed) in &table {
            let (q, vars): (String, Value) = match *op {
                "createAudit" => (CREATE_AUDIT.into(), json!({ "i": audit_input(&org, json!({})) })),
                "updateAudit" => (UPDATE_AUDIT.into(), json!({ "i": { "id": audit, "title": format!("by {sub}") } })),
                "transitionAudit" => (TRANSITION_AUDIT.into(), json!({ "i": { "id": audit, "to": "REPORTING" } })),
                "addFinding" => (ADD_FINDING.into(), json!({ "i": { "auditId": audit, "type": "OBSERVATION", "title": "o" } })),
                "updateFinding" => (UPDATE_FINDING.into(), json!({ "i": { "id": finding, "title": format!("by {sub}") } })),
                "raiseNonconformity" => (RAISE.into(), json!({ "i": { "findingId": finding } })),
                "readAudits" => ("query($o: ID!) { organization(id: $o) { audits { totalCount nodes { id } } } }".into(), json!({ "o": org })),
                "nodeAudit" => ("query($id: ID!) { node(id: $id) { ... on Audit { title } } }".into(), json!({ "id": audit })),
                "createNonconformity" => (CREATE_NCR.into(), json!({ "i": { "organizationId": org, "title": "t", "source": "OTHER", "severity": "MINOR" } })),
                "updateNonconformity" => (UPDATE_NCR.into(), json!({ "i": { "id": ncr, "rootCause": format!("by {sub}") } })),
                "upsertNonconformityByExternalRef" => (UPSERT.into(), json!({ "i": upsert_input(&org, &format!("R-{sub}"), json!({})) })),
                "transitionNonconformity" => (TRANSITION_NCR.into(), json!({ "i": { "id": ncr, "to": "ANALYSIS" } })),
                "closeNonconformity" => (TRANSITION_NCR.into(), json!({ "i": { "id": verified, "to": "CLOSED" } })),
                "addCorrectiveAction" => (ADD_ACTION.into(), json!({ "i": { "nonconformityId": ncr, "title": "t" } })),
                "updateCorrectiveAction" => (UPDATE_ACTION.into(), json!({ "i": { "id": action, "title": format!("by {sub}") } })),
                _ => ("query($o: ID!) { organization(id: $o) { nonconformities { totalCount nodes { id correctiveActions { id } } } } }".into(), json!({ "o": org })),
            };
            let body = token.gql(&q, vars).await;
            if allowed[r] {
                assert!(body.get("errors").is_none(), "{role} {op}: {body}");
            } else {
                assert_error(&body, "FORBIDDEN", None);
            }
        }
        // What the objects tell the caller matches what the service allows.
        let data = token.ok("query($n: ID!) { node(id: $n) { ... on Nonconformity { viewerCanUpdate viewerCanDelete correctiveActions { viewerCanUpdate } } } }", json!({ "n": ncr }))
            .await;
        assert_eq!(data["node"]["viewerCanUpdate"], table[9].1[r], "{role}");
        assert_eq!(data["node"]["viewerCanDelete"], false);
        assert_eq!(data["node"]["correctiveActions"][0]["viewerCanUpdate"], table[14].1[r], "{role}");
        if table[6].1[r] {
            let data = token.ok("query($a: ID!) { node(id: $a) { ... on Audit { viewerCanUpdate viewerCanTransition viewerCanAddFinding findings { viewerCanUpdate viewerCanRaiseNonconformity } } } }", json!({ "a": audit }))
                .await;
            let writes = table[0].1[r];
            assert_eq!(data["node"]["viewerCanUpdate"], writes, "{role}");
            assert_eq!(data["node"]["viewerCanTransition"], writes, "{role}");
            assert_eq!(data["node"]["viewerCanAddFinding"], writes, "{role}");
            assert_eq!(data["node"]["findings"][0]["viewerCanRaiseNonconformity"], writes, "{role}");
        } else {
            // INTEGRATION reads NCRs but not the audits behind them.
            let raised = acme.owner.ok(RAISE, json!({ "i": { "findingId": finding } })).await;
            let id = raised["raiseNonconformity"]["nonconformity"]["id"].clone();
            let body = token
                .gql(
                    "query($n: ID!) { node(id: $n) { ... on Nonconformity { title finding { id } } } }",
                    json!({ "n": id }),
                )
                .await;
            assert_error(&body, "FORBIDDEN", None);
        }
    }
}

async fn nested_lists_are_batched(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let org = acme.id.clone();
    let o = &acme.owner;
    let statements = async || -> u64 {
        let text =
            app.client.get(format!("{}/metrics", app.base)).send().await.expect("metrics").text().await.expect("text");
        text.lines()
            .find_map(|l| l.strip_prefix("annex_db_queries_total "))
            .and_then(|v| v.trim().parse().ok())
            .expect("annex_db_queries_total")
    };
    let q = "query($o: ID!) { organization(id: $o) { audits(first: 7) { nodes { findings { id nonconformity { id correctiveActions { id overdue } transitions { to } } } transitions { to } } } nonconformities(first: 10) { nodes { finding { id } correctiveActions { id nonconformity { id } viewerCanUpdate } transitions { to } hasOverdueActions } } } }";
    let mut costs = Vec::new();
    for round in 0..2 {
        let n = if round == 0 { 1 } else { 6 };
        for _ in 0..n {
            let audit = audit_at(&acme.owner, "IN_PROGRESS").await;
            let f = add_finding(&acme.owner, &audit, "MINOR_NONCONFORMITY", json!([])).await;
            let ncr =
                o.ok(RAISE, json!({ "i": { "findingId": f } })).await["raiseNonconformity"]["nonconformity"]["id"]
                    .as_str()
                    .expect("id")
                    .to_string();
            add_action(&acme.owner, &ncr, Some(day(-1))).await;
            add_action(&acme.owner, &ncr, None).await;
        }
        let before = statements().await;
        let data = o.ok(q, json!({ "o": org })).await;
        costs.push(statements().await - before);
        let audits = data["organization"]["audits"]["nodes"].as_array().expect("audits").len();
        assert_eq!(audits, if round == 0 { 1 } else { 7 });
    }
    // Six more parents: one statement more per parent anywhere would add at least six.
    // (A loader batch can split under heavy load, hence no exact equality.)
    assert!(costs[1] < costs[0] + 6, "statements grow with the page: {costs:?}");
}

async fn nonconformities_page_newest_first(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let org = acme.id.clone();
    let o = &acme.owner;
    for (n, (source, severity)) in [
        ("INCIDENT", "MINOR"),
        ("COMPLAINT", "MAJOR"),
        ("INCIDENT", "MAJOR"),
        ("MONITORING", "MINOR"),
        ("INCIDENT", "MINOR"),
    ]
    .into_iter()
    .enumerate()
    {
        let i = json!({ "organizationId": org, "title": format!("ncr {n}"), "source": source, "severity": severity });
        o.ok(CREATE_NCR, json!({ "i": i })).await;
    }
    acme.integration.ok(UPSERT, json!({ "i": upsert_input(&org, "P-1", json!({ "severity": "MINOR" })) })).await;
    ncr_at(&acme.owner, "CLOSED").await;
    let q = "query($o: ID!, $f: NonconformityFilter, $after: String) { organization(id: $o) { nonconformities(filter: $f, first: 2, after: $after) { totalCount edges { cursor node { id title } } pageInfo { hasNextPage hasPreviousPage endCursor } } } }";
    let all = |f: Value| {
        let o = o.clone();
        let org = org.clone();
        async move {
            let (mut titles, mut after) = (Vec::new(), Value::Null);
            loop {
                let data = o.ok(q, json!({ "o": org, "f": f, "after": after })).await;
                let c = &data["organization"]["nonconformities"];
                let total = c["totalCount"].as_i64().unwrap_or(-1);
                assert_eq!(c["pageInfo"]["hasPreviousPage"], !after.is_null());
                titles.extend(
                    c["edges"]
                        .as_array()
                        .expect("edges")
                        .iter()
                        .map(|e| e["node"]["title"].as_str().unwrap_or("").to_string()),
                );
                if c["pageInfo"]["hasNextPage"] == false {
                    return (titles, total);
                }
                after = c["pageInfo"]["endCursor"].clone();
            }
        }
    };
    let (titles, total) = all(json!({})).await;
    assert_eq!(total, 7);
    assert_eq!(titles, ["Access reviews skipped", "Backups untested", "ncr 4", "ncr 3", "ncr 2", "ncr 1", "ncr 0"]);
    assert_eq!(
        all(json!({ "source": "INCIDENT", "severity": "MINOR" })).await,
        (vec!["Access reviews skipped".into(), "ncr 4".into(), "ncr 0".into()], 3)
    );
    assert_eq!(all(json!({ "open": false })).await, (vec!["Access reviews skipped".into()], 1));
    assert_eq!(all(json!({ "open": true, "severity": "MAJOR" })).await, (vec!["ncr 2".into(), "ncr 1".into()], 2));
    assert_eq!(all(json!({ "status": ["CLOSED", "ANALYSIS"] })).await.1, 1);
    assert_eq!(all(json!({ "externalSystem": "jira" })).await, (vec!["Backups untested".into()], 1));
    assert_eq!(all(json!({ "open": false })).await.0.len(), 1);
    // A cursor of another list (audits) is refused.
    let body = o.gql(q, json!({ "o": org, "after": "eyJzIjoiYXVkaXRzOlBMQU5ORURfU1RBUlQiLCJrIjp7InQiOiJOdWxsIn0sImlkIjoiMDE5MDAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAwIn0" })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("after"));
}

crate::api_tests!(
    audit_transition_table,
    ncr_transition_table,
    ncr_rules_refuse_and_write_nothing,
    close_is_for_owner_manager_auditor,
    overdue_at_date_boundaries,
    references_are_validated,
    audit_input_rules_and_listing,
    raising_is_idempotent,
    ticketing_sync_is_idempotent,
    ticket_done_stops_at_verification,
    other_tenants_objects_are_missing,
    role_matrix,
    nested_lists_are_batched,
    nonconformities_page_newest_first,
);
