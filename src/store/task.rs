//! Tasks: create, update, complete (with recurrence), lists per organization and across
//! the caller's organizations, and the due-day sweep that publishes `TASK_DUE`.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, Condition, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::task::{self as rules, Recurrence, TaskStatus};
use crate::domain::{self, MAX_NAME, MAX_TEXT, MAX_TITLE};
use crate::entity::{
    ai_system, audit, control, document, incident, measure, nonconformity, objective, organization, programme_phase,
    risk, supplier, task,
};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::org::check_version;
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::tenancy::{Actor, Gate, Granted, MultiReader, Writer, now};
use crate::store::trail::{Action, at_string};

/// The kinds a task may be about.
pub const SUBJECT_KINDS: &[Kind] = &[
    Kind::Measure,
    Kind::Control,
    Kind::Risk,
    Kind::Audit,
    Kind::Nonconformity,
    Kind::AiSystem,
    Kind::ProgrammePhase,
    Kind::Document,
    Kind::Objective,
    Kind::Supplier,
    Kind::Incident,
];

/// The subject must be an object of the writer's organization (another tenant's looks
/// missing).
async fn check_subject(w: &Writer, kind: Kind, id: Uuid) -> AppResult<()> {
    let found = match kind {
        Kind::Measure => w.get::<measure::Entity>(id).await?.is_some(),
        Kind::Control => w.get::<control::Entity>(id).await?.is_some(),
        Kind::Risk => w.get::<risk::Entity>(id).await?.is_some(),
        Kind::Audit => w.get::<audit::Entity>(id).await?.is_some(),
        Kind::Nonconformity => w.get::<nonconformity::Entity>(id).await?.is_some(),
        Kind::AiSystem => w.get::<ai_system::Entity>(id).await?.is_some(),
        Kind::ProgrammePhase => w.get::<programme_phase::Entity>(id).await?.is_some(),
        Kind::Document => w.get::<document::Entity>(id).await?.is_some(),
        Kind::Objective => w.get::<objective::Entity>(id).await?.is_some(),
        Kind::Supplier => w.get::<supplier::Entity>(id).await?.is_some(),
        Kind::Incident => w.get::<incident::Entity>(id).await?.is_some(),
        _ => false,
    };
    if found { Ok(()) } else { Err(AppError::bad_input("subjectId", "subjectId: no such object in this organization")) }
}

pub struct NewTask<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub assignee: Option<&'a str>,
    pub due_on: Option<NaiveDate>,
    pub recurrence: Option<Recurrence>,
    pub subject: Option<(Kind, Uuid)>,
}

/// A new OPEN task's row (validated); `phase`: the programme phase it belongs to.
pub(in crate::store) fn new_row(n: &NewTask<'_>, phase: Option<Uuid>) -> AppResult<task::ActiveModel> {
    let title = domain::required_text("title", n.title, MAX_TITLE)?;
    let description = domain::optional_text("description", n.description, MAX_TEXT)?;
    let assignee = domain::optional_text("assignee", n.assignee, MAX_NAME)?;
    let recurrence = n.recurrence.unwrap_or(Recurrence::None);
    rules::check_recurrence(recurrence, n.due_on)?;
    let at = now();
    Ok(task::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        title: Set(title),
        description: Set(description),
        assignee: Set(assignee),
        due_on: Set(n.due_on),
        status: Set(TaskStatus::Open),
        recurrence: Set(recurrence),
        subject_type: Set(n.subject.map(|(k, _)| k.name().to_string())),
        subject_id: Set(n.subject.map(|(_, id)| id)),
        phase_id: Set(phase),
        previous_task_id: Set(None),
        completed_by: Set(None),
        completed_at: Set(None),
        due_notified_at: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    })
}

pub async fn create(gate: &Gate, actor: &Actor, org: Uuid, n: NewTask<'_>) -> AppResult<Granted<task::Model>> {
    let am = new_row(&n, None)?;
    let mut w = gate.write(actor, org, Operation::WriteTasks).await?;
    if let Some((kind, id)) = n.subject {
        check_subject(&w, kind, id).await?;
    }
    let m = w.insert::<task::Entity, _>(am, "").await?;
    w.record_create(Kind::Task, m.id, &m).await?;
    w.commit_with(m).await
}

