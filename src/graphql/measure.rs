//! Measures ("implement once, comply twice"), the status they imply for SoA rows, the
//! suggestions the cross-standard mapping makes, and the risk treatment plan (6.1.3 e, f).

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use uuid::Uuid;

use crate::auth::{Access, Operation};
use crate::domain::measure as rules;
use crate::entity::{control, measure, measure_control, measure_risk, treatment_plan_approval};
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::input::{change, ref_id, text_change};
use crate::graphql::limits;
use crate::graphql::loaders::{Left, Right, load_children, load_linked};
use crate::graphql::risk::Risk;
use crate::graphql::scalars::Date;
use crate::graphql::soa::{Control, ImplementationStatus};
use crate::ids::{self, Kind};
use crate::store::measure as store;
use crate::store::page::PageArgs;
use crate::store::tenancy::{Granted, now};

/// A rough size of a measure's work.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::measure::Effort")]
pub enum Effort {
    /// Small: days.
    S,
    /// Medium: weeks.
    M,
    /// Large: months.
    L,
}

fn today() -> chrono::NaiveDate {
    now().date_naive()
}

crate::entity_type! {
    /// One piece of work the organization does (a process, a tool, a policy), linked to
    /// every SoA row it satisfies, of either standard, and to the risks it treats: recorded
    /// once, counted for both standards.
    Measure, measure
}

crate::entity_object! {
    Measure, measure,
    update: WriteMeasures,
    delete: WriteMeasures,
    {
        /// What the work is.
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// Details of the work.
        async fn description(&self) -> Option<&str> {
            self.model.description.as_deref()
        }
        /// Who is responsible for the work.
        async fn owner(&self) -> Option<&str> {
            self.model.owner.as_deref()
        }
        /// How far the work is; the linked SoA rows derive their `derivedStatus` from it.
        async fn status(&self) -> ImplementationStatus {
            self.model.status.into()
        }
        /// When the work is due.
        async fn due_on(&self) -> Option<Date> {
            self.model.due_on.map(Date)
        }
        /// A rough size: S, M or L.
        async fn effort(&self) -> Option<Effort> {
            self.model.effort.map(Into::into)
        }
        /// Due before today (UTC) and not IMPLEMENTED.
        async fn overdue(&self) -> bool {
            rules::overdue(self.model.status, self.model.due_on, today())
        }
    }
    lists {
        /// The SoA rows (either standard) this measure satisfies, in SoA order (at most 50).
        #[list(MEASURE_CONTROLS)]
        async fn controls(&self, ctx: &Context<'_>) -> Result<Vec<Control>> {
            if !self.access.allows(Operation::ReadControls) {
                return Ok(Vec::new());
            }
            let rows = load_linked::<measure_control::Entity, Right>(ctx, self.model.organization_id, self.model.id).await?;
            Ok(limits::bounded(rows, limits::MEASURE_CONTROLS).into_iter().map(|c| Control::new(c, self.access)).collect())
        }
        /// The risks this measure treats (at most 50); empty for callers who may not read
        /// risks.
        #[list(MEASURE_RISKS)]
        async fn risks(&self, ctx: &Context<'_>) -> Result<Vec<Risk>> {
            if !self.access.allows(Operation::ReadRisks) {
                return Ok(Vec::new());
            }
            let org = self.model.organization_id;
            let rows = load_linked::<measure_risk::Entity, Right>(ctx, org, self.model.id).await?;
            crate::graphql::risk::risks_in(ctx, org, rows, self.access, limits::MEASURE_RISKS).await
        }
        /// Tasks whose subject is this measure, by due day (at most 50); empty for callers
        /// who may not read tasks.
        #[list(SUBJECT_TASKS)]
        async fn tasks(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::task::Task>> {
            crate::graphql::task::tasks_of_subject(ctx, self.model.organization_id, self.model.id, self.access).await
        }
    }
}

crate::connection!(MeasureConnection, MeasureEdge, Measure);

/// Conditions on `organization.measures` and `organization.treatmentPlan`: every one
/// given must hold.
#[derive(InputObject, Default)]
pub struct MeasureFilter {
    /// Measures at this status.
    pub status: Option<ImplementationStatus>,
    /// `true`: due before today (UTC) and not IMPLEMENTED; `false`: the others.
    pub overdue: Option<bool>,
    /// Measures of this owner (exact match).
    pub owner: Option<String>,
}

fn filter(f: Option<MeasureFilter>, plan: bool) -> store::MeasureFilter {
    let f = f.unwrap_or_default();
    store::MeasureFilter {
        status: f.status.map(Into::into),
        overdue: f.overdue,
        owner: f.owner.filter(|o| !o.trim().is_empty()),
        in_treatment_plan: plan,
    }
}

/// `Organization.measures` (`plan`: `Organization.treatmentPlan`, the measures that treat
/// at least one risk), by due day (undated last).
pub async fn measures_of(
    ctx: &Context<'_>,
    org: Uuid,
    access: Access,
    f: Option<MeasureFilter>,
    plan: bool,
    first: Option<i32>,
    after: Option<String>,
) -> Result<MeasureConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let order = if plan { store::PLAN_ORDER } else { store::MEASURE_ORDER };
    let args = PageArgs::new(first, after.as_deref(), order)?;
    let page = store::list(gate, actor, org, &filter(f, plan), today(), &args, wants_total(ctx)).await?;
    Ok(MeasureConnection::from_page(page, |m| Measure::new(m, access)))
}

