//! Tasks: the to-do items that run the management system, on any subject, with
//! recurrence; lists per organization and across the caller's organizations.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Result};
use std::sync::Arc;
use uuid::Uuid;

use crate::auth::{Access, Operation};
use crate::domain::task as rules;
use crate::entity::task;
use crate::error::AppError;
use crate::graphql::connection::wants_total;
use crate::graphql::context::{ContextExt, none_if_missing};
use crate::graphql::input::{change, text_change};
use crate::graphql::limits;
use crate::graphql::loaders::LoaderExt;
use crate::graphql::node::Node;
use crate::graphql::scalars::Date;
use crate::ids::{self, Kind};
use crate::store::page::PageArgs;
use crate::store::task as store;
use crate::store::tenancy::{Granted, now};
use crate::store::{Actor, Gate};

/// OPEN until done or cancelled; DONE and CANCELLED are final.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::task::TaskStatus")]
pub enum TaskStatus {
    /// To do.
    Open,
    /// Done (`completeTask`).
    Done,
    /// Dropped (`updateTask`).
    Cancelled,
}

/// How often a task comes back once completed: the next one is due one period after this
/// one's due day (month steps fall back to the month's last day).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::task::Recurrence")]
pub enum Recurrence {
    /// Once.
    None,
    /// Every 7 days.
    Weekly,
    /// Every month.
    Monthly,
    /// Every 3 months.
    Quarterly,
    /// Every 6 months.
    SemiAnnual,
    /// Every 12 months.
    Annual,
}

fn today() -> chrono::NaiveDate {
    now().date_naive()
}

crate::entity_type! {
    /// A to-do item of the management system (ISO 27001 / 42001 8.1), about any object
    /// (a measure, an SoA row, a risk, an audit, …), optionally recurring.
    Task, task
}

crate::entity_object! {
    Task, task,
    update: WriteTasks,
    delete: none,
    {
        /// What is to be done.
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// Details.
        async fn description(&self) -> Option<&str> {
            self.model.description.as_deref()
        }
        /// Who does it (a token subject or a name).
        async fn assignee(&self) -> Option<&str> {
            self.model.assignee.as_deref()
        }
        /// When it is due.
        async fn due_on(&self) -> Option<Date> {
            self.model.due_on.map(Date)
        }
        /// OPEN, DONE or CANCELLED.
        async fn status(&self) -> TaskStatus {
            self.model.status.into()
        }
        /// How often it comes back once completed.
        async fn recurrence(&self) -> Recurrence {
            self.model.recurrence.into()
        }
        /// The object the task is about (`null` when none, or when the caller may not read
        /// it). One lookup per task: ask for `subjectId` in long lists.
        async fn subject(&self, ctx: &Context<'_>) -> Result<Option<Node>> {
            let Some((kind, id)) = self.subject_ref() else { return Ok(None) };
            Ok(none_if_missing(crate::graphql::node::resolve(ctx, kind, id).await)?)
        }
        /// The subject's global ID, if any.
        async fn subject_id(&self) -> Option<ID> {
            self.subject_ref().map(|(k, id)| ID(ids::encode(k, id)))
        }
        /// The subject's type name (`Measure`, `Control`, `Risk`, …), if any.
        async fn subject_type(&self) -> Option<&str> {
            self.model.subject_type.as_deref()
        }
        /// The programme phase the task belongs to, if any.
        async fn phase_id(&self) -> Option<ID> {
            self.model.phase_id.map(|id| ID(ids::encode(Kind::ProgrammePhase, id)))
        }
        /// The recurring task whose completion created this one.
        async fn previous_task_id(&self) -> Option<ID> {
            self.model.previous_task_id.map(|id| ID(ids::encode(Kind::Task, id)))
        }
        /// Who completed it.
        async fn completed_by(&self) -> Option<&str> {
            self.model.completed_by.as_deref()
        }
        /// When it was completed (UTC).
        async fn completed_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
            self.model.completed_at
        }
        /// OPEN and due before today (UTC).
        async fn overdue(&self) -> bool {
            rules::is_overdue(self.model.status, self.model.due_on, today())
        }
        /// OPEN and due today or within the next 7 days.
        async fn due_soon(&self) -> bool {
            rules::is_due_soon(self.model.status, self.model.due_on, today())
        }
        /// When the service published `TASK_DUE` for this task (once per due day).
        async fn due_notified_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
            self.model.due_notified_at
        }
    }
}

