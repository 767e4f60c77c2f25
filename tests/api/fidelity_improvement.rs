//! Issue 12, domain fidelity (part A): nonconformities per ISO 27001 / 42001 10.2,
//! impact assessments that go stale (ISO 42001 8.4, 6.1.4), AI roles per ISO/IEC 22989
//! and the EU AI Act, and the migrations of wave-1 data.

use serde_json::{Value, json};

use crate::support::{self, Actor, Backend, TestApp, assert_error};

const NCR_FIELDS: &str = "id status version containment correction actionNeeded noActionJustification managementSystemChanges rootCause viewerCanClose similarNonconformities { id title }";
const UPDATE_NCR: &str = "mutation($i: UpdateNonconformityInput!) { updateNonconformity(input: $i) { nonconformity { id status version containment correction actionNeeded noActionJustification managementSystemChanges rootCause viewerCanClose similarNonconformities { id title } } } }";
const TRANSITION_NCR: &str = "mutation($i: TransitionNonconformityInput!) { transitionNonconformity(input: $i) { nonconformity { id status closedAt effectivenessReview } } }";
const AI_FIELDS: &str =
    "id organizationRole organizationRoles euAiActRole euAiActRiskClass lifecycleStage impactAssessmentMissing";
const UPDATE_AI: &str = "mutation($i: UpdateAiSystemInput!) { updateAiSystem(input: $i) { aiSystem { id organizationRole organizationRoles euAiActRole euAiActRiskClass lifecycleStage impactAssessmentMissing } } }";
const UPDATE_AIA: &str = "mutation($i: UpdateImpactAssessmentInput!) { updateImpactAssessment(input: $i) { impactAssessment { id status reviewIntervalMonths nextReviewOn reassessmentDue } } }";
const AIA_FIELDS: &str = "id status reviewIntervalMonths nextReviewOn reassessmentDue";

async fn ncr(by: &Actor<'_>, id: &str) -> Value {
    by.node(id, "Nonconformity", NCR_FIELDS).await
}

async fn update_ncr(by: &Actor<'_>, input: Value) -> Value {
    by.gql(UPDATE_NCR, json!({ "i": input })).await
}

