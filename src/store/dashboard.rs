//! Dashboard figures: grouped SQL aggregates over one or many organizations at once
//! (portfolios batch every organization of a page into one statement per figure).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, Condition, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::domain::audit::AuditStatus;
use crate::domain::dashboard::aging_cutoffs;
use crate::domain::ncr::{ActionStatus, NcrStatus};
use crate::domain::refs::Standard;
use crate::domain::risk::{RiskDomain, RiskKind, RiskStatus};
use crate::domain::soa::{ControlDecision, ImplementationStatus};
use crate::entity::{ai_system, audit, control, corrective_action, nonconformity, risk};
use crate::error::AppResult;
use crate::store::tenancy::{MultiReader, TenantOwned};

/// One aggregate row of the SoA: how many controls of a group have a decision and a
/// status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoaCount {
    pub standard: Standard,
    pub group_ref: String,
    pub group_title: String,
    pub decision: ControlDecision,
    pub status: ImplementationStatus,
    pub count: u64,
}

pub async fn soa_counts(r: &MultiReader) -> AppResult<HashMap<Uuid, Vec<SoaCount>>> {
    use control::Column as C;
    let mut out: HashMap<Uuid, Vec<SoaCount>> = HashMap::new();
    if r.orgs().is_empty() {
        return Ok(out);
    }
    let rows: Vec<(Uuid, Standard, String, String, ControlDecision, ImplementationStatus, i64)> = r
        .find::<control::Entity>()?
        .select_only()
        .column(C::OrganizationId)
        .column(C::Standard)
        .column(C::GroupRef)
        .column(C::GroupTitle)
        .column(C::Decision)
        .column(C::Status)
        .column_as(C::Id.count(), "n")
        .group_by(C::OrganizationId)
        .group_by(C::Standard)
        .group_by(C::GroupRef)
        .group_by(C::GroupTitle)
        .group_by(C::Decision)
        .group_by(C::Status)
        .tuples()
        .await?;
    for (org, standard, group_ref, group_title, decision, status, n) in rows {
        out.entry(org).or_default().push(SoaCount {
            standard,
            group_ref,
            group_title,
            decision,
            status,
            count: n as u64,
        });
    }
    Ok(out)
}

/// Nonconformities per status.
pub async fn nonconformities_by_status(r: &MultiReader) -> AppResult<HashMap<Uuid, Vec<(NcrStatus, u64)>>> {
    use nonconformity::Column as C;
    let mut out: HashMap<Uuid, Vec<(NcrStatus, u64)>> = HashMap::new();
    if r.orgs().is_empty() {
        return Ok(out);
    }
    let rows: Vec<(Uuid, NcrStatus, i64)> = r
        .find::<nonconformity::Entity>()?
        .select_only()
        .column(C::OrganizationId)
        .column(C::Status)
        .column_as(C::Id.count(), "n")
        .group_by(C::OrganizationId)
        .group_by(C::Status)
        .tuples()
        .await?;
    for (org, status, n) in rows {
        out.entry(org).or_default().push((status, n as u64));
    }
    Ok(out)
}

/// Open (not CLOSED) nonconformities per aging bucket (0-30, 31-90, 91-180, 180+ days).
pub async fn nonconformity_aging(r: &MultiReader, now: DateTime<Utc>) -> AppResult<HashMap<Uuid, [u64; 4]>> {
    use nonconformity::Column as C;
    let mut out: HashMap<Uuid, [u64; 4]> = HashMap::new();
    if r.orgs().is_empty() {
        return Ok(out);
    }
    let [c0, c1, c2] = aging_cutoffs(now);
    let opened = || Expr::col(C::CreatedAt);
    let one_if = |cond: sea_orm::sea_query::SimpleExpr| Expr::case(cond, 1).finally(0).sum();
    let rows: Vec<(Uuid, i64, i64, i64, i64)> = r
        .find::<nonconformity::Entity>()?
        .filter(C::Status.ne(NcrStatus::Closed))
        .select_only()
        .column(C::OrganizationId)
        .expr_as(one_if(opened().gt(c0)), "b0")
        .expr_as(one_if(opened().lte(c0).and(opened().gt(c1))), "b1")
        .expr_as(one_if(opened().lte(c1).and(opened().gt(c2))), "b2")
        .expr_as(one_if(opened().lte(c2)), "b3")
        .group_by(C::OrganizationId)
        .tuples()
        .await?;
    for (org, b0, b1, b2, b3) in rows {
        out.insert(org, [b0 as u64, b1 as u64, b2 as u64, b3 as u64]);
    }
    Ok(out)
}

/// Corrective actions past their due date (strictly before `today`) and not DONE or
/// CANCELLED.
pub async fn overdue_corrective_actions(r: &MultiReader, today: NaiveDate) -> AppResult<HashMap<Uuid, u64>> {
    use corrective_action::Column as C;
    count_per_organization::<corrective_action::Entity>(
        r,
        Condition::all()
            .add(C::DueDate.lt(today))
            .add(C::Status.is_not_in([ActionStatus::Done, ActionStatus::Cancelled])),
    )
    .await
}

/// Rows of `E` matching `cond`, counted per organization (one grouped statement).
async fn count_per_organization<E>(r: &MultiReader, cond: Condition) -> AppResult<HashMap<Uuid, u64>>
where
    E: TenantOwned,
    E::Model: Sync,
{
    if r.orgs().is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, i64)> = r
        .find::<E>()?
        .filter(cond)
        .select_only()
        .column(E::org_column())
        .column_as(E::id_column().count(), "n")
        .group_by(E::org_column())
        .tuples()
        .await?;
    Ok(rows.into_iter().map(|(org, n)| (org, n as u64)).collect())
}