impl Task {
    fn subject_ref(&self) -> Option<(Kind, Uuid)> {
        let kind = Kind::from_name(self.model.subject_type.as_deref()?)?;
        Some((kind, self.model.subject_id?))
    }
}

crate::connection!(TaskConnection, TaskEdge, Task);

/// Conditions on task lists: every one given must hold.
#[derive(InputObject, Default)]
pub struct TaskFilter {
    /// Tasks at this status.
    pub status: Option<TaskStatus>,
    /// Tasks due before this day (undated tasks never match).
    pub due_before: Option<Date>,
    /// Tasks of this assignee (exact match).
    pub assignee: Option<String>,
}

fn filter(f: Option<TaskFilter>) -> store::TaskFilter {
    let f = f.unwrap_or_default();
    store::TaskFilter {
        status: f.status.map(Into::into),
        due_before: f.due_before.map(|d| d.0),
        assignee: f.assignee.filter(|a| !a.trim().is_empty()),
    }
}

/// `Organization.tasks`: by due day (undated last).
pub async fn tasks_of(
    ctx: &Context<'_>,
    org: Uuid,
    access: Access,
    f: Option<TaskFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<TaskConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let args = PageArgs::new(first, after.as_deref(), store::TASK_ORDER)?;
    let page = store::list(gate, actor, org, &filter(f), &args, wants_total(ctx)).await?;
    Ok(TaskConnection::from_page(page, |m| Task::new(m, access)))
}

/// `viewer.tasks`: every organization the caller is a member of, by due day.
pub async fn viewer_tasks(
    ctx: &Context<'_>,
    f: Option<TaskFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<TaskConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let args = PageArgs::new(first, after.as_deref(), store::TASK_ORDER)?;
    let page = store::across_memberships(gate, actor, &filter(f), &args, wants_total(ctx)).await?;
    let roles: HashMap<Uuid, Access> =
        gate.member_roles(actor).await?.into_iter().map(|(o, r)| (o, Access::Member(r))).collect();
    let admin = actor.caller.platform_admin;
    Ok(TaskConnection::from_page(page, |m| {
        let access = if admin {
            Access::PlatformAdmin
        } else {
            roles.get(&m.organization_id).copied().unwrap_or(Access::Member(crate::auth::Role::Viewer))
        };
        Task::new(m, access)
    }))
}

/// `(organization, subject)` → the tasks about it.
pub struct TasksOfSubjectLoader {
    gate: Gate,
    actor: Arc<Actor>,
}

impl Loader<(Uuid, Uuid)> for TasksOfSubjectLoader {
    type Value = Vec<task::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[(Uuid, Uuid)]) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
        let mut out: HashMap<(Uuid, Uuid), Self::Value> = HashMap::new();
        for t in store::of_subjects(&self.gate, &self.actor, keys).await? {
            if let Some(s) = t.subject_id {
                out.entry((t.organization_id, s)).or_default().push(t);
            }
        }
        Ok(out)
    }
}

/// The tasks about one object (empty without ReadTasks), at most [`limits::SUBJECT_TASKS`].
pub async fn tasks_of_subject(ctx: &Context<'_>, org: Uuid, subject: Uuid, access: Access) -> Result<Vec<Task>> {
    if !access.allows(Operation::ReadTasks) {
        return Ok(Vec::new());
    }
    let loader = ctx.loader(|gate, actor| TasksOfSubjectLoader { gate, actor })?;
    let rows = loader.load_one((org, subject)).await?.unwrap_or_default();
    Ok(limits::bounded(rows, limits::SUBJECT_TASKS).into_iter().map(|t| Task::new(t, access)).collect())
}

