//! Objectives and measurements (ISO 27001 / 42001 6.2, 9.1): the register, the time
//! series, and the dashboard's counts per derived status.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, Condition, ExprTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::objective::{self as rules, Direction, Frequency, ObjectiveStatus};
use crate::domain::refs::Standard;
use crate::domain::{self, MAX_NAME, MAX_TEXT, MAX_TITLE};
use crate::entity::{StandardList, measurement, objective};
use crate::error::AppResult;
use crate::ids::{self, Kind};
use crate::store::org::check_version;
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::tenancy::{Actor, Gate, Granted, MultiReader, Reader, now};

const MAX_UNIT: usize = 50;

pub struct NewObjective<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub standards: &'a [Standard],
    pub owner: Option<&'a str>,
    pub measure: &'a str,
    pub unit: Option<&'a str>,
    pub target: f64,
    pub direction: Direction,
    pub frequency: Frequency,
    /// Default [`rules::DEFAULT_BAND_PERCENT`].
    pub at_risk_band_percent: Option<f64>,
    pub due_on: Option<NaiveDate>,
}

pub async fn create(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    n: NewObjective<'_>,
) -> AppResult<Granted<objective::Model>> {
    let title = domain::required_text("title", n.title, MAX_TITLE)?;
    let description = domain::optional_text("description", n.description, MAX_TEXT)?;
    let standards = rules::check_standards(n.standards)?;
    let owner = domain::optional_text("owner", n.owner, MAX_NAME)?;
    let measure = domain::required_text("measure", n.measure, MAX_TITLE)?;
    let unit = domain::optional_text("unit", n.unit, MAX_UNIT)?;
    let target = rules::check_target(n.target)?;
    let band = rules::check_band(n.at_risk_band_percent.unwrap_or(rules::DEFAULT_BAND_PERCENT))?;
    let mut w = gate.write(actor, org, Operation::WriteObjectives).await?;
    let at = now();
    let am = objective::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        title: Set(title),
        description: Set(description),
        standards: Set(StandardList(standards)),
        owner: Set(owner),
        measure: Set(measure),
        unit: Set(unit),
        target: Set(target),
        direction: Set(n.direction),
        frequency: Set(n.frequency),
        at_risk_band_percent: Set(band),
        at_risk_limit: Set(n.direction.at_risk_limit(target, band)),
        due_on: Set(n.due_on),
        latest_measurement_id: Set(None),
        latest_value: Set(None),
        latest_measured_on: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<objective::Entity, _>(am, "").await?;
    w.record_create(Kind::Objective, m.id, &m).await?;
    w.commit_with(m).await
}

/// Changes to an objective: `None` leaves a field alone; `Some(None)` clears it.
#[derive(Default)]
pub struct ObjectiveChanges<'a> {
    pub expected_version: Option<i32>,
    pub title: Option<&'a str>,
    pub description: Option<Option<&'a str>>,
    pub standards: Option<&'a [Standard]>,
    pub owner: Option<Option<&'a str>>,
    pub measure: Option<&'a str>,
    pub unit: Option<Option<&'a str>>,
    pub target: Option<f64>,
    pub direction: Option<Direction>,
    pub frequency: Option<Frequency>,
    pub at_risk_band_percent: Option<f64>,
    pub due_on: Option<Option<NaiveDate>>,
}

