//! Fixture builders: the entities tests create most, made through the API by an actor
//! (never with raw SQL), with defaults that satisfy every rule:
//!
//! ```ignore
//! let risk = t.owner.risk().title("Ransomware").likelihood(4).create().await; // its ID
//! let ncr = t.owner.nonconformity().at("VERIFICATION").create().await;
//! let body = t.viewer.risk().send().await; // the raw response, for refusals
//! ```
//!
//! `create_returning(selection)` returns the created object with the fields asked for.
//! Workflow steps asked for with `at(status)` are taken by the same actor.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::{Value, json};

use crate::support::Actor;

static SERIAL: AtomicUsize = AtomicUsize::new(1);

/// A number unique in this test process (default names, keys and refs).
pub fn serial() -> usize {
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

/// What one builder makes: the mutation, its input type and payload field, the object type.
pub trait Fixture {
    const MUTATION: &'static str;
    const INPUT: &'static str;
    const PAYLOAD: &'static str;
    const TYPE: &'static str;
    /// Whether the input takes the actor's `organizationId`.
    const IN_ORG: bool = true;
    /// Input fields that satisfy every rule; `n` is unique.
    fn defaults(n: usize) -> Value;
}

macro_rules! fixture {
    ($name:ident, $mutation:literal, $input:literal, $payload:literal, $ty:literal, in_org: $in_org:literal, |$n:ident| $defaults:expr) => {
        pub struct $name;
        impl Fixture for $name {
            const MUTATION: &'static str = $mutation;
            const INPUT: &'static str = $input;
            const PAYLOAD: &'static str = $payload;
            const TYPE: &'static str = $ty;
            const IN_ORG: bool = $in_org;
            fn defaults($n: usize) -> Value {
                $defaults
            }
        }
    };
}

fixture!(ScopeFixture, "createScope", "CreateScopeInput", "scope", "Scope", in_org: true,
    |n| json!({ "name": format!("Scope {n}"), "kind": "INTEGRATED" }));
fixture!(AiSystemFixture, "createAiSystem", "CreateAiSystemInput", "aiSystem", "AiSystem", in_org: true,
    |n| json!({ "name": format!("AI system {n}"), "organizationRole": "DEPLOYER" }));
fixture!(RiskFixture, "createRisk", "CreateRiskInput", "risk", "Risk", in_org: true,
    |n| json!({ "title": format!("Risk {n}"), "category": "CONFIDENTIALITY", "likelihood": 3, "impact": 3, "owner": "risk.owner" }));
fixture!(ControlUpdate, "updateControl", "UpdateControlInput", "control", "Control", in_org: false,
    |_n| json!({}));
fixture!(AuditFixture, "createAudit", "CreateAuditInput", "audit", "Audit", in_org: true,
    |n| json!({ "title": format!("Audit {n}"), "type": "INTERNAL", "mode": "INTEGRATED", "standards": ["ISO27001", "ISO42001"] }));
fixture!(CertificationFixture, "createCertification", "CreateCertificationInput", "certification", "Certification", in_org: true,
    |n| json!({ "standards": ["ISO27001", "ISO42001"], "certificationBody": "Cert Body Ltd", "certificateNumber": format!("CERT-{n}"), "issuedOn": "2026-01-15", "expiresOn": "2029-01-14" }));
fixture!(FindingFixture, "addFinding", "AddFindingInput", "finding", "Finding", in_org: false,
    |n| json!({ "type": "MAJOR_NONCONFORMITY", "title": format!("Finding {n}") }));
fixture!(NonconformityFixture, "createNonconformity", "CreateNonconformityInput", "nonconformity", "Nonconformity", in_org: true,
    |n| json!({ "title": format!("NCR {n}"), "source": "INCIDENT", "severity": "MINOR" }));
fixture!(CorrectiveActionFixture, "addCorrectiveAction", "AddCorrectiveActionInput", "correctiveAction", "CorrectiveAction", in_org: false,
    |n| json!({ "title": format!("Action {n}") }));
fixture!(ImpactAssessmentFixture, "createImpactAssessment", "CreateImpactAssessmentInput", "impactAssessment", "ImpactAssessment", in_org: true,
    |n| json!({ "title": format!("AIA {n}"), "impacts": [{ "area": "FAIRNESS", "description": "Unequal error rates", "likelihood": 2, "severity": 2 }] }));
// issue 14
fixture!(ObjectiveFixture, "createObjective", "CreateObjectiveInput", "objective", "Objective", in_org: true,
    |n| json!({ "title": format!("Objective {n}"), "standards": ["ISO27001", "ISO42001"], "measure": "Staff trained", "unit": "%", "target": 95.0, "direction": "AT_LEAST", "frequency": "QUARTERLY" }));

/// A pending create (or update) of `F` by one actor.
pub struct Builder<'a, F> {
    by: &'a Actor<'a>,
    input: Value,
    at: Option<String>,
    _fixture: PhantomData<F>,
}

