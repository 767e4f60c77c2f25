//! The management review (ISO 27001 / 42001 9.3): reviews with their inputs (one per
//! topic) and decisions, the workflow, the snapshot of the organization's figures frozen
//! when a review is held, and the dashboard's review figures.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::ncr::NcrStatus;
use crate::domain::refs::Standard;
use crate::domain::review::{
    self as rules, DecisionKind, DecisionRef, DecisionStatus, LabelCount, MAX_ATTENDEES, MAX_DECISIONS, MoveFacts,
    ReviewStatus, ReviewTopic, Snapshot, SnapshotCoverage, SnapshotDecision, SnapshotReadiness,
};
use crate::domain::soa::{ControlDecision, ImplementationStatus};
use crate::domain::{self, MAX_NAME, MAX_TEXT, MAX_TITLE};
use crate::entity::{StandardList, StringList, management_review, review_decision, review_input};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::audit::record_move;
use crate::store::org::check_version;
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::tenancy::{Actor, Gate, Granted, MultiReader, Reader, Scoped, Writer, now};

/// The standards of a review: the given ones (at least one), both when none is given.
fn standards_of(given: Option<&[Standard]>) -> AppResult<Vec<Standard>> {
    match given {
        None => Ok(Standard::ALL.to_vec()),
        Some(s) => Ok(crate::domain::objective::check_standards(s)?),
    }
}

fn attendees_of(given: &[String]) -> AppResult<Vec<String>> {
    Ok(domain::clean_list("attendees", given, MAX_ATTENDEES, MAX_NAME)?)
}

pub struct NewReview<'a> {
    pub title: &'a str,
    pub planned_on: NaiveDate,
    /// `None`: both standards (an integrated review).
    pub standards: Option<&'a [Standard]>,
    pub attendees: &'a [String],
}

/// Plans a review (status PLANNED).
pub async fn create(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    n: NewReview<'_>,
) -> AppResult<Granted<management_review::Model>> {
    let title = domain::required_text("title", n.title, MAX_TITLE)?;
    let standards = standards_of(n.standards)?;
    let attendees = attendees_of(n.attendees)?;
    let mut w = gate.write(actor, org, Operation::WriteManagementReviews).await?;
    let at = now();
    let am = management_review::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        title: Set(title),
        planned_on: Set(n.planned_on),
        held_on: Set(None),
        status: Set(ReviewStatus::Planned),
        standards: Set(StandardList(standards)),
        attendees: Set(StringList(attendees)),
        snapshot: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<management_review::Entity, _>(am, "").await?;
    w.record_create(Kind::ManagementReview, m.id, &m).await?;
    w.commit_with(m).await
}

/// Changes to a PLANNED review: `None` leaves a field alone.
#[derive(Default)]
pub struct ReviewChanges<'a> {
    pub expected_version: Option<i32>,
    pub title: Option<&'a str>,
    pub planned_on: Option<NaiveDate>,
    pub standards: Option<&'a [Standard]>,
    pub attendees: Option<&'a [String]>,
}

pub async fn update(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    ch: ReviewChanges<'_>,
) -> AppResult<Granted<management_review::Model>> {
    let title = ch.title.map(|t| domain::required_text("title", t, MAX_TITLE)).transpose()?;
    let standards = ch.standards.map(|s| standards_of(Some(s))).transpose()?;
    let attendees = ch.attendees.map(attendees_of).transpose()?;
    let (mut w, before) =
        gate.write_on::<management_review::Entity>(actor, id, Operation::WriteManagementReviews).await?;
    check_version(ch.expected_version, before.version)?;
    rules::check_review_editable(before.status)?;
    let mut am: management_review::ActiveModel = before.clone().into();
    if let Some(t) = title {
        am.title.set_ne(t);
    }
    if let Some(p) = ch.planned_on {
        am.planned_on.set_ne(p);
    }
    if let Some(s) = standards {
        am.standards.set_ne(StandardList(s));
    }
    if let Some(a) = attendees {
        am.attendees.set_ne(StringList(a));
    }
    if !sea_orm::ActiveModelTrait::is_changed(&am) {
        return w.commit_with(before).await;
    }
    let after = w.update::<management_review::Entity, _>(am).await?;
    w.record_update(Kind::ManagementReview, id, &before, &after).await?;
    w.commit_with(after).await
}