/// A subject ID: one of the kinds tasks may be about.
fn subject_of(id: &ID) -> Result<(Kind, Uuid), AppError> {
    match ids::decode(id) {
        Some((k, u)) if store::SUBJECT_KINDS.contains(&k) => Ok((k, u)),
        Some(_) => Err(AppError::bad_input(
            "subjectId",
            "subjectId: a task is about a measure, control, risk, audit, nonconformity, AI system, programme phase, document, objective, supplier or incident",
        )),
        None => Err(AppError::bad_input("subjectId", "subjectId is not a valid ID")),
    }
}

/// Input of `createTask`.
#[derive(InputObject)]
pub struct CreateTaskInput {
    /// The organization.
    pub organization_id: ID,
    /// Not blank; at most 300 characters.
    pub title: String,
    /// At most 20,000 characters.
    pub description: Option<String>,
    /// Who does it (at most 200 characters).
    pub assignee: Option<String>,
    /// When it is due (needed for a recurring task).
    pub due_on: Option<Date>,
    /// Default NONE.
    pub recurrence: Option<Recurrence>,
    /// What the task is about: a measure, SoA row, risk, audit, nonconformity, AI system,
    /// programme phase, document, objective, supplier or incident of the organization.
    pub subject_id: Option<ID>,
}

/// Input of `updateTask`: omitted fields stay; `null` clears a clearable one.
#[derive(InputObject)]
pub struct UpdateTaskInput {
    /// The task.
    pub id: ID,
    /// Refused (`CONFLICT`) when the task is at another version.
    pub expected_version: Option<i32>,
    /// Not blank.
    pub title: Option<String>,
    /// Blank clears.
    pub description: Option<String>,
    /// Blank clears.
    pub assignee: Option<String>,
    /// `null` clears (not for a recurring task). A new due day is announced again.
    pub due_on: MaybeUndefined<Date>,
    /// The new recurrence.
    pub recurrence: Option<Recurrence>,
    /// CANCELLED drops an OPEN task; DONE is `completeTask`'s.
    pub status: Option<TaskStatus>,
    /// `null` clears.
    pub subject_id: MaybeUndefined<ID>,
}

/// Input of `completeTask`.
#[derive(InputObject)]
pub struct CompleteTaskInput {
    /// The task.
    pub id: ID,
    /// Refused (`CONFLICT`) when the task is at another version (not checked when it is
    /// already DONE: completing twice is answered like the first time).
    pub expected_version: Option<i32>,
}

crate::mutations! {
    TaskMutation;
    /// Creates an OPEN task.
    create_task(ctx, gate, actor, input: CreateTaskInput) -> CreateTaskPayload { task: Task } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let subject = input.subject_id.as_ref().map(subject_of).transpose()?;
        store::create(gate, actor, org, store::NewTask {
            title: &input.title,
            description: input.description.as_deref(),
            assignee: input.assignee.as_deref(),
            due_on: input.due_on.map(|d| d.0),
            recurrence: input.recurrence.map(Into::into),
            subject,
        }).await?
    }
    /// Changes a task, or cancels an OPEN one.
    update_task(ctx, gate, actor, input: UpdateTaskInput) -> UpdateTaskPayload { task: Task } {
        let id = ids::expect(Kind::Task, &input.id, "id")?;
        let subject = match input.subject_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(v) => Some(Some(subject_of(&v)?)),
        };
        store::update(gate, actor, id, store::TaskChanges {
            expected_version: input.expected_version,
            title: input.title,
            description: text_change(input.description),
            assignee: text_change(input.assignee),
            due_on: change(input.due_on, |d| d.0),
            recurrence: input.recurrence.map(Into::into),
            status: input.status.map(Into::into),
            subject,
        }).await?
    }
    /// Marks a task DONE. A recurring task gets its next occurrence, once: completing it
    /// again (a retry) changes nothing and returns the same `next`.
    complete_task(ctx, gate, actor, input: CompleteTaskInput) -> CompleteTaskPayload {
        task: Task,
        /// The next occurrence of a recurring task; `null` for one that does not recur.
        next: Option<Task>,
    } => {
        let id = ids::expect(Kind::Task, &input.id, "id")?;
        let Granted { model: c, access } = store::complete(gate, actor, id, input.expected_version).await?;
        Ok(CompleteTaskPayload { task: Task::new(c.task, access), next: c.next.map(|n| Task::new(n, access)) })
    }
}
