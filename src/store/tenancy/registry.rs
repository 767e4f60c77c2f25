//! The entity registry: every table the service reads or writes, registered once.
//!
//! * [`TenantScoped`]: a table of tenant rows (the tenant column, the right reading a row
//!   needs, the operations whose writers may change one). Link tables and the
//!   organization row itself are only this.
//! * [`TenantOwned`]: a tenant entity with an id (and, when versioned, optimistic
//!   concurrency), a global-ID kind, and a list order. `node()`, the by-id, children and
//!   link loaders all work from these registrations.
//! * [`Global`]: the read-only catalogs.
//!
//! A table that is not registered here cannot be queried through the gate.

use sea_orm::{EntityTrait, QueryOrder};
use uuid::Uuid;

use crate::auth::Operation;
use crate::entity;
use crate::ids::Kind;

/// A table whose rows belong to exactly one organization.
pub trait TenantScoped: EntityTrait {
    /// The operation that reading a row needs.
    const READ: Operation;
    /// The operations whose writers may insert, update or delete rows.
    const WRITE: &'static [Operation];
    fn org_column() -> Self::Column;
}

/// A tenant entity with its own id.
pub trait TenantOwned: TenantScoped {
    const KIND: Kind;
    fn id_column() -> Self::Column;
    fn version_column() -> Option<Self::Column>;
    fn updated_at_column() -> Option<Self::Column>;
    fn org_of(model: &Self::Model) -> Uuid;
    fn id_of(model: &Self::Model) -> Uuid;
    /// The order rows are listed in when nothing else asks (link targets).
    fn list_order<Q: QueryOrder>(q: Q) -> Q {
        q.order_by_asc(Self::id_column())
    }
}

/// A global, read-only table (the catalogs).
pub trait Global: EntityTrait {}

/// A tenant entity listed under a parent row (findings of an audit, actions of a
/// nonconformity, …), for batch loading.
pub trait ChildOf: TenantOwned {
    fn parent_column() -> Self::Column;
    fn parent_of(model: &Self::Model) -> Option<Uuid>;
    /// The order children are listed in.
    fn order<Q: QueryOrder>(q: Q) -> Q;
}

/// A link table between two tenant entities (many-to-many).
pub trait Link: TenantScoped {
    type Left: TenantOwned;
    type Right: TenantOwned;
    fn left_column() -> Self::Column;
    fn right_column() -> Self::Column;
    fn left_of(model: &Self::Model) -> Uuid;
    fn right_of(model: &Self::Model) -> Uuid;
}

use Operation as Op;

macro_rules! scoped {
    ($module:ident, org: $org:ident, read: $read:ident, write: [$($write:ident),* $(,)?]) => {
        impl TenantScoped for entity::$module::Entity {
            const READ: Operation = Operation::$read;
            const WRITE: &'static [Operation] = &[$(Op::$write),*];
            fn org_column() -> Self::Column {
                entity::$module::Column::$org
            }
        }
    };
}

macro_rules! owned {
    ($module:ident, $kind:ident, read: $read:ident, write: [$($write:ident),* $(,)?]
        $(, versioned: $v:ident)? $(, order: |$q:ident| $order:expr)?) => {
        scoped!($module, org: OrganizationId, read: $read, write: [$($write),*]);
        owned!(@owned $module, $kind, |m| m.organization_id $(, versioned: $v)? $(, order: |$q| $order)?);
    };
    (@owned $module:ident, $kind:ident, |$m:ident| $org_of:expr
        $(, versioned: $v:ident)? $(, order: |$q:ident| $order:expr)?) => {
        impl TenantOwned for entity::$module::Entity {
            const KIND: Kind = Kind::$kind;
            fn id_column() -> Self::Column {
                entity::$module::Column::Id
            }
            fn version_column() -> Option<Self::Column> {
                owned!(@col $module, Version $(, $v)?)
            }
            fn updated_at_column() -> Option<Self::Column> {
                owned!(@col $module, UpdatedAt $(, $v)?)
            }
            fn org_of($m: &Self::Model) -> Uuid {
                $org_of
            }
            fn id_of(m: &Self::Model) -> Uuid {
                m.id
            }
            $(
                fn list_order<Q: QueryOrder>($q: Q) -> Q {
                    use entity::$module::Column as C;
                    $order
                }
            )?
        }
    };
    (@col $module:ident, $col:ident, yes) => { Some(entity::$module::Column::$col) };
    (@col $module:ident, $col:ident) => { None };
}