/// The measures of an SoA row (empty without ReadMeasures).
async fn measures_of_control(ctx: &Context<'_>, c: &control::Model, access: Access) -> Result<Vec<measure::Model>> {
    if !access.allows(Operation::ReadMeasures) {
        return Ok(Vec::new());
    }
    load_linked::<measure_control::Entity, Left>(ctx, c.organization_id, c.id).await
}

/// `Control.measures`.
pub async fn control_measures(ctx: &Context<'_>, c: &control::Model, access: Access) -> Result<Vec<Measure>> {
    let rows = measures_of_control(ctx, c, access).await?;
    Ok(limits::bounded(rows, limits::CONTROL_MEASURES).into_iter().map(|m| Measure::new(m, access)).collect())
}

/// `Control.derivedStatus`: `None` with no measures (or no right to read them).
pub async fn control_derived_status(
    ctx: &Context<'_>,
    c: &control::Model,
    access: Access,
) -> Result<Option<crate::domain::soa::ImplementationStatus>> {
    let rows = measures_of_control(ctx, c, access).await?;
    let statuses: Vec<_> = rows.iter().map(|m| m.status).collect();
    Ok(rules::derived_status(&statuses))
}

/// `Risk.treatmentPlan` (empty without ReadMeasures).
pub async fn risk_measures(ctx: &Context<'_>, org: Uuid, risk: Uuid, access: Access) -> Result<Vec<measure::Model>> {
    if !access.allows(Operation::ReadMeasures) {
        return Ok(Vec::new());
    }
    load_linked::<measure_risk::Entity, Left>(ctx, org, risk).await
}

/// `Risk.treatmentPlanApproval`: the newest approval.
pub async fn latest_approval(
    ctx: &Context<'_>,
    org: Uuid,
    risk: Uuid,
    access: Access,
) -> Result<Option<TreatmentPlanApproval>> {
    if !access.allows(Operation::ReadMeasures) {
        return Ok(None);
    }
    let rows = load_children::<treatment_plan_approval::Entity>(ctx, org, risk).await?;
    Ok(rows.into_iter().last().map(TreatmentPlanApproval::from))
}

/// A risk owner's approval of a risk's treatment plan (ISO 27001 / 42001 6.1.3 f).
#[derive(SimpleObject, Clone)]
pub struct TreatmentPlanApproval {
    /// The approval's ID.
    pub id: ID,
    /// Who approved (the token subject).
    pub approved_by: String,
    /// The risk owner an OWNER or MANAGER approved for; `null` when the owner approved.
    pub on_behalf_of: Option<String>,
    /// The approver's note (e.g. the residual risk accepted).
    pub note: Option<String>,
    /// When (UTC).
    pub approved_at: chrono::DateTime<chrono::Utc>,
}

impl From<treatment_plan_approval::Model> for TreatmentPlanApproval {
    fn from(m: treatment_plan_approval::Model) -> Self {
        Self {
            id: ID(ids::encode(Kind::TreatmentPlanApproval, m.id)),
            approved_by: m.approved_by,
            on_behalf_of: m.on_behalf_of,
            note: m.note,
            approved_at: m.approved_at,
        }
    }
}

pub struct MeasureSuggestion {
    s: store::Suggestion,
    access: Access,
}