/// Changes to a task: `None` leaves a field alone; `Some(None)` clears it.
#[derive(Default)]
pub struct TaskChanges {
    pub expected_version: Option<i32>,
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub assignee: Option<Option<String>>,
    pub due_on: Option<Option<NaiveDate>>,
    pub recurrence: Option<Recurrence>,
    /// OPEN → CANCELLED (DONE goes through `completeTask`).
    pub status: Option<TaskStatus>,
    pub subject: Option<Option<(Kind, Uuid)>>,
}

pub async fn update(gate: &Gate, actor: &Actor, id: Uuid, ch: TaskChanges) -> AppResult<Granted<task::Model>> {
    let title = ch.title.map(|t| domain::required_text("title", &t, MAX_TITLE)).transpose()?;
    let description =
        ch.description.map(|d| domain::optional_text("description", d.as_deref(), MAX_TEXT)).transpose()?;
    let assignee = ch.assignee.map(|a| domain::optional_text("assignee", a.as_deref(), MAX_NAME)).transpose()?;
    if ch.status == Some(TaskStatus::Done) {
        return Err(AppError::bad_input(
            "status",
            "complete a task with completeTask (it creates the next occurrence)",
        ));
    }
    let (mut w, before) = gate.write_on::<task::Entity>(actor, id, Operation::WriteTasks).await?;
    check_version(ch.expected_version, before.version)?;
    if let Some(s) = ch.status {
        rules::check_move(before.status, s)?;
    }
    if before.status.is_final() && (title.is_some() || ch.due_on.is_some() || ch.recurrence.is_some()) {
        return Err(AppError::bad_input("id", format!("a {} task is final", before.status.as_str())));
    }
    let due_on = ch.due_on.unwrap_or(before.due_on);
    let recurrence = ch.recurrence.unwrap_or(before.recurrence);
    rules::check_recurrence(recurrence, due_on)?;
    if let Some(Some((kind, sid))) = ch.subject {
        check_subject(&w, kind, sid).await?;
    }
    let mut am: task::ActiveModel = before.clone().into();
    if let Some(t) = title {
        am.title.set_ne(t);
    }
    if let Some(d) = description {
        am.description.set_ne(d);
    }
    if let Some(a) = assignee {
        am.assignee.set_ne(a);
    }
    if due_on != before.due_on {
        am.due_on.set_ne(due_on);
        // A new due day is a new occasion to announce.
        am.due_notified_at.set_ne(None);
    }
    am.recurrence.set_ne(recurrence);
    if let Some(s) = ch.status {
        am.status.set_ne(s);
    }
    if let Some(s) = ch.subject {
        am.subject_type.set_ne(s.map(|(k, _)| k.name().to_string()));
        am.subject_id.set_ne(s.map(|(_, id)| id));
    }
    if !sea_orm::ActiveModelTrait::is_changed(&am) {
        return w.commit_with(before).await;
    }
    let after = w.update(am).await?;
    w.record_update(Kind::Task, id, &before, &after).await?;
    w.commit_with(after).await
}

/// The completed task and its next occurrence, if it recurs.
pub struct Completed {
    pub task: task::Model,
    pub next: Option<task::Model>,
}

