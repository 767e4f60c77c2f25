//! Issue 13: documented information (7.5): documents, versions and their approval,
//! through the API on both databases.

use chrono::{Months, NaiveDate};
use serde_json::{Value, json};

use crate::support::{Actor, TestApp, assert_error};

const DOC_FIELDS: &str = "id title kind level standards policyIntegration owner classification status reviewIntervalMonths nextReviewOn reviewOverdue references version viewerCanUpdate availableTransitions currentVersion { id number approvedBy author } latestVersion { id number author body changeSummary submittedAt approvedAt approvedBy }";
const CREATE: &str = "mutation($i: CreateDocumentInput!) { createDocument(input: $i) { document { id title kind level standards policyIntegration status reviewIntervalMonths nextReviewOn references latestVersion { number author } } } }";
const UPDATE: &str = "mutation($i: UpdateDocumentInput!) { updateDocument(input: $i) { document { id title status version latestVersion { body changeSummary } } } }";
const MOVE: &str = "mutation($i: TransitionDocumentInput!) { transitionDocument(input: $i) { document { id status nextReviewOn currentVersion { number approvedBy } latestVersion { number } } } }";
const REVISE: &str = "mutation($i: ReviseDocumentInput!) { reviseDocument(input: $i) { document { id status currentVersion { number } latestVersion { number body author } } } }";
const LINK: &str = "mutation($i: DocumentControlInput!) { linkDocumentControl(input: $i) { document { id controls { id ref } } control { id documents { id } } } }";
const UNLINK: &str = "mutation($i: DocumentControlInput!) { unlinkDocumentControl(input: $i) { document { id controls { id } } control { id } } }";

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

async fn create(by: &Actor<'_>, extra: Value) -> Value {
    let mut input = json!({ "organizationId": by.org(), "title": "Information security policy", "kind": "POLICY", "standards": ["ISO27001", "ISO42001"] });
    for (k, v) in extra.as_object().expect("object") {
        input[k] = v.clone();
    }
    by.ok(CREATE, json!({ "i": input })).await["createDocument"]["document"].clone()
}

async fn move_to(by: &Actor<'_>, id: &str, to: &str) -> Value {
    by.gql(MOVE, json!({ "i": { "id": id, "to": to } })).await
}

async fn ok_move(by: &Actor<'_>, id: &str, to: &str) -> Value {
    let body = move_to(by, id, to).await;
    assert!(body.get("errors").is_none(), "{to} by {}: {body:#}", by.sub);
    body["data"]["transitionDocument"]["document"].clone()
}

// ---------------------------------------------------------------------------------------
// The workflow, refused skips, author ≠ approver, versions.

