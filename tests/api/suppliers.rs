//! Issue 15, suppliers (ISO 27001 A.5.19-A.5.23; ISO 42001 A.10.2-A.10.3): the register,
//! assessments and the activation rule, links to risks, AI systems and SoA rows (never
//! another tenant's), deletion refused while referenced, roles, and the dashboard, through
//! the API on both databases.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::support::{Actor, TestApp, assert_error};

const CREATE: &str =
    "mutation($i: CreateSupplierInput!) { createSupplier(input: $i) { supplier { id status version } } }";
const UPDATE: &str = "mutation($i: UpdateSupplierInput!) { updateSupplier(input: $i) { supplier { id status criticality version risks { id } aiSystems { id } controls { id } } } }";
const DELETE: &str = "mutation($i: DeleteSupplierInput!) { deleteSupplier(input: $i) { deletedId } }";
const ASSESS: &str = "mutation($i: AddSupplierAssessmentInput!) { addSupplierAssessment(input: $i) { supplierAssessment { id result supplier { id latestAssessmentResult nextAssessmentDue assessmentOverdue } } } }";

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

fn create_input(org: &str, extra: Value) -> Value {
    let mut i = json!({ "organizationId": org, "name": format!("Supplier {}", crate::builders::serial()), "criticality": "HIGH" });
    for (k, v) in extra.as_object().expect("object") {
        i[k] = v.clone();
    }
    i
}

async fn create(by: &Actor<'_>, extra: Value) -> String {
    let data = by.ok(CREATE, json!({ "i": create_input(by.org(), extra) })).await;
    data["createSupplier"]["supplier"]["id"].as_str().expect("id").to_string()
}

async fn assess(by: &Actor<'_>, supplier: &str, result: &str, assessed: i64, next: Option<i64>) -> Value {
    let mut i =
        json!({ "supplierId": supplier, "assessedOn": day(assessed), "assessor": "vendor.risk", "result": result });
    if result == "CONDITIONAL" {
        i["conditions"] = json!("SOC 2 report within 90 days");
    }
    if let Some(n) = next {
        i["nextReviewOn"] = json!(day(n));
    }
    by.gql(ASSESS, json!({ "i": i })).await
}

async fn activate(by: &Actor<'_>, id: &str) -> Value {
    by.gql(UPDATE, json!({ "i": { "id": id, "status": "ACTIVE" } })).await
}

// ---------------------------------------------------------------------------------------

