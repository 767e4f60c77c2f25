//! Tenant templates: an OWNER marks an organization as a template; a platform admin
//! creates an organization from it; the copy is complete (risk settings, SoA decisions
//! with justifications and inclusion reasons, custom controls) and isolated (no link, the
//! template's later changes stay there, nobody of one tenant reads the other).

use serde_json::{Value, json};

use crate::support::{TestApp, assert_error};

crate::api_tests!(template_copy_is_complete_and_isolated, only_marked_templates_are_copied);

const CREATE: &str = "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id isTemplate riskSettings { matrixSize } } } }";
const MARK: &str = "mutation($i: SetOrganizationTemplateInput!) { setOrganizationTemplate(input: $i) { organization { id isTemplate } } }";
const CUSTOM: &str = "mutation($i: CreateCustomControlInput!) { createCustomControl(input: $i) { control { id } } }";
const SETTINGS: &str =
    "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { id } } }";
const ROWS: &str = "query($o: ID!) { organization(id: $o) { soa { standard ref decision justification inclusionReasons status owner } } }";

fn row<'v>(soa: &'v Value, standard: &str, r: &str) -> &'v Value {
    soa["organization"]["soa"]
        .as_array()
        .expect("soa")
        .iter()
        .find(|x| x["standard"] == standard && x["ref"] == r)
        .unwrap_or_else(|| panic!("no row {standard} {r}"))
}

async fn template_copy_is_complete_and_isolated(app: &TestApp) {
    let tpl = app.tenant("tpl-base").await;
    let o = &tpl.owner;
    o.ok(SETTINGS, json!({ "i": { "id": tpl.id, "riskSettings": { "matrixSize": 4 } } })).await;
    let a51 = o.control_id("ISO27001", "A.5.1").await;
    o.control(&a51)
        .with(json!({ "decision": "INCLUDED", "justification": "Baseline policy set", "inclusionReasons": ["BEST_PRACTICE"], "status": "IMPLEMENTED", "owner": "Consultant" }))
        .update()
        .await;
    let a22 = o.control_id("ISO42001", "A.2.2").await;
    o.control(&a22).with(json!({ "decision": "EXCLUDED", "justification": "Covered by A.5.1" })).update().await;
    let custom = json!({ "organizationId": tpl.id, "standard": "ISO42001", "ref": "CONS-1", "title": "Model card review", "justification": "Consultancy baseline" });
    o.ok(CUSTOM, json!({ "i": custom })).await;
    let measure = o
        .ok(
            "mutation($i: CreateMeasureInput!) { createMeasure(input: $i) { measure { id } } }",
            json!({ "i": { "organizationId": tpl.id, "title": "Policy set review", "owner": "Consultant", "status": "IMPLEMENTED", "effort": "M" } }),
        )
        .await["createMeasure"]["measure"]["id"]
        .as_str()
        .expect("measure")
        .to_string();
    o.ok(
        "mutation($i: MeasureControlInput!) { linkMeasureControl(input: $i) { measure { id } } }",
        json!({ "i": { "measureId": measure, "controlId": a51 } }),
    )
    .await;
    let marked = o.ok(MARK, json!({ "i": { "id": tpl.id, "isTemplate": true } })).await;
    assert_eq!(marked["setOrganizationTemplate"]["organization"]["isTemplate"], true);

    let admin = app.admin();
    let made = admin
        .ok(CREATE, json!({ "i": { "name": "Client", "slug": "tpl-client", "initialOwner": "owner@tpl-client", "templateId": tpl.id } }))
        .await;
    let org = made["createOrganization"]["organization"].clone();
    assert_eq!(org["isTemplate"], false, "a copy is not a template itself");
    assert_eq!(org["riskSettings"]["matrixSize"], 4);
    let client_id = org["id"].as_str().expect("id").to_string();
    let client = app.user("owner@tpl-client").in_org(&client_id);

    let soa = client.ok(ROWS, json!({ "o": client_id })).await;
    let r = row(&soa, "ISO27001", "A.5.1");
    assert_eq!(r["decision"], "INCLUDED");
    assert_eq!(r["justification"], "Baseline policy set");
    assert_eq!(r["inclusionReasons"], json!(["BEST_PRACTICE"]));
    assert_eq!(
        (r["status"].as_str(), r["owner"].as_str()),
        (Some("NOT_STARTED"), None),
        "implementation is the client's own"
    );
    assert_eq!(row(&soa, "ISO42001", "A.2.2")["decision"], "EXCLUDED");
    let c = row(&soa, "ISO42001", "CONS-1");
    assert_eq!((c["decision"].as_str(), c["justification"].as_str()), (Some("INCLUDED"), Some("Consultancy baseline")));
    assert_eq!(row(&soa, "ISO27001", "A.5.2")["decision"], "UNDECIDED");
    let template_rows = o.ok(ROWS, json!({ "o": tpl.id })).await["organization"]["soa"].as_array().map(Vec::len);
    assert_eq!(soa["organization"]["soa"].as_array().map(Vec::len), template_rows);

    // Measures come as PLANNED work of the client, linked to its own rows.
    let q = "query($o: ID!) { organization(id: $o) { measures(first: 10) { nodes { id title status owner effort controls { id ref } } } } }";
    let measures = client.ok(q, json!({ "o": client_id })).await;
    let nodes = measures["organization"]["measures"]["nodes"].as_array().expect("measures").clone();
    assert_eq!(nodes.len(), 1, "{measures}");
    assert_eq!((nodes[0]["title"].as_str(), nodes[0]["status"].as_str()), (Some("Policy set review"), Some("PLANNED")));
    assert_eq!((nodes[0]["owner"].as_str(), nodes[0]["effort"].as_str()), (None, Some("M")));
    assert_ne!(nodes[0]["id"].as_str(), Some(measure.as_str()));
    assert_eq!(nodes[0]["controls"][0]["ref"], "A.5.1");
    assert_eq!(nodes[0]["controls"][0]["id"], client.control_id("ISO27001", "A.5.1").await.as_str());

    // The copy has its own rows: the template's later changes stay in the template.
    let client_a51 = client.control_id("ISO27001", "A.5.1").await;
    assert_ne!(client_a51, a51);
    o.control(&a51).with(json!({ "justification": "Changed later" })).update().await;
    let soa = client.ok(ROWS, json!({ "o": client_id })).await;
    assert_eq!(row(&soa, "ISO27001", "A.5.1")["justification"], "Baseline policy set");
    // No tenant reads the other.
    let body = client.gql(ROWS, json!({ "o": tpl.id })).await;
    assert_eq!(body["data"]["organization"], Value::Null, "{body}");
    let body = o.gql(ROWS, json!({ "o": client_id })).await;
    assert_eq!(body["data"]["organization"], Value::Null, "{body}");
    let body = client.gql("query($id: ID!) { node(id: $id) { id } }", json!({ "id": a51 })).await;
    assert_eq!(body["data"]["node"], Value::Null);

    // The trail says where the copy came from.
    let q = "query($o: ID!) { organization(id: $o) { changes(first: 10, filter: {entityType: \"Organization\"}) { nodes { changes { field after } } } } }";
    let trail = client.ok(q, json!({ "o": client_id })).await;
    let source = trail["organization"]["changes"]["nodes"]
        .as_array()
        .expect("changes")
        .iter()
        .flat_map(|n| n["changes"].as_array().cloned().unwrap_or_default())
        .find(|c| c["field"] == "copiedFromTemplate")
        .expect("copiedFromTemplate in the trail");
    let after: Value = match &source["after"] {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
        v => v.clone(),
    };
    assert_eq!(after["slug"], "tpl-base", "{source}");
    assert_eq!(after["customControlsCopied"], 1, "{source}");
    assert_eq!(after["decisionsCopied"], 2, "{source}");
    assert_eq!(after["measuresCopied"], 1, "{source}");
}