async fn to(by: &Actor<'_>, id: &str, status: &str) -> Value {
    by.gql(TRANSITION_NCR, json!({ "i": { "id": id, "to": status } })).await
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// 10.2 a: correction beside containment; 10.2 e: management system changes as text.
async fn ncr_records_correction_and_system_changes(app: &TestApp) {
    let t = app.tenant("corr").await;
    let created = t
        .contributor
        .nonconformity()
        .with(json!({
            "containment": "Laptop isolated from the network",
            "correction": "Stale admin account removed",
            "managementSystemChanges": "Joiner-mover-leaver procedure revised",
        }))
        .create_returning(NCR_FIELDS)
        .await;
    assert_eq!(created["containment"], "Laptop isolated from the network");
    assert_eq!(created["correction"], "Stale admin account removed");
    assert_eq!(created["managementSystemChanges"], "Joiner-mover-leaver procedure revised");
    assert_eq!(created["actionNeeded"], true, "action is needed unless decided otherwise");
    assert_eq!(created["similarNonconformities"], json!([]));
    let id = created["id"].as_str().expect("id");
    let u = update_ncr(
        &t.contributor,
        json!({ "id": id, "correction": "", "managementSystemChanges": "Access policy 5.18 amended" }),
    )
    .await;
    let n = &u["data"]["updateNonconformity"]["nonconformity"];
    assert_eq!(n["correction"], Value::Null, "an empty text clears: {u}");
    assert_eq!(n["managementSystemChanges"], "Access policy 5.18 amended");
    // Too long: refused, naming the field, nothing written.
    let long = "x".repeat(20_001);
    let r = update_ncr(&t.contributor, json!({ "id": id, "correction": long })).await;
    assert_error(&r, "BAD_USER_INPUT", Some("correction"));
    assert_eq!(ncr(&t.contributor, id).await["version"], n["version"]);
}

/// 10.2 b: no corrective action when the evaluation finds none needed, justified; the
/// NCR closes from ANALYSIS (by whoever may close), without an effectiveness review.
async fn ncr_closes_without_action_when_none_needed(app: &TestApp) {
    let t = app.tenant("noact").await;
    let id = t.contributor.nonconformity().create().await;
    // Deciding needs a justification: refused without, nothing written.
    let r = update_ncr(&t.contributor, json!({ "id": id, "actionNeeded": false })).await;
    assert_error(&r, "BAD_USER_INPUT", Some("noActionJustification"));
    let r = update_ncr(&t.contributor, json!({ "id": id, "actionNeeded": false, "noActionJustification": "  " })).await;
    assert_error(&r, "BAD_USER_INPUT", Some("noActionJustification"));
    assert_eq!(ncr(&t.contributor, id.as_str()).await["version"], 1);
    // A ticket system never decides it, even on a ticket-synced NCR.
    let synced = t
        .integration
        .nonconformity()
        .with(json!({ "externalRef": { "system": "jira", "key": "SEC-1" } }))
        .create()
        .await;
    let r = update_ncr(&t.integration, json!({ "id": synced, "actionNeeded": false, "noActionJustification": "dup" }))
        .await;
    assert_error(&r, "FORBIDDEN", None);

    assert_eq!(to(&t.contributor, &id, "ANALYSIS").await["errors"], Value::Null);
    // Closing from ANALYSIS while action is needed: refused, naming actionNeeded.
    assert_error(&to(&t.manager, &id, "CLOSED").await, "BAD_USER_INPUT", Some("actionNeeded"));
    let u = update_ncr(
        &t.contributor,
        json!({ "id": id, "actionNeeded": false, "noActionJustification": "One-off keying error; the control worked as designed" }),
    )
    .await;
    let n = &u["data"]["updateNonconformity"]["nonconformity"];
    assert_eq!(
        (n["actionNeeded"].clone(), n["noActionJustification"].clone()),
        (json!(false), json!("One-off keying error; the control worked as designed")),
        "{u}"
    );
    assert_eq!(n["viewerCanClose"], false, "a contributor does not close");
    assert_eq!(ncr(&t.auditor, &id).await["viewerCanClose"], true);
    // The causes are still determined (10.2 b 2).
    assert_error(&to(&t.auditor, &id, "CLOSED").await, "BAD_USER_INPUT", Some("rootCause"));
    update_ncr(&t.contributor, json!({ "id": id, "rootCause": "manual keying" })).await;
    // A planned action contradicts the decision: cancel it first.
    let action = t.contributor.corrective_action(&id).create().await;
    assert_error(&to(&t.auditor, &id, "CLOSED").await, "BAD_USER_INPUT", Some("correctiveActions"));
    // Nor can it move to ACTION_PLANNED while it says no action is needed.
    assert_error(&to(&t.contributor, &id, "ACTION_PLANNED").await, "BAD_USER_INPUT", Some("actionNeeded"));
    t.contributor
        .ok(
            "mutation($i: UpdateCorrectiveActionInput!) { updateCorrectiveAction(input: $i) { correctiveAction { id } } }",
            json!({ "i": { "id": action, "status": "CANCELLED" } }),
        )
        .await;
    // Closing is the closer's right.
    assert_error(&to(&t.contributor, &id, "CLOSED").await, "FORBIDDEN", None);
    let closed = to(&t.auditor, &id, "CLOSED").await;
    let c = &closed["data"]["transitionNonconformity"]["nonconformity"];
    assert_eq!(c["status"], "CLOSED", "{closed}");
    assert_eq!(c["effectivenessReview"], Value::Null, "no action taken, nothing to review (10.2 d)");
    assert!(c["closedAt"].is_string());
}

/// Setting actionNeeded back to true clears the justification; once actions are planned
/// the decision stays.
async fn ncr_action_decision_is_made_before_planning(app: &TestApp) {
    let t = app.tenant("decide").await;
    let id = t.contributor.nonconformity().create().await;
    let u = update_ncr(
        &t.contributor,
        json!({ "id": id, "actionNeeded": false, "noActionJustification": "duplicate of NCR-7" }),
    )
    .await;
    assert_eq!(u["data"]["updateNonconformity"]["nonconformity"]["actionNeeded"], false, "{u}");
    let u = update_ncr(&t.contributor, json!({ "id": id, "actionNeeded": true })).await;
    let n = &u["data"]["updateNonconformity"]["nonconformity"];
    assert_eq!((n["actionNeeded"].clone(), n["noActionJustification"].clone()), (json!(true), Value::Null), "{u}");
    let planned = t.contributor.nonconformity().at("ACTION_PLANNED").create().await;
    let before = ncr(&t.contributor, &planned).await;
    let r = update_ncr(
        &t.contributor,
        json!({ "id": planned, "actionNeeded": false, "noActionJustification": "after all, none" }),
    )
    .await;
    assert_error(&r, "BAD_USER_INPUT", Some("actionNeeded"));
    assert_eq!(ncr(&t.contributor, &planned).await, before, "nothing written");
    // Created with the decision already made.
    let r = t.contributor.nonconformity().set("actionNeeded", false).send().await;
    assert_error(&r, "BAD_USER_INPUT", Some("noActionJustification"));
    let made = t
        .contributor
        .nonconformity()
        .with(json!({ "actionNeeded": false, "noActionJustification": "false positive of the scanner" }))
        .create_returning("actionNeeded noActionJustification")
        .await;
    assert_eq!(made["actionNeeded"], false);
}

/// 10.2 b 3: links to similar nonconformities of the same organization.
async fn ncr_links_similar_nonconformities(app: &TestApp) {
    let t = app.tenant("similar").await;
    let other = app.tenant("similar-other").await;
    let a = t.contributor.nonconformity().title("Backup not tested (Q1)").create().await;
    let b = t.contributor.nonconformity().title("Backup not tested (Q2)").create().await;
    let c = t
        .contributor
        .nonconformity()
        .title("Restore failed")
        .set("similarNonconformityIds", [&a, &b, &a])
        .create_returning("similarNonconformities { id title }")
        .await;
    let titles: Vec<&str> =
        c["similarNonconformities"].as_array().expect("list").iter().filter_map(|n| n["title"].as_str()).collect();
    assert_eq!(titles, ["Backup not tested (Q1)", "Backup not tested (Q2)"], "each once, oldest first");
    let u = update_ncr(&t.contributor, json!({ "id": b, "similarNonconformityIds": [a] })).await;
    assert_eq!(
        u["data"]["updateNonconformity"]["nonconformity"]["similarNonconformities"],
        json!([{ "id": a, "title": "Backup not tested (Q1)" }]),
        "{u}"
    );
    // Itself: refused.
    let r = update_ncr(&t.contributor, json!({ "id": b, "similarNonconformityIds": [b] })).await;
    assert_error(&r, "BAD_USER_INPUT", Some("similarNonconformityIds"));
    // Another tenant's NCR answers exactly like a missing one; nothing written.
    let foreign = other.contributor.nonconformity().create().await;
    let missing = annex::ids::encode(annex::ids::Kind::Nonconformity, uuid::Uuid::now_v7());
    let r1 = update_ncr(&t.contributor, json!({ "id": b, "similarNonconformityIds": [foreign] })).await;
    let r2 = update_ncr(&t.contributor, json!({ "id": b, "similarNonconformityIds": [missing] })).await;
    assert_error(&r1, "BAD_USER_INPUT", Some("similarNonconformityIds"));
    assert_eq!(r1["errors"][0]["message"], r2["errors"][0]["message"]);
    assert_eq!(ncr(&t.contributor, &b).await["similarNonconformities"].as_array().map(Vec::len), Some(1));
    // Over the bound.
    let many: Vec<String> =
        (0..21).map(|_| annex::ids::encode(annex::ids::Kind::Nonconformity, uuid::Uuid::now_v7())).collect();
    let r = update_ncr(&t.contributor, json!({ "id": b, "similarNonconformityIds": many })).await;
    assert_error(&r, "BAD_USER_INPUT", Some("similarNonconformityIds"));
    // [] removes them all.
    let u = update_ncr(&t.contributor, json!({ "id": b, "similarNonconformityIds": [] })).await;
    assert_eq!(u["data"]["updateNonconformity"]["nonconformity"]["similarNonconformities"], json!([]));
}

/// ISO 42001 8.4: the review interval, the next review date and reassessmentDue; the
/// dashboard counts what the filters list.
async fn impact_assessments_go_stale(app: &TestApp) {
    let t = app.tenant("stale").await;
    let system = t.contributor.ai_system().stage("DEPLOYED").set("purpose", "Credit scoring").create().await;
    let dash = "query($o: ID!) { organization(id: $o) { dashboard { aiSystemsWithoutImpactAssessment impactAssessmentsDueForReassessment } due: impactAssessments(filter: {reassessmentDue: true}) { nodes { id } } fresh: impactAssessments(filter: {reassessmentDue: false}) { totalCount } } }";
    let figures = |v: Value| {
        let o = &v["organization"];
        (
            o["dashboard"]["aiSystemsWithoutImpactAssessment"].as_i64(),
            o["dashboard"]["impactAssessmentsDueForReassessment"].as_i64(),
            o["due"]["nodes"].as_array().map(Vec::len),
            o["fresh"]["totalCount"].as_i64(),
        )
    };
    // Interval bounds: refused naming the field, nothing created.
    for bad in [0, 61, -3] {
        let r = t.contributor.impact_assessment(&system).set("reviewIntervalMonths", bad).send().await;
        assert_error(&r, "BAD_USER_INPUT", Some("reviewIntervalMonths"));
    }
    assert_eq!(app.count("impact_assessments").await, 0);
    let made = t.contributor.impact_assessment(&system).create_returning(AIA_FIELDS).await;
    assert_eq!(made["reviewIntervalMonths"], 12, "default");
    let aia = made["id"].as_str().expect("id").to_string();
    let u = t.contributor.ok(UPDATE_AIA, json!({ "i": { "id": aia, "reviewIntervalMonths": 6, "impacts": [{ "area": "FAIRNESS", "description": "bias against thin files", "likelihood": 2, "severity": 3 }] } })).await;
    assert_eq!(u["updateImpactAssessment"]["impactAssessment"]["nextReviewOn"], Value::Null, "not approved");
    assert_eq!(figures(t.manager.ok(dash, json!({ "o": t.id })).await), (Some(1), Some(0), Some(0), Some(1)));
    t.contributor.ok(UPDATE_AIA, json!({ "i": { "id": aia, "status": "IN_REVIEW" } })).await;
    let a = t.manager.ok(UPDATE_AIA, json!({ "i": { "id": aia, "status": "APPROVED" } })).await;
    let a = &a["updateImpactAssessment"]["impactAssessment"];
    let next = today().checked_add_months(chrono::Months::new(6)).expect("date");
    assert_eq!(a["nextReviewOn"], next.format("%Y-%m-%d").to_string());
    assert_eq!(a["reassessmentDue"], false);
    assert_eq!(figures(t.manager.ok(dash, json!({ "o": t.id })).await), (Some(0), Some(0), Some(0), Some(1)));
    // An approved assessment's interval is read-only like its other content.
    let r = t.manager.gql(UPDATE_AIA, json!({ "i": { "id": aia, "reviewIntervalMonths": 3 } })).await;
    assert_error(&r, "BAD_USER_INPUT", Some("reviewIntervalMonths"));
    // A change of name or owner is not a change of what was assessed.
    t.contributor.ok(UPDATE_AI, json!({ "i": { "id": system, "name": "Scorer v2", "owner": "risk office" } })).await;
    assert_eq!(t.manager.node(&aia, "ImpactAssessment", AIA_FIELDS).await["reassessmentDue"], false);
    // The purpose changed after approval: due.
    t.contributor.ok(UPDATE_AI, json!({ "i": { "id": system, "purpose": "Credit scoring and limit setting" } })).await;
    assert_eq!(t.manager.node(&aia, "ImpactAssessment", AIA_FIELDS).await["reassessmentDue"], true);
    let f = figures(t.manager.ok(dash, json!({ "o": t.id })).await);
    assert_eq!(f, (Some(0), Some(1), Some(1), Some(0)));
    // Reopening starts the reassessment; approving again sets a new review date.
    t.manager.ok(UPDATE_AIA, json!({ "i": { "id": aia, "status": "DRAFT" } })).await;
    let r = t.manager.node(&aia, "ImpactAssessment", AIA_FIELDS).await;
    assert_eq!((r["reassessmentDue"].clone(), r["nextReviewOn"].clone()), (json!(false), Value::Null));
    t.contributor.ok(UPDATE_AIA, json!({ "i": { "id": aia, "status": "IN_REVIEW" } })).await;
    t.manager.ok(UPDATE_AIA, json!({ "i": { "id": aia, "status": "APPROVED" } })).await;
    assert_eq!(t.manager.node(&aia, "ImpactAssessment", AIA_FIELDS).await["reassessmentDue"], false);
    // The review date: due the day after it, not on it.
    let set_next =
        |d: chrono::NaiveDate| format!("UPDATE impact_assessments SET next_review_on = '{}'", d.format("%Y-%m-%d"));
    app.sql(&set_next(today())).await;
    assert_eq!(
        t.manager.node(&aia, "ImpactAssessment", AIA_FIELDS).await["reassessmentDue"],
        false,
        "due today is not passed"
    );
    assert_eq!(figures(t.manager.ok(dash, json!({ "o": t.id })).await).1, Some(0));
    app.sql(&set_next(today() - chrono::Days::new(1))).await;
    assert_eq!(t.manager.node(&aia, "ImpactAssessment", AIA_FIELDS).await["reassessmentDue"], true);
    assert_eq!(figures(t.manager.ok(dash, json!({ "o": t.id })).await), (Some(0), Some(1), Some(1), Some(0)));
}

/// Assess before deployment: a system in VALIDATION without an approved assessment is
/// missing one, on the object, the filter and the dashboard.
async fn systems_in_validation_need_an_assessment(app: &TestApp) {
    let t = app.tenant("valid").await;
    let q = "query($o: ID!) { organization(id: $o) { dashboard { aiSystemsWithoutImpactAssessment } missing: aiSystems(filter: {impactAssessmentMissing: true}) { nodes { name } } } }";
    for (name, stage) in
        [("design", "DESIGN"), ("dev", "DEVELOPMENT"), ("val", "VALIDATION"), ("live", "DEPLOYED"), ("old", "RETIRED")]
    {
        let s = t.contributor.ai_system().name(name).stage(stage).create_returning("impactAssessmentMissing").await;
        assert_eq!(s["impactAssessmentMissing"], matches!(stage, "VALIDATION" | "DEPLOYED"), "{stage}");
    }
    let d = t.viewer.ok(q, json!({ "o": t.id })).await;
    assert_eq!(d["organization"]["dashboard"]["aiSystemsWithoutImpactAssessment"], 2);
    assert_eq!(d["organization"]["missing"]["nodes"], json!([{ "name": "live" }, { "name": "val" }]));
}

/// ISO/IEC 22989 roles, the EU AI Act fields, and the deprecated single role that keeps
/// answering.
async fn ai_roles_per_the_standards(app: &TestApp) {
    let t = app.tenant("roles").await;
    let create = |input: Value| {
        let mut i = json!({ "organizationId": t.id, "name": format!("sys {}", crate::builders::serial()) });
        if let (Some(o), Some(e)) = (i.as_object_mut(), input.as_object()) {
            o.extend(e.clone());
        }
        let q = format!(
            "mutation($i: CreateAiSystemInput!) {{ createAiSystem(input: $i) {{ aiSystem {{ {AI_FIELDS} }} }} }}"
        );
        let by = t.contributor.clone();
        async move { by.gql(&q, json!({ "i": i })).await }
    };
    let r = create(json!({ "organizationRoles": ["AI_SUBJECT", "AI_PROVIDER", "AI_SUBJECT"], "euAiActRole": "PROVIDER", "euAiActRiskClass": "HIGH_RISK" })).await;
    let s = &r["data"]["createAiSystem"]["aiSystem"];
    assert_eq!(s["organizationRoles"], json!(["AI_PROVIDER", "AI_SUBJECT"]), "{r}");
    assert_eq!(s["organizationRole"], "PROVIDER", "derived from the list");
    assert_eq!((s["euAiActRole"].clone(), s["euAiActRiskClass"].clone()), (json!("PROVIDER"), json!("HIGH_RISK")));
    let id = s["id"].as_str().expect("id").to_string();
    // The deprecated field alone still works.
    let old = create(json!({ "organizationRole": "DEPLOYER" })).await;
    let o = &old["data"]["createAiSystem"]["aiSystem"];
    assert_eq!(
        (o["organizationRole"].clone(), o["organizationRoles"].clone(), o["euAiActRole"].clone()),
        (json!("DEPLOYER"), json!(["AI_CUSTOMER"]), Value::Null)
    );
    // Bad input: refused naming the field, nothing created.
    let n = app.count("ai_systems").await;
    assert_error(&create(json!({})).await, "BAD_USER_INPUT", Some("organizationRoles"));
    assert_error(&create(json!({ "organizationRoles": [] })).await, "BAD_USER_INPUT", Some("organizationRoles"));
    assert_error(
        &create(json!({ "organizationRole": "PROVIDER", "organizationRoles": ["AI_CUSTOMER"] })).await,
        "BAD_USER_INPUT",
        Some("organizationRole"),
    );
    assert_eq!(app.count("ai_systems").await, n);
    // Updating the list re-derives the single role; the old input replaces a list that
    // does not hold it.
    let u = t
        .contributor
        .ok(UPDATE_AI, json!({ "i": { "id": id, "organizationRoles": ["AI_PRODUCER", "AI_CUSTOMER"] } }))
        .await;
    let a = &u["updateAiSystem"]["aiSystem"];
    assert_eq!(
        (a["organizationRole"].clone(), a["organizationRoles"].clone()),
        (json!("DEVELOPER"), json!(["AI_PRODUCER", "AI_CUSTOMER"]))
    );
    let u = t.contributor.ok(UPDATE_AI, json!({ "i": { "id": id, "organizationRole": "USER" } })).await;
    let a = &u["updateAiSystem"]["aiSystem"];
    assert_eq!(
        (a["organizationRole"].clone(), a["organizationRoles"].clone()),
        (json!("USER"), json!(["AI_PRODUCER", "AI_CUSTOMER"])),
        "USER is an AI customer: the list stays"
    );
    let u = t.contributor.ok(UPDATE_AI, json!({ "i": { "id": id, "organizationRole": "PROVIDER", "euAiActRole": null, "euAiActRiskClass": "GPAI" } })).await;
    let a = &u["updateAiSystem"]["aiSystem"];
    assert_eq!(
        (
            a["organizationRole"].clone(),
            a["organizationRoles"].clone(),
            a["euAiActRole"].clone(),
            a["euAiActRiskClass"].clone()
        ),
        (json!("PROVIDER"), json!(["AI_PROVIDER"]), Value::Null, json!("GPAI"))
    );
    // The old filter answers like the old field.
    let q =
        "query($o: ID!) { organization(id: $o) { aiSystems(filter: {organizationRole: PROVIDER}) { nodes { id } } } }";
    assert_eq!(t.viewer.ok(q, json!({ "o": t.id })).await["organization"]["aiSystems"]["nodes"], json!([{ "id": id }]));
    // The schema says why the old field is deprecated.
    let intro = t.viewer.ok("{ __type(name: \"AiSystem\") { fields(includeDeprecated: true) { name isDeprecated deprecationReason } } }", json!({})).await;
    let field = intro["__type"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["name"] == "organizationRole")
        .cloned()
        .expect("field");
    assert_eq!(field["isDeprecated"], true);
    assert!(field["deprecationReason"].as_str().is_some_and(|r| r.contains("organizationRoles")));
    let r = t.contributor.gql(UPDATE_AI, json!({ "i": { "id": id, "organizationRoles": [] } })).await;
    assert_error(&r, "BAD_USER_INPUT", Some("organizationRoles"));
}

crate::api_tests!(
    ncr_records_correction_and_system_changes,
    ncr_closes_without_action_when_none_needed,
    ncr_action_decision_is_made_before_planning,
    ncr_links_similar_nonconformities,
    impact_assessments_go_stale,
    systems_in_validation_need_an_assessment,
    ai_roles_per_the_standards,
);

// ---------------------------------------------------------------------------------------
// The migrations on wave-1 data.

/// A wave-1 database (the 9 migrations before issue 12) holding one organization, an AI
/// system per wave-1 role, impact assessments approved on 29 February 2024 and on
/// 15 January 2026 and a draft, and an NCR; then the rest of the migrations.
async fn migrate_wave1(backend: Backend, url: &str) {
    use migration::MigratorTrait;
    let db = sea_orm::Database::connect(url).await.expect("connect");
    migration::Migrator::up(&db, Some(9)).await.expect("wave 1");
    let id = |n: u8| match backend {
        Backend::Sqlite => format!("X'{:032x}'", n),
        Backend::Postgres => format!("'{}'", uuid::Uuid::from_u128(n as u128)),
    };
    let ts = "'2026-01-01 10:00:00+00:00'";
    let org = id(1);
    let mut sql = vec![format!(
        "INSERT INTO organizations (id, name, slug, version, created_at, updated_at) VALUES ({org}, 'Wave one', 'wave-one', 1, {ts}, {ts})"
    )];
    for (n, role) in [(10, "PROVIDER"), (11, "DEVELOPER"), (12, "DEPLOYER"), (13, "USER")] {
        sql.push(format!(
            "INSERT INTO ai_systems (id, organization_id, name, lifecycle_stage, organization_role, data_categories, version, created_at, updated_at)
             VALUES ({}, {org}, 'system {role}', 'DEPLOYED', '{role}', '[]', 1, {ts}, {ts})",
            id(n)
        ));
    }
    for (n, status, approved_at) in [
        (20, "APPROVED", "'2024-02-29 09:30:00+00:00'"),
        (21, "APPROVED", "'2026-01-15 23:59:59.5+00:00'"),
        (22, "DRAFT", "NULL"),
    ] {
        let by = if status == "APPROVED" { "'owner@wave'" } else { "NULL" };
        sql.push(format!(
            "INSERT INTO impact_assessments (id, organization_id, ai_system_id, title, impacts, status, approved_by, approved_at, version, created_at, updated_at)
             VALUES ({}, {org}, {}, 'AIA {n}', '[]', '{status}', {by}, {approved_at}, 1, {ts}, {ts})",
            id(n),
            id(10)
        ));
    }
    sql.push(format!(
        "INSERT INTO nonconformities (id, organization_id, title, source, severity, refs, containment, root_cause, status, ticket_synced, version, created_at, updated_at)
         VALUES ({}, {org}, 'Backups untested', 'INTERNAL_AUDIT', 'MINOR', '[]', 'restore tested by hand', 'no schedule', 'ANALYSIS', FALSE, 1, {ts}, {ts})",
        id(30)
    ));
    for s in sql {
        support::raw_sql(url, &s).await;
    }
    migration::Migrator::up(&db, None).await.expect("issue 12 migrations");
    let _ = db.close().await;
}

async fn assert_migrated(backend: Backend, url: &str) {
    let rows = |sql: &'static str| async move { support::raw_sql(url, sql).await };
    let json_of = |v: &Value| serde_json::from_str::<Value>(v.as_str().expect("json text")).expect("json");
    let roles = rows("SELECT organization_role, CAST(organization_roles AS TEXT), COALESCE(eu_ai_act_role, '-'), COALESCE(eu_ai_act_risk_class, '-') FROM ai_systems ORDER BY organization_role").await;
    let got: Vec<(String, Value, Value, Value)> = roles
        .iter()
        .map(|r| (r[0].as_str().expect("role").to_string(), json_of(&r[1]), r[2].clone(), r[3].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("DEPLOYER".into(), json!(["AI_CUSTOMER"]), json!("-"), json!("-")),
            ("DEVELOPER".into(), json!(["AI_PRODUCER"]), json!("-"), json!("-")),
            ("PROVIDER".into(), json!(["AI_PROVIDER"]), json!("-"), json!("-")),
            ("USER".into(), json!(["AI_CUSTOMER"]), json!("-"), json!("-")),
        ],
        "{backend:?}"
    );
    let aias = rows("SELECT title, review_interval_months, COALESCE(CAST(next_review_on AS TEXT), '-') FROM impact_assessments ORDER BY title").await;
    assert_eq!(
        aias,
        vec![
            vec![json!("AIA 20"), json!(12), json!("2025-02-28")],
            vec![json!("AIA 21"), json!(12), json!("2027-01-15")],
            vec![json!("AIA 22"), json!(12), json!("-")],
        ],
        "{backend:?}: 29 February + 12 months is 28 February; the UTC date counts"
    );
    let ncrs = rows("SELECT CAST(action_needed AS INTEGER), CAST(similar_nonconformity_ids AS TEXT), COALESCE(correction, '-'), COALESCE(no_action_justification, '-'), COALESCE(management_system_changes, '-'), containment FROM nonconformities").await;
    assert_eq!(ncrs[0][0], json!(1), "{backend:?}");
    assert_eq!(json_of(&ncrs[0][1]), json!([]));
    assert_eq!(ncrs[0][2..], [json!("-"), json!("-"), json!("-"), json!("restore tested by hand")]);
}

/// Through the API: the deprecated field answers the wave-1 value; the new ones answer
/// what the migration derived.
async fn assert_migrated_api(app: &TestApp) {
    let org = annex::ids::encode(annex::ids::Kind::Organization, uuid::Uuid::from_u128(1));
    let q = "query($o: ID!) { organization(id: $o) { aiSystems { nodes { name organizationRole organizationRoles impactAssessments { title reviewIntervalMonths nextReviewOn reassessmentDue } } } nonconformities { nodes { actionNeeded similarNonconformities { id } } } dashboard { impactAssessmentsDueForReassessment } } }";
    let admin = app.admin();
    let d = admin.ok(q, json!({ "o": org })).await;
    let systems = d["organization"]["aiSystems"]["nodes"].as_array().expect("systems").clone();
    let by_name: Vec<(Value, Value, Value)> = systems
        .iter()
        .map(|s| (s["name"].clone(), s["organizationRole"].clone(), s["organizationRoles"].clone()))
        .collect();
    assert_eq!(
        by_name,
        vec![
            (json!("system DEPLOYER"), json!("DEPLOYER"), json!(["AI_CUSTOMER"])),
            (json!("system DEVELOPER"), json!("DEVELOPER"), json!(["AI_PRODUCER"])),
            (json!("system PROVIDER"), json!("PROVIDER"), json!(["AI_PROVIDER"])),
            (json!("system USER"), json!("USER"), json!(["AI_CUSTOMER"])),
        ]
    );
    let aias = &systems[2]["impactAssessments"];
    assert_eq!(aias[0]["nextReviewOn"], "2025-02-28");
    assert_eq!(aias[0]["reassessmentDue"], true, "its review date has passed");
    assert_eq!(aias[2]["reassessmentDue"], false, "a draft");
    assert_eq!(
        d["organization"]["nonconformities"]["nodes"],
        json!([{ "actionNeeded": true, "similarNonconformities": [] }])
    );
    let due_2027 = today() > chrono::NaiveDate::from_ymd_opt(2027, 1, 15).expect("date");
    assert_eq!(d["organization"]["dashboard"]["impactAssessmentsDueForReassessment"], if due_2027 { 2 } else { 1 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_carry_wave1_data_on_sqlite() {
    let url = support::sqlite_url();
    migrate_wave1(Backend::Sqlite, &url).await;
    assert_migrated(Backend::Sqlite, &url).await;
    // `down` works, and `up` again gives the same result.
    {
        use migration::{MigrationName, MigratorTrait};
        let db = sea_orm::Database::connect(&url).await.expect("connect");
        // Down to before m20261202_000004, however many migrations came after it.
        let all = migration::Migrator::migrations();
        let at = all
            .iter()
            .position(|m| m.name() == "m20261202_000004_impact_review_ai_roles")
            .expect("the impact review migration");
        migration::Migrator::down(&db, Some((all.len() - at) as u32)).await.expect("down");
        assert!(
            support::raw_sql(
                &url,
                "SELECT name FROM pragma_table_info('ai_systems') WHERE name = 'organization_roles'"
            )
            .await
            .is_empty()
        );
        migration::Migrator::up(&db, None).await.expect("up again");
        let _ = db.close().await;
    }
    assert_migrated(Backend::Sqlite, &url).await;
    let app = TestApp::start_on(Backend::Sqlite, &url, &[]).await;
    assert_migrated_api(&app).await;
    app.stop().await;
}

/// Skips (and says so) when `ANNEX_TEST_POSTGRES_URL` is not set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_carry_wave1_data_on_postgres_when_configured() {
    let Some(url) = support::fresh_empty_database(Backend::Postgres).await else {
        eprintln!("skipped: ANNEX_TEST_POSTGRES_URL is not set");
        return;
    };
    migrate_wave1(Backend::Postgres, &url).await;
    assert_migrated(Backend::Postgres, &url).await;
    {
        use migration::MigratorTrait;
        let db = sea_orm::Database::connect(&url).await.expect("connect");
        migration::Migrator::down(&db, Some(2)).await.expect("down");
        migration::Migrator::up(&db, None).await.expect("up again");
        let _ = db.close().await;
    }
    assert_migrated(Backend::Postgres, &url).await;
    let app = TestApp::start_on(Backend::Postgres, &url, &[]).await;
    assert_migrated_api(&app).await;
    app.stop().await;
}
