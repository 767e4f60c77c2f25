//! sea-orm entities: the database shape, kept apart from the GraphQL types so the tenant
//! column and internal fields never leak into the API. Every tenant-owned entity is
//! registered with the tenancy gate at the bottom of this file; an entity that is not
//! cannot be read or written through it.

use sea_orm::FromJsonQueryResult;
use serde::{Deserialize, Serialize};

/// A JSON list of strings (inclusions, references, team members, …).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct StringList(pub Vec<String>);

/// An evidence link on an SoA row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct EvidenceLink {
    pub title: String,
    pub url: String,
}

/// One impact in an AI impact assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct ImpactEntry {
    pub area: String,
    pub description: String,
    pub likelihood: i32,
    pub severity: i32,
    pub mitigation: Option<String>,
}

macro_rules! entity {
    ($module:ident, $table:literal, { $($body:tt)* }) => {
        pub mod $module {
            #[allow(unused_imports)]
            use super::{EvidenceLink, ImpactEntry, StringList};
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
    pub role: String,
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
    pub code: String,
    pub edition: String,
    pub title: String,
});

entity!(clause, "clauses", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub standard: String,
    #[sea_orm(primary_key, auto_increment = false, column_name = "ref")]
    pub reference: String,
    pub title: String,
    pub parent_ref: Option<String>,
    pub position: i32,
});

entity!(catalog_control, "catalog_controls", {
    #[sea_orm(primary_key, auto_increment = false)]
    pub standard: String,
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
    pub from_standard: String,
    pub from_ref: String,
    pub to_standard: String,
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
    pub standard: String,
    #[sea_orm(column_name = "ref")]
    pub reference: String,
    pub title: String,
    pub group_ref: String,
    pub group_title: String,
    pub subgroup_ref: Option<String>,
    pub is_custom: bool,
    pub ai_specific: bool,
    pub position: i32,
    pub applicable: bool,
    pub justification: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub inclusion_reasons: StringList,
    pub status: String,
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
    pub standard: String,
    #[sea_orm(column_name = "ref")]
    pub reference: String,
    pub title: String,
    pub parent_ref: Option<String>,
    pub is_leaf: bool,
    pub position: i32,
    pub status: String,
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
    pub kind: String,
    pub description: Option<String>,
    pub boundaries: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub inclusions: StringList,
    #[sea_orm(column_type = "JsonBinary")]
    pub exclusions: StringList,
    #[sea_orm(column_type = "JsonBinary")]
    pub standards: StringList,
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
    pub lifecycle_stage: String,
    pub organization_role: String,
    pub owner: Option<String>,
    pub scope_id: Option<Uuid>,
    #[sea_orm(column_type = "JsonBinary")]
    pub data_categories: StringList,
    pub human_oversight: Option<String>,
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
    pub category: String,
    pub domain: String,
    pub likelihood: i32,
    pub impact: i32,
    pub inherent_score: i32,
    pub residual_likelihood: Option<i32>,
    pub residual_impact: Option<i32>,
    pub effective_score: i32,
    pub treatment: Option<String>,
    pub acceptance_justification: Option<String>,
    pub accepted_by: Option<String>,
    pub acceptance_expires_on: Option<Date>,
    pub owner: Option<String>,
    pub status: String,
    pub review_date: Option<Date>,
    pub scope_id: Option<Uuid>,
    pub ai_system_id: Option<Uuid>,
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
    pub status: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTimeUtc>,
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
    pub audit_type: String,
    pub mode: String,
    pub focus: String,
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
    pub status: String,
    pub cancel_reason: Option<String>,
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
    pub finding_type: String,
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
    pub source: String,
    pub severity: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub refs: StringList,
    pub owner: Option<String>,
    pub containment: Option<String>,
    pub root_cause: Option<String>,
    pub effectiveness_review: Option<String>,
    pub status: String,
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
    pub status: String,
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
