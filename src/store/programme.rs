//! The implementation programme: created from a template with its phases and their
//! tasks; phases moved (and later ones shifted when asked).

use chrono::NaiveDate;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::programme::{self as rules, ProgrammeTemplate};
use crate::entity::{programme, programme_phase, task};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::org::check_version;
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::task::{NewTask, new_row};
use crate::store::tenancy::{Actor, Gate, Granted, now};

/// A programme and its phases, in order.
pub struct WithPhases {
    pub programme: programme::Model,
    pub phases: Vec<programme_phase::Model>,
}

/// Creates the programme, its phases (consecutive from `start_on`, each its template
/// weeks long) and each phase's template tasks (OPEN, due on the phase's planned end), in
/// one transaction.
pub async fn create(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    start_on: NaiveDate,
    template: ProgrammeTemplate,
) -> AppResult<Granted<WithPhases>> {
    let phases = template.phases();
    let weeks: Vec<u32> = phases.iter().map(|p| p.planned_weeks).collect();
    let dates = rules::schedule(start_on, &weeks)?;
    let mut w = gate.write(actor, org, Operation::WriteProgrammes).await?;
    let at = now();
    let p = w
        .insert::<programme::Entity, _>(
            programme::ActiveModel {
                id: Set(ids::new_id()),
                organization_id: NotSet,
                template: Set(template),
                start_on: Set(start_on),
                version: Set(1),
                created_at: Set(at),
                updated_at: Set(at),
            },
            "",
        )
        .await?;
    w.record_create(Kind::Programme, p.id, &p).await?;
    let mut out = Vec::with_capacity(phases.len());
    for (i, (t, (start, end))) in phases.iter().zip(dates).enumerate() {
        let ph = w
            .insert::<programme_phase::Entity, _>(
                programme_phase::ActiveModel {
                    id: Set(ids::new_id()),
                    organization_id: NotSet,
                    programme_id: Set(p.id),
                    position: Set(i as i32 + 1),
                    name: Set(t.name.to_string()),
                    planned_weeks: Set(t.planned_weeks as i32),
                    planned_start: Set(start),
                    planned_end: Set(end),
                    version: Set(1),
                    created_at: Set(at),
                    updated_at: Set(at),
                },
                "that programme already has a phase at that position",
            )
            .await?;
        w.record_create(Kind::ProgrammePhase, ph.id, &ph).await?;
        for title in t.tasks {
            let n = NewTask {
                title,
                description: None,
                assignee: None,
                due_on: Some(end),
                recurrence: None,
                subject: Some((Kind::ProgrammePhase, ph.id)),
            };
            let m = w.insert::<task::Entity, _>(new_row(&n, Some(ph.id))?, "").await?;
            w.record_create(Kind::Task, m.id, &m).await?;
        }
        out.push(ph);
    }
    w.commit_with(WithPhases { programme: p, phases: out }).await
}

/// Moves one phase to `start`..`end` (it may not end before it starts); with `shift`,
/// every later phase of the programme moves by as many days as this phase's end did.
pub async fn update_phase(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    shift: bool,
) -> AppResult<Granted<WithPhases>> {
    let (mut w, phase) = gate.write_on::<programme_phase::Entity>(actor, id, Operation::WriteProgrammes).await?;
    check_version(expected_version, phase.version)?;
    let p = w
        .get::<programme::Entity>(phase.programme_id)
        .await?
        .ok_or_else(|| AppError::internal("a phase without its programme"))?;
    let phases = w
        .find::<programme_phase::Entity>()?
        .filter(programme_phase::Column::ProgrammeId.eq(phase.programme_id))
        .order_by_asc(programme_phase::Column::Position)
        .all()
        .await?;
    let index =
        phases.iter().position(|x| x.id == id).ok_or_else(|| AppError::internal("phase not in its programme"))?;
    let dates: Vec<(NaiveDate, NaiveDate)> = phases.iter().map(|x| (x.planned_start, x.planned_end)).collect();
    let start = start.unwrap_or(phase.planned_start);
    let end = end.unwrap_or(phase.planned_end);
    let moved = rules::move_phase(&dates, index, start, end, shift)?;
    let mut out = Vec::with_capacity(phases.len());
    for (before, (s, e)) in phases.into_iter().zip(moved) {
        if (before.planned_start, before.planned_end) == (s, e) {
            out.push(before);
            continue;
        }
        let mut am: programme_phase::ActiveModel = before.clone().into();
        am.planned_start = Set(s);
        am.planned_end = Set(e);
        let after = w.update(am).await?;
        w.record_update(Kind::ProgrammePhase, after.id, &before, &after).await?;
        out.push(after);
    }
    w.commit_with(WithPhases { programme: p, phases: out }).await
}

pub const PROGRAMME_ORDER: &str = "programmes:START_ON";

/// Programmes by start day, then id.
pub async fn list(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<programme::Model>> {
    let r = gate.read(actor, org, Operation::ReadProgrammes).await?;
    let sort = Sort::by(PROGRAMME_ORDER, programme::Column::StartOn, false, programme::Column::Id, false);
    r.find::<programme::Entity>()?.page(&sort, args, want_total, |m| SortValue::Date(m.start_on), |m| m.id).await
}
