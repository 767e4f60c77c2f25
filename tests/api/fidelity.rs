//! Issue 12, domain fidelity: SoA decisions (ISO 27001 6.1.3 d), AI relevance tags, risk
//! acceptance that lapses (6.1.3 f), risk owners (6.1.2 c 2), opportunities (6.1.1), and
//! the migration of wave-1 data.

use serde_json::{Value, json};

use crate::soa::control_id;
use crate::support::{Backend, TestApp, assert_error, fresh_empty_database, raw_sql};

const UPDATE: &str = "mutation($i: UpdateControlInput!) { updateControl(input: $i) { control { id decision applicable justification inclusionReasons status version } } }";
const RISK: &str = "id kind owner treatment residualScore acceptedScore acceptanceLapsed acceptedBy acceptedOnBehalfOf exceedsAppetite appetiteBreach domain";

async fn readiness(app: &TestApp, token: &str, org: &str, standard: &str) -> Value {
    let data = app
        .ok(
            token,
            "query($o: ID!) { organization(id: $o) { readiness { standard percent controlsApplicable controlsUndecided controlsImplemented } } }",
            json!({ "o": org }),
        )
        .await;
    data["organization"]["readiness"]
        .as_array()
        .expect("readiness")
        .iter()
        .find(|r| r["standard"] == standard)
        .cloned()
        .expect("standard")
}