impl<'a, F: Fixture> Builder<'a, F> {
    fn new(by: &'a Actor<'a>, base: Value) -> Self {
        let mut input = F::defaults(serial());
        if F::IN_ORG {
            input["organizationId"] = json!(by.org());
        }
        Builder { by, input, at: None, _fixture: PhantomData }.with(base)
    }

    /// Sets one input field (`null` included).
    pub fn set(mut self, field: &str, value: impl Serialize) -> Self {
        self.input[field] = serde_json::to_value(value).expect("input value");
        self
    }

    /// Sets several input fields at once.
    pub fn with(mut self, fields: Value) -> Self {
        if let Some(map) = fields.as_object() {
            for (k, v) in map {
                self.input[k] = v.clone();
            }
        }
        self
    }

    /// In another organization than the actor's own (cross-tenant attempts).
    pub fn org(self, id: &str) -> Self {
        self.set("organizationId", id)
    }

    /// Sends the mutation as it stands; the whole response body, errors included.
    pub async fn send(&self) -> Value {
        self.send_returning("id").await
    }

    async fn send_returning(&self, selection: &str) -> Value {
        let q = format!(
            "mutation($i: {}!) {{ {}(input: $i) {{ {} {{ {selection} }} }} }}",
            F::INPUT,
            F::MUTATION,
            F::PAYLOAD
        );
        self.by.gql(&q, json!({ "i": self.input })).await
    }

    /// Creates it (and takes the workflow steps asked for); the object with `selection`.
    pub async fn create_returning(self, selection: &str) -> Value {
        let selection = format!("id {selection}");
        let body = self.send_returning(&selection).await;
        assert!(body.get("errors").is_none(), "{} by {}: {body:#}\ninput: {}", F::MUTATION, self.by.sub, self.input);
        let object = body["data"][F::MUTATION][F::PAYLOAD].clone();
        let Some(to) = &self.at else { return object };
        let id = object["id"].as_str().expect("id").to_string();
        drive(self.by, F::TYPE, &id, to).await;
        self.by.node(&id, F::TYPE, &selection).await
    }

    /// Creates it (and takes the workflow steps asked for); its ID.
    pub async fn create(self) -> String {
        let object = self.create_returning("").await;
        object["id"].as_str().expect("id").to_string()
    }
}

impl<'a> Builder<'a, ControlUpdate> {
    /// Sends the update; the control's ID.
    pub async fn update(self) -> String {
        self.create().await
    }
}

/// Moves a created object along its workflow to `to`, as `by` (boxed: an NCR's steps build
/// a corrective action, whose own builder may drive it).
fn drive<'x>(by: &'x Actor<'_>, ty: &'x str, id: &'x str, to: &'x str) -> BoxFuture<'x, ()> {
    Box::pin(drive_now(by, ty, id, to))
}

async fn drive_now(by: &Actor<'_>, ty: &str, id: &str, to: &str) {
    match ty {
        "Audit" => audit_to(by, id, to).await,
        "Nonconformity" => ncr_to(by, id, to).await,
        "ImpactAssessment" => impact_assessment_to(by, id, to).await,
        "CorrectiveAction" => {
            let q = "mutation($i: UpdateCorrectiveActionInput!) { updateCorrectiveAction(input: $i) { correctiveAction { id } } }";
            by.ok(q, json!({ "i": { "id": id, "status": to } })).await;
        }
        _ => panic!("{ty} has no workflow"),
    }
}

pub const AUDIT_PATH: [&str; 4] = ["PLANNED", "IN_PROGRESS", "REPORTING", "COMPLETED"];
pub const NCR_PATH: [&str; 6] = ["OPEN", "ANALYSIS", "ACTION_PLANNED", "IN_PROGRESS", "VERIFICATION", "CLOSED"];
const AIA_PATH: [&str; 3] = ["DRAFT", "IN_REVIEW", "APPROVED"];