async fn critical_suppliers_need_a_passing_latest_assessment(app: &TestApp) {
    let t = app.tenant("acme").await;
    let (c, o) = (&t.contributor, &t.owner);
    // ACTIVE at creation is refused for HIGH and CRITICAL (no assessment yet).
    let body = c.gql(CREATE, json!({ "i": create_input(&t.id, json!({ "status": "ACTIVE" })) })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("status"));
    // LOW may be ACTIVE at once.
    let low =
        c.ok(CREATE, json!({ "i": create_input(&t.id, json!({ "criticality": "LOW", "status": "ACTIVE" })) })).await;
    assert_eq!(low["createSupplier"]["supplier"]["status"], "ACTIVE");

    let id = create(c, json!({ "criticality": "CRITICAL" })).await;
    assert_error(&activate(c, &id).await, "BAD_USER_INPUT", Some("status"));
    let body = assess(c, &id, "REJECTED", -10, None).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_error(&activate(c, &id).await, "BAD_USER_INPUT", Some("status"));
    // An older approval does not count: the latest is REJECTED.
    assess(c, &id, "APPROVED", -20, Some(300)).await;
    assert_error(&activate(c, &id).await, "BAD_USER_INPUT", Some("status"));
    let s = o.node(&id, "Supplier", "status latestAssessmentResult assessments { result assessedOn }").await;
    assert_eq!(s["status"], "PROSPECT");
    assert_eq!(s["latestAssessmentResult"], "REJECTED");
    assert_eq!(s["assessments"].as_array().expect("list").len(), 2);
    assert_eq!(s["assessments"][0]["result"], "APPROVED", "oldest first");
    // A newer conditional approval lets it become ACTIVE.
    let body = assess(c, &id, "CONDITIONAL", -1, Some(180)).await;
    let sup = &body["data"]["addSupplierAssessment"]["supplierAssessment"]["supplier"];
    assert_eq!(sup["latestAssessmentResult"], "CONDITIONAL");
    assert_eq!(sup["nextAssessmentDue"], json!(day(180)));
    assert_eq!(sup["assessmentOverdue"], false);
    let body = activate(c, &id).await;
    assert_eq!(body["data"]["updateSupplier"]["supplier"]["status"], "ACTIVE", "{body:#}");
    // A MEDIUM supplier raised to HIGH while becoming ACTIVE is checked at the new level.
    let m = create(c, json!({ "criticality": "MEDIUM" })).await;
    let body = c.gql(UPDATE, json!({ "i": { "id": m, "criticality": "HIGH", "status": "ACTIVE" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("status"));

    // Assessment input.
    for (i, field) in [
        (json!({ "supplierId": id, "assessedOn": day(1), "assessor": "a", "result": "APPROVED" }), "assessedOn"),
        (json!({ "supplierId": id, "assessedOn": day(0), "assessor": " ", "result": "APPROVED" }), "assessor"),
        (json!({ "supplierId": id, "assessedOn": day(0), "assessor": "a", "result": "CONDITIONAL" }), "conditions"),
        (
            json!({ "supplierId": id, "assessedOn": day(0), "assessor": "a", "result": "APPROVED", "nextReviewOn": day(0) }),
            "nextReviewOn",
        ),
        (
            json!({ "supplierId": "nonsense", "assessedOn": day(0), "assessor": "a", "result": "APPROVED" }),
            "supplierId",
        ),
    ] {
        assert_error(&c.gql(ASSESS, json!({ "i": i })).await, "BAD_USER_INPUT", Some(field));
    }
    // Supplier input.
    for (extra, field) in [(json!({ "name": " " }), "name"), (json!({ "riskIds": ["nonsense"] }), "riskIds")] {
        assert_error(&c.gql(CREATE, json!({ "i": create_input(&t.id, extra) })).await, "BAD_USER_INPUT", Some(field));
    }
    let body = c.gql(CREATE, json!({ "i": create_input(&t.id, json!({ "name": "Dup" })) })).await;
    assert!(body.get("errors").is_none());
    assert_error(&c.gql(CREATE, json!({ "i": create_input(&t.id, json!({ "name": "Dup" })) })).await, "CONFLICT", None);
}

async fn links_deletion_roles_and_tenants(app: &TestApp) {
    let t = app.tenant("acme").await;
    let beta = app.tenant("beta").await;
    let o = &t.owner;
    let risk = o.risk().create().await;
    let ai = o.ai_system().create().await;
    let ctl = o.control_id("ISO42001", "A.10.3").await;
    let id = create(o, json!({ "providesAi": true, "aiComponents": ["LLM API", "LLM API", "embeddings"], "riskIds": [risk, risk], "aiSystemIds": [ai], "controlIds": [ctl] })).await;
    let s = o.node(&id, "Supplier", "providesAi aiComponents risks { id } aiSystems { id } controls { id ref }").await;
    assert_eq!(s["aiComponents"], json!(["LLM API", "embeddings"]));
    assert_eq!(s["risks"], json!([{ "id": risk }]));
    assert_eq!(s["aiSystems"], json!([{ "id": ai }]));
    assert_eq!(s["controls"], json!([{ "id": ctl, "ref": "A.10.3" }]));
    // Another tenant's objects are never linked.
    let their_risk = beta.owner.risk().create().await;
    let their_ai = beta.owner.ai_system().create().await;
    let their_ctl = beta.owner.control_id("ISO27001", "A.5.19").await;
    for (field, v) in [("riskIds", &their_risk), ("aiSystemIds", &their_ai), ("controlIds", &their_ctl)] {
        let body = o.gql(UPDATE, json!({ "i": { "id": id, field: [v] } })).await;
        assert_error(&body, "BAD_USER_INPUT", Some(field));
    }
    // Replacing and clearing links.
    let data = o.ok(UPDATE, json!({ "i": { "id": id, "riskIds": [], "controlIds": [ctl] } })).await;
    let sup = &data["updateSupplier"]["supplier"];
    assert_eq!(sup["risks"], json!([]));
    assert_eq!(sup["aiSystems"], json!([{ "id": ai }]));
    // Deleting the AI system removes its supplier link.
    let del_ai = "mutation($i: DeleteAiSystemInput!) { deleteAiSystem(input: $i) { deletedId } }";
    o.ok(del_ai, json!({ "i": { "id": ai } })).await;
    assert_eq!(o.node(&id, "Supplier", "aiSystems { id }").await["aiSystems"], json!([]));

    // An incident names the supplier: delete refused; so is one with assessments.
    let inc = "mutation($i: ReportIncidentInput!) { reportIncident(input: $i) { incident { id supplier { id } } } }";
    let body = o
        .ok(inc, json!({ "i": { "organizationId": t.id, "title": "API key leak", "kind": "SECURITY", "severity": "HIGH", "supplierId": id } }))
        .await;
    assert_eq!(body["reportIncident"]["incident"]["supplier"]["id"], json!(id));
    assert_error(&o.gql(DELETE, json!({ "i": { "id": id } })).await, "CONFLICT", None);
    let body = o
        .gql(inc, json!({ "i": { "organizationId": t.id, "title": "x", "kind": "SECURITY", "severity": "LOW", "supplierId": beta.owner.ok(CREATE, json!({ "i": create_input(&beta.id, json!({})) })).await["createSupplier"]["supplier"]["id"] } }))
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("supplierId"));
    let assessed = create(o, json!({})).await;
    assess(o, &assessed, "APPROVED", 0, None).await;
    assert_error(&o.gql(DELETE, json!({ "i": { "id": assessed } })).await, "CONFLICT", None);
    // An unreferenced one goes, with its links.
    let free = create(o, json!({ "controlIds": [ctl] })).await;
    let data = o.ok(DELETE, json!({ "i": { "id": free } })).await;
    assert_eq!(data["deleteSupplier"]["deletedId"], json!(free));
    assert_eq!(app.count("supplier_controls").await, 1);

    // Roles: OWNER, MANAGER, CONTRIBUTOR write; everyone reads.
    for who in t.members() {
        let body = who.gql(CREATE, json!({ "i": create_input(&t.id, json!({})) })).await;
        let writes = ["owner", "manager", "contributor"].iter().any(|r| who.sub.starts_with(r));
        if writes {
            assert!(body.get("errors").is_none(), "{} {body:#}", who.sub);
        } else {
            assert_error(&body, "FORBIDDEN", None);
            assert_error(&assess(who, &id, "APPROVED", 0, None).await, "FORBIDDEN", None);
        }
        let read = who.node(&id, "Supplier", "name").await;
        assert!(read["name"].is_string(), "{} {read}", who.sub);
    }
    // Other tenant: missing, for every verb.
    let b = &beta.owner;
    assert_error(&b.gql(UPDATE, json!({ "i": { "id": id, "name": "x" } })).await, "NOT_FOUND", None);
    assert_error(&b.gql(DELETE, json!({ "i": { "id": id } })).await, "NOT_FOUND", None);
    assert_error(&assess(b, &id, "APPROVED", 0, None).await, "NOT_FOUND", None);
    let body = b.gql("query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
    assert_eq!(body["data"]["node"], Value::Null);
    // The trail has the supplier's changes.
    let h = o.node(&id, "Supplier", "history(first: 50) { totalCount }").await;
    assert!(h["history"]["totalCount"].as_i64().expect("count") >= 3, "{h}");
}

async fn dashboard_counts_overdue_and_unapproved_ai_suppliers(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    // Overdue: next review yesterday.
    let a = create(o, json!({ "criticality": "LOW" })).await;
    assess(o, &a, "APPROVED", -400, Some(-1)).await;
    // Not overdue: due today; and an OFFBOARDED overdue one.
    let b = create(o, json!({ "criticality": "LOW" })).await;
    assess(o, &b, "APPROVED", -365, Some(0)).await;
    let c = create(o, json!({ "criticality": "LOW" })).await;
    assess(o, &c, "APPROVED", -400, Some(-5)).await;
    o.ok(UPDATE, json!({ "i": { "id": c, "status": "OFFBOARDED" } })).await;
    // AI suppliers: none assessed, one CONDITIONAL, one APPROVED (not counted).
    create(o, json!({ "providesAi": true })).await;
    let cond = create(o, json!({ "providesAi": true })).await;
    assess(o, &cond, "CONDITIONAL", -2, Some(100)).await;
    let ok = create(o, json!({ "providesAi": true })).await;
    assess(o, &ok, "APPROVED", -2, Some(100)).await;
    // Another tenant never counts.
    let beta = app.tenant("beta").await;
    create(&beta.owner, json!({ "providesAi": true })).await;

    let q = "query($o: ID!) { organization(id: $o) { dashboard { supplierAssessmentsOverdue aiSuppliersWithoutApprovedAssessment } suppliers(first: 50, filter: {assessmentOverdue: true}) { totalCount nodes { id assessmentOverdue } } } }";
    for who in t.members() {
        let data = who.ok(q, json!({ "o": t.id })).await;
        let d = &data["organization"]["dashboard"];
        assert_eq!(d["supplierAssessmentsOverdue"], 1, "{d}");
        assert_eq!(d["aiSuppliersWithoutApprovedAssessment"], 2, "{d}");
        assert_eq!(data["organization"]["suppliers"]["nodes"], json!([{ "id": a, "assessmentOverdue": true }]));
    }
}

crate::api_tests!(
    critical_suppliers_need_a_passing_latest_assessment,
    links_deletion_roles_and_tenants,
    dashboard_counts_overdue_and_unapproved_ai_suppliers,
);
