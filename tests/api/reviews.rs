//! Issue 15, the management review (ISO 27001 9.3; ISO 42001 9.3): holding needs an input
//! for every topic and freezes the snapshot; decisions carry over to the next review and
//! gate closing; the workflow refuses skips; roles, other tenants and bad input, through
//! the API on both databases.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::support::{Actor, TestApp, assert_error};

const CREATE: &str = "mutation($i: CreateManagementReviewInput!) { createManagementReview(input: $i) { managementReview { id status version standards attendees heldOn snapshot viewerCanUpdate } } }";
const UPDATE: &str = "mutation($i: UpdateManagementReviewInput!) { updateManagementReview(input: $i) { managementReview { id version title attendees plannedOn } } }";
const MOVE: &str = "mutation($i: TransitionManagementReviewInput!) { transitionManagementReview(input: $i) { managementReview { id status heldOn snapshot version } } }";
const INPUT: &str = "mutation($i: RecordReviewInputInput!) { recordReviewInput(input: $i) { reviewInput { id topic summary version } managementReview { id } } }";
const DECIDE: &str = "mutation($i: AddReviewDecisionInput!) { addReviewDecision(input: $i) { reviewDecision { id status kind overdue } managementReview { id } } }";
const UPDATE_DECISION: &str = "mutation($i: UpdateReviewDecisionInput!) { updateReviewDecision(input: $i) { reviewDecision { id status owner dueOn version } } }";
const REPORT: &str = "mutation($i: ReportIncidentInput!) { reportIncident(input: $i) { incident { id } } }";

const TOPICS: [&str; 12] = [
    "PREVIOUS_ACTIONS",
    "CONTEXT_CHANGES",
    "INTERESTED_PARTY_CHANGES",
    "NONCONFORMITIES_AND_ACTIONS",
    "MONITORING_RESULTS",
    "AUDIT_RESULTS",
    "OBJECTIVES",
    "INTERESTED_PARTY_FEEDBACK",
    "RISK_ASSESSMENT_AND_TREATMENT",
    "IMPROVEMENT_OPPORTUNITIES",
    "AI_SYSTEM_PERFORMANCE",
    "INCIDENTS",
];

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

async fn create(by: &Actor<'_>, title: &str, planned: i64) -> String {
    let input =
        json!({ "organizationId": by.org(), "title": title, "plannedOn": day(planned), "attendees": ["CEO", "CISO"] });
    let data = by.ok(CREATE, json!({ "i": input })).await;
    data["createManagementReview"]["managementReview"]["id"].as_str().expect("id").to_string()
}

async fn record(by: &Actor<'_>, review: &str, topics: &[&str]) {
    for t in topics {
        by.ok(INPUT, json!({ "i": { "reviewId": review, "topic": t, "summary": format!("Discussed {t}") } })).await;
    }
}

async fn move_to(by: &Actor<'_>, id: &str, to: &str, extra: Value) -> Value {
    let mut i = json!({ "id": id, "to": to });
    for (k, v) in extra.as_object().expect("object") {
        i[k] = v.clone();
    }
    by.gql(MOVE, json!({ "i": i })).await
}

/// A review with every topic recorded, moved to HELD.
async fn held(by: &Actor<'_>, title: &str, planned: i64) -> String {
    let id = create(by, title, planned).await;
    record(by, &id, &TOPICS).await;
    let body = move_to(by, &id, "HELD", json!({})).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    id
}

async fn decide(by: &Actor<'_>, review: &str, text: &str, due: Option<i64>) -> String {
    let mut i = json!({ "reviewId": review, "text": text, "kind": "IMPROVEMENT", "owner": "CISO" });
    if let Some(d) = due {
        i["dueOn"] = json!(day(d));
    }
    let data = by.ok(DECIDE, json!({ "i": i })).await;
    data["addReviewDecision"]["reviewDecision"]["id"].as_str().expect("id").to_string()
}

async fn settle(by: &Actor<'_>, decision: &str, status: &str) -> Value {
    by.gql(UPDATE_DECISION, json!({ "i": { "id": decision, "status": status } })).await
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().expect("list").iter().map(|x| x["id"].as_str().expect("id").to_string()).collect()
}

// ---------------------------------------------------------------------------------------

