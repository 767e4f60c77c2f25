//! Scopes of the management system and the AI systems inventory.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Result};

use crate::auth::Operation;
use crate::domain::impact::{self as impact_rules, AiLifecycleStage as DStage, ImpactAssessmentStatus as DStatus};
use crate::entity::{impact_assessment, risk, scope};
use crate::graphql::catalog::StandardCode;
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::impact::ImpactAssessment;
use crate::graphql::input::{change, filter_id, ref_id, try_change};
use crate::graphql::limits;
use crate::graphql::loaders::{load_by_id, load_children};
use crate::graphql::org::Organization;
use crate::graphql::risk::{Risk, risks_in};
use crate::ids::{self, Kind};
use crate::store::page::PageArgs;
use crate::store::{ai_system as ai_store, scope as store};

/// What a scope covers; it fixes the standards the scope must include.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::scope::ScopeKind")]
pub enum ScopeKind {
    /// Information security management system (ISO 27001).
    Isms,
    /// AI management system (ISO 42001).
    Aims,
    /// One scope for both management systems (ISO 27001 and ISO 42001).
    Integrated,
}

/// Where an AI system is in its life cycle (ISO 42001 A.6.2).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::impact::AiLifecycleStage")]
pub enum AiLifecycleStage {
    /// Being designed.
    Design,
    /// Being developed.
    Development,
    /// Being verified and validated before deployment: needs an APPROVED impact assessment.
    Validation,
    /// In use: needs an APPROVED impact assessment.
    Deployed,
    /// No longer in use; its risks and impact assessments are kept.
    Retired,
}

/// The organization's single role for an AI system, as first recorded. Superseded by
/// `AiStakeholderRole` (ISO/IEC 22989), which `organizationRoles` lists.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::impact::AiRole")]
pub enum AiRole {
    /// Provides the system (maps to AI_PROVIDER).
    Provider,
    /// Develops the system (maps to AI_PRODUCER).
    Developer,
    /// Puts the system to use (maps to AI_CUSTOMER).
    Deployer,
    /// Uses the system (maps to AI_CUSTOMER).
    User,
}

/// An AI stakeholder role of ISO/IEC 22989:2022 5.19; ISO 42001 4.1 has the organization
/// determine its roles for each AI system.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::impact::AiStakeholderRole")]
pub enum AiStakeholderRole {
    /// Provides AI products or services, including AI platforms (22989 5.19.2).
    AiProvider,
    /// Designs, develops, tests and deploys AI systems (22989 5.19.3).
    AiProducer,
    /// Uses an AI product or service, directly or through an AI user (22989 5.19.4).
    AiCustomer,
    /// Provides services in the AI context: system integration, data, evaluation,
    /// auditing (22989 5.19.5).
    AiPartner,
    /// Is affected by an AI system, as data subject or otherwise (22989 5.19.6).
    AiSubject,
    /// Regulates, oversees or sets policy for AI (22989 5.19.7).
    RelevantAuthority,
}

/// The operator role under the EU AI Act (Regulation (EU) 2024/1689, Art. 3).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::impact::EuAiActRole")]
pub enum EuAiActRole {
    /// Develops the system or has it developed and places it on the market or puts it into
    /// service under its own name (Art. 3(3)).
    Provider,
    /// Uses the system under its authority (Art. 3(4)).
    Deployer,
    /// Places on the EU market a system of a provider established outside it (Art. 3(6)).
    Importer,
    /// Makes the system available on the EU market, other than provider or importer
    /// (Art. 3(7)).
    Distributor,
}

/// The EU AI Act's classification of an AI system.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::impact::EuAiActRiskClass")]
pub enum EuAiActRiskClass {
    /// A prohibited AI practice (Art. 5).
    Prohibited,
    /// A high-risk AI system (Art. 6, Annex III).
    HighRisk,
    /// Subject to transparency obligations only (Art. 50).
    LimitedRisk,
    /// No specific obligations.
    MinimalRisk,
    /// A general-purpose AI model (Art. 51-55).
    Gpai,
}