// The organization row is its own tenant.
scoped!(organization, org: Id, read: ReadOrganization, write: [CreateOrganization, UpdateOrganization, MarkTemplate]);
owned!(@owned organization, Organization, |m| m.id, versioned: yes);

owned!(membership, Membership, read: ReadOrganization, write: [CreateOrganization, ManageMembers], versioned: yes);
owned!(control, Control, read: ReadControls, write: [CreateOrganization, UpdateControl, CreateCustomControl],
    versioned: yes, order: |q| q.order_by_asc(C::Position).order_by_asc(C::Id));
owned!(clause_assessment, ClauseAssessment, read: ReadClauseAssessments,
    write: [CreateOrganization, UpdateClauseAssessment], versioned: yes);
owned!(scope, Scope, read: ReadScopes, write: [WriteScopes], versioned: yes);
owned!(ai_system, AiSystem, read: ReadAiSystems, write: [WriteAiSystems], versioned: yes);
owned!(risk, Risk, read: ReadRisks, write: [WriteRisks],
    versioned: yes, order: |q| q.order_by_desc(C::EffectiveScore).order_by_asc(C::Id));
owned!(impact_assessment, ImpactAssessment, read: ReadImpactAssessments,
    write: [WriteImpactAssessments, ApproveImpactAssessment], versioned: yes);
owned!(audit, Audit, read: ReadAudits, write: [WriteAudits], versioned: yes);
owned!(certification, Certification, read: ReadCertifications, write: [WriteCertifications], versioned: yes,
    order: |q| q.order_by_asc(C::ExpiresOn).order_by_asc(C::Id));
owned!(finding, Finding, read: ReadAudits, write: [WriteFindings, RaiseNonconformity], versioned: yes);
owned!(nonconformity, Nonconformity, read: ReadNonconformities,
    write: [WriteNonconformities, SyncNonconformities, TransitionNonconformity, CloseNonconformity, RaiseNonconformity,
        RaiseIncidentNonconformity],
    versioned: yes);
owned!(corrective_action, CorrectiveAction, read: ReadNonconformities,
    write: [WriteCorrectiveActions, SyncNonconformities], versioned: yes);
// Appended by the gate itself (`Writer::append_change`), never through `insert`.
owned!(change, Change, read: ReadChanges, write: []);
owned!(workflow_transition, WorkflowTransition, read: ReadOrganization,
    write: [WriteAudits, SyncNonconformities, TransitionNonconformity, CloseNonconformity,
        WriteImpactAssessments, ApproveImpactAssessment, RaiseNonconformity, WriteIncidents, SyncIncidents,
        WriteManagementReviews]);
// issue 13
owned!(document, Document, read: ReadDocuments, write: [WriteDocuments, ApproveDocuments], versioned: yes,
    order: |q| q.order_by_asc(C::Title).order_by_asc(C::Id));
owned!(document_version, DocumentVersion, read: ReadDocuments, write: [WriteDocuments, ApproveDocuments],
    versioned: yes, order: |q| q.order_by_desc(C::Major).order_by_desc(C::Minor).order_by_asc(C::Id));

// issue 14
owned!(objective, Objective, read: ReadObjectives, write: [WriteObjectives, RecordMeasurements], versioned: yes,
    order: |q| q.order_by_asc(C::Title).order_by_asc(C::Id));
