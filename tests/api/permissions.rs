//! The permission matrix, read from the schema and the permission table and tried through
//! the real API.
//!
//! `every_guarded_field_has_a_probe` (no service needed) parses the served SDL: every root
//! field, the subscription and every `Organization` field that reads tenant data (those
//! returning objects) must be named by some operation of `annex::auth::permissions`, and
//! every name an operation guards must have a probe here. A new field or operation without
//! a row and a probe fails.
//!
//! `permission_matrix` runs every probe as every member role of one tenant (own tenant),
//! as the same role of another tenant (other tenant) and as the platform admin, and
//! compares each cell with the table, computed at run time:
//! - allowed: no error at all, and the object or row is there;
//! - refused: `FORBIDDEN` (or, where a probe says the API filters instead, the row absent);
//! - other tenant: `NOT_FOUND`, `null` or absent, never `FORBIDDEN`, for every role.
//!
//! Cells where the service disagrees are listed in `KNOWN_MISMATCHES` until fixed.
//! `ANNEX_TEST_PROBE_LOG=1` prints every cell (`cargo test --test api permission -- --nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use annex::auth::permissions::Operation::{self, *};
use annex::auth::permissions::{Access, Role};
use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::builders::serial;
use crate::support::{Actor, Tenant, TestApp, ws_next};

/// What a caller got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// No error, and the object is there.
    Allowed,
    /// `FORBIDDEN`.
    Forbidden,
    /// `NOT_FOUND`, `null`, or left out of a list.
    Absent,
    /// Anything else (another error code, a mix of codes, a broken answer).
    Unexpected,
}

/// How the API refuses a member whose role lacks the right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Forbidden,
    /// Leaves the rows out instead of failing (lists across organizations, nested lists).
    Filtered,
    /// Either, where the table does not say which: the guarded effect must not happen
    /// (a side effect of another mutation, a field of a pushed event).
    NotDone,
}

/// Whether the probe aims at one tenant's data (and so has an other-tenant leg).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    Tenant,
    /// Global (catalogs, creating organizations): no tenant to be outside of.
    Global,
}

/// One way of exercising one name an operation guards.
#[derive(Debug, Clone, Copy)]
struct Probe {
    op: Operation,
    /// A name from `op.graphql()`, as written there.
    field: &'static str,
    /// Which case, where an operation guards a condition (a move of a workflow) or a
    /// nested field.
    case: &'static str,
    /// Rights the probe needs on the way to the field (reading the parent object).
    needs: &'static [Operation],
    refusal: Refusal,
    reach: Reach,
}

const fn probe(op: Operation, field: &'static str) -> Probe {
    Probe { op, field, case: "", needs: &[], refusal: Refusal::Forbidden, reach: Reach::Tenant }
}

impl Probe {
    const fn case(self, case: &'static str) -> Self {
        Probe { case, ..self }
    }
    const fn needs(self, needs: &'static [Operation]) -> Self {
        Probe { needs, ..self }
    }
    const fn filtered(self) -> Self {
        Probe { refusal: Refusal::Filtered, ..self }
    }
    const fn not_done(self) -> Self {
        Probe { refusal: Refusal::NotDone, ..self }
    }
    const fn global(self) -> Self {
        Probe { reach: Reach::Global, ..self }
    }
    fn label(&self) -> String {
        if self.case.is_empty() {
            format!("{:?} `{}`", self.op, self.field)
        } else {
            format!("{:?} `{}` ({})", self.op, self.field, self.case)
        }
    }
}

/// Fields read through `organization(id)`.
const IN_ORG: &[Operation] = &[ReadOrganization];

const PROBES: &[Probe] = &[
    probe(CreateOrganization, "createOrganization").global(),
    probe(ReadViewer, "viewer").global(),
    probe(ReadCatalog, "standards").global(),
    probe(ReadCatalog, "standard").global(),
    probe(ReadOrganization, "organization"),
    probe(ReadOrganization, "organizations").filtered(),
    probe(ReadOrganization, "node"),
    probe(ReadOrganization, "members").needs(IN_ORG),
    probe(ReadOrganization, "riskSettings").needs(IN_ORG),
    probe(UpdateOrganization, "updateOrganization"),
    probe(ManageMembers, "addMember"),
    probe(ManageMembers, "changeMemberRole"),
    probe(ManageMembers, "removeMember"),
    probe(ReadChanges, "changes").needs(IN_ORG),
    // The trail's actor, pushed with each event.
    probe(ReadChanges, "changes").case("ChangeEvent.actor on organizationEvents").needs(&[SubscribeEvents]).not_done(),
    probe(ReadChanges, "history").case("Risk.history").needs(&[ReadRisks]),
    probe(ReadChanges, "auditTrailIntegrity").needs(IN_ORG),
    probe(ReadChanges, "auditTrailHead").needs(IN_ORG),
    probe(SubscribeEvents, "organizationEvents"),
    probe(ReadDashboard, "dashboard").needs(IN_ORG),
    probe(ReadDashboard, "portfolio").filtered(),
    probe(ReadControls, "controls").needs(IN_ORG),
    probe(ReadControls, "Control"),
    probe(ReadControls, "GET /organizations/{id}/soa.csv"),
    probe(UpdateControl, "POST /organizations/{id}/imports/soa"),
    probe(UpdateControl, "POST /organizations/{id}/imports/controls-decisions"),
    probe(ReadControls, "soa").needs(IN_ORG),
    probe(UpdateControl, "updateControl"),
    probe(CreateCustomControl, "createCustomControl"),
    probe(ReadClauseAssessments, "clauseAssessments").needs(IN_ORG),
    probe(ReadClauseAssessments, "readiness").needs(IN_ORG),
    probe(UpdateClauseAssessment, "updateClauseAssessment"),
    probe(ReadScopes, "scopes").needs(IN_ORG),
    probe(ReadScopes, "Scope"),
    // Documented: `null` when the caller may not read scopes.
    probe(ReadScopes, "Scope").case("Audit.scope").needs(&[ReadAudits]).filtered(),
    probe(WriteScopes, "createScope"),
    probe(WriteScopes, "updateScope"),
    probe(WriteScopes, "deleteScope"),
    probe(ReadAiSystems, "aiSystems").needs(IN_ORG),
    probe(ReadAiSystems, "AiSystem"),
    probe(WriteAiSystems, "createAiSystem"),
    probe(WriteAiSystems, "updateAiSystem"),
    probe(WriteAiSystems, "deleteAiSystem"),
    probe(ReadRisks, "risks").needs(IN_ORG),
    probe(ReadRisks, "Risk"),
    probe(WriteRisks, "createRisk"),
    probe(WriteRisks, "updateRisk"),
    probe(WriteRisks, "deleteRisk"),
    probe(WriteRisks, "linkRiskControl"),
    probe(WriteRisks, "unlinkRiskControl"),
    probe(WriteRisks, "POST /organizations/{id}/imports/risks"),
    probe(MarkTemplate, "setOrganizationTemplate"),
    probe(ReadImpactAssessments, "impactAssessments").needs(IN_ORG),
    probe(ReadImpactAssessments, "ImpactAssessment"),
    probe(WriteImpactAssessments, "createImpactAssessment"),
    probe(WriteImpactAssessments, "updateImpactAssessment").case("content of a DRAFT"),
    probe(WriteImpactAssessments, "updateImpactAssessment").case("DRAFT to IN_REVIEW"),
    probe(ApproveImpactAssessment, "updateImpactAssessment").case("IN_REVIEW to APPROVED"),
    probe(ApproveImpactAssessment, "updateImpactAssessment").case("reopening: APPROVED to DRAFT"),
    probe(ReadAudits, "audits").needs(IN_ORG),
    probe(ReadAudits, "Audit"),
    // Documented filter: the dashboard lists upcoming audits only to those who read audits.
    probe(ReadAudits, "Audit").case("dashboard.upcomingAudits").needs(&[ReadOrganization, ReadDashboard]).filtered(),
    probe(ReadAudits, "Finding"),
    probe(ReadAudits, "Finding").case("Nonconformity.finding").needs(&[ReadNonconformities]),
    // Events are data too: only those who read findings hear of them.
    probe(ReadAudits, "Finding").case("Finding events on organizationEvents").needs(&[SubscribeEvents]).filtered(),
    probe(WriteAudits, "createAudit"),
    probe(WriteAudits, "updateAudit"),
    probe(WriteAudits, "transitionAudit"),
    probe(ReadCertifications, "certifications").needs(IN_ORG),
    probe(ReadCertifications, "Certification"),
    // Documented filter, like upcomingAudits: only those who read certifications see them.
    probe(ReadCertifications, "expiringCertifications").needs(&[ReadOrganization, ReadDashboard]).filtered(),
    probe(ReadCertifications, "surveillanceDue").needs(&[ReadOrganization, ReadDashboard]).filtered(),
    probe(WriteCertifications, "createCertification"),
    probe(WriteCertifications, "updateCertification"),
    probe(WriteFindings, "addFinding"),
    probe(WriteFindings, "updateFinding"),
    probe(RaiseNonconformity, "raiseNonconformity"),
    probe(ReadNonconformities, "nonconformities").needs(IN_ORG),
    probe(ReadNonconformities, "Nonconformity"),
    probe(ReadNonconformities, "CorrectiveAction"),
    probe(WriteNonconformities, "createNonconformity"),
    probe(WriteNonconformities, "updateNonconformity"),
    // Issue 9, 3: a ticket system syncs what its tickets made, and nothing else.
    probe(SyncNonconformities, "upsertNonconformityByExternalRef"),
    probe(SyncNonconformities, "createNonconformity").case("with an externalRef"),
    probe(SyncNonconformities, "updateNonconformity").case("a ticket-synced nonconformity"),
    probe(SyncNonconformities, "addCorrectiveAction").case("a ticket-synced nonconformity"),
    probe(SyncNonconformities, "updateCorrectiveAction").case("a ticket-synced nonconformity"),
    probe(ReviewEffectiveness, "updateNonconformity")
        .case("effectivenessReview of a ticket-synced nonconformity")
        .needs(&[SyncNonconformities]),
    // Issue 12: the 10.2 b decision that no action is needed is a person's, never a ticket's.
    probe(WriteNonconformities, "updateNonconformity")
        .case("actionNeeded of a ticket-synced nonconformity")
        .needs(&[SyncNonconformities]),
    probe(TransitionNonconformity, "transitionNonconformity").case("OPEN to ANALYSIS"),
    // The moves a ticket reported done makes on an NCR people opened are transitions.
    probe(TransitionNonconformity, "upsertNonconformityByExternalRef")
        .case("externalDone on a nonconformity people opened")
        .needs(&[WriteNonconformities])
        .not_done(),
    probe(AdvanceSyncedNonconformity, "upsertNonconformityByExternalRef")
        .case("externalDone on a ticket-synced nonconformity")
        .needs(&[SyncNonconformities])
        .not_done(),
    probe(CloseNonconformity, "transitionNonconformity").case("VERIFICATION to CLOSED"),
    probe(WriteCorrectiveActions, "addCorrectiveAction"),
    probe(WriteCorrectiveActions, "updateCorrectiveAction"),
    // issue 16
    probe(ReadMeasures, "measures").needs(IN_ORG),
    probe(ReadMeasures, "Measure"),
    probe(ReadMeasures, "treatmentPlan").needs(IN_ORG),
    probe(ReadMeasures, "suggestMeasuresFromMapping"),
    probe(WriteMeasures, "createMeasure"),
    probe(WriteMeasures, "updateMeasure"),
    probe(WriteMeasures, "deleteMeasure"),
    probe(WriteMeasures, "linkMeasureControl"),
    probe(WriteMeasures, "unlinkMeasureControl"),
    probe(WriteMeasures, "linkMeasureRisk"),
    probe(WriteMeasures, "unlinkMeasureRisk"),
    probe(ApproveTreatmentPlan, "approveTreatmentPlan").case("a risk the caller owns"),
    probe(ApproveTreatmentPlanForOwner, "approveTreatmentPlan").case("a risk someone else owns"),
    probe(ReadTasks, "tasks").needs(IN_ORG),
    // The to-do list across organizations leaves out those where the role may not read tasks.
    probe(ReadTasks, "tasks").case("viewer.tasks").filtered(),
    probe(ReadTasks, "Task"),
    probe(WriteTasks, "createTask"),
    probe(WriteTasks, "updateTask"),
    probe(WriteTasks, "completeTask"),
    probe(ReadProgrammes, "programmes").needs(IN_ORG),
    probe(ReadProgrammes, "Programme"),
    probe(ReadProgrammes, "ProgrammePhase"),
    probe(WriteProgrammes, "createProgramme"),
    probe(WriteProgrammes, "updateProgrammePhase"),
    // issue 15
    probe(ReadIncidents, "incidents").needs(IN_ORG),
    probe(ReadIncidents, "Incident"),
    probe(ReportIncidents, "reportIncident"),
    probe(WriteIncidents, "updateIncident"),
    probe(WriteIncidents, "transitionIncident"),
    probe(SyncIncidents, "upsertIncidentByExternalRef"),
    probe(SyncIncidents, "updateIncident").case("a ticket-synced incident"),
    probe(RaiseIncidentNonconformity, "raiseNonconformityFromIncident"),
    probe(ReadSuppliers, "suppliers").needs(IN_ORG),
    probe(ReadSuppliers, "Supplier"),
    probe(ReadSuppliers, "SupplierAssessment"),
    probe(WriteSuppliers, "createSupplier"),
    probe(WriteSuppliers, "updateSupplier"),
    probe(WriteSuppliers, "deleteSupplier"),
    probe(WriteSuppliers, "addSupplierAssessment"),
    // issue 13
    probe(ReadDocuments, "documents").needs(IN_ORG),
    // Documented: empty for callers who may not read documents.
    probe(ReadDocuments, "documents").case("Control.documents").needs(&[ReadControls]).filtered(),
    probe(ReadDocuments, "Document"),
    probe(ReadDocuments, "DocumentVersion"),
    probe(WriteDocuments, "createDocument"),
    probe(WriteDocuments, "updateDocument"),
    probe(WriteDocuments, "reviseDocument"),
    probe(WriteDocuments, "transitionDocument").case("DRAFT to IN_REVIEW"),
    probe(WriteDocuments, "linkDocumentControl"),
    probe(WriteDocuments, "unlinkDocumentControl"),
    probe(ApproveDocuments, "transitionDocument").case("IN_REVIEW to APPROVED"),
    probe(ApproveDocuments, "transitionDocument").case("to RETIRED"),
    // issue 14
    probe(ReadObjectives, "objectives").needs(IN_ORG),
    probe(ReadObjectives, "Objective"),
    probe(ReadObjectives, "Measurement"),
    probe(WriteObjectives, "createObjective"),
    probe(WriteObjectives, "updateObjective"),
    probe(WriteObjectives, "deleteObjective"),
    probe(RecordMeasurements, "recordMeasurement"),
    probe(ReadContextIssues, "contextIssues").needs(IN_ORG),
    probe(ReadContextIssues, "ContextIssue"),
    probe(WriteContextIssues, "createContextIssue"),
    probe(WriteContextIssues, "updateContextIssue"),
    probe(WriteContextIssues, "deleteContextIssue"),
    // issue 15: the management review
    probe(ReadManagementReviews, "managementReviews").needs(IN_ORG),
    probe(ReadManagementReviews, "ManagementReview"),
    probe(ReadManagementReviews, "ReviewInput"),
    probe(ReadManagementReviews, "ReviewDecision"),
    probe(WriteManagementReviews, "createManagementReview"),
    probe(WriteManagementReviews, "updateManagementReview"),
    probe(WriteManagementReviews, "transitionManagementReview"),
    probe(WriteManagementReviews, "recordReviewInput"),
    probe(WriteManagementReviews, "addReviewDecision"),
    probe(WriteManagementReviews, "updateReviewDecision"),
];