pub async fn update(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    ch: ObjectiveChanges<'_>,
) -> AppResult<Granted<objective::Model>> {
    let title = ch.title.map(|t| domain::required_text("title", t, MAX_TITLE)).transpose()?;
    let description = ch.description.map(|d| domain::optional_text("description", d, MAX_TEXT)).transpose()?;
    let standards = ch.standards.map(rules::check_standards).transpose()?;
    let owner = ch.owner.map(|o| domain::optional_text("owner", o, MAX_NAME)).transpose()?;
    let measure = ch.measure.map(|m| domain::required_text("measure", m, MAX_TITLE)).transpose()?;
    let unit = ch.unit.map(|u| domain::optional_text("unit", u, MAX_UNIT)).transpose()?;
    let target = ch.target.map(rules::check_target).transpose()?;
    let band = ch.at_risk_band_percent.map(rules::check_band).transpose()?;
    let (mut w, before) = gate.write_on::<objective::Entity>(actor, id, Operation::WriteObjectives).await?;
    check_version(ch.expected_version, before.version)?;

    let mut am: objective::ActiveModel = before.clone().into();
    if let Some(t) = title {
        am.title.set_ne(t);
    }
    if let Some(d) = description {
        am.description.set_ne(d);
    }
    if let Some(s) = standards {
        am.standards.set_ne(StandardList(s));
    }
    if let Some(o) = owner {
        am.owner.set_ne(o);
    }
    if let Some(m) = measure {
        am.measure.set_ne(m);
    }
    if let Some(u) = unit {
        am.unit.set_ne(u);
    }
    if let Some(f) = ch.frequency {
        am.frequency.set_ne(f);
    }
    if let Some(d) = ch.due_on {
        am.due_on.set_ne(d);
    }
    let target = target.unwrap_or(before.target);
    let direction = ch.direction.unwrap_or(before.direction);
    let band = band.unwrap_or(before.at_risk_band_percent);
    am.target.set_ne(target);
    am.direction.set_ne(direction);
    am.at_risk_band_percent.set_ne(band);
    am.at_risk_limit.set_ne(direction.at_risk_limit(target, band));
    if !sea_orm::ActiveModelTrait::is_changed(&am) {
        return w.commit_with(before).await;
    }
    let after = w.update::<objective::Entity, _>(am).await?;
    w.record_update(Kind::Objective, id, &before, &after).await?;
    w.commit_with(after).await
}

/// Deletes an objective with its measurements.
pub async fn delete(gate: &Gate, actor: &Actor, id: Uuid) -> AppResult<Granted<objective::Model>> {
    let (mut w, before) = gate.write_on::<objective::Entity>(actor, id, Operation::WriteObjectives).await?;
    w.delete_where::<measurement::Entity>(Condition::all().add(measurement::Column::ObjectiveId.eq(id))).await?;
    w.delete::<objective::Entity>(id).await?;
    w.record_delete(Kind::Objective, id, &before).await?;
    w.commit_with(before).await
}

pub struct NewMeasurement<'a> {
    pub objective_id: Uuid,
    pub value: f64,
    pub measured_on: NaiveDate,
    pub note: Option<&'a str>,
}

