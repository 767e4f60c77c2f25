//! The permission table: every operation × every organization role, in one place.
//!
//! Enforced by the tenancy gate (`store::tenancy`) and used for the `viewerCan*` fields,
//! so what a front end shows and what the service allows cannot drift apart. A platform
//! admin (token role `platform_admin`) may do everything everywhere. The README prints
//! [`markdown_table`]; a test fails when the two differ.
//! (ISO 27001 A.5.15 access control, A.5.18 access rights.)

use std::fmt::Write as _;
use std::str::FromStr;

/// Organization roles (memberships stored in the service, keyed by token `sub`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Owner,
    Manager,
    Contributor,
    Auditor,
    Viewer,
    Integration,
}

impl Role {
    pub const ALL: [Role; 6] =
        [Role::Owner, Role::Manager, Role::Contributor, Role::Auditor, Role::Viewer, Role::Integration];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "OWNER",
            Role::Manager => "MANAGER",
            Role::Contributor => "CONTRIBUTOR",
            Role::Auditor => "AUDITOR",
            Role::Viewer => "VIEWER",
            Role::Integration => "INTEGRATION",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| format!("unknown role {s}"))
    }
}

/// How the caller stands in one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    PlatformAdmin,
    Member(Role),
}

impl Access {
    pub fn allows(self, op: Operation) -> bool {
        match self {
            Access::PlatformAdmin => true,
            Access::Member(role) => op.roles() & role.bit() != 0,
        }
    }
}

const O: u8 = 1 << 0;
const M: u8 = 1 << 1;
const C: u8 = 1 << 2;
const A: u8 = 1 << 3;
const V: u8 = 1 << 4;
const I: u8 = 1 << 5;
const ALL: u8 = O | M | C | A | V | I;
/// Platform admins only.
const NONE: u8 = 0;

macro_rules! operations {
    ($($op:ident: $roles:expr, $graphql:literal;)*) => {
        /// Every operation a caller can attempt.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation { $($op),* }

        impl Operation {
            pub const ALL: &'static [Operation] = &[$(Operation::$op),*];

            fn roles(self) -> u8 {
                match self { $(Operation::$op => $roles),* }
            }

            /// The GraphQL fields and endpoints this operation guards.
            pub fn graphql(self) -> &'static str {
                match self { $(Operation::$op => $graphql),* }
            }

            pub fn name(self) -> &'static str {
                match self { $(Operation::$op => stringify!($op)),* }
            }
        }
    };
}