owned!(measurement, Measurement, read: ReadObjectives, write: [WriteObjectives, RecordMeasurements], versioned: yes,
    order: |q| q.order_by_asc(C::MeasuredOn).order_by_asc(C::Id));
owned!(context_issue, ContextIssue, read: ReadContextIssues, write: [WriteContextIssues], versioned: yes,
    order: |q| q.order_by_asc(C::Title).order_by_asc(C::Id));
scoped!(context_issue_risk, org: OrganizationId, read: ReadContextIssues, write: [WriteContextIssues, WriteRisks]);

impl Link for entity::context_issue_risk::Entity {
    type Left = entity::context_issue::Entity;
    type Right = entity::risk::Entity;
    fn left_column() -> Self::Column {
        entity::context_issue_risk::Column::ContextIssueId
    }
    fn right_column() -> Self::Column {
        entity::context_issue_risk::Column::RiskId
    }
    fn left_of(m: &Self::Model) -> Uuid {
        m.context_issue_id
    }
    fn right_of(m: &Self::Model) -> Uuid {
        m.risk_id
    }
}
// issue 15
owned!(incident, Incident, read: ReadIncidents,
    write: [ReportIncidents, WriteIncidents, SyncIncidents, RaiseIncidentNonconformity],
    versioned: yes, order: |q| q.order_by_desc(C::DetectedAt).order_by_desc(C::Id));
owned!(supplier, Supplier, read: ReadSuppliers, write: [WriteSuppliers], versioned: yes,
    order: |q| q.order_by_asc(C::Name).order_by_asc(C::Id));
owned!(supplier_assessment, SupplierAssessment, read: ReadSuppliers, write: [WriteSuppliers], versioned: yes,
    order: |q| q.order_by_asc(C::AssessedOn).order_by_asc(C::Id));
// Supplier links go with the supplier, and with the risk or AI system they name.
scoped!(supplier_risk, org: OrganizationId, read: ReadSuppliers, write: [WriteSuppliers, WriteRisks]);
scoped!(supplier_ai_system, org: OrganizationId, read: ReadSuppliers, write: [WriteSuppliers, WriteAiSystems]);
scoped!(supplier_control, org: OrganizationId, read: ReadSuppliers, write: [WriteSuppliers]);

macro_rules! supplier_link {
    ($module:ident, $right:ident, $col:ident, $field:ident) => {
        impl Link for entity::$module::Entity {
            type Left = entity::supplier::Entity;
            type Right = entity::$right::Entity;
            fn left_column() -> Self::Column {
                entity::$module::Column::SupplierId
            }
            fn right_column() -> Self::Column {
                entity::$module::Column::$col
            }
            fn left_of(m: &Self::Model) -> Uuid {
                m.supplier_id
            }
            fn right_of(m: &Self::Model) -> Uuid {
                m.$field
            }
        }
    };
}
supplier_link!(supplier_risk, risk, RiskId, risk_id);
supplier_link!(supplier_ai_system, ai_system, AiSystemId, ai_system_id);
supplier_link!(supplier_control, control, ControlId, control_id);
// issue 15: the management review (9.3)
owned!(management_review, ManagementReview, read: ReadManagementReviews, write: [WriteManagementReviews],
    versioned: yes, order: |q| q.order_by_asc(C::PlannedOn).order_by_asc(C::Id));
owned!(review_input, ReviewInput, read: ReadManagementReviews, write: [WriteManagementReviews], versioned: yes);
owned!(review_decision, ReviewDecision, read: ReadManagementReviews, write: [WriteManagementReviews],
    versioned: yes);

scoped!(risk_control, org: OrganizationId, read: ReadRisks, write: [WriteRisks]);
scoped!(impact_assessment_risk, org: OrganizationId, read: ReadImpactAssessments,
    write: [WriteImpactAssessments, ApproveImpactAssessment, WriteRisks]);