/// An ISO 42001 SoA row with no measures, and what its mapped ISO 27001 rows already do.
#[Object]
impl MeasureSuggestion {
    /// The ISO 42001 row that has no measures yet.
    async fn control(&self) -> Control {
        Control::new(self.s.control.clone(), self.access)
    }
    /// The mapped ISO 27001 rows whose measures are suggested (the catalog's mapping).
    #[graphql(complexity = "limits::MAPPINGS * child_complexity")]
    async fn via(&self) -> Vec<Control> {
        limits::bounded(self.s.via.clone(), limits::MAPPINGS)
            .into_iter()
            .map(|c| Control::new(c, self.access))
            .collect()
    }
    /// The measures to consider linking with `linkMeasureControl` (at most 50).
    #[graphql(complexity = "limits::MEASURE_CONTROLS * child_complexity")]
    async fn measures(&self) -> Vec<Measure> {
        limits::bounded(self.s.measures.clone(), limits::MEASURE_CONTROLS)
            .into_iter()
            .map(|m| Measure::new(m, self.access))
            .collect()
    }
}

#[derive(Default)]
pub struct MeasureQuery;

#[Object]
impl MeasureQuery {
    /// For each ISO 42001 SoA row (not EXCLUDED) with no measures, the measures already
    /// linked to the ISO 27001 rows the catalog maps it to. A suggestion only: accept one
    /// with `linkMeasureControl`; nothing is linked automatically. In SoA order.
    #[graphql(complexity = "limits::SOA_ROWS * child_complexity")]
    async fn suggest_measures_from_mapping(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organization.")] organization_id: ID,
    ) -> Result<Vec<MeasureSuggestion>> {
        let (gate, actor) = (ctx.gate()?, ctx.actor()?);
        let org = ids::expect(Kind::Organization, &organization_id, "organizationId")?;
        let access = gate.access_of(actor, org).await?;
        let catalog = ctx.services()?.catalog.clone();
        let rows = store::suggestions(gate, actor, org, &catalog).await?;
        Ok(limits::bounded(rows, limits::SOA_ROWS).into_iter().map(|s| MeasureSuggestion { s, access }).collect())
    }
}

/// Input of `createMeasure`.
#[derive(InputObject)]
pub struct CreateMeasureInput {
    /// The organization.
    pub organization_id: ID,
    /// Not blank; at most 300 characters.
    pub title: String,
    /// At most 20,000 characters.
    pub description: Option<String>,
    /// Who is responsible (at most 200 characters).
    pub owner: Option<String>,
    /// Default PLANNED.
    pub status: Option<ImplementationStatus>,
    /// When the work is due.
    pub due_on: Option<Date>,
    /// S, M or L.
    pub effort: Option<Effort>,
}

/// Input of `updateMeasure`: omitted fields stay; `null` clears a clearable one.
#[derive(InputObject)]
pub struct UpdateMeasureInput {
    /// The measure.
    pub id: ID,
    /// Refused (`CONFLICT`) when the measure is at another version.
    pub expected_version: Option<i32>,
    /// Not blank.
    pub title: Option<String>,
    /// Blank clears.
    pub description: Option<String>,
    /// Blank clears.
    pub owner: Option<String>,
    /// The new status.
    pub status: Option<ImplementationStatus>,
    /// `null` clears.
    pub due_on: MaybeUndefined<Date>,
    /// `null` clears.
    pub effort: MaybeUndefined<Effort>,
}

/// Input of `deleteMeasure`.
#[derive(InputObject)]
pub struct DeleteMeasureInput {
    /// The measure to delete (its links go with it).
    pub id: ID,
}

/// Input of `linkMeasureControl` and `unlinkMeasureControl`.
#[derive(InputObject)]
pub struct MeasureControlInput {
    /// The measure.
    pub measure_id: ID,
    /// An SoA row of either standard in the measure's organization.
    pub control_id: ID,
}

/// Input of `linkMeasureRisk` and `unlinkMeasureRisk`.
#[derive(InputObject)]
pub struct MeasureRiskInput {
    /// The measure.
    pub measure_id: ID,
    /// A risk in the measure's organization.
    pub risk_id: ID,
}

/// Input of `approveTreatmentPlan`.
#[derive(InputObject)]
pub struct ApproveTreatmentPlanInput {
    /// The risk whose treatment plan (its measures) is approved.
    pub risk_id: ID,
    /// E.g. the residual risk accepted (at most 20,000 characters).
    pub note: Option<String>,
}

