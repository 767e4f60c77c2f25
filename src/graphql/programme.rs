//! The implementation programme: phases with planned dates, progress from their tasks.

use async_graphql::{Context, Enum, ID, InputObject, Result};
use uuid::Uuid;

use crate::auth::{Access, Operation};
use crate::domain::programme as rules;
use crate::domain::task::TaskStatus;
use crate::entity::{programme_phase, task};
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::limits;
use crate::graphql::loaders::load_children;
use crate::graphql::scalars::Date;
use crate::graphql::task::Task;
use crate::ids::{self, Kind};
use crate::store::page::PageArgs;
use crate::store::programme as store;
use crate::store::tenancy::{Granted, now};

/// Programme templates.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::programme::ProgrammeTemplate")]
pub enum ProgrammeTemplate {
    /// The seed guide's AIMS built on an existing ISMS: seven phases (gap assessment;
    /// scope and context; risk framework; controls; documentation; operation and
    /// monitoring; internal audit and management review), 19 planned weeks within the
    /// guide's 15-21.
    IntegratedAimsOnIsms,
}

/// Where a phase stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::programme::PhaseStatus")]
pub enum PhaseStatus {
    /// Before its planned start, nothing done.
    NotStarted,
    /// Started (by date, or a task done) and not past its planned end.
    InProgress,
    /// Every task done.
    Done,
    /// Past its planned end with tasks open.
    Late,
}

crate::entity_type! {
    /// An implementation programme (ISO 27001 / 42001 6.2, 8.1): phases with planned dates
    /// and tasks.
    Programme, programme
}

crate::entity_object! {
    Programme, programme,
    /// Always false: change the programme through its phases.
    update: custom,
    /// Always false: programmes are kept as records.
    delete: false,
    {
        /// The template the programme was created from.
        async fn template(&self) -> ProgrammeTemplate {
            self.model.template.into()
        }
        /// The first phase's original start.
        async fn start_on(&self) -> Date {
            Date(self.model.start_on)
        }
        /// Weeks the template plans in all.
        async fn planned_weeks(&self) -> i32 {
            self.model.template.phases().iter().map(|p| p.planned_weeks as i32).sum()
        }
        /// The shortest and longest programme the template's guide gives, in weeks.
        async fn template_weeks_range(&self) -> Vec<i32> {
            let p = self.model.template.phases();
            vec![p.iter().map(|x| x.min_weeks as i32).sum(), p.iter().map(|x| x.max_weeks as i32).sum()]
        }
        /// Always false: programmes change through their phases (`updateProgrammePhase`).
        async fn viewer_can_update(&self) -> bool {
            false
        }
    }
    lists {
        /// The phases, in order (at most 20).
        #[list(PROGRAMME_PHASES)]
        async fn phases(&self, ctx: &Context<'_>) -> Result<Vec<ProgrammePhase>> {
            let rows = load_children::<programme_phase::Entity>(ctx, self.model.organization_id, self.model.id).await?;
            Ok(limits::bounded(rows, limits::PROGRAMME_PHASES)
                .into_iter()
                .map(|p| ProgrammePhase::new(p, self.access))
                .collect())
        }
    }
}

crate::entity_type! {
    /// One phase of an implementation programme.
    ProgrammePhase, programme_phase
}

impl ProgrammePhase {
    async fn all_tasks(&self, ctx: &Context<'_>) -> Result<Vec<task::Model>> {
        if !self.access.allows(Operation::ReadTasks) {
            return Ok(Vec::new());
        }
        load_children::<task::Entity>(ctx, self.model.organization_id, self.model.id).await
    }

    async fn counts(&self, ctx: &Context<'_>) -> Result<(u64, u64)> {
        let tasks = self.all_tasks(ctx).await?;
        let counted = tasks.iter().filter(|t| t.status != TaskStatus::Cancelled).count() as u64;
        let done = tasks.iter().filter(|t| t.status == TaskStatus::Done).count() as u64;
        Ok((done, counted))
    }
}

