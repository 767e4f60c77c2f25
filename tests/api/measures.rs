//! Issue 16: shared measures ("implement once, comply twice"), the status they imply for
//! SoA rows of both standards, mapping suggestions, and the risk treatment plan with its
//! approval by the risk owner.

use serde_json::{Value, json};

use crate::api_tests;
use crate::support::{Actor, TestApp, assert_error};

const LINK: &str = "mutation($i: MeasureControlInput!) { linkMeasureControl(input: $i) { measure { id } control { id derivedStatus } } }";
const UNLINK: &str = "mutation($i: MeasureControlInput!) { unlinkMeasureControl(input: $i) { measure { id } } }";
const LINK_RISK: &str = "mutation($i: MeasureRiskInput!) { linkMeasureRisk(input: $i) { measure { id } } }";
const UPDATE: &str = "mutation($i: UpdateMeasureInput!) { updateMeasure(input: $i) { measure { id status version } } }";
const APPROVE: &str = "mutation($i: ApproveTreatmentPlanInput!) { approveTreatmentPlan(input: $i) { approval { id approvedBy onBehalfOf note approvedAt } } }";
const ROW: &str = "status derivedStatus statusMismatch measures { id title }";

async fn row(by: &Actor<'_>, id: &str) -> Value {
    by.node(id, "Control", ROW).await
}

async fn link(by: &Actor<'_>, measure: &str, control: &str) {
    by.ok(LINK, json!({ "i": { "measureId": measure, "controlId": control } })).await;
}

async fn set_status(by: &Actor<'_>, measure: &str, status: &str) {
    by.ok(UPDATE, json!({ "i": { "id": measure, "status": status } })).await;
}

async fn a_measure_moves_the_rows_of_both_standards(app: &TestApp) {
    let t = app.tenant("acme").await;
    let c = &t.contributor;
    let iso27 = c.control_id("ISO27001", "A.5.1").await;
    let iso42 = c.control_id("ISO42001", "A.2.2").await;
    // No measures: nothing derived, no mismatch.
    let r = row(c, &iso27).await;
    assert_eq!(r["derivedStatus"], Value::Null);
    assert_eq!(r["statusMismatch"], false);

    let policy = c.measure().set("title", "Publish the integrated policy").set("owner", "ciso").create().await;
    link(c, &policy, &iso27).await;
    link(c, &policy, &iso42).await;
    // Linking twice changes nothing.
    link(c, &policy, &iso42).await;
    for id in [&iso27, &iso42] {
        let r = row(c, id).await;
        assert_eq!(r["derivedStatus"], "PLANNED", "{r}");
        assert_eq!(r["statusMismatch"], true, "recorded NOT_STARTED, derived PLANNED: {r}");
        assert_eq!(r["measures"].as_array().map(Vec::len), Some(1), "{r}");
    }
    // Recorded once, both standards' rows move.
    set_status(c, &policy, "IMPLEMENTED").await;
    for id in [&iso27, &iso42] {
        assert_eq!(row(c, id).await["derivedStatus"], "IMPLEMENTED");
    }
    // A second measure, only planned: the 27001 row is partly done.
    let training = c.measure().set("title", "Train the staff").set("status", "NOT_STARTED").create().await;
    link(c, &training, &iso27).await;
    assert_eq!(row(c, &iso27).await["derivedStatus"], "PARTIAL");
    assert_eq!(row(c, &iso42).await["derivedStatus"], "IMPLEMENTED");
    // Recording the derived status clears the mismatch.
    c.control(&iso42)
        .set("status", "IMPLEMENTED")
        .set("decision", "INCLUDED")
        .set("justification", "AI policy")
        .update()
        .await;
    assert_eq!(row(c, &iso42).await["statusMismatch"], false);

    let m = t
        .owner
        .node(&policy, "Measure", "title owner status controls { ref standard } history { nodes { action } }")
        .await;
    let refs: Vec<&str> =
        m["controls"].as_array().expect("controls").iter().filter_map(|x| x["ref"].as_str()).collect();
    assert_eq!(refs.len(), 2, "{m}");
    let actions: Vec<&str> =
        m["history"]["nodes"].as_array().expect("history").iter().filter_map(|x| x["action"].as_str()).collect();
    assert!(actions.contains(&"CREATE") && actions.contains(&"UPDATE"), "trail of the measure: {actions:?}");

    // Unlinking and deleting take the measure away from the rows.
    c.ok(UNLINK, json!({ "i": { "measureId": training, "controlId": iso27 } })).await;
    assert_eq!(row(c, &iso27).await["derivedStatus"], "IMPLEMENTED");
    let del = "mutation($i: DeleteMeasureInput!) { deleteMeasure(input: $i) { deletedId } }";
    assert_eq!(c.ok(del, json!({ "i": { "id": policy } })).await["deleteMeasure"]["deletedId"], json!(policy));
    assert_eq!(row(c, &iso27).await["derivedStatus"], Value::Null);

    // Lists: the organization's measures, filtered.
    let q = "query($o: ID!) { organization(id: $o) { measures(filter: {status: NOT_STARTED}) { totalCount nodes { id } } } }";
    let d = c.ok(q, json!({ "o": t.id })).await;
    assert_eq!(d["organization"]["measures"]["totalCount"], 1);
    assert_eq!(d["organization"]["measures"]["nodes"][0]["id"], json!(training));
    // Auditors and viewers read; they do not write.
    assert_eq!(t.auditor.node(&training, "Measure", "title").await["title"], "Train the staff");
    assert_error(
        &t.viewer.gql(UPDATE, json!({ "i": { "id": training, "status": "PLANNED" } })).await,
        "FORBIDDEN",
        None,
    );
}