async fn only_marked_templates_are_copied(app: &TestApp) {
    let plain = app.tenant("tpl-plain").await;
    let other = app.tenant("tpl-other").await;
    let admin = app.admin();
    // Not a template: refused on templateId, nothing created (the slug stays free).
    let input = json!({ "name": "X", "slug": "tpl-x", "templateId": plain.id });
    let body = admin.gql(CREATE, json!({ "i": input })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("templateId"));
    let body = admin.gql(CREATE, json!({ "i": { "name": "X", "slug": "tpl-x", "templateId": "bm9wZQ" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("templateId"));
    admin.ok(CREATE, json!({ "i": { "name": "X", "slug": "tpl-x" } })).await;
    // Only its OWNER marks it; another tenant's owner does not see it.
    let body = plain.manager.gql(MARK, json!({ "i": { "id": plain.id, "isTemplate": true } })).await;
    assert_error(&body, "FORBIDDEN", None);
    let body = other.owner.gql(MARK, json!({ "i": { "id": plain.id, "isTemplate": true } })).await;
    assert_error(&body, "NOT_FOUND", None);
    plain.owner.ok(MARK, json!({ "i": { "id": plain.id, "isTemplate": true } })).await;
    admin.ok(CREATE, json!({ "i": { "name": "Y", "slug": "tpl-y", "templateId": plain.id } })).await;
    // Unmarked again: no more copies; members of a template are not copied.
    plain.owner.ok(MARK, json!({ "i": { "id": plain.id, "isTemplate": false } })).await;
    let body = admin.gql(CREATE, json!({ "i": { "name": "Z", "slug": "tpl-z", "templateId": plain.id } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("templateId"));
    let orgs = plain.owner.ok("{ viewer { memberships { organization { slug } } } }", json!({})).await;
    let slugs: Vec<&str> = orgs["viewer"]["memberships"]
        .as_array()
        .expect("memberships")
        .iter()
        .filter_map(|m| m["organization"]["slug"].as_str())
        .collect();
    assert_eq!(slugs, ["tpl-plain"], "the template's members are not members of the copies");
}
