//! The integrated risk register: security, AI and shared risks under one method
//! (`domain::risk`), links to SoA rows of either standard, and the organization's risk
//! settings as they apply when risks are read.
//!
//! A risk row stores its ratings, `inherent_score` (likelihood × impact) and
//! `effective_score` (the residual score, falling back to the inherent one): both depend
//! on the ratings only, so settings changes never rewrite risk rows. Levels, appetite and
//! breaches are computed from these scores and the settings in force when read; filters
//! on them become score ranges in SQL.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, Condition, QueryFilter, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::risk::{
    self as rules, Acceptance, RatingsInUse, RiskCategory, RiskDomain, RiskKind, RiskLevel, RiskSettings, RiskStatus,
    RiskTreatment, StoredRiskSettings,
};
use crate::domain::{self, MAX_NAME, MAX_TEXT, MAX_TITLE};
use crate::entity::{control, impact_assessment, impact_assessment_risk, organization, risk, risk_control};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::ai_system::expect_ai_system;
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::scope::expect_scope;
use crate::store::soa::{ilike, like_pattern};
use crate::store::tenancy::{Actor, Gate, Granted, MultiReader, Reader, Writer, now};

/// SoA rows one risk may be treated by (`Risk.controls` lists them all).
pub const MAX_CONTROLS_PER_RISK: usize = 30;

/// Today, in UTC: acceptance expiry and review dates are compared with it.
pub fn today() -> NaiveDate {
    now().date_naive()
}

/// The settings stored on an organization row, resolved against the defaults.
pub fn settings_of_model(org: &organization::Model) -> AppResult<RiskSettings> {
    Ok(StoredRiskSettings::from_json(org.risk_settings.as_ref()).map_err(AppError::internal)?.resolve())
}

pub(crate) async fn settings_in_writer(w: &Writer) -> AppResult<RiskSettings> {
    let org = w.get::<organization::Entity>(w.org()).await?.ok_or_else(|| AppError::not_found("organization"))?;
    settings_of_model(&org)
}

/// The settings in force for the reader's organization.
pub async fn settings(r: &Reader) -> AppResult<RiskSettings> {
    let org = r.get::<organization::Entity>(r.org()).await?.ok_or_else(|| AppError::not_found("organization"))?;
    settings_of_model(&org)
}

/// The settings of several organizations (one statement).
pub async fn settings_many(r: &MultiReader) -> AppResult<HashMap<Uuid, RiskSettings>> {
    if r.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = r.find::<organization::Entity>()?.all().await?;
    rows.iter().map(|o| Ok((o.id, settings_of_model(o)?))).collect()
}

/// The largest rating any risk or impact assessment of the writer's organization uses.
pub(crate) async fn ratings_in_use(w: &Writer) -> AppResult<RatingsInUse> {
    use risk::Column as C;
    type Maxima = (Option<i32>, Option<i32>, Option<i32>, Option<i32>);
    let row: Option<Maxima> = w
        .find::<risk::Entity>()?
        .select_only()
        .column_as(C::Likelihood.max(), "l")
        .column_as(C::Impact.max(), "i")
        .column_as(C::ResidualLikelihood.max(), "rl")
        .column_as(C::ResidualImpact.max(), "ri")
        .tuple()
        .await?;
    let mut max = row.map(|(a, b, c, d)| [a, b, c, d].into_iter().flatten().max().unwrap_or(0)).unwrap_or(0);
    let assessments = w.find::<impact_assessment::Entity>()?.all().await?;
    for a in assessments {
        for i in a.impacts {
            max = max.max(i.likelihood).max(i.severity);
        }
    }
    Ok(RatingsInUse(max))
}

/// What the audit trail records of a risk: the row plus its linked controls.
#[derive(Serialize)]
struct RiskLinks {
    controls: Vec<String>,
}

