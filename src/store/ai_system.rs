//! The AI systems inventory (ISO 42001 4.1, 4.3, A.4.2-A.4.6, A.6).

use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, Condition, QueryFilter};
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::impact::{
    AiLifecycleStage, AiRole, AiStakeholderRole, EuAiActRiskClass, EuAiActRole, ImpactAssessmentStatus, resolve_roles,
};
use crate::domain::{self, MAX_NAME, MAX_TEXT};
use crate::entity::{RoleList, StringList, ai_system, impact_assessment, risk};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::scope::{describe_references, expect_scope};
use crate::store::soa::{ilike, like_pattern};
use crate::store::tenancy::{Actor, Gate, Granted, Reader, Writer, now};

pub struct NewAiSystem<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub purpose: Option<&'a str>,
    pub lifecycle_stage: AiLifecycleStage,
    /// Deprecated single role; with `organization_roles` it must be one of them.
    pub organization_role: Option<AiRole>,
    pub organization_roles: Option<&'a [AiStakeholderRole]>,
    pub eu_ai_act_role: Option<EuAiActRole>,
    pub eu_ai_act_risk_class: Option<EuAiActRiskClass>,
    pub owner: Option<&'a str>,
    pub scope_id: Option<Uuid>,
    pub data_categories: &'a [String],
    pub human_oversight: Option<&'a str>,
}

async fn ensure_name_free(w: &Writer, name: &str, except: Option<Uuid>) -> AppResult<()> {
    let mut q = w.find::<ai_system::Entity>()?.filter(ai_system::Column::Name.eq(name));
    if let Some(id) = except {
        q = q.filter(ai_system::Column::Id.ne(id));
    }
    if q.count().await? > 0 {
        return Err(AppError::Conflict(format!("an AI system named {name:?} already exists in this organization")));
    }
    Ok(())
}

fn categories(list: &[String]) -> AppResult<StringList> {
    Ok(StringList(domain::clean_list("dataCategories", list, 50, MAX_NAME)?))
}

pub async fn create_ai_system(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    n: NewAiSystem<'_>,
) -> AppResult<Granted<ai_system::Model>> {
    let name = domain::required_text("name", n.name, MAX_NAME)?;
    let description = domain::optional_text("description", n.description, MAX_TEXT)?;
    let purpose = domain::optional_text("purpose", n.purpose, MAX_TEXT)?;
    let owner = domain::optional_text("owner", n.owner, MAX_NAME)?;
    let oversight = domain::optional_text("humanOversight", n.human_oversight, MAX_TEXT)?;
    let data_categories = categories(n.data_categories)?;
    let (roles, role) = resolve_roles(n.organization_role, n.organization_roles, None)?
        .ok_or_else(|| AppError::bad_input("organizationRoles", "organizationRoles is required"))?;
    let mut w = gate.write(actor, org, Operation::WriteAiSystems).await?;
    if let Some(s) = n.scope_id {
        expect_scope(&w, s, "scopeId").await?;
    }
    ensure_name_free(&w, &name, None).await?;
    let at = now();
    let am = ai_system::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: Set(org),
        name: Set(name),
        description: Set(description),
        purpose: Set(purpose),
        lifecycle_stage: Set(n.lifecycle_stage),
        organization_role: Set(role),
        owner: Set(owner),
        scope_id: Set(n.scope_id),
        data_categories: Set(data_categories),
        human_oversight: Set(oversight),
        organization_roles: Set(RoleList(roles)),
        eu_ai_act_role: Set(n.eu_ai_act_role),
        eu_ai_act_risk_class: Set(n.eu_ai_act_risk_class),
        assessment_basis_changed_at: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert(am, "an AI system with that name already exists").await?;
    w.record_create(Kind::AiSystem, m.id, &m).await?;
    w.commit_with(m).await
}

#[derive(Default)]
pub struct AiSystemChanges {
    pub expected_version: Option<i32>,
    pub name: Option<String>,
    /// `Some(None)` clears.
    pub description: Option<Option<String>>,
    pub purpose: Option<Option<String>>,
    pub lifecycle_stage: Option<AiLifecycleStage>,
    /// Deprecated single role.
    pub organization_role: Option<AiRole>,
    /// Replaces the list.
    pub organization_roles: Option<Vec<AiStakeholderRole>>,
    pub eu_ai_act_role: Option<Option<EuAiActRole>>,
    pub eu_ai_act_risk_class: Option<Option<EuAiActRiskClass>>,
    pub owner: Option<Option<String>>,
    pub scope_id: Option<Option<Uuid>>,
    pub data_categories: Option<Vec<String>>,
    pub human_oversight: Option<Option<String>>,
}