// ---------------------------------------------------------------------------------------
// Scope

crate::entity_type! {
    /// An ISMS, AIMS or integrated scope (ISO 27001 4.3; ISO 42001 4.3).
    Scope, scope
}

crate::entity_object! {
    Scope, scope,
    update: WriteScopes,
    /// Deleting is refused while risks, AI systems or audits refer to the scope.
    delete: WriteScopes,
    {
        /// Name of the scope, unique in the organization.
        async fn name(&self) -> &str {
            &self.model.name
        }
        /// ISMS, AIMS or INTEGRATED.
        async fn kind(&self) -> ScopeKind {
            self.model.kind.into()
        }
        /// Free-text description.
        async fn description(&self) -> Option<&str> {
            self.model.description.as_deref()
        }
        /// The scope's boundaries and interfaces (ISO 27001 4.3; ISO 42001 4.3).
        async fn boundaries(&self) -> Option<&str> {
            self.model.boundaries.as_deref()
        }
        /// What the scope includes (e.g. sites, processes, systems).
        async fn inclusions(&self) -> &[String] {
            &self.model.inclusions.0
        }
        /// What the scope leaves out.
        async fn exclusions(&self) -> &[String] {
            &self.model.exclusions.0
        }
        /// The standards the scope covers.
        async fn standards(&self) -> Vec<StandardCode> {
            self.model.standards.0.iter().map(|s| (*s).into()).collect()
        }
    }
}

crate::connection!(ScopeConnection, ScopeEdge, Scope);

/// `organization.scopes`, by name.
pub async fn organization_scopes(
    ctx: &Context<'_>,
    org: &Organization,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ScopeConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let r = gate.read(actor, org.model.id, Operation::ReadScopes).await?;
    let args = PageArgs::new(first, after.as_deref(), "scopes:NAME")?;
    let page = store::list_scopes(&r, &args, wants_total(ctx)).await?;
    let access = r.access();
    Ok(ScopeConnection::from_page(page, |m| Scope::new(m, access)))
}

/// Input of `createScope`.
#[derive(InputObject)]
pub struct CreateScopeInput {
    /// The organization the scope belongs to.
    pub organization_id: ID,
    /// Required, at most 200 characters, unique in the organization.
    pub name: String,
    /// ISMS, AIMS or INTEGRATED.
    pub kind: ScopeKind,
    /// Free text, at most 20,000 characters.
    pub description: Option<String>,
    /// Boundaries and interfaces (ISO 27001 4.3; ISO 42001 4.3), at most 20,000
    /// characters.
    pub boundaries: Option<String>,
    /// At most 100 entries of at most 1,000 characters; blanks and duplicates dropped.
    pub inclusions: Option<Vec<String>>,
    /// At most 100 entries of at most 1,000 characters; blanks and duplicates dropped.
    pub exclusions: Option<Vec<String>>,
    /// Default: those of the kind (ISMS: ISO27001, AIMS: ISO42001, INTEGRATED: both);
    /// must include them.
    pub standards: Option<Vec<StandardCode>>,
}

/// Input of `updateScope`: fields left out stay.
#[derive(InputObject)]
pub struct UpdateScopeInput {
    /// The scope to change.
    pub id: ID,
    /// The `version` last read: refused with CONFLICT when the scope changed since.
    pub expected_version: Option<i32>,
    /// At most 200 characters, unique in the organization.
    pub name: Option<String>,
    /// A new kind keeps the standards when they include the kind's, else takes the kind's.
    pub kind: Option<ScopeKind>,
    /// At most 20,000 characters; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// At most 20,000 characters; `null` clears it.
    pub boundaries: MaybeUndefined<String>,
    /// Replaces the list (at most 100 entries of at most 1,000 characters).
    pub inclusions: Option<Vec<String>>,
    /// Replaces the list (at most 100 entries of at most 1,000 characters).
    pub exclusions: Option<Vec<String>>,
    /// Replaces the standards; must include those of the kind.
    pub standards: Option<Vec<StandardCode>>,
}