crate::entity_object! {
    ProgrammePhase, programme_phase,
    update: WriteProgrammes,
    /// Always false: phases are moved, not deleted.
    delete: false,
    {
        /// 1 for the first phase.
        async fn position(&self) -> i32 {
            self.model.position
        }
        /// What the phase is.
        async fn name(&self) -> &str {
            &self.model.name
        }
        /// Weeks the template planned for it.
        async fn planned_weeks(&self) -> i32 {
            self.model.planned_weeks
        }
        /// Planned first day.
        async fn planned_start(&self) -> Date {
            Date(self.model.planned_start)
        }
        /// Planned last day (never before `plannedStart`).
        async fn planned_end(&self) -> Date {
            Date(self.model.planned_end)
        }
        /// Share of its tasks done, 0..1 (cancelled ones do not count; 0 without tasks, or
        /// for callers who may not read tasks).
        async fn progress(&self, ctx: &Context<'_>) -> Result<f64> {
            let (done, counted) = self.counts(ctx).await?;
            Ok(rules::progress(done, counted))
        }
        /// From its tasks and dates (today, UTC).
        async fn status(&self, ctx: &Context<'_>) -> Result<PhaseStatus> {
            let (done, counted) = self.counts(ctx).await?;
            let m = &self.model;
            Ok(rules::phase_status(done, counted, m.planned_start, m.planned_end, now().date_naive()).into())
        }
        /// The programme's ID.
        async fn programme_id(&self) -> ID {
            ID(ids::encode(Kind::Programme, self.model.programme_id))
        }
    }
    lists {
        /// The phase's tasks by due day (at most 50); empty for callers who may not read
        /// tasks.
        #[list(SUBJECT_TASKS)]
        async fn tasks(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
            let rows = self.all_tasks(ctx).await?;
            Ok(limits::bounded(rows, limits::SUBJECT_TASKS).into_iter().map(|t| Task::new(t, self.access)).collect())
        }
    }
}

crate::connection!(ProgrammeConnection, ProgrammeEdge, Programme);

/// `Organization.programmes`: by start day.
pub async fn programmes_of(
    ctx: &Context<'_>,
    org: Uuid,
    access: Access,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ProgrammeConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let args = PageArgs::new(first, after.as_deref(), store::PROGRAMME_ORDER)?;
    let page = store::list(gate, actor, org, &args, wants_total(ctx)).await?;
    Ok(ProgrammeConnection::from_page(page, |m| Programme::new(m, access)))
}

/// Input of `createProgramme`.
#[derive(InputObject)]
pub struct CreateProgrammeInput {
    /// The organization.
    pub organization_id: ID,
    /// The first phase's first day.
    pub start_on: Date,
    /// The template whose phases and tasks are created.
    pub template: ProgrammeTemplate,
}

/// Input of `updateProgrammePhase`.
#[derive(InputObject)]
pub struct UpdateProgrammePhaseInput {
    /// The phase.
    pub id: ID,
    /// Refused (`CONFLICT`) when the phase is at another version.
    pub expected_version: Option<i32>,
    /// New first day (default: unchanged).
    pub planned_start: Option<Date>,
    /// New last day (default: unchanged); not before `plannedStart`.
    pub planned_end: Option<Date>,
    /// Move every later phase by as many days as this phase's end moved (default false).
    pub shift_later_phases: Option<bool>,
}

crate::mutations! {
    ProgrammeMutation;
    /// Creates a programme from a template: its phases, consecutive from `startOn`, and
    /// each phase's tasks (due on the phase's planned end), in one transaction.
    create_programme(ctx, gate, actor, input: CreateProgrammeInput) -> CreateProgrammePayload { programme: Programme } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let Granted { model, access } = store::create(gate, actor, org, input.start_on.0, input.template.into()).await?;
        Granted { model: model.programme, access }
    }
    /// Moves a phase's planned dates; with `shiftLaterPhases`, the later phases move by as
    /// many days as its end did.
    update_programme_phase(ctx, gate, actor, input: UpdateProgrammePhaseInput) -> UpdateProgrammePhasePayload {
        /// The phase as the mutation left it.
        phase: ProgrammePhase,
        /// Its programme.
        programme: Programme,
    } => {
        let id = ids::expect(Kind::ProgrammePhase, &input.id, "id")?;
        let Granted { model, access } = store::update_phase(
            gate,
            actor,
            id,
            input.expected_version,
            input.planned_start.map(|d| d.0),
            input.planned_end.map(|d| d.0),
            input.shift_later_phases.unwrap_or(false),
        )
        .await?;
        let phase = model
            .phases
            .iter()
            .find(|p| p.id == id)
            .cloned()
            .ok_or_else(|| crate::error::AppError::internal("moved phase missing"))?;
        Ok(UpdateProgrammePhasePayload {
            phase: ProgrammePhase::new(phase, access),
            programme: Programme::new(model.programme, access),
        })
    }
}