operations! {
    CreateOrganization: NONE, "`createOrganization`";
    ReadCatalog: ALL, "`standards`, `standard` (global catalogs: any authenticated caller, member or not)";
    ReadViewer: ALL, "`viewer` (the caller's own subject and memberships: any valid token, member or not)";
    ReadOrganization: ALL, "`organization`, `organizations`, `node`, `members`, `riskSettings`";
    UpdateOrganization: O | M, "`updateOrganization` (name, slug, riskSettings)";
    MarkTemplate: O, "`setOrganizationTemplate` (new organizations may be created from this one)";
    ManageMembers: O, "`addMember`, `changeMemberRole`, `removeMember`";
    ReadChanges: O | M | A, "`changes`, `history`, `auditTrailIntegrity`, `auditTrailHead`";
    SubscribeEvents: ALL, "`organizationEvents` (subscription)";
    ReadDashboard: ALL, "`dashboard`, `portfolio`";
    ReadControls: ALL, "`controls`, `Control`, `GET /organizations/{id}/soa.csv`, `soa`";
    UpdateControl: O | M | C, "`updateControl`, `POST /organizations/{id}/imports/soa`, `POST /organizations/{id}/imports/controls-decisions`";
    CreateCustomControl: O | M | C, "`createCustomControl`";
    ReadClauseAssessments: ALL, "`clauseAssessments`, `readiness`";
    UpdateClauseAssessment: O | M | C, "`updateClauseAssessment`";
    ReadScopes: ALL, "`scopes`, `Scope`";
    WriteScopes: O | M | C, "`createScope`, `updateScope`, `deleteScope`";
    ReadAiSystems: ALL, "`aiSystems`, `AiSystem`";
    WriteAiSystems: O | M | C, "`createAiSystem`, `updateAiSystem`, `deleteAiSystem`";
    ReadRisks: ALL, "`risks`, `Risk`";
    WriteRisks: O | M | C, "`createRisk`, `updateRisk`, `deleteRisk`, `linkRiskControl`, `unlinkRiskControl`, `POST /organizations/{id}/imports/risks`";
    ReadImpactAssessments: ALL, "`impactAssessments`, `ImpactAssessment`";
    WriteImpactAssessments: O | M | C, "`createImpactAssessment`, `updateImpactAssessment` (content, DRAFT ⇄ IN_REVIEW)";
    ApproveImpactAssessment: O | M, "`updateImpactAssessment` to APPROVED, and reopening an approved one";
    ReadAudits: O | M | C | A | V, "`audits`, `Audit`, `Finding`";
    WriteAudits: O | M | A, "`createAudit`, `updateAudit`, `transitionAudit`";
    WriteFindings: O | M | A, "`addFinding`, `updateFinding`";
    RaiseNonconformity: O | M | A, "`raiseNonconformity`";
    ReadCertifications: O | M | C | A | V, "`certifications`, `Certification`, `expiringCertifications`, `surveillanceDue`";
    WriteCertifications: O | M | A, "`createCertification`, `updateCertification`";
    ReadNonconformities: ALL, "`nonconformities`, `Nonconformity`, `CorrectiveAction`";
    WriteNonconformities: O | M | C, "`createNonconformity`, `updateNonconformity` (any nonconformity; setting actionNeeded or noActionJustification on any, ticket-synced ones included: 10.2 b is a person's evaluation, never a ticket system's)";
    SyncNonconformities: O | M | C | I, "`upsertNonconformityByExternalRef`; `createNonconformity` with an externalRef; `updateNonconformity`, `addCorrectiveAction`, `updateCorrectiveAction` on a ticket-synced nonconformity (one created with its ticket)";
    ReviewEffectiveness: O | M | C, "`updateNonconformity` setting effectivenessReview (10.2 d: a person's judgement, never a ticket system's)";
    TransitionNonconformity: O | M | C, "`transitionNonconformity` (every move except to CLOSED); the moves `upsertNonconformityByExternalRef` makes when its ticket is reported done (externalDone) on a nonconformity that is not ticket-synced";
    AdvanceSyncedNonconformity: O | M | C | I, "the moves `upsertNonconformityByExternalRef` makes when its ticket is reported done (externalDone) on a ticket-synced nonconformity (never past VERIFICATION)";
    CloseNonconformity: O | M | A, "`transitionNonconformity` to CLOSED";
    WriteCorrectiveActions: O | M | C, "`addCorrectiveAction`, `updateCorrectiveAction` (any nonconformity)";
    // issue 16
    ReadMeasures: O | M | C | A | V, "`measures`, `Measure`, `treatmentPlan`, `suggestMeasuresFromMapping` (without it, a control's derivedStatus is null and statusMismatch false)";
    WriteMeasures: O | M | C, "`createMeasure`, `updateMeasure`, `deleteMeasure`, `linkMeasureControl`, `unlinkMeasureControl`, `linkMeasureRisk`, `unlinkMeasureRisk`";
    ApproveTreatmentPlan: O | M | C, "`approveTreatmentPlan` of a risk whose owner is the caller's subject (6.1.3 f: risk owners approve the plan)";
    ApproveTreatmentPlanForOwner: O | M, "`approveTreatmentPlan` of a risk someone else owns, recorded as acting for its owner";
    ReadTasks: O | M | C | A | V, "`tasks`, `Task` (the viewer's tasks span the organizations where the caller has this right)";
    WriteTasks: O | M | C, "`createTask`, `updateTask`, `completeTask`";
    ReadProgrammes: O | M | C | A | V, "`programmes`, `Programme`, `ProgrammePhase`";
    WriteProgrammes: O | M | C, "`createProgramme`, `updateProgrammePhase`";
    // issue 13
    ReadDocuments: O | M | C | A | V, "`documents` (of an organization, and of an SoA row), `Document`, `DocumentVersion`";
    WriteDocuments: O | M | C, "`createDocument`, `updateDocument`, `reviseDocument`, `transitionDocument` (DRAFT ⇄ IN_REVIEW), `linkDocumentControl`, `unlinkDocumentControl`";
    ApproveDocuments: O | M, "`transitionDocument` to APPROVED (never by the version's author) or RETIRED";
    // issue 14
    ReadObjectives: ALL, "`objectives`, `Objective`, `Measurement`";
    WriteObjectives: O | M | C, "`createObjective`, `updateObjective`, `deleteObjective`";
    RecordMeasurements: O | M | C | I, "`recordMeasurement` (KPIs a monitoring tool pushes)";
    ReadContextIssues: ALL, "`contextIssues`, `ContextIssue`";
    WriteContextIssues: O | M | C, "`createContextIssue`, `updateContextIssue`, `deleteContextIssue`";
    // issue 15
    ReadIncidents: ALL, "`incidents`, `Incident`";
    ReportIncidents: O | M | C | A | I, "`reportIncident`";
    WriteIncidents: O | M | C, "`updateIncident` (any incident), `transitionIncident`";
    SyncIncidents: O | M | C | I, "`upsertIncidentByExternalRef` (a ticket reported resolved moves its incident at most to RESOLVED); `updateIncident` on a ticket-synced incident (one created by the upsert)";
    RaiseIncidentNonconformity: O | M | C, "`raiseNonconformityFromIncident`";
    ReadSuppliers: ALL, "`suppliers`, `Supplier`, `SupplierAssessment`";
    WriteSuppliers: O | M | C, "`createSupplier`, `updateSupplier`, `deleteSupplier`, `addSupplierAssessment`";
    // issue 15: the management review (9.3)
    ReadManagementReviews: O | M | C | A | V, "`managementReviews`, `ManagementReview`, `ReviewInput`, `ReviewDecision`";
    WriteManagementReviews: O | M, "`createManagementReview`, `updateManagementReview`, `transitionManagementReview`, `recordReviewInput`, `addReviewDecision`, `updateReviewDecision`";
}