/// Records a measurement and, when it is the latest (measured on or after the latest
/// one's day), makes it the objective's latest. Returns both.
pub async fn record(
    gate: &Gate,
    actor: &Actor,
    n: NewMeasurement<'_>,
) -> AppResult<Granted<(measurement::Model, objective::Model)>> {
    let value = rules::check_value(n.value)?;
    rules::check_measured_on(n.measured_on, now().date_naive())?;
    let note = domain::optional_text("note", n.note, MAX_TEXT)?;
    let (mut w, before) =
        gate.write_on::<objective::Entity>(actor, n.objective_id, Operation::RecordMeasurements).await?;
    let at = now();
    let am = measurement::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        objective_id: Set(before.id),
        value: Set(value),
        measured_on: Set(n.measured_on),
        note: Set(note),
        recorded_by: Set(w.actor().to_string()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<measurement::Entity, _>(am, "").await?;
    w.record_create(Kind::Measurement, m.id, &m).await?;
    let objective = if before.latest_measured_on.is_none_or(|d| m.measured_on >= d) {
        let mut am: objective::ActiveModel = before.clone().into();
        am.latest_measurement_id.set_ne(Some(m.id));
        am.latest_value.set_ne(Some(m.value));
        am.latest_measured_on.set_ne(Some(m.measured_on));
        let after = w.update::<objective::Entity, _>(am).await?;
        w.record_update(Kind::Objective, after.id, &before, &after).await?;
        after
    } else {
        before
    };
    w.commit_with((m, objective)).await
}

pub const OBJECTIVE_ORDER: &str = "objectives:TITLE";
pub const MEASUREMENT_ORDER: &str = "measurements:MEASURED_ON";

/// Objectives by title, then id.
pub async fn list(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<objective::Model>> {
    let r = gate.read(actor, org, Operation::ReadObjectives).await?;
    let sort = Sort::by(OBJECTIVE_ORDER, objective::Column::Title, false, objective::Column::Id, false);
    r.find::<objective::Entity>()?.page(&sort, args, want_total, |m| SortValue::Text(m.title.clone()), |m| m.id).await
}

/// The measurements of one objective in date order (oldest first; one day's in the order
/// they were recorded).
pub async fn measurements(
    r: &Reader,
    objective: Uuid,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<measurement::Model>> {
    let sort = Sort::by(MEASUREMENT_ORDER, measurement::Column::MeasuredOn, false, measurement::Column::Id, false);
    r.find::<measurement::Entity>()?
        .filter(measurement::Column::ObjectiveId.eq(objective))
        .page(&sort, args, want_total, |m| SortValue::Date(m.measured_on), |m| m.id)
        .await
}

/// Objectives per derived status (see [`rules::status`]), per organization: one grouped
/// statement; the status is written in SQL from the stored target, direction, band limit
/// and latest value, so it agrees with the API's.
pub async fn status_counts(r: &MultiReader, today: NaiveDate) -> AppResult<HashMap<Uuid, Vec<(ObjectiveStatus, u64)>>> {
    use objective::Column as C;
    let mut out: HashMap<Uuid, Vec<(ObjectiveStatus, u64)>> = HashMap::new();
    if r.is_empty() {
        return Ok(out);
    }
    let at_least = || Expr::col(C::Direction).eq(Direction::AtLeast);
    let at_most = || Expr::col(C::Direction).eq(Direction::AtMost);
    let meets = |edge: C| -> SimpleExpr {
        at_least()
            .and(Expr::col(C::LatestValue).gte(Expr::col(edge)))
            .or(at_most().and(Expr::col(C::LatestValue).lte(Expr::col(edge))))
    };
    let data = || Expr::col(C::LatestValue).is_not_null();
    let due = || Expr::col(C::DueOn).is_not_null();
    let past = || due().and(Expr::col(C::DueOn).lt(today));
    let missed = || data().and(meets(C::Target).not());
    let one_if = |cond: SimpleExpr| Expr::case(cond, 1).finally(0).sum();
    let rows: Vec<(Uuid, i64, i64, i64, i64, i64)> = r
        .find::<objective::Entity>()?
        .select_only()
        .column(C::OrganizationId)
        .expr_as(one_if(Expr::col(C::LatestValue).is_null()), "no_data")
        .expr_as(one_if(data().and(meets(C::Target)).and(due().not())), "on_track")
        .expr_as(one_if(missed().and(past().not()).and(meets(C::AtRiskLimit))), "at_risk")
        .expr_as(one_if(missed().and(past().or(meets(C::AtRiskLimit).not()))), "off_track")
        .expr_as(one_if(data().and(meets(C::Target)).and(due())), "achieved")
        .group_by(C::OrganizationId)
        .tuples()
        .await?;
    for (org, no_data, on_track, at_risk, off_track, achieved) in rows {
        out.insert(
            org,
            vec![
                (ObjectiveStatus::NoData, no_data as u64),
                (ObjectiveStatus::OnTrack, on_track as u64),
                (ObjectiveStatus::AtRisk, at_risk as u64),
                (ObjectiveStatus::OffTrack, off_track as u64),
                (ObjectiveStatus::Achieved, achieved as u64),
            ],
        );
    }
    Ok(out)
}