/// Marks a task DONE; a recurring one gets its next occurrence (due one period after
/// this one's due day), once: completing a DONE task again changes nothing and returns
/// the same next occurrence. Writers of one organization are serialised (the tenant
/// lock), and `previous_task_id` is unique per organization, so two completions racing
/// still make one successor.
pub async fn complete(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
) -> AppResult<Granted<Completed>> {
    let (mut w, before) = gate.write_on::<task::Entity>(actor, id, Operation::WriteTasks).await?;
    match before.status {
        TaskStatus::Done => {
            let next = w.find::<task::Entity>()?.filter(task::Column::PreviousTaskId.eq(id)).one().await?;
            return w.commit_with(Completed { task: before, next }).await;
        }
        TaskStatus::Cancelled => return Err(AppError::bad_input("id", "a CANCELLED task cannot be completed")),
        TaskStatus::Open => {}
    }
    check_version(expected_version, before.version)?;
    let mut am: task::ActiveModel = before.clone().into();
    am.status = Set(TaskStatus::Done);
    am.completed_by = Set(Some(w.actor().to_string()));
    am.completed_at = Set(Some(now()));
    let after = w.update(am).await?;
    w.record_transition(Kind::Task, id, before.status.as_str(), after.status.as_str(), None).await?;
    let next_due = before.due_on.and_then(|d| before.recurrence.next_due(d));
    let next = match next_due {
        Some(due) => {
            let at = now();
            let am = task::ActiveModel {
                id: Set(ids::new_id()),
                organization_id: NotSet,
                title: Set(before.title.clone()),
                description: Set(before.description.clone()),
                assignee: Set(before.assignee.clone()),
                due_on: Set(Some(due)),
                status: Set(TaskStatus::Open),
                recurrence: Set(before.recurrence),
                subject_type: Set(before.subject_type.clone()),
                subject_id: Set(before.subject_id),
                phase_id: Set(before.phase_id),
                previous_task_id: Set(Some(id)),
                completed_by: Set(None),
                completed_at: Set(None),
                due_notified_at: Set(None),
                version: Set(1),
                created_at: Set(at),
                updated_at: Set(at),
            };
            let m = w.insert::<task::Entity, _>(am, "the next occurrence of that task already exists").await?;
            w.record_create(Kind::Task, m.id, &m).await?;
            Some(m)
        }
        None => None,
    };
    w.commit_with(Completed { task: after, next }).await
}

/// Conditions on task lists (every one given must hold).
#[derive(Debug, Default, Clone)]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    /// Due before this day (undated tasks never match).
    pub due_before: Option<NaiveDate>,
    pub assignee: Option<String>,
}

pub const TASK_ORDER: &str = "tasks:DUE_ON";

fn filtered<'a>(
    mut q: crate::store::tenancy::Scoped<'a, task::Entity>,
    f: &TaskFilter,
) -> crate::store::tenancy::Scoped<'a, task::Entity> {
    use task::Column as C;
    if let Some(s) = f.status {
        q = q.filter(C::Status.eq(s));
    }
    if let Some(d) = f.due_before {
        q = q.filter(C::DueOn.lt(d));
    }
    if let Some(a) = &f.assignee {
        q = q.filter(C::Assignee.eq(a.trim()));
    }
    q
}

fn sort() -> Sort<task::Column> {
    Sort::by(TASK_ORDER, task::Column::DueOn, true, task::Column::Id, false)
}

fn due_key(m: &task::Model) -> SortValue {
    m.due_on.map_or(SortValue::Null, SortValue::Date)
}

