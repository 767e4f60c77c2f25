//! Issue 12, part B: internal audits per 9.2.2 (2022/2023) — reporting to management,
//! objectivity of the team — and the certification cycle (ISO/IEC 17021-1), through the
//! API on both databases; the migration on a database holding wave-1 audits.

use chrono::{Months, NaiveDate};
use serde_json::{Value, json};

use crate::support::{Actor, Backend, TestApp, assert_error};

const UPDATE_AUDIT: &str = "mutation($i: UpdateAuditInput!) { updateAudit(input: $i) { audit { id reportedTo reportedOn certificationId version } } }";
const TRANSITION_AUDIT: &str =
    "mutation($i: TransitionAuditInput!) { transitionAudit(input: $i) { audit { id status version } } }";
const UPDATE_CERT: &str = "mutation($i: UpdateCertificationInput!) { updateCertification(input: $i) { certification { id status version certificationBody expiresOn } } }";
const CERT_FIELDS: &str = "standards certificationBody certificateNumber issuedOn expiresOn status nextSurveillanceDue nextAuditType viewerCanUpdate version audits { id type }";

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn plus_months(d: NaiveDate, m: u32) -> NaiveDate {
    d.checked_add_months(Months::new(m)).expect("date")
}

fn minus_months(d: NaiveDate, m: u32) -> NaiveDate {
    d.checked_sub_months(Months::new(m)).expect("date")
}

fn s(d: NaiveDate) -> String {
    d.to_string()
}

async fn move_audit(by: &Actor<'_>, id: &str, to: &str) -> Value {
    by.gql(TRANSITION_AUDIT, json!({ "i": { "id": id, "to": to } })).await
}

/// PLANNED → IN_PROGRESS → REPORTING, without recording the report.
async fn audit_in_reporting(by: &Actor<'_>, extra: Value) -> String {
    let id = by.audit().with(extra).create().await;
    for to in ["IN_PROGRESS", "REPORTING"] {
        let body = move_audit(by, &id, to).await;
        assert!(body.get("errors").is_none(), "{body:#}");
    }
    id
}

// ---------------------------------------------------------------------------------------
// 9.2.2 c: results reported to management before COMPLETED.