async fn the_mapping_suggests_measures_for_ai_controls(app: &TestApp) {
    let t = app.tenant("acme").await;
    let m = &t.manager;
    let iso27 = m.control_id("ISO27001", "A.5.1").await;
    let policy = m.measure().set("title", "Information security policy").create().await;
    link(m, &policy, &iso27).await;
    let q = "query($o: ID!) { suggestMeasuresFromMapping(organizationId: $o) { control { id ref standard } via { ref } measures { id } } }";
    let rows = |d: &Value| d["suggestMeasuresFromMapping"].as_array().cloned().expect("suggestions");
    let d = m.ok(q, json!({ "o": t.id })).await;
    let refs: Vec<String> = rows(&d).iter().map(|s| s["control"]["ref"].as_str().unwrap_or("").to_string()).collect();
    // ISO 27001 A.5.1 maps to ISO 42001 A.2.2, A.2.3 and A.2.4 (the seeded catalog).
    for r in ["A.2.2", "A.2.3", "A.2.4"] {
        assert!(refs.iter().any(|x| x == r), "{r} not suggested: {d}");
    }
    for s in rows(&d) {
        assert_eq!(s["control"]["standard"], "ISO42001");
        assert!(s["via"].as_array().expect("via").iter().any(|v| v["ref"] == "A.5.1"), "{s}");
        assert_eq!(s["measures"][0]["id"], json!(policy));
    }
    // Nothing is linked automatically.
    let iso42 = m.control_id("ISO42001", "A.2.2").await;
    assert_eq!(row(m, &iso42).await["derivedStatus"], Value::Null);
    // Accepting one suggestion removes that row from the list; the others stay.
    link(m, &policy, &iso42).await;
    let d = m.ok(q, json!({ "o": t.id })).await;
    let refs: Vec<String> = rows(&d).iter().map(|s| s["control"]["ref"].as_str().unwrap_or("").to_string()).collect();
    assert!(!refs.iter().any(|x| x == "A.2.2") && refs.iter().any(|x| x == "A.2.3"), "{refs:?}");
    // Integration accounts do not read measures; another tenant's organization is missing.
    assert_error(&t.integration.gql(q, json!({ "o": t.id })).await, "FORBIDDEN", None);
    let b = app.tenant("beta").await;
    assert_error(&b.owner.gql(q, json!({ "o": t.id })).await, "NOT_FOUND", None);
}