/// Schema fields no operation of the table guards, each with the reason.
const UNGUARDED: &[(&str, &str, &str)] = &[];

/// Cells where the service disagrees with the table, kept visible until the service (or
/// the table) is fixed: (probe label, who, tenant leg, what the service does, why). A
/// listed cell that agrees again, or answers anything else, fails the test.
const KNOWN_MISMATCHES: &[(&str, &str, &str, Outcome, &str)] = &[];

// ---------------------------------------------------------------------------------------
// Coverage: schema × table × probes.

/// The names an operation guards (the backticked parts of `op.graphql()`).
fn guarded_names(op: Operation) -> Vec<&'static str> {
    op.graphql().split('`').skip(1).step_by(2).collect()
}

fn named_type(t: &Type) -> &str {
    match &t.base {
        BaseType::Named(n) => n.as_str(),
        BaseType::List(inner) => named_type(inner),
    }
}

#[test]
fn every_guarded_field_has_a_probe() {
    let sdl = annex::graphql::sdl();
    let doc = async_graphql::parser::parse_schema(&sdl).expect("the served SDL parses");
    let mut roots = BTreeMap::new();
    let mut fields: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut leaf_types: BTreeSet<String> = ["String", "Int", "Float", "Boolean", "ID"].map(String::from).into();
    for def in &doc.definitions {
        match def {
            TypeSystemDefinition::Schema(s) => {
                for (kind, name) in
                    [("Query", &s.node.query), ("Mutation", &s.node.mutation), ("Subscription", &s.node.subscription)]
                {
                    if let Some(n) = name {
                        roots.insert(kind, n.node.to_string());
                    }
                }
            }
            TypeSystemDefinition::Type(t) => {
                let name = t.node.name.node.to_string();
                match &t.node.kind {
                    TypeKind::Object(o) => {
                        let list = o
                            .fields
                            .iter()
                            .map(|f| (f.node.name.node.to_string(), named_type(&f.node.ty.node).to_string()))
                            .collect();
                        fields.insert(name, list);
                    }
                    TypeKind::Scalar | TypeKind::Enum(_) => {
                        leaf_types.insert(name);
                    }
                    _ => {}
                }
            }
            TypeSystemDefinition::Directive(_) => {}
        }
    }
    let guarded: BTreeMap<&str, Vec<Operation>> = Operation::ALL.iter().fold(BTreeMap::new(), |mut m, op| {
        for name in guarded_names(*op) {
            m.entry(name).or_default().push(*op);
        }
        m
    });
    let mut problems = Vec::new();

    // Every root field, and every Organization field that reads tenant data, is in the table.
    let mut must_be_guarded: Vec<(String, String)> = Vec::new();
    for kind in ["Query", "Mutation", "Subscription"] {
        let root = roots.get(kind).unwrap_or_else(|| panic!("schema has no {kind} root"));
        for (f, _) in &fields[root] {
            must_be_guarded.push((kind.to_string(), f.clone()));
        }
    }
    for (f, ty) in &fields["Organization"] {
        if !leaf_types.contains(ty) {
            must_be_guarded.push(("Organization".to_string(), f.clone()));
        }
    }
    for (parent, f) in &must_be_guarded {
        let exempt = UNGUARDED.iter().any(|(p, n, _)| p == parent && n == f);
        match (guarded.contains_key(f.as_str()), exempt) {
            (false, false) => problems.push(format!("{parent}.{f} is guarded by no operation of the permission table")),
            (true, true) => problems.push(format!("{parent}.{f} is in the table now: remove it from UNGUARDED")),
            _ => {}
        }
    }
    for (p, n, _) in UNGUARDED {
        if !must_be_guarded.iter().any(|(pp, nn)| pp == p && nn == n) {
            problems.push(format!("UNGUARDED names {p}.{n}, which the schema no longer has"));
        }
    }

    // Every name the table guards exists: a field, a type, or an HTTP endpoint.
    let all_fields: BTreeSet<&str> = fields.values().flatten().map(|(f, _)| f.as_str()).collect();
    for name in guarded.keys() {
        if !(all_fields.contains(name)
            || fields.contains_key(*name)
            || name.starts_with("GET /")
            || name.starts_with("POST /"))
        {
            problems.push(format!("the table guards `{name}`, which is neither a field nor a type of the schema"));
        }
    }

    // Every (operation, name) has a probe; every probe names what its operation guards.
    for op in Operation::ALL {
        let names = guarded_names(*op);
        if names.is_empty() {
            problems.push(format!("{op:?} names no field in backticks"));
        }
        for name in names {
            if !PROBES.iter().any(|p| p.op == *op && p.field == name) {
                problems.push(format!("{op:?} guards `{name}`, which no probe exercises"));
            }
        }
    }
    for p in PROBES {
        if !guarded_names(p.op).contains(&p.field) {
            problems.push(format!("probe {} names a field its operation does not guard", p.label()));
        }
    }
    let labels: BTreeSet<String> = PROBES.iter().map(Probe::label).collect();
    if labels.len() != PROBES.len() {
        problems.push("two probes share a label".into());
    }
    for (label, _, _, _, _) in KNOWN_MISMATCHES {
        if !labels.contains(*label) {
            problems.push(format!("KNOWN_MISMATCHES names {label}, which is no probe"));
        }
    }
    assert!(problems.is_empty(), "permission coverage:\n  {}", problems.join("\n  "));
}

// ---------------------------------------------------------------------------------------
// The matrix.