fn path_to<'p>(path: &'p [&'p str], to: &str) -> &'p [&'p str] {
    let target = path.iter().position(|s| *s == to).unwrap_or_else(|| panic!("{to} is not on {path:?}"));
    &path[1..=target]
}

/// PLANNED → … → `to`; CANCELLED: from PLANNED, with a reason.
async fn audit_to(by: &Actor<'_>, id: &str, to: &str) {
    let q = "mutation($i: TransitionAuditInput!) { transitionAudit(input: $i) { audit { id } } }";
    if to == "CANCELLED" {
        by.ok(q, json!({ "i": { "id": id, "to": to, "reason": "postponed" } })).await;
        return;
    }
    for step in path_to(&AUDIT_PATH, to) {
        by.ok(q, json!({ "i": { "id": id, "to": step } })).await;
        if *step == "REPORTING" {
            // 9.2.2 c: COMPLETED needs the results reported to management.
            let today = chrono::Utc::now().date_naive().to_string();
            let u = "mutation($i: UpdateAuditInput!) { updateAudit(input: $i) { audit { id } } }";
            by.ok(u, json!({ "i": { "id": id, "reportedTo": "Management board", "reportedOn": today } })).await;
        }
    }
}

/// Satisfies every rule first (root cause, effectiveness review, one DONE action), then
/// walks OPEN → … → `to`.
async fn ncr_to(by: &Actor<'_>, id: &str, to: &str) {
    let update = "mutation($i: UpdateNonconformityInput!) { updateNonconformity(input: $i) { nonconformity { id } } }";
    by.ok(
        update,
        json!({ "i": { "id": id, "rootCause": "no review calendar", "effectivenessReview": "two clean quarters" } }),
    )
    .await;
    by.corrective_action(id).at("DONE").create().await;
    let q =
        "mutation($i: TransitionNonconformityInput!) { transitionNonconformity(input: $i) { nonconformity { id } } }";
    for step in path_to(&NCR_PATH, to) {
        by.ok(q, json!({ "i": { "id": id, "to": step } })).await;
    }
}

/// DRAFT → IN_REVIEW → APPROVED.
async fn impact_assessment_to(by: &Actor<'_>, id: &str, to: &str) {
    let q =
        "mutation($i: UpdateImpactAssessmentInput!) { updateImpactAssessment(input: $i) { impactAssessment { id } } }";
    for step in path_to(&AIA_PATH, to) {
        by.ok(q, json!({ "i": { "id": id, "status": step } })).await;
    }
}

/// Entry points: `actor.risk()`, `actor.audit()`, `actor.finding(audit)`, …
impl Actor<'_> {
    pub fn scope(&self) -> Builder<'_, ScopeFixture> {
        Builder::new(self, json!({}))
    }
    pub fn ai_system(&self) -> Builder<'_, AiSystemFixture> {
        Builder::new(self, json!({}))
    }
    pub fn risk(&self) -> Builder<'_, RiskFixture> {
        Builder::new(self, json!({}))
    }
    /// An update of one SoA row (`.update()` sends it).
    pub fn control(&self, id: &str) -> Builder<'_, ControlUpdate> {
        Builder::new(self, json!({ "id": id }))
    }
    pub fn audit(&self) -> Builder<'_, AuditFixture> {
        Builder::new(self, json!({}))
    }
    pub fn certification(&self) -> Builder<'_, CertificationFixture> {
        Builder::new(self, json!({}))
    }
    pub fn finding(&self, audit: &str) -> Builder<'_, FindingFixture> {
        Builder::new(self, json!({ "auditId": audit }))
    }
    pub fn nonconformity(&self) -> Builder<'_, NonconformityFixture> {
        Builder::new(self, json!({}))
    }
    pub fn corrective_action(&self, nonconformity: &str) -> Builder<'_, CorrectiveActionFixture> {
        Builder::new(self, json!({ "nonconformityId": nonconformity }))
    }
    pub fn impact_assessment(&self, ai_system: &str) -> Builder<'_, ImpactAssessmentFixture> {
        Builder::new(self, json!({ "aiSystemId": ai_system }))
    }
}

// Typed setters, per entity. Anything else: `.set(field, value)` or `.with(json!({…}))`.

impl<F: Fixture> Builder<'_, F> {
    pub fn title(self, v: &str) -> Self {
        self.set("title", v)
    }
    pub fn owner(self, v: &str) -> Self {
        self.set("owner", v)
    }
}