pub struct NewRisk<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub category: RiskCategory,
    /// THREAT when not given.
    pub kind: Option<RiskKind>,
    pub likelihood: i32,
    pub impact: i32,
    pub residual_likelihood: Option<i32>,
    pub residual_impact: Option<i32>,
    pub treatment: Option<RiskTreatment>,
    pub acceptance_justification: Option<&'a str>,
    pub accepted_by: Option<&'a str>,
    pub acceptance_expires_on: Option<NaiveDate>,
    pub owner: Option<&'a str>,
    pub status: Option<RiskStatus>,
    pub review_date: Option<NaiveDate>,
    pub scope_id: Option<Uuid>,
    pub ai_system_id: Option<Uuid>,
    /// The stable key of a spreadsheet row (imports).
    pub external_key: Option<&'a str>,
}

/// The rated, accepted state of a risk after a create or update, checked as a whole.
struct Rated {
    likelihood: i32,
    impact: i32,
    residual_likelihood: Option<i32>,
    residual_impact: Option<i32>,
    inherent: i32,
    effective: i32,
}

fn rate(
    s: &RiskSettings,
    likelihood: i32,
    impact: i32,
    residual_likelihood: Option<i32>,
    residual_impact: Option<i32>,
) -> AppResult<Rated> {
    let likelihood = rules::rating("likelihood", likelihood, s.matrix)?;
    let impact = rules::rating("impact", impact, s.matrix)?;
    let residual_likelihood =
        residual_likelihood.map(|v| rules::rating("residualLikelihood", v, s.matrix)).transpose()?;
    let residual_impact = residual_impact.map(|v| rules::rating("residualImpact", v, s.matrix)).transpose()?;
    Ok(Rated {
        likelihood,
        impact,
        residual_likelihood,
        residual_impact,
        inherent: rules::score(likelihood, impact),
        effective: rules::residual_score(likelihood, impact, residual_likelihood, residual_impact),
    })
}

/// Whether the writer's caller may record an acceptance for the risk owner: an OWNER or
/// MANAGER of the organization (or a platform admin).
fn may_act_for_owner(w: &Writer) -> bool {
    use crate::auth::{Access, Role};
    matches!(w.access(), Access::PlatformAdmin | Access::Member(Role::Owner | Role::Manager))
}

/// The appetite applies to threats only (ISO 27001 6.1.1: opportunities are pursued, not
/// tolerated).
fn exceeds(s: &RiskSettings, kind: RiskKind, domain: RiskDomain, effective: i32) -> bool {
    kind == RiskKind::Threat && s.exceeds_appetite(domain, effective)
}

pub async fn create_risk(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    n: NewRisk<'_>,
) -> AppResult<Granted<(risk::Model, RiskSettings)>> {
    let mut w = gate.write(actor, org, Operation::WriteRisks).await?;
    let s = settings_in_writer(&w).await?;
    let m = insert_risk(&mut w, &s, n).await?;
    w.commit_with((m, s)).await
}