impl Link for entity::risk_control::Entity {
    type Left = entity::risk::Entity;
    type Right = entity::control::Entity;
    fn left_column() -> Self::Column {
        entity::risk_control::Column::RiskId
    }
    fn right_column() -> Self::Column {
        entity::risk_control::Column::ControlId
    }
    fn left_of(m: &Self::Model) -> Uuid {
        m.risk_id
    }
    fn right_of(m: &Self::Model) -> Uuid {
        m.control_id
    }
}

// issue 16
owned!(measure, Measure, read: ReadMeasures, write: [WriteMeasures, CreateOrganization], versioned: yes);
owned!(treatment_plan_approval, TreatmentPlanApproval, read: ReadMeasures,
    write: [ApproveTreatmentPlan, ApproveTreatmentPlanForOwner],
    order: |q| q.order_by_asc(C::ApprovedAt).order_by_asc(C::Id));
owned!(programme, Programme, read: ReadProgrammes, write: [WriteProgrammes], versioned: yes);
owned!(programme_phase, ProgrammePhase, read: ReadProgrammes, write: [WriteProgrammes], versioned: yes,
    order: |q| q.order_by_asc(C::ProgrammeId).order_by_asc(C::Position));
owned!(task, Task, read: ReadTasks, write: [WriteTasks, WriteProgrammes], versioned: yes,
    order: |q| q.order_by_asc(C::DueOn).order_by_asc(C::Id));
scoped!(measure_control, org: OrganizationId, read: ReadMeasures, write: [WriteMeasures, CreateOrganization]);
scoped!(measure_risk, org: OrganizationId, read: ReadMeasures, write: [WriteMeasures]);

impl Link for entity::measure_control::Entity {
    type Left = entity::measure::Entity;
    type Right = entity::control::Entity;
    fn left_column() -> Self::Column {
        entity::measure_control::Column::MeasureId
    }
    fn right_column() -> Self::Column {
        entity::measure_control::Column::ControlId
    }
    fn left_of(m: &Self::Model) -> Uuid {
        m.measure_id
    }
    fn right_of(m: &Self::Model) -> Uuid {
        m.control_id
    }
}

impl Link for entity::measure_risk::Entity {
    type Left = entity::measure::Entity;
    type Right = entity::risk::Entity;
    fn left_column() -> Self::Column {
        entity::measure_risk::Column::MeasureId
    }
    fn right_column() -> Self::Column {
        entity::measure_risk::Column::RiskId
    }
    fn left_of(m: &Self::Model) -> Uuid {
        m.measure_id
    }
    fn right_of(m: &Self::Model) -> Uuid {
        m.risk_id
    }
}

impl Link for entity::impact_assessment_risk::Entity {
    type Left = entity::impact_assessment::Entity;
    type Right = entity::risk::Entity;
    fn left_column() -> Self::Column {
        entity::impact_assessment_risk::Column::ImpactAssessmentId
    }
    fn right_column() -> Self::Column {
        entity::impact_assessment_risk::Column::RiskId
    }
    fn left_of(m: &Self::Model) -> Uuid {
        m.impact_assessment_id
    }
    fn right_of(m: &Self::Model) -> Uuid {
        m.risk_id
    }
}

// issue 13
scoped!(document_control, org: OrganizationId, read: ReadDocuments, write: [WriteDocuments]);

impl Link for entity::document_control::Entity {
    type Left = entity::document::Entity;
    type Right = entity::control::Entity;
    fn left_column() -> Self::Column {
        entity::document_control::Column::DocumentId
    }
    fn right_column() -> Self::Column {
        entity::document_control::Column::ControlId
    }
    fn left_of(m: &Self::Model) -> Uuid {
        m.document_id
    }
    fn right_of(m: &Self::Model) -> Uuid {
        m.control_id
    }
}

impl Global for entity::standard::Entity {}
impl Global for entity::clause::Entity {}
impl Global for entity::catalog_control::Entity {}
impl Global for entity::control_mapping::Entity {}