/// The table as Markdown, exactly as the README prints it.
pub fn markdown_table() -> String {
    let mut out =
        String::from("| operation | guards | OWNER | MANAGER | CONTRIBUTOR | AUDITOR | VIEWER | INTEGRATION |\n");
    out.push_str("| --- | --- | :-: | :-: | :-: | :-: | :-: | :-: |\n");
    for op in Operation::ALL {
        let _ = write!(out, "| {} | {} |", op.name(), op.graphql());
        for role in Role::ALL {
            out.push_str(if Access::Member(role).allows(*op) { " ✓ |" } else { " · |" });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_admin_may_do_everything() {
        assert!(Operation::ALL.iter().all(|op| Access::PlatformAdmin.allows(*op)));
    }

    #[test]
    fn only_platform_admins_create_organizations() {
        assert!(Role::ALL.iter().all(|r| !Access::Member(*r).allows(Operation::CreateOrganization)));
    }

    #[test]
    fn auditors_stay_independent() {
        // Auditor independence: auditors cannot edit what they audit.
        let a = Access::Member(Role::Auditor);
        for op in [Operation::WriteRisks, Operation::UpdateControl, Operation::TransitionNonconformity] {
            assert!(!a.allows(op), "{op:?}");
        }
        assert!(a.allows(Operation::CloseNonconformity));
    }

    #[test]
    fn integrations_touch_only_what_their_tickets_made() {
        // Issue 9, 3: a ticket system may sync its own NCRs, never review effectiveness
        // or move NCRs that people opened.
        let i = Access::Member(Role::Integration);
        for op in [
            Operation::WriteNonconformities,
            Operation::ReviewEffectiveness,
            Operation::TransitionNonconformity,
            Operation::CloseNonconformity,
            Operation::WriteCorrectiveActions,
        ] {
            assert!(!i.allows(op), "{op:?}");
        }
        assert!(i.allows(Operation::SyncNonconformities));
        assert!(i.allows(Operation::AdvanceSyncedNonconformity));
    }

    #[test]
    fn every_member_reads_the_organization() {
        assert!(Role::ALL.iter().all(|r| Access::Member(*r).allows(Operation::ReadOrganization)));
    }

    #[test]
    fn roles_parse_back() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
    }
}
