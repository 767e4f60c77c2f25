//! Dashboards and the consultancy portfolio: figures against known fixtures, recounted
//! through the list queries, and a statement count independent of the number of
//! organizations.

use serde_json::{Value, json};

use crate::soa::metric;
use crate::support::{TestApp, assert_error};

const DASHBOARD: &str = "query($o: ID!) { organization(id: $o) { dashboard { soaCoverage { standard applicable undecided excluded implemented partial planned notStarted percentImplemented groups { groupRef group applicable excluded implemented partial planned notStarted percentImplemented } } openNonconformities nonconformitiesByStatus { status count } nonconformityAging { bucket label count } overdueCorrectiveActions readiness { standard percent } } } }";

async fn soa_coverage_matches_the_lists(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER"), ("v", "VIEWER")]).await;
    let m = app.token("m");
    let manager = app.user("m").in_org(&org);
    for (reference, change) in [
        ("A.7.1", json!({ "applicable": false, "justification": "remote" })),
        ("A.7.2", json!({ "applicable": false, "justification": "remote" })),
        ("A.5.1", json!({ "status": "IMPLEMENTED", "decision": "INCLUDED", "inclusionReasons": ["RISK_TREATMENT"] })),
        ("A.5.2", json!({ "status": "IMPLEMENTED", "decision": "INCLUDED", "inclusionReasons": ["RISK_TREATMENT"] })),
        ("A.8.1", json!({ "status": "PARTIAL", "decision": "INCLUDED", "justification": "endpoint fleet" })),
        ("A.6.1", json!({ "status": "PLANNED", "decision": "INCLUDED", "justification": "hiring" })),
        // Implemented while UNDECIDED: counted as undecided, not as implemented.
        ("A.6.2", json!({ "status": "IMPLEMENTED" })),
    ] {
        let id = manager.control_id("ISO27001", reference).await;
        manager.control(&id).with(change).update().await;
    }
    let data = app.ok(&app.token("v"), DASHBOARD, json!({ "o": org })).await;
    let d = &data["organization"]["dashboard"];
    let iso = &d["soaCoverage"][0];
    assert_eq!(iso["standard"], "ISO27001");
    assert_eq!(
        (
            iso["applicable"].clone(),
            iso["undecided"].clone(),
            iso["excluded"].clone(),
            iso["implemented"].clone(),
            iso["partial"].clone(),
            iso["planned"].clone(),
            iso["notStarted"].clone()
        ),
        (json!(91), json!(87), json!(2), json!(2), json!(1), json!(1), json!(0))
    );
    assert_eq!(iso["percentImplemented"], json!(2.2));
    let groups: Vec<&str> =
        iso["groups"].as_array().expect("groups").iter().map(|g| g["groupRef"].as_str().expect("ref")).collect();
    assert_eq!(groups, vec!["A.5", "A.6", "A.7", "A.8"]);
    assert_eq!(iso["groups"][2]["excluded"], 2);
    assert_eq!(iso["groups"][2]["applicable"], 12);
    assert_eq!(d["soaCoverage"][1]["undecided"], 38);
    // Every figure agrees with the list queries.
    let applicable_27001 = app
        .ok(
            &m,
            "query($o: ID!) { organization(id: $o) { i: controls(filter: {standard: ISO27001, decision: INCLUDED}) { totalCount } u: controls(filter: {standard: ISO27001, decision: UNDECIDED}) { totalCount } } }",
            json!({ "o": org }),
        )
        .await;
    let o = &applicable_27001["organization"];
    assert_eq!(
        json!(o["i"]["totalCount"].as_i64().unwrap_or(0) + o["u"]["totalCount"].as_i64().unwrap_or(0)),
        iso["applicable"]
    );
    for (filter, figure) in [
        (json!({ "standard": "ISO27001", "decision": "UNDECIDED" }), &iso["undecided"]),
        (json!({ "standard": "ISO27001", "decision": "EXCLUDED" }), &iso["excluded"]),
        (json!({ "standard": "ISO27001", "status": "IMPLEMENTED", "decision": "INCLUDED" }), &iso["implemented"]),
        (json!({ "standard": "ISO27001", "status": "NOT_STARTED", "decision": "INCLUDED" }), &iso["notStarted"]),
        (json!({ "standard": "ISO27001", "group": "A.7", "decision": "EXCLUDED" }), &iso["groups"][2]["excluded"]),
    ] {
        let list = app
            .ok(
                &m,
                "query($o: ID!, $f: ControlFilter) { organization(id: $o) { controls(filter: $f) { totalCount } } }",
                json!({ "o": org, "f": filter }),
            )
            .await;
        assert_eq!(&list["organization"]["controls"]["totalCount"], figure, "{filter}");
    }
    // Empty figures are zeros, every bucket present.
    assert_eq!(d["openNonconformities"], 0);
    assert_eq!(d["nonconformityAging"].as_array().map(Vec::len), Some(4));
    assert_eq!(d["nonconformitiesByStatus"].as_array().map(Vec::len), Some(6));
    assert_eq!(d["readiness"][0]["standard"], "ISO27001");
}