async fn documents_are_approved_by_someone_else(app: &TestApp) {
    let t = app.tenant("acme").await;
    let c = &t.contributor;
    let d = create(c, json!({ "policyIntegration": "UMBRELLA", "references": ["ISO42001:5.2", "ISO27001:5.2"], "body": "# Policy", "changeSummary": "First issue" })).await;
    let id = d["id"].as_str().expect("id").to_string();
    assert_eq!(d["status"], "DRAFT");
    assert_eq!(d["level"], 1, "policies are level 1");
    assert_eq!(d["standards"], json!(["ISO27001", "ISO42001"]));
    assert_eq!(d["policyIntegration"], "UMBRELLA");
    assert_eq!(d["reviewIntervalMonths"], 12);
    assert_eq!(d["nextReviewOn"], Value::Null);
    assert_eq!(d["references"], json!(["ISO42001:5.2", "ISO27001:5.2"]));
    assert_eq!(d["latestVersion"], json!({ "number": "1.0", "author": c.sub }));

    // Skips are refused, and nothing moves.
    assert_error(&move_to(c, &id, "APPROVED").await, "BAD_USER_INPUT", Some("to"));
    assert_error(&move_to(&t.owner, &id, "APPROVED").await, "BAD_USER_INPUT", Some("to"));
    assert_eq!(t.owner.node(&id, "Document", "status").await["status"], "DRAFT");
    let sent = ok_move(c, &id, "IN_REVIEW").await;
    assert_eq!(sent["status"], "IN_REVIEW");
    // Sent back, and submitted again; content is frozen while in review.
    ok_move(c, &id, "DRAFT").await;
    ok_move(c, &id, "IN_REVIEW").await;
    let body = c.gql(UPDATE, json!({ "i": { "id": id, "body": "changed in review" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("body"));
    // A contributor does not approve.
    assert_error(&move_to(c, &id, "APPROVED").await, "FORBIDDEN", None);

    let approved = ok_move(&t.manager, &id, "APPROVED").await;
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(approved["currentVersion"], json!({ "number": "1.0", "approvedBy": t.manager.sub }));
    let due = today().checked_add_months(Months::new(12)).expect("date");
    assert_eq!(approved["nextReviewOn"], json!(due.to_string()));
    let n = t.viewer.node(&id, "Document", DOC_FIELDS).await;
    assert_eq!(n["latestVersion"]["approvedBy"], json!(t.manager.sub));
    assert!(n["latestVersion"]["submittedAt"].is_string() && n["latestVersion"]["approvedAt"].is_string());
    assert_eq!(n["reviewOverdue"], false);
    assert_eq!(n["viewerCanUpdate"], false);
    assert_eq!(n["availableTransitions"], json!([]));

    // A revision: the approved version stays current until the new one is approved.
    let body = c.gql(REVISE, json!({ "i": { "id": id, "changeSummary": "Typos" } })).await;
    let r = &body["data"]["reviseDocument"]["document"];
    assert_eq!(r["status"], "DRAFT", "{body:#}");
    assert_eq!(r["currentVersion"]["number"], "1.0");
    assert_eq!(r["latestVersion"], json!({ "number": "1.1", "body": "# Policy", "author": c.sub }));
    // Only an approved document is revised.
    assert_error(&c.gql(REVISE, json!({ "i": { "id": id } })).await, "BAD_USER_INPUT", Some("id"));
    let edited = c.ok(UPDATE, json!({ "i": { "id": id, "body": "# Policy v1.1" } })).await;
    assert_eq!(edited["updateDocument"]["document"]["latestVersion"]["body"], "# Policy v1.1");
    ok_move(c, &id, "IN_REVIEW").await;
    let n = t.viewer.node(&id, "Document", "currentVersion { number body } latestVersion { number }").await;
    assert_eq!(n["currentVersion"], json!({ "number": "1.0", "body": "# Policy" }));
    ok_move(&t.owner, &id, "APPROVED").await;

    // Segregation of duties (ISO 27001 A.5.3): the author of a version does not approve it.
    let body = t.owner.gql(REVISE, json!({ "i": { "id": id, "bump": "MAJOR", "body": "# Policy 2" } })).await;
    assert_eq!(body["data"]["reviseDocument"]["document"]["latestVersion"]["number"], "2.0", "{body:#}");
    ok_move(&t.owner, &id, "IN_REVIEW").await;
    let refused = move_to(&t.owner, &id, "APPROVED").await;
    assert_error(&refused, "BAD_USER_INPUT", Some("to"));
    let message = refused["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("author") && message.contains("A.5.3"), "{message}");
    assert_eq!(t.owner.node(&id, "Document", "status").await["status"], "IN_REVIEW");
    let done = ok_move(&t.manager, &id, "APPROVED").await;
    assert_eq!(done["currentVersion"], json!({ "number": "2.0", "approvedBy": t.manager.sub }));

    // Versions, newest first, paged.
    let q = "query($id: ID!, $after: String) { node(id: $id) { ... on Document { versions(first: 2, after: $after) { totalCount nodes { number } pageInfo { hasNextPage endCursor } } } } }";
    let page = t.auditor.ok(q, json!({ "id": id })).await["node"]["versions"].clone();
    assert_eq!(page["totalCount"], 3);
    assert_eq!(page["nodes"], json!([{ "number": "2.0" }, { "number": "1.1" }]));
    let rest =
        t.auditor.ok(q, json!({ "id": id, "after": page["pageInfo"]["endCursor"] })).await["node"]["versions"].clone();
    assert_eq!(rest["nodes"], json!([{ "number": "1.0" }]));
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);

    // Retired: read-only.
    assert_error(&move_to(c, &id, "RETIRED").await, "FORBIDDEN", None);
    let retired = ok_move(&t.owner, &id, "RETIRED").await;
    assert_eq!(retired["status"], "RETIRED");
    assert_eq!(retired["nextReviewOn"], Value::Null);
    assert_error(&c.gql(UPDATE, json!({ "i": { "id": id, "title": "New" } })).await, "BAD_USER_INPUT", Some("title"));
    assert_error(&move_to(&t.owner, &id, "DRAFT").await, "BAD_USER_INPUT", Some("id"));
    assert_error(&t.owner.gql(REVISE, json!({ "i": { "id": id } })).await, "BAD_USER_INPUT", Some("id"));
    let control = t.owner.control_id("ISO27001", "A.5.1").await;
    let body = t.owner.gql(LINK, json!({ "i": { "documentId": id, "controlId": control } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("documentId"));

    // Every step is in the trail.
    let h = t.owner.node(&id, "Document", "history(first: 100) { nodes { action } }").await;
    let actions: Vec<&str> =
        h["history"]["nodes"].as_array().expect("history").iter().filter_map(|n| n["action"].as_str()).collect();
    assert!(actions.contains(&"CREATE") && actions.contains(&"TRANSITION"), "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "TRANSITION").count(), 11, "{actions:?}");
}

// ---------------------------------------------------------------------------------------
// Review dates, overdue, filters, order and paging, links to the SoA.

async fn review_dates_filters_and_links(app: &TestApp) {
    let t = app.tenant("acme").await;
    let (o, m) = (&t.owner, &t.manager);
    let approve = |id: String| async move {
        ok_move(o, &id, "IN_REVIEW").await;
        ok_move(m, &id, "APPROVED").await
    };
    let monthly = create(o, json!({ "title": "Access control procedure", "kind": "PROCEDURE", "standards": ["ISO27001"], "reviewIntervalMonths": 1, "owner": "ciso" })).await;
    let monthly = monthly["id"].as_str().expect("id").to_string();
    let done = approve(monthly.clone()).await;
    let due = today().checked_add_months(Months::new(1)).expect("date");
    assert_eq!(done["nextReviewOn"], json!(due.to_string()));
    let ai =
        create(o, json!({ "title": "AI policy", "standards": ["ISO42001"], "level": 2, "classification": "INTERNAL" }))
            .await;
    assert_eq!(ai["level"], 2, "the level is the author's to set");
    let ai = ai["id"].as_str().expect("id").to_string();
    approve(ai.clone()).await;
    let record = create(o, json!({ "title": "Training records", "kind": "RECORD", "standards": ["ISO42001"] })).await;
    assert_eq!(record["level"], 4);

    // Time passes for the monthly procedure: its review is overdue.
    app.sql("UPDATE documents SET next_review_on = '2020-01-31' WHERE title = 'Access control procedure'").await;
    let n = o.node(&monthly, "Document", "reviewOverdue nextReviewOn").await;
    assert_eq!(n["reviewOverdue"], true, "{n}");
    let dash = "query($o: ID!) { organization(id: $o) { dashboard { documentsDueForReview } } }";
    let due = |v: Value| v["organization"]["dashboard"]["documentsDueForReview"].clone();
    assert_eq!(due(t.viewer.ok(dash, json!({ "o": t.id })).await), 1);
    let none = due(t.integration.ok(dash, json!({ "o": t.id })).await);
    assert_eq!(none, 0, "INTEGRATION reads no documents");

    let (tid, viewer) = (&t.id, &t.viewer);
    let list = |filter: Value, order: Value| async move {
        let q = "query($o: ID!, $f: DocumentFilter, $ob: DocumentOrder) { organization(id: $o) { documents(first: 10, filter: $f, orderBy: $ob) { totalCount nodes { title } } } }";
        let data = viewer.ok(q, json!({ "o": tid, "f": filter, "ob": order })).await;
        let docs = &data["organization"]["documents"];
        let titles: Vec<String> = docs["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["title"].as_str().expect("t").to_string())
            .collect();
        (docs["totalCount"].as_i64().expect("count"), titles)
    };
    assert_eq!(list(json!({}), Value::Null).await.1, ["AI policy", "Access control procedure", "Training records"]);
    assert_eq!(list(json!({ "reviewOverdue": true }), Value::Null).await.1, ["Access control procedure"]);
    assert_eq!(list(json!({ "reviewOverdue": false }), Value::Null).await.0, 2);
    assert_eq!(list(json!({ "kind": "RECORD" }), Value::Null).await.1, ["Training records"]);
    assert_eq!(list(json!({ "status": "APPROVED", "standard": "ISO42001" }), Value::Null).await.1, ["AI policy"]);
    assert_eq!(list(json!({ "search": "CISO" }), Value::Null).await.1, ["Access control procedure"]);
    assert_eq!(
        list(json!({}), json!({ "field": "TITLE", "direction": "DESC" })).await.1,
        ["Training records", "Access control procedure", "AI policy"]
    );
    assert_eq!(
        list(json!({}), json!({ "field": "NEXT_REVIEW_ON" })).await.1,
        ["Access control procedure", "AI policy", "Training records"]
    );
    let q = "query($o: ID!, $a: String) { organization(id: $o) { documents(first: 2, after: $a) { nodes { title } pageInfo { hasNextPage endCursor } } } }";
    let p1 = t.viewer.ok(q, json!({ "o": t.id })).await["organization"]["documents"].clone();
    assert_eq!(p1["pageInfo"]["hasNextPage"], true);
    let p2 = t.viewer.ok(q, json!({ "o": t.id, "a": p1["pageInfo"]["endCursor"] })).await["organization"]["documents"]
        .clone();
    assert_eq!(p2["nodes"], json!([{ "title": "Training records" }]));

    // Links to SoA rows of either standard; Control.documents.
    let a51 = o.control_id("ISO27001", "A.5.1").await;
    let b22 = o.control_id("ISO42001", "A.2.2").await;
    for (doc, control) in [(&monthly, &a51), (&ai, &b22), (&ai, &a51)] {
        t.contributor.ok(LINK, json!({ "i": { "documentId": doc, "controlId": control } })).await;
    }
    let again = t.contributor.ok(LINK, json!({ "i": { "documentId": ai, "controlId": b22 } })).await;
    assert_eq!(again["linkDocumentControl"]["document"]["controls"].as_array().map(Vec::len), Some(2));
    let c = t.auditor.node(&a51, "Control", "documents { title }").await;
    assert_eq!(c["documents"], json!([{ "title": "AI policy" }, { "title": "Access control procedure" }]));
    t.contributor.ok(UNLINK, json!({ "i": { "documentId": ai, "controlId": a51 } })).await;
    let c = t.auditor.node(&a51, "Control", "documents { title }").await;
    assert_eq!(c["documents"], json!([{ "title": "Access control procedure" }]));
    // Unlinking what is not linked changes nothing.
    t.contributor.ok(UNLINK, json!({ "i": { "documentId": ai, "controlId": a51 } })).await;
    let h = o.node(&ai, "Document", "history(first: 50) { nodes { action } }").await;
    let updates = h["history"]["nodes"].as_array().expect("h").iter().filter(|n| n["action"] == "UPDATE").count();
    assert!(updates >= 3, "{h}");
}

// ---------------------------------------------------------------------------------------
// Bad input, field by field; another tenant's documents are missing.

async fn document_input_is_checked(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    let base = json!({ "organizationId": t.id, "title": "Policy", "kind": "POLICY", "standards": ["ISO27001"] });
    let bad = |extra: Value, field: &'static str| {
        let mut input = base.clone();
        for (k, v) in extra.as_object().expect("object") {
            input[k] = v.clone();
        }
        async move {
            let body = o.gql(CREATE, json!({ "i": input })).await;
            assert_error(&body, "BAD_USER_INPUT", Some(field));
        }
    };
    let before = app.count("documents").await;
    bad(json!({ "title": "  " }), "title").await;
    bad(json!({ "title": "x".repeat(301) }), "title").await;
    bad(json!({ "level": 5 }), "level").await;
    bad(json!({ "level": 0 }), "level").await;
    bad(json!({ "standards": [] }), "standards").await;
    bad(json!({ "kind": "PROCEDURE", "policyIntegration": "ALIGNED" }), "policyIntegration").await;
    bad(json!({ "reviewIntervalMonths": 0 }), "reviewIntervalMonths").await;
    bad(json!({ "reviewIntervalMonths": 61 }), "reviewIntervalMonths").await;
    bad(json!({ "references": ["ISO27001:99.9"] }), "references").await;
    bad(json!({ "references": ["ISO42001:5.2"] }), "references").await;
    bad(json!({ "references": ["5.2"] }), "references").await;
    bad(json!({ "classification": "x".repeat(101) }), "classification").await;
    assert_eq!(app.count("documents").await, before, "nothing half-written");
    assert_eq!(app.count("document_versions").await, 0);

    let id = create(o, json!({ "references": ["ISO27001:5.2"] })).await["id"].as_str().expect("id").to_string();
    let idr = &id;
    let upd = |input: Value, field: &'static str| async move {
        let mut i = input;
        i["id"] = json!(idr);
        assert_error(&o.gql(UPDATE, json!({ "i": i })).await, "BAD_USER_INPUT", Some(field));
    };
    upd(json!({ "standards": ["ISO42001"] }), "standards").await;
    upd(json!({ "policyIntegration": "INTEGRATED", "kind": "PLAN" }), "policyIntegration").await;
    upd(json!({ "title": "" }), "title").await;
    assert_error(
        &o.gql(UPDATE, json!({ "i": { "id": id, "expectedVersion": 7, "title": "T" } })).await,
        "CONFLICT",
        None,
    );
    let body = o.gql(MOVE, json!({ "i": { "id": id, "to": "IN_REVIEW", "note": "x".repeat(20_001) } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("note"));
    let body = o.gql(LINK, json!({ "i": { "documentId": id, "controlId": "ctl_0000" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("controlId"));

    // Another tenant: its documents are missing, its controls are no controls here.
    let beta = app.tenant("beta").await;
    let bo = &beta.owner;
    assert_eq!(bo.node(&id, "Document", "title").await, Value::Null);
    assert_error(&bo.gql(UPDATE, json!({ "i": { "id": id, "title": "Mine" } })).await, "NOT_FOUND", None);
    assert_error(&move_to(bo, &id, "IN_REVIEW").await, "NOT_FOUND", None);
    assert_error(&bo.gql(REVISE, json!({ "i": { "id": id } })).await, "NOT_FOUND", None);
    let theirs = bo.control_id("ISO27001", "A.5.1").await;
    let body = o.gql(LINK, json!({ "i": { "documentId": id, "controlId": theirs } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("controlId"));
    let mine = o.control_id("ISO27001", "A.5.1").await;
    assert_error(&bo.gql(LINK, json!({ "i": { "documentId": id, "controlId": mine } })).await, "NOT_FOUND", None);
    let body = bo.gql(CREATE, json!({ "i": base })).await;
    assert_error(&body, "NOT_FOUND", None);
    let q = "query($o: ID!) { organization(id: $o) { documents { nodes { id } } } }";
    assert_eq!(bo.ok(q, json!({ "o": t.id })).await["organization"], Value::Null);
}

crate::api_tests!(documents_are_approved_by_someone_else, review_dates_filters_and_links, document_input_is_checked);
