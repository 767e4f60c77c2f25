//! Objectives and their measurements (ISO 27001 / 42001 6.2, 9.1).

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Result};
use uuid::Uuid;

use crate::auth::{Access, Operation};
use crate::domain::objective as rules;
use crate::graphql::audit::StandardCode;
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::input::change;
use crate::graphql::loaders::load_by_id;
use crate::graphql::scalars::Date;
use crate::ids::{self, Kind};
use crate::store::objective as store;
use crate::store::page::PageArgs;
use crate::store::tenancy::now;

/// Which side of the target meets it.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::objective::Direction")]
pub enum ObjectiveDirection {
    /// Met by values at or above the target (training completion, availability).
    AtLeast,
    /// Met by values at or below the target (incidents, time to patch).
    AtMost,
}

/// How often an objective is measured (9.1 c).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::objective::Frequency")]
pub enum MeasurementFrequency {
    /// Every month.
    Monthly,
    /// Every three months.
    Quarterly,
    /// Every six months.
    SemiAnnual,
    /// Every year.
    Annual,
}

/// The status of an objective, derived from its latest measurement.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::objective::ObjectiveStatus")]
pub enum ObjectiveStatus {
    /// Nothing measured yet.
    NoData,
    /// The latest measurement meets the target of a continuing objective (no `dueOn`).
    OnTrack,
    /// The latest measurement misses the target by no more than the at-risk band (its edge
    /// included), and `dueOn`, if any, has not passed.
    AtRisk,
    /// The latest measurement misses the target by more than the band, or misses it after
    /// `dueOn`.
    OffTrack,
    /// The latest measurement meets the target of a time-bound objective (with `dueOn`).
    Achieved,
}

crate::entity_type! {
    /// An information security or AI objective with its measure and target (ISO 27001 /
    /// 42001 6.2), tracked with measurements (9.1).
    Objective, objective
}

impl Objective {
    fn rule_target(&self) -> rules::Target {
        rules::Target {
            target: self.model.target,
            direction: self.model.direction,
            at_risk_limit: self.model.at_risk_limit,
            due_on: self.model.due_on,
        }
    }

    fn since(&self) -> chrono::NaiveDate {
        self.model.latest_measured_on.unwrap_or_else(|| self.model.created_at.date_naive())
    }
}

crate::entity_object! {
    Objective, objective,
    update: WriteObjectives,
    delete: WriteObjectives,
    {
        /// What the objective is.
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// Free text.
        async fn description(&self) -> Option<&str> {
            self.model.description.as_deref()
        }
        /// The standards the objective serves (an integrated system's objectives may serve
        /// both).
        async fn standards(&self) -> Vec<StandardCode> {
            self.model.standards.0.iter().map(|s| (*s).into()).collect()
        }
        /// Who is responsible (6.2 g).
        async fn owner(&self) -> Option<&str> {
            self.model.owner.as_deref()
        }
        /// What is measured (6.2 b, 9.1 a), e.g. "staff who completed awareness training".
        async fn measure(&self) -> &str {
            &self.model.measure
        }
        /// The unit of the values (%, days, count, …).
        async fn unit(&self) -> Option<&str> {
            self.model.unit.as_deref()
        }
        /// The value to reach.
        async fn target(&self) -> f64 {
            self.model.target
        }
        /// Which side of the target meets it.
        async fn direction(&self) -> ObjectiveDirection {
            self.model.direction.into()
        }
        /// How often it is measured.
        async fn frequency(&self) -> MeasurementFrequency {
            self.model.frequency.into()
        }
        /// The at-risk band, in percent of the target's size (default 10): a latest value
        /// that misses the target by no more than this is AT_RISK, beyond it OFF_TRACK.
        async fn at_risk_band_percent(&self) -> f64 {
            self.model.at_risk_band_percent
        }
        /// When the target is to be met (6.2 i); `null` for a continuing objective.
        async fn due_on(&self) -> Option<Date> {
            self.model.due_on.map(Date)
        }
        /// Derived from the latest measurement (see `ObjectiveStatus`), today (UTC).
        async fn status(&self) -> ObjectiveStatus {
            rules::status(&self.rule_target(), self.model.latest_value, now().date_naive()).into()
        }
        /// The measurement measured last (of one day, the one recorded last); `null`
        /// before the first.
        async fn latest(&self, ctx: &Context<'_>) -> Result<Option<Measurement>> {
            let Some(id) = self.model.latest_measurement_id else { return Ok(None) };
            Ok(load_by_id::<crate::entity::measurement::Entity>(ctx, self.model.organization_id, id)
                .await?
                .map(|m| Measurement::new(m, self.access)))
        }
        /// One period of `frequency` after the latest measurement's day (before the first,
        /// after the day the objective was created).
        async fn next_measurement_due(&self) -> Date {
            Date(rules::next_measurement_due(self.model.frequency, self.since()))
        }
        /// True once `nextMeasurementDue` has passed (today, UTC) with no newer measurement.
        async fn measurement_overdue(&self) -> bool {
            rules::measurement_overdue(self.model.frequency, self.since(), now().date_naive())
        }
    }
    lists {
        /// The time series for charts: measurements in date order, oldest first (one day's
        /// in the order they were recorded).
        #[page(first)]
        async fn measurements(
            &self,
            ctx: &Context<'_>,
            #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
            #[graphql(desc = "Opaque cursor: the `endCursor` of the previous page; omit for the first page.")]
            after: Option<String>,
        ) -> Result<MeasurementConnection> {
            let (gate, actor) = (ctx.gate()?, ctx.actor()?);
            let r = gate.read(actor, self.model.organization_id, Operation::ReadObjectives).await?;
            let args = PageArgs::new(first, after.as_deref(), store::MEASUREMENT_ORDER)?;
            let page = store::measurements(&r, self.model.id, &args, wants_total(ctx)).await?;
            let access = self.access;
            Ok(MeasurementConnection::from_page(page, |m| Measurement::new(m, access)))
        }
    }
}

