//! What a query may ask for and what it costs, in one place.
//!
//! async-graphql prices a selection as the sum of its fields (a field without a price
//! costs 1 + its selection). A list field costs its bound × the cost of its selection, so
//! nested lists multiply: a connection is bounded by the page it asks for ([`page`]), a
//! plain list by the maximum below, which the field never exceeds (the store or catalog
//! cannot hold more, or the resolver returns at most that many and says so). Lists of
//! scalars cost 1: nothing is nested under them, and their length is bounded where they
//! are written.
//!
//! Fields of entity objects name their price in `entity_object!` (`#[list(MEMBERS)]`,
//! `#[page(first)]`); other objects write `#[graphql(complexity = "…")]` with these names.

use crate::store::page::{DEFAULT_PAGE, MAX_PAGE};

/// A connection's multiplier: the `first` it asks for (default and bound as the store
/// applies them).
pub fn page(first: Option<i32>) -> usize {
    first.map_or(DEFAULT_PAGE, |n| (n.max(1) as u64).min(MAX_PAGE)) as usize
}

/// At most `max` items of a list (the rest is left out, as its field's description says).
pub fn bounded<T>(mut items: Vec<T>, max: usize) -> Vec<T> {
    items.truncate(max);
    items
}

// Organizations and the caller.

/// `Organization.members`, by subject.
pub const MEMBERS: usize = 500;
/// `Viewer.memberships`, by organization name.
pub const VIEWER_MEMBERSHIPS: usize = 200;
/// `Query.standards`, `readiness` (one per standard), `Dashboard.soaCoverage`.
pub const STANDARDS: usize = 2;

// Catalogs (read-only, seeded by the migrations; a test checks the seeded data fits).

/// `Standard.clauses`: clauses 4-10 with their sub-clauses (41 and 43 today).
pub const CLAUSES: usize = 50;
/// `Standard.controls`: one standard's Annex A (93 and 38 today).
pub const CATALOG_CONTROLS: usize = 100;
/// `Standard.groups`: Annex A themes or objectives (4 and 9 today).
pub const CATALOG_GROUPS: usize = 10;
/// Mapping rows of one control (`catalogMappings`, `mappedControls`,
/// `coverageFromIso27001.controls`; 10 at most today). `CatalogControl.mappings` and
/// `ControlMapping.via` hold at most this many and [`SCF_CONTROLS`] but are priced as one
/// item: the whole catalog has 103 mapping rows and nothing under them leads back to a
/// list, so `standards { controls { mappings { via } } }` stays a bounded walk of it.
pub const MAPPINGS: usize = 20;
/// `ControlMapping.via` (5 at most today).
pub const SCF_CONTROLS: usize = 10;

// The Statement of Applicability.

/// `Organization.soa`: every catalog control of both standards (131) and at most
/// [`crate::store::soa::MAX_CUSTOM_CONTROLS`] organization-defined ones.
pub const SOA_ROWS: usize = crate::store::soa::MAX_SOA_ROWS;
/// `Control.evidence` (refused beyond this when written).
pub const EVIDENCE: usize = crate::store::soa::MAX_EVIDENCE;
/// `SoaCoverage.groups`: the Annex A groups of one standard and `CUSTOM`.
pub const SOA_GROUPS: usize = CATALOG_GROUPS + 1;

// Risks and AI systems.

/// `Risk.controls` (a risk treated by more is refused when linked).
pub const RISK_CONTROLS: usize = crate::store::risk::MAX_CONTROLS_PER_RISK;
/// `Control.risks`: the highest residual scores first.
pub const CONTROL_RISKS: usize = 30;
/// `AiSystem.risks`: the highest residual scores first.
pub const SYSTEM_RISKS: usize = 50;
/// `AiSystem.impactAssessments`: the oldest first.
pub const SYSTEM_ASSESSMENTS: usize = 50;
/// `ImpactAssessment.impacts` (refused beyond this when written).
pub const IMPACTS: usize = crate::domain::impact::MAX_IMPACTS;
/// `ImpactAssessment.risks` (refused beyond this when written).
pub const ASSESSMENT_RISKS: usize = crate::store::impact::MAX_LINKED_RISKS;
/// `RiskSettings.levels`, `Dashboard.risksByLevel`.
pub const RISK_LEVELS: usize = 4;
/// `Dashboard.risksByDomain`.
pub const RISK_DOMAINS: usize = 3;
/// `Dashboard.riskHeatMap`: the cells of the largest matrix (5 × 5).
pub const HEAT_CELLS: usize = 25;