impl Builder<'_, ScopeFixture> {
    pub fn name(self, v: &str) -> Self {
        self.set("name", v)
    }
    pub fn kind(self, v: &str) -> Self {
        self.set("kind", v)
    }
}

impl Builder<'_, AiSystemFixture> {
    pub fn name(self, v: &str) -> Self {
        self.set("name", v)
    }
    pub fn stage(self, v: &str) -> Self {
        self.set("lifecycleStage", v)
    }
    pub fn role(self, v: &str) -> Self {
        self.set("organizationRole", v)
    }
    pub fn scope(self, id: &str) -> Self {
        self.set("scopeId", id)
    }
}

impl Builder<'_, RiskFixture> {
    pub fn category(self, v: &str) -> Self {
        self.set("category", v)
    }
    pub fn likelihood(self, v: i64) -> Self {
        self.set("likelihood", v)
    }
    pub fn impact(self, v: i64) -> Self {
        self.set("impact", v)
    }
    pub fn residual(self, likelihood: i64, impact: i64) -> Self {
        self.set("residualLikelihood", likelihood).set("residualImpact", impact)
    }
    pub fn treatment(self, v: &str) -> Self {
        self.set("treatment", v)
    }
    pub fn status(self, v: &str) -> Self {
        self.set("status", v)
    }
    pub fn scope(self, id: &str) -> Self {
        self.set("scopeId", id)
    }
    pub fn ai_system(self, id: &str) -> Self {
        self.set("aiSystemId", id)
    }
}

impl Builder<'_, AuditFixture> {
    pub fn kind(self, v: &str) -> Self {
        self.set("type", v)
    }
    pub fn mode(self, v: &str) -> Self {
        self.set("mode", v)
    }
    pub fn standards(self, v: &[&str]) -> Self {
        self.set("standards", v)
    }
    pub fn scope(self, id: &str) -> Self {
        self.set("scopeId", id)
    }
    pub fn planned(self, start: &str, end: &str) -> Self {
        self.set("plannedStart", start).set("plannedEnd", end)
    }
    /// Driven along PLANNED → IN_PROGRESS → REPORTING → COMPLETED (or CANCELLED).
    pub fn at(mut self, status: &str) -> Self {
        self.at = Some(status.to_string());
        self
    }
}

impl Builder<'_, FindingFixture> {
    pub fn kind(self, v: &str) -> Self {
        self.set("type", v)
    }
    pub fn references(self, v: &[&str]) -> Self {
        self.set("references", v)
    }
}

impl Builder<'_, NonconformityFixture> {
    pub fn source(self, v: &str) -> Self {
        self.set("source", v)
    }
    pub fn severity(self, v: &str) -> Self {
        self.set("severity", v)
    }
    pub fn references(self, v: &[&str]) -> Self {
        self.set("references", v)
    }
    /// With a root cause, an effectiveness review and one DONE action, driven to `status`.
    pub fn at(mut self, status: &str) -> Self {
        self.at = Some(status.to_string());
        self
    }
}

impl Builder<'_, CorrectiveActionFixture> {
    pub fn due(self, v: Option<&str>) -> Self {
        self.set("dueDate", v)
    }
    /// Set to `status` (OPEN, IN_PROGRESS, DONE, CANCELLED) after creation.
    pub fn at(mut self, status: &str) -> Self {
        self.at = Some(status.to_string());
        self
    }
}

impl Builder<'_, ImpactAssessmentFixture> {
    pub fn risks(self, ids: &[&str]) -> Self {
        self.set("riskIds", ids)
    }
    /// Driven along DRAFT → IN_REVIEW → APPROVED.
    pub fn at(mut self, status: &str) -> Self {
        self.at = Some(status.to_string());
        self
    }
}

// issue 14
impl Actor<'_> {
    pub fn objective(&self) -> Builder<'_, ObjectiveFixture> {
        Builder::new(self, json!({}))
    }
}

// issue 16: measures and tasks
fixture!(MeasureFixture, "createMeasure", "CreateMeasureInput", "measure", "Measure", in_org: true,
    |n| json!({ "title": format!("Measure {n}") }));
fixture!(TaskFixture, "createTask", "CreateTaskInput", "task", "Task", in_org: true,
    |n| json!({ "title": format!("Task {n}") }));

impl Actor<'_> {
    pub fn measure(&self) -> Builder<'_, MeasureFixture> {
        Builder::new(self, json!({}))
    }
    pub fn task(&self) -> Builder<'_, TaskFixture> {
        Builder::new(self, json!({}))
    }
}
