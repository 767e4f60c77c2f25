//! AI system impact assessments (ISO 42001 6.1.4, 8.4; A.5.2-A.5.5) and their workflow
//! (`domain::impact`).

use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, Condition, QueryFilter, QueryOrder};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::impact::{
    self as rules, DEFAULT_REVIEW_INTERVAL_MONTHS, ImpactArea, ImpactAssessmentStatus, MAX_IMPACTS, Right,
    check_editable, check_impact, check_review_interval, check_submittable,
};
use crate::domain::risk::RiskSettings;
use crate::domain::{self, MAX_TEXT, MAX_TITLE};
use crate::entity::{ImpactEntry, ai_system, impact_assessment, impact_assessment_risk};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::ai_system::expect_ai_system;
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::risk::expect_risks;
use crate::store::tenancy::{Actor, Gate, Granted, Reader, Writer, now};

/// One impact as given by a client.
#[derive(Debug, Clone)]
pub struct ImpactIn {
    pub area: ImpactArea,
    pub description: String,
    pub likelihood: i32,
    pub severity: i32,
    pub mitigation: Option<String>,
}

fn impacts(list: &[ImpactIn], s: &RiskSettings) -> AppResult<Vec<ImpactEntry>> {
    if list.len() > MAX_IMPACTS {
        return Err(AppError::bad_input("impacts", format!("at most {MAX_IMPACTS} impacts")));
    }
    list.iter()
        .enumerate()
        .map(|(i, x)| {
            let v =
                check_impact(i, x.area, &x.description, x.likelihood, x.severity, x.mitigation.as_deref(), s.matrix)?;
            Ok(ImpactEntry {
                area: v.area,
                description: v.description,
                likelihood: v.likelihood,
                severity: v.severity,
                mitigation: v.mitigation,
            })
        })
        .collect()
}

/// Risks one assessment may inform (`ImpactAssessment.risks` lists them all).
pub const MAX_LINKED_RISKS: usize = 50;

fn dedup(ids: &[Uuid]) -> AppResult<Vec<Uuid>> {
    let mut v = ids.to_vec();
    v.sort();
    v.dedup();
    if v.len() > MAX_LINKED_RISKS {
        return Err(AppError::bad_input("riskIds", format!("at most {MAX_LINKED_RISKS} risks")));
    }
    Ok(v)
}

/// What the audit trail records of an assessment: the row plus its linked risks.
#[derive(Serialize)]
struct Snapshot<'a> {
    #[serde(flatten)]
    row: &'a impact_assessment::Model,
    risks: Vec<Uuid>,
}

async fn linked_risk_ids(w: &Writer, id: Uuid) -> AppResult<Vec<Uuid>> {
    let rows = w
        .find::<impact_assessment_risk::Entity>()?
        .filter(impact_assessment_risk::Column::ImpactAssessmentId.eq(id))
        .order_by_asc(impact_assessment_risk::Column::RiskId)
        .all()
        .await?;
    Ok(rows.into_iter().map(|r| r.risk_id).collect())
}

async fn set_links(w: &Writer, id: Uuid, risk_ids: &[Uuid]) -> AppResult<()> {
    w.delete_where::<impact_assessment_risk::Entity>(
        Condition::all().add(impact_assessment_risk::Column::ImpactAssessmentId.eq(id)),
    )
    .await?;
    let rows = risk_ids
        .iter()
        .map(|r| impact_assessment_risk::ActiveModel {
            organization_id: Set(w.org()),
            impact_assessment_id: Set(id),
            risk_id: Set(*r),
        })
        .collect();
    w.insert_many(rows).await
}

pub struct NewAssessment<'a> {
    pub ai_system_id: Uuid,
    pub title: &'a str,
    pub assessed_individuals: Option<&'a str>,
    pub assessed_groups: Option<&'a str>,
    pub assessed_societies: Option<&'a str>,
    pub impacts: &'a [ImpactIn],
    pub risk_ids: &'a [Uuid],
    /// Default [`DEFAULT_REVIEW_INTERVAL_MONTHS`].
    pub review_interval_months: Option<i32>,
}