/// Tenant A (probed) and tenant B (its members are the other-tenant callers), with the
/// shared objects of A that probes read or update. Probes that consume an object (delete,
/// transition, raise) make a fresh one per cell, as A's owner.
struct World<'a> {
    a: Tenant<'a>,
    b: Tenant<'a>,
    control: String,
    clause: String,
    scope: String,
    ai_system: String,
    risk: String,
    /// DRAFT.
    impact_assessment: String,
    /// PLANNED, starting today (upcoming), on `scope`.
    audit: String,
    /// MAJOR_NONCONFORMITY on `audit`, raised as `raised`.
    finding: String,
    /// ACTIVE, expiring in 30 days (expiring, recertification due).
    certification: String,
    raised: String,
    /// OPEN, with `action`.
    ncr: String,
    action: String,
    /// OPEN, made by ticket sync, with `synced_action`.
    synced: String,
    synced_action: String,
    // issue 16
    /// Linked to `risk` (so in the treatment plan) and to `control`.
    measure: String,
    /// OPEN, no due day.
    task: String,
    /// A programme of the integrated template, and its first phase.
    programme: String,
    phase: String,
    // issue 15
    /// REPORTED, reported by A's owner.
    incident: String,
    /// REPORTED, made by ticket sync.
    synced_incident: String,
    /// PROSPECT, with `supplier_assessment`.
    supplier: String,
    supplier_assessment: String,
    /// DRAFT, by A's owner, linked to `control` (issue 13).
    document: String,
    /// Its version 1.0.
    document_version: String,
    // issue 14
    objective: String,
    measurement: String,
    context_issue: String,
    // issue 15: the management review
    /// PLANNED, with `review_input`.
    review: String,
    review_input: String,
    /// HELD, with `review_decision` (OPEN).
    held_review: String,
    review_decision: String,
}

impl<'a> World<'a> {
    async fn build(app: &'a TestApp) -> World<'a> {
        let a = app.tenant("acme").await;
        let b = app.tenant("beta").await;
        let o = &a.owner;
        let today = chrono::Utc::now().date_naive();
        let (start, end) = (today.to_string(), (today + chrono::Duration::days(2)).to_string());
        let scope = o.scope().name("HQ").kind("INTEGRATED").create().await;
        let ai_system = o.ai_system().name("Credit scorer").stage("DEPLOYED").scope(&scope).create().await;
        let risk = o
            .risk()
            .title("Unfair rejections")
            .category("BIAS_FAIRNESS")
            .likelihood(3)
            .impact(4)
            .residual(2, 2)
            .treatment("MITIGATE")
            .status("TREATING")
            .scope(&scope)
            .ai_system(&ai_system)
            .create()
            .await;
        let audit = o.audit().scope(&scope).planned(&start, &end).create().await;
        let finding = o.finding(&audit).references(&["ISO27001:A.5.15"]).create().await;
        let raised = o
            .ok(
                "mutation($i: RaiseNonconformityInput!) { raiseNonconformity(input: $i) { nonconformity { id } } }",
                json!({ "i": { "findingId": finding } }),
            )
            .await["raiseNonconformity"]["nonconformity"]["id"]
            .as_str()
            .expect("raised NCR")
            .to_string();
        let ncr = o.nonconformity().references(&["ISO42001:6.1.4"]).create().await;
        let synced = o
            .ok(
                "mutation($i: UpsertNonconformityByExternalRefInput!) { upsertNonconformityByExternalRef(input: $i) { nonconformity { id } } }",
                json!({ "i": { "organizationId": a.id, "externalRef": { "system": "jira", "key": "SYNCED-1" }, "title": "Synced", "severity": "MINOR" } }),
            )
            .await["upsertNonconformityByExternalRef"]["nonconformity"]["id"]
            .as_str()
            .expect("synced NCR")
            .to_string();
        let certification = o
            .certification()
            .set("issuedOn", (today - chrono::Duration::days(900)).to_string())
            .set("expiresOn", (today + chrono::Duration::days(30)).to_string())
            .create()
            .await;
        let measure = o.measure().create().await;
        let control = o.control_id("ISO27001", "A.5.1").await;
        o.ok(
            "mutation($i: MeasureControlInput!) { linkMeasureControl(input: $i) { measure { id } } }",
            json!({ "i": { "measureId": measure, "controlId": control } }),
        )
        .await;
        o.ok(
            "mutation($i: MeasureRiskInput!) { linkMeasureRisk(input: $i) { measure { id } } }",
            json!({ "i": { "measureId": measure, "riskId": risk } }),
        )
        .await;
        let p = o
            .ok(
                "mutation($i: CreateProgrammeInput!) { createProgramme(input: $i) { programme { id phases { id } } } }",
                json!({ "i": { "organizationId": a.id, "startOn": "2027-01-04", "template": "INTEGRATED_AIMS_ON_ISMS" } }),
            )
            .await;
        let programme = p["createProgramme"]["programme"]["id"].as_str().expect("programme").to_string();
        let phase = p["createProgramme"]["programme"]["phases"][0]["id"].as_str().expect("phase").to_string();
        let incident = o
            .ok(
                "mutation($i: ReportIncidentInput!) { reportIncident(input: $i) { incident { id } } }",
                json!({ "i": { "organizationId": a.id, "title": "Lost laptop", "kind": "SECURITY", "severity": "LOW" } }),
            )
            .await["reportIncident"]["incident"]["id"]
            .as_str()
            .expect("incident")
            .to_string();
        let synced_incident = o
            .ok(
                "mutation($i: UpsertIncidentByExternalRefInput!) { upsertIncidentByExternalRef(input: $i) { incident { id } } }",
                json!({ "i": { "organizationId": a.id, "externalRef": { "system": "jira", "key": "INC-SYNCED" }, "title": "Synced", "kind": "SECURITY", "severity": "LOW" } }),
            )
            .await["upsertIncidentByExternalRef"]["incident"]["id"]
            .as_str()
            .expect("synced incident")
            .to_string();
        let supplier = o
            .ok(
                "mutation($i: CreateSupplierInput!) { createSupplier(input: $i) { supplier { id } } }",
                json!({ "i": { "organizationId": a.id, "name": "Cloud Co", "criticality": "HIGH" } }),
            )
            .await["createSupplier"]["supplier"]["id"]
            .as_str()
            .expect("supplier")
            .to_string();
        let supplier_assessment = o
            .ok(
                "mutation($i: AddSupplierAssessmentInput!) { addSupplierAssessment(input: $i) { supplierAssessment { id } } }",
                json!({ "i": { "supplierId": supplier, "assessedOn": today.to_string(), "assessor": "vendor.risk", "result": "APPROVED" } }),
            )
            .await["addSupplierAssessment"]["supplierAssessment"]["id"]
            .as_str()
            .expect("assessment")
            .to_string();
        let created = o
            .ok(
                "mutation($i: CreateDocumentInput!) { createDocument(input: $i) { document { id latestVersion { id } } } }",
                json!({ "i": { "organizationId": a.id, "title": "Probe policy", "kind": "POLICY", "standards": ["ISO27001"] } }),
            )
            .await["createDocument"]["document"]
            .clone();
        let document = created["id"].as_str().expect("document").to_string();
        let control = o.control_id("ISO27001", "A.5.1").await;
        o.ok(
            "mutation($i: DocumentControlInput!) { linkDocumentControl(input: $i) { document { id } } }",
            json!({ "i": { "documentId": document, "controlId": control } }),
        )
        .await;
        let objective = o.objective().create().await;
        let measurement = o
            .ok(
                "mutation($i: RecordMeasurementInput!) { recordMeasurement(input: $i) { measurement { id } } }",
                json!({ "i": { "objectiveId": objective, "value": 90.0, "measuredOn": today.to_string() } }),
            )
            .await["recordMeasurement"]["measurement"]["id"]
            .as_str()
            .expect("measurement")
            .to_string();
        let context_issue = o
            .ok(
                "mutation($i: CreateContextIssueInput!) { createContextIssue(input: $i) { contextIssue { id } } }",
                json!({ "i": context_issue_input(&a.id, Some(risk.as_str())) }),
            )
            .await["createContextIssue"]["contextIssue"]["id"]
            .as_str()
            .expect("context issue")
            .to_string();
        let (review, review_input) = probe_review(o, &a.id).await;
        let held_review = probe_held_review(o, &a.id).await;
        let review_decision = o
            .ok(
                "mutation($i: AddReviewDecisionInput!) { addReviewDecision(input: $i) { reviewDecision { id } } }",
                json!({ "i": { "reviewId": held_review, "text": "Probe decision", "kind": "RESOURCES" } }),
            )
            .await["addReviewDecision"]["reviewDecision"]["id"]
            .as_str()
            .expect("decision")
            .to_string();
        World {
            review,
            review_input,
            held_review,
            review_decision,
            measure,
            task: o.task().create().await,
            programme,
            phase,
            supplier,
            supplier_assessment,
            incident,
            synced_incident,
            document_version: created["latestVersion"]["id"].as_str().expect("version").to_string(),
            document,
            context_issue,
            objective,
            measurement,
            certification,
            synced_action: o.corrective_action(&synced).create().await,
            synced,
            control: o.control_id("ISO27001", "A.5.1").await,
            clause: o.clause_id().await,
            impact_assessment: o.impact_assessment(&ai_system).risks(&[&risk]).create().await,
            action: o.corrective_action(&ncr).create().await,
            scope,
            ai_system,
            risk,
            audit,
            finding,
            raised,
            ncr,
            a,
            b,
        }
    }
}

/// One column of the matrix: who calls, and how it stands in tenant A.
struct Leg<'w> {
    who: &'w Actor<'w>,
    /// `None`: a member of the other tenant only.
    access: Option<Access>,
}

impl Leg<'_> {
    fn who_label(&self) -> &'static str {
        match self.access {
            Some(Access::PlatformAdmin) => "PLATFORM_ADMIN",
            _ => self.who.role.map_or("?", Role::as_str),
        }
    }
    fn tenant_label(&self) -> &'static str {
        if self.access.is_some() { "own" } else { "other" }
    }
}