// Audits and nonconformities.

/// `Audit.findings`: the first recorded.
pub const FINDINGS: usize = 50;
/// `Audit.transitions`: the workflow only moves forward (PLANNED → IN_PROGRESS →
/// REPORTING → COMPLETED, or to CANCELLED).
pub const AUDIT_TRANSITIONS: usize = 3;
/// `Nonconformity.transitions`: the most recent (the audit trail keeps every move).
pub const NCR_TRANSITIONS: usize = 10;
/// `Nonconformity.correctiveActions` (refused beyond this when added).
pub const CORRECTIVE_ACTIONS: usize = crate::store::ncr::MAX_ACTIONS;
/// `Nonconformity.similarNonconformities` (refused beyond this when written).
pub const SIMILAR_NONCONFORMITIES: usize = crate::domain::ncr::MAX_SIMILAR;
/// `Dashboard.nonconformitiesByStatus`.
pub const NCR_STATUSES: usize = 6;
/// `Dashboard.nonconformityAging`.
pub const AGING_BUCKETS: usize = 4;
/// `Dashboard.upcomingAudits`: the soonest.
pub const UPCOMING_AUDITS: usize = 20;
/// `Audit.objectivityConflicts`: each SoA row and clause assessment has one owner, so
/// one conflict at most per row.
pub const OBJECTIVITY_CONFLICTS: usize = SOA_ROWS + 2 * CLAUSES;

// Certifications.

/// `Certification.audits` (refused beyond this when linked).
pub const CERTIFICATION_AUDITS: usize = crate::domain::certification::MAX_AUDITS;
/// `Dashboard.expiringCertifications`, `Dashboard.surveillanceDue`: the soonest.
pub const DUE_CERTIFICATIONS: usize = 20;

// Measures, tasks and the programme (issue 16).

/// `Measure.controls`.
pub const MEASURE_CONTROLS: usize = crate::domain::measure::MAX_CONTROLS_PER_MEASURE;
/// `Measure.risks`.
pub const MEASURE_RISKS: usize = crate::domain::measure::MAX_RISKS_PER_MEASURE;
/// `Control.measures`.
pub const CONTROL_MEASURES: usize = 50;
/// `Risk.treatmentPlan`.
pub const RISK_MEASURES: usize = 50;
/// `Measure.tasks`, `ProgrammePhase.tasks`.
pub const SUBJECT_TASKS: usize = 50;
/// `Programme.phases`.
pub const PROGRAMME_PHASES: usize = crate::domain::programme::MAX_PHASES;

// Documented information (issue 13).

/// `Document.controls` (refused beyond this when linked).
pub const DOCUMENT_CONTROLS: usize = crate::store::document::MAX_CONTROLS_PER_DOCUMENT;
/// `Control.documents`: the first by title.
pub const CONTROL_DOCUMENTS: usize = 50;
// issue 14

/// `Dashboard.objectives`: one per status.
pub const OBJECTIVE_STATUSES: usize = 5;
/// `ContextIssue.risks` (refused beyond this when linked).
pub const CONTEXT_ISSUE_RISKS: usize = crate::domain::context::MAX_ISSUE_RISKS;
/// `Risk.contextIssues`: the first 50 by title.
pub const RISK_CONTEXT_ISSUES: usize = 50;
// Incidents (issue 15).

/// `Incident.affectedControls`.
pub const INCIDENT_AFFECTED_CONTROLS: usize = crate::domain::incident::MAX_AFFECTED_CONTROLS;
/// `Incident.transitions`: the workflow only moves forward, four moves at most.
pub const INCIDENT_TRANSITIONS: usize = 4;
/// `Dashboard.openIncidentsBySeverity`: one per severity.
pub const INCIDENT_SEVERITIES: usize = 4;
/// `Dashboard.openIncidentsByKind`: one per kind.
pub const INCIDENT_KINDS: usize = 3;