/// A new assessment starts as DRAFT.
pub async fn create_assessment(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    n: NewAssessment<'_>,
) -> AppResult<Granted<(impact_assessment::Model, RiskSettings)>> {
    let title = domain::required_text("title", n.title, MAX_TITLE)?;
    let individuals = domain::optional_text("assessedIndividuals", n.assessed_individuals, MAX_TEXT)?;
    let groups = domain::optional_text("assessedGroups", n.assessed_groups, MAX_TEXT)?;
    let societies = domain::optional_text("assessedSocieties", n.assessed_societies, MAX_TEXT)?;
    let risk_ids = dedup(n.risk_ids)?;
    let interval = check_review_interval(n.review_interval_months.unwrap_or(DEFAULT_REVIEW_INTERVAL_MONTHS))?;
    let mut w = gate.write(actor, org, Operation::WriteImpactAssessments).await?;
    expect_ai_system(&w, n.ai_system_id, "aiSystemId").await?;
    let s = crate::store::risk::settings_in_writer(&w).await?;
    let impacts = impacts(n.impacts, &s)?;
    expect_risks(&w, &risk_ids, "riskIds").await?;
    let at = now();
    let am = impact_assessment::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: Set(org),
        ai_system_id: Set(n.ai_system_id),
        title: Set(title),
        assessed_individuals: Set(individuals),
        assessed_groups: Set(groups),
        assessed_societies: Set(societies),
        impacts: Set(impacts),
        status: Set(ImpactAssessmentStatus::Draft),
        approved_by: Set(None),
        approved_at: Set(None),
        review_interval_months: Set(interval),
        next_review_on: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert(am, "that name or key is already taken in this organization").await?;
    set_links(&w, m.id, &risk_ids).await?;
    w.record_create(Kind::ImpactAssessment, m.id, &Snapshot { row: &m, risks: risk_ids }).await?;
    w.commit_with((m, s)).await
}

/// `None`: unchanged; `Some(None)`: cleared.
#[derive(Default)]
pub struct AssessmentChanges {
    pub expected_version: Option<i32>,
    pub title: Option<String>,
    pub assessed_individuals: Option<Option<String>>,
    pub assessed_groups: Option<Option<String>>,
    pub assessed_societies: Option<Option<String>>,
    /// Replaces the list.
    pub impacts: Option<Vec<ImpactIn>>,
    /// Replaces the linked risks.
    pub risk_ids: Option<Vec<Uuid>>,
    pub review_interval_months: Option<i32>,
    /// A move of the workflow.
    pub status: Option<ImpactAssessmentStatus>,
    pub note: Option<String>,
}

impl AssessmentChanges {
    /// The first content field this change touches (for the read-only rule).
    fn first_content_field(&self) -> Option<&'static str> {
        [
            (self.title.is_some(), "title"),
            (self.assessed_individuals.is_some(), "assessedIndividuals"),
            (self.assessed_groups.is_some(), "assessedGroups"),
            (self.assessed_societies.is_some(), "assessedSocieties"),
            (self.impacts.is_some(), "impacts"),
            (self.risk_ids.is_some(), "riskIds"),
            (self.review_interval_months.is_some(), "reviewIntervalMonths"),
        ]
        .into_iter()
        .find(|(given, _)| *given)
        .map(|(_, f)| f)
    }
}

/// Content edits and workflow moves in one transaction. The move is checked against the
/// caller's rights (approving and reopening need `ApproveImpactAssessment`); content of
/// an APPROVED assessment can only change together with reopening it.
pub async fn update_assessment(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    ch: AssessmentChanges,
) -> AppResult<Granted<(impact_assessment::Model, RiskSettings)>> {
    let opt = |field: &str, v: &Option<Option<String>>| {
        v.as_ref().map(|d| domain::optional_text(field, d.as_deref(), MAX_TEXT)).transpose()
    };
    let title = ch.title.as_deref().map(|t| domain::required_text("title", t, MAX_TITLE)).transpose()?;
    let individuals = opt("assessedIndividuals", &ch.assessed_individuals)?;
    let groups = opt("assessedGroups", &ch.assessed_groups)?;
    let societies = opt("assessedSocieties", &ch.assessed_societies)?;
    let note = domain::optional_text("note", ch.note.as_deref(), MAX_TEXT)?;
    let risk_ids = ch.risk_ids.as_deref().map(dedup).transpose()?;
    let interval = ch.review_interval_months.map(check_review_interval).transpose()?;

    let (mut w, before) =
        gate.write_on::<impact_assessment::Entity>(actor, id, Operation::WriteImpactAssessments).await?;
    crate::store::org::check_version(ch.expected_version, before.version)?;
    let from = before.status;
    let to = ch.status.filter(|s| *s != from);
    let needs = to.map(|to| rules::transition(from, to)).transpose()?;
    if needs == Some(Right::Approve) && !w.access().allows(Operation::ApproveImpactAssessment) {
        return Err(AppError::Forbidden(
            "approving or reopening an impact assessment needs the OWNER or MANAGER role".into(),
        ));
    }
    let status_after = to.unwrap_or(from);
    // ISO 42001 6.1.4: the approved result stays as approved until reopened.
    if let Some(field) = ch.first_content_field() {
        check_editable(
            if to == Some(ImpactAssessmentStatus::Draft) { ImpactAssessmentStatus::Draft } else { from },
            field,
        )?;
    }
    let s = crate::store::risk::settings_in_writer(&w).await?;
    let new_impacts = ch.impacts.as_deref().map(|l| impacts(l, &s)).transpose()?;
    if let Some(ids) = &risk_ids {
        expect_risks(&w, ids, "riskIds").await?;
    }
    let impact_count = new_impacts.as_ref().map_or(before.impacts.len(), Vec::len);
    if to.is_some() {
        check_submittable(status_after, impact_count)?;
    }

    let links_before = linked_risk_ids(&w, id).await?;
    let mut am: impact_assessment::ActiveModel = before.clone().into();
    if let Some(t) = title {
        am.title = Set(t);
    }
    if let Some(v) = individuals {
        am.assessed_individuals = Set(v);
    }
    if let Some(v) = groups {
        am.assessed_groups = Set(v);
    }
    if let Some(v) = societies {
        am.assessed_societies = Set(v);
    }
    if let Some(v) = new_impacts {
        am.impacts = Set(v);
    }
    if let Some(v) = interval {
        am.review_interval_months = Set(v);
    }
    if let Some(to) = to {
        am.status = Set(to);
        match to {
            ImpactAssessmentStatus::Approved => {
                let at = now();
                am.approved_by = Set(Some(w.actor().to_string()));
                am.approved_at = Set(Some(at));
                // ISO 42001 8.4: the next planned review, from the approval date.
                let months = interval.unwrap_or(before.review_interval_months);
                am.next_review_on = Set(rules::next_review_on(at.date_naive(), months));
            }
            _ => {
                am.approved_by = Set(None);
                am.approved_at = Set(None);
                am.next_review_on = Set(None);
            }
        }
    }
    let after = w.update(am).await?;
    let links_after = match &risk_ids {
        Some(ids) => {
            set_links(&w, id, ids).await?;
            ids.clone()
        }
        None => links_before.clone(),
    };
    // Content changes as an UPDATE row, the move as a TRANSITION row.
    let mut content_after = after.clone();
    content_after.status = before.status;
    content_after.approved_by = before.approved_by.clone();
    content_after.approved_at = before.approved_at;
    content_after.next_review_on = before.next_review_on;
    w.record_update(
        Kind::ImpactAssessment,
        id,
        &Snapshot { row: &before, risks: links_before },
        &Snapshot { row: &content_after, risks: links_after },
    )
    .await?;
    if let Some(to) = to {
        w.record_transition(Kind::ImpactAssessment, id, from.as_str(), to.as_str(), note.as_deref()).await?;
    }
    w.commit_with((after, s)).await
}

