//! Scopes, the AI systems inventory, the integrated risk register, risk settings and AI
//! impact assessments.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::soa::metric;
use crate::support::{Actor, Role, TestApp, assert_error};

const RISK: &str = "id title description category domain likelihood impact inherentScore inherentLevel residualLikelihood residualImpact residualScore residualLevel appetite treatment exceedsAppetite appetiteBreach acceptanceJustification acceptedBy acceptanceExpiresOn acceptanceExpired owner status reviewDate reviewOverdue version viewerCanUpdate viewerCanDelete scope { id name } aiSystem { id name } controls { id ref standard }";

fn create_q() -> String {
    format!("mutation($i: CreateRiskInput!) {{ createRisk(input: $i) {{ risk {{ {RISK} }} }} }}")
}

fn update_q() -> String {
    format!("mutation($i: UpdateRiskInput!) {{ updateRisk(input: $i) {{ risk {{ {RISK} }} }} }}")
}

const SETTINGS: &str = "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { version riskSettings { matrixSize maxScore thresholds { lowMax mediumMax highMax } levels { level minScore maxScore } appetite { security ai shared } customThresholds customAppetite } } } }";

async fn create_risk(by: &Actor<'_>, input: Value) -> Value {
    by.risk().with(input).create_returning(RISK).await
}

async fn node(by: &Actor<'_>, id: &str) -> Value {
    by.node(id, "Risk", RISK).await
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string()
}

async fn create_scope(by: &Actor<'_>, name: &str, kind: &str) -> String {
    by.scope().name(name).kind(kind).create().await
}

async fn create_ai_system(by: &Actor<'_>, name: &str, stage: &str) -> String {
    by.ai_system().name(name).stage(stage).role("DEPLOYER").create().await
}

async fn domain_per_category_and_residual_fallback(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER")]).await;
    let t = app.user("m").in_org(&org);
    let table = [
        ("CONFIDENTIALITY", "SECURITY"),
        ("INTEGRITY", "SECURITY"),
        ("AVAILABILITY", "SECURITY"),
        ("BIAS_FAIRNESS", "AI"),
        ("TRANSPARENCY", "AI"),
        ("DATA_QUALITY", "AI"),
        ("HUMAN_OVERSIGHT", "AI"),
        ("AI_SUBJECT_IMPACT", "AI"),
        ("AI_SYSTEM_SECURITY", "SHARED"),
        ("TRAINING_DATA_SECURITY", "SHARED"),
        ("MODEL_INTEGRITY", "SHARED"),
        ("AI_AVAILABILITY", "SHARED"),
    ];
    for (category, domain) in table {
        // 2 × 4 = 8: within the SECURITY and SHARED appetite (9), beyond the AI one (6).
        let r = create_risk(&t, json!({ "title": category, "category": category, "likelihood": 2, "impact": 4 })).await;
        assert_eq!((s(&r["category"]), s(&r["domain"])), (category.to_string(), domain.to_string()));
        assert_eq!((r["inherentScore"].clone(), r["inherentLevel"].clone()), (json!(8), json!("MEDIUM")));
        assert_eq!(r["residualScore"], 8, "no residual ratings: the inherent score");
        assert_eq!((r["residualLikelihood"].clone(), r["residualImpact"].clone()), (Value::Null, Value::Null));
        assert_eq!(r["exceedsAppetite"], json!(domain == "AI"), "{category}");
        assert_eq!(r["appetite"], json!(if domain == "AI" { 6 } else { 9 }));
        assert_eq!(r["appetiteBreach"], json!(domain == "AI"));
        assert_eq!((r["status"].clone(), r["version"].clone()), (json!("IDENTIFIED"), json!(1)));
    }
    let data = t.ok("query($o: ID!) { organization(id: $o) { s: risks(filter: {domain: SECURITY}) { totalCount } a: risks(filter: {domain: AI}) { totalCount } sh: risks(filter: {domain: SHARED}) { totalCount } } }", json!({ "o": org }))
        .await;
    let o = &data["organization"];
    assert_eq!(
        (o["s"]["totalCount"].clone(), o["a"]["totalCount"].clone(), o["sh"]["totalCount"].clone()),
        (json!(3), json!(5), json!(4))
    );

    // At the appetite is within it; one step above exceeds it (per domain).
    for (category, l, i, exceeds) in [
        ("CONFIDENTIALITY", 3, 3, false),
        ("INTEGRITY", 2, 5, true),
        ("TRANSPARENCY", 2, 3, false),
        ("AI_AVAILABILITY", 3, 3, false),
    ] {
        let r = create_risk(
            &t,
            json!({ "title": format!("edge {category}"), "category": category, "likelihood": l, "impact": i }),
        )
        .await;
        assert_eq!(
            (r["exceedsAppetite"].clone(), r["appetiteBreach"].clone()),
            (json!(exceeds), json!(exceeds)),
            "{category} {l}×{i}"
        );
    }
    let d = t.ok("query($o: ID!) { organization(id: $o) { risks(filter: {exceedsAppetite: false, search: \"edge\"}) { totalCount } } }", json!({ "o": org })).await;
    assert_eq!(d["organization"]["risks"]["totalCount"], 3);

    // Residual ratings: each falls back to its inherent rating.
    let r = create_risk(&t, json!({ "title": "Ransomware", "category": "AVAILABILITY", "likelihood": 4, "impact": 5 }))
        .await;
    assert_eq!(
        (r["inherentScore"].clone(), r["inherentLevel"].clone(), r["residualLevel"].clone()),
        (json!(20), json!("CRITICAL"), json!("CRITICAL"))
    );
    let id = s(&r["id"]);
    let u =
        t.ok(&update_q(), json!({ "i": { "id": id, "residualLikelihood": 2 } })).await["updateRisk"]["risk"].clone();
    assert_eq!(
        (u["residualScore"].clone(), u["residualLevel"].clone(), u["inherentScore"].clone()),
        (json!(10), json!("HIGH"), json!(20))
    );
    assert_eq!(u["residualImpact"], Value::Null);
    let u = t.ok(&update_q(), json!({ "i": { "id": id, "residualImpact": 2 } })).await["updateRisk"]["risk"].clone();
    assert_eq!(
        (u["residualScore"].clone(), u["residualLevel"].clone(), u["exceedsAppetite"].clone()),
        (json!(4), json!("LOW"), json!(false))
    );
    // Clearing one residual rating falls back again; the category change moves the domain.
    let u = t
        .ok(
            &update_q(),
            json!({ "i": { "id": id, "residualLikelihood": null, "category": "BIAS_FAIRNESS", "expectedVersion": 3 } }),
        )
        .await["updateRisk"]["risk"]
        .clone();
    assert_eq!(
        (u["residualScore"].clone(), u["domain"].clone(), u["exceedsAppetite"].clone(), u["version"].clone()),
        (json!(8), json!("AI"), json!(true), json!(4))
    );
    let rows = app.sql("SELECT inherent_score, effective_score, domain FROM risks WHERE title = 'Ransomware'").await;
    assert_eq!(rows, vec![vec![json!(20), json!(8), json!("AI")]]);
}