crate::mutations! {
    MeasureMutation;
    /// Records a measure; link it to SoA rows with `linkMeasureControl` and to risks with
    /// `linkMeasureRisk`.
    create_measure(ctx, gate, actor, input: CreateMeasureInput) -> CreateMeasurePayload { measure: Measure } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        store::create(gate, actor, org, store::NewMeasure {
            title: &input.title,
            description: input.description.as_deref(),
            owner: input.owner.as_deref(),
            status: input.status.map(Into::into),
            due_on: input.due_on.map(|d| d.0),
            effort: input.effort.map(Into::into),
        }).await?
    }
    /// Changes a measure; the SoA rows it satisfies derive their status from it.
    update_measure(ctx, gate, actor, input: UpdateMeasureInput) -> UpdateMeasurePayload { measure: Measure } {
        let id = ids::expect(Kind::Measure, &input.id, "id")?;
        store::update(gate, actor, id, store::MeasureChanges {
            expected_version: input.expected_version,
            title: input.title,
            description: text_change(input.description),
            owner: text_change(input.owner),
            status: input.status.map(Into::into),
            due_on: change(input.due_on, |d| d.0),
            effort: change(input.effort, Into::into),
        }).await?
    }
    /// Deletes a measure and its links.
    delete_measure(ctx, gate, actor, input: DeleteMeasureInput) -> DeleteMeasurePayload { deleted_id: ID } => {
        let id = ids::expect(Kind::Measure, &input.id, "id")?;
        let m = store::delete(gate, actor, id).await?;
        Ok(DeleteMeasurePayload { deleted_id: ID(ids::encode(Kind::Measure, m.model.id)) })
    }
    /// Links a measure to an SoA row of either standard that is not EXCLUDED (accepting a
    /// suggestion of `suggestMeasuresFromMapping`). Idempotent.
    link_measure_control(ctx, gate, actor, input: MeasureControlInput) -> LinkMeasureControlPayload {
        measure: Measure,
        control: Control,
    } => {
        let (m, c) = ids_of(&input)?;
        let Granted { model: l, access } = store::link_control(gate, actor, m, c, true).await?;
        Ok(LinkMeasureControlPayload { measure: Measure::new(l.measure, access), control: Control::new(l.other, access) })
    }
    /// Removes the link. Idempotent.
    unlink_measure_control(ctx, gate, actor, input: MeasureControlInput) -> UnlinkMeasureControlPayload {
        measure: Measure,
        control: Control,
    } => {
        let (m, c) = ids_of(&input)?;
        let Granted { model: l, access } = store::link_control(gate, actor, m, c, false).await?;
        Ok(UnlinkMeasureControlPayload { measure: Measure::new(l.measure, access), control: Control::new(l.other, access) })
    }
    /// Adds a measure to a risk's treatment plan (6.1.3 e). Idempotent.
    link_measure_risk(ctx, gate, actor, input: MeasureRiskInput) -> LinkMeasureRiskPayload { measure: Measure } {
        let (m, r) = risk_ids_of(&input)?;
        let Granted { model: l, access } = store::link_risk(gate, actor, m, r, true).await?;
        Granted { model: l.measure, access }
    }
    /// Removes a measure from a risk's treatment plan. Idempotent.
    unlink_measure_risk(ctx, gate, actor, input: MeasureRiskInput) -> UnlinkMeasureRiskPayload { measure: Measure } {
        let (m, r) = risk_ids_of(&input)?;
        let Granted { model: l, access } = store::link_risk(gate, actor, m, r, false).await?;
        Granted { model: l.measure, access }
    }
    /// The risk owner approves the risk's treatment plan (6.1.3 f), or an OWNER or MANAGER
    /// approves for the owner (recorded in `onBehalfOf`). A MITIGATE risk needs measures
    /// first. Every approval is kept (the newest is `Risk.treatmentPlanApproval`).
    approve_treatment_plan(ctx, gate, actor, input: ApproveTreatmentPlanInput) -> ApproveTreatmentPlanPayload {
        /// The approval recorded.
        approval: TreatmentPlanApproval,
    } => {
        let risk = ids::expect(Kind::Risk, &input.risk_id, "riskId")?;
        let a = store::approve_treatment_plan(gate, actor, risk, input.note.as_deref()).await?;
        Ok(ApproveTreatmentPlanPayload { approval: a.model.approval.into() })
    }
}

fn ids_of(input: &MeasureControlInput) -> Result<(Uuid, Uuid)> {
    Ok((
        ids::expect(Kind::Measure, &input.measure_id, "measureId")?,
        ref_id(Kind::Control, &input.control_id, "controlId")?,
    ))
}

fn risk_ids_of(input: &MeasureRiskInput) -> Result<(Uuid, Uuid)> {
    Ok((ids::expect(Kind::Measure, &input.measure_id, "measureId")?, ref_id(Kind::Risk, &input.risk_id, "riskId")?))
}