async fn soa_rows_start_undecided_and_every_decision_is_justified(app: &TestApp) {
    let t = app.tenant("fid-soa").await;
    let c = &t.contributor;
    let data = c
        .ok(
            "query($o: ID!) { organization(id: $o) { all: controls(first: 1) { totalCount } undecided: controls(first: 100, filter: {decision: UNDECIDED}) { totalCount nodes { decision applicable version } } } }",
            json!({ "o": t.id }),
        )
        .await;
    let o = &data["organization"];
    assert_eq!((o["all"]["totalCount"].as_i64(), o["undecided"]["totalCount"].as_i64()), (Some(131), Some(131)));
    let nodes = o["undecided"]["nodes"].as_array().expect("nodes");
    assert!(nodes.iter().all(|n| n["decision"] == "UNDECIDED" && n["applicable"] == false), "{nodes:?}");

    let id = control_id(app, &c.token, &t.id, "ISO27001", "A.5.1").await;
    // Inclusion with nothing to justify it: refused, nothing written.
    let body = c.gql(UPDATE, json!({ "i": { "id": id, "decision": "INCLUDED" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("justification"));
    let row = c.node(&id, "Control", "decision version").await;
    assert_eq!((row["decision"].as_str(), row["version"].as_i64()), (Some("UNDECIDED"), Some(1)));
    // A blank text is no justification either.
    let body = c.gql(UPDATE, json!({ "i": { "id": id, "decision": "INCLUDED", "justification": "  " } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("justification"));
    // An inclusion reason justifies an inclusion.
    let ok = c
        .ok(UPDATE, json!({ "i": { "id": id, "decision": "INCLUDED", "inclusionReasons": ["RISK_TREATMENT"] } }))
        .await;
    let row = &ok["updateControl"]["control"];
    assert_eq!((row["decision"].as_str(), row["applicable"].as_bool()), (Some("INCLUDED"), Some(true)));

    // An exclusion needs a text; reasons do not justify it.
    let other = control_id(app, &c.token, &t.id, "ISO27001", "A.7.1").await;
    let body = c
        .gql(UPDATE, json!({ "i": { "id": other, "decision": "EXCLUDED", "inclusionReasons": ["BEST_PRACTICE"] } }))
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("justification"));
    let ok = c
        .ok(UPDATE, json!({ "i": { "id": other, "decision": "EXCLUDED", "justification": "no physical premises" } }))
        .await;
    assert_eq!(ok["updateControl"]["control"]["applicable"], false);

    // The deprecated input still works, and may not contradict `decision`.
    let third = control_id(app, &c.token, &t.id, "ISO42001", "A.2.2").await;
    let body = c
        .gql(UPDATE, json!({ "i": { "id": third, "decision": "INCLUDED", "applicable": false, "justification": "x" } }))
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("applicable"));
    let ok = c.ok(UPDATE, json!({ "i": { "id": third, "applicable": true, "justification": "AI policy" } })).await;
    assert_eq!(ok["updateControl"]["control"]["decision"], "INCLUDED");
    // And back to UNDECIDED: allowed, needs nothing.
    let ok = c.ok(UPDATE, json!({ "i": { "id": third, "decision": "UNDECIDED" } })).await;
    assert_eq!(ok["updateControl"]["control"]["applicable"], false);

    // Filters: by decision, and the deprecated applicable one (INCLUDED only).
    let q =
        "query($o: ID!, $f: ControlFilter) { organization(id: $o) { controls(first: 1, filter: $f) { totalCount } } }";
    let count = |f: Value| {
        let q = q.to_string();
        let t = &t;
        async move {
            let d = t.viewer.ok(&q, json!({ "o": t.id, "f": f })).await;
            d["organization"]["controls"]["totalCount"].as_i64().expect("count")
        }
    };
    assert_eq!(count(json!({ "decision": "INCLUDED" })).await, 1);
    assert_eq!(count(json!({ "decision": "EXCLUDED" })).await, 1);
    assert_eq!(count(json!({ "decision": "UNDECIDED" })).await, 129);
    assert_eq!(count(json!({ "applicable": true })).await, 1);
    assert_eq!(count(json!({ "applicable": false })).await, 130);
}

async fn undecided_rows_count_as_not_done(app: &TestApp) {
    let t = app.tenant("fid-done").await;
    let c = &t.contributor;
    let before = readiness(app, &c.token, &t.id, "ISO27001").await;
    assert_eq!((before["controlsApplicable"].as_i64(), before["controlsUndecided"].as_i64()), (Some(93), Some(93)));

    // Implemented but undecided: not done anywhere.
    let id = control_id(app, &c.token, &t.id, "ISO27001", "A.5.1").await;
    c.ok(UPDATE, json!({ "i": { "id": id, "status": "IMPLEMENTED" } })).await;
    let r = readiness(app, &c.token, &t.id, "ISO27001").await;
    assert_eq!(r["controlsImplemented"], 0);
    let q = "query($o: ID!) { organization(id: $o) { dashboard { soaCoverage { standard applicable undecided implemented percentImplemented } } } }";
    let d = c.ok(q, json!({ "o": t.id })).await;
    let cov = d["organization"]["dashboard"]["soaCoverage"]
        .as_array()
        .expect("coverage")
        .iter()
        .find(|s| s["standard"] == "ISO27001")
        .cloned()
        .expect("27001");
    assert_eq!((cov["undecided"].as_i64(), cov["implemented"].as_i64()), (Some(93), Some(0)));

    // Decided: done.
    c.ok(UPDATE, json!({ "i": { "id": id, "decision": "INCLUDED", "justification": "policy set" } })).await;
    let r = readiness(app, &c.token, &t.id, "ISO27001").await;
    assert_eq!((r["controlsImplemented"].as_i64(), r["controlsUndecided"].as_i64()), (Some(1), Some(92)));
    let d = c.ok(q, json!({ "o": t.id })).await;
    let cov = &d["organization"]["dashboard"]["soaCoverage"][0];
    assert_eq!((cov["undecided"].as_i64(), cov["implemented"].as_i64()), (Some(92), Some(1)));

    // The CSV says "undecided", never "yes", for an untouched row; decision comes last.
    let res = c.get(&format!("/organizations/{}/soa.csv", t.id)).await;
    let csv = res.text().await.expect("csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("standard,ref,title,group,applicable,justification,status,owner,mapped_refs,decision,inclusion_reasons")
    );
    let row = |r: &str| csv.lines().find(|l| l.starts_with(&format!("ISO27001,{r},"))).expect("row").to_string();
    let a51 = row("A.5.1");
    assert!(a51.contains(",yes,policy set,IMPLEMENTED,") && a51.ends_with(",INCLUDED,"), "{a51}");
    let a52 = row("A.5.2");
    assert!(a52.contains(",undecided,,NOT_STARTED,") && a52.ends_with(",UNDECIDED,"), "{a52}");
}

async fn seed_tags_ai_relevant_iso27001_controls(app: &TestApp) {
    let t = app.tenant("fid-ai").await;
    let d = t
        .viewer
        .ok(
            "query($o: ID!) { organization(id: $o) { controls(first: 100, filter: {aiRelevant: true}) { nodes { standard ref aiRelevance } } } }",
            json!({ "o": t.id }),
        )
        .await;
    let nodes = d["organization"]["controls"]["nodes"].as_array().expect("nodes");
    let refs: Vec<&str> = nodes.iter().map(|n| n["ref"].as_str().expect("ref")).collect();
    assert_eq!(refs, ["A.8.10", "A.8.11", "A.8.12", "A.8.23", "A.8.24"]);
    assert!(nodes.iter().all(|n| n["standard"] == "ISO27001"));
    let crypto = nodes[4]["aiRelevance"].as_str().expect("text");
    assert!(crypto.contains("model protection") && crypto.contains("inference"), "{crypto}");
    // The same ids in ISO 42001 mean other things: untagged.
    let d = t
        .viewer
        .ok(
            "query($o: ID!) { organization(id: $o) { controls(first: 1, filter: {aiRelevant: false, standard: ISO42001}) { totalCount } } }",
            json!({ "o": t.id }),
        )
        .await;
    assert_eq!(d["organization"]["controls"]["totalCount"], 38);
}

async fn custom_controls_start_included_only_when_justified(app: &TestApp) {
    let t = app.tenant("fid-custom").await;
    let q = "mutation($i: CreateCustomControlInput!) { createCustomControl(input: $i) { control { decision applicable inclusionReasons } } }";
    let mk = |r: &str, extra: Value| {
        let mut i = json!({ "organizationId": t.id, "standard": "ISO27001", "ref": r, "title": "Own control" });
        for (k, v) in extra.as_object().expect("object") {
            i[k] = v.clone();
        }
        json!({ "i": i })
    };
    let d = t.contributor.ok(q, mk("ORG-1", json!({}))).await;
    assert_eq!(d["createCustomControl"]["control"]["decision"], "UNDECIDED");
    let d = t.contributor.ok(q, mk("ORG-2", json!({ "justification": "client contract clause 7" }))).await;
    assert_eq!(d["createCustomControl"]["control"]["decision"], "INCLUDED");
    let d = t.contributor.ok(q, mk("ORG-3", json!({ "inclusionReasons": ["CONTRACTUAL", "CONTRACTUAL"] }))).await;
    let c = &d["createCustomControl"]["control"];
    assert_eq!((c["decision"].as_str(), c["inclusionReasons"].clone()), (Some("INCLUDED"), json!(["CONTRACTUAL"])));
}

async fn risk_owner_is_needed_once_a_risk_leaves_identified(app: &TestApp) {
    let t = app.tenant("fid-owner").await;
    let before = app.count("risks").await;
    let body = t.contributor.risk().status("ASSESSED").set("owner", Value::Null).send().await;
    assert_error(&body, "BAD_USER_INPUT", Some("owner"));
    let body = t.contributor.risk().status("ASSESSED").owner("  ").send().await;
    assert_error(&body, "BAD_USER_INPUT", Some("owner"));
    assert_eq!(app.count("risks").await, before, "nothing written");

    let id = t.contributor.risk().set("owner", Value::Null).create().await;
    let q = "mutation($i: UpdateRiskInput!) { updateRisk(input: $i) { risk { status owner version } } }";
    let body = t.contributor.gql(q, json!({ "i": { "id": id, "status": "TREATING" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("owner"));
    let d = t.contributor.ok(q, json!({ "i": { "id": id, "status": "TREATING", "owner": "risk.owner" } })).await;
    assert_eq!(d["updateRisk"]["risk"]["status"], "TREATING");
    // Clearing the owner of a risk in treatment is refused too.
    let body = t.contributor.gql(q, json!({ "i": { "id": id, "owner": null } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("owner"));
}

async fn acceptance_is_by_the_owner_or_for_them_and_lapses_when_the_score_rises(app: &TestApp) {
    let t = app.tenant("fid-accept").await;
    let c = &t.contributor;
    // 4 × 4 = 16 is above the SECURITY appetite (9).
    let accept = |by: &str| {
        json!({
            "likelihood": 4, "impact": 4, "owner": "ciso@fid-accept", "status": "ASSESSED",
            "treatment": "ACCEPT", "acceptanceJustification": "cost of treatment exceeds loss",
            "acceptedBy": by, "acceptanceExpiresOn": "2099-01-01"
        })
    };
    // A contributor may not accept for someone else, nor name themself.
    let body = c.risk().with(accept("someone.else")).send().await;
    assert_error(&body, "BAD_USER_INPUT", Some("acceptedBy"));
    let body = c.risk().with(accept(&c.sub)).send().await;
    assert_error(&body, "BAD_USER_INPUT", Some("acceptedBy"));
    // A manager may, naming themself: recorded as acting for the owner.
    let m = t.manager.risk().with(accept(&t.manager.sub)).create_returning(RISK).await;
    assert_eq!(m["acceptedOnBehalfOf"], "ciso@fid-accept");
    assert_eq!(m["appetiteBreach"], false);
    // But not naming another member.
    let body = t.manager.risk().with(accept(&t.owner.sub)).send().await;
    assert_error(&body, "BAD_USER_INPUT", Some("acceptedBy"));

    // The owner accepts: the residual score is recorded.
    let r = c.risk().with(accept("CISO@fid-accept")).create_returning(RISK).await;
    assert_eq!((r["acceptedScore"].as_i64(), r["acceptedOnBehalfOf"].as_str()), (Some(16), None));
    assert_eq!((r["exceedsAppetite"].as_bool(), r["appetiteBreach"].as_bool()), (Some(true), Some(false)));
    assert_eq!(r["acceptanceLapsed"], Value::Null);
    let id = r["id"].as_str().expect("id").to_string();

    // The residual score falls: still covered.
    let q = format!("mutation($i: UpdateRiskInput!) {{ updateRisk(input: $i) {{ risk {{ {RISK} }} }} }}");
    let d = c.ok(&q, json!({ "i": { "id": id, "residualLikelihood": 3 } })).await;
    let r = &d["updateRisk"]["risk"];
    assert_eq!((r["residualScore"].as_i64(), r["acceptedScore"].as_i64()), (Some(12), Some(16)));
    assert_eq!(r["appetiteBreach"], false);
    // It rises above what was accepted: the acceptance lapses and the breach is back.
    let d = c.ok(&q, json!({ "i": { "id": id, "likelihood": 5, "impact": 4, "residualLikelihood": null } })).await;
    let r = &d["updateRisk"]["risk"];
    assert_eq!(r["residualScore"], 20);
    assert_eq!(r["appetiteBreach"], true);
    let why = r["acceptanceLapsed"].as_str().expect("lapsed");
    assert!(why.contains("20") && why.contains("16"), "{why}");
    // The register's filter and the dashboard agree.
    let f = t
        .viewer
        .ok(
            "query($o: ID!) { organization(id: $o) { risks(first: 10, filter: {appetiteBreach: true}) { nodes { id } } dashboard { appetiteBreaches } } }",
            json!({ "o": t.id }),
        )
        .await;
    assert_eq!(f["organization"]["risks"]["nodes"], json!([{ "id": id }]));
    assert_eq!(f["organization"]["dashboard"]["appetiteBreaches"], 1);
    // Accepting again at the new score holds.
    let d = c.ok(&q, json!({ "i": { "id": id, "acceptedBy": "ciso@fid-accept" } })).await;
    let r = &d["updateRisk"]["risk"];
    assert_eq!((r["acceptedScore"].as_i64(), r["appetiteBreach"].as_bool()), (Some(20), Some(false)));
    // Leaving ACCEPT clears the acceptance.
    let d = c.ok(&q, json!({ "i": { "id": id, "treatment": "MITIGATE" } })).await;
    let r = &d["updateRisk"]["risk"];
    assert_eq!((r["acceptedScore"].clone(), r["acceptedBy"].clone()), (Value::Null, Value::Null));
}

async fn opportunities_never_breach_the_appetite(app: &TestApp) {
    let t = app.tenant("fid-opp").await;
    let o = t
        .contributor
        .risk()
        .with(json!({ "kind": "OPPORTUNITY", "likelihood": 5, "impact": 5, "category": "THIRD_PARTY" }))
        .create_returning(RISK)
        .await;
    assert_eq!((o["kind"].as_str(), o["domain"].as_str()), (Some("OPPORTUNITY"), Some("SHARED")));
    assert_eq!((o["exceedsAppetite"].as_bool(), o["appetiteBreach"].as_bool()), (Some(false), Some(false)));
    let threat = t.contributor.risk().with(json!({ "likelihood": 5, "impact": 5 })).create_returning(RISK).await;
    assert_eq!((threat["kind"].as_str(), threat["appetiteBreach"].as_bool()), (Some("THREAT"), Some(true)));
    let d = t
        .viewer
        .ok(
            "query($o: ID!) { organization(id: $o) {
                opp: risks(first: 10, filter: {kind: OPPORTUNITY}) { totalCount }
                breaches: risks(first: 10, filter: {appetiteBreach: true}) { totalCount }
                exceeding: risks(first: 10, filter: {exceedsAppetite: true}) { totalCount }
                dashboard { appetiteBreaches riskHeatMap { likelihood impact count } } } }",
            json!({ "o": t.id }),
        )
        .await;
    let org = &d["organization"];
    assert_eq!(
        (
            org["opp"]["totalCount"].as_i64(),
            org["breaches"]["totalCount"].as_i64(),
            org["exceeding"]["totalCount"].as_i64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(org["dashboard"]["appetiteBreaches"], 1);
    let cells: i64 = org["dashboard"]["riskHeatMap"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| c["count"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(cells, 1, "opportunities are not on the threat heat map");
}

async fn new_categories_are_shared(app: &TestApp) {
    let t = app.tenant("fid-cat").await;
    for cat in ["PRIVACY", "LEGAL_REGULATORY", "THIRD_PARTY"] {
        let r = t.contributor.risk().category(cat).create_returning("domain category").await;
        assert_eq!((r["domain"].as_str(), r["category"].as_str()), (Some("SHARED"), Some(cat)));
    }
}

crate::api_tests!(
    soa_rows_start_undecided_and_every_decision_is_justified,
    undecided_rows_count_as_not_done,
    seed_tags_ai_relevant_iso27001_controls,
    custom_controls_start_included_only_when_justified,
    risk_owner_is_needed_once_a_risk_leaves_identified,
    acceptance_is_by_the_owner_or_for_them_and_lapses_when_the_score_rises,
    opportunities_never_breach_the_appetite,
    new_categories_are_shared,
);

// ---------------------------------------------------------------------------------------
// The migration of wave-1 data: the database as main left it before issue 12 (its first
// nine migrations), rows written the way that binary wrote them, then every migration.

const WAVE1_MIGRATIONS: u32 = 9;

/// An empty database migrated to the wave-1 state (its URL, and a connection to migrate
/// it further); `None` when PostgreSQL is not configured.
async fn wave1_database(backend: Backend) -> Option<(String, sea_orm::DatabaseConnection)> {
    use migration::MigratorTrait;
    let url = fresh_empty_database(backend).await?;
    let db = sea_orm::Database::connect(&url).await.expect("connect");
    migration::Migrator::up(&db, Some(WAVE1_MIGRATIONS)).await.expect("wave-1 migrations");
    Some((url, db))
}

async fn wave1_soa_and_risks_migrate(backend: Backend) {
    use migration::MigratorTrait;
    let Some((url, db)) = wave1_database(backend).await else { return };
    let org = "11111111-1111-1111-1111-111111111111";
    let now = "2026-11-30 10:00:00";
    raw_sql(&url, &format!("INSERT INTO organizations (id, name, slug, version, created_at, updated_at) VALUES ('{org}', 'Wave One', 'wave-one', 1, '{now}', '{now}')")).await;
    let control = |id: u8, r: &str, custom: bool, applicable: bool, justification: Option<&str>, version: i32| {
        let j = justification.map(|j| format!("'{j}'")).unwrap_or("NULL".into());
        format!(
            "INSERT INTO controls (id, organization_id, standard, ref, title, group_ref, group_title, subgroup_ref, is_custom, ai_specific, position, applicable, justification, inclusion_reasons, status, owner, implementation_notes, evidence, version, created_at, updated_at)
             VALUES ('00000000-0000-0000-0000-0000000000{id:02}', '{org}', 'ISO27001', '{r}', 't', 'A.8', 'g', NULL, {custom}, false, {id}, {applicable}, {j}, '[]', 'NOT_STARTED', NULL, NULL, '[]', {version}, '{now}', '{now}')"
        )
    };
    raw_sql(&url, &control(1, "A.8.24", false, true, None, 1)).await; // untouched
    raw_sql(&url, &control(2, "A.8.1", false, true, None, 3)).await; // touched, applicable
    raw_sql(&url, &control(3, "A.7.1", false, false, Some("no premises"), 2)).await; // excluded
    raw_sql(&url, &control(4, "ORG-1", true, true, Some("contract"), 1)).await; // custom, justified
    raw_sql(&url, &control(5, "ORG-2", true, true, None, 1)).await; // custom, bare
    let risk = |id: u8, treatment: &str, effective: i32| {
        format!(
            "INSERT INTO risks (id, organization_id, title, description, category, domain, likelihood, impact, inherent_score, residual_likelihood, residual_impact, effective_score, treatment, acceptance_justification, accepted_by, acceptance_expires_on, owner, status, review_date, scope_id, ai_system_id, version, created_at, updated_at)
             VALUES ('00000000-0000-0000-0000-0000000001{id:02}', '{org}', 'r{id}', NULL, 'CONFIDENTIALITY', 'SECURITY', 4, 4, 16, NULL, NULL, {effective}, {treatment}, NULL, NULL, NULL, NULL, 'IDENTIFIED', NULL, NULL, NULL, 1, '{now}', '{now}')"
        )
    };
    raw_sql(&url, &risk(1, "'ACCEPT'", 16)).await;
    raw_sql(&url, &risk(2, "'MITIGATE'", 16)).await;
    raw_sql(&url, &risk(3, "NULL", 16)).await;

    migration::Migrator::up(&db, None).await.expect("issue-12 migrations");
    let got = raw_sql(
        &url,
        // NULLs as '' / -1: the raw reader decodes SQLite's NULL integers as 0.
        "SELECT ref, decision, CASE WHEN applicable THEN 1 ELSE 0 END, COALESCE(justification, ''), COALESCE(ai_relevance, '') FROM controls ORDER BY position",
    )
    .await;
    let expect = |r: &str, d: &str, a: bool, j: Option<&str>| (r.to_string(), d.to_string(), a, j.map(str::to_string));
    let got_simple: Vec<(String, String, bool, Option<String>)> = got
        .iter()
        .map(|r| {
            (
                r[0].as_str().expect("ref").to_string(),
                r[1].as_str().expect("decision").to_string(),
                r[2].as_i64().expect("applicable") == 1,
                r[3].as_str().filter(|j| !j.is_empty()).map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        got_simple,
        vec![
            expect("A.8.24", "UNDECIDED", false, None),
            expect("A.8.1", "INCLUDED", true, None),
            expect("A.7.1", "EXCLUDED", false, Some("no premises")),
            expect("ORG-1", "INCLUDED", true, Some("contract")),
            expect("ORG-2", "UNDECIDED", false, None),
        ]
    );
    assert!(got[0][4].as_str().is_some_and(|t| t.contains("cryptography")), "{:?}", got[0]);
    assert!(got[1][4] == "" && got[3][4] == "", "untagged: {got:?}");

    let risks = raw_sql(&url, "SELECT title, kind, COALESCE(accepted_score, -1) FROM risks ORDER BY title").await;
    assert_eq!(
        risks,
        vec![
            vec![json!("r1"), json!("THREAT"), json!(16)],
            vec![json!("r2"), json!("THREAT"), json!(-1)],
            vec![json!("r3"), json!("THREAT"), json!(-1)],
        ]
    );
    // And back down: wave 1's columns hold their old meaning again.
    migration::Migrator::down(&db, Some(2 + later_migrations())).await.expect("down");
    let back =
        raw_sql(&url, "SELECT ref, CASE WHEN applicable THEN 1 ELSE 0 END FROM controls ORDER BY position").await;
    let applicable: Vec<bool> = back.iter().map(|r| r[1].as_i64().expect("0 or 1") == 1).collect();
    assert_eq!(applicable, vec![true, true, false, true, true]);
}

/// Migrations after this module's two (issue-12 parts landed later).
fn later_migrations() -> u32 {
    use migration::MigratorTrait;
    migration::Migrator::migrations().len() as u32 - WAVE1_MIGRATIONS - 2
}

mod migrations {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_wave1_soa_and_risks_migrate() {
        wave1_soa_and_risks_migrate(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_wave1_soa_and_risks_migrate() {
        wave1_soa_and_risks_migrate(Backend::Postgres).await;
    }
}