#[derive(Debug, Default, Clone)]
pub struct AssessmentFilter {
    pub ai_system_id: Option<Uuid>,
    pub status: Option<ImpactAssessmentStatus>,
    /// Due for reassessment (or not) as of `today`.
    pub reassessment_due: Option<bool>,
}

pub async fn list_assessments(
    r: &Reader,
    f: &AssessmentFilter,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<impact_assessment::Model>> {
    use impact_assessment::Column as C;
    let mut q = r.find::<impact_assessment::Entity>()?;
    if let Some(id) = f.ai_system_id {
        q = q.filter(C::AiSystemId.eq(id));
    }
    if let Some(s) = f.status {
        q = q.filter(C::Status.eq(s));
    }
    if let Some(due) = f.reassessment_due {
        let cond = reassessment_due_condition(now().date_naive());
        q = q.filter(if due { cond } else { cond.not() });
    }
    let sort = Sort::by("impactAssessments:CREATED_AT", C::CreatedAt, false, C::Id, false);
    q.page(&sort, args, want_total, |m| SortValue::Time(m.created_at), |m| m.id).await
}

/// ISO 42001 8.4, 6.1.4: an APPROVED assessment whose next review date lies strictly before
/// `today`, or whose AI system's purpose, data categories or lifecycle stage changed after
/// the approval (a correlated `EXISTS`, so lists and dashboard counts agree; same rule as
/// `domain::impact::reassessment_due`).
pub fn reassessment_due_condition(today: chrono::NaiveDate) -> Condition {
    use ai_system::Column as S;
    use impact_assessment::Column as IA;
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let changed = Query::select()
        .expr(Expr::val(1))
        .from(ai_system::Entity)
        .and_where(
            Expr::col((ai_system::Entity, S::OrganizationId)).equals((impact_assessment::Entity, IA::OrganizationId)),
        )
        .and_where(Expr::col((ai_system::Entity, S::Id)).equals((impact_assessment::Entity, IA::AiSystemId)))
        .and_where(
            Expr::col((ai_system::Entity, S::AssessmentBasisChangedAt))
                .gt(Expr::col((impact_assessment::Entity, IA::ApprovedAt))),
        )
        .to_owned();
    Condition::all()
        .add(IA::Status.eq(ImpactAssessmentStatus::Approved))
        // NULL-safe, so that the negation (not due) keeps assessments without a review date.
        .add(
            Condition::any()
                .add(Condition::all().add(IA::NextReviewOn.is_not_null()).add(IA::NextReviewOn.lt(today)))
                .add(Expr::exists(changed)),
        )
}