macro_rules! child_of {
    ($module:ident, $parent:ident, |$m:ident| $parent_of:expr, |$q:ident| $order:expr) => {
        impl ChildOf for entity::$module::Entity {
            fn parent_column() -> Self::Column {
                entity::$module::Column::$parent
            }
            fn parent_of($m: &Self::Model) -> Option<Uuid> {
                $parent_of
            }
            fn order<Q: QueryOrder>($q: Q) -> Q {
                #[allow(unused_imports)]
                use entity::$module::Column as C;
                $order
            }
        }
    };
}

child_of!(audit, CertificationId, |m| m.certification_id, |q| q.order_by_asc(C::PlannedStart).order_by_asc(C::Id));
child_of!(finding, AuditId, |m| Some(m.audit_id), |q| q.order_by_asc(C::Id));
child_of!(corrective_action, NonconformityId, |m| Some(m.nonconformity_id), |q| q.order_by_asc(C::Id));
child_of!(impact_assessment, AiSystemId, |m| Some(m.ai_system_id), |q| q
    .order_by_asc(C::CreatedAt)
    .order_by_asc(C::Id));
child_of!(risk, AiSystemId, |m| m.ai_system_id, |q| <entity::risk::Entity as TenantOwned>::list_order(q));
child_of!(workflow_transition, EntityId, |m| Some(m.entity_id), |q| q.order_by_asc(C::At).order_by_asc(C::Id));
// issue 16
child_of!(treatment_plan_approval, RiskId, |m| Some(m.risk_id), |q| q.order_by_asc(C::ApprovedAt).order_by_asc(C::Id));
child_of!(programme_phase, ProgrammeId, |m| Some(m.programme_id), |q| q.order_by_asc(C::Position));
child_of!(task, PhaseId, |m| m.phase_id, |q| q.order_by_asc(C::DueOn).order_by_asc(C::Id));
// issue 13
child_of!(document_version, DocumentId, |m| Some(m.document_id), |q| q
    .order_by_desc(C::Major)
    .order_by_desc(C::Minor)
    .order_by_asc(C::Id));
// issue 14
child_of!(measurement, ObjectiveId, |m| Some(m.objective_id), |q| q.order_by_asc(C::MeasuredOn).order_by_asc(C::Id));
// issue 15: the incident a nonconformity was raised from.
child_of!(incident, NonconformityId, |m| m.nonconformity_id, |q| q.order_by_asc(C::Id));
child_of!(supplier_assessment, SupplierId, |m| Some(m.supplier_id), |q| q
    .order_by_asc(C::AssessedOn)
    .order_by_asc(C::Id));
// issue 15: the management review's inputs and decisions.
child_of!(review_input, ReviewId, |m| Some(m.review_id), |q| q.order_by_asc(C::Id));
child_of!(review_decision, ReviewId, |m| Some(m.review_id), |q| q.order_by_asc(C::CreatedAt).order_by_asc(C::Id));

/// The right reading an entity of `kind` needs (events, `node`); `None` for a kind the
/// registry does not know, which nothing may read.
pub fn read_right(kind: Kind) -> Option<Operation> {
    macro_rules! rights {
        ($($module:ident),* $(,)?) => {
            $(
                if kind == <entity::$module::Entity as TenantOwned>::KIND {
                    return Some(<entity::$module::Entity as TenantScoped>::READ);
                }
            )*
        };
    }
    rights!(
        organization,
        membership,
        control,
        clause_assessment,
        scope,
        ai_system,
        risk,
        impact_assessment,
        audit,
        certification,
        finding,
        nonconformity,
        corrective_action,
        change,
        workflow_transition,
        // issue 16
        measure,
        treatment_plan_approval,
        programme,
        programme_phase,
        task,
        // issue 13
        document,
        document_version,
        objective,
        measurement,
        context_issue,
        incident,
        supplier,
        supplier_assessment,
        // issue 15: the management review
        management_review,
        review_input,
        review_decision,
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_read_right() {
        for kind in Kind::ALL {
            assert!(read_right(*kind).is_some(), "{kind:?} is not registered");
        }
    }
}