crate::entity_type! {
    /// One measured value of an objective (9.1), as a person or a monitoring tool recorded
    /// it. Measurements are not changed once recorded.
    Measurement, measurement
}

crate::entity_object! {
    Measurement, measurement,
    /// Always false: measurements are records.
    update: custom,
    /// Always false: measurements go only with their objective.
    delete: false,
    {
        /// The measured value, in the objective's unit.
        async fn value(&self) -> f64 {
            self.model.value
        }
        /// The day the value was measured.
        async fn measured_on(&self) -> Date {
            Date(self.model.measured_on)
        }
        /// Free text (source, method, sample).
        async fn note(&self) -> Option<&str> {
            self.model.note.as_deref()
        }
        /// The subject (token `sub`) who recorded it: a person or an integration.
        async fn recorded_by(&self) -> &str {
            &self.model.recorded_by
        }
        /// The objective measured.
        async fn objective(&self, ctx: &Context<'_>) -> Result<Option<Objective>> {
            Ok(load_by_id::<crate::entity::objective::Entity>(ctx, self.model.organization_id, self.model.objective_id)
                .await?
                .map(|m| Objective::new(m, self.access)))
        }
        /// Always false: measurements are records.
        async fn viewer_can_update(&self) -> bool {
            false
        }
    }
}

crate::connection!(ObjectiveConnection, ObjectiveEdge, Objective);
crate::connection!(MeasurementConnection, MeasurementEdge, Measurement);

/// `Organization.objectives`: by title.
pub async fn objectives_of(
    ctx: &Context<'_>,
    org: Uuid,
    access: Access,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ObjectiveConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let args = PageArgs::new(first, after.as_deref(), store::OBJECTIVE_ORDER)?;
    let page = store::list(gate, actor, org, &args, wants_total(ctx)).await?;
    Ok(ObjectiveConnection::from_page(page, |m| Objective::new(m, access)))
}

/// A new objective (6.2).
#[derive(InputObject)]
pub struct CreateObjectiveInput {
    /// The organization.
    pub organization_id: ID,
    /// Not blank, at most 300 characters.
    pub title: String,
    /// At most 20,000 characters.
    pub description: Option<String>,
    /// At least one.
    pub standards: Vec<StandardCode>,
    /// At most 200 characters.
    pub owner: Option<String>,
    /// What is measured; not blank, at most 300 characters.
    pub measure: String,
    /// At most 50 characters.
    pub unit: Option<String>,
    /// A finite number.
    pub target: f64,
    /// Which side of the target meets it.
    pub direction: ObjectiveDirection,
    /// How often it is measured.
    pub frequency: MeasurementFrequency,
    /// 0..100, default 10.
    pub at_risk_band_percent: Option<f64>,
    /// When the target is to be met; omit for a continuing objective.
    pub due_on: Option<Date>,
}