/// Input of `deleteScope`.
#[derive(InputObject)]
pub struct DeleteScopeInput {
    /// The scope to delete.
    pub id: ID,
}

// ---------------------------------------------------------------------------------------
// AI systems

crate::entity_type! {
    /// An AI system the AIMS covers (ISO 42001 4.1, A.4, A.6).
    AiSystem, ai_system
}

impl AiSystem {
    async fn assessments(&self, ctx: &Context<'_>) -> Result<Vec<impact_assessment::Model>> {
        load_children::<impact_assessment::Entity>(ctx, self.model.organization_id, self.model.id).await
    }
}

crate::entity_object! {
    AiSystem, ai_system,
    update: WriteAiSystems,
    /// Deleting is refused while risks or impact assessments refer to the system.
    delete: WriteAiSystems,
    {
        /// Name of the AI system.
        async fn name(&self) -> &str {
            &self.model.name
        }
        /// Free-text description.
        async fn description(&self) -> Option<&str> {
            self.model.description.as_deref()
        }
        /// What the system is for (its intended use); a change makes approved impact
        /// assessments due for reassessment.
        async fn purpose(&self) -> Option<&str> {
            self.model.purpose.as_deref()
        }
        /// Where the system is in its life cycle.
        async fn lifecycle_stage(&self) -> AiLifecycleStage {
            self.model.lifecycle_stage.into()
        }
        /// The single role: the one last set through this deprecated field while
        /// `organizationRoles` still holds it, else derived from `organizationRoles`
        /// (AI_PROVIDER → PROVIDER, AI_PRODUCER → DEVELOPER, AI_CUSTOMER → USER, in that
        /// order).
        #[graphql(deprecation = "An organization often holds several roles for one AI system: use organizationRoles (ISO/IEC 22989 roles), and euAiActRole for the EU AI Act's")]
        async fn organization_role(&self) -> AiRole {
            self.model.organization_role.into()
        }
        /// The organization's ISO/IEC 22989 roles for this system (ISO 42001 4.1), at least
        /// one.
        async fn organization_roles(&self) -> Vec<AiStakeholderRole> {
            self.model.organization_roles.0.iter().map(|r| (*r).into()).collect()
        }
        /// The organization's role under the EU AI Act, when the Act applies.
        async fn eu_ai_act_role(&self) -> Option<EuAiActRole> {
            self.model.eu_ai_act_role.map(Into::into)
        }
        /// The system's class under the EU AI Act, when the Act applies.
        async fn eu_ai_act_risk_class(&self) -> Option<EuAiActRiskClass> {
            self.model.eu_ai_act_risk_class.map(Into::into)
        }
        /// Who is responsible for the system.
        async fn owner(&self) -> Option<&str> {
            self.model.owner.as_deref()
        }
        /// The scope the system belongs to, if any.
        async fn scope(&self, ctx: &Context<'_>) -> Result<Option<Scope>> {
            let Some(id) = self.model.scope_id else { return Ok(None) };
            let m = load_by_id::<scope::Entity>(ctx, self.model.organization_id, id).await?;
            Ok(m.map(|m| Scope::new(m, self.access)))
        }
        /// Categories of data the system uses (e.g. personal data).
        async fn data_categories(&self) -> &[String] {
            &self.model.data_categories.0
        }
        /// How humans oversee the system. ISO 42001 has no Annex A control for it (A.9 ends at
        /// A.9.4): it is guidance in Annex B (B.9.3) under the responsible-use objective A.9.
        async fn human_oversight(&self) -> Option<&str> {
            self.model.human_oversight.as_deref()
        }
        /// In VALIDATION (assess before deployment) or DEPLOYED with no APPROVED impact
        /// assessment (ISO 42001 6.1.4, 8.4, A.5.2): the finding an auditor writes.
        async fn impact_assessment_missing(&self, ctx: &Context<'_>) -> Result<bool> {
            let stage = self.model.lifecycle_stage;
            if !impact_rules::needs_assessment(stage) {
                return Ok(false);
            }
            let approved = self.assessments(ctx).await?.iter().any(|a| a.status == DStatus::Approved);
            Ok(impact_rules::impact_assessment_missing(stage, approved))
        }
    }
    lists {
        /// Oldest first (the first 50).
        #[list(SYSTEM_ASSESSMENTS)]
        async fn impact_assessments(&self, ctx: &Context<'_>) -> Result<Vec<ImpactAssessment>> {
            let rows = limits::bounded(self.assessments(ctx).await?, limits::SYSTEM_ASSESSMENTS);
            Ok(rows.into_iter().map(|m| ImpactAssessment::new(m, self.access)).collect())
        }
        /// Risks registered against this system: the 50 with the highest residual score.
        #[list(SYSTEM_RISKS)]
        async fn risks(&self, ctx: &Context<'_>) -> Result<Vec<Risk>> {
            if !self.access.allows(Operation::ReadRisks) {
                return Ok(Vec::new());
            }
            let rows = load_children::<risk::Entity>(ctx, self.model.organization_id, self.model.id).await?;
            risks_in(ctx, self.model.organization_id, rows, self.access, limits::SYSTEM_RISKS).await
        }
    }
}