const UPDATE_ACTION: &str =
    "mutation($i: UpdateCorrectiveActionInput!) { updateCorrectiveAction(input: $i) { correctiveAction { id } } }";
const TRANSITION_AUDIT: &str = "mutation($i: TransitionAuditInput!) { transitionAudit(input: $i) { audit { id } } }";

fn days_ago(days: i64, hours: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days) - chrono::Duration::hours(hours))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset)).to_string()
}

async fn improvement_figures_against_a_fixture(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER"), ("v", "VIEWER"), ("i", "INTEGRATION")]).await;
    let m = app.token("m");
    let manager = app.user("m").in_org(&org);
    // Open NCRs opened at the edges of each aging bucket, plus one closed-looking old one.
    let ages = [(0, 1), (30, 23), (31, 0), (90, 23), (91, 0), (180, 23), (181, 0), (400, 0)];
    let mut ncrs = Vec::new();
    for (k, (d, h)) in ages.iter().enumerate() {
        let id = manager.nonconformity().title(&format!("NCR {k}")).source("INCIDENT").severity("MINOR").create().await;
        let uuid = id.trim_start_matches("ncr_").to_string();
        // The API never backdates: time passes here.
        app.sql(&format!(
            "UPDATE nonconformities SET created_at = '{}' WHERE id = {}",
            days_ago(*d, *h),
            uuid_literal(app, &uuid)
        ))
        .await;
        ncrs.push(id);
    }
    // Corrective actions: overdue (yesterday), due today (not overdue), done in the past (not
    // overdue), cancelled in the past (not overdue), no due date.
    for (due, finish) in [
        (Some(day(-1)), None),
        (Some(day(0)), None),
        (Some(day(-5)), Some("DONE")),
        (Some(day(-5)), Some("CANCELLED")),
        (None, None),
    ] {
        let id = manager.corrective_action(&ncrs[0]).title("fix").due(due.as_deref()).create().await;
        if let Some(status) = finish {
            app.ok(&m, UPDATE_ACTION, json!({ "i": { "id": id, "status": status, "completionNote": "done" } })).await;
        }
    }
    // Audits: starting today and in 90 days (upcoming), in 91 days and yesterday (not), and a
    // cancelled one inside the window (not).
    let mut upcoming = Vec::new();
    for (title, start, cancel) in [
        ("today", 0, false),
        ("in 90", 90, false),
        ("in 91", 91, false),
        ("yesterday", -1, false),
        ("cancelled", 10, true),
    ] {
        let audit =
            manager.audit().title(title).kind("INTERNAL").mode("INTEGRATED").standards(&["ISO27001", "ISO42001"]);
        let id = audit.planned(&day(start), &day(start + 2)).create().await;
        if cancel {
            app.ok(&m, TRANSITION_AUDIT, json!({ "i": { "id": id, "to": "CANCELLED", "reason": "moved" } })).await;
        } else if (0..=90).contains(&start) {
            upcoming.push(title);
        }
    }
    let q = "query($o: ID!) { organization(id: $o) { dashboard { openNonconformities nonconformitiesByStatus { status count } nonconformityAging { bucket label count } overdueCorrectiveActions upcomingAudits { title } } } }";
    let data = app.ok(&app.token("v"), q, json!({ "o": org })).await;
    let d = &data["organization"]["dashboard"];
    assert_eq!(d["openNonconformities"], 8);
    assert_eq!(d["nonconformitiesByStatus"][0], json!({ "status": "OPEN", "count": 8 }));
    let aging: Vec<(Value, Value)> = d["nonconformityAging"]
        .as_array()
        .expect("aging")
        .iter()
        .map(|b| (b["label"].clone(), b["count"].clone()))
        .collect();
    assert_eq!(
        aging,
        vec![
            (json!("0-30"), json!(2)),
            (json!("31-90"), json!(2)),
            (json!("91-180"), json!(2)),
            (json!("180+"), json!(2))
        ]
    );
    assert_eq!(d["overdueCorrectiveActions"], 1);
    let titles: Vec<&str> =
        d["upcomingAudits"].as_array().expect("audits").iter().map(|a| a["title"].as_str().expect("title")).collect();
    assert_eq!(titles, upcoming);
    // The figures agree with the lists.
    let lists = app
        .ok(&m, "query($o: ID!) { organization(id: $o) { nonconformities(first: 100) { totalCount nodes { correctiveActions { overdue } } } } }", json!({ "o": org }))
        .await;
    let l = &lists["organization"]["nonconformities"];
    assert_eq!(l["totalCount"], d["openNonconformities"]);
    let overdue = l["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .flat_map(|n| n["correctiveActions"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["overdue"] == true)
        .count();
    assert_eq!(json!(overdue), d["overdueCorrectiveActions"]);
    // INTEGRATION reads NCR figures, but no audits.
    let data = app.ok(&app.token("i"), q, json!({ "o": org })).await;
    assert_eq!(data["organization"]["dashboard"]["upcomingAudits"], json!([]));
    assert_eq!(data["organization"]["dashboard"]["openNonconformities"], 8);
}

const RISK_FIGURES: &str = "query($o: ID!) { organization(id: $o) { dashboard { inherent: riskHeatMap { likelihood impact count level } residual: riskHeatMap(residual: true) { likelihood impact count } risksByDomain { domain count } risksByLevel { level count } appetiteBreaches aiSystemsWithoutImpactAssessment } } }";

async fn risk_figures_against_a_fixture(app: &TestApp) {
    let org = app.org("acme", &[("m", "MANAGER"), ("v", "VIEWER")]).await;
    let manager = app.user("m").in_org(&org);
    let future = day(60);
    let risks = [
        json!({ "title": "r1", "category": "CONFIDENTIALITY", "likelihood": 4, "impact": 4, "residualLikelihood": 2, "residualImpact": 3 }),
        json!({ "title": "r2", "category": "INTEGRITY", "likelihood": 3, "impact": 4 }),
        json!({ "title": "r3", "category": "BIAS_FAIRNESS", "likelihood": 2, "impact": 4, "treatment": "ACCEPT", "acceptanceJustification": "pilot only", "acceptedBy": "cto", "owner": "cto", "acceptanceExpiresOn": future }),
        json!({ "title": "r4", "category": "TRANSPARENCY", "likelihood": 1, "impact": 2 }),
        json!({ "title": "r5", "category": "MODEL_INTEGRITY", "likelihood": 5, "impact": 5 }),
        json!({ "title": "r6", "category": "AI_SUBJECT_IMPACT", "likelihood": 3, "impact": 3, "treatment": "ACCEPT", "acceptanceJustification": "temporary", "acceptedBy": "cto", "owner": "cto", "acceptanceExpiresOn": future }),
        json!({ "title": "closed", "category": "AVAILABILITY", "likelihood": 5, "impact": 5, "status": "CLOSED" }),
    ];
    for r in risks {
        manager.risk().with(r).create().await;
    }
    // r6's acceptance has expired (time passes; the API never backdates): it counts as a
    // breach again.
    app.sql(&format!("UPDATE risks SET acceptance_expires_on = '{}' WHERE title = 'r6'", day(-1))).await;
    // AI systems: one DEPLOYED without an approved assessment, one still in design.
    for (name, stage) in [("chatbot", "DEPLOYED"), ("scoring", "DESIGN")] {
        manager.ai_system().name(name).stage(stage).role("DEPLOYER").create().await;
    }

    let data = app.ok(&app.token("v"), RISK_FIGURES, json!({ "o": org })).await;
    let d = &data["organization"]["dashboard"];
    let cells = d["inherent"].as_array().expect("cells");
    assert_eq!(cells.len(), 25, "every cell of the 5 × 5 matrix");
    let count = |cells: &Value, l: i64, i: i64| {
        cells
            .as_array()
            .expect("cells")
            .iter()
            .find(|c| c["likelihood"] == l && c["impact"] == i)
            .map(|c| c["count"].as_i64().unwrap_or(-1))
            .unwrap_or(-1)
    };
    for (l, i) in [(4, 4), (3, 4), (2, 4), (1, 2), (5, 5), (3, 3)] {
        assert_eq!(count(&d["inherent"], l, i), 1, "inherent {l}×{i}");
    }
    assert_eq!(
        cells.iter().map(|c| c["count"].as_i64().unwrap_or(0)).sum::<i64>(),
        6,
        "closed risks are not on the map"
    );
    assert_eq!(count(&d["residual"], 4, 4), 0);
    assert_eq!(count(&d["residual"], 2, 3), 1, "residual ratings move r1");
    assert_eq!(
        cells.iter().find(|c| c["likelihood"] == 4 && c["impact"] == 4).map(|c| c["level"].clone()),
        Some(json!("CRITICAL"))
    );
    assert_eq!(
        d["risksByDomain"],
        json!([{ "domain": "SECURITY", "count": 2 }, { "domain": "AI", "count": 3 }, { "domain": "SHARED", "count": 1 }])
    );
    assert_eq!(
        d["risksByLevel"],
        json!([{ "level": "LOW", "count": 1 }, { "level": "MEDIUM", "count": 3 }, { "level": "HIGH", "count": 1 }, { "level": "CRITICAL", "count": 1 }])
    );
    assert_eq!(d["appetiteBreaches"], 3, "r2, r5 and r6 (expired acceptance)");
    assert_eq!(d["aiSystemsWithoutImpactAssessment"], 1);

    // The figures agree with the lists.
    let lists = manager.ok("query($o: ID!) { organization(id: $o) { breaches: risks(filter: {appetiteBreach: true}) { totalCount } ai: risks(filter: {domain: AI}) { totalCount } missing: aiSystems(filter: {impactAssessmentMissing: true}) { totalCount } } }", json!({ "o": org }))
        .await;
    let l = &lists["organization"];
    assert_eq!(l["breaches"]["totalCount"], d["appetiteBreaches"]);
    assert_eq!(l["ai"]["totalCount"], 3);
    assert_eq!(l["missing"]["totalCount"], d["aiSystemsWithoutImpactAssessment"]);

    // Settings re-evaluate at read time: a higher AI appetite leaves two breaches.
    manager
        .ok(
            "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { id } } }",
            json!({ "i": { "id": org, "riskSettings": { "appetite": { "ai": 9 } } } }),
        )
        .await;
    let data = app.ok(&app.token("v"), RISK_FIGURES, json!({ "o": org })).await;
    assert_eq!(data["organization"]["dashboard"]["appetiteBreaches"], 2);
    let data = app.ok(&app.admin_token(), "{ portfolio { totalAppetiteBreaches } }", json!({})).await;
    assert_eq!(data["portfolio"]["totalAppetiteBreaches"], 2);
}

/// How the test database spells a UUID literal.
fn uuid_literal(app: &TestApp, hex: &str) -> String {
    match app.backend {
        crate::support::Backend::Sqlite => format!("X'{hex}'"),
        crate::support::Backend::Postgres => format!("'{hex}'::uuid"),
    }
}

const PORTFOLIO: &str = "{ organizations(first: 50) { nodes { name dashboard { riskHeatMap { count } residual: riskHeatMap(residual: true) { count } risksByDomain { count } risksByLevel { count } appetiteBreaches aiSystemsWithoutImpactAssessment upcomingAudits { title } soaCoverage { standard percentImplemented groups { groupRef implemented } } openNonconformities nonconformitiesByStatus { status count } nonconformityAging { count } overdueCorrectiveActions readiness { standard percent } } } } portfolio { organizations totalOpenNonconformities totalAppetiteBreaches lowestReadiness { organization { name } standard percent } } }";

async fn portfolio_statements_do_not_grow_with_organizations(app: &TestApp) {
    let mut counts = Vec::new();
    let mut created = 0;
    for target in [2, 7] {
        while created < target {
            app.org(&format!("client-{created:02}"), &[("consultant", "VIEWER")]).await;
            created += 1;
        }
        let token = app.token("consultant");
        // Warm-up (first-use lookups), then measure.
        app.ok(&token, PORTFOLIO, json!({})).await;
        let before = metric(app, "annex_db_queries_total").await;
        let data = app.ok(&token, PORTFOLIO, json!({})).await;
        let used = metric(app, "annex_db_queries_total").await - before;
        assert_eq!(data["organizations"]["nodes"].as_array().map(Vec::len), Some(target));
        assert_eq!(data["portfolio"]["organizations"], json!(target));
        counts.push(used);
    }
    assert_eq!(counts[0], counts[1], "statements for 2 and 7 organizations: {counts:?}");
    assert!(counts[0] <= 24, "{counts:?}");
}

async fn portfolio_figures(app: &TestApp) {
    let a = app.org("alpha", &[("consultant", "MANAGER")]).await;
    app.org("beta", &[("consultant", "VIEWER")]).await;
    app.org("gamma", &[]).await;
    let token = app.token("consultant");
    // alpha makes progress on both standards; beta on none.
    for standard in ["ISO27001", "ISO42001"] {
        let clause = app
            .ok(&token, "query($o: ID!, $s: StandardCode) { organization(id: $o) { clauseAssessments(first: 1, filter: {leavesOnly: true, standard: $s}) { nodes { id } } } }", json!({ "o": a, "s": standard }))
            .await["organization"]["clauseAssessments"]["nodes"][0]["id"]
            .clone();
        app.ok(&token, "mutation($i: UpdateClauseAssessmentInput!) { updateClauseAssessment(input: $i) { clauseAssessment { id } } }", json!({ "i": { "id": clause, "status": "ADDRESSED" } })).await;
    }
    let data = app.ok(&token, "{ portfolio { organizations totalOpenNonconformities lowestReadiness { organization { name } standard percent } } }", json!({})).await;
    let p = &data["portfolio"];
    assert_eq!(p["organizations"], 2, "only the caller's organizations");
    assert_eq!(p["lowestReadiness"]["organization"]["name"], "Org beta");
    assert_eq!(p["lowestReadiness"]["percent"], 0.0);
    let admin = app.ok(&app.admin_token(), "{ portfolio { organizations } }", json!({})).await;
    assert_eq!(admin["portfolio"]["organizations"], 3);
    let nobody =
        app.ok(&app.token("nobody"), "{ portfolio { organizations lowestReadiness { percent } } }", json!({})).await;
    assert_eq!(nobody["portfolio"], json!({ "organizations": 0, "lowestReadiness": null }));
}

async fn dashboards_of_other_tenants_are_invisible(app: &TestApp) {
    let b = app.org("beta", &[("bob", "OWNER")]).await;
    app.org("alpha", &[("alice", "OWNER")]).await;
    let data = app.ok(&app.token("alice"), DASHBOARD, json!({ "o": b })).await;
    assert_eq!(data["organization"], Value::Null);
    assert_error(&app.gql("", DASHBOARD, json!({ "o": b })).await, "UNAUTHENTICATED", None);
}

crate::api_tests!(
    soa_coverage_matches_the_lists,
    improvement_figures_against_a_fixture,
    risk_figures_against_a_fixture,
    portfolio_statements_do_not_grow_with_organizations,
    portfolio_figures,
    dashboards_of_other_tenants_are_invisible,
);