/// Inserts a risk in an open write transaction of `WriteRisks` (a mutation or one row of
/// an import), with the same rules and trail as `createRisk`.
pub(crate) async fn insert_risk(w: &mut Writer, s: &RiskSettings, n: NewRisk<'_>) -> AppResult<risk::Model> {
    let org = w.org();
    let title = domain::required_text("title", n.title, MAX_TITLE)?;
    let external_key = domain::optional_text("externalKey", n.external_key, MAX_NAME)?;
    let description = domain::optional_text("description", n.description, MAX_TEXT)?;
    let owner = domain::optional_text("owner", n.owner, MAX_NAME)?;
    let justification = domain::optional_text("acceptanceJustification", n.acceptance_justification, MAX_TEXT)?;
    let accepted_by = domain::optional_text("acceptedBy", n.accepted_by, MAX_NAME)?;
    if let Some(d) = n.acceptance_expires_on {
        rules::check_new_expiry(d, today())?;
    }
    let status = n.status.unwrap_or(RiskStatus::Identified);
    rules::check_owner(status, owner.as_deref())?;
    let kind = n.kind.unwrap_or(RiskKind::Threat);
    let r = rate(s, n.likelihood, n.impact, n.residual_likelihood, n.residual_impact)?;
    let domain = n.category.domain();
    let accepted_score = (n.treatment == Some(RiskTreatment::Accept)).then_some(r.effective);
    rules::check_acceptance(
        n.treatment,
        exceeds(s, kind, domain, r.effective),
        &Acceptance {
            justification: justification.as_deref(),
            accepted_by: accepted_by.as_deref(),
            expires_on: n.acceptance_expires_on,
            accepted_score,
        },
    )?;
    let on_behalf_of = match accepted_by.as_deref() {
        Some(by) => rules::check_accepted_by(by, owner.as_deref(), w.actor(), may_act_for_owner(w))?,
        None => None,
    };
    if let Some(id) = n.scope_id {
        expect_scope(w, id, "scopeId").await?;
    }
    if let Some(id) = n.ai_system_id {
        expect_ai_system(w, id, "aiSystemId").await?;
    }
    let at = now();
    let am = risk::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: Set(org),
        title: Set(title),
        description: Set(description),
        category: Set(n.category),
        domain: Set(domain),
        likelihood: Set(r.likelihood),
        impact: Set(r.impact),
        inherent_score: Set(r.inherent),
        residual_likelihood: Set(r.residual_likelihood),
        residual_impact: Set(r.residual_impact),
        effective_score: Set(r.effective),
        kind: Set(kind),
        treatment: Set(n.treatment),
        acceptance_justification: Set(justification),
        accepted_by: Set(accepted_by),
        acceptance_expires_on: Set(n.acceptance_expires_on),
        accepted_score: Set(accepted_score),
        accepted_on_behalf_of: Set(on_behalf_of),
        owner: Set(owner),
        status: Set(status),
        review_date: Set(n.review_date),
        scope_id: Set(n.scope_id),
        ai_system_id: Set(n.ai_system_id),
        external_key: Set(external_key),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert(am, "a risk with that external key already exists").await?;
    w.record_create(Kind::Risk, m.id, &m).await?;
    Ok(m)
}

/// `None`: unchanged; `Some(None)`: cleared.
#[derive(Default)]
pub struct RiskChanges {
    pub expected_version: Option<i32>,
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub category: Option<RiskCategory>,
    pub kind: Option<RiskKind>,
    pub likelihood: Option<i32>,
    pub impact: Option<i32>,
    pub residual_likelihood: Option<Option<i32>>,
    pub residual_impact: Option<Option<i32>>,
    pub treatment: Option<Option<RiskTreatment>>,
    pub acceptance_justification: Option<Option<String>>,
    pub accepted_by: Option<Option<String>>,
    pub acceptance_expires_on: Option<Option<NaiveDate>>,
    pub owner: Option<Option<String>>,
    pub status: Option<RiskStatus>,
    pub review_date: Option<Option<NaiveDate>>,
    pub scope_id: Option<Option<Uuid>>,
    pub ai_system_id: Option<Option<Uuid>>,
    /// Imports only: `Some(None)` clears.
    pub external_key: Option<Option<String>>,
}

pub async fn update_risk(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    ch: RiskChanges,
) -> AppResult<Granted<(risk::Model, RiskSettings)>> {
    let ch = ch.checked()?;
    let (mut w, before) = gate.write_on::<risk::Entity>(actor, id, Operation::WriteRisks).await?;
    crate::store::org::check_version(ch.expected_version, before.version)?;
    let s = settings_in_writer(&w).await?;
    let after = apply_risk_changes(&mut w, &s, before, ch).await?;
    w.commit_with((after, s)).await
}