/// The table's answer for one cell: the outcomes that agree with it.
fn expected(p: &Probe, leg: &Leg<'_>) -> &'static [Outcome] {
    let Some(access) = leg.access else { return &[Outcome::Absent] };
    if !p.needs.iter().all(|n| access.allows(*n)) {
        return &[Outcome::Forbidden];
    }
    match (access.allows(p.op), p.refusal) {
        (true, _) => &[Outcome::Allowed],
        (false, Refusal::Forbidden) => &[Outcome::Forbidden],
        (false, Refusal::Filtered) => &[Outcome::Absent],
        (false, Refusal::NotDone) => &[Outcome::Forbidden, Outcome::Absent],
    }
}

/// Reads an answer: error codes first, then whether the object is there.
fn judge(body: &Value, present: impl FnOnce(&Value) -> bool) -> Outcome {
    if let Some(errors) = body.get("errors").and_then(Value::as_array) {
        let codes: BTreeSet<&str> =
            errors.iter().map(|e| e["extensions"]["code"].as_str().unwrap_or("(no code)")).collect();
        return match codes.into_iter().collect::<Vec<_>>()[..] {
            ["FORBIDDEN"] => Outcome::Forbidden,
            ["NOT_FOUND"] => Outcome::Absent,
            _ => Outcome::Unexpected,
        };
    }
    if body.get("data").is_none_or(Value::is_null) {
        return Outcome::Unexpected;
    }
    if present(&body["data"]) { Outcome::Allowed } else { Outcome::Absent }
}

/// The value at `pointer` exists and is not `null`.
fn at(pointer: &str) -> impl FnOnce(&Value) -> bool + '_ {
    move |data| data.pointer(pointer).is_some_and(|v| !v.is_null())
}

/// The list at `pointer` has an element whose `pointer_in` equals `id`.
fn lists<'p>(pointer: &'p str, field: &'p str, id: &'p str) -> impl FnOnce(&Value) -> bool + 'p {
    move |data| {
        data.pointer(pointer)
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(|x| x.pointer(field).and_then(Value::as_str) == Some(id)))
    }
}

