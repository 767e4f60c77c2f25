//! sea-orm entities: the database shape, kept apart from the GraphQL types so the tenant
//! column and internal fields never leak into the API. Every tenant-owned entity is
//! registered with the tenancy gate (`store::tenancy::registry`); an entity that is not
//! cannot be read or written through it.
//!
//! Columns holding a label (`status`, `category`, `role`, …) are typed as their domain
//! enum: [`labels!`] makes each one a sea-orm value stored as its label text, and
//! serialized as the same label (the audit trail hashes the models' JSON). A label the
//! enum does not know, read from the database, is an error, never a panic.

use std::borrow::Cow;

use sea_orm::FromJsonQueryResult;
use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, StringLen, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, DbErr, QueryResult, TryFromU64, TryGetError, TryGetable, Value};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The enums stored as their label (`as_str` to write, `FromStr` to read).
mod labelled {
    pub use crate::auth::Role;
    pub use crate::domain::audit::{AuditFocus, AuditMode, AuditStatus, AuditType, FindingType};
    pub use crate::domain::certification::CertificationStatus;
    pub use crate::domain::context::{IssueCategory, IssueKind};
    pub use crate::domain::impact::{
        AiLifecycleStage, AiRole, AiStakeholderRole, EuAiActRiskClass, EuAiActRole, ImpactArea, ImpactAssessmentStatus,
    };
    pub use crate::domain::incident::{AiHarm, IncidentKind, IncidentSeverity, IncidentStatus};
    pub use crate::domain::ncr::{ActionStatus, NcrStatus, Severity, Source};
    pub use crate::domain::objective::{Direction, Frequency};
    pub use crate::domain::refs::Standard;
    pub use crate::domain::risk::{RiskCategory, RiskDomain, RiskKind, RiskStatus, RiskTreatment};
    pub use crate::domain::scope::ScopeKind;
    pub use crate::domain::soa::{ClauseStatus, ControlDecision, ImplementationStatus, InclusionReason};
    // issue 16
    pub use crate::domain::measure::Effort;
    pub use crate::domain::programme::ProgrammeTemplate;
    pub use crate::domain::supplier::{AssessmentResult, Criticality, SupplierStatus};
    pub use crate::domain::task::{Recurrence, TaskStatus};
    // issue 13
    pub use crate::domain::document::{DocumentKind, DocumentStatus, PolicyIntegration};
    // issue 15: the management review
    pub use crate::domain::review::{DecisionKind, DecisionStatus, ReviewStatus, ReviewTopic};
}
use labelled::*;

fn bad_label<E: std::fmt::Display>(what: &str, e: E) -> String {
    format!("bad {what} in database: {e}")
}