async fn settings_apply_at_read_time(app: &TestApp) {
    let org = app.org("acme", &[("o", "OWNER"), ("c", "CONTRIBUTOR")]).await;
    let (t, c) = (app.user("o").in_org(&org), app.user("c").in_org(&org));
    let sec = create_risk(
        &t,
        json!({ "title": "Laptop theft", "category": "CONFIDENTIALITY", "likelihood": 2, "impact": 4 }),
    )
    .await;
    let ai = create_risk(
        &t,
        json!({ "title": "Biased scoring", "category": "BIAS_FAIRNESS", "likelihood": 2, "impact": 4 }),
    )
    .await;
    let shared =
        create_risk(&t, json!({ "title": "Model theft", "category": "MODEL_INTEGRITY", "likelihood": 3, "impact": 4 }))
            .await;
    assert_eq!(
        (sec["exceedsAppetite"].clone(), ai["exceedsAppetite"].clone(), shared["exceedsAppetite"].clone()),
        (json!(false), json!(true), json!(true))
    );
    assert_eq!(shared["residualLevel"], "HIGH");
    let defaults = t.ok("query($o: ID!) { organization(id: $o) { riskSettings { matrixSize maxScore thresholds { lowMax mediumMax highMax } appetite { security ai shared } customThresholds customAppetite levels { level minScore maxScore } } } }", json!({ "o": org })).await;
    assert_eq!(
        defaults["organization"]["riskSettings"],
        json!({ "matrixSize": 5, "maxScore": 25, "thresholds": { "lowMax": 4, "mediumMax": 9, "highMax": 15 }, "appetite": { "security": 9, "ai": 6, "shared": 9 }, "customThresholds": false, "customAppetite": false,
            "levels": [ { "level": "LOW", "minScore": 1, "maxScore": 4 }, { "level": "MEDIUM", "minScore": 5, "maxScore": 9 }, { "level": "HIGH", "minScore": 10, "maxScore": 15 }, { "level": "CRITICAL", "minScore": 16, "maxScore": 25 } ] })
    );
    let rows_before =
        app.sql("SELECT title, version, CAST(updated_at AS TEXT), effective_score FROM risks ORDER BY title").await;
    let changes_before = app.count("changes").await;

    // Only OWNER/MANAGER change the settings.
    let body = c.gql(SETTINGS, json!({ "i": { "id": org, "riskSettings": { "appetite": { "ai": 9 } } } })).await;
    assert_error(&body, "FORBIDDEN", None);
    // Security tolerates less, AI more; thresholds move HIGH down to 7.
    let d = t.ok(SETTINGS, json!({ "i": { "id": org, "riskSettings": { "appetite": { "security": 6, "ai": 9 }, "thresholds": { "lowMax": 3, "mediumMax": 6, "highMax": 12 } } } }))
        .await;
    let st = &d["updateOrganization"]["organization"]["riskSettings"];
    assert_eq!(st["appetite"], json!({ "security": 6, "ai": 9, "shared": 9 }));
    assert_eq!((st["customThresholds"].clone(), st["customAppetite"].clone()), (json!(true), json!(true)));
    assert_eq!(app.count("changes").await, changes_before + 1, "one trail row for the organization");

    let (sec2, ai2, shared2) =
        (node(&t, &s(&sec["id"])).await, node(&t, &s(&ai["id"])).await, node(&t, &s(&shared["id"])).await);
    assert_eq!((sec2["exceedsAppetite"].clone(), sec2["appetite"].clone()), (json!(true), json!(6)));
    assert_eq!((ai2["exceedsAppetite"].clone(), ai2["appetite"].clone()), (json!(false), json!(9)));
    assert_eq!(shared2["exceedsAppetite"], json!(true));
    assert_eq!((sec2["residualLevel"].clone(), shared2["residualLevel"].clone()), (json!("HIGH"), json!("HIGH")));
    assert_eq!(node(&t, &s(&sec["id"])).await["inherentLevel"], "HIGH", "8 is HIGH above mediumMax 6");
    // No risk row was rewritten.
    assert_eq!(
        (sec2["version"].clone(), ai2["version"].clone(), shared2["version"].clone()),
        (json!(1), json!(1), json!(1))
    );
    assert_eq!(
        app.sql("SELECT title, version, CAST(updated_at AS TEXT), effective_score FROM risks ORDER BY title").await,
        rows_before
    );
    // Filters follow the new settings in SQL.
    let q = "query($o: ID!) { organization(id: $o) { over: risks(filter: {exceedsAppetite: true}, orderBy: {field: TITLE}) { nodes { title } } within: risks(filter: {exceedsAppetite: false}) { nodes { title } } high: risks(filter: {level: HIGH}) { totalCount } medium: risks(filter: {level: MEDIUM}) { totalCount } breaches: risks(filter: {appetiteBreach: true}) { totalCount } } }";
    let o = t.ok(q, json!({ "o": org })).await["organization"].clone();
    assert_eq!(o["over"]["nodes"], json!([{ "title": "Laptop theft" }, { "title": "Model theft" }]));
    assert_eq!(o["within"]["nodes"], json!([{ "title": "Biased scoring" }]));
    assert_eq!(
        (o["high"]["totalCount"].clone(), o["medium"]["totalCount"].clone(), o["breaches"]["totalCount"].clone()),
        (json!(3), json!(0), json!(2))
    );

    // Invalid thresholds and appetite name the field; nothing changes.
    for (settings, field) in [
        (json!({ "thresholds": { "lowMax": 5, "mediumMax": 5, "highMax": 12 } }), "riskSettings.thresholds.mediumMax"),
        (json!({ "thresholds": { "lowMax": 0, "mediumMax": 5, "highMax": 12 } }), "riskSettings.thresholds.lowMax"),
        (json!({ "thresholds": { "lowMax": 3, "mediumMax": 6, "highMax": 25 } }), "riskSettings.thresholds.highMax"),
        (json!({ "appetite": { "shared": 26 } }), "riskSettings.appetite.shared"),
        (json!({ "matrixSize": 6 }), "riskSettings.matrixSize"),
        // A 4 × 5 risk exists: the matrix cannot shrink to 4×4 or 3×3.
        (json!({ "matrixSize": 3, "thresholds": null, "appetite": null }), "riskSettings.matrixSize"),
    ] {
        if field == "riskSettings.matrixSize" && settings["matrixSize"] == 3 {
            create_risk(&t, json!({ "title": "Flood", "category": "AVAILABILITY", "likelihood": 4, "impact": 5 }))
                .await;
        }
        let body = t.gql(SETTINGS, json!({ "i": { "id": org, "riskSettings": settings } })).await;
        assert_error(&body, "BAD_USER_INPUT", Some(field));
    }
    let d = t
        .ok(
            "query($o: ID!) { organization(id: $o) { version riskSettings { matrixSize appetite { shared } } } }",
            json!({ "o": org }),
        )
        .await;
    assert_eq!(d["organization"]["riskSettings"], json!({ "matrixSize": 5, "appetite": { "shared": 9 } }));
    let flood = t
        .ok(
            "query($o: ID!) { organization(id: $o) { risks(filter: {search: \"flood\"}) { nodes { id } } } }",
            json!({ "o": org }),
        )
        .await;
    let flood = s(&flood["organization"]["risks"]["nodes"][0]["id"]);
    t.ok("mutation($i: DeleteRiskInput!) { deleteRisk(input: $i) { deletedId } }", json!({ "i": { "id": flood } }))
        .await;

    // Back to the defaults, then 3×3: the defaults scale (LOW 1, MEDIUM 2-3, HIGH 4-5,
    // CRITICAL 6-9; appetite 3 / 2 / 3). Every rating in use is at most 4: still refused.
    let body = t
        .gql(
            SETTINGS,
            json!({ "i": { "id": org, "riskSettings": { "matrixSize": 3, "thresholds": null, "appetite": null } } }),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("riskSettings.matrixSize"));
    t.ok(&update_q(), json!({ "i": { "id": s(&shared["id"]), "likelihood": 3, "impact": 3 } })).await;
    t.ok(&update_q(), json!({ "i": { "id": s(&sec["id"]), "impact": 3 } })).await;
    t.ok(&update_q(), json!({ "i": { "id": s(&ai["id"]), "impact": 3 } })).await;
    let d = t
        .ok(
            SETTINGS,
            json!({ "i": { "id": org, "riskSettings": { "matrixSize": 3, "thresholds": null, "appetite": null } } }),
        )
        .await;
    let st = &d["updateOrganization"]["organization"]["riskSettings"];
    assert_eq!(st["thresholds"], json!({ "lowMax": 1, "mediumMax": 3, "highMax": 5 }));
    assert_eq!(st["appetite"], json!({ "security": 3, "ai": 2, "shared": 3 }));
    assert_eq!(
        (st["maxScore"].clone(), st["customThresholds"].clone(), st["customAppetite"].clone()),
        (json!(9), json!(false), json!(false))
    );
    let shared3 = node(&t, &s(&shared["id"])).await;
    assert_eq!(
        (shared3["residualScore"].clone(), shared3["residualLevel"].clone(), shared3["exceedsAppetite"].clone()),
        (json!(9), json!("CRITICAL"), json!(true))
    );
    let ai3 = node(&t, &s(&ai["id"])).await;
    assert_eq!(
        (ai3["residualScore"].clone(), ai3["residualLevel"].clone(), ai3["exceedsAppetite"].clone()),
        (json!(6), json!("CRITICAL"), json!(true))
    );
    // Ratings now stop at 3.
    let body = t.gql(&create_q(), json!({ "i": { "organizationId": org, "title": "x", "category": "INTEGRITY", "likelihood": 4, "impact": 1 } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("likelihood"));
}

async fn acceptance_rule(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER")]).await;
    let t = app.user("m").in_org(&org);
    let changes = app.count("changes").await;
    let base = json!({ "organizationId": org, "title": "Legacy ERP", "category": "INTEGRITY", "likelihood": 4, "impact": 4, "treatment": "ACCEPT", "owner": "cfo" });
    // ISO 27001 6.1.3 f: above appetite, ACCEPT needs justification, who, and until when.
    let expires = "2099-12-31";
    for (extra, field) in [
        (json!({}), "acceptanceJustification"),
        (
            json!({ "acceptanceJustification": "  ", "acceptedBy": "cfo", "acceptanceExpiresOn": expires }),
            "acceptanceJustification",
        ),
        (json!({ "acceptanceJustification": "Replacement in 2027", "acceptanceExpiresOn": expires }), "acceptedBy"),
        (json!({ "acceptanceJustification": "Replacement in 2027", "acceptedBy": "cfo" }), "acceptanceExpiresOn"),
        (
            json!({ "acceptanceJustification": "x", "acceptedBy": "cfo", "acceptanceExpiresOn": "2001-01-01" }),
            "acceptanceExpiresOn",
        ),
    ] {
        let mut i = base.clone();
        for (k, v) in extra.as_object().expect("obj") {
            i[k] = v.clone();
        }
        assert_error(&t.gql(&create_q(), json!({ "i": i })).await, "BAD_USER_INPUT", Some(field));
    }
    // Acceptance details go with ACCEPT only.
    let mut i = base.clone();
    i["treatment"] = json!("MITIGATE");
    i["acceptedBy"] = json!("cfo");
    assert_error(&t.gql(&create_q(), json!({ "i": i })).await, "BAD_USER_INPUT", Some("acceptedBy"));
    assert_eq!((app.count("risks").await, app.count("changes").await), (0, changes), "nothing written");

    let mut i = base.clone();
    i["acceptanceJustification"] = json!("Replacement in 2027; compensating monitoring in place");
    i["acceptedBy"] = json!("cfo");
    i["acceptanceExpiresOn"] = json!(expires);
    let r = t.ok(&create_q(), json!({ "i": i })).await["createRisk"]["risk"].clone();
    assert_eq!(
        (r["exceedsAppetite"].clone(), r["appetiteBreach"].clone(), r["acceptanceExpired"].clone()),
        (json!(true), json!(false), json!(false))
    );
    assert_eq!((r["acceptedBy"].clone(), r["acceptanceExpiresOn"].clone()), (json!("cfo"), json!(expires)));
    let id = s(&r["id"]);
    // Within appetite, ACCEPT needs nothing.
    let low = create_risk(&t, json!({ "title": "Printer toner", "category": "AVAILABILITY", "likelihood": 1, "impact": 2, "treatment": "ACCEPT" })).await;
    assert_eq!((low["exceedsAppetite"].clone(), low["appetiteBreach"].clone()), (json!(false), json!(false)));
    // Clearing a required detail while above appetite is refused.
    let body = t.gql(&update_q(), json!({ "i": { "id": id, "acceptedBy": null } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("acceptedBy"));
    // Raising the rating of the low risk above appetite without details is refused too.
    let body = t.gql(&update_q(), json!({ "i": { "id": s(&low["id"]), "likelihood": 5, "impact": 5 } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("acceptanceJustification"));

    // Time passes: the acceptance expires, and the risk counts as a breach again.
    app.sql("UPDATE risks SET acceptance_expires_on = '2020-06-30' WHERE title = 'Legacy ERP'").await;
    let r = node(&t, &id).await;
    assert_eq!(
        (r["acceptanceExpired"].clone(), r["appetiteBreach"].clone(), r["exceedsAppetite"].clone()),
        (json!(true), json!(true), json!(true))
    );
    let q = "query($o: ID!) { organization(id: $o) { b: risks(filter: {appetiteBreach: true}) { nodes { title } } nb: risks(filter: {appetiteBreach: false}) { totalCount } } }";
    let o = t.ok(q, json!({ "o": org })).await["organization"].clone();
    assert_eq!(
        (o["b"]["nodes"].clone(), o["nb"]["totalCount"].clone()),
        (json!([{ "title": "Legacy ERP" }]), json!(1))
    );
    // Editing other fields keeps the (expired) acceptance; renewing it ends the breach.
    let u = t.ok(&update_q(), json!({ "i": { "id": id, "owner": "erp-team" } })).await["updateRisk"]["risk"].clone();
    assert_eq!(u["appetiteBreach"], true);
    let u = t.ok(&update_q(), json!({ "i": { "id": id, "acceptanceExpiresOn": expires } })).await["updateRisk"]["risk"]
        .clone();
    assert_eq!((u["appetiteBreach"].clone(), u["acceptanceExpired"].clone()), (json!(false), json!(false)));
    // A lower appetite makes the undocumented low ACCEPT a breach (settings at read time).
    t.ok(SETTINGS, json!({ "i": { "id": org, "riskSettings": { "appetite": { "security": 1 } } } })).await;
    let l = node(&t, &s(&low["id"])).await;
    assert_eq!((l["exceedsAppetite"].clone(), l["appetiteBreach"].clone()), (json!(true), json!(true)));
    // Leaving ACCEPT clears the details.
    let u =
        t.ok(&update_q(), json!({ "i": { "id": id, "treatment": "MITIGATE" } })).await["updateRisk"]["risk"].clone();
    assert_eq!(
        (
            u["acceptanceJustification"].clone(),
            u["acceptedBy"].clone(),
            u["acceptanceExpiresOn"].clone(),
            u["appetiteBreach"].clone()
        ),
        (Value::Null, Value::Null, Value::Null, json!(true))
    );
    // A closed risk is no breach.
    let u = t.ok(&update_q(), json!({ "i": { "id": id, "status": "CLOSED" } })).await["updateRisk"]["risk"].clone();
    assert_eq!((u["exceedsAppetite"].clone(), u["appetiteBreach"].clone()), (json!(true), json!(false)));
}

fn compare_key(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_i64().cmp(&y.as_i64()),
        (Value::String(x), Value::String(y)) => {
            match (chrono::DateTime::parse_from_rfc3339(x), chrono::DateTime::parse_from_rfc3339(y)) {
                (Ok(a), Ok(b)) => a.cmp(&b),
                _ => x.cmp(y),
            }
        }
        _ => panic!("incomparable {a} {b}"),
    }
}

async fn pagination_in_every_order(app: &TestApp) {
    let org = app.org("acme", &[("c", "CONTRIBUTOR")]).await;
    let t = app.user("c").in_org(&org);
    const N: usize = 260;
    let started = std::time::Instant::now();
    let mut created: Vec<String> = Vec::new();
    // 26 creations per request (aliases), each its own transaction.
    for chunk in (0..N).collect::<Vec<_>>().chunks(26) {
        let mut q = String::from("mutation {");
        for i in chunk {
            let review =
                if i % 4 == 0 { "null".to_string() } else { format!("\"2027-{:02}-{:02}\"", 1 + i % 12, 1 + i % 7) };
            q.push_str(&format!(
                " r{i}: createRisk(input: {{organizationId: \"{org}\", title: \"risk{:03}\", category: {}, likelihood: {}, impact: {}, reviewDate: {review}}}) {{ risk {{ id }} }}",
                i % 200,
                ["CONFIDENTIALITY", "BIAS_FAIRNESS", "MODEL_INTEGRITY"][i % 3],
                1 + i % 5,
                1 + (i * 7 / 3) % 5,
            ));
        }
        q.push('}');
        let d = t.ok(&q, json!({})).await;
        for i in chunk {
            created.push(s(&d[format!("r{i}")]["risk"]["id"]));
        }
    }
    eprintln!("created {N} risks in {:?}", started.elapsed());
    let all: BTreeSet<String> = created.iter().cloned().collect();
    assert_eq!(all.len(), N);

    for (field, key) in
        [("SCORE", "residualScore"), ("CREATED_AT", "createdAt"), ("TITLE", "title"), ("REVIEW_DATE", "reviewDate")]
    {
        for dir in ["ASC", "DESC"] {
            let mut after = Value::Null;
            let mut seen: Vec<(Value, String)> = Vec::new();
            let mut pages = 0;
            loop {
                let q = format!(
                    "query($o: ID!, $a: String) {{ organization(id: $o) {{ risks(first: 37, after: $a, orderBy: {{field: {field}, direction: {dir}}}) {{ totalCount edges {{ cursor node {{ id {key} }} }} pageInfo {{ hasNextPage hasPreviousPage endCursor }} }} }} }}"
                );
                let d = t.ok(&q, json!({ "o": org, "a": after })).await;
                let c = &d["organization"]["risks"];
                assert_eq!(c["totalCount"], json!(N));
                assert_eq!(c["pageInfo"]["hasPreviousPage"], json!(!after.is_null()));
                for e in c["edges"].as_array().expect("edges") {
                    seen.push((e["node"][key].clone(), s(&e["node"]["id"])));
                }
                pages += 1;
                if c["pageInfo"]["hasNextPage"] == false {
                    break;
                }
                after = c["pageInfo"]["endCursor"].clone();
                assert!(pages < 20, "runaway pagination");
            }
            assert_eq!(pages, N.div_ceil(37), "{field} {dir}");
            assert_eq!(seen.len(), N, "{field} {dir}: every risk once");
            let ids: BTreeSet<String> = seen.iter().map(|(_, id)| id.clone()).collect();
            assert_eq!(ids, all, "{field} {dir}: none missing, none twice");
            // Sorted by key, then id, in the direction; null review dates last either way.
            for w in seen.windows(2) {
                let ((ka, ia), (kb, ib)) = (&w[0], &w[1]);
                let directed = |o: Ordering| if dir == "DESC" { o.reverse() } else { o };
                let ord = match (ka.is_null(), kb.is_null()) {
                    (false, true) => Ordering::Less,
                    (true, false) => Ordering::Greater,
                    (true, true) => directed(ia.cmp(ib)),
                    (false, false) => directed(compare_key(ka, kb).then(ia.cmp(ib))),
                };
                assert_eq!(ord, Ordering::Less, "{field} {dir}: {ka} {ia} before {kb} {ib}");
            }
            if field == "CREATED_AT" {
                let order: Vec<String> = seen.iter().map(|(_, id)| id.clone()).collect();
                let mut expected = created.clone();
                if dir == "DESC" {
                    expected.reverse();
                }
                assert_eq!(order, expected, "creation order");
            }
            if field == "REVIEW_DATE" {
                let nulls = seen.iter().filter(|(k, _)| k.is_null()).count();
                assert_eq!(nulls, N.div_ceil(4));
                assert!(seen[N - nulls..].iter().all(|(k, _)| k.is_null()), "{dir}: nulls last");
            }
        }
    }
    // A cursor of one order is refused by another; `first` is bounded.
    let d = t
        .ok(
            "query($o: ID!) { organization(id: $o) { risks(first: 1) { pageInfo { endCursor } } } }",
            json!({ "o": org }),
        )
        .await;
    let cursor = d["organization"]["risks"]["pageInfo"]["endCursor"].clone();
    let body = t.gql("query($o: ID!, $a: String) { organization(id: $o) { risks(first: 1, after: $a, orderBy: {field: TITLE}) { totalCount } } }", json!({ "o": org, "a": cursor }))
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("after"));
    let body = t
        .gql("query($o: ID!) { organization(id: $o) { risks(first: 101) { totalCount } } }", json!({ "o": org }))
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("first"));
    eprintln!("pagination test took {:?}", started.elapsed());
}

async fn filters(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER")]).await;
    let t = app.user("m").in_org(&org);
    let scope = create_scope(&t, "Cloud platform", "INTEGRATED").await;
    let sys = create_ai_system(&t, "Credit scorer", "DEPLOYED").await;
    let rows = [
        json!({ "title": "Phishing 100% of staff", "category": "CONFIDENTIALITY", "likelihood": 4, "impact": 4, "owner": "ciso", "treatment": "MITIGATE", "status": "TREATING", "reviewDate": "2020-01-01", "scopeId": scope }),
        json!({ "title": "Model drift", "category": "DATA_QUALITY", "likelihood": 2, "impact": 3, "owner": "ml-lead", "aiSystemId": sys, "description": "Seasonal PHISHING patterns shift inputs" }),
        json!({ "title": "Weights exfiltration", "category": "AI_SYSTEM_SECURITY", "likelihood": 5, "impact": 5, "residualLikelihood": 2, "owner": "ciso", "treatment": "MITIGATE", "aiSystemId": sys, "scopeId": scope, "reviewDate": "2099-01-01" }),
        json!({ "title": "Old review, closed", "category": "AVAILABILITY", "likelihood": 1, "impact": 1, "status": "CLOSED", "reviewDate": "2020-01-01" }),
    ];
    for r in rows {
        create_risk(&t, r).await;
    }
    let titles = |filter: &str| {
        let q = format!(
            "query($o: ID!) {{ organization(id: $o) {{ risks(filter: {filter}, orderBy: {{field: TITLE}}) {{ totalCount nodes {{ title }} }} }} }}"
        );
        let org = org.clone();
        let t = t.clone();
        async move {
            let d = t.ok(&q, json!({ "o": org })).await;
            let c = &d["organization"]["risks"];
            let v: Vec<String> = c["nodes"].as_array().expect("nodes").iter().map(|n| s(&n["title"])).collect();
            assert_eq!(c["totalCount"], json!(v.len()));
            v
        }
    };
    assert_eq!(titles("{domain: AI}").await, ["Model drift"]);
    assert_eq!(titles("{category: AI_SYSTEM_SECURITY}").await, ["Weights exfiltration"]);
    // Phishing 16 CRITICAL; Weights inherent 25 CRITICAL, residual 2 × 5 = 10 HIGH.
    assert_eq!(titles("{level: HIGH}").await, ["Weights exfiltration"]);
    assert_eq!(titles("{level: CRITICAL}").await, ["Phishing 100% of staff"]);
    assert_eq!(titles("{level: MEDIUM}").await, ["Model drift"]);
    assert_eq!(titles("{inherentLevel: CRITICAL}").await, ["Phishing 100% of staff", "Weights exfiltration"]);
    assert_eq!(titles("{level: LOW}").await, ["Old review, closed"]);
    assert_eq!(titles("{treatment: MITIGATE}").await, ["Phishing 100% of staff", "Weights exfiltration"]);
    assert_eq!(titles("{status: CLOSED}").await, ["Old review, closed"]);
    assert_eq!(titles("{exceedsAppetite: true}").await, ["Phishing 100% of staff", "Weights exfiltration"]);
    assert_eq!(titles("{exceedsAppetite: false}").await, ["Model drift", "Old review, closed"]);
    assert_eq!(titles("{appetiteBreach: true, domain: SHARED}").await, ["Weights exfiltration"]);
    assert_eq!(titles("{owner: \"ciso\"}").await, ["Phishing 100% of staff", "Weights exfiltration"]);
    assert_eq!(titles(&format!("{{aiSystemId: \"{sys}\"}}")).await, ["Model drift", "Weights exfiltration"]);
    assert_eq!(titles("{aiSystemId: null}").await, ["Old review, closed", "Phishing 100% of staff"]);
    assert_eq!(
        titles(&format!("{{scopeId: \"{scope}\", owner: \"ciso\"}}")).await,
        ["Phishing 100% of staff", "Weights exfiltration"]
    );
    assert_eq!(titles("{search: \"phishing\"}").await, ["Model drift", "Phishing 100% of staff"]);
    assert_eq!(titles("{search: \"100%\"}").await, ["Phishing 100% of staff"]);
    assert_eq!(titles("{search: \"0%\"}").await, ["Phishing 100% of staff"]);
    assert_eq!(titles("{search: \"_\"}").await, Vec::<String>::new(), "LIKE wildcards are literal");
    assert_eq!(titles("{reviewOverdue: true}").await, ["Phishing 100% of staff"]);
    // An id of another kind matches nothing; a malformed one names the field.
    assert_eq!(titles(&format!("{{aiSystemId: \"{scope}\"}}")).await, Vec::<String>::new());
    let body = t
        .gql(
            "query($o: ID!) { organization(id: $o) { risks(filter: {scopeId: \"nope\"}) { totalCount } } }",
            json!({ "o": org }),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("scopeId"));
    let d = t
        .ok(
            "query($o: ID!) { organization(id: $o) { risks(first: 1) { nodes { title reviewOverdue } } } }",
            json!({ "o": org }),
        )
        .await;
    // Default order: residual score, highest first (Phishing 16 before Weights 10).
    assert_eq!(
        d["organization"]["risks"]["nodes"],
        json!([{ "title": "Phishing 100% of staff", "reviewOverdue": true }])
    );
}

async fn version_conflict(app: &TestApp) {
    let org = app.org("acme", &[("c", "CONTRIBUTOR")]).await;
    let t = app.user("c").in_org(&org);
    let r = create_risk(&t, json!({ "title": "Insider", "category": "CONFIDENTIALITY", "likelihood": 2, "impact": 2 }))
        .await;
    let id = s(&r["id"]);
    let u = t.ok(&update_q(), json!({ "i": { "id": id, "title": "Insider threat", "expectedVersion": 1 } })).await;
    assert_eq!(u["updateRisk"]["risk"]["version"], 2);
    let changes = app.count("changes").await;
    let body = t.gql(&update_q(), json!({ "i": { "id": id, "likelihood": 5, "expectedVersion": 1 } })).await;
    assert_error(&body, "CONFLICT", None);
    let r = node(&t, &id).await;
    assert_eq!(
        (r["likelihood"].clone(), r["version"].clone(), r["title"].clone()),
        (json!(2), json!(2), json!("Insider threat"))
    );
    assert_eq!(app.count("changes").await, changes);
    // Stale versions on scopes, AI systems and settings too.
    let scope = create_scope(&app.user("c").in_org(&org), "HQ", "ISMS").await;
    let body = t
        .gql(
            "mutation($i: UpdateScopeInput!) { updateScope(input: $i) { scope { id } } }",
            json!({ "i": { "id": scope, "name": "x", "expectedVersion": 7 } }),
        )
        .await;
    assert_error(&body, "CONFLICT", None);
    let sys = create_ai_system(&t, "Chatbot", "DESIGN").await;
    let body = t
        .gql(
            "mutation($i: UpdateAiSystemInput!) { updateAiSystem(input: $i) { aiSystem { id } } }",
            json!({ "i": { "id": sys, "name": "x", "expectedVersion": 2 } }),
        )
        .await;
    assert_error(&body, "CONFLICT", None);
}

async fn other_tenants_are_missing(app: &TestApp) {
    let a = app.org("alpha", &[("alice", "OWNER")]).await;
    let b = app.org("beta", &[("bob", "OWNER")]).await;
    let (alice, bob) = (app.user("alice").in_org(&a), app.user("bob").in_org(&b));
    let bobs_risk =
        create_risk(&bob, json!({ "title": "Bob's", "category": "INTEGRITY", "likelihood": 2, "impact": 2 })).await;
    let bobs_risk = s(&bobs_risk["id"]);
    let bobs_scope = create_scope(&bob, "Bob scope", "AIMS").await;
    let bobs_system = create_ai_system(&bob, "Bob AI", "DEPLOYED").await;
    let bobs_control = bob.control_id("ISO27001", "A.5.1").await;
    let d = bob.ok("mutation($i: CreateImpactAssessmentInput!) { createImpactAssessment(input: $i) { impactAssessment { id } } }", json!({ "i": { "organizationId": b, "aiSystemId": bobs_system, "title": "Bob AIA" } }))
        .await;
    let bobs_aia = s(&d["createImpactAssessment"]["impactAssessment"]["id"]);
    let alices_risk =
        create_risk(&alice, json!({ "title": "Alice's", "category": "INTEGRITY", "likelihood": 2, "impact": 2 })).await;
    let alices_risk = s(&alices_risk["id"]);
    let alices_control = alice.control_id("ISO27001", "A.5.1").await;
    let before = (
        app.count("risks").await,
        app.count("risk_controls").await,
        app.count("changes").await,
        app.count("impact_assessments").await,
    );

    // Reading by node: null, exactly like a missing id.
    let d = alice.ok("query($r: ID!, $s: ID!, $y: ID!, $x: ID!, $m: ID!) { r: node(id: $r) { id } s: node(id: $s) { id } y: node(id: $y) { id } x: node(id: $x) { id } m: node(id: $m) { id } }",
            json!({ "r": bobs_risk, "s": bobs_scope, "y": bobs_system, "x": bobs_aia, "m": "rsk_0190000000007000800000000000dead" }))
        .await;
    assert_eq!(d, json!({ "r": null, "s": null, "y": null, "x": null, "m": null }));

    let missing_risk = "rsk_0190000000007000800000000000dead";
    let strip = |mut v: Value| {
        v["errors"][0]["extensions"].as_object_mut().map(|e| e.remove("requestId"));
        v["errors"][0].as_object_mut().map(|e| {
            e.remove("locations");
            e.remove("path")
        });
        v["errors"][0].clone()
    };
    // Update, delete, link: NOT_FOUND for another tenant's risk, indistinguishable from a missing one.
    for (q, input) in [
        (update_q(), json!({ "id": bobs_risk, "title": "mine" })),
        (
            "mutation($i: DeleteRiskInput!) { deleteRisk(input: $i) { deletedId } }".to_string(),
            json!({ "id": bobs_risk }),
        ),
        (
            "mutation($i: LinkRiskControlInput!) { linkRiskControl(input: $i) { risk { id } } }".to_string(),
            json!({ "riskId": bobs_risk, "controlId": alices_control }),
        ),
    ] {
        let theirs = alice.gql(&q, json!({ "i": input })).await;
        assert_error(&theirs, "NOT_FOUND", None);
        let mut m = input.clone();
        let key = if m.get("riskId").is_some() { "riskId" } else { "id" };
        m[key] = json!(missing_risk);
        let missing = alice.gql(&q, json!({ "i": m })).await;
        assert_eq!(strip(theirs), strip(missing));
    }
    // References to another tenant's objects: BAD_USER_INPUT naming the field, like a missing one.
    let link = "mutation($i: LinkRiskControlInput!) { linkRiskControl(input: $i) { risk { id } } }";
    let theirs = alice.gql(link, json!({ "i": { "riskId": alices_risk, "controlId": bobs_control } })).await;
    assert_error(&theirs, "BAD_USER_INPUT", Some("controlId"));
    let missing = alice
        .gql(link, json!({ "i": { "riskId": alices_risk, "controlId": "ctl_0190000000007000800000000000dead" } }))
        .await;
    assert_eq!(strip(theirs), strip(missing));
    for (field, value) in [("aiSystemId", &bobs_system), ("scopeId", &bobs_scope)] {
        let body = alice.gql(&create_q(), json!({ "i": { "organizationId": a, "title": "x", "category": "INTEGRITY", "likelihood": 1, "impact": 1, field: value } })).await;
        assert_error(&body, "BAD_USER_INPUT", Some(field));
        let body = alice.gql(&update_q(), json!({ "i": { "id": alices_risk, field: value } })).await;
        assert_error(&body, "BAD_USER_INPUT", Some(field));
    }
    let body = alice.gql(&create_q(), json!({ "i": { "organizationId": b, "title": "x", "category": "INTEGRITY", "likelihood": 1, "impact": 1 } })).await;
    assert_error(&body, "NOT_FOUND", None);
    let body = alice.gql("mutation($i: CreateImpactAssessmentInput!) { createImpactAssessment(input: $i) { impactAssessment { id } } }", json!({ "i": { "organizationId": a, "aiSystemId": bobs_system, "title": "x" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("aiSystemId"));
    let sys = create_ai_system(&alice, "Alice AI", "DESIGN").await;
    let body = alice.gql("mutation($i: CreateImpactAssessmentInput!) { createImpactAssessment(input: $i) { impactAssessment { id } } }", json!({ "i": { "organizationId": a, "aiSystemId": sys, "title": "x", "riskIds": [alices_risk, bobs_risk] } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("riskIds"));
    let body = alice.gql("mutation($i: UpdateImpactAssessmentInput!) { updateImpactAssessment(input: $i) { impactAssessment { id } } }", json!({ "i": { "id": bobs_aia, "title": "mine" } })).await;
    assert_error(&body, "NOT_FOUND", None);
    for (q, id) in [
        ("mutation($i: DeleteScopeInput!) { deleteScope(input: $i) { deletedId } }", &bobs_scope),
        ("mutation($i: DeleteAiSystemInput!) { deleteAiSystem(input: $i) { deletedId } }", &bobs_system),
    ] {
        assert_error(&alice.gql(q, json!({ "i": { "id": id } })).await, "NOT_FOUND", None);
    }
    // Nothing was written (Alice's AI system aside).
    let after = (
        app.count("risks").await,
        app.count("risk_controls").await,
        app.count("changes").await - 1,
        app.count("impact_assessments").await,
    );
    assert_eq!(after, before);
    // Bob's control never shows Alice's risk; Alice's list never shows Bob's.
    let d = alice.ok("query($o: ID!) { organization(id: $o) { risks { nodes { title } } aiSystems { totalCount } scopes { totalCount } impactAssessments { totalCount } } }", json!({ "o": a })).await;
    assert_eq!(d["organization"]["risks"]["nodes"], json!([{ "title": "Alice's" }]));
    assert_eq!(
        (
            d["organization"]["aiSystems"]["totalCount"].clone(),
            d["organization"]["scopes"]["totalCount"].clone(),
            d["organization"]["impactAssessments"]["totalCount"].clone()
        ),
        (json!(1), json!(0), json!(0))
    );
}

async fn role_matrix(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let other = app.tenant("other").await;
    let org = acme.id.clone();
    let setup = &acme.owner;
    let sys = create_ai_system(setup, "Shared AI", "DEPLOYED").await;
    let control = setup.control_id("ISO42001", "A.5.2").await;
    let aia_q = "mutation($i: UpdateImpactAssessmentInput!) { updateImpactAssessment(input: $i) { impactAssessment { status approvedBy } } }";
    let create_aia = "mutation($i: CreateImpactAssessmentInput!) { createImpactAssessment(input: $i) { impactAssessment { id viewerCanTransition } } }";
    let impacts = json!([{ "area": "FAIRNESS", "description": "Unequal error rates", "likelihood": 3, "severity": 4 }]);

    let callers = acme.members().map(|a| (a, a.role.map_or("?", Role::as_str)));
    for (who, role) in callers.into_iter().chain([(&other.owner, "NON_MEMBER")]) {
        let (sub, t) = (who.sub.as_str(), who);
        let writer = ["OWNER", "MANAGER", "CONTRIBUTOR"].contains(&role);
        let approver = ["OWNER", "MANAGER"].contains(&role);
        let expect = |body: &Value, allowed: bool, what: &str| {
            if allowed {
                assert!(body.get("errors").is_none(), "{role} {what}: {body}");
            } else if role == "NON_MEMBER" {
                assert_error(body, "NOT_FOUND", None);
            } else {
                assert_error(body, "FORBIDDEN", None);
            }
        };
        // Reading: every member; a non-member sees no organization.
        let read = t.gql("query($o: ID!) { organization(id: $o) { riskSettings { matrixSize } risks { totalCount nodes { viewerCanUpdate } } scopes { totalCount } aiSystems { nodes { viewerCanUpdate impactAssessmentMissing } } impactAssessments { totalCount } } }", json!({ "o": org }))
            .await;
        if role == "NON_MEMBER" {
            assert_eq!(read["data"]["organization"], Value::Null);
        } else {
            assert!(read.get("errors").is_none(), "{role}: {read}");
            assert_eq!(
                read["data"]["organization"]["aiSystems"]["nodes"][0]["viewerCanUpdate"],
                json!(writer),
                "{role}"
            );
        }

        let body = t.gql(&create_q(), json!({ "i": { "organizationId": org, "title": format!("risk by {sub}"), "category": "TRANSPARENCY", "likelihood": 2, "impact": 2 } })).await;
        expect(&body, writer, "createRisk");
        let risk = create_risk(
            setup,
            json!({ "title": format!("target for {sub}"), "category": "INTEGRITY", "likelihood": 1, "impact": 1 }),
        )
        .await;
        let rid = s(&risk["id"]);
        let seen = node(t, &rid).await;
        if role != "NON_MEMBER" {
            assert_eq!(
                (seen["viewerCanUpdate"].clone(), seen["viewerCanDelete"].clone()),
                (json!(writer), json!(writer)),
                "{role}"
            );
        } else {
            assert_eq!(seen, Value::Null);
        }
        expect(&t.gql(&update_q(), json!({ "i": { "id": rid, "owner": sub } })).await, writer, "updateRisk");
        expect(
            &t.gql(
                "mutation($i: LinkRiskControlInput!) { linkRiskControl(input: $i) { risk { id } } }",
                json!({ "i": { "riskId": rid, "controlId": control } }),
            )
            .await,
            writer,
            "linkRiskControl",
        );
        expect(
            &t.gql(
                "mutation($i: UnlinkRiskControlInput!) { unlinkRiskControl(input: $i) { risk { id } } }",
                json!({ "i": { "riskId": rid, "controlId": control } }),
            )
            .await,
            writer,
            "unlinkRiskControl",
        );
        expect(
            &t.gql(
                "mutation($i: DeleteRiskInput!) { deleteRisk(input: $i) { deletedId } }",
                json!({ "i": { "id": rid } }),
            )
            .await,
            writer,
            "deleteRisk",
        );

        let body = t
            .gql(
                "mutation($i: CreateScopeInput!) { createScope(input: $i) { scope { id } } }",
                json!({ "i": { "organizationId": org, "name": format!("scope {sub}"), "kind": "ISMS" } }),
            )
            .await;
        expect(&body, writer, "createScope");
        let scope = create_scope(setup, &format!("target scope {sub}"), "AIMS").await;
        expect(
            &t.gql(
                "mutation($i: UpdateScopeInput!) { updateScope(input: $i) { scope { id } } }",
                json!({ "i": { "id": scope, "description": sub } }),
            )
            .await,
            writer,
            "updateScope",
        );
        expect(
            &t.gql(
                "mutation($i: DeleteScopeInput!) { deleteScope(input: $i) { deletedId } }",
                json!({ "i": { "id": scope } }),
            )
            .await,
            writer,
            "deleteScope",
        );

        let body = t
            .gql(
                "mutation($i: CreateAiSystemInput!) { createAiSystem(input: $i) { aiSystem { id } } }",
                json!({ "i": { "organizationId": org, "name": format!("ai {sub}"), "organizationRole": "PROVIDER" } }),
            )
            .await;
        expect(&body, writer, "createAiSystem");
        let target = create_ai_system(setup, &format!("target ai {sub}"), "DESIGN").await;
        expect(
            &t.gql(
                "mutation($i: UpdateAiSystemInput!) { updateAiSystem(input: $i) { aiSystem { id } } }",
                json!({ "i": { "id": target, "lifecycleStage": "VALIDATION" } }),
            )
            .await,
            writer,
            "updateAiSystem",
        );
        expect(
            &t.gql(
                "mutation($i: DeleteAiSystemInput!) { deleteAiSystem(input: $i) { deletedId } }",
                json!({ "i": { "id": target } }),
            )
            .await,
            writer,
            "deleteAiSystem",
        );

        let body = t.gql(create_aia, json!({ "i": { "organizationId": org, "aiSystemId": sys, "title": format!("AIA {sub}"), "impacts": impacts } })).await;
        expect(&body, writer, "createImpactAssessment");
        let aia = setup.ok(create_aia, json!({ "i": { "organizationId": org, "aiSystemId": sys, "title": format!("target AIA {sub}"), "impacts": impacts } })).await;
        let aia = s(&aia["createImpactAssessment"]["impactAssessment"]["id"]);
        expect(&t.gql(aia_q, json!({ "i": { "id": aia, "status": "IN_REVIEW" } })).await, writer, "submit");
        if writer {
            let body = t.gql(aia_q, json!({ "i": { "id": aia, "status": "APPROVED" } })).await;
            if approver {
                assert_eq!(
                    body["data"]["updateImpactAssessment"]["impactAssessment"],
                    json!({ "status": "APPROVED", "approvedBy": sub }),
                    "{role}"
                );
            } else {
                assert_error(&body, "FORBIDDEN", None);
            }
        } else {
            setup.ok(aia_q, json!({ "i": { "id": aia, "status": "IN_REVIEW" } })).await;
            expect(&t.gql(aia_q, json!({ "i": { "id": aia, "status": "APPROVED" } })).await, false, "approve");
        }

        let body = t.gql(SETTINGS, json!({ "i": { "id": org, "riskSettings": { "appetite": { "ai": 5 } } } })).await;
        expect(&body, approver, "riskSettings");
    }
    // Exactly what the allowed roles created; the others' targets are still there.
    assert_eq!(app.count("risks").await, 3 + 4);
    let d = setup.ok("query($o: ID!) { organization(id: $o) { risks(filter: {search: \"risk by\"}, orderBy: {field: TITLE}) { nodes { title } } } }", json!({ "o": org })).await;
    assert_eq!(
        d["organization"]["risks"]["nodes"],
        json!([
            { "title": format!("risk by {}", acme.contributor.sub) },
            { "title": format!("risk by {}", acme.manager.sub) },
            { "title": format!("risk by {}", acme.owner.sub) }
        ])
    );
}

async fn bad_input_writes_nothing(app: &TestApp) {
    let org = app.org("acme", &[("c", "CONTRIBUTOR")]).await;
    let t = app.user("c").in_org(&org);
    let changes = app.count("changes").await;
    let ok = json!({ "organizationId": org, "title": "Valid", "category": "INTEGRITY", "likelihood": 3, "impact": 3 });
    let with = |k: &str, v: Value| {
        let mut i = ok.clone();
        i[k] = v;
        i
    };
    for (input, field) in [
        (with("likelihood", json!(0)), "likelihood"),
        (with("likelihood", json!(6)), "likelihood"),
        (with("impact", json!(6)), "impact"),
        (with("impact", json!(-1)), "impact"),
        (with("residualLikelihood", json!(9)), "residualLikelihood"),
        (with("residualImpact", json!(0)), "residualImpact"),
        (with("title", json!("   ")), "title"),
        (with("title", json!("x".repeat(301))), "title"),
        (with("scopeId", json!("garbage")), "scopeId"),
        (with("aiSystemId", json!("scp_0190000000007000800000000000dead")), "aiSystemId"),
        (with("treatment", json!("ACCEPT")), "acceptanceJustification"),
        (with("acceptanceJustification", json!("why not")), "acceptanceJustification"),
    ] {
        let mut input = input;
        if field == "acceptanceJustification" && input["treatment"] == "ACCEPT" {
            input["likelihood"] = json!(5);
        }
        let body = t.gql(&create_q(), json!({ "i": input })).await;
        assert_error(&body, "BAD_USER_INPUT", Some(field));
    }
    // An unknown category is refused by the schema (enum), before anything runs.
    let body = t.gql(&create_q(), json!({ "i": with("category", json!("ALIENS")) })).await;
    assert!(body["errors"][0]["message"].as_str().unwrap_or("").contains("ALIENS"), "{body}");
    assert_eq!(body["data"], Value::Null);
    let body = t.gql(&create_q(), json!({ "i": with("reviewDate", json!("31/12/2026")) })).await;
    assert!(body["errors"].is_array(), "{body}");
    assert_eq!((app.count("risks").await, app.count("changes").await), (0, changes), "nothing written");

    // The same rules on update, and nothing half-written.
    let r = create_risk(&t, json!({ "title": "Valid", "category": "INTEGRITY", "likelihood": 3, "impact": 3 })).await;
    let id = s(&r["id"]);
    let changes = app.count("changes").await;
    for (input, field) in [
        (json!({ "id": id, "title": "renamed", "likelihood": 7 }), "likelihood"),
        (json!({ "id": id, "owner": "x", "residualImpact": 6 }), "residualImpact"),
        (json!({ "id": id, "title": "" }), "title"),
        (json!({ "id": id, "treatment": "ACCEPT", "impact": 5 }), "acceptanceJustification"),
        (
            json!({ "id": id, "treatment": "ACCEPT", "acceptanceJustification": "j", "acceptedBy": "b", "acceptanceExpiresOn": "1999-01-01", "impact": 5 }),
            "acceptanceExpiresOn",
        ),
        (json!({ "id": "garbage" }), "id"),
    ] {
        assert_error(&t.gql(&update_q(), json!({ "i": input })).await, "BAD_USER_INPUT", Some(field));
    }
    let r = node(&t, &id).await;
    assert_eq!(
        (r["title"].clone(), r["likelihood"].clone(), r["owner"].clone(), r["version"].clone()),
        (json!("Valid"), json!(3), json!("risk.owner"), json!(1))
    );
    assert_eq!(app.count("changes").await, changes);
}

async fn links_to_controls_of_both_standards(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER")]).await;
    let t = app.user("m").in_org(&org);
    let r = create_risk(&t, json!({ "title": "Training data poisoning", "category": "TRAINING_DATA_SECURITY", "likelihood": 3, "impact": 5 })).await;
    let id = s(&r["id"]);
    let iso27 = t.control_id("ISO27001", "A.8.12").await;
    let iso42 = t.control_id("ISO42001", "A.7.4").await;
    let link = "mutation($i: LinkRiskControlInput!) { linkRiskControl(input: $i) { risk { controls { ref standard } } control { ref risks { title } } } }";
    let changes = app.count("changes").await;
    let d = t.ok(link, json!({ "i": { "riskId": id, "controlId": iso42 } })).await;
    assert_eq!(
        d["linkRiskControl"]["control"],
        json!({ "ref": "A.7.4", "risks": [{ "title": "Training data poisoning" }] })
    );
    let d = t.ok(link, json!({ "i": { "riskId": id, "controlId": iso27 } })).await;
    // SoA order: ISO 27001 rows before ISO 42001 rows.
    assert_eq!(
        d["linkRiskControl"]["risk"]["controls"],
        json!([{ "ref": "A.8.12", "standard": "ISO27001" }, { "ref": "A.7.4", "standard": "ISO42001" }])
    );
    assert_eq!(app.count("changes").await, changes + 2, "one trail row per link");
    // Linking twice changes nothing.
    t.ok(link, json!({ "i": { "riskId": id, "controlId": iso27 } })).await;
    assert_eq!((app.count("risk_controls").await, app.count("changes").await), (2, changes + 2));
    let rows = app.sql("SELECT fields FROM changes WHERE action = 'UPDATE' ORDER BY seq DESC LIMIT 1").await;
    assert!(s(&rows[0][0]).contains("ISO27001:A.8.12"), "{rows:?}");
    // An excluded control cannot treat a risk (ISO 27001 6.1.3 d).
    let excluded = t.control_id("ISO27001", "A.7.1").await;
    t.ok(
        "mutation($i: UpdateControlInput!) { updateControl(input: $i) { control { id } } }",
        json!({ "i": { "id": excluded, "applicable": false, "justification": "remote-only" } }),
    )
    .await;
    assert_error(
        &t.gql(link, json!({ "i": { "riskId": id, "controlId": excluded } })).await,
        "BAD_USER_INPUT",
        Some("controlId"),
    );
    assert_error(
        &t.gql(link, json!({ "i": { "riskId": id, "controlId": id } })).await,
        "BAD_USER_INPUT",
        Some("controlId"),
    );
    // Unlink, idempotent too.
    let unlink = "mutation($i: UnlinkRiskControlInput!) { unlinkRiskControl(input: $i) { risk { controls { ref } } } }";
    let d = t.ok(unlink, json!({ "i": { "riskId": id, "controlId": iso27 } })).await;
    assert_eq!(d["unlinkRiskControl"]["risk"]["controls"], json!([{ "ref": "A.7.4" }]));
    t.ok(unlink, json!({ "i": { "riskId": id, "controlId": iso27 } })).await;
    // Two links, the exclusion of A.7.1, one unlink.
    assert_eq!((app.count("risk_controls").await, app.count("changes").await), (1, changes + 4));

    // Control.risks and Risk.controls over a page are batched.
    for i in 0..30 {
        let r = create_risk(
            &t,
            json!({ "title": format!("r{i:02}"), "category": "CONFIDENTIALITY", "likelihood": 1 + i % 5, "impact": 2 }),
        )
        .await;
        let c = t.control_id("ISO27001", &format!("A.5.{}", 1 + i % 10)).await;
        t.ok(link, json!({ "i": { "riskId": s(&r["id"]), "controlId": c } })).await;
    }
    let before = metric(app, "annex_db_queries_total").await;
    let d = t.ok("query($o: ID!) { organization(id: $o) { controls(first: 20) { nodes { ref risks { title residualLevel controls { ref } } } } } }", json!({ "o": org })).await;
    let used = metric(app, "annex_db_queries_total").await - before;
    assert!(used <= 12, "Control.risks over 20 rows took {used} statements");
    let a51 = d["organization"]["controls"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["ref"] == "A.5.1")
        .cloned()
        .expect("A.5.1");
    assert_eq!(a51["risks"].as_array().map(Vec::len), Some(3));
    let before = metric(app, "annex_db_queries_total").await;
    t.ok("query($o: ID!) { organization(id: $o) { risks(first: 20) { nodes { controls { ref risks { title } } scope { name } aiSystem { name } } } } }", json!({ "o": org })).await;
    let used = metric(app, "annex_db_queries_total").await - before;
    assert!(used <= 12, "Risk.controls over a page of risks took {used} statements");
    // Deleting a risk removes its links.
    t.ok("mutation($i: DeleteRiskInput!) { deleteRisk(input: $i) { deletedId } }", json!({ "i": { "id": id } })).await;
    assert_eq!(app.count("risk_controls").await, 30);
}

async fn scopes_and_ai_systems(app: &TestApp) {
    let org = app.org("acme", &[("c", "CONTRIBUTOR")]).await;
    let t = app.user("c").in_org(&org);
    let create = "mutation($i: CreateScopeInput!) { createScope(input: $i) { scope { id name kind standards inclusions exclusions boundaries version viewerCanDelete } } }";
    let d = t.ok(create, json!({ "i": { "organizationId": org, "name": "Cloud platform", "kind": "INTEGRATED", "boundaries": "EU region", "inclusions": ["API", " API ", "Data lake"], "exclusions": ["Office IT"] } }))
        .await;
    let sc = &d["createScope"]["scope"];
    assert_eq!(sc["standards"], json!(["ISO27001", "ISO42001"]));
    assert_eq!(sc["inclusions"], json!(["API", "Data lake"]));
    let scope = s(&sc["id"]);
    assert_error(
        &t.gql(create, json!({ "i": { "organizationId": org, "name": "Cloud platform", "kind": "ISMS" } })).await,
        "CONFLICT",
        None,
    );
    assert_error(
        &t.gql(
            create,
            json!({ "i": { "organizationId": org, "name": "AI only", "kind": "AIMS", "standards": ["ISO27001"] } }),
        )
        .await,
        "BAD_USER_INPUT",
        Some("standards"),
    );
    assert_error(
        &t.gql(create, json!({ "i": { "organizationId": org, "name": " ", "kind": "AIMS" } })).await,
        "BAD_USER_INPUT",
        Some("name"),
    );
    let d = t.ok("mutation($i: UpdateScopeInput!) { updateScope(input: $i) { scope { kind standards boundaries version } } }", json!({ "i": { "id": scope, "kind": "ISMS", "boundaries": null, "expectedVersion": 1 } })).await;
    assert_eq!(
        d["updateScope"]["scope"],
        json!({ "kind": "ISMS", "standards": ["ISO27001", "ISO42001"], "boundaries": null, "version": 2 })
    );

    let sys_q = "mutation($i: CreateAiSystemInput!) { createAiSystem(input: $i) { aiSystem { id name lifecycleStage organizationRole scope { name } dataCategories impactAssessmentMissing } } }";
    let d = t.ok(sys_q, json!({ "i": { "organizationId": org, "name": "Credit scorer", "purpose": "Loan decisions", "lifecycleStage": "DEPLOYED", "organizationRole": "PROVIDER", "scopeId": scope, "dataCategories": ["financial", "personal"], "humanOversight": "Analyst reviews every rejection" } }))
        .await;
    let sys = &d["createAiSystem"]["aiSystem"];
    assert_eq!(
        (sys["scope"]["name"].clone(), sys["impactAssessmentMissing"].clone()),
        (json!("Cloud platform"), json!(true))
    );
    let sys = s(&sys["id"]);
    let other = create_ai_system(&t, "Chatbot", "DESIGN").await;
    assert_error(
        &t.gql(sys_q, json!({ "i": { "organizationId": org, "name": "Credit scorer", "organizationRole": "USER" } }))
            .await,
        "CONFLICT",
        None,
    );
    let q = "query($o: ID!) { organization(id: $o) { missing: aiSystems(filter: {impactAssessmentMissing: true}) { nodes { name } } fine: aiSystems(filter: {impactAssessmentMissing: false}) { nodes { name } } deployed: aiSystems(filter: {lifecycleStage: DEPLOYED}) { totalCount } search: aiSystems(filter: {search: \"LOAN\"}) { nodes { name } } } }";
    let o = t.ok(q, json!({ "o": org })).await["organization"].clone();
    assert_eq!(
        (o["missing"]["nodes"].clone(), o["fine"]["nodes"].clone()),
        (json!([{ "name": "Credit scorer" }]), json!([{ "name": "Chatbot" }]))
    );
    assert_eq!(
        (o["deployed"]["totalCount"].clone(), o["search"]["nodes"].clone()),
        (json!(1), json!([{ "name": "Credit scorer" }]))
    );

    // References block deletion, and the message names them.
    create_risk(&t, json!({ "title": "Unfair rejections", "category": "BIAS_FAIRNESS", "likelihood": 3, "impact": 3, "aiSystemId": sys, "scopeId": scope })).await;
    // Contributors do not plan audits: the platform admin plans one on the scope.
    app.admin().in_org(&org).audit().title("Stage 1").scope(&scope).create().await;
    let del_scope = "mutation($i: DeleteScopeInput!) { deleteScope(input: $i) { deletedId } }";
    let body = t.gql(del_scope, json!({ "i": { "id": scope } })).await;
    assert_error(&body, "CONFLICT", None);
    let msg = s(&body["errors"][0]["message"]);
    assert!(msg.contains("1 risk, 1 AI system and 1 audit"), "{msg}");
    let del_sys = "mutation($i: DeleteAiSystemInput!) { deleteAiSystem(input: $i) { deletedId } }";
    let body = t.gql(del_sys, json!({ "i": { "id": sys } })).await;
    assert_error(&body, "CONFLICT", None);
    assert!(s(&body["errors"][0]["message"]).contains("1 risk"), "{body}");
    assert_eq!((app.count("scopes").await, app.count("ai_systems").await), (1, 2));
    let d = t.ok(del_sys, json!({ "i": { "id": other } })).await;
    assert_eq!(d["deleteAiSystem"]["deletedId"], json!(other));
    let rows = app.sql("SELECT action, entity_type FROM changes ORDER BY seq DESC LIMIT 1").await;
    assert_eq!(rows, vec![vec![json!("DELETE"), json!("AiSystem")]]);
}

const AIA: &str = "id title status approvedBy approvedAt version viewerCanUpdate viewerCanTransition availableTransitions impacts { area description likelihood severity score mitigation } risks { title } aiSystem { name impactAssessmentMissing }";

async fn impact_assessment_workflow(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER"), ("c", "CONTRIBUTOR"), ("a", "AUDITOR")]).await;
    let (m, c, a) = (app.user("m").in_org(&org), app.user("c").in_org(&org), app.user("a").in_org(&org));
    let sys = create_ai_system(&c, "Credit scorer", "DEPLOYED").await;
    let risk = create_risk(&c, json!({ "title": "Unfair rejections", "category": "BIAS_FAIRNESS", "likelihood": 3, "impact": 4, "aiSystemId": sys })).await;
    let create = format!(
        "mutation($i: CreateImpactAssessmentInput!) {{ createImpactAssessment(input: $i) {{ impactAssessment {{ {AIA} }} }} }}"
    );
    let update = format!(
        "mutation($i: UpdateImpactAssessmentInput!) {{ updateImpactAssessment(input: $i) {{ impactAssessment {{ {AIA} }} }} }}"
    );
    // Ratings follow the organization's matrix.
    let body = c.gql(&create, json!({ "i": { "organizationId": org, "aiSystemId": sys, "title": "AIA 2026", "impacts": [{ "area": "FAIRNESS", "description": "x", "likelihood": 2, "severity": 2 }, { "area": "PRIVACY", "description": "y", "likelihood": 6, "severity": 2 }] } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("impacts[1].likelihood"));
    assert_eq!(app.count("impact_assessments").await, 0);
    let d = c.ok(&create, json!({ "i": { "organizationId": org, "aiSystemId": sys, "title": "AIA 2026", "assessedIndividuals": "Loan applicants", "riskIds": [risk["id"]] } })).await;
    let x = &d["createImpactAssessment"]["impactAssessment"];
    assert_eq!(
        (x["status"].clone(), x["availableTransitions"].clone(), x["viewerCanUpdate"].clone()),
        (json!("DRAFT"), json!(["IN_REVIEW"]), json!(true))
    );
    assert_eq!(x["risks"], json!([{ "title": "Unfair rejections" }]));
    assert_eq!(x["aiSystem"], json!({ "name": "Credit scorer", "impactAssessmentMissing": true }));
    let id = s(&x["id"]);
    // No impacts, no review; DRAFT cannot jump to APPROVED.
    assert_error(
        &c.gql(&update, json!({ "i": { "id": id, "status": "IN_REVIEW" } })).await,
        "BAD_USER_INPUT",
        Some("impacts"),
    );
    assert_error(
        &m.gql(&update, json!({ "i": { "id": id, "status": "APPROVED" } })).await,
        "BAD_USER_INPUT",
        Some("status"),
    );
    let d = c.ok(&update, json!({ "i": { "id": id, "status": "IN_REVIEW", "expectedVersion": 1, "impacts": [{ "area": "FAIRNESS", "description": "Higher rejection rate for young applicants", "likelihood": 3, "severity": 4, "mitigation": "Quarterly disparity testing" }] } }))
        .await;
    let x = &d["updateImpactAssessment"]["impactAssessment"];
    assert_eq!(
        (x["status"].clone(), x["version"].clone(), x["impacts"][0]["score"].clone()),
        (json!("IN_REVIEW"), json!(2), json!(12))
    );
    assert_eq!(
        (x["availableTransitions"].clone(), x["viewerCanTransition"].clone()),
        (json!(["DRAFT"]), json!(true)),
        "contributors cannot approve"
    );
    // Auditors read, never write or move.
    let seen = a
        .ok(
            &format!("query($id: ID!) {{ node(id: $id) {{ ... on ImpactAssessment {{ {AIA} }} }} }}"),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        (
            seen["node"]["viewerCanTransition"].clone(),
            seen["node"]["viewerCanUpdate"].clone(),
            seen["node"]["availableTransitions"].clone()
        ),
        (json!(false), json!(false), json!([]))
    );
    assert_error(&a.gql(&update, json!({ "i": { "id": id, "title": "x" } })).await, "FORBIDDEN", None);
    assert_error(&c.gql(&update, json!({ "i": { "id": id, "status": "APPROVED" } })).await, "FORBIDDEN", None);
    // The manager approves: who and when are recorded.
    let d = m.ok(&update, json!({ "i": { "id": id, "status": "APPROVED", "note": "Reviewed with legal" } })).await;
    let x = &d["updateImpactAssessment"]["impactAssessment"];
    assert_eq!(
        (x["status"].clone(), x["approvedBy"].clone(), x["viewerCanUpdate"].clone()),
        (json!("APPROVED"), json!("m"), json!(false))
    );
    assert!(x["approvedAt"].is_string());
    assert_eq!(x["aiSystem"]["impactAssessmentMissing"], false);
    let rows = app.sql("SELECT action, fields FROM changes WHERE entity_type = 'ImpactAssessment' AND action = 'TRANSITION' ORDER BY seq").await;
    assert_eq!(rows.len(), 2);
    assert!(s(&rows[1][1]).contains("APPROVED") && s(&rows[1][1]).contains("Reviewed with legal"), "{rows:?}");
    // Read-only until reopened; only OWNER/MANAGER reopen.
    let changes = app.count("changes").await;
    assert_error(
        &m.gql(&update, json!({ "i": { "id": id, "title": "Edited" } })).await,
        "BAD_USER_INPUT",
        Some("title"),
    );
    assert_error(&c.gql(&update, json!({ "i": { "id": id, "riskIds": [] } })).await, "BAD_USER_INPUT", Some("riskIds"));
    assert_error(&c.gql(&update, json!({ "i": { "id": id, "status": "DRAFT" } })).await, "FORBIDDEN", None);
    assert_error(
        &m.gql(&update, json!({ "i": { "id": id, "status": "IN_REVIEW" } })).await,
        "BAD_USER_INPUT",
        Some("status"),
    );
    assert_eq!(app.count("changes").await, changes, "nothing written");
    let d = m
        .ok(&update, json!({ "i": { "id": id, "status": "DRAFT", "title": "AIA 2026 (rev. 2)", "riskIds": [] } }))
        .await;
    let x = &d["updateImpactAssessment"]["impactAssessment"];
    assert_eq!(
        (x["status"].clone(), x["approvedBy"].clone(), x["title"].clone(), x["risks"].clone()),
        (json!("DRAFT"), Value::Null, json!("AIA 2026 (rev. 2)"), json!([]))
    );
    assert_eq!(x["aiSystem"]["impactAssessmentMissing"], true, "reopened: no approved assessment any more");
    assert_eq!(app.count("changes").await, changes + 2, "one UPDATE and one TRANSITION row");
    let d = c.ok("query($o: ID!) { organization(id: $o) { impactAssessments(filter: {status: DRAFT}) { totalCount } aiSystems { nodes { impactAssessments { title } } } } }", json!({ "o": org })).await;
    assert_eq!(d["organization"]["impactAssessments"]["totalCount"], 1);
    assert_eq!(
        d["organization"]["aiSystems"]["nodes"][0]["impactAssessments"],
        json!([{ "title": "AIA 2026 (rev. 2)" }])
    );
    // The assessment blocks deleting its AI system.
    let body = c
        .gql(
            "mutation($i: DeleteAiSystemInput!) { deleteAiSystem(input: $i) { deletedId } }",
            json!({ "i": { "id": sys } }),
        )
        .await;
    assert_error(&body, "CONFLICT", None);
    assert!(s(&body["errors"][0]["message"]).contains("1 impact assessment"), "{body}");
}

crate::api_tests!(
    domain_per_category_and_residual_fallback,
    settings_apply_at_read_time,
    acceptance_rule,
    pagination_in_every_order,
    filters,
    version_conflict,
    other_tenants_are_missing,
    role_matrix,
    bad_input_writes_nothing,
    links_to_controls_of_both_standards,
    scopes_and_ai_systems,
    impact_assessment_workflow,
);