// Suppliers (issue 15).

/// `Supplier.assessments`.
pub const SUPPLIER_ASSESSMENTS: usize = 100;
/// `Supplier.risks`, `Supplier.aiSystems`, `Supplier.controls`.
pub const SUPPLIER_LINKS: usize = crate::domain::supplier::MAX_LINKS;

// The management review (issue 15).

/// `ManagementReview.inputs`, `ManagementReview.missingTopics`: one per topic.
pub const REVIEW_TOPICS: usize = 12;
/// `ManagementReview.decisions` (refused beyond this when added).
pub const REVIEW_DECISIONS: usize = crate::domain::review::MAX_DECISIONS;
/// `ManagementReview.previousActions`: the soonest due first.
pub const REVIEW_PREVIOUS_ACTIONS: usize = crate::domain::review::MAX_PREVIOUS_ACTIONS;
/// `ManagementReview.transitions`: PLANNED → HELD → CLOSED.
pub const REVIEW_TRANSITIONS: usize = 2;

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
    use async_graphql::{Schema, ServerError, ValidationResult};

    use super::*;
    use crate::graphql::{Mutation, Query, events};

    #[test]
    fn a_page_costs_what_it_can_return() {
        assert_eq!(page(None), 20);
        assert_eq!(page(Some(5)), 5);
        assert_eq!(page(Some(0)), 1);
        assert_eq!(page(Some(10_000)), 100);
    }

    #[test]
    fn the_enumerations_fit_their_bounds() {
        use crate::domain::{dashboard, ncr, refs, risk};
        assert_eq!(ncr::NcrStatus::ALL.len(), NCR_STATUSES);
        assert_eq!(dashboard::AgingBucket::ALL.len(), AGING_BUCKETS);
        assert_eq!(risk::RiskLevel::ALL.len(), RISK_LEVELS);
        assert_eq!(risk::RiskDomain::ALL.len(), RISK_DOMAINS);
        assert_eq!(refs::Standard::ALL.len(), STANDARDS);
    }

    #[test]
    fn the_seeded_catalogs_fit_their_bounds() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/migration/data/iso-catalogs.json");
        let data: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("catalog")).expect("json");
        let len = |v: &serde_json::Value| v.as_array().map_or(0, Vec::len);
        let mut catalog_controls = 0;
        for s in data["standards"].as_array().expect("standards") {
            assert!(len(&s["clauses"]) <= CLAUSES);
            assert!(len(&s["annexA"]) <= CATALOG_CONTROLS);
            assert!(len(&s["groups"]) <= CATALOG_GROUPS);
            catalog_controls += len(&s["annexA"]);
        }
        assert_eq!(catalog_controls, crate::store::soa::CATALOG_CONTROLS);
        let mut per_control = std::collections::HashMap::<String, usize>::new();
        for m in data["mappings"].as_array().expect("mappings") {
            for side in ["from", "to"] {
                *per_control.entry(m[side].as_str().unwrap_or_default().to_string()).or_default() += 1;
            }
            assert!(len(&m["via"]) <= SCF_CONTROLS);
        }
        assert!(per_control.values().all(|n| *n <= MAPPINGS));
    }

    /// Reads the complexity async-graphql computes, and stops before anything runs.
    struct Price(Arc<Mutex<Option<usize>>>);

    impl ExtensionFactory for Price {
        fn create(&self) -> Arc<dyn Extension> {
            Arc::new(PriceOf(self.0.clone()))
        }
    }

    struct PriceOf(Arc<Mutex<Option<usize>>>);

    #[async_graphql::async_trait::async_trait]
    impl Extension for PriceOf {
        async fn validation(
            &self,
            ctx: &ExtensionContext<'_>,
            next: NextValidation<'_>,
        ) -> Result<ValidationResult, Vec<ServerError>> {
            let result = next.run(ctx).await?;
            *self.0.lock().expect("price") = Some(result.complexity);
            Err(vec![ServerError::new("priced", None)])
        }
    }

    fn price(query: &str) -> usize {
        let seen = Arc::new(Mutex::new(None));
        let schema = Schema::build(Query::default(), Mutation::default(), events::EventSubscription)
            .extension(Price(seen.clone()))
            .finish();
        let response = futures_executor(schema.execute(query));
        let price = *seen.lock().expect("price");
        price.unwrap_or_else(|| panic!("not priced: {:?}", response.errors))
    }

    fn futures_executor<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(f)
    }

    /// `organization { members { organization { members … } } }`, `levels` deep.
    fn members_cycle(levels: usize) -> String {
        let mut inner = "name".to_string();
        for _ in 0..levels {
            inner = format!("members {{ subject organization {{ {inner} }} }}");
        }
        format!("{{ organization(id: \"org_00000000000000000000000000000000\") {{ {inner} }} }}")
    }

    const DEFAULT_MAX: usize = 20_000;

    #[test]
    fn nested_lists_multiply() {
        // Issue 10, 2: at depth 10 this was priced 10.
        assert!(price(&members_cycle(1)) < DEFAULT_MAX);
        assert!(price(&members_cycle(2)) > DEFAULT_MAX, "{}", price(&members_cycle(2)));
        assert!(price(&members_cycle(4)) > 1_000_000_000);
        let connection = "{ organizations(first: 100) { nodes { scopes(first: 100) { nodes { id } } } } }";
        // nodes { id } costs 2; each connection multiplies by its page.
        assert_eq!(price(connection), 100 * (1 + 100 * 2));
    }

    #[test]
    fn dashboards_a_portfolio_of_fifty_and_the_deepest_test_queries_fit() {
        // The queries of tests/api/dashboard.rs.
        let dashboard = "query($o: ID!) { organization(id: $o) { dashboard { soaCoverage { standard applicable excluded implemented partial planned notStarted percentImplemented groups { groupRef group applicable excluded implemented partial planned notStarted percentImplemented } } openNonconformities nonconformitiesByStatus { status count } nonconformityAging { bucket label count } overdueCorrectiveActions readiness { standard percent } } } }";
        let risks = "query($o: ID!) { organization(id: $o) { dashboard { inherent: riskHeatMap { likelihood impact count level } residual: riskHeatMap(residual: true) { likelihood impact count } risksByDomain { domain count } risksByLevel { level count } appetiteBreaches aiSystemsWithoutImpactAssessment } } }";
        let portfolio = "{ organizations(first: 50) { nodes { name dashboard { riskHeatMap { count } residual: riskHeatMap(residual: true) { count } risksByDomain { count } risksByLevel { count } appetiteBreaches aiSystemsWithoutImpactAssessment upcomingAudits { title } soaCoverage { standard percentImplemented groups { groupRef implemented } } openNonconformities nonconformitiesByStatus { status count } nonconformityAging { count } overdueCorrectiveActions readiness { standard percent } } } } portfolio { organizations totalOpenNonconformities totalAppetiteBreaches lowestReadiness { organization { name } standard percent } } }";
        // The deepest lists the integration tests walk (tests/api/improvement.rs, risk.rs,
        // soa.rs): the maxima above are chosen so these still run.
        let improvement = "query($o: ID!) { organization(id: $o) { audits(first: 7) { nodes { findings { id nonconformity { id correctiveActions { id overdue } transitions { to } } } transitions { to } } } nonconformities(first: 10) { nodes { finding { id } correctiveActions { id nonconformity { id } viewerCanUpdate } transitions { to } hasOverdueActions } } } }";
        let control_risks = "query($o: ID!) { organization(id: $o) { controls(first: 20) { nodes { ref risks { title residualLevel controls { ref } } } } } }";
        let risk_controls = "query($o: ID!) { organization(id: $o) { risks(first: 20) { nodes { controls { ref risks { title } } scope { name } aiSystem { name } } } } }";
        let catalog = "{ standards { code edition title clauses { ref title parentRef } controls { ref title group groupRef subgroupRef aiSpecific mappings { standard ref source strength sharedScfControls via { id name } } } groups { ref title count } } }";
        for q in [dashboard, risks, portfolio, improvement, control_risks, risk_controls, catalog] {
            let p = price(q);
            assert!(p < DEFAULT_MAX, "{p}: {q}");
        }
    }
}
