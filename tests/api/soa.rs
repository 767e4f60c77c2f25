//! Catalogs, the integrated Statement of Applicability, mapping, gap analysis, exports.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::support::{Role, TestApp, assert_error};

fn reference() -> Value {
    let raw = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/migration/data/iso-catalogs.json"))
        .expect("reference catalog");
    serde_json::from_str(&raw).expect("json")
}

/// The SoA row id of `standard:ref` in `org`.
pub async fn control_id(app: &TestApp, token: &str, org: &str, standard: &str, reference: &str) -> String {
    let data = app
        .ok(
            token,
            "query($o: ID!, $s: StandardCode!, $q: String!) { organization(id: $o) { controls(first: 100, filter: {standard: $s, search: $q}) { nodes { id ref } } } }",
            json!({ "o": org, "s": standard, "q": reference }),
        )
        .await;
    data["organization"]["controls"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["ref"] == reference)
        .and_then(|n| n["id"].as_str())
        .unwrap_or_else(|| panic!("no SoA row {standard}:{reference}"))
        .to_string()
}

const UPDATE: &str = "mutation($i: UpdateControlInput!) { updateControl(input: $i) { control { id applicable justification status version inclusionReasons owner evidence { title url } } } }";

async fn catalog_matches_the_reference(app: &TestApp) {
    let r = reference();
    let data = app
        .ok(
            &app.token("anyone"),
            "{ standards { code edition title clauses { ref title parentRef } controls { ref title group groupRef subgroupRef aiSpecific mappings { standard ref source strength sharedScfControls via { id name } } } groups { ref title count } } }",
            json!({}),
        )
        .await;
    let standards = data["standards"].as_array().expect("standards");
    assert_eq!(standards.len(), 2);
    let mut mapping_rows = 0;
    let mut ai_specific = BTreeSet::new();
    for (s, rs) in standards.iter().zip(r["standards"].as_array().expect("ref standards")) {
        assert_eq!(s["code"], rs["code"]);
        assert_eq!(s["edition"], rs["edition"]);
        assert_eq!(s["title"], rs["title"]);
        let clauses: Vec<(Value, Value, Value)> = s["clauses"]
            .as_array()
            .expect("clauses")
            .iter()
            .map(|c| (c["ref"].clone(), c["title"].clone(), c["parentRef"].clone()))
            .collect();
        let expected: Vec<(Value, Value, Value)> = rs["clauses"]
            .as_array()
            .expect("ref clauses")
            .iter()
            .map(|c| (c["ref"].clone(), c["title"].clone(), c["parent"].clone()))
            .collect();
        assert_eq!(clauses, expected, "{} clauses", s["code"]);
        let controls = s["controls"].as_array().expect("controls");
        let expected = rs["annexA"].as_array().expect("annexA");
        assert_eq!(controls.len(), expected.len());
        for (c, e) in controls.iter().zip(expected) {
            assert_eq!(
                (&c["ref"], &c["title"], &c["group"], &c["groupRef"]),
                (&e["ref"], &e["title"], &e["group"], &e["groupRef"])
            );
            assert_eq!(c["subgroupRef"], e.get("subgroupRef").cloned().unwrap_or(Value::Null));
            if c["aiSpecific"] == true {
                ai_specific.insert(c["ref"].as_str().expect("ref").to_string());
            }
            if s["code"] == "ISO27001" {
                mapping_rows += c["mappings"].as_array().expect("mappings").len();
            }
        }
        let groups: Vec<(Value, i64)> = s["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| (g["ref"].clone(), g["count"].as_i64().unwrap_or(0)))
            .collect();
        let expected: Vec<(Value, i64)> = rs["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| (g["ref"].clone(), g["count"].as_i64().unwrap_or(0)))
            .collect();
        assert_eq!(groups, expected);
    }
    // 93 + 38 controls, 41 + 43 clause entries, every mapping row kept with its source.
    assert_eq!(standards[0]["controls"].as_array().map(Vec::len), Some(93));
    assert_eq!(standards[1]["controls"].as_array().map(Vec::len), Some(38));
    assert_eq!(standards[0]["clauses"].as_array().map(Vec::len), Some(41));
    assert_eq!(standards[1]["clauses"].as_array().map(Vec::len), Some(43));
    assert_eq!(mapping_rows, r["mappings"].as_array().expect("mappings").len());
    let a51 = standards[0]["controls"].as_array().expect("c").iter().find(|c| c["ref"] == "A.5.1").expect("A.5.1");
    let first = &a51["mappings"][0];
    assert_eq!((&first["standard"], &first["ref"]), (&json!("ISO42001"), &json!("A.2.2")));
    assert_eq!(first["source"], "SCF-2025.2.2-transitive");
    assert_eq!(first["via"][0]["id"], "GOV-02");
    // Curated rows keep their provenance and are marked as such.
    let a63 = standards[0]["controls"].as_array().expect("c").iter().find(|c| c["ref"] == "A.6.3").expect("A.6.3");
    assert!(a63["mappings"].as_array().expect("m").iter().any(|m| m["strength"] == "CURATED" && m["ref"] == "A.4.6"));
    // AI-specific: objectives A.5, A.7, A.8 plus every 42001 control without a mapping row.
    let mapped: BTreeSet<String> = r["mappings"]
        .as_array()
        .expect("m")
        .iter()
        .map(|m| m["to"].as_str().expect("to").trim_start_matches("ISO42001:").to_string())
        .collect();
    let expected: BTreeSet<String> = r["standards"][1]["annexA"]
        .as_array()
        .expect("a")
        .iter()
        .filter(|c| {
            ["A.5", "A.7", "A.8"].contains(&c["groupRef"].as_str().unwrap_or(""))
                || !mapped.contains(c["ref"].as_str().unwrap_or(""))
        })
        .map(|c| c["ref"].as_str().expect("ref").to_string())
        .collect();
    assert_eq!(ai_specific, expected);
    assert!(ai_specific.contains("A.5.2") && ai_specific.contains("A.7.4") && !ai_specific.contains("A.2.2"));
    // Refs collide across standards and stay apart.
    let one = app
        .ok(
            &app.token("anyone"),
            "{ standard(code: ISO42001) { controls(groupRef: \"A.5\") { ref title } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        one["standard"]["controls"][0],
        json!({ "ref": "A.5.2", "title": "AI system impact assessment process" })
    );
}

async fn soa_is_created_with_the_organization(app: &TestApp) {
    let org = app.org("acme", &[("v", "VIEWER")]).await;
    let token = app.token("v");
    let data = app
        .ok(
            &token,
            "query($o: ID!) { organization(id: $o) { all: controls { totalCount } iso27001: controls(filter: {standard: ISO27001}) { totalCount } iso42001: controls(filter: {standard: ISO42001}) { totalCount } started: controls(filter: {status: NOT_STARTED, decision: UNDECIDED}) { totalCount } aiSpecific: controls(filter: {aiSpecific: true}) { totalCount } a5: controls(filter: {group: \"A.5\", standard: ISO27001}) { totalCount } clauseAssessments { totalCount } leaves: clauseAssessments(filter: {leavesOnly: true, status: NOT_ADDRESSED}) { totalCount } } }",
            json!({ "o": org }),
        )
        .await;
    let o = &data["organization"];
    assert_eq!(o["all"]["totalCount"], 131);
    assert_eq!(o["iso27001"]["totalCount"], 93);
    assert_eq!(o["iso42001"]["totalCount"], 38);
    assert_eq!(o["started"]["totalCount"], 131);
    assert_eq!(o["aiSpecific"]["totalCount"], 18);
    assert_eq!(o["a5"]["totalCount"], 37);
    assert_eq!(o["clauseAssessments"]["totalCount"], 84);
    assert!(o["leaves"]["totalCount"].as_i64().unwrap_or(0) > 50);
    // Another organization gets its own 131 rows.
    app.org("beta", &[]).await;
    assert_eq!(app.count("controls").await, 262);
}

async fn walk_the_soa_page_by_page(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER")]).await;
    let token = app.token("m");
    for (order, expected_first) in [("{field: REF, direction: ASC}", "A.5.1"), ("{field: TITLE, direction: DESC}", "")]
    {
        let mut after = Value::Null;
        let mut seen = Vec::new();
        let mut titles = Vec::new();
        loop {
            let q = format!(
                "query($o: ID!, $after: String) {{ organization(id: $o) {{ controls(first: 40, after: $after, orderBy: {order}) {{ edges {{ cursor node {{ id ref standard title }} }} pageInfo {{ hasNextPage hasPreviousPage endCursor }} }} }} }}"
            );
            let data = app.ok(&token, &q, json!({ "o": org, "after": after })).await;
            let c = &data["organization"]["controls"];
            assert_eq!(c["pageInfo"]["hasPreviousPage"], !after.is_null());
            for e in c["edges"].as_array().expect("edges") {
                seen.push(e["node"]["id"].as_str().expect("id").to_string());
                titles.push(e["node"]["title"].as_str().expect("title").to_string());
            }
            if c["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = c["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen.len(), 131, "{order}");
        assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 131, "{order}: each row once");
        if !expected_first.is_empty() {
            let data = app
                .ok(
                    &token,
                    "query($o: ID!) { organization(id: $o) { controls(first: 1) { nodes { ref standard } } } }",
                    json!({ "o": org }),
                )
                .await;
            assert_eq!(
                data["organization"]["controls"]["nodes"][0],
                json!({ "ref": expected_first, "standard": "ISO27001" })
            );
        } else {
            let mut sorted = titles.clone();
            sorted.sort_by(|a, b| b.cmp(a));
            assert_eq!(titles, sorted, "title order, descending");
        }
    }
    // A cursor of one order is refused by another.
    let data = app
        .ok(
            &token,
            "query($o: ID!) { organization(id: $o) { controls(first: 1) { pageInfo { endCursor } } } }",
            json!({ "o": org }),
        )
        .await;
    let cursor = data["organization"]["controls"]["pageInfo"]["endCursor"].clone();
    let body = app
        .gql(&token, "query($o: ID!, $a: String) { organization(id: $o) { controls(first: 1, after: $a, orderBy: {field: TITLE}) { totalCount } } }", json!({ "o": org, "a": cursor }))
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("after"));
}

async fn exclusion_rules_and_versions(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER")]).await;
    let token = app.token("m");
    let id = control_id(app, &token, &org, "ISO27001", "A.7.1").await;
    let changes_before = app.count("changes").await;

    // ISO 27001 6.1.3 d: no exclusion without a justification.
    for justification in [Value::Null, json!("   ")] {
        let body = app
            .gql(&token, UPDATE, json!({ "i": { "id": id, "applicable": false, "justification": justification } }))
            .await;
        assert_error(&body, "BAD_USER_INPUT", Some("justification"));
    }
    let rows = app.sql("SELECT decision, version FROM controls WHERE ref = 'A.7.1' AND standard = 'ISO27001'").await;
    assert_eq!(rows, vec![vec![json!("UNDECIDED"), json!(1)]], "nothing written");
    assert_eq!(app.count("changes").await, changes_before, "no trail row for a refused change");

    let data = app
        .ok(&token, UPDATE, json!({ "i": { "id": id, "applicable": false, "justification": "Fully remote company: no physical perimeter.", "expectedVersion": 1 } }))
        .await;
    let c = &data["updateControl"]["control"];
    assert_eq!((c["applicable"].clone(), c["version"].clone()), (json!(false), json!(2)));
    // An excluded control cannot be IMPLEMENTED.
    let body = app.gql(&token, UPDATE, json!({ "i": { "id": id, "status": "IMPLEMENTED" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("status"));
    // Clearing the justification of an excluded control is an exclusion without one.
    let body = app.gql(&token, UPDATE, json!({ "i": { "id": id, "justification": "" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("justification"));
    // Stale version.
    let body = app.gql(&token, UPDATE, json!({ "i": { "id": id, "applicable": true, "expectedVersion": 1 } })).await;
    assert_error(&body, "CONFLICT", None);
    // Evidence must be http(s).
    let body = app
        .gql(&token, UPDATE, json!({ "i": { "id": id, "evidence": [{ "title": "x", "url": "javascript:alert(1)" }] } }))
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("evidence"));
    // Re-include with reasons, owner, evidence; implement.
    let data = app
        .ok(
            &token,
            UPDATE,
            json!({ "i": { "id": id, "applicable": true, "status": "IMPLEMENTED", "inclusionReasons": ["RISK_TREATMENT", "CONTRACTUAL", "RISK_TREATMENT"], "owner": "facilities", "evidence": [{ "title": "Badge policy", "url": "https://wiki.example/badges" }], "expectedVersion": 2 } }),
        )
        .await;
    let c = &data["updateControl"]["control"];
    assert_eq!(c["status"], "IMPLEMENTED");
    assert_eq!(c["inclusionReasons"], json!(["RISK_TREATMENT", "CONTRACTUAL"]));
    assert_eq!(c["evidence"], json!([{ "title": "Badge policy", "url": "https://wiki.example/badges" }]));
    assert_eq!(c["version"], 3);
    // Catalog titles are the standard's.
    let body = app.gql(&token, UPDATE, json!({ "i": { "id": id, "title": "Renamed" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("title"));
}

const CUSTOM: &str = "mutation($i: CreateCustomControlInput!) { createCustomControl(input: $i) { control { id ref title isCustom group groupRef standard applicable status } } }";

async fn custom_controls(app: &TestApp) {
    let org = app.org("acme", &[("c", "CONTRIBUTOR")]).await;
    let token = app.token("c");
    let data = app
        .ok(&token, CUSTOM, json!({ "i": { "organizationId": org, "standard": "ISO42001", "ref": "ORG-AI-1", "title": "Model card review" } }))
        .await;
    let c = &data["createCustomControl"]["control"];
    assert_eq!(
        (c["isCustom"].clone(), c["groupRef"].clone(), c["standard"].clone()),
        (json!(true), json!("CUSTOM"), json!("ISO42001"))
    );
    let dup = app
        .gql(
            &token,
            CUSTOM,
            json!({ "i": { "organizationId": org, "standard": "ISO27001", "ref": "ORG-AI-1", "title": "Again" } }),
        )
        .await;
    assert_error(&dup, "CONFLICT", None);
    // A catalog ref of the organization's SoA is taken too.
    let clash = app
        .gql(
            &token,
            CUSTOM,
            json!({ "i": { "organizationId": org, "standard": "ISO27001", "ref": "A.5.1", "title": "Clash" } }),
        )
        .await;
    assert_error(&clash, "CONFLICT", None);
    for (field, input) in [
        ("ref", json!({ "organizationId": org, "standard": "ISO27001", "ref": " ", "title": "x" })),
        ("title", json!({ "organizationId": org, "standard": "ISO27001", "ref": "ORG-2", "title": "" })),
        ("ref", json!({ "organizationId": org, "standard": "ISO27001", "ref": "ORG 2", "title": "x" })),
    ] {
        assert_error(&app.gql(&token, CUSTOM, json!({ "i": input })).await, "BAD_USER_INPUT", Some(field));
    }
    assert_eq!(app.count("controls").await, 132);
    let id = c["id"].as_str().expect("id").to_string();
    let data = app.ok(&token, UPDATE, json!({ "i": { "id": id, "title": "Model card and datasheet review" } })).await;
    assert_eq!(data["updateControl"]["control"]["id"], json!(id));
    let data = app.ok(&token, "query($o: ID!) { organization(id: $o) { controls(filter: {isCustom: true}) { totalCount nodes { ref title } } } }", json!({ "o": org })).await;
    assert_eq!(
        data["organization"]["controls"]["nodes"],
        json!([{ "ref": "ORG-AI-1", "title": "Model card and datasheet review" }])
    );
}

const COVERAGE: &str = "query($id: ID!) { node(id: $id) { ... on Control { ref mappedControls { strength source control { ref standard status } } coverageFromIso27001 { mapped applicable implemented partial percent level nothingToBuildOn controls { ref } } } } }";

async fn layered_view_over_the_isms(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER")]).await;
    let token = app.token("m");
    let r = reference();
    let mapped_27001: Vec<String> = r["mappings"]
        .as_array()
        .expect("m")
        .iter()
        .filter(|m| m["to"] == "ISO42001:A.2.2")
        .map(|m| m["from"].as_str().expect("from").trim_start_matches("ISO27001:").to_string())
        .collect();
    assert!(!mapped_27001.is_empty());
    let a22 = control_id(app, &token, &org, "ISO42001", "A.2.2").await;
    let data = app.ok(&token, COVERAGE, json!({ "id": a22 })).await;
    let cov = &data["node"]["coverageFromIso27001"];
    assert_eq!(cov["mapped"], json!(mapped_27001.len()));
    assert_eq!(cov["level"], "NONE");
    assert_eq!(data["node"]["mappedControls"].as_array().map(Vec::len), Some(mapped_27001.len()));

    // Implement the first mapped 27001 control: partial (or full when it is the only one).
    let first = control_id(app, &token, &org, "ISO27001", &mapped_27001[0]).await;
    // Implemented but UNDECIDED covers nothing yet.
    app.ok(&token, UPDATE, json!({ "i": { "id": first, "status": "IMPLEMENTED" } })).await;
    let data = app.ok(&token, COVERAGE, json!({ "id": a22 })).await;
    assert_eq!(data["node"]["coverageFromIso27001"]["implemented"], 0);
    app.ok(
        &token,
        UPDATE,
        json!({ "i": { "id": first, "decision": "INCLUDED", "inclusionReasons": ["BEST_PRACTICE"] } }),
    )
    .await;
    let data = app.ok(&token, COVERAGE, json!({ "id": a22 })).await;
    let cov = &data["node"]["coverageFromIso27001"];
    assert_eq!(cov["implemented"], 1);
    assert_eq!(cov["level"], if mapped_27001.len() == 1 { "FULL" } else { "PARTIAL" });
    for rest in &mapped_27001[1..] {
        let id = control_id(app, &token, &org, "ISO27001", rest).await;
        app.ok(&token, UPDATE, json!({ "i": { "id": id, "status": "IMPLEMENTED", "decision": "INCLUDED", "justification": "ISMS baseline" } })).await;
    }
    let data = app.ok(&token, COVERAGE, json!({ "id": a22 })).await;
    assert_eq!(data["node"]["coverageFromIso27001"]["level"], "FULL");
    assert_eq!(data["node"]["coverageFromIso27001"]["percent"], 100.0);

    // An AI-specific control with no counterpart: nothing to build on.
    let a74 = control_id(app, &token, &org, "ISO42001", "A.7.4").await;
    let data = app.ok(&token, COVERAGE, json!({ "id": a74 })).await;
    assert_eq!(data["node"]["coverageFromIso27001"]["nothingToBuildOn"], true);
    // 27001 rows have no coverage view, but see their 42001 counterparts.
    let data = app.ok(&token, COVERAGE, json!({ "id": first })).await;
    assert_eq!(data["node"]["coverageFromIso27001"], Value::Null);
    assert!(data["node"]["mappedControls"].as_array().expect("m").iter().any(|m| m["control"]["ref"] == "A.2.2"));

    // Mapped controls across a page come from one batched statement per level.
    let before = metric(app, "annex_db_queries_total").await;
    app.ok(&token, "query($o: ID!) { organization(id: $o) { controls(first: 100) { nodes { mappedControls { control { ref } } } } } }", json!({ "o": org })).await;
    let used = metric(app, "annex_db_queries_total").await - before;
    assert!(used <= 8, "mappedControls over 100 rows took {used} statements");
}

pub async fn metric(app: &TestApp, name: &str) -> i64 {
    let text =
        app.client.get(format!("{}/metrics", app.base)).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("metric {name} missing"))
}

async fn csv_export(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER"), ("v", "VIEWER")]).await;
    let other = app.org("beta", &[("b", "OWNER")]).await;
    let id = control_id(app, &app.token("m"), &org, "ISO27001", "A.7.1").await;
    app.ok(&app.token("m"), UPDATE, json!({ "i": { "id": id, "applicable": false, "justification": "=HYPERLINK(\"http://evil\"), remote-only", "owner": "@ops" } })).await;

    let get = |token: Option<String>, org: String| {
        let mut r = app.client.get(format!("{}/organizations/{org}/soa.csv", app.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let resp = get(Some(app.token("v")), org.clone()).await.expect("csv");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap_or("").starts_with("text/csv"));
    assert!(resp.headers()["content-disposition"].to_str().unwrap_or("").contains("acme-soa.csv"));
    let body = resp.text().await.expect("text");
    let lines: Vec<&str> = body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "standard,ref,title,group,applicable,justification,status,owner,mapped_refs,decision,inclusion_reasons"
    );
    assert_eq!(lines.len(), 132, "header + 131 rows");
    assert!(lines[1].starts_with(
        "ISO27001,A.5.1,Policies for information security,Organizational controls,undecided,,NOT_STARTED,,"
    ));
    assert!(lines[1].contains("ISO42001:A.2.2"), "mapped refs: {}", lines[1]);
    let a71 = lines.iter().find(|l| l.starts_with("ISO27001,A.7.1,")).expect("A.7.1 row");
    assert!(a71.contains(",no,\"'=HYPERLINK(\"\"http://evil\"\"), remote-only\",NOT_STARTED,'@ops,"), "escaped: {a71}");
    assert!(lines.iter().any(|l| l.starts_with("ISO42001,A.10.4,")));
    // Non-members, other tenants, and missing organizations all look the same: 404.
    for (token, target) in [
        (app.token("b"), org.clone()),
        (app.token("v"), other.clone()),
        (app.token("v"), "org_0190000000007000800000000000dead".into()),
        (app.token("v"), "garbage".into()),
    ] {
        let resp = get(Some(token), target).await.expect("csv");
        assert_eq!(resp.status().as_u16(), 404);
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
    }
    let resp = get(None, org.clone()).await.expect("csv");
    assert_eq!(resp.status().as_u16(), 401);
    // The JSON twin has the same rows.
    let data = app.ok(&app.token("v"), "query($o: ID!) { organization(id: $o) { soa { standard ref applicable justification owner mappedRefs } } }", json!({ "o": org })).await;
    let rows = data["organization"]["soa"].as_array().expect("rows");
    assert_eq!(rows.len(), 131);
    let a71 = rows.iter().find(|r| r["ref"] == "A.7.1" && r["standard"] == "ISO27001").expect("A.7.1");
    assert_eq!(a71["justification"], "=HYPERLINK(\"http://evil\"), remote-only");
}

async fn other_tenants_controls_are_missing(app: &TestApp) {
    let a = app.org("alpha", &[("alice", "OWNER")]).await;
    let b = app.org("beta", &[("bob", "OWNER")]).await;
    let bobs = control_id(app, &app.token("bob"), &b, "ISO27001", "A.5.1").await;
    let bobs_clause = app
        .ok(
            &app.token("bob"),
            "query($o: ID!) { organization(id: $o) { clauseAssessments(first: 1) { nodes { id } } } }",
            json!({ "o": b }),
        )
        .await["organization"]["clauseAssessments"]["nodes"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let alice = app.token("alice");
    let data = app
        .ok(
            &alice,
            "query($c: ID!, $k: ID!) { c: node(id: $c) { id } k: node(id: $k) { id } }",
            json!({ "c": bobs, "k": bobs_clause }),
        )
        .await;
    assert_eq!(data, json!({ "c": null, "k": null }));
    assert_error(
        &app.gql(&alice, UPDATE, json!({ "i": { "id": bobs, "status": "IMPLEMENTED" } })).await,
        "NOT_FOUND",
        None,
    );
    assert_error(
        &app.gql(&alice, "mutation($i: UpdateClauseAssessmentInput!) { updateClauseAssessment(input: $i) { clauseAssessment { id } } }", json!({ "i": { "id": bobs_clause, "status": "ADDRESSED" } })).await,
        "NOT_FOUND",
        None,
    );
    assert_error(
        &app.gql(
            &alice,
            CUSTOM,
            json!({ "i": { "organizationId": b, "standard": "ISO27001", "ref": "X-1", "title": "x" } }),
        )
        .await,
        "NOT_FOUND",
        None,
    );
    let _ = a;
    let rows = app.sql("SELECT COUNT(*) FROM controls WHERE status = 'IMPLEMENTED'").await;
    assert_eq!(rows[0][0], json!(0));
}

async fn roles_on_the_soa(app: &TestApp) {
    let t = app.tenant("acme").await;
    let org = t.id.clone();
    let clause = t.owner.clause_id().await;
    let control = t.owner.control_id("ISO27001", "A.5.1").await;
    for (i, who) in t.members().into_iter().enumerate() {
        let allowed = matches!(who.role, Some(Role::Owner | Role::Manager | Role::Contributor));
        let sub = who.sub.as_str();
        // Everyone reads.
        let read = who.ok("query($o: ID!) { organization(id: $o) { controls(first: 1) { nodes { viewerCanUpdate } } readiness { percent } } }", json!({ "o": org })).await;
        assert_eq!(read["organization"]["controls"]["nodes"][0]["viewerCanUpdate"], allowed, "{sub}");
        let bodies = [
            who.gql(UPDATE, json!({ "i": { "id": control, "owner": format!("owner-{sub}") } })).await,
            who.gql(CUSTOM, json!({ "i": { "organizationId": org, "standard": "ISO27001", "ref": format!("ORG-{i}"), "title": "x" } })).await,
            who.gql("mutation($i: UpdateClauseAssessmentInput!) { updateClauseAssessment(input: $i) { clauseAssessment { status } } }", json!({ "i": { "id": clause, "notes": sub } })).await,
        ];
        for body in bodies {
            if allowed {
                assert!(body.get("errors").is_none(), "{sub}: {body}");
            } else {
                assert_error(&body, "FORBIDDEN", None);
            }
        }
    }
}

const CLAUSE: &str = "mutation($i: UpdateClauseAssessmentInput!) { updateClauseAssessment(input: $i) { clauseAssessment { status version } } }";

async fn readiness_arithmetic(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER")]).await;
    let token = app.token("m");
    let r = reference();
    let clauses = r["standards"][0]["clauses"].as_array().expect("clauses");
    let parents: BTreeSet<&str> = clauses.iter().filter_map(|c| c["parent"].as_str()).collect();
    let leaves: Vec<&str> =
        clauses.iter().map(|c| c["ref"].as_str().expect("ref")).filter(|r| !parents.contains(r)).collect();

    let data = app
        .ok(&token, "query($o: ID!) { organization(id: $o) { clauseAssessments(first: 100, filter: {standard: ISO27001}) { nodes { id ref } } } }", json!({ "o": org }))
        .await;
    let ids: BTreeMap<String, String> = data["organization"]["clauseAssessments"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| (n["ref"].as_str().expect("ref").to_string(), n["id"].as_str().expect("id").to_string()))
        .collect();
    app.ok(&token, CLAUSE, json!({ "i": { "id": ids["4.1"], "status": "ADDRESSED" } })).await;
    app.ok(&token, CLAUSE, json!({ "i": { "id": ids["4.2"], "status": "ADDRESSED" } })).await;
    app.ok(&token, CLAUSE, json!({ "i": { "id": ids["6.1.3"], "status": "PARTIAL" } })).await;
    // A parent clause does not count (only leaves do).
    app.ok(&token, CLAUSE, json!({ "i": { "id": ids["4"], "status": "ADDRESSED" } })).await;
    for (reference, change) in [
        ("A.7.1", json!({ "applicable": false, "justification": "remote" })),
        ("A.7.2", json!({ "applicable": false, "justification": "remote" })),
        ("A.7.3", json!({ "applicable": false, "justification": "remote" })),
        ("A.5.1", json!({ "status": "IMPLEMENTED", "decision": "INCLUDED", "inclusionReasons": ["RISK_TREATMENT"] })),
        ("A.5.2", json!({ "status": "IMPLEMENTED", "decision": "INCLUDED", "inclusionReasons": ["RISK_TREATMENT"] })),
        ("A.5.3", json!({ "status": "IMPLEMENTED", "decision": "INCLUDED", "inclusionReasons": ["RISK_TREATMENT"] })),
        ("A.5.4", json!({ "status": "PARTIAL", "decision": "INCLUDED", "inclusionReasons": ["RISK_TREATMENT"] })),
        ("A.5.5", json!({ "status": "PLANNED", "decision": "INCLUDED", "inclusionReasons": ["RISK_TREATMENT"] })),
        // Implemented without a decision: not done.
        ("A.5.6", json!({ "status": "IMPLEMENTED" })),
    ] {
        let id = control_id(app, &token, &org, "ISO27001", reference).await;
        let mut input = change.clone();
        input["id"] = json!(id);
        app.ok(&token, UPDATE, json!({ "i": input })).await;
    }
    let data = app
        .ok(&token, "query($o: ID!) { organization(id: $o) { readiness { standard percent clausesTotal clausesAddressed clausesPartial controlsApplicable controlsImplemented controlsPartial } } }", json!({ "o": org }))
        .await;
    let iso = &data["organization"]["readiness"][0];
    assert_eq!(iso["standard"], "ISO27001");
    assert_eq!(iso["clausesTotal"], json!(leaves.len()));
    assert_eq!((iso["clausesAddressed"].clone(), iso["clausesPartial"].clone()), (json!(2), json!(1)));
    assert_eq!(
        (iso["controlsApplicable"].clone(), iso["controlsImplemented"].clone(), iso["controlsPartial"].clone()),
        (json!(90), json!(3), json!(1))
    );
    let clause_score = 2.5 / leaves.len() as f64;
    let control_score = 3.5 / 90.0;
    let expected = ((clause_score + control_score) / 2.0 * 1000.0).round() / 10.0;
    assert_eq!(iso["percent"].as_f64(), Some(expected));
    let iso42 = &data["organization"]["readiness"][1];
    assert_eq!((iso42["standard"].clone(), iso42["percent"].clone()), (json!("ISO42001"), json!(0.0)));
}

crate::api_tests!(
    catalog_matches_the_reference,
    soa_is_created_with_the_organization,
    walk_the_soa_page_by_page,
    exclusion_rules_and_versions,
    custom_controls,
    layered_view_over_the_isms,
    csv_export,
    other_tenants_controls_are_missing,
    roles_on_the_soa,
    readiness_arithmetic,
);