/// Omitted fields stay; `null` clears the optional ones.
#[derive(InputObject)]
pub struct UpdateObjectiveInput {
    /// The objective.
    pub id: ID,
    /// Refused (`CONFLICT`) when the objective is at another version (a recorded
    /// measurement that becomes the latest moves it on too).
    pub expected_version: Option<i32>,
    /// Not blank.
    pub title: Option<String>,
    /// `null` clears it.
    pub description: MaybeUndefined<String>,
    /// At least one.
    pub standards: Option<Vec<StandardCode>>,
    /// `null` clears it.
    pub owner: MaybeUndefined<String>,
    /// Not blank.
    pub measure: Option<String>,
    /// `null` clears it.
    pub unit: MaybeUndefined<String>,
    /// A finite number.
    pub target: Option<f64>,
    /// Which side of the target meets it.
    pub direction: Option<ObjectiveDirection>,
    /// How often it is measured.
    pub frequency: Option<MeasurementFrequency>,
    /// 0..100.
    pub at_risk_band_percent: Option<f64>,
    /// `null` makes it a continuing objective.
    pub due_on: MaybeUndefined<Date>,
}

/// The objective to delete, with its measurements.
#[derive(InputObject)]
pub struct DeleteObjectiveInput {
    /// The objective.
    pub id: ID,
}

/// One measured value.
#[derive(InputObject)]
pub struct RecordMeasurementInput {
    /// The objective measured.
    pub objective_id: ID,
    /// A finite number, in the objective's unit.
    pub value: f64,
    /// The day measured; not in the future (UTC).
    pub measured_on: Date,
    /// At most 20,000 characters.
    pub note: Option<String>,
}

fn standards(v: &[StandardCode]) -> Vec<crate::domain::refs::Standard> {
    v.iter().map(|s| (*s).into()).collect()
}

crate::mutations! {
    ObjectiveMutation;
    /// OWNER, MANAGER, CONTRIBUTOR. Sets an objective (ISO 27001 / 42001 6.2).
    create_objective(ctx, gate, actor, input: CreateObjectiveInput)
        -> CreateObjectivePayload { objective: Objective } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        store::create(gate, actor, org, store::NewObjective {
            title: &input.title,
            description: input.description.as_deref(),
            standards: &standards(&input.standards),
            owner: input.owner.as_deref(),
            measure: &input.measure,
            unit: input.unit.as_deref(),
            target: input.target,
            direction: input.direction.into(),
            frequency: input.frequency.into(),
            at_risk_band_percent: input.at_risk_band_percent,
            due_on: input.due_on.map(|d| d.0),
        }).await?
    }
    /// OWNER, MANAGER, CONTRIBUTOR.
    update_objective(ctx, gate, actor, input: UpdateObjectiveInput)
        -> UpdateObjectivePayload { objective: Objective } {
        let id = ids::expect(Kind::Objective, &input.id, "id")?;
        let std = input.standards.as_deref().map(standards);
        let description = change(input.description, |v| v);
        let owner = change(input.owner, |v| v);
        let unit = change(input.unit, |v| v);
        store::update(gate, actor, id, store::ObjectiveChanges {
            expected_version: input.expected_version,
            title: input.title.as_deref(),
            description: description.as_ref().map(|d| d.as_deref()),
            standards: std.as_deref(),
            owner: owner.as_ref().map(|o| o.as_deref()),
            measure: input.measure.as_deref(),
            unit: unit.as_ref().map(|u| u.as_deref()),
            target: input.target,
            direction: input.direction.map(Into::into),
            frequency: input.frequency.map(Into::into),
            at_risk_band_percent: input.at_risk_band_percent,
            due_on: change(input.due_on, |d| d.0),
        }).await?
    }
    /// OWNER, MANAGER, CONTRIBUTOR. Deletes the objective and its measurements.
    delete_objective(ctx, gate, actor, input: DeleteObjectiveInput) -> DeleteObjectivePayload { deleted_id: ID } => {
        let id = ids::expect(Kind::Objective, &input.id, "id")?;
        let m = store::delete(gate, actor, id).await?;
        Ok(DeleteObjectivePayload { deleted_id: ID(ids::encode(Kind::Objective, m.model.id)) })
    }
    /// OWNER, MANAGER, CONTRIBUTOR, INTEGRATION (a monitoring tool pushing its KPI).
    /// The measurement becomes the objective's latest unless one of a later day exists.
    record_measurement(ctx, gate, actor, input: RecordMeasurementInput)
        -> RecordMeasurementPayload {
            /// The measurement recorded.
            measurement: Measurement,
            /// The objective, with its status after this measurement.
            objective: Objective,
        } => {
        let id = ids::expect(Kind::Objective, &input.objective_id, "objectiveId")?;
        let granted = store::record(gate, actor, store::NewMeasurement {
            objective_id: id,
            value: input.value,
            measured_on: input.measured_on.0,
            note: input.note.as_deref(),
        }).await?;
        let ((m, o), access) = granted.into_object(|pair, access| (pair, access));
        Ok(RecordMeasurementPayload { measurement: Measurement::new(m, access), objective: Objective::new(o, access) })
    }
}