async fn completion_needs_the_report_to_management(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    let id = audit_in_reporting(o, json!({})).await;
    let before = o.node(&id, "Audit", "status version reportedTo reportedOn").await;
    let rows = app.count("workflow_transitions").await;

    assert_error(&move_audit(o, &id, "COMPLETED").await, "BAD_USER_INPUT", Some("reportedTo"));
    o.ok(UPDATE_AUDIT, json!({ "i": { "id": id, "reportedTo": "Management board" } })).await;
    assert_error(&move_audit(o, &id, "COMPLETED").await, "BAD_USER_INPUT", Some("reportedOn"));
    // A report dated before the audit started is refused when written.
    let body =
        o.gql(UPDATE_AUDIT, json!({ "i": { "id": id, "reportedOn": s(today().pred_opt().expect("day")) } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("reportedOn"));
    // Clearing the recipient again refuses the move again.
    o.ok(UPDATE_AUDIT, json!({ "i": { "id": id, "reportedTo": "", "reportedOn": s(today()) } })).await;
    assert_error(&move_audit(o, &id, "COMPLETED").await, "BAD_USER_INPUT", Some("reportedTo"));
    let after = o.node(&id, "Audit", "status reportedTo reportedOn").await;
    assert_eq!(after["status"], before["status"], "nothing moved");
    assert_eq!(after["reportedTo"], Value::Null);
    assert_eq!(app.count("workflow_transitions").await, rows, "no transition recorded");

    let data = o.ok(UPDATE_AUDIT, json!({ "i": { "id": id, "reportedTo": "Management board" } })).await;
    assert_eq!(data["updateAudit"]["audit"]["reportedOn"], json!(s(today())));
    let body = move_audit(o, &id, "COMPLETED").await;
    assert_eq!(body["data"]["transitionAudit"]["audit"]["status"], "COMPLETED", "{body:#}");
    let done = o.node(&id, "Audit", "reportedTo reportedOn").await;
    assert_eq!(done, json!({ "id": id, "reportedTo": "Management board", "reportedOn": s(today()) }));
    // Cancelling needs no report.
    let other = audit_in_reporting(o, json!({})).await;
    let body = o.gql(TRANSITION_AUDIT, json!({ "i": { "id": other, "to": "CANCELLED", "reason": "merged" } })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
}

// ---------------------------------------------------------------------------------------
// 9.2.2 b: objectivity.

async fn auditors_who_own_what_they_audit_are_flagged(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    let control = o.control_id("ISO27001", "A.5.15").await;
    o.control(&control).owner("alice").update().await;
    let other_control = o.control_id("ISO42001", "A.6.2.2").await;
    o.control(&other_control).owner("bob").update().await;
    let clause_q = "query($o: ID!) { organization(id: $o) { clauseAssessments(first: 100, filter: {standard: ISO27001}) { nodes { id ref } } } }";
    let clauses = o.ok(clause_q, json!({ "o": t.id })).await;
    let clause = clauses["organization"]["clauseAssessments"]["nodes"]
        .as_array()
        .expect("clauses")
        .iter()
        .find(|c| c["ref"] == "9.2.2")
        .and_then(|c| c["id"].as_str())
        .expect("clause 9.2.2")
        .to_string();
    o.ok(
        "mutation($i: UpdateClauseAssessmentInput!) { updateClauseAssessment(input: $i) { clauseAssessment { id } } }",
        json!({ "i": { "id": clause, "owner": "carol" } }),
    )
    .await;

    let conflicts = |id: String| async move {
        let n = o.node(&id, "Audit", "objectivityConflicts { auditor kind objectId standard ref }").await;
        n["objectivityConflicts"].as_array().expect("conflicts").clone()
    };
    // The whole system of both standards: alice's control, carol's clause; bob is no auditor.
    let a = o.audit().set("leadAuditor", "alice").set("team", ["carol", "dave"]).create().await;
    let found = conflicts(a).await;
    assert_eq!(
        found,
        vec![
            json!({ "auditor": "alice", "kind": "CONTROL", "objectId": control, "standard": "ISO27001", "ref": "A.5.15" }),
            json!({ "auditor": "carol", "kind": "CLAUSE_ASSESSMENT", "objectId": clause, "standard": "ISO27001", "ref": "9.2.2" }),
        ]
    );
    // Criteria narrow it: clause 9 covers 9.2.2, not A.5.15.
    let b = o.audit().set("leadAuditor", "alice").set("team", ["carol"]).set("criteria", ["ISO27001:9"]).create().await;
    let found = conflicts(b).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["ref"], "9.2.2");
    // A 42001-only audit: bob's control is in it once bob is on the team.
    let c = o.audit().mode("SEPARATE").standards(&["ISO42001"]).set("team", ["bob", "alice"]).create().await;
    let found = conflicts(c).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["auditor"], "bob");
    // Nobody of the team owns anything: none.
    let d = o.audit().set("team", ["erin"]).create().await;
    assert!(conflicts(d).await.is_empty());
    // Another tenant's owners never count.
    let beta = app.tenant("beta").await;
    let x = beta.owner.audit().set("leadAuditor", "alice").create().await;
    assert!(
        beta.owner.node(&x, "Audit", "objectivityConflicts { ref }").await["objectivityConflicts"]
            .as_array()
            .expect("conflicts")
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------
// The certification cycle.

async fn certifications_follow_the_cycle(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    let issued = minus_months(today(), 6);
    let expires = plus_months(issued, 36).pred_opt().expect("day");
    let cert = o
        .certification()
        .set("issuedOn", s(issued))
        .set("expiresOn", s(expires))
        .set("certificateNumber", "IS 123456")
        .create_returning(CERT_FIELDS)
        .await;
    let id = cert["id"].as_str().expect("id").to_string();
    assert_eq!(cert["status"], "ACTIVE");
    assert_eq!(cert["standards"], json!(["ISO27001", "ISO42001"]));
    assert_eq!(cert["nextSurveillanceDue"], json!(s(plus_months(issued, 12))));
    assert_eq!(cert["nextAuditType"], "SURVEILLANCE");
    assert_eq!(cert["viewerCanUpdate"], true);
    assert_eq!(cert["audits"], json!([]));
    assert!(id.starts_with("crt_"));

    // Stage audits and the deprecated CERTIFICATION type join the cycle.
    let stage1 = o.audit().kind("STAGE_1").set("certificationId", &id).create().await;
    let stage2 = o.audit().kind("STAGE_2").set("certificationId", &id).create().await;
    let old = o.audit().kind("CERTIFICATION").set("certificationId", &id).create().await;
    assert_eq!(o.node(&old, "Audit", "type").await["type"], "CERTIFICATION");
    // An internal audit is not part of a certification cycle; nothing is written.
    let audits = app.count("audits").await;
    let body = o.audit().kind("INTERNAL").set("certificationId", &id).send().await;
    assert_error(&body, "BAD_USER_INPUT", Some("certificationId"));
    assert_eq!(app.count("audits").await, audits);
    // Nor may a linked audit become internal.
    let body = o.gql(UPDATE_AUDIT, json!({ "i": { "id": stage1, "type": "INTERNAL" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("type"));

    // A completed surveillance moves the next due date to year 2.
    let surv = audit_in_reporting(o, json!({ "type": "SURVEILLANCE", "certificationId": id })).await;
    let c = o.node(&id, "Certification", "nextSurveillanceDue").await;
    assert_eq!(c["nextSurveillanceDue"], json!(s(plus_months(issued, 12))), "not done until COMPLETED");
    o.ok(UPDATE_AUDIT, json!({ "i": { "id": surv, "reportedTo": "CEO", "reportedOn": s(today()) } })).await;
    o.ok(TRANSITION_AUDIT, json!({ "i": { "id": surv, "to": "COMPLETED" } })).await;
    let c = o.node(&id, "Certification", CERT_FIELDS).await;
    assert_eq!(c["nextSurveillanceDue"], json!(s(plus_months(issued, 24))));
    assert_eq!(c["nextAuditType"], "SURVEILLANCE");
    let listed: Vec<&str> = c["audits"].as_array().expect("audits").iter().filter_map(|a| a["id"].as_str()).collect();
    for a in [&stage1, &stage2, &old, &surv] {
        assert!(listed.contains(&a.as_str()), "{a} in {listed:?}");
    }
    let back = o.node(&surv, "Audit", "certification { id } certificationId").await;
    assert_eq!(back["certification"]["id"], json!(id));

    // Narrowing the certification below its audits' standards is refused.
    let body = o.gql(UPDATE_CERT, json!({ "i": { "id": id, "standards": ["ISO27001"] } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("standards"));
    // Unlinking an audit; the list and the organization's list.
    o.ok(UPDATE_AUDIT, json!({ "i": { "id": old, "certificationId": null } })).await;
    let list = o
        .ok("query($o: ID!) { organization(id: $o) { certifications(first: 10) { totalCount nodes { id audits { id } } } } }", json!({ "o": t.id }))
        .await;
    assert_eq!(list["organization"]["certifications"]["totalCount"], 1);
    assert_eq!(list["organization"]["certifications"]["nodes"][0]["audits"].as_array().expect("audits").len(), 3);

    // Suspension, then withdrawal: a withdrawn certification is read-only.
    let data = o.ok(UPDATE_CERT, json!({ "i": { "id": id, "status": "SUSPENDED", "expectedVersion": 1 } })).await;
    assert_eq!(data["updateCertification"]["certification"]["version"], 2);
    let stale = o.gql(UPDATE_CERT, json!({ "i": { "id": id, "status": "ACTIVE", "expectedVersion": 1 } })).await;
    assert_error(&stale, "CONFLICT", None);
    o.ok(UPDATE_CERT, json!({ "i": { "id": id, "status": "WITHDRAWN" } })).await;
    let c = o.node(&id, "Certification", "status nextSurveillanceDue viewerCanUpdate").await;
    assert_eq!(c["nextSurveillanceDue"], Value::Null);
    assert_eq!(c["viewerCanUpdate"], false);
    let body = o.gql(UPDATE_CERT, json!({ "i": { "id": id, "status": "ACTIVE" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("id"));
    let trail = app.sql("SELECT COUNT(*) FROM changes WHERE entity_type = 'Certification'").await;
    assert_eq!(trail[0][0].as_i64(), Some(3), "create and two updates in the audit trail");

    // A certificate past its expiry reads EXPIRED, with nothing due.
    let past = o
        .certification()
        .set("issuedOn", s(minus_months(today(), 36)))
        .set("expiresOn", s(today().pred_opt().expect("day")))
        .create_returning("status nextSurveillanceDue")
        .await;
    assert_eq!(past["status"], "EXPIRED");
    assert_eq!(past["nextSurveillanceDue"], Value::Null);
    // Through its expiry day it is in force. No surveillance was ever done: the first one
    // is still owed (overdue), however late.
    let issued = minus_months(today(), 36);
    let last_day = o
        .certification()
        .set("issuedOn", s(issued))
        .set("expiresOn", s(today()))
        .create_returning("status nextSurveillanceDue nextAuditType")
        .await;
    assert_eq!(last_day["status"], "ACTIVE");
    assert_eq!(last_day["nextSurveillanceDue"], json!(s(plus_months(issued, 12))));
    assert_eq!(last_day["nextAuditType"], "SURVEILLANCE");
    // A cycle too short for a surveillance: recertification by the expiry day.
    let short = o
        .certification()
        .set("issuedOn", s(minus_months(today(), 11)))
        .set("expiresOn", s(today()))
        .create_returning("nextSurveillanceDue nextAuditType")
        .await;
    assert_eq!(short["nextSurveillanceDue"], json!(s(today())));
    assert_eq!(short["nextAuditType"], "RECERTIFICATION");
}

async fn certification_input_is_checked(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    let issued = NaiveDate::from_ymd_opt(2026, 1, 15).expect("date");
    let cases = [
        (json!({ "expiresOn": s(plus_months(issued, 36).succ_opt().expect("day")) }), "expiresOn"),
        (json!({ "expiresOn": s(issued) }), "expiresOn"),
        (json!({ "standards": [] }), "standards"),
        (json!({ "certificationBody": "  " }), "certificationBody"),
        (json!({ "certificateNumber": "" }), "certificateNumber"),
        (json!({ "organizationId": "nope" }), "organizationId"),
    ];
    for (input, field) in cases {
        let body = o.certification().set("issuedOn", s(issued)).with(input).send().await;
        assert_error(&body, "BAD_USER_INPUT", Some(field));
    }
    assert_eq!(app.count("certifications").await, 0, "nothing written");
    // Exactly three years is fine; the same number from the same body is a conflict.
    let id = o
        .certification()
        .set("issuedOn", s(issued))
        .set("expiresOn", s(plus_months(issued, 36)))
        .set("certificateNumber", "N-1")
        .create()
        .await;
    let dup = o.certification().set("certificateNumber", "N-1").send().await;
    assert_error(&dup, "CONFLICT", None);
    let other_body =
        o.certification().set("certificateNumber", "N-1").set("certificationBody", "Other Body").send().await;
    assert!(other_body.get("errors").is_none(), "{other_body:#}");
    let body = o.gql(UPDATE_CERT, json!({ "i": { "id": id, "issuedOn": "2020-01-01" } })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("expiresOn"));
    let c = o.node(&id, "Certification", "issuedOn version").await;
    assert_eq!(c["issuedOn"], json!(s(issued)));
    assert_eq!(c["version"], 1);
    // A 27001-only certification takes no audit over 42001.
    let narrow = o.certification().set("standards", ["ISO27001"]).create().await;
    let body = o.audit().kind("SURVEILLANCE").set("certificationId", &narrow).send().await;
    assert_error(&body, "BAD_USER_INPUT", Some("certificationId"));
    let body = o
        .audit()
        .kind("SURVEILLANCE")
        .mode("SEPARATE")
        .standards(&["ISO27001"])
        .set("certificationId", &narrow)
        .send()
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
}

async fn another_tenants_certification_is_missing(app: &TestApp) {
    let acme = app.tenant("acme").await;
    let beta = app.tenant("beta").await;
    let theirs = beta.owner.certification().create().await;
    // node: indistinguishable from a missing object.
    let q = "query($id: ID!) { node(id: $id) { id } }";
    assert_eq!(acme.owner.ok(q, json!({ "id": theirs })).await["node"], Value::Null);
    let missing = format!("crt_{}", uuid::Uuid::now_v7().simple());
    assert_eq!(acme.owner.ok(q, json!({ "id": missing })).await["node"], Value::Null);
    // update: NOT_FOUND, as for a missing one; nothing written.
    let a = acme.owner.gql(UPDATE_CERT, json!({ "i": { "id": theirs, "certificationBody": "X" } })).await;
    let b = acme.owner.gql(UPDATE_CERT, json!({ "i": { "id": missing, "certificationBody": "X" } })).await;
    assert_error(&a, "NOT_FOUND", None);
    assert_eq!(a["errors"][0]["extensions"]["code"], b["errors"][0]["extensions"]["code"]);
    assert_eq!(a["errors"][0]["message"], b["errors"][0]["message"]);
    assert_eq!(beta.owner.node(&theirs, "Certification", "certificationBody version").await["version"], 1);
    // Linking an audit: the same refusal as for a certification that does not exist.
    let a = acme.owner.audit().kind("SURVEILLANCE").set("certificationId", &theirs).send().await;
    let b = acme.owner.audit().kind("SURVEILLANCE").set("certificationId", &missing).send().await;
    assert_error(&a, "BAD_USER_INPUT", Some("certificationId"));
    assert_eq!(a["errors"][0]["message"], b["errors"][0]["message"]);
    // Creating in another organization: refused.
    let body = acme.owner.certification().org(&beta.id).send().await;
    assert!(matches!(crate::support::code(&body), "FORBIDDEN" | "NOT_FOUND"), "{body:#}");
}

async fn the_dashboard_shows_expiring_certificates_and_audits_due(app: &TestApp) {
    let t = app.tenant("acme").await;
    let o = &t.owner;
    let mk = |issued: NaiveDate, expires: NaiveDate| {
        o.certification().set("issuedOn", s(issued)).set("expiresOn", s(expires)).create()
    };
    // Cycles of 11 months (no surveillance falls before expiry): recertification is due
    // on the expiry day.
    // Expires in 90 days (the edge): expiring, and recertification due.
    let edge_day = today() + chrono::Days::new(90);
    let edge = mk(minus_months(edge_day, 11), edge_day).await;
    // Expires in 91 days: neither.
    let later_day = today() + chrono::Days::new(91);
    let later = mk(minus_months(later_day, 11), later_day).await;
    // Surveillance 1 overdue (issued 13 months ago): due.
    let overdue = mk(minus_months(today(), 13), plus_months(minus_months(today(), 13), 36)).await;
    // Fresh: surveillance due in 12 months: neither.
    let fresh = mk(today(), plus_months(today(), 36)).await;
    // Expired yesterday: neither.
    mk(minus_months(today(), 36), today().pred_opt().expect("day")).await;
    let q = "query($o: ID!) { organization(id: $o) { dashboard { expiringCertifications { id } surveillanceDue { id nextSurveillanceDue } } } }";
    let d = o.ok(q, json!({ "o": t.id })).await;
    let ids = |v: &Value| {
        v.as_array().expect("list").iter().map(|c| c["id"].as_str().expect("id").to_string()).collect::<Vec<_>>()
    };
    let dash = &d["organization"]["dashboard"];
    assert_eq!(ids(&dash["expiringCertifications"]), vec![edge.clone()]);
    assert_eq!(ids(&dash["surveillanceDue"]), vec![overdue.clone(), edge.clone()], "overdue first");
    assert!(!ids(&dash["expiringCertifications"]).contains(&later));
    for x in [&later, &fresh] {
        assert!(!ids(&dash["surveillanceDue"]).contains(x));
    }
    // Roles that may not read certifications see none.
    let body = t.integration.gql(q, json!({ "o": t.id })).await;
    if body.get("errors").is_none() {
        assert_eq!(body["data"]["organization"]["dashboard"]["expiringCertifications"], json!([]));
    }
}

// ---------------------------------------------------------------------------------------
// The migration on wave-1 data.

/// Wave 1 had these 9 migrations.
const WAVE_1: u32 = 9;

fn placeholders(backend: Backend, sql: &str) -> String {
    match backend {
        Backend::Postgres => sql.to_string(),
        Backend::Sqlite => sql.replace('$', "?"),
    }
}

async fn migration_keeps_wave_1_audits(app: &TestApp) {
    use migration::MigratorTrait;
    use sea_orm::{ConnectionTrait, Statement};
    // An empty database of its own (the app's is only used for its backend), migrated to
    // the wave-1 state.
    let url = crate::support::fresh_empty_database(app.backend).await.expect("database");
    let db = sea_orm::Database::connect(&url).await.expect("connect");
    migration::Migrator::up(&db, Some(WAVE_1)).await.expect("wave 1");
    let backend = db.get_database_backend();
    let (org, audit, cancelled) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let at = chrono::Utc::now();
    let exec = |sql: &str, values: Vec<sea_orm::Value>| {
        let st = Statement::from_sql_and_values(backend, placeholders(app.backend, sql), values);
        let db = &db;
        async move { db.execute_raw(st).await.expect("wave-1 insert") }
    };
    exec(
        "INSERT INTO organizations (id, name, slug, version, created_at, updated_at) VALUES ($1, 'Wave One', 'wave-one', 1, $2, $3)",
        vec![org.into(), at.into(), at.into()],
    )
    .await;
    exec(
        "INSERT INTO memberships (id, organization_id, subject, role, version, created_at, updated_at) VALUES ($1, $2, 'owner@wave1', 'OWNER', 1, $3, $4)",
        vec![uuid::Uuid::now_v7().into(), org.into(), at.into(), at.into()],
    )
    .await;
    let audit_sql = "INSERT INTO audits (id, organization_id, title, audit_type, mode, focus, covers_iso27001, covers_iso42001, planned_start, actual_start, actual_end, team, criteria, status, version, created_at, updated_at) VALUES ($1, $2, $3, $4, 'INTEGRATED', 'FULL', TRUE, TRUE, $5, $6, $7, $8, $9, $10, 3, $11, $12)";
    let start = NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
    for (id, title, status) in [(audit, "Certification audit 2026", "COMPLETED"), (cancelled, "Old plan", "PLANNED")] {
        exec(
            audit_sql,
            vec![
                id.into(),
                org.into(),
                title.into(),
                "CERTIFICATION".into(),
                start.into(),
                Some(start).into(),
                Some(start + chrono::Days::new(2)).into(),
                json!(["alice"]).into(),
                json!([]).into(),
                status.into(),
                at.into(),
                at.into(),
            ],
        )
        .await;
    }

    migration::Migrator::up(&db, None).await.expect("migrate wave-1 data");
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT audit_type, status, version FROM audits WHERE certification_id IS NULL AND reported_to IS NULL AND reported_on IS NULL ORDER BY title",
        ))
        .await
        .expect("audits");
    let got: Vec<(String, String, i32)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get_by_index(0).expect("type"),
                r.try_get_by_index(1).expect("status"),
                r.try_get_by_index(2).expect("version"),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![("CERTIFICATION".into(), "COMPLETED".into(), 3), ("CERTIFICATION".into(), "PLANNED".into(), 3)]
    );
    let _ = db.close().await;

    // Through the API: the old audits answer with their deprecated type, and the planned one
    // can join a certification cycle and, reported, be completed.
    let service = TestApp::start_on(app.backend, &url, &[]).await;
    let owner = service.user("owner@wave1").in_org(&annex::ids::encode(annex::ids::Kind::Organization, org));
    let aud = annex::ids::encode(annex::ids::Kind::Audit, audit);
    let a = owner
        .node(
            &aud,
            "Audit",
            "type status reportedTo reportedOn certification { id } objectivityConflicts { ref } version",
        )
        .await;
    assert_eq!(
        a,
        json!({ "id": aud, "type": "CERTIFICATION", "status": "COMPLETED", "reportedTo": null, "reportedOn": null, "certification": null, "objectivityConflicts": [], "version": 3 })
    );
    let list = owner
        .ok("query($o: ID!) { organization(id: $o) { audits(filter: {type: CERTIFICATION}) { totalCount } certifications { totalCount } } }", json!({ "o": owner.org() }))
        .await;
    assert_eq!(list["organization"]["audits"]["totalCount"], 2);
    assert_eq!(list["organization"]["certifications"]["totalCount"], 0);
    let cert = owner.certification().create().await;
    let planned = annex::ids::encode(annex::ids::Kind::Audit, cancelled);
    let data = owner.ok(UPDATE_AUDIT, json!({ "i": { "id": planned, "certificationId": cert } })).await;
    assert_eq!(data["updateAudit"]["audit"]["certificationId"], json!(cert));
    service.stop().await;

    // And back down: the new table and columns go, the audits stay.
    let db = sea_orm::Database::connect(&url).await.expect("connect");
    migration::Migrator::down(&db, Some(1)).await.expect("down");
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) FROM audits WHERE audit_type = 'CERTIFICATION'",
        ))
        .await
        .expect("audits");
    let n: i64 = rows[0].try_get_by_index(0).expect("count");
    assert_eq!(n, 2);
    migration::Migrator::up(&db, None).await.expect("up again");
    let _ = db.close().await;
}

crate::api_tests!(
    completion_needs_the_report_to_management,
    auditors_who_own_what_they_audit_are_flagged,
    certifications_follow_the_cycle,
    certification_input_is_checked,
    another_tenants_certification_is_missing,
    the_dashboard_shows_expiring_certificates_and_audits_due,
    migration_keeps_wave_1_audits,
);
