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

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::scope::ScopeKind")]
pub enum ScopeKind {
    Isms,
    Aims,
    Integrated,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::impact::AiLifecycleStage")]
pub enum AiLifecycleStage {
    Design,
    Development,
    Validation,
    Deployed,
    Retired,
}

/// The organization's role for an AI system.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::impact::AiRole")]
pub enum AiRole {
    Provider,
    Developer,
    Deployer,
    User,
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
        async fn name(&self) -> &str {
            &self.model.name
        }
        async fn kind(&self) -> ScopeKind {
            self.model.kind.into()
        }
        async fn description(&self) -> Option<&str> {
            self.model.description.as_deref()
        }
        async fn boundaries(&self) -> Option<&str> {
            self.model.boundaries.as_deref()
        }
        async fn inclusions(&self) -> &[String] {
            &self.model.inclusions.0
        }
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

#[derive(InputObject)]
pub struct CreateScopeInput {
    pub organization_id: ID,
    pub name: String,
    pub kind: ScopeKind,
    pub description: Option<String>,
    pub boundaries: Option<String>,
    pub inclusions: Option<Vec<String>>,
    pub exclusions: Option<Vec<String>>,
    /// Default: those of the kind (ISMS: ISO27001, AIMS: ISO42001, INTEGRATED: both);
    /// must include them.
    pub standards: Option<Vec<StandardCode>>,
}

#[derive(InputObject)]
pub struct UpdateScopeInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    pub name: Option<String>,
    pub kind: Option<ScopeKind>,
    pub description: MaybeUndefined<String>,
    pub boundaries: MaybeUndefined<String>,
    pub inclusions: Option<Vec<String>>,
    pub exclusions: Option<Vec<String>>,
    pub standards: Option<Vec<StandardCode>>,
}

#[derive(InputObject)]
pub struct DeleteScopeInput {
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
        async fn name(&self) -> &str {
            &self.model.name
        }
        async fn description(&self) -> Option<&str> {
            self.model.description.as_deref()
        }
        async fn purpose(&self) -> Option<&str> {
            self.model.purpose.as_deref()
        }
        async fn lifecycle_stage(&self) -> AiLifecycleStage {
            self.model.lifecycle_stage.into()
        }
        async fn organization_role(&self) -> AiRole {
            self.model.organization_role.into()
        }
        async fn owner(&self) -> Option<&str> {
            self.model.owner.as_deref()
        }
        async fn scope(&self, ctx: &Context<'_>) -> Result<Option<Scope>> {
            let Some(id) = self.model.scope_id else { return Ok(None) };
            let m = load_by_id::<scope::Entity>(ctx, self.model.organization_id, id).await?;
            Ok(m.map(|m| Scope::new(m, self.access)))
        }
        async fn data_categories(&self) -> &[String] {
            &self.model.data_categories.0
        }
        /// How humans oversee the system (ISO 42001 A.9.2).
        async fn human_oversight(&self) -> Option<&str> {
            self.model.human_oversight.as_deref()
        }
        /// DEPLOYED with no APPROVED impact assessment (ISO 42001 8.4, A.5.2): the finding an
        /// auditor writes.
        async fn impact_assessment_missing(&self, ctx: &Context<'_>) -> Result<bool> {
            let stage = self.model.lifecycle_stage;
            if stage != DStage::Deployed {
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

#[derive(InputObject, Default)]
pub struct AiSystemFilter {
    pub lifecycle_stage: Option<AiLifecycleStage>,
    pub organization_role: Option<AiRole>,
    pub scope_id: Option<ID>,
    /// Case-insensitive match on name, purpose or owner.
    pub search: Option<String>,
    /// DEPLOYED systems without an APPROVED impact assessment.
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

#[derive(InputObject)]
pub struct CreateAiSystemInput {
    pub organization_id: ID,
    pub name: String,
    pub description: Option<String>,
    pub purpose: Option<String>,
    /// Default DESIGN.
    pub lifecycle_stage: Option<AiLifecycleStage>,
    pub organization_role: AiRole,
    pub owner: Option<String>,
    pub scope_id: Option<ID>,
    pub data_categories: Option<Vec<String>>,
    pub human_oversight: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateAiSystemInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    pub name: Option<String>,
    pub description: MaybeUndefined<String>,
    pub purpose: MaybeUndefined<String>,
    pub lifecycle_stage: Option<AiLifecycleStage>,
    pub organization_role: Option<AiRole>,
    pub owner: MaybeUndefined<String>,
    pub scope_id: MaybeUndefined<ID>,
    pub data_categories: Option<Vec<String>>,
    pub human_oversight: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct DeleteAiSystemInput {
    pub id: ID,
}

// ---------------------------------------------------------------------------------------
// Mutations

crate::mutations! {
    InventoryMutation;
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
    create_ai_system(ctx, gate, actor, input: CreateAiSystemInput) -> CreateAiSystemPayload { ai_system: AiSystem } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let scope_id = input.scope_id.as_ref().map(|i| ref_id(Kind::Scope, i, "scopeId")).transpose()?;
        ai_store::create_ai_system(gate, actor, org, ai_store::NewAiSystem {
            name: &input.name,
            description: input.description.as_deref(),
            purpose: input.purpose.as_deref(),
            lifecycle_stage: input.lifecycle_stage.map(Into::into).unwrap_or(DStage::Design),
            organization_role: input.organization_role.into(),
            owner: input.owner.as_deref(),
            scope_id,
            data_categories: input.data_categories.as_deref().unwrap_or_default(),
            human_oversight: input.human_oversight.as_deref(),
        }).await?
    }
    update_ai_system(ctx, gate, actor, input: UpdateAiSystemInput) -> UpdateAiSystemPayload { ai_system: AiSystem } {
        let id = ids::expect(Kind::AiSystem, &input.id, "id")?;
        ai_store::update_ai_system(gate, actor, id, ai_store::AiSystemChanges {
            expected_version: input.expected_version,
            name: input.name,
            description: change(input.description, |v| v),
            purpose: change(input.purpose, |v| v),
            lifecycle_stage: input.lifecycle_stage.map(Into::into),
            organization_role: input.organization_role.map(Into::into),
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