async fn holding_needs_every_topic_and_freezes_the_snapshot(app: &TestApp) {
    let t = app.tenant("acme").await;
    let (o, m) = (&t.owner, &t.manager);
    let id = create(m, "Q4 management review", 0).await;
    let fresh = o.node(&id, "ManagementReview", "status standards snapshot heldOn missingTopics viewerCanUpdate").await;
    assert_eq!(fresh["status"], "PLANNED");
    assert_eq!(fresh["standards"], json!(["ISO27001", "ISO42001"]), "an integrated review by default");
    assert!(fresh["snapshot"].is_null() && fresh["heldOn"].is_null());
    assert_eq!(fresh["missingTopics"].as_array().expect("topics").len(), 12);
    assert_eq!(fresh["viewerCanUpdate"], true);

    // Every topic but INCIDENTS: refused, naming the missing topic; nothing moved.
    record(m, &id, &TOPICS[..11]).await;
    let body = move_to(m, &id, "HELD", json!({})).await;
    assert_error(&body, "BAD_USER_INPUT", Some("to"));
    let message = body["errors"][0]["message"].as_str().expect("message");
    assert!(message.contains("INCIDENTS") && !message.contains("OBJECTIVES"), "{message}");
    let node = o.node(&id, "ManagementReview", "status missingTopics inputs { topic }").await;
    assert_eq!(node["status"], "PLANNED");
    assert_eq!(node["missingTopics"], json!(["INCIDENTS"]));
    assert_eq!(node["inputs"].as_array().expect("inputs").len(), 11);
    // Recording a topic again replaces its summary (one input per topic).
    let again = m
        .ok(INPUT, json!({ "i": { "reviewId": id, "topic": "OBJECTIVES", "summary": "Two objectives off track" } }))
        .await;
    assert_eq!(again["recordReviewInput"]["reviewInput"]["version"], 2);
    record(m, &id, &["INCIDENTS"]).await;
    let node = o.node(&id, "ManagementReview", "missingTopics inputs { topic summary }").await;
    assert_eq!(node["missingTopics"], json!([]));
    assert_eq!(node["inputs"].as_array().expect("inputs").len(), 12);
    assert_eq!(node["inputs"][6], json!({ "topic": "OBJECTIVES", "summary": "Two objectives off track" }));

    // Who attended is required; heldOn never in the future.
    m.ok(UPDATE, json!({ "i": { "id": id, "attendees": [] } })).await;
    assert_error(&move_to(m, &id, "HELD", json!({})).await, "BAD_USER_INPUT", Some("attendees"));
    m.ok(UPDATE, json!({ "i": { "id": id, "attendees": ["CEO", "CISO", "Head of AI"] } })).await;
    assert_error(&move_to(m, &id, "HELD", json!({ "heldOn": day(1) })).await, "BAD_USER_INPUT", Some("heldOn"));

    // Some data to freeze: an open incident and an open nonconformity.
    o.ok(REPORT, json!({ "i": { "organizationId": t.id, "title": "Leak", "kind": "SECURITY", "severity": "HIGH" } }))
        .await;
    let body = move_to(m, &id, "HELD", json!({ "heldOn": day(-1), "note": "minutes filed" })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let review = &body["data"]["transitionManagementReview"]["managementReview"];
    assert_eq!(review["status"], "HELD");
    assert_eq!(review["heldOn"], json!(day(-1)));
    let snapshot = review["snapshot"].clone();
    assert_eq!(snapshot["schemaVersion"], 1);
    assert_eq!(snapshot["heldOn"], json!(day(-1)));
    assert!(snapshot["takenAt"].as_str().is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()));
    assert_eq!(snapshot["incidents"]["open"], 1, "{snapshot:#}");
    assert_eq!(snapshot["readiness"].as_array().expect("readiness").len(), 2);
    assert_eq!(snapshot["soaCoverage"][0]["standard"], "ISO27001");
    assert!(snapshot["soaCoverage"][0]["applicable"].as_u64().expect("applicable") > 0);
    for key in ["risks", "nonconformities", "objectives", "overdueActions", "previousActions"] {
        assert!(snapshot.get(key).is_some(), "{key} missing: {snapshot:#}");
    }

    // Change the organization's data after HELD: the snapshot stays as it was.
    o.ok(REPORT, json!({ "i": { "organizationId": t.id, "title": "Drift", "kind": "AI", "severity": "LOW" } })).await;
    o.nonconformity().create().await;
    let later = o.node(&id, "ManagementReview", "snapshot").await;
    assert_eq!(later["snapshot"], snapshot, "the snapshot never changes after HELD");
    let dash =
        o.ok("query($o: ID!) { organization(id: $o) { dashboard { openIncidents } } }", json!({ "o": t.id })).await;
    assert_eq!(dash["organization"]["dashboard"]["openIncidents"], 2, "while the live figures move on");

    // Once HELD, the inputs and the review's own fields are a record.
    let body = m.gql(INPUT, json!({ "i": { "reviewId": id, "topic": "INCIDENTS", "summary": "rewritten" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("reviewId"));
    assert_error(&m.gql(UPDATE, json!({ "i": { "id": id, "title": "New" } })).await, "BAD_USER_INPUT", Some("id"));
    let node = o
        .node(
            &id,
            "ManagementReview",
            "viewerCanUpdate viewerCanDecide transitions { from to note } history(first: 50) { totalCount }",
        )
        .await;
    assert_eq!(node["viewerCanUpdate"], false);
    assert_eq!(node["viewerCanDecide"], true);
    assert_eq!(node["transitions"], json!([{ "from": "PLANNED", "to": "HELD", "note": "minutes filed" }]));
    // The trail has the review, its inputs' updates and the move.
    assert!(node["history"]["totalCount"].as_i64().expect("count") >= 4, "{node}");
}

async fn decisions_carry_over_and_gate_closing(app: &TestApp) {
    let t = app.tenant("acme").await;
    let (o, m) = (&t.owner, &t.manager);
    let first = held(m, "Spring review", -30).await;
    // Decisions belong to a held review; a PLANNED one takes none.
    let next = create(m, "Autumn review", 10).await;
    let body = m.gql(DECIDE, json!({ "i": { "reviewId": next, "text": "x", "kind": "OTHER" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("reviewId"));

    let late = decide(m, &first, "Hire an AI risk officer", Some(-2)).await;
    let soon = decide(m, &first, "Extend MFA to contractors", Some(20)).await;
    let undated = decide(m, &first, "Review the AI policy", None).await;
    let node = o.node(&late, "ReviewDecision", "status overdue review { id } viewerCanUpdate").await;
    assert_eq!(
        node,
        json!({ "id": late, "status": "OPEN", "overdue": true, "review": { "id": first }, "viewerCanUpdate": true })
    );

    // CLOSED needs every decision DONE or CANCELLED.
    assert_error(&move_to(m, &first, "CLOSED", json!({})).await, "BAD_USER_INPUT", Some("to"));

    // The next review shows them live, soonest due first, undated last.
    let q = "previousActions { id status } missingTopics";
    let live = o.node(&next, "ManagementReview", q).await;
    assert_eq!(ids(&live["previousActions"]), vec![late.clone(), soon.clone(), undated.clone()]);
    assert!(settle(m, &undated, "CANCELLED").await.get("errors").is_none());
    let live = o.node(&next, "ManagementReview", q).await;
    assert_eq!(ids(&live["previousActions"]), vec![late.clone(), soon.clone()]);

    // Held: the carry-over is frozen into the snapshot, as it stood.
    record(m, &next, &TOPICS).await;
    let body = move_to(m, &next, "HELD", json!({})).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let snapshot = body["data"]["transitionManagementReview"]["managementReview"]["snapshot"].clone();
    let frozen = snapshot["previousActions"].as_array().expect("previous actions");
    assert_eq!(frozen.len(), 2);
    assert_eq!(frozen[0]["id"], json!(late));
    assert_eq!(frozen[0]["status"], "OPEN");
    assert_eq!(frozen[0]["reviewId"], json!(first));
    assert_eq!(frozen[0]["text"], "Hire an AI risk officer");
    assert_eq!(snapshot["overdueActions"]["reviewDecisions"], 1);

    // Done later: the held review still lists the same decisions (now DONE); its snapshot
    // keeps them OPEN.
    assert!(settle(m, &late, "DONE").await.get("errors").is_none());
    let after = o.node(&next, "ManagementReview", "previousActions { id status } snapshot").await;
    assert_eq!(after["previousActions"][0], json!({ "id": late, "status": "DONE" }));
    assert_eq!(after["snapshot"], snapshot);
    // A decision of the second review does not appear in its own previous actions.
    decide(m, &next, "Budget for a SIEM", Some(60)).await;
    let after = o.node(&next, "ManagementReview", "previousActions { id } decisions { id }").await;
    assert_eq!(ids(&after["previousActions"]), vec![late.clone(), soon.clone()]);
    assert_eq!(after["decisions"].as_array().expect("decisions").len(), 1);

    // Dashboard: last held, next planned, open and overdue decisions.
    let third = create(m, "Winter review", 90).await;
    let dq = "query($o: ID!) { organization(id: $o) { dashboard { managementReview { lastHeldOn nextPlannedOn openDecisions overdueDecisions } } } }";
    let d = o.ok(dq, json!({ "o": t.id })).await["organization"]["dashboard"]["managementReview"].clone();
    assert_eq!(d, json!({ "lastHeldOn": day(0), "nextPlannedOn": day(90), "openDecisions": 2, "overdueDecisions": 0 }));
    let d = t.integration.ok(dq, json!({ "o": t.id })).await["organization"]["dashboard"]["managementReview"].clone();
    assert_eq!(d["openDecisions"], 0, "INTEGRATION does not read management reviews");
    let third_live = o.node(&third, "ManagementReview", "previousActions { id }").await;
    assert_eq!(ids(&third_live["previousActions"]).len(), 2, "soon and the SIEM budget");

    // Closing the first once every decision is settled; a CLOSED review is read-only.
    assert!(settle(m, &soon, "DONE").await.get("errors").is_none());
    let body = move_to(m, &first, "CLOSED", json!({ "note": "all actions complete" })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_error(&settle(m, &soon, "OPEN").await, "BAD_USER_INPUT", Some("id"));
    let body = m.gql(DECIDE, json!({ "i": { "reviewId": first, "text": "x", "kind": "OTHER" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("reviewId"));
    assert_error(&move_to(m, &first, "CLOSED", json!({})).await, "BAD_USER_INPUT", Some("to"));
    let node = o.node(&first, "ManagementReview", "status viewerCanTransition viewerCanDecide").await;
    assert_eq!(
        node,
        json!({ "id": first, "status": "CLOSED", "viewerCanTransition": false, "viewerCanDecide": false })
    );

    // The list: by planned day, filtered by status.
    let lq = "query($o: ID!) { organization(id: $o) { managementReviews(first: 10) { totalCount nodes { id } } held: managementReviews(first: 10, filter: {status: [HELD]}) { nodes { id } } } }";
    let data = o.ok(lq, json!({ "o": t.id })).await;
    assert_eq!(data["organization"]["managementReviews"]["totalCount"], 3);
    assert_eq!(ids(&data["organization"]["managementReviews"]["nodes"]), vec![first, next.clone(), third]);
    assert_eq!(ids(&data["organization"]["held"]["nodes"]), vec![next]);
}

async fn the_workflow_refuses_skips_and_bad_input(app: &TestApp) {
    let t = app.tenant("acme").await;
    let m = &t.manager;
    let org = t.id.as_str();
    // Required fields and bad values, each naming its field, nothing written.
    let reviews = app.count("management_reviews").await;
    for (input, field) in [
        (json!({ "organizationId": org, "title": "  ", "plannedOn": day(0) }), "title"),
        (json!({ "organizationId": org, "title": "R", "plannedOn": day(0), "standards": [] }), "standards"),
        (
            json!({ "organizationId": org, "title": "R", "plannedOn": day(0), "attendees": ["x".repeat(201)] }),
            "attendees",
        ),
        (json!({ "organizationId": "nonsense", "title": "R", "plannedOn": day(0) }), "organizationId"),
    ] {
        assert_error(&m.gql(CREATE, json!({ "i": input })).await, "BAD_USER_INPUT", Some(field));
    }
    let body = m.gql(CREATE, json!({ "i": { "organizationId": org, "title": "R", "plannedOn": "2026-13-45" } })).await;
    assert!(body.get("errors").is_some(), "a bad date is refused: {body}");
    assert_eq!(app.count("management_reviews").await, reviews);

    let id = create(m, "Annual review", 5).await;
    let body = m.gql(INPUT, json!({ "i": { "reviewId": id, "topic": "OBJECTIVES", "summary": " " } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("summary"));
    let body = m.gql(INPUT, json!({ "i": { "reviewId": "nonsense", "topic": "OBJECTIVES", "summary": "s" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("reviewId"));
    let body = m.gql(INPUT, json!({ "i": { "reviewId": id, "topic": "NOT_A_TOPIC", "summary": "s" } })).await;
    assert!(body.get("errors").is_some(), "an unknown topic is refused: {body}");
    assert_eq!(app.count("review_inputs").await, 0);
    // A stale version is a conflict.
    let body = m.gql(UPDATE, json!({ "i": { "id": id, "expectedVersion": 7, "title": "x" } })).await;
    assert_error(&body, "CONFLICT", None);
    let data = m.ok(UPDATE, json!({ "i": { "id": id, "expectedVersion": 1, "plannedOn": day(3) } })).await;
    assert_eq!(data["updateManagementReview"]["managementReview"]["plannedOn"], json!(day(3)));

    // No skips, no way back, heldOn only with HELD.
    record(m, &id, &TOPICS).await;
    assert_error(&move_to(m, &id, "CLOSED", json!({})).await, "BAD_USER_INPUT", Some("to"));
    assert_error(&move_to(m, &id, "PLANNED", json!({})).await, "BAD_USER_INPUT", Some("to"));
    assert!(move_to(m, &id, "HELD", json!({})).await.get("errors").is_none());
    assert_error(&move_to(m, &id, "HELD", json!({})).await, "BAD_USER_INPUT", Some("to"));
    assert_error(&move_to(m, &id, "PLANNED", json!({})).await, "BAD_USER_INPUT", Some("to"));
    assert_error(&move_to(m, &id, "CLOSED", json!({ "heldOn": day(0) })).await, "BAD_USER_INPUT", Some("heldOn"));
    // Decisions: text and kind required, owner bounded, unknown ids.
    let body = m.gql(DECIDE, json!({ "i": { "reviewId": id, "text": "", "kind": "RESOURCES" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("text"));
    let body = m
        .gql(DECIDE, json!({ "i": { "reviewId": id, "text": "t", "kind": "RESOURCES", "owner": "o".repeat(201) } }))
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("owner"));
    let body = m.gql(DECIDE, json!({ "i": { "reviewId": id, "text": "t" } })).await;
    assert!(body.get("errors").is_some(), "kind is required: {body}");
    let d = decide(m, &id, "Two more auditors", Some(30)).await;
    let body = m.gql(UPDATE_DECISION, json!({ "i": { "id": d, "text": "  " } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("text"));
    let data = m.ok(UPDATE_DECISION, json!({ "i": { "id": d, "owner": null, "dueOn": null } })).await;
    assert_eq!(data["updateReviewDecision"]["reviewDecision"]["owner"], Value::Null);
    assert_eq!(data["updateReviewDecision"]["reviewDecision"]["dueOn"], Value::Null);
    let body = m.gql(UPDATE_DECISION, json!({ "i": { "id": d, "expectedVersion": 1, "status": "DONE" } })).await;
    assert_error(&body, "CONFLICT", None);
    assert!(settle(m, &d, "DONE").await.get("errors").is_none());
    let body = move_to(m, &id, "CLOSED", json!({})).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let node = m.node(&id, "ManagementReview", "transitions { from to }").await;
    assert_eq!(node["transitions"], json!([{ "from": "PLANNED", "to": "HELD" }, { "from": "HELD", "to": "CLOSED" }]));
}

async fn roles_and_other_tenants(app: &TestApp) {
    let t = app.tenant("acme").await;
    let beta = app.tenant("beta").await;
    let review = held(&t.owner, "Held review", -1).await;
    let decision = decide(&t.owner, &review, "More budget", Some(10)).await;
    let planned = create(&t.owner, "Planned review", 30).await;
    let input =
        t.owner.ok(INPUT, json!({ "i": { "reviewId": planned, "topic": "AUDIT_RESULTS", "summary": "clean" } })).await
            ["recordReviewInput"]["reviewInput"]["id"]
            .as_str()
            .expect("input")
            .to_string();

    // OWNER and MANAGER write; the others are refused.
    for who in [&t.contributor, &t.auditor, &t.viewer, &t.integration] {
        let input = json!({ "organizationId": t.id, "title": "R", "plannedOn": day(0) });
        assert_error(&who.gql(CREATE, json!({ "i": input })).await, "FORBIDDEN", None);
        assert_error(&who.gql(UPDATE, json!({ "i": { "id": planned, "title": "x" } })).await, "FORBIDDEN", None);
        let body = who.gql(INPUT, json!({ "i": { "reviewId": planned, "topic": "OBJECTIVES", "summary": "s" } })).await;
        assert_error(&body, "FORBIDDEN", None);
        assert_error(&move_to(who, &planned, "HELD", json!({})).await, "FORBIDDEN", None);
        let body = who.gql(DECIDE, json!({ "i": { "reviewId": review, "text": "t", "kind": "OTHER" } })).await;
        assert_error(&body, "FORBIDDEN", None);
        assert_error(&settle(who, &decision, "DONE").await, "FORBIDDEN", None);
    }
    for who in [&t.owner, &t.manager] {
        create(who, "Mine", 2).await;
    }
    // Everyone but INTEGRATION reads.
    let lq = "query($o: ID!) { organization(id: $o) { managementReviews(first: 10) { nodes { id } } } }";
    for who in [&t.owner, &t.manager, &t.contributor, &t.auditor, &t.viewer] {
        let data = who.ok(lq, json!({ "o": t.id })).await;
        assert_eq!(data["organization"]["managementReviews"]["nodes"].as_array().expect("list").len(), 4);
        let node = who.node(&review, "ManagementReview", "title snapshot decisions { id } viewerCanTransition").await;
        assert_eq!(node["decisions"][0]["id"], json!(decision));
        let writer = who.role == t.owner.role || who.role == t.manager.role;
        assert_eq!(node["viewerCanTransition"], json!(writer));
        assert_eq!(who.node(&input, "ReviewInput", "topic").await["topic"], "AUDIT_RESULTS");
    }
    assert_error(&t.integration.gql(lq, json!({ "o": t.id })).await, "FORBIDDEN", None);

    // Another tenant's reviews, inputs and decisions look missing, for every role.
    for who in beta.members() {
        for id in [&review, &decision, &input] {
            let body = who.gql("query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
            assert_eq!(body["data"]["node"], Value::Null, "{body}");
        }
        let body = who.gql(INPUT, json!({ "i": { "reviewId": planned, "topic": "OBJECTIVES", "summary": "s" } })).await;
        assert_error(&body, "NOT_FOUND", None);
        let body = who.gql(DECIDE, json!({ "i": { "reviewId": review, "text": "t", "kind": "OTHER" } })).await;
        assert_error(&body, "NOT_FOUND", None);
        assert_error(&settle(who, &decision, "DONE").await, "NOT_FOUND", None);
        assert_error(&move_to(who, &planned, "HELD", json!({})).await, "NOT_FOUND", None);
        assert_error(&who.gql(UPDATE, json!({ "i": { "id": planned, "title": "x" } })).await, "NOT_FOUND", None);
        let body = who.gql(lq, json!({ "o": t.id })).await;
        assert!(body["data"]["organization"].is_null() || body.get("errors").is_some(), "{body}");
    }
    // Beta's own review does not carry acme's decisions over.
    let theirs = create(&beta.owner, "Beta review", 5).await;
    let node = beta.owner.node(&theirs, "ManagementReview", "previousActions { id }").await;
    assert_eq!(node["previousActions"], json!([]));
    // A decision id given as a review id is no review.
    let body = t.owner.gql(DECIDE, json!({ "i": { "reviewId": decision, "text": "t", "kind": "OTHER" } })).await;
    assert_error(&body, "NOT_FOUND", None);
}

crate::api_tests!(
    holding_needs_every_topic_and_freezes_the_snapshot,
    decisions_carry_over_and_gate_closing,
    the_workflow_refuses_skips_and_bad_input,
    roles_and_other_tenants,
);