/// Tries one probe as one caller; the outcome and the evidence.
async fn attempt(w: &World<'_>, p: &Probe, who: &Actor<'_>) -> (Outcome, String) {
    let a = w.a.id.as_str();
    let o = &w.a.owner;
    let me = format!("by {}", who.sub);
    let org_field = |selection: &str| format!("query($o: ID!) {{ organization(id: $o) {{ {selection} }} }}");
    let on_org = json!({ "o": a });
    let node =
        |on: &str, fields: &str| format!("query($id: ID!) {{ node(id: $id) {{ id ... on {on} {{ {fields} }} }} }}");
    let mutation = |name: &str, input: &str, payload: &str| {
        format!("mutation($i: {input}!) {{ {name}(input: $i) {{ {payload} }} }}")
    };
    let (body, outcome): (Value, Outcome) = match (p.field, p.case) {
        ("createOrganization", _) => {
            let q = mutation("createOrganization", "CreateOrganizationInput", "organization { id }");
            let body = who.gql(&q, json!({ "i": { "name": "Probe", "slug": format!("probe-{}", serial()) } })).await;
            let outcome = judge(&body, at("/createOrganization/organization"));
            (body, outcome)
        }
        ("standards", _) => {
            let body = who.gql("{ standards { code } }", json!({})).await;
            let outcome = judge(&body, at("/standards/0"));
            (body, outcome)
        }
        ("standard", _) => {
            let body = who.gql("{ standard(code: ISO42001) { code } }", json!({})).await;
            let outcome = judge(&body, at("/standard"));
            (body, outcome)
        }
        ("organization", _) => {
            let body = who.gql(&org_field("id"), on_org).await;
            let outcome = judge(&body, at("/organization"));
            (body, outcome)
        }
        ("organizations", _) => {
            let body = who.gql("{ organizations(first: 100) { nodes { id } } }", json!({})).await;
            let outcome = judge(&body, lists("/organizations/nodes", "/id", a));
            (body, outcome)
        }
        ("node", _) => {
            let body = who.gql("query($id: ID!) { node(id: $id) { id } }", json!({ "id": a })).await;
            let outcome = judge(&body, at("/node"));
            (body, outcome)
        }
        ("members", _) => {
            let body = who.gql(&org_field("members { subject }"), on_org).await;
            let outcome = judge(&body, lists("/organization/members", "/subject", &o.sub));
            (body, outcome)
        }
        ("riskSettings", _) => {
            read(who, &org_field("riskSettings { matrixSize }"), on_org, "/organization/riskSettings").await
        }
        ("updateOrganization", _) => {
            let q = mutation("updateOrganization", "UpdateOrganizationInput", "organization { id }");
            write(who, &q, json!({ "id": a, "name": format!("Acme {}", serial()) }), "/updateOrganization").await
        }
        ("addMember", _) => {
            let q = mutation("addMember", "AddMemberInput", "membership { id }");
            let input = json!({ "organizationId": a, "subject": format!("new-{}", serial()), "role": "VIEWER" });
            write(who, &q, input, "/addMember/membership").await
        }
        ("changeMemberRole", _) | ("removeMember", _) => {
            let subject = format!("member-{}", serial());
            let add = mutation("addMember", "AddMemberInput", "membership { id }");
            o.ok(&add, json!({ "i": { "organizationId": a, "subject": subject, "role": "VIEWER" } })).await;
            if p.field == "changeMemberRole" {
                let q = mutation("changeMemberRole", "ChangeMemberRoleInput", "membership { role }");
                let input = json!({ "organizationId": a, "subject": subject, "role": "AUDITOR" });
                write(who, &q, input, "/changeMemberRole/membership").await
            } else {
                let q = mutation("removeMember", "RemoveMemberInput", "deletedId");
                write(who, &q, json!({ "organizationId": a, "subject": subject }), "/removeMember/deletedId").await
            }
        }
        ("changes", "") => {
            read(who, &org_field("changes(first: 1) { totalCount }"), on_org, "/organization/changes").await
        }
        ("history", _) => {
            read(who, &node("Risk", "history(first: 1) { totalCount }"), json!({ "id": w.risk }), "/node/history").await
        }
        ("auditTrailIntegrity", _) => {
            read(who, &org_field("auditTrailIntegrity { verified }"), on_org, "/organization/auditTrailIntegrity").await
        }
        ("auditTrailHead", _) => {
            read(who, &org_field("auditTrailHead { seq }"), on_org, "/organization/auditTrailHead").await
        }
        ("organizationEvents", _) => {
            let change = w.a.owner.control(&w.control).owner(&format!("tick {}", serial()));
            events(
                w,
                who,
                "entityId",
                async {
                    change.update().await;
                },
                |_| true,
                Duration::from_secs(5),
            )
            .await
        }
        ("changes", "ChangeEvent.actor on organizationEvents") => {
            let change = w.a.owner.control(&w.control).owner(&format!("tick {}", serial()));
            let owner = json!(o.sub);
            let wanted = |e: &Value| e["actor"] == owner;
            events(
                w,
                who,
                "entityType actor",
                async {
                    change.update().await;
                },
                wanted,
                Duration::from_secs(3),
            )
            .await
        }
        ("Finding", "Finding events on organizationEvents") => {
            let finding = o.finding(&w.audit).kind("OBSERVATION");
            let wanted = |e: &Value| e["entityType"] == "Finding";
            events(
                w,
                who,
                "entityType",
                async {
                    finding.create().await;
                },
                wanted,
                Duration::from_secs(3),
            )
            .await
        }
        ("dashboard", _) => {
            read(who, &org_field("dashboard { openNonconformities }"), on_org, "/organization/dashboard").await
        }
        ("portfolio", _) => {
            let body = who.gql("{ portfolio { lowestReadiness { organization { id } } } }", json!({})).await;
            let outcome = judge(&body, |d| d.pointer("/portfolio/lowestReadiness/organization/id") == Some(&json!(a)));
            (body, outcome)
        }
        ("controls", _) => {
            read(who, &org_field("controls(first: 1) { nodes { id } }"), on_org, "/organization/controls/nodes/0").await
        }
        ("Control", _) => read(who, &node("Control", "ref"), json!({ "id": w.control }), "/node").await,
        ("GET /organizations/{id}/soa.csv", _) => {
            let resp = who.get(&format!("/organizations/{a}/soa.csv")).await;
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let outcome = match status {
                200 if text.starts_with("standard,ref,") => Outcome::Allowed,
                403 => Outcome::Forbidden,
                404 => Outcome::Absent,
                _ => Outcome::Unexpected,
            };
            (json!({ "status": status, "body": text.chars().take(200).collect::<String>() }), outcome)
        }
        ("soa", _) => read(who, &org_field("soa { ref }"), on_org, "/organization/soa/0").await,
        ("setOrganizationTemplate", _) => {
            let q = mutation("setOrganizationTemplate", "SetOrganizationTemplateInput", "organization { id }");
            write(who, &q, json!({ "id": a, "isTemplate": true }), "/setOrganizationTemplate/organization").await
        }
        ("POST /organizations/{id}/imports/soa", _) => {
            imported(
                who,
                &format!("/organizations/{a}/imports/soa"),
                format!("standard,ref,owner\nISO27001,A.5.1,{me}\n"),
            )
            .await
        }
        ("POST /organizations/{id}/imports/controls-decisions", _) => {
            let csv = format!("standard,ref,decision,justification\nISO27001,A.5.2,INCLUDED,{me}\n");
            imported(who, &format!("/organizations/{a}/imports/controls-decisions"), csv).await
        }
        ("POST /organizations/{id}/imports/risks", _) => {
            let csv = format!("external_key,title,category,likelihood,impact\nP-{},Probe,INTEGRITY,1,1\n", serial());
            imported(who, &format!("/organizations/{a}/imports/risks"), csv).await
        }
        ("updateControl", _) => {
            let q = mutation("updateControl", "UpdateControlInput", "control { id }");
            write(who, &q, json!({ "id": w.control, "owner": me }), "/updateControl/control").await
        }
        ("createCustomControl", _) => {
            let q = mutation("createCustomControl", "CreateCustomControlInput", "control { id }");
            let input = json!({ "organizationId": a, "standard": "ISO27001", "ref": format!("P-{}", serial()), "title": "Probe" });
            write(who, &q, input, "/createCustomControl/control").await
        }
        ("clauseAssessments", _) => {
            let q = org_field("clauseAssessments(first: 1) { nodes { id } }");
            read(who, &q, on_org, "/organization/clauseAssessments/nodes/0").await
        }
        ("readiness", _) => read(who, &org_field("readiness { percent }"), on_org, "/organization/readiness/0").await,
        ("updateClauseAssessment", _) => {
            let q = mutation("updateClauseAssessment", "UpdateClauseAssessmentInput", "clauseAssessment { id }");
            write(who, &q, json!({ "id": w.clause, "notes": me }), "/updateClauseAssessment/clauseAssessment").await
        }
        ("scopes", _) => {
            let body = who.gql(&org_field("scopes { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/scopes/nodes", "/id", &w.scope));
            (body, outcome)
        }
        ("Scope", "") => read(who, &node("Scope", "name"), json!({ "id": w.scope }), "/node").await,
        ("Scope", "Audit.scope") => {
            read(who, &node("Audit", "scope { id }"), json!({ "id": w.audit }), "/node/scope").await
        }
        ("createScope", _) => sent(who.scope().org(a).send().await, "/createScope/scope"),
        ("updateScope", _) => {
            let q = mutation("updateScope", "UpdateScopeInput", "scope { id }");
            write(who, &q, json!({ "id": w.scope, "description": me }), "/updateScope/scope").await
        }
        ("deleteScope", _) => {
            let scope = o.scope().create().await;
            let q = mutation("deleteScope", "DeleteScopeInput", "deletedId");
            write(who, &q, json!({ "id": scope }), "/deleteScope/deletedId").await
        }
        ("aiSystems", _) => {
            let body = who.gql(&org_field("aiSystems { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/aiSystems/nodes", "/id", &w.ai_system));
            (body, outcome)
        }
        ("AiSystem", _) => read(who, &node("AiSystem", "name"), json!({ "id": w.ai_system }), "/node").await,
        ("createAiSystem", _) => sent(who.ai_system().org(a).send().await, "/createAiSystem/aiSystem"),
        ("updateAiSystem", _) => {
            let q = mutation("updateAiSystem", "UpdateAiSystemInput", "aiSystem { id }");
            write(who, &q, json!({ "id": w.ai_system, "purpose": me }), "/updateAiSystem/aiSystem").await
        }
        ("deleteAiSystem", _) => {
            let ai = o.ai_system().create().await;
            let q = mutation("deleteAiSystem", "DeleteAiSystemInput", "deletedId");
            write(who, &q, json!({ "id": ai }), "/deleteAiSystem/deletedId").await
        }
        ("risks", _) => {
            let body = who.gql(&org_field("risks(first: 100) { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/risks/nodes", "/id", &w.risk));
            (body, outcome)
        }
        ("Risk", _) => read(who, &node("Risk", "title"), json!({ "id": w.risk }), "/node").await,
        ("createRisk", _) => sent(who.risk().org(a).send().await, "/createRisk/risk"),
        ("updateRisk", _) => {
            let q = mutation("updateRisk", "UpdateRiskInput", "risk { id }");
            write(who, &q, json!({ "id": w.risk, "owner": me }), "/updateRisk/risk").await
        }
        ("deleteRisk", _) => {
            let risk = o.risk().create().await;
            let q = mutation("deleteRisk", "DeleteRiskInput", "deletedId");
            write(who, &q, json!({ "id": risk }), "/deleteRisk/deletedId").await
        }
        ("linkRiskControl", _) | ("unlinkRiskControl", _) => {
            let risk = o.risk().create().await;
            let link = json!({ "riskId": risk, "controlId": w.control });
            let (name, input) = if p.field == "linkRiskControl" {
                ("linkRiskControl", "LinkRiskControlInput")
            } else {
                o.ok(&mutation("linkRiskControl", "LinkRiskControlInput", "risk { id }"), json!({ "i": link })).await;
                ("unlinkRiskControl", "UnlinkRiskControlInput")
            };
            write(who, &mutation(name, input, "risk { id }"), link, &format!("/{name}/risk")).await
        }
        ("impactAssessments", _) => {
            let body = who.gql(&org_field("impactAssessments { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/impactAssessments/nodes", "/id", &w.impact_assessment));
            (body, outcome)
        }
        ("ImpactAssessment", _) => {
            read(who, &node("ImpactAssessment", "title"), json!({ "id": w.impact_assessment }), "/node").await
        }
        ("createImpactAssessment", _) => {
            sent(who.impact_assessment(&w.ai_system).org(a).send().await, "/createImpactAssessment/impactAssessment")
        }
        ("updateImpactAssessment", case) => {
            let (id, input) = match case {
                "content of a DRAFT" => (w.impact_assessment.clone(), json!({ "assessedGroups": me })),
                "DRAFT to IN_REVIEW" => {
                    (o.impact_assessment(&w.ai_system).create().await, json!({ "status": "IN_REVIEW" }))
                }
                "IN_REVIEW to APPROVED" => {
                    (o.impact_assessment(&w.ai_system).at("IN_REVIEW").create().await, json!({ "status": "APPROVED" }))
                }
                "reopening: APPROVED to DRAFT" => {
                    (o.impact_assessment(&w.ai_system).at("APPROVED").create().await, json!({ "status": "DRAFT" }))
                }
                other => panic!("no updateImpactAssessment case {other}"),
            };
            let mut input = input;
            input["id"] = json!(id);
            let q = mutation("updateImpactAssessment", "UpdateImpactAssessmentInput", "impactAssessment { status }");
            let (body, outcome) = write(who, &q, input.clone(), "/updateImpactAssessment/impactAssessment").await;
            // An allowed move must have happened.
            let moved = input
                .get("status")
                .is_none_or(|s| body.pointer("/data/updateImpactAssessment/impactAssessment/status") == Some(s));
            (body, if outcome == Outcome::Allowed && !moved { Outcome::Unexpected } else { outcome })
        }
        ("audits", _) => {
            let body = who.gql(&org_field("audits { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/audits/nodes", "/id", &w.audit));
            (body, outcome)
        }
        ("Audit", "") => read(who, &node("Audit", "title"), json!({ "id": w.audit }), "/node").await,
        ("Audit", "dashboard.upcomingAudits") => {
            let body = who.gql(&org_field("dashboard { upcomingAudits { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/dashboard/upcomingAudits", "/id", &w.audit));
            (body, outcome)
        }
        ("Finding", "") => read(who, &node("Finding", "title"), json!({ "id": w.finding }), "/node").await,
        ("Finding", "Nonconformity.finding") => {
            read(who, &node("Nonconformity", "finding { id }"), json!({ "id": w.raised }), "/node/finding").await
        }
        ("certifications", _) => {
            let body = who.gql(&org_field("certifications { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/certifications/nodes", "/id", &w.certification));
            (body, outcome)
        }
        ("Certification", _) => {
            read(who, &node("Certification", "certificateNumber"), json!({ "id": w.certification }), "/node").await
        }
        ("expiringCertifications", _) | ("surveillanceDue", _) => {
            let body = who.gql(&org_field(&format!("dashboard {{ {} {{ id }} }}", p.field)), on_org).await;
            let pointer = format!("/organization/dashboard/{}", p.field);
            let outcome = judge(&body, lists(&pointer, "/id", &w.certification));
            (body, outcome)
        }
        ("createCertification", _) => {
            sent(who.certification().org(a).send().await, "/createCertification/certification")
        }
        ("updateCertification", _) => {
            let q = mutation("updateCertification", "UpdateCertificationInput", "certification { id }");
            let input = json!({ "id": w.certification, "certificationBody": format!("Body {}", serial()) });
            write(who, &q, input, "/updateCertification/certification").await
        }
        ("createAudit", _) => sent(who.audit().org(a).send().await, "/createAudit/audit"),
        ("updateAudit", _) => {
            let q = mutation("updateAudit", "UpdateAuditInput", "audit { id }");
            write(who, &q, json!({ "id": w.audit, "objectives": me }), "/updateAudit/audit").await
        }
        ("transitionAudit", _) => {
            let audit = o.audit().create().await;
            let q = mutation("transitionAudit", "TransitionAuditInput", "audit { status }");
            write(who, &q, json!({ "id": audit, "to": "IN_PROGRESS" }), "/transitionAudit/audit").await
        }
        ("addFinding", _) => sent(who.finding(&w.audit).kind("OBSERVATION").send().await, "/addFinding/finding"),
        ("updateFinding", _) => {
            let q = mutation("updateFinding", "UpdateFindingInput", "finding { id }");
            write(who, &q, json!({ "id": w.finding, "evidence": me }), "/updateFinding/finding").await
        }
        ("raiseNonconformity", _) => {
            let finding = o.finding(&w.audit).create().await;
            let q = mutation("raiseNonconformity", "RaiseNonconformityInput", "nonconformity { id }");
            write(who, &q, json!({ "findingId": finding }), "/raiseNonconformity/nonconformity").await
        }
        ("nonconformities", _) => {
            let body = who.gql(&org_field("nonconformities(first: 100) { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/nonconformities/nodes", "/id", &w.ncr));
            (body, outcome)
        }
        ("Nonconformity", _) => read(who, &node("Nonconformity", "title"), json!({ "id": w.ncr }), "/node").await,
        ("CorrectiveAction", _) => {
            read(who, &node("CorrectiveAction", "title"), json!({ "id": w.action }), "/node").await
        }
        ("viewer", _) => {
            let body = who.gql("{ viewer { subject } }", json!({})).await;
            let outcome = judge(&body, at("/viewer"));
            (body, outcome)
        }
        ("createNonconformity", "with an externalRef") => {
            let ticket = json!({ "system": "jira", "key": format!("C-{}", serial()) });
            sent(
                who.nonconformity().org(a).set("externalRef", ticket).send().await,
                "/createNonconformity/nonconformity",
            )
        }
        ("createNonconformity", _) => {
            sent(who.nonconformity().org(a).send().await, "/createNonconformity/nonconformity")
        }
        ("updateNonconformity", "a ticket-synced nonconformity") => {
            let q = mutation("updateNonconformity", "UpdateNonconformityInput", "nonconformity { id }");
            write(who, &q, json!({ "id": w.synced, "containment": me }), "/updateNonconformity/nonconformity").await
        }
        ("updateNonconformity", "actionNeeded of a ticket-synced nonconformity") => {
            let q = mutation("updateNonconformity", "UpdateNonconformityInput", "nonconformity { id }");
            let input = json!({ "id": w.synced, "actionNeeded": false, "noActionJustification": me });
            write(who, &q, input, "/updateNonconformity/nonconformity").await
        }
        ("updateNonconformity", "effectivenessReview of a ticket-synced nonconformity") => {
            let q = mutation("updateNonconformity", "UpdateNonconformityInput", "nonconformity { id }");
            let input = json!({ "id": w.synced, "effectivenessReview": me });
            write(who, &q, input, "/updateNonconformity/nonconformity").await
        }
        ("addCorrectiveAction", "a ticket-synced nonconformity") => {
            sent(who.corrective_action(&w.synced).send().await, "/addCorrectiveAction/correctiveAction")
        }
        ("updateCorrectiveAction", "a ticket-synced nonconformity") => {
            let q = mutation("updateCorrectiveAction", "UpdateCorrectiveActionInput", "correctiveAction { id }");
            let input = json!({ "id": w.synced_action, "owner": me });
            write(who, &q, input, "/updateCorrectiveAction/correctiveAction").await
        }
        ("upsertNonconformityByExternalRef", "externalDone on a ticket-synced nonconformity") => {
            ticket_done(w, who, true).await
        }
        ("upsertNonconformityByExternalRef", "externalDone on a nonconformity people opened") => {
            ticket_done(w, who, false).await
        }
        ("updateNonconformity", _) => {
            let q = mutation("updateNonconformity", "UpdateNonconformityInput", "nonconformity { id }");
            write(who, &q, json!({ "id": w.ncr, "containment": me }), "/updateNonconformity/nonconformity").await
        }
        ("upsertNonconformityByExternalRef", _) => {
            let q = mutation(
                "upsertNonconformityByExternalRef",
                "UpsertNonconformityByExternalRefInput",
                "nonconformity { id }",
            );
            let input = json!({ "organizationId": a, "externalRef": { "system": "jira", "key": format!("P-{}", serial()) }, "title": "Probe ticket", "severity": "MINOR" });
            write(who, &q, input, "/upsertNonconformityByExternalRef/nonconformity").await
        }
        ("transitionNonconformity", case) => {
            let (from, to) = match case {
                "OPEN to ANALYSIS" => ("OPEN", "ANALYSIS"),
                "VERIFICATION to CLOSED" => ("VERIFICATION", "CLOSED"),
                other => panic!("no transitionNonconformity case {other}"),
            };
            let ncr = if from == "OPEN" {
                o.nonconformity().create().await
            } else {
                o.nonconformity().at(from).create().await
            };
            let q = mutation("transitionNonconformity", "TransitionNonconformityInput", "nonconformity { status }");
            let (body, outcome) =
                write(who, &q, json!({ "id": ncr, "to": to }), "/transitionNonconformity/nonconformity").await;
            let moved = body.pointer("/data/transitionNonconformity/nonconformity/status") == Some(&json!(to));
            (body, if outcome == Outcome::Allowed && !moved { Outcome::Unexpected } else { outcome })
        }
        ("addCorrectiveAction", _) => {
            sent(who.corrective_action(&w.ncr).send().await, "/addCorrectiveAction/correctiveAction")
        }
        ("updateCorrectiveAction", _) => {
            let q = mutation("updateCorrectiveAction", "UpdateCorrectiveActionInput", "correctiveAction { id }");
            write(who, &q, json!({ "id": w.action, "owner": me }), "/updateCorrectiveAction/correctiveAction").await
        }
        // issue 16
        ("measures", _) => {
            let body = who.gql(&org_field("measures(first: 100) { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/measures/nodes", "/id", &w.measure));
            (body, outcome)
        }
        ("Measure", _) => read(who, &node("Measure", "title"), json!({ "id": w.measure }), "/node").await,
        ("treatmentPlan", _) => {
            let body = who.gql(&org_field("treatmentPlan(first: 100) { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/treatmentPlan/nodes", "/id", &w.measure));
            (body, outcome)
        }
        ("suggestMeasuresFromMapping", _) => {
            let q = "query($o: ID!) { suggestMeasuresFromMapping(organizationId: $o) { control { ref } } }";
            let body = who.gql(q, on_org).await;
            let outcome = judge(&body, at("/suggestMeasuresFromMapping/0"));
            (body, outcome)
        }
        ("createMeasure", _) => sent(who.measure().org(a).send().await, "/createMeasure/measure"),
        ("updateMeasure", _) => {
            let q = mutation("updateMeasure", "UpdateMeasureInput", "measure { id }");
            write(who, &q, json!({ "id": w.measure, "owner": me }), "/updateMeasure/measure").await
        }
        ("deleteMeasure", _) => {
            let m = o.measure().create().await;
            let q = mutation("deleteMeasure", "DeleteMeasureInput", "deletedId");
            write(who, &q, json!({ "id": m }), "/deleteMeasure/deletedId").await
        }
        ("linkMeasureControl", _) | ("unlinkMeasureControl", _) => {
            let m = o.measure().create().await;
            let link = json!({ "measureId": m, "controlId": w.control });
            if p.field == "unlinkMeasureControl" {
                o.ok(&mutation("linkMeasureControl", "MeasureControlInput", "measure { id }"), json!({ "i": link }))
                    .await;
            }
            let q = mutation(p.field, "MeasureControlInput", "measure { id }");
            write(who, &q, link, &format!("/{}/measure", p.field)).await
        }
        ("linkMeasureRisk", _) | ("unlinkMeasureRisk", _) => {
            let m = o.measure().create().await;
            let link = json!({ "measureId": m, "riskId": w.risk });
            if p.field == "unlinkMeasureRisk" {
                o.ok(&mutation("linkMeasureRisk", "MeasureRiskInput", "measure { id }"), json!({ "i": link })).await;
            }
            let q = mutation(p.field, "MeasureRiskInput", "measure { id }");
            write(who, &q, link, &format!("/{}/measure", p.field)).await
        }
        ("approveTreatmentPlan", case) => {
            let owner = if case == "a risk the caller owns" { who.sub.clone() } else { "someone-else".to_string() };
            let risk = o.risk().set("owner", owner.as_str()).set("treatment", "ACCEPT").create().await;
            let q = mutation("approveTreatmentPlan", "ApproveTreatmentPlanInput", "approval { id }");
            write(who, &q, json!({ "riskId": risk }), "/approveTreatmentPlan/approval").await
        }
        ("tasks", "viewer.tasks") => {
            let body = who.gql("{ viewer { tasks(first: 100) { nodes { id } } } }", json!({})).await;
            let outcome = judge(&body, lists("/viewer/tasks/nodes", "/id", &w.task));
            (body, outcome)
        }
        ("tasks", _) => {
            let body = who.gql(&org_field("tasks(first: 100) { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/tasks/nodes", "/id", &w.task));
            (body, outcome)
        }
        ("Task", _) => read(who, &node("Task", "title"), json!({ "id": w.task }), "/node").await,
        ("createTask", _) => sent(who.task().org(a).send().await, "/createTask/task"),
        ("updateTask", _) => {
            let q = mutation("updateTask", "UpdateTaskInput", "task { id }");
            write(who, &q, json!({ "id": w.task, "assignee": me }), "/updateTask/task").await
        }
        ("completeTask", _) => {
            let task = o.task().create().await;
            let q = mutation("completeTask", "CompleteTaskInput", "task { id }");
            write(who, &q, json!({ "id": task }), "/completeTask/task").await
        }
        ("programmes", _) => {
            let body = who.gql(&org_field("programmes { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/programmes/nodes", "/id", &w.programme));
            (body, outcome)
        }
        ("Programme", _) => read(who, &node("Programme", "template"), json!({ "id": w.programme }), "/node").await,
        ("ProgrammePhase", _) => read(who, &node("ProgrammePhase", "name"), json!({ "id": w.phase }), "/node").await,
        ("createProgramme", _) => {
            let q = mutation("createProgramme", "CreateProgrammeInput", "programme { id }");
            let input = json!({ "organizationId": a, "startOn": "2027-01-04", "template": "INTEGRATED_AIMS_ON_ISMS" });
            write(who, &q, input, "/createProgramme/programme").await
        }
        ("updateProgrammePhase", _) => {
            let end = (chrono::NaiveDate::from_ymd_opt(2027, 6, 1).expect("date")
                + chrono::Duration::days((serial() % 300) as i64))
            .to_string();
            let q = mutation("updateProgrammePhase", "UpdateProgrammePhaseInput", "phase { id }");
            write(who, &q, json!({ "id": w.phase, "plannedEnd": end }), "/updateProgrammePhase/phase").await
        }
        // issue 15
        ("incidents", _) => {
            let body = who.gql(&org_field("incidents(first: 100) { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/incidents/nodes", "/id", &w.incident));
            (body, outcome)
        }
        ("Incident", _) => read(who, &node("Incident", "title"), json!({ "id": w.incident }), "/node").await,
        ("reportIncident", _) => {
            let q = mutation("reportIncident", "ReportIncidentInput", "incident { id }");
            let input = json!({ "organizationId": a, "title": me, "kind": "SECURITY", "severity": "LOW" });
            write(who, &q, input, "/reportIncident/incident").await
        }
        ("updateIncident", "a ticket-synced incident") => {
            let q = mutation("updateIncident", "UpdateIncidentInput", "incident { id }");
            write(who, &q, json!({ "id": w.synced_incident, "description": me }), "/updateIncident/incident").await
        }
        ("updateIncident", _) => {
            let q = mutation("updateIncident", "UpdateIncidentInput", "incident { id }");
            write(who, &q, json!({ "id": w.incident, "description": me }), "/updateIncident/incident").await
        }
        ("transitionIncident", _) => {
            let q = mutation("reportIncident", "ReportIncidentInput", "incident { id }");
            let made = o
                .ok(&q, json!({ "i": { "organizationId": a, "title": "Probe", "kind": "AI", "severity": "LOW" } }))
                .await;
            let id = made["reportIncident"]["incident"]["id"].as_str().expect("id").to_string();
            let q = mutation("transitionIncident", "TransitionIncidentInput", "incident { status }");
            write(who, &q, json!({ "id": id, "to": "TRIAGED" }), "/transitionIncident/incident").await
        }
        ("upsertIncidentByExternalRef", _) => {
            let q = mutation("upsertIncidentByExternalRef", "UpsertIncidentByExternalRefInput", "incident { id }");
            let input = json!({ "organizationId": a, "externalRef": { "system": "jira", "key": format!("I-{}", serial()) }, "title": "Probe ticket", "kind": "SECURITY", "severity": "LOW" });
            write(who, &q, input, "/upsertIncidentByExternalRef/incident").await
        }
        ("raiseNonconformityFromIncident", _) => {
            let q = mutation("reportIncident", "ReportIncidentInput", "incident { id }");
            let made = o
                .ok(
                    &q,
                    json!({ "i": { "organizationId": a, "title": "Probe", "kind": "PRIVACY", "severity": "HIGH" } }),
                )
                .await;
            let id = made["reportIncident"]["incident"]["id"].as_str().expect("id").to_string();
            let q = mutation(
                "raiseNonconformityFromIncident",
                "RaiseNonconformityFromIncidentInput",
                "nonconformity { id }",
            );
            write(who, &q, json!({ "incidentId": id }), "/raiseNonconformityFromIncident/nonconformity").await
        }
        ("suppliers", _) => {
            let body = who.gql(&org_field("suppliers(first: 100) { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/suppliers/nodes", "/id", &w.supplier));
            (body, outcome)
        }
        ("Supplier", _) => read(who, &node("Supplier", "name"), json!({ "id": w.supplier }), "/node").await,
        ("SupplierAssessment", _) => {
            read(who, &node("SupplierAssessment", "assessor"), json!({ "id": w.supplier_assessment }), "/node").await
        }
        ("createSupplier", _) => {
            let q = mutation("createSupplier", "CreateSupplierInput", "supplier { id }");
            let input = json!({ "organizationId": a, "name": format!("Probe {}", serial()), "criticality": "LOW" });
            write(who, &q, input, "/createSupplier/supplier").await
        }
        ("updateSupplier", _) => {
            let q = mutation("updateSupplier", "UpdateSupplierInput", "supplier { id }");
            write(who, &q, json!({ "id": w.supplier, "services": me }), "/updateSupplier/supplier").await
        }
        ("deleteSupplier", _) => {
            let q = mutation("createSupplier", "CreateSupplierInput", "supplier { id }");
            let made = o
                .ok(
                    &q,
                    json!({ "i": { "organizationId": a, "name": format!("Gone {}", serial()), "criticality": "LOW" } }),
                )
                .await;
            let id = made["createSupplier"]["supplier"]["id"].as_str().expect("id").to_string();
            let q = mutation("deleteSupplier", "DeleteSupplierInput", "deletedId");
            write(who, &q, json!({ "id": id }), "/deleteSupplier/deletedId").await
        }
        ("addSupplierAssessment", _) => {
            let q = mutation("addSupplierAssessment", "AddSupplierAssessmentInput", "supplierAssessment { id }");
            let today = chrono::Utc::now().date_naive().to_string();
            let input = json!({ "supplierId": w.supplier, "assessedOn": today, "assessor": me, "result": "APPROVED" });
            write(who, &q, input, "/addSupplierAssessment/supplierAssessment").await
        }
        // issue 13
        ("documents", "Control.documents") => {
            let body = who.gql(&node("Control", "documents { id }"), json!({ "id": w.control })).await;
            let outcome = judge(&body, lists("/node/documents", "/id", &w.document));
            (body, outcome)
        }
        ("documents", _) => {
            let body = who.gql(&org_field("documents(first: 100) { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/documents/nodes", "/id", &w.document));
            (body, outcome)
        }
        ("Document", _) => read(who, &node("Document", "title"), json!({ "id": w.document }), "/node").await,
        ("DocumentVersion", _) => {
            read(who, &node("DocumentVersion", "number"), json!({ "id": w.document_version }), "/node").await
        }
        ("createDocument", _) => {
            let q = mutation("createDocument", "CreateDocumentInput", "document { id }");
            let input = json!({ "organizationId": a, "title": me, "kind": "PROCEDURE", "standards": ["ISO42001"] });
            write(who, &q, input, "/createDocument/document").await
        }
        ("updateDocument", _) => {
            let q = mutation("updateDocument", "UpdateDocumentInput", "document { id }");
            write(who, &q, json!({ "id": w.document, "owner": me }), "/updateDocument/document").await
        }
        ("reviseDocument", _) => {
            let doc = document_at(w, "APPROVED").await;
            let q = mutation("reviseDocument", "ReviseDocumentInput", "document { id }");
            write(who, &q, json!({ "id": doc }), "/reviseDocument/document").await
        }
        ("transitionDocument", case) => {
            let (from, to) = match case {
                "DRAFT to IN_REVIEW" => ("DRAFT", "IN_REVIEW"),
                "IN_REVIEW to APPROVED" => ("IN_REVIEW", "APPROVED"),
                "to RETIRED" => ("IN_REVIEW", "RETIRED"),
                other => panic!("no transitionDocument case {other}"),
            };
            let doc = document_at(w, from).await;
            let q = mutation("transitionDocument", "TransitionDocumentInput", "document { status }");
            let (body, outcome) = write(who, &q, json!({ "id": doc, "to": to }), "/transitionDocument/document").await;
            let moved = body.pointer("/data/transitionDocument/document/status") == Some(&json!(to));
            (body, if outcome == Outcome::Allowed && !moved { Outcome::Unexpected } else { outcome })
        }
        ("linkDocumentControl", _) | ("unlinkDocumentControl", _) => {
            let control = o.control_id("ISO42001", "A.2.2").await;
            let q = mutation(p.field, "DocumentControlInput", "document { id }");
            let pointer = format!("/{}/document", p.field);
            write(who, &q, json!({ "documentId": w.document, "controlId": control }), &pointer).await
        }
        // issue 14
        ("objectives", _) => {
            let body = who.gql(&org_field("objectives(first: 100) { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/objectives/nodes", "/id", &w.objective));
            (body, outcome)
        }
        ("Objective", _) => read(who, &node("Objective", "title"), json!({ "id": w.objective }), "/node").await,
        ("Measurement", _) => read(who, &node("Measurement", "value"), json!({ "id": w.measurement }), "/node").await,
        ("createObjective", _) => sent(who.objective().org(a).send().await, "/createObjective/objective"),
        ("updateObjective", _) => {
            let q = mutation("updateObjective", "UpdateObjectiveInput", "objective { id }");
            write(who, &q, json!({ "id": w.objective, "owner": me }), "/updateObjective/objective").await
        }
        ("deleteObjective", _) => {
            let id = o.objective().create().await;
            let q = mutation("deleteObjective", "DeleteObjectiveInput", "deletedId");
            write(who, &q, json!({ "id": id }), "/deleteObjective/deletedId").await
        }
        ("recordMeasurement", _) => {
            let q = mutation("recordMeasurement", "RecordMeasurementInput", "measurement { id }");
            let today = chrono::Utc::now().date_naive().to_string();
            let input = json!({ "objectiveId": w.objective, "value": 1.5, "measuredOn": today, "note": me });
            write(who, &q, input, "/recordMeasurement/measurement").await
        }
        ("contextIssues", _) => {
            let body = who.gql(&org_field("contextIssues(first: 100) { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/contextIssues/nodes", "/id", &w.context_issue));
            (body, outcome)
        }
        ("ContextIssue", _) => {
            read(who, &node("ContextIssue", "title"), json!({ "id": w.context_issue }), "/node").await
        }
        ("createContextIssue", _) => {
            let q = mutation("createContextIssue", "CreateContextIssueInput", "contextIssue { id }");
            write(who, &q, context_issue_input(a, None), "/createContextIssue/contextIssue").await
        }
        ("updateContextIssue", _) => {
            let q = mutation("updateContextIssue", "UpdateContextIssueInput", "contextIssue { id }");
            write(who, &q, json!({ "id": w.context_issue, "description": me }), "/updateContextIssue/contextIssue")
                .await
        }
        ("deleteContextIssue", _) => {
            let create = mutation("createContextIssue", "CreateContextIssueInput", "contextIssue { id }");
            let id =
                o.ok(&create, json!({ "i": context_issue_input(a, None) })).await["createContextIssue"]["contextIssue"]
                    ["id"]
                    .clone();
            let q = mutation("deleteContextIssue", "DeleteContextIssueInput", "deletedId");
            write(who, &q, json!({ "id": id }), "/deleteContextIssue/deletedId").await
        }
        // issue 15: the management review
        ("managementReviews", _) => {
            let body = who.gql(&org_field("managementReviews(first: 100) { nodes { id } }"), on_org).await;
            let outcome = judge(&body, lists("/organization/managementReviews/nodes", "/id", &w.review));
            (body, outcome)
        }
        ("ManagementReview", _) => {
            read(who, &node("ManagementReview", "title"), json!({ "id": w.review }), "/node").await
        }
        ("ReviewInput", _) => {
            read(who, &node("ReviewInput", "summary"), json!({ "id": w.review_input }), "/node").await
        }
        ("ReviewDecision", _) => {
            read(who, &node("ReviewDecision", "text"), json!({ "id": w.review_decision }), "/node").await
        }
        ("createManagementReview", _) => {
            let q = mutation("createManagementReview", "CreateManagementReviewInput", "managementReview { id }");
            let input = json!({ "organizationId": a, "title": me, "plannedOn": "2027-03-01" });
            write(who, &q, input, "/createManagementReview/managementReview").await
        }
        ("updateManagementReview", _) => {
            let q = mutation("updateManagementReview", "UpdateManagementReviewInput", "managementReview { id }");
            write(who, &q, json!({ "id": w.review, "title": me }), "/updateManagementReview/managementReview").await
        }
        ("transitionManagementReview", _) => {
            let (id, _) = probe_review(o, a).await;
            record_every_topic(o, &id).await;
            let q = mutation(
                "transitionManagementReview",
                "TransitionManagementReviewInput",
                "managementReview { status }",
            );
            let (body, outcome) =
                write(who, &q, json!({ "id": id, "to": "HELD" }), "/transitionManagementReview/managementReview").await;
            let moved =
                body.pointer("/data/transitionManagementReview/managementReview/status") == Some(&json!("HELD"));
            (body, if outcome == Outcome::Allowed && !moved { Outcome::Unexpected } else { outcome })
        }
        ("recordReviewInput", _) => {
            let q = mutation("recordReviewInput", "RecordReviewInputInput", "reviewInput { id }");
            let input = json!({ "reviewId": w.review, "topic": "OBJECTIVES", "summary": me });
            write(who, &q, input, "/recordReviewInput/reviewInput").await
        }
        ("addReviewDecision", _) => {
            let q = mutation("addReviewDecision", "AddReviewDecisionInput", "reviewDecision { id }");
            let input = json!({ "reviewId": w.held_review, "text": me, "kind": "IMPROVEMENT" });
            write(who, &q, input, "/addReviewDecision/reviewDecision").await
        }
        ("updateReviewDecision", _) => {
            let q = mutation("updateReviewDecision", "UpdateReviewDecisionInput", "reviewDecision { id }");
            write(who, &q, json!({ "id": w.review_decision, "owner": me }), "/updateReviewDecision/reviewDecision")
                .await
        }
        (field, case) => panic!("no runner for the probe `{field}` {case:?}: add one to `attempt`"),
    };
    (outcome, body.to_string())
}

