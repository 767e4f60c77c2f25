//! Issue 14: the context of the organization (ISO 27001 / 42001 4.1) through the API on
//! both databases: context issues with their risks (6.1.1), bad input per field, links
//! across tenants refused, roles.

use serde_json::{Value, json};

use crate::support::{TestApp, assert_error};

const CREATE: &str = "mutation($i: CreateContextIssueInput!) { createContextIssue(input: $i) { contextIssue { id title kind category standards reviewedOn version risks { id } } } }";
const UPDATE: &str = "mutation($i: UpdateContextIssueInput!) { updateContextIssue(input: $i) { contextIssue { id title description reviewedOn version risks { id } } } }";
const DELETE: &str = "mutation($i: DeleteContextIssueInput!) { deleteContextIssue(input: $i) { deletedId } }";

fn issue(org: &str) -> Value {
    json!({ "organizationId": org, "title": "EU AI Act obligations for high-risk systems", "kind": "EXTERNAL", "category": "LEGAL", "standards": ["ISO42001"] })
}

async fn context_issues_with_risks(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    let r1 = o.risk().create().await;
    let r2 = o.risk().create().await;
    let mut input = issue(&t.id);
    input["riskIds"] = json!([r1, r1]);
    input["reviewedOn"] = json!("2026-11-30");
    let created = o.ok(CREATE, json!({ "i": input })).await["createContextIssue"]["contextIssue"].clone();
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["kind"], "EXTERNAL");
    assert_eq!(created["category"], "LEGAL");
    assert_eq!(created["risks"], json!([{ "id": r1 }]));
    // The risk knows the issue it arises from.
    let risk = o.node(&r1, "Risk", "contextIssues { id title }").await;
    assert_eq!(risk["contextIssues"][0]["id"], json!(id));

    // Replace the links, clear the description and review day.
    let body = o
        .ok(UPDATE, json!({ "i": { "id": id, "riskIds": [r2], "description": null, "reviewedOn": null, "expectedVersion": 1 } }))
        .await;
    let after = &body["updateContextIssue"]["contextIssue"];
    assert_eq!(after["risks"], json!([{ "id": r2 }]));
    assert_eq!(after["version"], 2);
    assert_eq!(after["reviewedOn"], Value::Null);
    assert_eq!(o.node(&r1, "Risk", "contextIssues { id }").await["contextIssues"], json!([]));
    let stale = o.gql(UPDATE, json!({ "i": { "id": id, "title": "x", "expectedVersion": 1 } })).await;
    assert_error(&stale, "CONFLICT", None);

    // Filter and list.
    let mut internal = issue(&t.id);
    internal["kind"] = json!("INTERNAL");
    internal["category"] = json!("ETHICAL");
    internal["title"] = json!("Staff unsure how to use generative AI");
    o.ok(CREATE, json!({ "i": internal })).await;
    let q = "query($o: ID!) { organization(id: $o) { all: contextIssues { totalCount } ext: contextIssues(filter: {kind: EXTERNAL}) { nodes { id } } eth: contextIssues(filter: {category: ETHICAL}) { nodes { title } } } }";
    let lists = t.viewer.ok(q, json!({ "o": t.id })).await;
    assert_eq!(lists["organization"]["all"]["totalCount"], 2);
    assert_eq!(lists["organization"]["ext"]["nodes"], json!([{ "id": id }]));
    assert_eq!(lists["organization"]["eth"]["nodes"][0]["title"], "Staff unsure how to use generative AI");

    // Deleting the risk drops the link; deleting the issue leaves the risks.
    let del_risk = "mutation($i: DeleteRiskInput!) { deleteRisk(input: $i) { deletedId } }";
    o.ok(del_risk, json!({ "i": { "id": r2 } })).await;
    assert_eq!(o.node(&id, "ContextIssue", "risks { id }").await["risks"], json!([]));
    o.ok(UPDATE, json!({ "i": { "id": id, "riskIds": [r1] } })).await;
    let h = o.node(&id, "ContextIssue", "history(first: 10) { totalCount }").await;
    assert_eq!(h["history"]["totalCount"], 3, "{h:#}");
    assert_eq!(o.ok(DELETE, json!({ "i": { "id": id } })).await["deleteContextIssue"]["deletedId"], json!(id));
    assert!(o.node(&r1, "Risk", "title").await["title"].is_string());
    assert_eq!(app.count("context_issue_risks").await, 0);
}

async fn context_issues_refuse_bad_input(app: &TestApp) {
    let t = app.tenant("acme").await;
    let b = app.tenant("beta").await;
    let o = &t.owner;
    let foreign = b.owner.risk().create().await;
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    for (field, value, expect) in [
        ("title", json!(" "), Some("title")),
        ("standards", json!([]), Some("standards")),
        ("reviewedOn", json!(tomorrow), Some("reviewedOn")),
        // Another tenant's risk is no risk of this organization.
        ("riskIds", json!([foreign]), Some("riskIds")),
        ("riskIds", json!(["not-an-id"]), Some("riskIds")),
        ("kind", json!("OUTSIDE"), None),
        ("category", json!("FINANCIAL"), None),
        ("reviewedOn", json!("30/11/2026"), None),
    ] {
        let mut input = issue(&t.id);
        input[field] = value;
        assert_error(&o.gql(CREATE, json!({ "i": input })).await, "BAD_USER_INPUT", expect);
    }
    assert_eq!(app.count("context_issues").await, 0, "nothing half-written");
    let id = o.ok(CREATE, json!({ "i": issue(&t.id) })).await["createContextIssue"]["contextIssue"]["id"].clone();
    for (input, expect) in [
        (json!({ "title": "" }), Some("title")),
        (json!({ "riskIds": [foreign] }), Some("riskIds")),
        (json!({ "standards": [] }), Some("standards")),
        (json!({ "category": "NOPE" }), None),
    ] {
        let mut i = input;
        i["id"] = id.clone();
        assert_error(&o.gql(UPDATE, json!({ "i": i })).await, "BAD_USER_INPUT", expect);
    }
}

async fn context_issue_roles_and_tenants(app: &TestApp) {
    let t = app.tenant("acme").await;
    let b = app.tenant("beta").await;
    for who in [&t.owner, &t.manager, &t.contributor] {
        assert!(who.gql(CREATE, json!({ "i": issue(&t.id) })).await.get("errors").is_none());
    }
    for who in [&t.auditor, &t.viewer, &t.integration] {
        assert_error(&who.gql(CREATE, json!({ "i": issue(&t.id) })).await, "FORBIDDEN", None);
    }
    let id = t.owner.ok(CREATE, json!({ "i": issue(&t.id) })).await["createContextIssue"]["contextIssue"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(t.integration.node(&id, "ContextIssue", "title viewerCanUpdate").await["viewerCanUpdate"], false);
    for who in b.members() {
        assert_eq!(who.node(&id, "ContextIssue", "title").await, Value::Null);
        assert_error(&who.gql(UPDATE, json!({ "i": { "id": id, "title": "x" } })).await, "NOT_FOUND", None);
        assert_error(&who.gql(DELETE, json!({ "i": { "id": id } })).await, "NOT_FOUND", None);
    }
    assert_error(&b.owner.gql(CREATE, json!({ "i": issue(&t.id) })).await, "NOT_FOUND", None);
}

crate::api_tests!(context_issues_with_risks, context_issues_refuse_bad_input, context_issue_roles_and_tenants);