crate::connection!(AiSystemConnection, AiSystemEdge, AiSystem);

/// Conditions on `organization.aiSystems`: every one given must hold.
#[derive(InputObject, Default)]
pub struct AiSystemFilter {
    /// Systems in this stage.
    pub lifecycle_stage: Option<AiLifecycleStage>,
    /// The deprecated single role (`AiSystem.organizationRole`).
    pub organization_role: Option<AiRole>,
    /// Systems of this scope.
    pub scope_id: Option<ID>,
    /// Case-insensitive match on name, purpose or owner.
    pub search: Option<String>,
    /// Systems in VALIDATION or DEPLOYED without an APPROVED impact assessment.
    pub impact_assessment_missing: Option<bool>,
}

/// `organization.aiSystems`, by name.
pub async fn organization_ai_systems(
    ctx: &Context<'_>,
    org: &Organization,
    filter: Option<AiSystemFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<AiSystemConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let r = gate.read(actor, org.model.id, Operation::ReadAiSystems).await?;
    let args = PageArgs::new(first, after.as_deref(), "aiSystems:NAME")?;
    let f = filter.unwrap_or_default();
    let scope_id = f.scope_id.as_ref().map(|id| filter_id(Kind::Scope, id, "scopeId")).transpose()?;
    let filter = ai_store::AiSystemFilter {
        lifecycle_stage: f.lifecycle_stage.map(Into::into),
        organization_role: f.organization_role.map(Into::into),
        scope_id,
        search: f.search,
        impact_assessment_missing: f.impact_assessment_missing,
    };
    let page = ai_store::list_ai_systems(&r, &filter, &args, wants_total(ctx)).await?;
    let access = r.access();
    Ok(AiSystemConnection::from_page(page, |m| AiSystem::new(m, access)))
}

/// Input of `createAiSystem`.
#[derive(InputObject)]
pub struct CreateAiSystemInput {
    /// The organization whose inventory gets the system.
    pub organization_id: ID,
    /// Required, at most 200 characters.
    pub name: String,
    /// Free text, at most 20,000 characters.
    pub description: Option<String>,
    /// Intended use, at most 20,000 characters.
    pub purpose: Option<String>,
    /// Default DESIGN.
    pub lifecycle_stage: Option<AiLifecycleStage>,
    /// Deprecated: use `organizationRoles`. Alone, it records its ISO/IEC 22989
    /// counterpart; with `organizationRoles`, that counterpart must be among them.
    pub organization_role: Option<AiRole>,
    /// The organization's ISO/IEC 22989 roles (ISO 42001 4.1): at least one. Required
    /// unless the deprecated `organizationRole` is given.
    pub organization_roles: Option<Vec<AiStakeholderRole>>,
    /// The organization's operator role under the EU AI Act, when the Act applies.
    pub eu_ai_act_role: Option<EuAiActRole>,
    /// The system's class under the EU AI Act, when the Act applies.
    pub eu_ai_act_risk_class: Option<EuAiActRiskClass>,
    /// Who is responsible, at most 200 characters.
    pub owner: Option<String>,
    /// A scope of the same organization.
    pub scope_id: Option<ID>,
    /// At most 50 entries of at most 200 characters; blanks and duplicates dropped.
    pub data_categories: Option<Vec<String>>,
    /// How humans oversee the system (ISO 42001 B.9.3), at most 20,000 characters.
    pub human_oversight: Option<String>,
}