/// A ticket's NCR — opened by `who` through ticket sync (`synced`), or by A's owner and
/// only later given the ticket — is planned by A's owner, then `who` reports the ticket
/// done: `Allowed` when that moved the NCR on, `Absent` when it stayed.
async fn ticket_done(w: &World<'_>, who: &Actor<'_>, synced: bool) -> (Value, Outcome) {
    let (a, o) = (w.a.id.as_str(), &w.a.owner);
    let key = format!("D-{}", serial());
    let upsert = "mutation($i: UpsertNonconformityByExternalRefInput!) { upsertNonconformityByExternalRef(input: $i) { nonconformity { id status } } }";
    let ticket = |done: bool| json!({ "organizationId": a, "externalRef": { "system": "jira", "key": key }, "title": "Probe ticket", "severity": "MINOR", "externalDone": done });
    let pointer = "/upsertNonconformityByExternalRef/nonconformity";
    let update = "mutation($i: UpdateNonconformityInput!) { updateNonconformity(input: $i) { nonconformity { id } } }";
    let id = if synced {
        let (body, outcome) = write(who, upsert, ticket(false), pointer).await;
        if outcome != Outcome::Allowed {
            return (body, outcome);
        }
        body.pointer("/data/upsertNonconformityByExternalRef/nonconformity/id")
            .and_then(Value::as_str)
            .expect("id")
            .to_string()
    } else {
        let id = o.nonconformity().create().await;
        o.ok(update, json!({ "i": { "id": id, "externalRef": { "system": "jira", "key": key } } })).await;
        id
    };
    let id = id.as_str();
    o.ok(update, json!({ "i": { "id": id, "rootCause": "restore never rehearsed" } })).await;
    o.corrective_action(id).create().await;
    let step =
        "mutation($i: TransitionNonconformityInput!) { transitionNonconformity(input: $i) { nonconformity { id } } }";
    for to in ["ANALYSIS", "ACTION_PLANNED"] {
        o.ok(step, json!({ "i": { "id": id, "to": to } })).await;
    }
    let (body, outcome) = write(who, upsert, ticket(true), pointer).await;
    if outcome != Outcome::Allowed {
        return (body, outcome);
    }
    let status = o.node(id, "Nonconformity", "status").await["status"].clone();
    let moved = if status == "ACTION_PLANNED" { Outcome::Absent } else { Outcome::Allowed };
    (json!({ "upsert": body, "status after": status }), moved)
}