/// Records the input of one topic, or replaces its summary (one input per review and
/// topic), while the review is PLANNED. Returns the input and its review.
pub async fn record_input(
    gate: &Gate,
    actor: &Actor,
    review_id: Uuid,
    topic: ReviewTopic,
    summary: &str,
) -> AppResult<Granted<(review_input::Model, management_review::Model)>> {
    let summary = domain::required_text("summary", summary, MAX_TEXT)?;
    let (mut w, review) =
        gate.write_on::<management_review::Entity>(actor, review_id, Operation::WriteManagementReviews).await?;
    rules::check_inputs_open(review.status)?;
    let existing = w
        .find::<review_input::Entity>()?
        .filter(review_input::Column::ReviewId.eq(review_id))
        .filter(review_input::Column::Topic.eq(topic))
        .one()
        .await?;
    let input = match existing {
        Some(before) => {
            let mut am: review_input::ActiveModel = before.clone().into();
            am.summary.set_ne(summary);
            if !sea_orm::ActiveModelTrait::is_changed(&am) {
                return w.commit_with((before, review)).await;
            }
            let after = w.update::<review_input::Entity, _>(am).await?;
            w.record_update(Kind::ReviewInput, after.id, &before, &after).await?;
            after
        }
        None => {
            let at = now();
            let am = review_input::ActiveModel {
                id: Set(ids::new_id()),
                organization_id: NotSet,
                review_id: Set(review_id),
                topic: Set(topic),
                summary: Set(summary),
                version: Set(1),
                created_at: Set(at),
                updated_at: Set(at),
            };
            let m = w.insert::<review_input::Entity, _>(am, "that topic already has an input in this review").await?;
            w.record_create(Kind::ReviewInput, m.id, &m).await?;
            m
        }
    };
    w.commit_with((input, review)).await
}

/// One move of the workflow. To HELD: every topic has an input, someone attended, and
/// the organization's figures are frozen into `snapshot` (with the previous actions as
/// they stood); `held_on` defaults to today and is never in the future. To CLOSED: no
/// decision OPEN.
pub async fn transition(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    to: ReviewStatus,
    held_on: Option<NaiveDate>,
    note: Option<&str>,
    expected_version: Option<i32>,
) -> AppResult<Granted<management_review::Model>> {
    let note = domain::optional_text("note", note, MAX_TEXT)?;
    if held_on.is_some() && to != ReviewStatus::Held {
        return Err(AppError::bad_input("heldOn", "heldOn is given with the move to HELD"));
    }
    let today = now().date_naive();
    let day = rules::held_on(held_on, today)?;
    let (mut w, before) =
        gate.write_on::<management_review::Entity>(actor, id, Operation::WriteManagementReviews).await?;
    check_version(expected_version, before.version)?;
    let recorded: Vec<ReviewTopic> = w
        .find::<review_input::Entity>()?
        .filter(review_input::Column::ReviewId.eq(id))
        .select_only()
        .column(review_input::Column::Topic)
        .tuples()
        .await?;
    let open_decisions = w
        .find::<review_decision::Entity>()?
        .filter(review_decision::Column::ReviewId.eq(id))
        .filter(review_decision::Column::Status.eq(DecisionStatus::Open))
        .count()
        .await? as usize;
    let facts = MoveFacts { recorded, attendees: before.attendees.0.len(), open_decisions };
    rules::check_transition(before.status, to, &facts)?;
    let mut am: management_review::ActiveModel = before.clone().into();
    am.status = Set(to);
    if to == ReviewStatus::Held {
        let previous = previous_actions_in(&w, id).await?;
        let snapshot = take_snapshot(gate, actor, w.org(), day, &previous, today).await?;
        am.held_on = Set(Some(day));
        am.snapshot = Set(Some(serde_json::to_value(&snapshot).map_err(AppError::internal)?));
    }
    let after = w.update::<management_review::Entity, _>(am).await?;
    record_move(&mut w, Kind::ManagementReview, id, before.status.as_str(), to.as_str(), note.as_deref()).await?;
    w.record_update(Kind::ManagementReview, id, &before, &after).await?;
    let done = w.commit_with(after).await;
    // The snapshot's figures were read in a session of this operation: the payload reads
    // afresh, after the commit.
    actor.end_session().await;
    done
}