/// PLANNED or IN_PROGRESS audits whose planned start lies in `[today, today + days]`.
pub async fn upcoming_audits(
    r: &MultiReader,
    today: NaiveDate,
    days: i64,
) -> AppResult<HashMap<Uuid, Vec<audit::Model>>> {
    use audit::Column as C;
    let mut out: HashMap<Uuid, Vec<audit::Model>> = HashMap::new();
    if r.orgs().is_empty() {
        return Ok(out);
    }
    let until = today + chrono::Duration::days(days);
    let rows = r
        .find::<audit::Entity>()?
        .filter(C::Status.is_in([AuditStatus::Planned, AuditStatus::InProgress]))
        .filter(C::PlannedStart.gte(today))
        .filter(C::PlannedStart.lte(until))
        .order_by_asc(C::PlannedStart)
        .order_by_asc(C::Id)
        .all()
        .await?;
    for a in rows {
        out.entry(a.organization_id).or_default().push(a);
    }
    Ok(out)
}

/// Open (not CLOSED) risks of one domain and effective score, and how many of them can
/// never be an appetite breach: validly accepted on `today` (ISO 27001 6.1.3 f), or
/// opportunities (6.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskScoreCount {
    pub domain: RiskDomain,
    pub score: i32,
    pub total: u64,
    pub exempt: u64,
}

/// One grouped statement behind `risksByDomain`, `risksByLevel` and `appetiteBreaches`.
pub async fn risk_score_counts(r: &MultiReader, today: NaiveDate) -> AppResult<HashMap<Uuid, Vec<RiskScoreCount>>> {
    use risk::Column as C;
    let mut out: HashMap<Uuid, Vec<RiskScoreCount>> = HashMap::new();
    if r.orgs().is_empty() {
        return Ok(out);
    }
    let exempt = Condition::any()
        .add(C::Kind.eq(RiskKind::Opportunity))
        .add(crate::store::risk::validly_accepted_condition(today));
    let rows: Vec<(Uuid, RiskDomain, i32, i64, i64)> = r
        .find::<risk::Entity>()?
        .filter(C::Status.ne(RiskStatus::Closed))
        .select_only()
        .column(C::OrganizationId)
        .column(C::Domain)
        .column(C::EffectiveScore)
        .column_as(C::Id.count(), "total")
        .expr_as(Expr::case(exempt, 1).finally(0).sum(), "exempt")
        .group_by(C::OrganizationId)
        .group_by(C::Domain)
        .group_by(C::EffectiveScore)
        .tuples()
        .await?;
    for (org, domain, score, total, exempt) in rows {
        out.entry(org).or_default().push(RiskScoreCount { domain, score, total: total as u64, exempt: exempt as u64 });
    }
    Ok(out)
}

/// Open threats per (likelihood, impact) cell: inherent ratings, or residual ones (each
/// falling back to its inherent rating). Opportunities are not plotted on a threat map.
pub async fn risk_heat_map(r: &MultiReader, residual: bool) -> AppResult<HashMap<Uuid, Vec<(i32, i32, u64)>>> {
    use risk::Column as C;
    let mut out: HashMap<Uuid, Vec<(i32, i32, u64)>> = HashMap::new();
    if r.orgs().is_empty() {
        return Ok(out);
    }
    let (l, i): (Expr, Expr) = if residual {
        (
            Func::coalesce([Expr::col(C::ResidualLikelihood), Expr::col(C::Likelihood)]).into(),
            Func::coalesce([Expr::col(C::ResidualImpact), Expr::col(C::Impact)]).into(),
        )
    } else {
        (Expr::col(C::Likelihood), Expr::col(C::Impact))
    };
    let rows: Vec<(Uuid, i32, i32, i64)> = r
        .find::<risk::Entity>()?
        .filter(C::Status.ne(RiskStatus::Closed))
        .filter(C::Kind.eq(RiskKind::Threat))
        .select_only()
        .column(C::OrganizationId)
        .expr_as(l.clone(), "l")
        .expr_as(i.clone(), "i")
        .column_as(C::Id.count(), "n")
        .group_by(C::OrganizationId)
        .group_by(l)
        .group_by(i)
        .tuples()
        .await?;
    for (org, l, i, n) in rows {
        out.entry(org).or_default().push((l, i, n as u64));
    }
    Ok(out)
}

/// AI systems in VALIDATION or DEPLOYED with no APPROVED impact assessment (ISO 42001
/// 6.1.4, 8.4).
pub async fn ai_systems_without_assessment(r: &MultiReader) -> AppResult<HashMap<Uuid, u64>> {
    count_per_organization::<ai_system::Entity>(r, crate::store::ai_system::assessment_missing_condition()).await
}

/// APPROVED impact assessments due for reassessment as of `today` (ISO 42001 8.4).
pub async fn impact_assessments_due(r: &MultiReader, today: NaiveDate) -> AppResult<HashMap<Uuid, u64>> {
    count_per_organization::<crate::entity::impact_assessment::Entity>(
        r,
        crate::store::impact::reassessment_due_condition(today),
    )
    .await
}

// issue 13

/// Documents due for review as of `today` (7.5.2: `nextReviewOn` strictly before today,
/// not RETIRED), counted per organization.
pub async fn documents_due_for_review(r: &MultiReader, today: NaiveDate) -> AppResult<HashMap<Uuid, u64>> {
    count_per_organization::<crate::entity::document::Entity>(
        r,
        crate::store::document::review_overdue_condition(today),
    )
    .await
}