/// A fresh document of A, written by A's contributor (so that A's owner, manager and the
/// platform admin may approve it), moved to `status` (DRAFT, IN_REVIEW or APPROVED).
async fn document_at(w: &World<'_>, status: &str) -> String {
    let c = &w.a.contributor;
    let q = "mutation($i: CreateDocumentInput!) { createDocument(input: $i) { document { id } } }";
    let input = json!({ "organizationId": w.a.id, "title": format!("Doc {}", serial()), "kind": "POLICY", "standards": ["ISO27001"] });
    let id = c.ok(q, json!({ "i": input })).await["createDocument"]["document"]["id"]
        .as_str()
        .expect("document")
        .to_string();
    let step = "mutation($i: TransitionDocumentInput!) { transitionDocument(input: $i) { document { id } } }";
    if status != "DRAFT" {
        c.ok(step, json!({ "i": { "id": id, "to": "IN_REVIEW" } })).await;
    }
    if status == "APPROVED" {
        w.a.manager.ok(step, json!({ "i": { "id": id, "to": "APPROVED" } })).await;
    }
    id
}

// issue 14
fn context_issue_input(org: &str, risk: Option<&str>) -> Value {
    json!({ "organizationId": org, "title": format!("Issue {}", serial()), "kind": "EXTERNAL", "category": "LEGAL",
        "standards": ["ISO27001"], "riskIds": risk.into_iter().collect::<Vec<_>>() })
}