/// Input of `updateAiSystem`: fields left out stay. A change of purpose, data categories or
/// lifecycle stage makes APPROVED impact assessments due (ISO 42001 8.4).
#[derive(InputObject)]
pub struct UpdateAiSystemInput {
    /// The AI system to change.
    pub id: ID,
    /// The `version` last read: refused with CONFLICT when the system changed since.
    pub expected_version: Option<i32>,
    /// At most 200 characters.
    pub name: Option<String>,
    /// At most 20,000 characters; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// Intended use, at most 20,000 characters; `null` clears it.
    pub purpose: MaybeUndefined<String>,
    /// RETIRED keeps the system's records (instead of deleting it).
    pub lifecycle_stage: Option<AiLifecycleStage>,
    /// Deprecated: use `organizationRoles`. Alone, it keeps the list when the list holds
    /// its ISO/IEC 22989 counterpart, and replaces the list with that counterpart
    /// otherwise.
    pub organization_role: Option<AiRole>,
    /// Replaces the roles (at least one).
    pub organization_roles: Option<Vec<AiStakeholderRole>>,
    /// `null` clears it.
    pub eu_ai_act_role: MaybeUndefined<EuAiActRole>,
    /// `null` clears it.
    pub eu_ai_act_risk_class: MaybeUndefined<EuAiActRiskClass>,
    /// At most 200 characters; `null` clears it.
    pub owner: MaybeUndefined<String>,
    /// A scope of the same organization; `null` detaches the system.
    pub scope_id: MaybeUndefined<ID>,
    /// Replaces the list (at most 50 entries of at most 200 characters).
    pub data_categories: Option<Vec<String>>,
    /// How humans oversee the system, at most 20,000 characters; `null` clears it.
    pub human_oversight: MaybeUndefined<String>,
}

fn roles_in(v: Option<Vec<AiStakeholderRole>>) -> Option<Vec<impact_rules::AiStakeholderRole>> {
    v.map(|v| v.into_iter().map(Into::into).collect())
}

/// Input of `deleteAiSystem`.
#[derive(InputObject)]
pub struct DeleteAiSystemInput {
    /// The AI system to delete.
    pub id: ID,
}

// ---------------------------------------------------------------------------------------
// Mutations