/// One organization's tasks by due day (undated last), then id.
pub async fn list(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    f: &TaskFilter,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<task::Model>> {
    let r = gate.read(actor, org, Operation::ReadTasks).await?;
    filtered(r.find::<task::Entity>()?, f).page(&sort(), args, want_total, due_key, |m| m.id).await
}

/// The tasks of every organization the caller is a member of (and may read tasks in; a
/// platform admin: every organization), by due day: the consultant's to-do list.
pub async fn across_memberships(
    gate: &Gate,
    actor: &Actor,
    f: &TaskFilter,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<task::Model>> {
    let orgs: Vec<Uuid> = if actor.caller.platform_admin {
        // A platform admin's list spans every organization (as `organizations` does).
        gate.organizations(actor).await?.find().select_only().column(organization::Column::Id).tuples().await?
    } else {
        gate.member_roles(actor).await?.into_iter().map(|(o, _)| o).collect()
    };
    let r = gate.read_many(actor, &orgs, Operation::ReadTasks).await?;
    filtered(r.find::<task::Entity>()?, f).page(&sort(), args, want_total, due_key, |m| m.id).await
}

/// Tasks about any of `subjects` (`(organization, subject id)`), by due day.
pub async fn of_subjects(gate: &Gate, actor: &Actor, keys: &[(Uuid, Uuid)]) -> AppResult<Vec<task::Model>> {
    let mut orgs: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
    orgs.sort();
    orgs.dedup();
    let r = gate.read_many(actor, &orgs, Operation::ReadTasks).await?;
    if r.is_empty() {
        return Ok(Vec::new());
    }
    r.find::<task::Entity>()?
        .filter(task::Column::SubjectId.is_in(keys.iter().map(|k| k.1)))
        .order_by_asc(task::Column::DueOn)
        .order_by_asc(task::Column::Id)
        .all()
        .await
}

/// Counts of OPEN tasks per organization: (overdue, due within [`rules::DUE_SOON_DAYS`]),
/// in SQL (one GROUP BY), for the dashboard.
pub async fn due_counts(r: &MultiReader, today: NaiveDate) -> AppResult<HashMap<Uuid, (u64, u64)>> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    use task::Column as C;
    let mut out = HashMap::new();
    if r.is_empty() {
        return Ok(out);
    }
    let horizon = today.checked_add_days(chrono::Days::new(rules::DUE_SOON_DAYS)).unwrap_or(NaiveDate::MAX);
    let due = || Expr::col(C::DueOn);
    let one_if = |cond: sea_orm::sea_query::SimpleExpr| Expr::case(cond, 1).finally(0).sum();
    let rows: Vec<(Uuid, i64, i64)> = r
        .find::<task::Entity>()?
        .filter(C::Status.eq(TaskStatus::Open))
        .filter(C::DueOn.is_not_null())
        .select_only()
        .column(C::OrganizationId)
        .expr_as(one_if(due().lt(today)), "overdue")
        .expr_as(one_if(due().gte(today).and(due().lte(horizon))), "soon")
        .group_by(C::OrganizationId)
        .tuples()
        .await?;
    for (org, overdue, soon) in rows {
        out.insert(org, (Ord::max(overdue, 0) as u64, Ord::max(soon, 0) as u64));
    }
    Ok(out)
}

/// The due-day sweep (one run of the scheduler, as `actor`, a platform admin): every OPEN
/// task whose due day has come and that was never announced is claimed with a conditional
/// UPDATE (`due_notified_at IS NULL`), and only the writer whose UPDATE changed the row
/// appends the `TASK_DUE` trail row and publishes its event (in the same transaction).
/// Any number of replicas may sweep at once: each task is announced exactly once. At most
/// `batch` tasks per run, oldest due first. Returns how many this run announced.
pub async fn announce_due(gate: &Gate, actor: &Actor, today: NaiveDate, batch: u64) -> AppResult<usize> {
    use task::Column as C;
    let due: Vec<task::Model> = {
        let orgs_reader = gate.organizations(actor).await?;
        let orgs: Vec<Uuid> = orgs_reader.find().select_only().column(organization::Column::Id).tuples().await?;
        let r = gate.read_many(actor, &orgs, Operation::ReadTasks).await?;
        if r.is_empty() {
            Vec::new()
        } else {
            r.find::<task::Entity>()?
                .filter(C::Status.eq(TaskStatus::Open))
                .filter(C::DueNotifiedAt.is_null())
                .filter(C::DueOn.lte(today))
                .order_by_asc(C::DueOn)
                .order_by_asc(C::Id)
                .limit(batch)
                .all()
                .await?
        }
    };
    actor.end_session().await;
    let mut announced = 0;
    for t in due {
        let mut w = gate.write(actor, t.organization_id, Operation::WriteTasks).await?;
        let at = now();
        let claim = task::ActiveModel { due_notified_at: Set(Some(at)), ..Default::default() };
        let cond = Condition::all()
            .add(C::Id.eq(t.id))
            .add(C::DueNotifiedAt.is_null())
            .add(C::Status.eq(TaskStatus::Open))
            .add(C::DueOn.lte(today));
        if w.claim::<task::Entity, _>(claim, cond).await? != 1 {
            // Another replica (or a change since the read) got there first.
            continue;
        }
        let fields = serde_json::json!({
            "due_notified_at": { "before": null, "after": at_string(&at) },
            "due_on": { "before": t.due_on, "after": t.due_on },
        });
        w.record(Action::TaskDue, Kind::Task, t.id, fields).await?;
        w.commit().await?;
        announced += 1;
    }
    Ok(announced)
}