impl RiskChanges {
    /// The changes with their texts trimmed and checked (no database needed).
    pub(crate) fn checked(mut self) -> AppResult<RiskChanges> {
        let opt = |field: &str, v: Option<Option<String>>, max| {
            v.map(|d| domain::optional_text(field, d.as_deref(), max)).transpose()
        };
        self.title = self.title.as_deref().map(|t| domain::required_text("title", t, MAX_TITLE)).transpose()?;
        self.description = opt("description", self.description, MAX_TEXT)?;
        self.owner = opt("owner", self.owner, MAX_NAME)?;
        self.acceptance_justification = opt("acceptanceJustification", self.acceptance_justification, MAX_TEXT)?;
        self.accepted_by = opt("acceptedBy", self.accepted_by, MAX_NAME)?;
        if let Some(Some(d)) = self.acceptance_expires_on {
            rules::check_new_expiry(d, today())?;
        }
        Ok(self)
    }
}

/// Applies [`RiskChanges::checked`] changes to `before` in an open write transaction of
/// `WriteRisks` (a mutation or one row of an import), with the rules and trail of
/// `updateRisk`.
pub(crate) async fn apply_risk_changes(
    w: &mut Writer,
    s: &RiskSettings,
    before: risk::Model,
    ch: RiskChanges,
) -> AppResult<risk::Model> {
    let id = before.id;
    let (title, description, owner, justification, accepted_by) =
        (ch.title, ch.description, ch.owner, ch.acceptance_justification, ch.accepted_by);
    let category = ch.category.unwrap_or(before.category);
    let r = rate(
        s,
        ch.likelihood.unwrap_or(before.likelihood),
        ch.impact.unwrap_or(before.impact),
        ch.residual_likelihood.unwrap_or(before.residual_likelihood),
        ch.residual_impact.unwrap_or(before.residual_impact),
    )?;
    let treatment = ch.treatment.unwrap_or(before.treatment);
    let kind = ch.kind.unwrap_or(before.kind);
    let final_owner = owner.clone().unwrap_or(before.owner.clone());
    let status = ch.status.unwrap_or(before.status);
    rules::check_owner(status, final_owner.as_deref())?;
    // ISO 27001 6.1.3 f: an acceptance is of the residual risk as it is when given. It is
    // given again when ACCEPT is chosen or any acceptance detail is sent; otherwise the
    // accepted score stays, and a higher residual score later lapses the acceptance.
    let accepting = treatment == Some(RiskTreatment::Accept);
    let newly_accepted = accepting
        && (before.treatment != Some(RiskTreatment::Accept)
            || matches!(accepted_by, Some(Some(_)))
            || matches!(justification, Some(Some(_)))
            || matches!(ch.acceptance_expires_on, Some(Some(_))));
    let accepted_score = match (accepting, newly_accepted) {
        (false, _) => None,
        (true, true) => Some(r.effective),
        (true, false) => before.accepted_score.or(Some(r.effective)),
    };
    let on_behalf_of = match (&accepted_by, accepting) {
        (Some(Some(by)), true) => {
            rules::check_accepted_by(by, final_owner.as_deref(), w.actor(), may_act_for_owner(w))?
        }
        (_, true) => before.accepted_on_behalf_of.clone(),
        (_, false) => None,
    };
    // Acceptance details belong to ACCEPT: kept while it stays, cleared when it goes
    // (unless this input sets them, which the rule then refuses).
    let (justification, accepted_by, expires_on) = if treatment == Some(RiskTreatment::Accept) {
        (
            justification.unwrap_or(before.acceptance_justification.clone()),
            accepted_by.unwrap_or(before.accepted_by.clone()),
            ch.acceptance_expires_on.unwrap_or(before.acceptance_expires_on),
        )
    } else {
        (justification.flatten(), accepted_by.flatten(), ch.acceptance_expires_on.flatten())
    };
    rules::check_acceptance(
        treatment,
        exceeds(s, kind, category.domain(), r.effective),
        &Acceptance {
            justification: justification.as_deref(),
            accepted_by: accepted_by.as_deref(),
            expires_on,
            accepted_score,
        },
    )?;
    if let Some(Some(sid)) = ch.scope_id {
        expect_scope(w, sid, "scopeId").await?;
    }
    if let Some(Some(aid)) = ch.ai_system_id {
        expect_ai_system(w, aid, "aiSystemId").await?;
    }

    let mut am: risk::ActiveModel = before.clone().into();
    if let Some(t) = title {
        am.title = Set(t);
    }
    if let Some(d) = description {
        am.description = Set(d);
    }
    am.category = Set(category);
    am.domain = Set(category.domain());
    am.likelihood = Set(r.likelihood);
    am.impact = Set(r.impact);
    am.residual_likelihood = Set(r.residual_likelihood);
    am.residual_impact = Set(r.residual_impact);
    am.inherent_score = Set(r.inherent);
    am.effective_score = Set(r.effective);
    am.kind = Set(kind);
    am.treatment = Set(treatment);
    am.acceptance_justification = Set(justification);
    am.accepted_by = Set(accepted_by);
    am.acceptance_expires_on = Set(expires_on);
    am.accepted_score = Set(accepted_score);
    am.accepted_on_behalf_of = Set(on_behalf_of);
    am.owner = Set(final_owner);
    am.status = Set(status);
    if let Some(d) = ch.review_date {
        am.review_date = Set(d);
    }
    if let Some(v) = ch.scope_id {
        am.scope_id = Set(v);
    }
    if let Some(v) = ch.ai_system_id {
        am.ai_system_id = Set(v);
    }
    if let Some(k) = ch.external_key {
        am.external_key = Set(k);
    }
    let after = w.update_unique(am, "a risk with that external key already exists").await?;
    w.record_update(Kind::Risk, id, &before, &after).await?;
    Ok(after)
}