pub struct NewDecision<'a> {
    pub review_id: Uuid,
    pub text: &'a str,
    pub kind: DecisionKind,
    pub owner: Option<&'a str>,
    pub due_on: Option<NaiveDate>,
}

/// Records a decision of a HELD review (status OPEN). Returns it with its review.
pub async fn add_decision(
    gate: &Gate,
    actor: &Actor,
    n: NewDecision<'_>,
) -> AppResult<Granted<(review_decision::Model, management_review::Model)>> {
    let text = domain::required_text("text", n.text, MAX_TEXT)?;
    let owner = domain::optional_text("owner", n.owner, MAX_NAME)?;
    let (mut w, review) =
        gate.write_on::<management_review::Entity>(actor, n.review_id, Operation::WriteManagementReviews).await?;
    rules::check_decisions_open(review.status, "reviewId")?;
    let count =
        w.find::<review_decision::Entity>()?.filter(review_decision::Column::ReviewId.eq(review.id)).count().await?;
    if count as usize >= MAX_DECISIONS {
        return Err(AppError::bad_input("reviewId", format!("a review takes at most {MAX_DECISIONS} decisions")));
    }
    let at = now();
    let am = review_decision::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        review_id: Set(review.id),
        text: Set(text),
        kind: Set(n.kind),
        owner: Set(owner),
        due_on: Set(n.due_on),
        status: Set(DecisionStatus::Open),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<review_decision::Entity, _>(am, "").await?;
    w.record_create(Kind::ReviewDecision, m.id, &m).await?;
    w.commit_with((m, review)).await
}

/// Changes to a decision: `None` leaves a field alone; `Some(None)` clears it.
#[derive(Default)]
pub struct DecisionChanges<'a> {
    pub expected_version: Option<i32>,
    pub text: Option<&'a str>,
    pub kind: Option<DecisionKind>,
    pub owner: Option<Option<&'a str>>,
    pub due_on: Option<Option<NaiveDate>>,
    pub status: Option<DecisionStatus>,
}

/// Updates a decision of a HELD review (a CLOSED review is read-only).
pub async fn update_decision(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    ch: DecisionChanges<'_>,
) -> AppResult<Granted<review_decision::Model>> {
    let text = ch.text.map(|t| domain::required_text("text", t, MAX_TEXT)).transpose()?;
    let owner = ch.owner.map(|o| domain::optional_text("owner", o, MAX_NAME)).transpose()?;
    let (mut w, before) =
        gate.write_on::<review_decision::Entity>(actor, id, Operation::WriteManagementReviews).await?;
    check_version(ch.expected_version, before.version)?;
    let review = w
        .get::<management_review::Entity>(before.review_id)
        .await?
        .ok_or_else(|| AppError::internal("a decision's review vanished"))?;
    rules::check_decisions_open(review.status, "id")?;
    let mut am: review_decision::ActiveModel = before.clone().into();
    if let Some(t) = text {
        am.text.set_ne(t);
    }
    if let Some(k) = ch.kind {
        am.kind.set_ne(k);
    }
    if let Some(o) = owner {
        am.owner.set_ne(o);
    }
    if let Some(d) = ch.due_on {
        am.due_on.set_ne(d);
    }
    if let Some(s) = ch.status {
        am.status.set_ne(s);
    }
    if !sea_orm::ActiveModelTrait::is_changed(&am) {
        return w.commit_with(before).await;
    }
    let after = w.update::<review_decision::Entity, _>(am).await?;
    w.record_update(Kind::ReviewDecision, id, &before, &after).await?;
    w.commit_with(after).await
}