pub async fn update_ai_system(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    ch: AiSystemChanges,
) -> AppResult<Granted<ai_system::Model>> {
    let opt = |field: &str, v: &Option<Option<String>>, max| {
        v.as_ref().map(|d| domain::optional_text(field, d.as_deref(), max)).transpose()
    };
    let name = ch.name.as_deref().map(|n| domain::required_text("name", n, MAX_NAME)).transpose()?;
    let description = opt("description", &ch.description, MAX_TEXT)?;
    let purpose = opt("purpose", &ch.purpose, MAX_TEXT)?;
    let owner = opt("owner", &ch.owner, MAX_NAME)?;
    let oversight = opt("humanOversight", &ch.human_oversight, MAX_TEXT)?;
    let data_categories = ch.data_categories.as_deref().map(categories).transpose()?;

    let (mut w, before) = gate.write_on::<ai_system::Entity>(actor, id, Operation::WriteAiSystems).await?;
    crate::store::org::check_version(ch.expected_version, before.version)?;
    let roles = resolve_roles(
        ch.organization_role,
        ch.organization_roles.as_deref(),
        Some((&before.organization_roles.0, before.organization_role)),
    )?;
    if let Some(Some(s)) = ch.scope_id {
        expect_scope(&w, s, "scopeId").await?;
    }
    if let Some(n) = &name {
        ensure_name_free(&w, n, Some(id)).await?;
    }
    let mut am: ai_system::ActiveModel = before.clone().into();
    if let Some(n) = name {
        am.name = Set(n);
    }
    if let Some(v) = description {
        am.description = Set(v);
    }
    if let Some(v) = purpose {
        am.purpose = Set(v);
    }
    if let Some(v) = ch.lifecycle_stage {
        am.lifecycle_stage = Set(v);
    }
    if let Some((list, one)) = roles {
        am.organization_roles = Set(RoleList(list));
        am.organization_role = Set(one);
    }
    if let Some(v) = ch.eu_ai_act_role {
        am.eu_ai_act_role = Set(v);
    }
    if let Some(v) = ch.eu_ai_act_risk_class {
        am.eu_ai_act_risk_class = Set(v);
    }
    if let Some(v) = owner {
        am.owner = Set(v);
    }
    if let Some(v) = ch.scope_id {
        am.scope_id = Set(v);
    }
    if let Some(v) = data_categories {
        am.data_categories = Set(v);
    }
    if let Some(v) = oversight {
        am.human_oversight = Set(v);
    }
    // ISO 42001 8.4: a change to what the impact assessment assessed makes an approved
    // one due for reassessment.
    let basis_changed = [
        am.purpose.try_as_ref() != Some(&before.purpose),
        am.data_categories.try_as_ref() != Some(&before.data_categories),
        am.lifecycle_stage.try_as_ref() != Some(&before.lifecycle_stage),
    ]
    .contains(&true);
    if basis_changed {
        am.assessment_basis_changed_at = Set(Some(now()));
    }
    let after = w.update(am).await?;
    w.record_update(Kind::AiSystem, id, &before, &after).await?;
    w.commit_with(after).await
}