/// Deletes the risk; its control links, assessment links and context-issue links go with it.
pub async fn delete_risk(gate: &Gate, actor: &Actor, id: Uuid) -> AppResult<Granted<risk::Model>> {
    let (mut w, before) = gate.write_on::<risk::Entity>(actor, id, Operation::WriteRisks).await?;
    w.delete_where::<risk_control::Entity>(Condition::all().add(risk_control::Column::RiskId.eq(id))).await?;
    w.delete_where::<impact_assessment_risk::Entity>(
        Condition::all().add(impact_assessment_risk::Column::RiskId.eq(id)),
    )
    .await?;
    // issue 14: the context issues that gave rise to it.
    w.delete_where::<crate::entity::context_issue_risk::Entity>(
        Condition::all().add(crate::entity::context_issue_risk::Column::RiskId.eq(id)),
    )
    .await?;
    // issue 15: supplier links go with the risk.
    w.delete_where::<crate::entity::supplier_risk::Entity>(
        Condition::all().add(crate::entity::supplier_risk::Column::RiskId.eq(id)),
    )
    .await?;
    w.delete::<risk::Entity>(id).await?;
    w.record_delete(Kind::Risk, id, &before).await?;
    w.commit_with(before).await
}

async fn linked_refs(w: &Writer, risk_id: Uuid) -> AppResult<Vec<String>> {
    let ids: Vec<Uuid> = w
        .find::<risk_control::Entity>()?
        .filter(risk_control::Column::RiskId.eq(risk_id))
        .select_only()
        .column(risk_control::Column::ControlId)
        .tuples()
        .await?;
    crate::store::soa::control_refs(w, ids).await
}

/// The result of a link change: the risk, the control, the settings in force.
pub struct Linked {
    pub risk: risk::Model,
    pub control: control::Model,
    pub settings: RiskSettings,
}