/// Makes each enum a column value stored as its label: the sea-orm value traits, and
/// serde as the label string.
macro_rules! labels {
    ($($ty:ident),* $(,)?) => {$(
        impl From<$ty> for Value {
            fn from(v: $ty) -> Value {
                v.as_str().into()
            }
        }

        impl TryGetable for $ty {
            fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
                let label = String::try_get_by(res, idx)?;
                label.parse().map_err(|e| TryGetError::DbErr(DbErr::Type(bad_label(stringify!($ty), e))))
            }
        }

        impl ValueType for $ty {
            fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
                <String as ValueType>::try_from(v)?.parse().map_err(|_| ValueTypeErr)
            }
            fn type_name() -> String {
                stringify!($ty).to_owned()
            }
            fn array_type() -> ArrayType {
                ArrayType::String
            }
            fn column_type() -> ColumnType {
                ColumnType::String(StringLen::None)
            }
        }

        impl Nullable for $ty {
            fn null() -> Value {
                Value::String(None)
            }
        }

        impl sea_orm::sea_query::postgres_array::NotU8 for $ty {}

        impl sea_orm::IntoActiveValue<$ty> for $ty {
            fn into_active_value(self) -> sea_orm::ActiveValue<$ty> {
                sea_orm::ActiveValue::Set(self)
            }
        }

        /// Labels are no numeric keys.
        impl TryFromU64 for $ty {
            fn try_from_u64(_: u64) -> Result<Self, DbErr> {
                Err(DbErr::ConvertFromU64(stringify!($ty)))
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let label = Cow::<str>::deserialize(d)?;
                label.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

labels!(
    Role,
    Standard,
    ControlDecision,
    RiskKind,
    ImplementationStatus,
    InclusionReason,
    ClauseStatus,
    ScopeKind,
    AiLifecycleStage,
    AiRole,
    AiStakeholderRole,
    EuAiActRole,
    EuAiActRiskClass,
    ImpactArea,
    ImpactAssessmentStatus,
    RiskCategory,
    RiskDomain,
    RiskTreatment,
    RiskStatus,
    AuditType,
    AuditMode,
    AuditFocus,
    AuditStatus,
    FindingType,
    CertificationStatus,
    Source,
    Severity,
    NcrStatus,
    ActionStatus,
    // issue 16
    Effort,
    TaskStatus,
    Recurrence,
    ProgrammeTemplate,
    // issue 13
    DocumentKind,
    DocumentStatus,
    PolicyIntegration,
    Direction,
    Frequency,
    IssueKind,
    IssueCategory,
    // issue 15
    IncidentKind,
    AiHarm,
    IncidentSeverity,
    IncidentStatus,
    Criticality,
    SupplierStatus,
    AssessmentResult,
    // issue 15: the management review
    ReviewStatus,
    ReviewTopic,
    DecisionKind,
    DecisionStatus,
);

/// A JSON list of strings (inclusions, references, team members, …).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct StringList(pub Vec<String>);

/// A JSON list of labels (inclusion reasons), stored like a [`StringList`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct ReasonList(pub Vec<InclusionReason>);

/// A JSON list of standards (the standards a scope covers), stored like a [`StringList`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct StandardList(pub Vec<Standard>);

/// A JSON list of ids of the same tenant (similar nonconformities).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct IdList(pub Vec<sea_orm::prelude::Uuid>);

/// A JSON list of ISO/IEC 22989 roles (an AI system's organization roles).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct RoleList(pub Vec<AiStakeholderRole>);

/// An evidence link on an SoA row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct EvidenceLink {
    pub title: String,
    pub url: String,
}

/// One impact in an AI impact assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct ImpactEntry {
    pub area: ImpactArea,
    pub description: String,
    pub likelihood: i32,
    pub severity: i32,
    pub mitigation: Option<String>,
}

macro_rules! entity {
    ($module:ident, $table:literal, { $($body:tt)* }) => {
        pub mod $module {
            #[allow(unused_imports)]
            use super::labelled::*;
            #[allow(unused_imports)]
            use super::{EvidenceLink, IdList, ImpactEntry, ReasonList, RoleList, StandardList, StringList};
            use sea_orm::entity::prelude::*;
            use serde::Serialize;

            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
            #[sea_orm(table_name = $table)]
            pub struct Model { $($body)* }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

entity!(organization, "organizations", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub risk_settings: Option<Json>,
    /// New organizations may be created from it (issue 18).
    pub is_template: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(membership, "memberships", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub subject: String,
    pub role: Role,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(change, "changes", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub seq: i64,
    pub at: DateTimeUtc,
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Uuid,
    pub fields: String,
    pub request_id: String,
    pub prev_hash: String,
    pub hash: String,
});

entity!(standard, "standards", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: Standard,
    pub edition: String,
    pub title: String,
});

entity!(clause, "clauses", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub standard: Standard,
    #[sea_orm(primary_key, auto_increment = false, column_name = "ref")]
    pub reference: String,
    pub title: String,
    pub parent_ref: Option<String>,
    pub position: i32,
});

entity!(catalog_control, "catalog_controls", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub standard: Standard,
    #[sea_orm(primary_key, auto_increment = false, column_name = "ref")]
    pub reference: String,
    pub title: String,
    pub group_ref: String,
    pub group_title: String,
    pub subgroup_ref: Option<String>,
    pub subgroup_title: Option<String>,
    pub ai_specific: bool,
    pub position: i32,
});

entity!(control_mapping, "control_mappings", {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub from_standard: Standard,
    pub from_ref: String,
    pub to_standard: Standard,
    pub to_ref: String,
    pub relation: String,
    pub source: String,
    pub shared_scf_controls: Option<i32>,
    pub via: String,
    pub rationale: Option<String>,
});

entity!(control, "controls", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub standard: Standard,
    #[sea_orm(column_name = "ref")]
    pub reference: String,
    pub title: String,
    pub group_ref: String,
    pub group_title: String,
    pub subgroup_ref: Option<String>,
    pub is_custom: bool,
    pub ai_specific: bool,
    pub position: i32,
    /// Derived from `decision` (INCLUDED only), kept for the deprecated API field.
    pub applicable: bool,
    pub decision: ControlDecision,
    pub ai_relevance: Option<String>,
    pub justification: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub inclusion_reasons: ReasonList,
    pub status: ImplementationStatus,
    pub owner: Option<String>,
    pub implementation_notes: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub evidence: Vec<EvidenceLink>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(clause_assessment, "clause_assessments", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub standard: Standard,
    #[sea_orm(column_name = "ref")]
    pub reference: String,
    pub title: String,
    pub parent_ref: Option<String>,
    pub is_leaf: bool,
    pub position: i32,
    pub status: ClauseStatus,
    pub notes: Option<String>,
    pub owner: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(scope, "scopes", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub name: String,
    pub kind: ScopeKind,
    pub description: Option<String>,
    pub boundaries: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub inclusions: StringList,
    #[sea_orm(column_type = "JsonBinary")]
    pub exclusions: StringList,
    #[sea_orm(column_type = "JsonBinary")]
    pub standards: StandardList,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(ai_system, "ai_systems", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub purpose: Option<String>,
    pub lifecycle_stage: AiLifecycleStage,
    /// The wave-1 single role, kept equal to what the deprecated `organizationRole`
    /// answers (`domain::impact::legacy_role`).
    pub organization_role: AiRole,
    pub owner: Option<String>,
    pub scope_id: Option<Uuid>,
    #[sea_orm(column_type = "JsonBinary")]
    pub data_categories: StringList,
    pub human_oversight: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub organization_roles: RoleList,
    pub eu_ai_act_role: Option<EuAiActRole>,
    pub eu_ai_act_risk_class: Option<EuAiActRiskClass>,
    /// When purpose, data categories or lifecycle stage last changed (ISO 42001 8.4).
    pub assessment_basis_changed_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(risk, "risks", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub category: RiskCategory,
    pub domain: RiskDomain,
    pub likelihood: i32,
    pub impact: i32,
    pub inherent_score: i32,
    pub residual_likelihood: Option<i32>,
    pub residual_impact: Option<i32>,
    pub effective_score: i32,
    pub kind: RiskKind,
    pub treatment: Option<RiskTreatment>,
    pub acceptance_justification: Option<String>,
    pub accepted_by: Option<String>,
    pub acceptance_expires_on: Option<Date>,
    pub accepted_score: Option<i32>,
    pub accepted_on_behalf_of: Option<String>,
    pub owner: Option<String>,
    pub status: RiskStatus,
    pub review_date: Option<Date>,
    pub scope_id: Option<Uuid>,
    pub ai_system_id: Option<Uuid>,
    /// The stable key of the row in a spreadsheet import (issue 18), unique per
    /// organization.
    pub external_key: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(risk_control, "risk_controls", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub risk_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub control_id: Uuid,
    pub created_at: DateTimeUtc,
});

entity!(impact_assessment, "impact_assessments", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub ai_system_id: Uuid,
    pub title: String,
    pub assessed_individuals: Option<String>,
    pub assessed_groups: Option<String>,
    pub assessed_societies: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub impacts: Vec<ImpactEntry>,
    pub status: ImpactAssessmentStatus,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTimeUtc>,
    pub review_interval_months: i32,
    /// Set on approval: approval date + review interval (ISO 42001 8.4).
    pub next_review_on: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(impact_assessment_risk, "impact_assessment_risks", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub impact_assessment_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub risk_id: Uuid,
});

entity!(audit, "audits", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub title: String,
    pub audit_type: AuditType,
    pub mode: AuditMode,
    pub focus: AuditFocus,
    pub covers_iso27001: bool,
    pub covers_iso42001: bool,
    pub scope_id: Option<Uuid>,
    pub planned_start: Option<Date>,
    pub planned_end: Option<Date>,
    pub actual_start: Option<Date>,
    pub actual_end: Option<Date>,
    pub lead_auditor: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub team: StringList,
    #[sea_orm(column_type = "JsonBinary")]
    pub criteria: StringList,
    pub objectives: Option<String>,
    pub status: AuditStatus,
    pub cancel_reason: Option<String>,
    /// The certification cycle this audit belongs to (external audits only).
    pub certification_id: Option<Uuid>,
    /// ISO 27001 / 42001 9.2.2 c: to whom and when the results were reported.
    pub reported_to: Option<String>,
    pub reported_on: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(certification, "certifications", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    #[sea_orm(column_type = "JsonBinary")]
    pub standards: StandardList,
    pub certification_body: String,
    pub certificate_number: String,
    pub issued_on: Date,
    pub expires_on: Date,
    pub status: CertificationStatus,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(finding, "findings", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub audit_id: Uuid,
    pub finding_type: FindingType,
    pub title: String,
    pub description: Option<String>,
    pub evidence: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub refs: StringList,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(nonconformity, "nonconformities", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub source: Source,
    pub severity: Severity,
    #[sea_orm(column_type = "JsonBinary")]
    pub refs: StringList,
    pub owner: Option<String>,
    pub containment: Option<String>,
    pub root_cause: Option<String>,
    pub effectiveness_review: Option<String>,
    pub status: NcrStatus,
    pub finding_id: Option<Uuid>,
    pub external_system: Option<String>,
    pub external_key: Option<String>,
    pub external_url: Option<String>,
    pub external_status: Option<String>,
    pub external_done: Option<bool>,
    /// Created with its ticket (`upsertNonconformityByExternalRef`, or
    /// `createNonconformity` with an `externalRef`): what an INTEGRATION may sync.
    pub ticket_synced: bool,
    pub closed_at: Option<DateTimeUtc>,
    /// 10.2 a: the immediate correction (containment controls it and its consequences).
    pub correction: Option<String>,
    /// 10.2 b: the evaluation found action to eliminate the cause needed.
    pub action_needed: bool,
    pub no_action_justification: Option<String>,
    /// 10.2 b 3: similar nonconformities of the same organization.
    #[sea_orm(column_type = "JsonBinary")]
    pub similar_nonconformity_ids: IdList,
    /// 10.2 e: changes to the management system.
    pub management_system_changes: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(corrective_action, "corrective_actions", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub nonconformity_id: Uuid,
    pub title: String,
    pub owner: Option<String>,
    pub due_date: Option<Date>,
    pub status: ActionStatus,
    pub completion_note: Option<String>,
    pub completed_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(workflow_transition, "workflow_transitions", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub entity_type: String,
    pub entity_id: Uuid,
    pub from_status: String,
    pub to_status: String,
    pub actor: String,
    pub note: Option<String>,
    pub at: DateTimeUtc,
});

// issue 13: documented information (7.5)

entity!(document, "documents", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub title: String,
    pub kind: DocumentKind,
    pub level: i32,
    pub covers_iso27001: bool,
    pub covers_iso42001: bool,
    pub policy_integration: Option<PolicyIntegration>,
    pub owner: Option<String>,
    pub classification: Option<String>,
    pub status: DocumentStatus,
    pub review_interval_months: i32,
    /// Set on approval: approval day + review interval (7.5.2 c).
    pub next_review_on: Option<Date>,
    /// Clause and control references (`ISO42001:5.2`).
    #[sea_orm(column_type = "JsonBinary")]
    pub refs: StringList,
    /// The approved version in force, if any.
    pub current_version_id: Option<Uuid>,
    /// The newest version (the one the workflow moves).
    pub latest_version_id: Uuid,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(document_version, "document_versions", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub document_id: Uuid,
    pub major: i32,
    pub minor: i32,
    pub change_summary: Option<String>,
    pub body: Option<String>,
    pub author: String,
    pub submitted_at: Option<DateTimeUtc>,
    pub approved_at: Option<DateTimeUtc>,
    pub approved_by: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(document_control, "document_controls", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub document_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub control_id: Uuid,
    pub created_at: DateTimeUtc,
});

impl workflow_transition::Model {
    /// The move as statuses of its entity's workflow (audit or nonconformity statuses: the
    /// one column holds either, so it stays text and is read here, once).
    pub fn statuses<S: std::str::FromStr<Err = String>>(&self) -> crate::error::AppResult<(S, S)> {
        let read =
            |label: &str| label.parse::<S>().map_err(|e| crate::error::AppError::internal(bad_label("status", e)));
        Ok((read(&self.from_status)?, read(&self.to_status)?))
    }
}

// issue 14

/// Like `entity!`, for rows holding floating-point numbers (no `Eq`).
macro_rules! float_entity {
    ($module:ident, $table:literal, { $($body:tt)* }) => {
        pub mod $module {
            #[allow(unused_imports)]
            use super::labelled::*;
            #[allow(unused_imports)]
            use super::{StandardList, StringList};
            use sea_orm::entity::prelude::*;
            use serde::Serialize;

            #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
            #[sea_orm(table_name = $table)]
            pub struct Model { $($body)* }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

float_entity!(objective, "objectives", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub standards: StandardList,
    pub owner: Option<String>,
    pub measure: String,
    pub unit: Option<String>,
    pub target: f64,
    pub direction: Direction,
    pub frequency: Frequency,
    pub at_risk_band_percent: f64,
    /// `Direction::at_risk_limit` of target, direction and band, kept for SQL.
    pub at_risk_limit: f64,
    pub due_on: Option<Date>,
    /// The latest measurement's value and day (denormalized, kept by `recordMeasurement`).
    pub latest_measurement_id: Option<Uuid>,
    pub latest_value: Option<f64>,
    pub latest_measured_on: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

float_entity!(measurement, "measurements", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub objective_id: Uuid,
    pub value: f64,
    pub measured_on: Date,
    pub note: Option<String>,
    pub recorded_by: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(context_issue, "context_issues", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub kind: IssueKind,
    pub category: IssueCategory,
    #[sea_orm(column_type = "JsonBinary")]
    pub standards: StandardList,
    pub reviewed_on: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(context_issue_risk, "context_issue_risks", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub context_issue_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub risk_id: Uuid,
    pub created_at: DateTimeUtc,
});

// issue 15

/// A JSON list of AI harm labels (an AI incident's harms).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct HarmList(pub Vec<AiHarm>);

entity!(incident, "incidents", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub kind: IncidentKind,
    #[sea_orm(column_type = "JsonBinary")]
    pub ai_harms: super::HarmList,
    pub severity: IncidentSeverity,
    pub status: IncidentStatus,
    pub detected_at: DateTimeUtc,
    pub reported_at: DateTimeUtc,
    pub triaged_at: Option<DateTimeUtc>,
    pub contained_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub seconds_to_contain: Option<i32>,
    pub seconds_to_resolve: Option<i32>,
    pub ai_system_id: Option<Uuid>,
    pub supplier_id: Option<Uuid>,
    #[sea_orm(column_type = "JsonBinary")]
    pub affected_control_ids: IdList,
    pub external_system: Option<String>,
    pub external_key: Option<String>,
    pub external_url: Option<String>,
    pub external_status: Option<String>,
    pub ticket_synced: bool,
    pub lessons_learned: Option<String>,
    pub nonconformity_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(supplier, "suppliers", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub name: String,
    pub services: Option<String>,
    pub criticality: Criticality,
    pub status: SupplierStatus,
    pub provides_ai: bool,
    #[sea_orm(column_type = "JsonBinary")]
    pub ai_components: StringList,
    pub contract_ends_on: Option<Date>,
    pub owner: Option<String>,
    pub latest_result: Option<AssessmentResult>,
    pub latest_assessed_on: Option<Date>,
    pub next_assessment_due: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(supplier_assessment, "supplier_assessments", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub supplier_id: Uuid,
    pub assessed_on: Date,
    pub assessor: String,
    pub result: AssessmentResult,
    pub conditions: Option<String>,
    pub notes: Option<String>,
    pub next_review_on: Option<Date>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(supplier_risk, "supplier_risks", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub supplier_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub risk_id: Uuid,
    pub created_at: DateTimeUtc,
});

entity!(supplier_ai_system, "supplier_ai_systems", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub supplier_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub ai_system_id: Uuid,
    pub created_at: DateTimeUtc,
});

entity!(supplier_control, "supplier_controls", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub supplier_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub control_id: Uuid,
    pub created_at: DateTimeUtc,
});

// issue 16: measures, the risk treatment plan, tasks and the programme

entity!(measure, "measures", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub status: ImplementationStatus,
    pub due_on: Option<Date>,
    pub effort: Option<Effort>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(measure_control, "measure_controls", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub measure_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub control_id: Uuid,
    pub created_at: DateTimeUtc,
});

entity!(measure_risk, "measure_risks", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub measure_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub risk_id: Uuid,
    pub created_at: DateTimeUtc,
});

entity!(treatment_plan_approval, "treatment_plan_approvals", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub risk_id: Uuid,
    pub approved_by: String,
    /// The risk owner an OWNER or MANAGER approved for; `None` when the owner approved.
    pub on_behalf_of: Option<String>,
    pub note: Option<String>,
    pub approved_at: DateTimeUtc,
});

entity!(programme, "programmes", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub template: ProgrammeTemplate,
    pub start_on: Date,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(programme_phase, "programme_phases", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub programme_id: Uuid,
    pub position: i32,
    pub name: String,
    pub planned_weeks: i32,
    pub planned_start: Date,
    pub planned_end: Date,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(task, "tasks", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub assignee: Option<String>,
    pub due_on: Option<Date>,
    pub status: TaskStatus,
    pub recurrence: Recurrence,
    /// The subject's kind name (`Measure`, `Control`, `Risk`, …) and id.
    pub subject_type: Option<String>,
    pub subject_id: Option<Uuid>,
    pub phase_id: Option<Uuid>,
    /// The recurring task whose completion created this one.
    pub previous_task_id: Option<Uuid>,
    pub completed_by: Option<String>,
    pub completed_at: Option<DateTimeUtc>,
    /// When `TASK_DUE` was published (claimed by exactly one replica).
    pub due_notified_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_serialize_as_the_stored_text() {
        assert_eq!(serde_json::to_string(&NcrStatus::ActionPlanned).expect("json"), "\"ACTION_PLANNED\"");
        assert_eq!(serde_json::to_string(&Some(Role::Owner)).expect("json"), "\"OWNER\"");
        let reasons = ReasonList(vec![InclusionReason::RiskTreatment, InclusionReason::BestPractice]);
        let as_strings = StringList(vec!["RISK_TREATMENT".into(), "BEST_PRACTICE".into()]);
        assert_eq!(serde_json::to_value(&reasons).expect("json"), serde_json::to_value(&as_strings).expect("json"));
        let back: ReasonList = serde_json::from_str(r#"["BEST_PRACTICE"]"#).expect("labels");
        assert_eq!(back.0, vec![InclusionReason::BestPractice]);
    }

    #[test]
    fn an_unknown_label_is_an_error() {
        assert!(serde_json::from_str::<Severity>("\"CATASTROPHIC\"").is_err());
        assert!(<RiskStatus as ValueType>::try_from(Value::from("OPEN")).is_err());
        assert_eq!(<RiskStatus as ValueType>::try_from(Value::from("CLOSED")).ok(), Some(RiskStatus::Closed));
        let t = workflow_transition::Model {
            id: uuid::Uuid::nil(),
            organization_id: uuid::Uuid::nil(),
            entity_type: "Audit".into(),
            entity_id: uuid::Uuid::nil(),
            from_status: "PLANNED".into(),
            to_status: "SHREDDED".into(),
            actor: "a".into(),
            note: None,
            at: chrono::Utc::now(),
        };
        assert_eq!(t.statuses::<AuditStatus>().err().map(|e| e.code()), Some("INTERNAL"));
    }

    #[test]
    fn a_model_serializes_its_labels_as_before() {
        let at = chrono::DateTime::from_timestamp(0, 0).expect("time");
        let m = membership::Model {
            id: uuid::Uuid::nil(),
            organization_id: uuid::Uuid::nil(),
            subject: "alice".into(),
            role: Role::Manager,
            version: 1,
            created_at: at,
            updated_at: at,
        };
        assert_eq!(
            serde_json::to_string(&m).expect("json"),
            concat!(
                r#"{"id":"00000000-0000-0000-0000-000000000000","subject":"alice","role":"MANAGER","version":1,"#,
                r#""created_at":"1970-01-01T00:00:00Z","updated_at":"1970-01-01T00:00:00Z"}"#
            )
        );
    }
}

// issue 15: the management review (9.3)

entity!(management_review, "management_reviews", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub title: String,
    pub planned_on: Date,
    pub held_on: Option<Date>,
    pub status: ReviewStatus,
    #[sea_orm(column_type = "JsonBinary")]
    pub standards: StandardList,
    #[sea_orm(column_type = "JsonBinary")]
    pub attendees: StringList,
    /// The organization's figures frozen when the review was held (`domain::review::Snapshot`).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub snapshot: Option<Json>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(review_input, "review_inputs", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub review_id: Uuid,
    pub topic: ReviewTopic,
    pub summary: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});

entity!(review_decision, "review_decisions", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[serde(skip)]
    pub organization_id: Uuid,
    pub review_id: Uuid,
    pub text: String,
    pub kind: DecisionKind,
    pub owner: Option<String>,
    pub due_on: Option<Date>,
    pub status: DecisionStatus,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
});