/// Refused (`CONFLICT`) while risks or impact assessments point at the system: the
/// assessments are records of the AIMS (ISO 42001 7.5) and the risks need re-homing;
/// retire the system (lifecycle RETIRED) to keep its history instead.
pub async fn delete_ai_system(gate: &Gate, actor: &Actor, id: Uuid) -> AppResult<Granted<ai_system::Model>> {
    let (mut w, before) = gate.write_on::<ai_system::Entity>(actor, id, Operation::WriteAiSystems).await?;
    let risks = w.find::<risk::Entity>()?.filter(risk::Column::AiSystemId.eq(id)).count().await?;
    let assessments =
        w.find::<impact_assessment::Entity>()?.filter(impact_assessment::Column::AiSystemId.eq(id)).count().await?;
    // issue 15: incidents name the AI system they concern.
    let incidents = w
        .find::<crate::entity::incident::Entity>()?
        .filter(crate::entity::incident::Column::AiSystemId.eq(id))
        .count()
        .await?;
    if let Some(what) = describe_references(&[
        (risks, "risk", "risks"),
        (assessments, "impact assessment", "impact assessments"),
        (incidents, "incident", "incidents"),
    ]) {
        return Err(AppError::Conflict(format!(
            "the AI system is referenced by {what}; set its lifecycle stage to RETIRED instead, or remove those first"
        )));
    }
    // issue 15: supplier links go with the AI system.
    w.delete_where::<crate::entity::supplier_ai_system::Entity>(
        Condition::all().add(crate::entity::supplier_ai_system::Column::AiSystemId.eq(id)),
    )
    .await?;
    w.delete::<ai_system::Entity>(id).await?;
    w.record_delete(Kind::AiSystem, id, &before).await?;
    w.commit_with(before).await
}

#[derive(Debug, Default, Clone)]
pub struct AiSystemFilter {
    pub lifecycle_stage: Option<AiLifecycleStage>,
    pub organization_role: Option<AiRole>,
    pub scope_id: Option<Uuid>,
    pub search: Option<String>,
    /// In VALIDATION or DEPLOYED with no APPROVED impact assessment (or the opposite).
    pub impact_assessment_missing: Option<bool>,
}

pub async fn list_ai_systems(
    r: &Reader,
    f: &AiSystemFilter,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<ai_system::Model>> {
    use ai_system::Column as C;
    crate::domain::check_search(f.search.as_deref())?;
    let mut q = r.find::<ai_system::Entity>()?;
    if let Some(s) = f.lifecycle_stage {
        q = q.filter(C::LifecycleStage.eq(s));
    }
    if let Some(s) = f.organization_role {
        q = q.filter(C::OrganizationRole.eq(s));
    }
    if let Some(s) = f.scope_id {
        q = q.filter(C::ScopeId.eq(s));
    }
    if let Some(term) = f.search.as_deref().filter(|t| !t.trim().is_empty()) {
        let p = like_pattern(term);
        q = q.filter(Condition::any().add(ilike(C::Name, &p)).add(ilike(C::Purpose, &p)).add(ilike(C::Owner, &p)));
    }
    if let Some(missing) = f.impact_assessment_missing {
        let cond = assessment_missing_condition();
        q = q.filter(if missing { cond } else { cond.not() });
    }
    let sort = Sort::by("aiSystems:NAME", C::Name, false, C::Id, false);
    q.page(&sort, args, want_total, |m| SortValue::Text(m.name.clone()), |m| m.id).await
}

/// An AI system id given in input must name a system of the writer's organization.
pub(crate) async fn expect_ai_system(w: &Writer, id: Uuid, field: &str) -> AppResult<ai_system::Model> {
    w.get::<ai_system::Entity>(id)
        .await?
        .ok_or_else(|| AppError::bad_input(field, format!("{field}: no such AI system in this organization")))
}

/// ISO 42001 6.1.4, 8.4: an AI system in VALIDATION (assess before deployment) or
/// DEPLOYED with no APPROVED impact assessment (a correlated `NOT EXISTS`, so lists and
/// dashboard counts agree; same rule as `domain::impact::impact_assessment_missing`).
pub fn assessment_missing_condition() -> Condition {
    use ai_system::Column as C;
    use impact_assessment::Column as IA;
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let approved = Query::select()
        .expr(Expr::val(1))
        .from(impact_assessment::Entity)
        .and_where(
            Expr::col((impact_assessment::Entity, IA::OrganizationId)).equals((ai_system::Entity, C::OrganizationId)),
        )
        .and_where(Expr::col((impact_assessment::Entity, IA::AiSystemId)).equals((ai_system::Entity, C::Id)))
        .and_where(Expr::col((impact_assessment::Entity, IA::Status)).eq(ImpactAssessmentStatus::Approved))
        .to_owned();
    let stages = AiLifecycleStage::ALL.iter().copied().filter(|s| crate::domain::impact::needs_assessment(*s));
    Condition::all().add(C::LifecycleStage.is_in(stages)).add(Expr::exists(approved).not())
}