/// Links a risk to an SoA row of either standard (ISO 27001 6.1.3 b-d: the controls
/// that treat it). Linking twice changes nothing.
pub async fn link_control(gate: &Gate, actor: &Actor, risk_id: Uuid, control_id: Uuid) -> AppResult<Granted<Linked>> {
    let (mut w, risk) = gate.write_on::<risk::Entity>(actor, risk_id, Operation::WriteRisks).await?;
    let control = w
        .get::<control::Entity>(control_id)
        .await?
        .ok_or_else(|| AppError::bad_input("controlId", "controlId: no such control in this organization"))?;
    // ISO 27001 6.1.3 d: controls that treat risks are in the SoA: an excluded one cannot
    // treat a risk (an UNDECIDED one can; the link is a reason to include it).
    if control.decision == crate::domain::soa::ControlDecision::Excluded {
        return Err(AppError::bad_input(
            "controlId",
            format!("{} is excluded in the SoA; include it before treating risks with it", control.reference),
        ));
    }
    let before = linked_refs(&w, risk_id).await?;
    let exists = w
        .find::<risk_control::Entity>()?
        .filter(risk_control::Column::RiskId.eq(risk_id))
        .filter(risk_control::Column::ControlId.eq(control_id))
        .exists()
        .await?;
    if !exists {
        if before.len() >= MAX_CONTROLS_PER_RISK {
            return Err(AppError::bad_input(
                "controlId",
                format!("a risk is treated by at most {MAX_CONTROLS_PER_RISK} controls"),
            ));
        }
        w.insert_many(vec![risk_control::ActiveModel {
            organization_id: Set(w.org()),
            risk_id: Set(risk_id),
            control_id: Set(control_id),
            created_at: Set(now()),
        }])
        .await?;
        let after = linked_refs(&w, risk_id).await?;
        w.record_update(Kind::Risk, risk_id, &RiskLinks { controls: before }, &RiskLinks { controls: after }).await?;
    }
    let settings = settings_in_writer(&w).await?;
    w.commit_with(Linked { risk, control, settings }).await
}

/// Removes a link; unlinking what is not linked changes nothing.
pub async fn unlink_control(gate: &Gate, actor: &Actor, risk_id: Uuid, control_id: Uuid) -> AppResult<Granted<Linked>> {
    let (mut w, risk) = gate.write_on::<risk::Entity>(actor, risk_id, Operation::WriteRisks).await?;
    let control = w
        .get::<control::Entity>(control_id)
        .await?
        .ok_or_else(|| AppError::bad_input("controlId", "controlId: no such control in this organization"))?;
    let before = linked_refs(&w, risk_id).await?;
    let removed = w
        .delete_where::<risk_control::Entity>(
            Condition::all()
                .add(risk_control::Column::RiskId.eq(risk_id))
                .add(risk_control::Column::ControlId.eq(control_id)),
        )
        .await?;
    if removed > 0 {
        let after = linked_refs(&w, risk_id).await?;
        w.record_update(Kind::Risk, risk_id, &RiskLinks { controls: before }, &RiskLinks { controls: after }).await?;
    }
    let settings = settings_in_writer(&w).await?;
    w.commit_with(Linked { risk, control, settings }).await
}