async fn risk_owners_approve_the_treatment_plan(app: &TestApp) {
    let t = app.tenant("acme").await;
    let (o, c) = (&t.owner, &t.contributor);
    let risk =
        o.risk().set("title", "Model theft").set("treatment", "MITIGATE").set("owner", c.sub.as_str()).create().await;
    let plan =
        "treatmentPlanMissing treatmentPlan { id owner dueOn } treatmentPlanApproval { approvedBy onBehalfOf note }";
    let r = o.node(&risk, "Risk", plan).await;
    assert_eq!(r["treatmentPlanMissing"], true, "{r}");
    // A MITIGATE risk with no measures has no plan to approve.
    assert_error(&c.gql(APPROVE, json!({ "i": { "riskId": risk } })).await, "BAD_USER_INPUT", Some("riskId"));

    let today = chrono::Utc::now().date_naive();
    let late = (today - chrono::Duration::days(3)).to_string();
    let encrypt =
        o.measure().set("title", "Encrypt model weights").set("owner", "ml-lead").set("dueOn", &late).create().await;
    o.ok(LINK_RISK, json!({ "i": { "measureId": encrypt, "riskId": risk } })).await;
    let r = o.node(&risk, "Risk", plan).await;
    assert_eq!(r["treatmentPlanMissing"], false);
    assert_eq!(r["treatmentPlan"][0]["id"], json!(encrypt));
    assert_eq!(r["treatmentPlan"][0]["owner"], "ml-lead");
    assert_eq!(r["treatmentPlanApproval"], Value::Null);

    // The plan across the register, filtered.
    let other = o.measure().set("title", "Not in any plan").create().await;
    let q = "query($o: ID!, $f: MeasureFilter) { organization(id: $o) { treatmentPlan(filter: $f) { totalCount nodes { id overdue risks { id } } } } }";
    let plan_of = |d: &Value| d["organization"]["treatmentPlan"].clone();
    let d = o.ok(q, json!({ "o": t.id, "f": null })).await;
    assert_eq!(plan_of(&d)["totalCount"], 1, "measures outside every plan are left out: {d}");
    assert_eq!(plan_of(&d)["nodes"][0]["risks"][0]["id"], json!(risk));
    assert_eq!(plan_of(&d)["nodes"][0]["overdue"], true);
    for (f, n) in [
        (json!({ "overdue": true }), 1),
        (json!({ "overdue": false }), 0),
        (json!({ "owner": "ml-lead" }), 1),
        (json!({ "owner": "nobody" }), 0),
        (json!({ "status": "IMPLEMENTED" }), 0),
    ] {
        assert_eq!(plan_of(&o.ok(q, json!({ "o": t.id, "f": f })).await)["totalCount"], n, "{f}");
    }
    let _ = other;

    // Another contributor is not the owner: refused. Auditors and viewers: refused.
    let other_contributor = app.user("contributor-2@acme");
    let add = "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }";
    o.ok(add, json!({ "i": { "organizationId": t.id, "subject": other_contributor.sub, "role": "CONTRIBUTOR" } }))
        .await;
    assert_error(&other_contributor.gql(APPROVE, json!({ "i": { "riskId": risk } })).await, "FORBIDDEN", None);
    assert_error(&t.auditor.gql(APPROVE, json!({ "i": { "riskId": risk } })).await, "FORBIDDEN", None);
    assert_error(&t.viewer.gql(APPROVE, json!({ "i": { "riskId": risk } })).await, "FORBIDDEN", None);
    // The owner approves as the owner.
    let a = c.ok(APPROVE, json!({ "i": { "riskId": risk, "note": "Residual risk accepted" } })).await;
    let a = &a["approveTreatmentPlan"]["approval"];
    assert_eq!(a["approvedBy"], json!(c.sub));
    assert_eq!(a["onBehalfOf"], Value::Null);
    assert_eq!(a["note"], "Residual risk accepted");
    // A manager approves for the owner, recorded as such; the newest approval shows.
    let a = t.manager.ok(APPROVE, json!({ "i": { "riskId": risk } })).await;
    assert_eq!(a["approveTreatmentPlan"]["approval"]["onBehalfOf"], json!(c.sub));
    let r = o.node(&risk, "Risk", plan).await;
    assert_eq!(r["treatmentPlanApproval"]["approvedBy"], json!(t.manager.sub));
    assert_eq!(r["treatmentPlanApproval"]["onBehalfOf"], json!(c.sub));
    // In the trail.
    let q = "query($o: ID!) { organization(id: $o) { changes(filter: {entityType: \"TreatmentPlanApproval\"}) { totalCount } } }";
    assert_eq!(o.ok(q, json!({ "o": t.id })).await["organization"]["changes"]["totalCount"], 2);
    // A risk nobody owns: a manager has nobody to approve for.
    let orphan = o.risk().set("owner", Value::Null).set("treatment", "ACCEPT").create().await;
    assert_error(&t.manager.gql(APPROVE, json!({ "i": { "riskId": orphan } })).await, "BAD_USER_INPUT", Some("riskId"));
}