async fn read(who: &Actor<'_>, q: &str, vars: Value, pointer: &str) -> (Value, Outcome) {
    let body = who.gql(q, vars).await;
    let outcome = judge(&body, at(pointer));
    (body, outcome)
}

/// A spreadsheet import: allowed when it answers 200 and wrote its row.
async fn imported(who: &Actor<'_>, path: &str, csv: String) -> (Value, Outcome) {
    let resp = who.post_csv(path, csv).await;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let outcome = match status {
        200 if body["applied"] == true
            && body["created"].as_u64().unwrap_or(0) + body["updated"].as_u64().unwrap_or(0) == 1 =>
        {
            Outcome::Allowed
        }
        403 => Outcome::Forbidden,
        404 => Outcome::Absent,
        _ => Outcome::Unexpected,
    };
    (json!({ "status": status, "body": body }), outcome)
}

async fn write(who: &Actor<'_>, q: &str, input: Value, pointer: &str) -> (Value, Outcome) {
    sent(who.gql(q, json!({ "i": input })).await, pointer)
}

fn sent(body: Value, pointer: &str) -> (Value, Outcome) {
    let outcome = judge(&body, at(pointer));
    (body, outcome)
}

/// Subscribes to A's events as `who`, has A's owner make a change (`trigger`), and
/// watches for `wait`: `Allowed` once an event satisfies `wanted`, `Absent` when none does
/// (or when the subscription ends), the error's outcome when it is refused.
async fn events(
    w: &World<'_>,
    who: &Actor<'_>,
    selection: &str,
    trigger: impl Future<Output = ()>,
    wanted: impl Fn(&Value) -> bool,
    wait: Duration,
) -> (Value, Outcome) {
    let q = format!("subscription($o: ID!) {{ organizationEvents(organizationId: $o) {{ {selection} }} }}");
    let mut ws = who.subscribe(&q, json!({ "o": w.a.id })).await;
    trigger.await;
    let deadline = tokio::time::Instant::now() + wait;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(msg) = ws_next(&mut ws, left).await else {
            return (json!({ "events within the wait": seen }), Outcome::Absent);
        };
        match msg["type"].as_str() {
            Some("next") if msg["payload"].get("errors").is_none() => {
                let event = &msg["payload"]["data"]["organizationEvents"];
                if wanted(event) {
                    return (msg, Outcome::Allowed);
                }
                seen.push(event.clone());
            }
            Some("next") => return (msg.clone(), judge(&msg["payload"], |_| false)),
            Some("error") => return (msg.clone(), judge(&json!({ "errors": msg["payload"] }), |_| false)),
            Some("complete") => return (msg, Outcome::Absent),
            _ => return (msg, Outcome::Unexpected),
        }
    }
}

fn show(outcomes: &[Outcome]) -> String {
    outcomes.iter().map(|o| format!("{o:?}")).collect::<Vec<_>>().join(" or ")
}

async fn permission_matrix(app: &TestApp) {
    let w = World::build(app).await;
    let mut legs: Vec<Leg<'_>> = Vec::new();
    for role in Role::ALL {
        legs.push(Leg { who: w.a.role(role), access: Some(Access::Member(role)) });
        legs.push(Leg { who: w.b.role(role), access: None });
    }
    legs.push(Leg { who: &w.a.admin, access: Some(Access::PlatformAdmin) });

    let log = std::env::var("ANNEX_TEST_PROBE_LOG").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    let mut cells = 0;
    for p in PROBES {
        let run = legs.iter().filter(|l| p.reach == Reach::Tenant || l.access.is_some());
        let w = &w;
        let results = join_all(run.map(|leg| async move { (leg, attempt(w, p, leg.who).await) })).await;
        for (leg, (got, evidence)) in results {
            cells += 1;
            let want = expected(p, leg);
            if log {
                eprintln!("{:?} | {} | {} {} | {got:?}", app.backend, p.label(), leg.who_label(), leg.tenant_label());
            }
            let label = p.label();
            let known = KNOWN_MISMATCHES
                .iter()
                .find(|(l, who, t, _, _)| *l == label && *who == leg.who_label() && *t == leg.tenant_label());
            let cell = format!("{label} as {} of the {} tenant", leg.who_label(), leg.tenant_label());
            match (want.contains(&got), known) {
                (true, None) => {}
                (false, Some((_, _, _, known, _))) if *known == got => {}
                (false, Some((_, _, _, known, _))) => failures.push(format!(
                    "{cell}: a known mismatch ({known:?}) now gives {got:?}, and the table says {}: {evidence}",
                    show(want)
                )),
                (false, None) => {
                    failures.push(format!("{cell}: table says {}, service gave {got:?}: {evidence}", show(want)))
                }
                (true, Some(_)) => {
                    failures.push(format!("{cell}: agrees with the table now; remove it from KNOWN_MISMATCHES"))
                }
            }
        }
    }
    // Some probe per operation ran, and the matrix is as big as it should be.
    assert!(Operation::ALL.iter().all(|op| PROBES.iter().any(|p| p.op == *op)));
    let global = PROBES.iter().filter(|p| p.reach == Reach::Global).count();
    let own = legs.iter().filter(|l| l.access.is_some()).count();
    assert_eq!(cells, (PROBES.len() - global) * legs.len() + global * own);
    assert!(
        failures.is_empty(),
        "{} of {cells} cells disagree with the permission table:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

// issue 15: the management review

const REVIEW_TOPICS: [&str; 12] = [
    "PREVIOUS_ACTIONS",
    "CONTEXT_CHANGES",
    "INTERESTED_PARTY_CHANGES",
    "NONCONFORMITIES_AND_ACTIONS",
    "MONITORING_RESULTS",
    "AUDIT_RESULTS",
    "OBJECTIVES",
    "INTERESTED_PARTY_FEEDBACK",
    "RISK_ASSESSMENT_AND_TREATMENT",
    "IMPROVEMENT_OPPORTUNITIES",
    "AI_SYSTEM_PERFORMANCE",
    "INCIDENTS",
];

/// A PLANNED review of `org` with one input (AUDIT_RESULTS), made by `o`: (review, input).
async fn probe_review(o: &Actor<'_>, org: &str) -> (String, String) {
    let created = o
        .ok(
            "mutation($i: CreateManagementReviewInput!) { createManagementReview(input: $i) { managementReview { id } } }",
            json!({ "i": { "organizationId": org, "title": format!("Review {}", serial()), "plannedOn": "2027-02-01", "attendees": ["CEO"] } }),
        )
        .await;
    let review = created["createManagementReview"]["managementReview"]["id"].as_str().expect("review").to_string();
    let input = o
        .ok(
            "mutation($i: RecordReviewInputInput!) { recordReviewInput(input: $i) { reviewInput { id } } }",
            json!({ "i": { "reviewId": review, "topic": "AUDIT_RESULTS", "summary": "No findings" } }),
        )
        .await["recordReviewInput"]["reviewInput"]["id"]
        .as_str()
        .expect("input")
        .to_string();
    (review, input)
}

async fn record_every_topic(o: &Actor<'_>, review: &str) {
    for topic in REVIEW_TOPICS {
        o.ok(
            "mutation($i: RecordReviewInputInput!) { recordReviewInput(input: $i) { reviewInput { id } } }",
            json!({ "i": { "reviewId": review, "topic": topic, "summary": "Considered" } }),
        )
        .await;
    }
}

/// A HELD review of `org`, made by `o`.
async fn probe_held_review(o: &Actor<'_>, org: &str) -> String {
    let (review, _) = probe_review(o, org).await;
    record_every_topic(o, &review).await;
    o.ok(
        "mutation($i: TransitionManagementReviewInput!) { transitionManagementReview(input: $i) { managementReview { id } } }",
        json!({ "i": { "id": review, "to": "HELD" } }),
    )
    .await;
    review
}

crate::api_tests!(permission_matrix);