// ---------------------------------------------------------------------------------------
// Reading

#[derive(Default)]
pub struct ReviewFilter {
    pub statuses: Vec<ReviewStatus>,
}

pub const REVIEW_ORDER: &str = "managementReviews:PLANNED_ON";

/// Reviews by planned day (oldest first), then id.
pub async fn list(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    f: &ReviewFilter,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<management_review::Model>> {
    use management_review::Column as C;
    let r = gate.read(actor, org, Operation::ReadManagementReviews).await?;
    let mut q = r.find::<management_review::Entity>()?;
    if !f.statuses.is_empty() {
        q = q.filter(C::Status.is_in(f.statuses.iter().copied()));
    }
    let sort = Sort::by(REVIEW_ORDER, C::PlannedOn, false, C::Id, false);
    q.page(&sort, args, want_total, |m| SortValue::Date(m.planned_on), |m| m.id).await
}

fn carried(review: Uuid, rows: Vec<review_decision::Model>) -> Vec<review_decision::Model> {
    let refs: Vec<DecisionRef<Uuid>> = rows
        .iter()
        .map(|d| DecisionRef { id: d.id, review: d.review_id, status: d.status, due_on: d.due_on })
        .collect();
    let keep = rules::carry_over(&review, &refs);
    let mut by_id: HashMap<Uuid, review_decision::Model> = rows.into_iter().map(|d| (d.id, d)).collect();
    keep.iter().filter_map(|k| by_id.remove(&k.id)).collect()
}

fn open_decisions_query(q: Scoped<'_, review_decision::Entity>, review: Uuid) -> Scoped<'_, review_decision::Entity> {
    q.filter(review_decision::Column::Status.eq(DecisionStatus::Open))
        .filter(review_decision::Column::ReviewId.ne(review))
        .order_by_asc(review_decision::Column::DueOn)
        .order_by_asc(review_decision::Column::Id)
}

/// The previous actions of a review, live (see [`rules::carry_over`]).
pub async fn previous_actions(r: &Reader, review: Uuid) -> AppResult<Vec<review_decision::Model>> {
    let rows = open_decisions_query(r.find::<review_decision::Entity>()?, review).all().await?;
    Ok(carried(review, rows))
}

async fn previous_actions_in(w: &Writer, review: Uuid) -> AppResult<Vec<review_decision::Model>> {
    let rows = open_decisions_query(w.find::<review_decision::Entity>()?, review).all().await?;
    Ok(carried(review, rows))
}

/// Decisions by id (the frozen previous actions of a held review).
pub async fn decisions_by_ids(r: &Reader, ids: &[Uuid]) -> AppResult<Vec<review_decision::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = r
        .find::<review_decision::Entity>()?
        .filter(review_decision::Column::Id.is_in(ids.iter().copied()))
        .all()
        .await?;
    let mut by_id: HashMap<Uuid, review_decision::Model> = rows.into_iter().map(|d| (d.id, d)).collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

// ---------------------------------------------------------------------------------------
// The snapshot

fn label_counts<L: Copy + PartialEq>(
    all: &[L],
    label: impl Fn(L) -> &'static str,
    rows: &[(L, u64)],
) -> Vec<LabelCount> {
    all.iter()
        .map(|l| LabelCount {
            label: label(*l).to_string(),
            count: rows.iter().filter(|(r, _)| r == l).map(|(_, n)| *n).sum(),
        })
        .collect()
}

/// The organization's figures now, from the dashboard's own store functions, read with
/// the caller's session while the review's write transaction holds the tenant's write
/// lock (so no other change of the organization commits in between).
async fn take_snapshot(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    held_on: NaiveDate,
    previous: &[review_decision::Model],
    today: NaiveDate,
) -> AppResult<Snapshot> {
    use crate::store::dashboard as figures;
    let r = gate.read_many(actor, &[org], Operation::ReadDashboard).await?;
    let taken_at = now();

    let readiness_counts = crate::store::soa::readiness_counts(&r).await?.remove(&org).unwrap_or_default();
    let readiness = readiness_counts
        .iter()
        .map(|(s, c)| SnapshotReadiness {
            standard: s.as_str().to_string(),
            percent: crate::domain::soa::readiness_percent(c),
        })
        .collect();

    let soa = figures::soa_counts(&r).await?.remove(&org).unwrap_or_default();
    let soa_coverage = Standard::ALL
        .iter()
        .map(|std| {
            let mut c = SnapshotCoverage { standard: std.as_str().to_string(), ..Default::default() };
            for row in soa.iter().filter(|row| row.standard == *std) {
                match row.decision {
                    ControlDecision::Excluded => c.excluded += row.count,
                    ControlDecision::Undecided => {
                        c.applicable += row.count;
                        c.undecided += row.count;
                    }
                    ControlDecision::Included => {
                        c.applicable += row.count;
                        match row.status {
                            ImplementationStatus::Implemented => c.implemented += row.count,
                            ImplementationStatus::Partial => c.partial += row.count,
                            ImplementationStatus::Planned => c.planned += row.count,
                            ImplementationStatus::NotStarted => c.not_started += row.count,
                        }
                    }
                }
            }
            c.percent_implemented = crate::domain::dashboard::percent(c.implemented, c.applicable);
            c
        })
        .collect();

    let settings = crate::store::risk::settings_many(&r).await?.remove(&org).unwrap_or_default();
    let scores = figures::risk_score_counts(&r, today).await?.remove(&org).unwrap_or_default();
    let risks = rules::SnapshotRisks {
        open: scores.iter().map(|s| s.total).sum(),
        appetite_breaches: scores
            .iter()
            .filter(|s| settings.exceeds_appetite(s.domain, s.score))
            .map(|s| s.total - s.exempt)
            .sum(),
        by_domain: label_counts(
            crate::domain::risk::RiskDomain::ALL,
            |d| d.as_str(),
            &scores.iter().map(|s| (s.domain, s.total)).collect::<Vec<_>>(),
        ),
    };

    let ncr = figures::nonconformities_by_status(&r).await?.remove(&org).unwrap_or_default();
    let nonconformities = rules::SnapshotNonconformities {
        open: ncr.iter().filter(|(s, _)| *s != NcrStatus::Closed).map(|(_, n)| *n).sum(),
        by_status: label_counts(NcrStatus::ALL, |s| s.as_str(), &ncr),
    };

    let open_incidents = crate::store::incident::open_counts(&r).await?.remove(&org).unwrap_or_default();
    let incidents = rules::SnapshotIncidents {
        open: open_incidents.iter().map(|(_, _, n)| *n).sum(),
        by_severity: label_counts(
            crate::domain::incident::IncidentSeverity::ALL,
            |s| s.as_str(),
            &open_incidents.iter().map(|(s, _, n)| (*s, *n)).collect::<Vec<_>>(),
        ),
    };

    let objective_rows = crate::store::objective::status_counts(&r, today).await?.remove(&org).unwrap_or_default();
    let objectives = rules::SnapshotObjectives {
        by_status: label_counts(crate::domain::objective::ObjectiveStatus::ALL, |s| s.as_str(), &objective_rows),
        off_track: objective_rows
            .iter()
            .filter(|(s, _)| *s == crate::domain::objective::ObjectiveStatus::OffTrack)
            .map(|(_, n)| *n)
            .sum(),
    };

    let corrective_actions =
        figures::overdue_corrective_actions(&r, today).await?.get(&org).copied().unwrap_or_default();
    let tasks = crate::store::task::due_counts(&r, today).await?.get(&org).map_or(0, |c| c.0);
    let review_decisions = decision_counts(&r, today).await?.get(&org).map_or(0, |c| c.1);

    Ok(Snapshot {
        schema_version: rules::SNAPSHOT_SCHEMA_VERSION,
        taken_at: taken_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        held_on: held_on.to_string(),
        readiness,
        soa_coverage,
        risks,
        nonconformities,
        incidents,
        objectives,
        overdue_actions: rules::SnapshotOverdue { corrective_actions, tasks, review_decisions },
        previous_actions: previous
            .iter()
            .map(|d| SnapshotDecision {
                id: ids::encode(Kind::ReviewDecision, d.id),
                review_id: ids::encode(Kind::ManagementReview, d.review_id),
                text: d.text.clone(),
                kind: d.kind.as_str().to_string(),
                owner: d.owner.clone(),
                due_on: d.due_on.map(|d| d.to_string()),
                status: d.status.as_str().to_string(),
            })
            .collect(),
    })
}

/// The IDs of the previous actions frozen in a snapshot, in its order.
pub fn frozen_previous_action_ids(snapshot: &serde_json::Value) -> Vec<Uuid> {
    snapshot["previousActions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["id"].as_str())
        .filter_map(|id| match ids::decode(id) {
            Some((Kind::ReviewDecision, u)) => Some(u),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Dashboard

/// (OPEN decisions, OPEN decisions past their due day) per organization: one grouped
/// statement.
pub async fn decision_counts(r: &MultiReader, today: NaiveDate) -> AppResult<HashMap<Uuid, (u64, u64)>> {
    use review_decision::Column as C;
    let mut out = HashMap::new();
    if r.is_empty() {
        return Ok(out);
    }
    let overdue = Expr::col(C::DueOn).is_not_null().and(Expr::col(C::DueOn).lt(today));
    let rows: Vec<(Uuid, i64, i64)> = r
        .find::<review_decision::Entity>()?
        .filter(C::Status.eq(DecisionStatus::Open))
        .select_only()
        .column(C::OrganizationId)
        .column_as(C::Id.count(), "n")
        .expr_as(Expr::case(overdue, 1).finally(0).sum(), "overdue")
        .group_by(C::OrganizationId)
        .tuples()
        .await?;
    for (org, n, overdue) in rows {
        out.insert(org, (n as u64, overdue as u64));
    }
    Ok(out)
}

/// The last day a review was held and the next planned one, per organization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReviewDays {
    pub last_held_on: Option<NaiveDate>,
    pub next_planned_on: Option<NaiveDate>,
}

/// One statement over the reviews' days (an organization holds a few a year).
pub async fn review_days(r: &MultiReader) -> AppResult<HashMap<Uuid, ReviewDays>> {
    use management_review::Column as C;
    let mut out: HashMap<Uuid, ReviewDays> = HashMap::new();
    if r.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(Uuid, ReviewStatus, NaiveDate, Option<NaiveDate>)> = r
        .find::<management_review::Entity>()?
        .select_only()
        .column(C::OrganizationId)
        .column(C::Status)
        .column(C::PlannedOn)
        .column(C::HeldOn)
        .tuples()
        .await?;
    for (org, status, planned, held) in rows {
        let e = out.entry(org).or_default();
        if let Some(h) = held {
            e.last_held_on = Ord::max(e.last_held_on, Some(h));
        }
        if status == ReviewStatus::Planned {
            e.next_planned_on = Some(e.next_planned_on.map_or(planned, |p| Ord::min(p, planned)));
        }
    }
    Ok(out)
}