crate::mutations! {
    InventoryMutation;
    /// Defines a scope of the management system (ISO 27001 4.3; ISO 42001 4.3).
    create_scope(ctx, gate, actor, input: CreateScopeInput) -> CreateScopePayload { scope: Scope } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        store::create_scope(gate, actor, org, store::NewScope {
            name: &input.name,
            kind: input.kind.into(),
            description: input.description.as_deref(),
            boundaries: input.boundaries.as_deref(),
            inclusions: input.inclusions.as_deref().unwrap_or_default(),
            exclusions: input.exclusions.as_deref().unwrap_or_default(),
            standards: input.standards.map(|v| v.into_iter().map(Into::into).collect()),
        }).await?
    }
    /// Changes a scope (ISO 27001 4.3; ISO 42001 4.3).
    update_scope(ctx, gate, actor, input: UpdateScopeInput) -> UpdateScopePayload { scope: Scope } {
        let id = ids::expect(Kind::Scope, &input.id, "id")?;
        store::update_scope(gate, actor, id, store::ScopeChanges {
            expected_version: input.expected_version,
            name: input.name,
            kind: input.kind.map(Into::into),
            description: change(input.description, |v| v),
            boundaries: change(input.boundaries, |v| v),
            inclusions: input.inclusions,
            exclusions: input.exclusions,
            standards: input.standards.map(|v| v.into_iter().map(Into::into).collect()),
        }).await?
    }
    /// Refused with CONFLICT while risks, AI systems or audits refer to the scope.
    delete_scope(ctx, gate, actor, input: DeleteScopeInput) -> DeleteScopePayload { deleted_id: ID } => {
        let id = ids::expect(Kind::Scope, &input.id, "id")?;
        let m = store::delete_scope(gate, actor, id).await?;
        Ok(DeleteScopePayload { deleted_id: ID(ids::encode(Kind::Scope, m.model.id)) })
    }
    /// Adds an AI system to the inventory, with the organization's roles for it (ISO 42001 4.1).
    create_ai_system(ctx, gate, actor, input: CreateAiSystemInput) -> CreateAiSystemPayload { ai_system: AiSystem } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let scope_id = input.scope_id.as_ref().map(|i| ref_id(Kind::Scope, i, "scopeId")).transpose()?;
        ai_store::create_ai_system(gate, actor, org, ai_store::NewAiSystem {
            name: &input.name,
            description: input.description.as_deref(),
            purpose: input.purpose.as_deref(),
            lifecycle_stage: input.lifecycle_stage.map(Into::into).unwrap_or(DStage::Design),
            organization_role: input.organization_role.map(Into::into),
            organization_roles: roles_in(input.organization_roles).as_deref(),
            eu_ai_act_role: input.eu_ai_act_role.map(Into::into),
            eu_ai_act_risk_class: input.eu_ai_act_risk_class.map(Into::into),
            owner: input.owner.as_deref(),
            scope_id,
            data_categories: input.data_categories.as_deref().unwrap_or_default(),
            human_oversight: input.human_oversight.as_deref(),
        }).await?
    }
    /// Changes an AI system; a new purpose, data categories or lifecycle stage makes APPROVED
    /// impact assessments due for reassessment (ISO 42001 8.4).
    update_ai_system(ctx, gate, actor, input: UpdateAiSystemInput) -> UpdateAiSystemPayload { ai_system: AiSystem } {
        let id = ids::expect(Kind::AiSystem, &input.id, "id")?;
        ai_store::update_ai_system(gate, actor, id, ai_store::AiSystemChanges {
            expected_version: input.expected_version,
            name: input.name,
            description: change(input.description, |v| v),
            purpose: change(input.purpose, |v| v),
            lifecycle_stage: input.lifecycle_stage.map(Into::into),
            organization_role: input.organization_role.map(Into::into),
            organization_roles: roles_in(input.organization_roles),
            eu_ai_act_role: change(input.eu_ai_act_role, Into::into),
            eu_ai_act_risk_class: change(input.eu_ai_act_risk_class, Into::into),
            owner: change(input.owner, |v| v),
            scope_id: try_change(input.scope_id, |i| ref_id(Kind::Scope, &i, "scopeId"))?,
            data_categories: input.data_categories,
            human_oversight: change(input.human_oversight, |v| v),
        }).await?
    }
    /// Refused with CONFLICT while risks or impact assessments refer to the system (retire
    /// it instead: lifecycleStage RETIRED keeps its records).
    delete_ai_system(ctx, gate, actor, input: DeleteAiSystemInput) -> DeleteAiSystemPayload { deleted_id: ID } => {
        let id = ids::expect(Kind::AiSystem, &input.id, "id")?;
        let m = ai_store::delete_ai_system(gate, actor, id).await?;
        Ok(DeleteAiSystemPayload { deleted_id: ID(ids::encode(Kind::AiSystem, m.model.id)) })
    }
}