async fn links_stay_inside_the_tenant_and_input_is_checked(app: &TestApp) {
    let t = app.tenant("acme").await;
    let b = app.tenant("beta").await;
    let o = &t.owner;
    let mine = o.measure().create().await;
    let theirs = b.owner.measure().create().await;
    let their_control = b.owner.control_id("ISO27001", "A.5.1").await;
    let their_risk = b.owner.risk().create().await;
    // Another tenant's SoA row or risk is no row of this organization.
    let e = o.gql(LINK, json!({ "i": { "measureId": mine, "controlId": their_control } })).await;
    assert_error(&e, "BAD_USER_INPUT", Some("controlId"));
    let e = o.gql(LINK_RISK, json!({ "i": { "measureId": mine, "riskId": their_risk } })).await;
    assert_error(&e, "BAD_USER_INPUT", Some("riskId"));
    // Another tenant's measure is missing.
    let my_control = o.control_id("ISO27001", "A.5.1").await;
    let e = o.gql(LINK, json!({ "i": { "measureId": theirs, "controlId": my_control } })).await;
    assert_error(&e, "NOT_FOUND", None);
    assert_error(&o.gql(UPDATE, json!({ "i": { "id": theirs, "title": "x" } })).await, "NOT_FOUND", None);
    assert_eq!(
        o.gql("query($id: ID!) { node(id: $id) { id } }", json!({ "id": theirs })).await["data"]["node"],
        Value::Null
    );
    // Bad input, field by field.
    assert_error(&o.measure().set("title", "  ").send().await, "BAD_USER_INPUT", Some("title"));
    assert_error(&o.measure().set("owner", "x".repeat(201)).send().await, "BAD_USER_INPUT", Some("owner"));
    assert_error(&o.gql(UPDATE, json!({ "i": { "id": mine, "title": "" } })).await, "BAD_USER_INPUT", Some("title"));
    let e = o.gql(UPDATE, json!({ "i": { "id": mine, "title": "x", "expectedVersion": 7 } })).await;
    assert_error(&e, "CONFLICT", None);
    let e = o.gql(LINK, json!({ "i": { "measureId": mine, "controlId": mine } })).await;
    assert_error(&e, "BAD_USER_INPUT", Some("controlId"));
    // An excluded row takes no measures.
    let excluded = o.control_id("ISO27001", "A.7.1").await;
    o.control(&excluded).set("decision", "EXCLUDED").set("justification", "No premises").update().await;
    let e = o.gql(LINK, json!({ "i": { "measureId": mine, "controlId": excluded } })).await;
    assert_error(&e, "BAD_USER_INPUT", Some("controlId"));
    let risk = o.risk().create().await;
    let e = o.gql(APPROVE, json!({ "i": { "riskId": risk, "note": "x".repeat(20_001) } })).await;
    assert_error(&e, "BAD_USER_INPUT", Some("note"));
    // A measure's ID where a risk's belongs: no such risk.
    let e = o.gql(APPROVE, json!({ "i": { "riskId": mine } })).await;
    assert_error(&e, "NOT_FOUND", None);
}

api_tests!(
    a_measure_moves_the_rows_of_both_standards,
    the_mapping_suggests_measures_for_ai_controls,
    risk_owners_approve_the_treatment_plan,
    links_stay_inside_the_tenant_and_input_is_checked,
);