#[derive(Debug, Default, Clone)]
pub struct RiskFilter {
    pub domain: Option<RiskDomain>,
    pub kind: Option<RiskKind>,
    pub category: Option<RiskCategory>,
    /// Residual (effective) level under the current thresholds.
    pub level: Option<RiskLevel>,
    pub inherent_level: Option<RiskLevel>,
    pub treatment: Option<RiskTreatment>,
    pub status: Option<RiskStatus>,
    pub exceeds_appetite: Option<bool>,
    pub appetite_breach: Option<bool>,
    pub review_overdue: Option<bool>,
    pub owner: Option<String>,
    /// `Some(None)`: no AI system / no scope.
    pub ai_system_id: Option<Option<Uuid>>,
    pub scope_id: Option<Option<Uuid>>,
    pub search: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskOrder {
    /// The effective (residual) score.
    Score,
    CreatedAt,
    Title,
    ReviewDate,
}

/// A threat whose effective score is above the appetite of its domain, per the settings
/// in force (opportunities never exceed it).
pub fn exceeds_condition(s: &RiskSettings) -> Condition {
    Condition::all().add(risk::Column::Kind.eq(RiskKind::Threat)).add(score_above_appetite(s))
}

fn score_above_appetite(s: &RiskSettings) -> Condition {
    let mut any = Condition::any();
    for d in RiskDomain::ALL {
        any = any.add(
            Condition::all()
                .add(risk::Column::Domain.eq(*d))
                .add(risk::Column::EffectiveScore.gt(s.appetite.for_domain(*d))),
        );
    }
    any
}

/// `appetiteBreach`: exceeds the appetite, not closed, and not validly accepted on `today`
/// (what the dashboard counts).
pub fn breach_condition(s: &RiskSettings, today: NaiveDate) -> Condition {
    use risk::Column as C;
    Condition::all()
        .add(exceeds_condition(s))
        .add(C::Status.ne(RiskStatus::Closed))
        .add(validly_accepted_condition(today).not())
}

/// ACCEPT with every detail, not expired on `today`, and not lapsed (the effective score
/// at most the accepted one): [`rules::appetite_breach`] in SQL. NULL-safe: every
/// nullable column is tested for presence first.
pub fn validly_accepted_condition(today: NaiveDate) -> Condition {
    use risk::Column as C;
    use sea_orm::sea_query::{Expr, ExprTrait};
    Condition::all()
        .add(C::Treatment.is_not_null())
        .add(C::Treatment.eq(RiskTreatment::Accept))
        .add(C::AcceptanceJustification.is_not_null())
        .add(C::AcceptedBy.is_not_null())
        .add(C::AcceptanceExpiresOn.is_not_null())
        .add(C::AcceptanceExpiresOn.gte(today))
        .add(C::AcceptedScore.is_not_null())
        .add(Expr::col(C::EffectiveScore).lte(Expr::col(C::AcceptedScore)))
}

fn level_condition(col: risk::Column, s: &RiskSettings, level: RiskLevel) -> Condition {
    let (lo, hi) = s.thresholds.range(level, s.matrix);
    Condition::all().add(col.gte(lo)).add(col.lte(hi))
}

fn risk_filter<Q: QueryFilter>(mut q: Q, f: &RiskFilter, s: &RiskSettings, today: NaiveDate) -> Q {
    use risk::Column as C;
    if let Some(d) = f.domain {
        q = q.filter(C::Domain.eq(d));
    }
    if let Some(k) = f.kind {
        q = q.filter(C::Kind.eq(k));
    }
    if let Some(c) = f.category {
        q = q.filter(C::Category.eq(c));
    }
    if let Some(l) = f.level {
        q = q.filter(level_condition(C::EffectiveScore, s, l));
    }
    if let Some(l) = f.inherent_level {
        q = q.filter(level_condition(C::InherentScore, s, l));
    }
    if let Some(t) = f.treatment {
        q = q.filter(C::Treatment.eq(t));
    }
    if let Some(st) = f.status {
        q = q.filter(C::Status.eq(st));
    }
    if let Some(e) = f.exceeds_appetite {
        q = q.filter(if e { exceeds_condition(s) } else { exceeds_condition(s).not() });
    }
    if let Some(b) = f.appetite_breach {
        q = q.filter(if b { breach_condition(s, today) } else { breach_condition(s, today).not() });
    }
    if let Some(o) = f.review_overdue {
        let overdue = Condition::all()
            .add(C::ReviewDate.is_not_null())
            .add(C::ReviewDate.lt(today))
            .add(C::Status.ne(RiskStatus::Closed));
        q = q.filter(if o { overdue } else { overdue.not() });
    }
    if let Some(o) = f.owner.as_deref() {
        q = q.filter(C::Owner.eq(o.trim()));
    }
    match f.ai_system_id {
        Some(Some(id)) => q = q.filter(C::AiSystemId.eq(id)),
        Some(None) => q = q.filter(C::AiSystemId.is_null()),
        None => {}
    }
    match f.scope_id {
        Some(Some(id)) => q = q.filter(C::ScopeId.eq(id)),
        Some(None) => q = q.filter(C::ScopeId.is_null()),
        None => {}
    }
    if let Some(term) = f.search.as_deref().filter(|t| !t.trim().is_empty()) {
        let p = like_pattern(term);
        q = q.filter(Condition::any().add(ilike(C::Title, &p)).add(ilike(C::Description, &p)));
    }
    q
}

pub fn risk_sort(order: RiskOrder, desc: bool) -> Sort<risk::Column> {
    use risk::Column as C;
    let name = format!("risks:{order:?}:{}", if desc { "DESC" } else { "ASC" });
    match order {
        RiskOrder::Score => Sort::by(&name, C::EffectiveScore, false, C::Id, desc),
        RiskOrder::CreatedAt => Sort::by(&name, C::CreatedAt, false, C::Id, desc),
        RiskOrder::Title => Sort::by(&name, C::Title, false, C::Id, desc),
        RiskOrder::ReviewDate => Sort::by(&name, C::ReviewDate, true, C::Id, desc),
    }
}

fn risk_sort_key(order: RiskOrder, m: &risk::Model) -> SortValue {
    match order {
        RiskOrder::Score => SortValue::Int(m.effective_score.into()),
        RiskOrder::CreatedAt => SortValue::Time(m.created_at),
        RiskOrder::Title => SortValue::Text(m.title.clone()),
        RiskOrder::ReviewDate => SortValue::from(m.review_date),
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn list_risks(
    r: &Reader,
    settings: &RiskSettings,
    filter: &RiskFilter,
    order: RiskOrder,
    desc: bool,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<risk::Model>> {
    crate::domain::check_search(filter.search.as_deref())?;
    let q = risk_filter(r.find::<risk::Entity>()?, filter, settings, today());
    let sort = risk_sort(order, desc);
    q.page(&sort, args, want_total, |m| risk_sort_key(order, m), |m| m.id).await
}

/// A risk's place in the heat map and register, as read now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    pub inherent_level: RiskLevel,
    pub residual_level: RiskLevel,
    pub exceeds_appetite: bool,
    pub acceptance_expired: bool,
    /// The residual score rose above the accepted one.
    pub acceptance_lapsed: bool,
    pub appetite_breach: bool,
    pub review_overdue: bool,
}

/// Evaluates a stored risk against the settings in force and `today`.
pub fn evaluate(m: &risk::Model, s: &RiskSettings, today: NaiveDate) -> Evaluation {
    let exceeds = exceeds(s, m.kind, m.domain, m.effective_score);
    let acceptance = Acceptance {
        justification: m.acceptance_justification.as_deref(),
        accepted_by: m.accepted_by.as_deref(),
        expires_on: m.acceptance_expires_on,
        accepted_score: m.accepted_score,
    };
    Evaluation {
        inherent_level: s.level(m.inherent_score),
        residual_level: s.level(m.effective_score),
        exceeds_appetite: exceeds,
        acceptance_expired: rules::acceptance_expired(m.acceptance_expires_on, today),
        acceptance_lapsed: rules::acceptance_lapsed(m.treatment, m.accepted_score, m.effective_score).is_some(),
        appetite_breach: rules::appetite_breach(
            m.kind,
            exceeds,
            m.status,
            m.treatment,
            &acceptance,
            m.effective_score,
            today,
        ),
        review_overdue: rules::review_overdue(m.review_date, m.status, today),
    }
}

/// Risk ids given in input must all name risks of the writer's organization.
pub(crate) async fn expect_risks(w: &Writer, ids: &[Uuid], field: &str) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let found = w.find::<risk::Entity>()?.filter(risk::Column::Id.is_in(ids.iter().copied())).count().await?;
    if found as usize != ids.len() {
        return Err(AppError::bad_input(field, format!("{field}: no such risk in this organization")));
    }
    Ok(())
}
