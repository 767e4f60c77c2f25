//! Measures: one piece of work linked to SoA rows of either standard and to risks; the
//! risk treatment plan (6.1.3 e, f) and its approval; suggestions from the catalog's
//! cross-standard mapping.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::measure::{self as rules, Effort};
use crate::domain::refs::Standard;
use crate::domain::risk::RiskTreatment;
use crate::domain::soa::{ControlDecision, ImplementationStatus};
use crate::domain::{self, MAX_NAME, MAX_TEXT, MAX_TITLE};
use crate::entity::{control, measure, measure_control, measure_risk, risk, treatment_plan_approval};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::catalog::Catalog;
use crate::store::org::check_version;
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::tenancy::{Actor, Gate, Granted, Writer, now};

pub struct NewMeasure<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub status: Option<ImplementationStatus>,
    pub due_on: Option<NaiveDate>,
    pub effort: Option<Effort>,
}

pub async fn create(gate: &Gate, actor: &Actor, org: Uuid, n: NewMeasure<'_>) -> AppResult<Granted<measure::Model>> {
    let title = domain::required_text("title", n.title, MAX_TITLE)?;
    let description = domain::optional_text("description", n.description, MAX_TEXT)?;
    let owner = domain::optional_text("owner", n.owner, MAX_NAME)?;
    let mut w = gate.write(actor, org, Operation::WriteMeasures).await?;
    let at = now();
    let am = measure::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        title: Set(title),
        description: Set(description),
        owner: Set(owner),
        status: Set(n.status.unwrap_or(ImplementationStatus::Planned)),
        due_on: Set(n.due_on),
        effort: Set(n.effort),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<measure::Entity, _>(am, "").await?;
    w.record_create(Kind::Measure, m.id, &m).await?;
    w.commit_with(m).await
}

/// Changes to a measure: `None` leaves a field alone; `Some(None)` clears it.
#[derive(Default)]
pub struct MeasureChanges {
    pub expected_version: Option<i32>,
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub owner: Option<Option<String>>,
    pub status: Option<ImplementationStatus>,
    pub due_on: Option<Option<NaiveDate>>,
    pub effort: Option<Option<Effort>>,
}

pub async fn update(gate: &Gate, actor: &Actor, id: Uuid, ch: MeasureChanges) -> AppResult<Granted<measure::Model>> {
    let title = ch.title.map(|t| domain::required_text("title", &t, MAX_TITLE)).transpose()?;
    let description =
        ch.description.map(|d| domain::optional_text("description", d.as_deref(), MAX_TEXT)).transpose()?;
    let owner = ch.owner.map(|o| domain::optional_text("owner", o.as_deref(), MAX_NAME)).transpose()?;
    let (mut w, before) = gate.write_on::<measure::Entity>(actor, id, Operation::WriteMeasures).await?;
    check_version(ch.expected_version, before.version)?;
    let mut am: measure::ActiveModel = before.clone().into();
    if let Some(t) = title {
        am.title.set_ne(t);
    }
    if let Some(d) = description {
        am.description.set_ne(d);
    }
    if let Some(o) = owner {
        am.owner.set_ne(o);
    }
    if let Some(s) = ch.status {
        am.status.set_ne(s);
    }
    if let Some(d) = ch.due_on {
        am.due_on.set_ne(d);
    }
    if let Some(e) = ch.effort {
        am.effort.set_ne(e);
    }
    if !sea_orm::ActiveModelTrait::is_changed(&am) {
        return w.commit_with(before).await;
    }
    let after = w.update(am).await?;
    w.record_update(Kind::Measure, id, &before, &after).await?;
    w.commit_with(after).await
}

/// Deletes a measure with its links (the rows it satisfied and the risks it treated stay).
pub async fn delete(gate: &Gate, actor: &Actor, id: Uuid) -> AppResult<Granted<measure::Model>> {
    let (mut w, before) = gate.write_on::<measure::Entity>(actor, id, Operation::WriteMeasures).await?;
    w.delete_where::<measure_control::Entity>(Condition::all().add(measure_control::Column::MeasureId.eq(id))).await?;
    w.delete_where::<measure_risk::Entity>(Condition::all().add(measure_risk::Column::MeasureId.eq(id))).await?;
    w.delete::<measure::Entity>(id).await?;
    w.record_delete(Kind::Measure, id, &before).await?;
    w.commit_with(before).await
}

/// What the audit trail records of a measure's links.
#[derive(Serialize)]
struct MeasureLinks {
    controls: Vec<String>,
    risks: Vec<String>,
}

async fn links_of(w: &Writer, id: Uuid) -> AppResult<MeasureLinks> {
    let control_ids: Vec<Uuid> = w
        .find::<measure_control::Entity>()?
        .filter(measure_control::Column::MeasureId.eq(id))
        .select_only()
        .column(measure_control::Column::ControlId)
        .tuples()
        .await?;
    let controls = if control_ids.is_empty() {
        Vec::new()
    } else {
        w.find::<control::Entity>()?
            .filter(control::Column::Id.is_in(control_ids))
            .order_by_asc(control::Column::Position)
            .all()
            .await?
            .into_iter()
            .map(|c| format!("{}:{}", c.standard.as_str(), c.reference))
            .collect()
    };
    let mut risks: Vec<String> = w
        .find::<measure_risk::Entity>()?
        .filter(measure_risk::Column::MeasureId.eq(id))
        .all()
        .await?
        .into_iter()
        .map(|l| ids::encode(Kind::Risk, l.risk_id))
        .collect();
    risks.sort();
    Ok(MeasureLinks { controls, risks })
}

/// The result of a link change: the measure and the row or risk at the other end.
pub struct Linked<T> {
    pub measure: measure::Model,
    pub other: T,
}

/// Links a measure to an SoA row of either standard. Linking twice changes nothing; an
/// EXCLUDED row is refused (ISO 27001 6.1.3 d: work is not done for excluded controls).
pub async fn link_control(
    gate: &Gate,
    actor: &Actor,
    measure_id: Uuid,
    control_id: Uuid,
    link: bool,
) -> AppResult<Granted<Linked<control::Model>>> {
    let (mut w, m) = gate.write_on::<measure::Entity>(actor, measure_id, Operation::WriteMeasures).await?;
    let c = w
        .get::<control::Entity>(control_id)
        .await?
        .ok_or_else(|| AppError::bad_input("controlId", "controlId: no such control in this organization"))?;
    let before = links_of(&w, measure_id).await?;
    let this = Condition::all()
        .add(measure_control::Column::MeasureId.eq(measure_id))
        .add(measure_control::Column::ControlId.eq(control_id));
    let changed = if link {
        if c.decision == ControlDecision::Excluded {
            return Err(AppError::bad_input(
                "controlId",
                format!("{} is excluded in the SoA; include it before linking measures", c.reference),
            ));
        }
        let exists = w.find::<measure_control::Entity>()?.filter(this).exists().await?;
        if !exists && before.controls.len() >= rules::MAX_CONTROLS_PER_MEASURE {
            return Err(AppError::bad_input(
                "controlId",
                format!("a measure satisfies at most {} SoA rows", rules::MAX_CONTROLS_PER_MEASURE),
            ));
        }
        if !exists {
            w.insert_many(vec![measure_control::ActiveModel {
                organization_id: Set(w.org()),
                measure_id: Set(measure_id),
                control_id: Set(control_id),
                created_at: Set(now()),
            }])
            .await?;
        }
        !exists
    } else {
        w.delete_where::<measure_control::Entity>(this).await? > 0
    };
    if changed {
        let after = links_of(&w, measure_id).await?;
        w.record_update(Kind::Measure, measure_id, &before, &after).await?;
    }
    w.commit_with(Linked { measure: m, other: c }).await
}

/// Links a measure to a risk it treats (6.1.3 e: the treatment plan). Idempotent.
pub async fn link_risk(
    gate: &Gate,
    actor: &Actor,
    measure_id: Uuid,
    risk_id: Uuid,
    link: bool,
) -> AppResult<Granted<Linked<risk::Model>>> {
    let (mut w, m) = gate.write_on::<measure::Entity>(actor, measure_id, Operation::WriteMeasures).await?;
    let r = w
        .get::<risk::Entity>(risk_id)
        .await?
        .ok_or_else(|| AppError::bad_input("riskId", "riskId: no such risk in this organization"))?;
    let before = links_of(&w, measure_id).await?;
    let this = Condition::all()
        .add(measure_risk::Column::MeasureId.eq(measure_id))
        .add(measure_risk::Column::RiskId.eq(risk_id));
    let changed = if link {
        let exists = w.find::<measure_risk::Entity>()?.filter(this).exists().await?;
        if !exists && before.risks.len() >= rules::MAX_RISKS_PER_MEASURE {
            return Err(AppError::bad_input(
                "riskId",
                format!("a measure treats at most {} risks", rules::MAX_RISKS_PER_MEASURE),
            ));
        }
        if !exists {
            w.insert_many(vec![measure_risk::ActiveModel {
                organization_id: Set(w.org()),
                measure_id: Set(measure_id),
                risk_id: Set(risk_id),
                created_at: Set(now()),
            }])
            .await?;
        }
        !exists
    } else {
        w.delete_where::<measure_risk::Entity>(this).await? > 0
    };
    if changed {
        let after = links_of(&w, measure_id).await?;
        w.record_update(Kind::Measure, measure_id, &before, &after).await?;
    }
    w.commit_with(Linked { measure: m, other: r }).await
}

/// Conditions on measure lists (every one given must hold).
#[derive(Debug, Default, Clone)]
pub struct MeasureFilter {
    pub status: Option<ImplementationStatus>,
    /// Due before today and not IMPLEMENTED (or the reverse with `false`).
    pub overdue: Option<bool>,
    pub owner: Option<String>,
    /// Only measures that treat at least one risk (the treatment plan).
    pub in_treatment_plan: bool,
}

pub const MEASURE_ORDER: &str = "measures:DUE_ON";
pub const PLAN_ORDER: &str = "treatmentPlan:DUE_ON";

/// Measures by due day (undated last), then id.
pub async fn list(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    f: &MeasureFilter,
    today: NaiveDate,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<measure::Model>> {
    use measure::Column as C;
    let r = gate.read(actor, org, Operation::ReadMeasures).await?;
    let mut q = r.find::<measure::Entity>()?;
    if let Some(s) = f.status {
        q = q.filter(C::Status.eq(s));
    }
    if let Some(o) = &f.owner {
        q = q.filter(C::Owner.eq(o.trim()));
    }
    match f.overdue {
        Some(true) => q = q.filter(C::DueOn.lt(today)).filter(C::Status.ne(ImplementationStatus::Implemented)),
        Some(false) => {
            q = q.filter(
                Condition::any()
                    .add(C::DueOn.is_null())
                    .add(C::DueOn.gte(today))
                    .add(C::Status.eq(ImplementationStatus::Implemented)),
            )
        }
        None => {}
    }
    if f.in_treatment_plan {
        let mut sub = Query::select();
        sub.column(measure_risk::Column::MeasureId)
            .from(measure_risk::Entity)
            .and_where(measure_risk::Column::OrganizationId.eq(org));
        q = q.filter(C::Id.in_subquery(sub));
    }
    let name = if f.in_treatment_plan { PLAN_ORDER } else { MEASURE_ORDER };
    let sort = Sort::by(name, C::DueOn, true, C::Id, false);
    q.page(&sort, args, want_total, |m| m.due_on.map_or(SortValue::Null, SortValue::Date), |m| m.id).await
}

/// One suggestion: an ISO 42001 row with no measures, the ISO 27001 rows it maps to, and
/// the measures already linked to those.
pub struct Suggestion {
    pub control: control::Model,
    pub via: Vec<control::Model>,
    pub measures: Vec<measure::Model>,
}

/// For each ISO 42001 row (not EXCLUDED) with no measures, the measures already linked to
/// its mapped ISO 27001 rows (the catalog's cross-standard mapping). A suggestion only:
/// nothing is linked until someone calls `linkMeasureControl`. Reads the SoA, its links
/// and the linked measures: three statements whatever the size of the SoA.
pub async fn suggestions(gate: &Gate, actor: &Actor, org: Uuid, catalog: &Catalog) -> AppResult<Vec<Suggestion>> {
    let r = gate.read(actor, org, Operation::ReadMeasures).await?;
    let controls = r.find::<control::Entity>()?.order_by_asc(control::Column::Position).all().await?;
    let links = r.find::<measure_control::Entity>()?.all().await?;
    let mut by_control: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for l in &links {
        by_control.entry(l.control_id).or_default().push(l.measure_id);
    }
    let by_ref: HashMap<(Standard, &str), &control::Model> =
        controls.iter().map(|c| ((c.standard, c.reference.as_str()), c)).collect();
    let mut wanted: Vec<(control::Model, Vec<control::Model>, Vec<Uuid>)> = Vec::new();
    for c in controls.iter().filter(|c| c.standard == Standard::Iso42001) {
        if c.decision == ControlDecision::Excluded || by_control.contains_key(&c.id) {
            continue;
        }
        let mut via = Vec::new();
        let mut measures: Vec<Uuid> = Vec::new();
        for m in catalog.mappings_of(c.standard, &c.reference) {
            let (s, r) = if m.from_standard == c.standard && m.from_ref == c.reference {
                (m.to_standard, m.to_ref.as_str())
            } else {
                (m.from_standard, m.from_ref.as_str())
            };
            if s != Standard::Iso27001 {
                continue;
            }
            if let Some(row) = by_ref.get(&(s, r))
                && let Some(ms) = by_control.get(&row.id)
                && !via.iter().any(|v: &control::Model| v.id == row.id)
            {
                via.push((*row).clone());
                for id in ms {
                    if !measures.contains(id) {
                        measures.push(*id);
                    }
                }
            }
        }
        if !measures.is_empty() {
            wanted.push((c.clone(), via, measures));
        }
    }
    let ids: HashSet<Uuid> = wanted.iter().flat_map(|w| w.2.iter().copied()).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = r.find::<measure::Entity>()?.filter(measure::Column::Id.is_in(ids)).all().await?;
    let rows: HashMap<Uuid, measure::Model> = rows.into_iter().map(|m| (m.id, m)).collect();
    Ok(wanted
        .into_iter()
        .map(|(control, via, ids)| Suggestion {
            control,
            via,
            measures: ids.iter().filter_map(|id| rows.get(id).cloned()).collect(),
        })
        .collect())
}

/// The approval recorded, and the risk it is for.
pub struct Approval {
    pub approval: treatment_plan_approval::Model,
    pub risk: risk::Model,
}

/// ISO 27001 / 42001 6.1.3 f: the risk owner approves the treatment plan (and accepts the
/// residual risk). An OWNER or MANAGER may approve for the owner; the approval records
/// that. A MITIGATE risk with no measures has no plan to approve.
pub async fn approve_treatment_plan(
    gate: &Gate,
    actor: &Actor,
    risk_id: Uuid,
    note: Option<&str>,
) -> AppResult<Granted<Approval>> {
    let note = domain::optional_text("note", note, MAX_TEXT)?;
    let (mut w, r) = gate.write_on::<risk::Entity>(actor, risk_id, Operation::ApproveTreatmentPlan).await?;
    let owner = r.owner.as_deref().map(str::trim).filter(|o| !o.is_empty());
    let on_behalf_of = if owner == Some(w.actor()) {
        None
    } else {
        w.require(Operation::ApproveTreatmentPlanForOwner)?;
        let Some(owner) = owner else {
            return Err(AppError::bad_input("riskId", "the risk has no owner to approve its treatment plan; set one"));
        };
        Some(owner.to_string())
    };
    let measures = w.find::<measure_risk::Entity>()?.filter(measure_risk::Column::RiskId.eq(risk_id)).count().await?;
    if rules::treatment_plan_missing(r.treatment == Some(RiskTreatment::Mitigate), measures as usize) {
        return Err(AppError::bad_input(
            "riskId",
            "the risk is to be mitigated but its treatment plan has no measures; link some with linkMeasureRisk",
        ));
    }
    let am = treatment_plan_approval::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        risk_id: Set(risk_id),
        approved_by: Set(w.actor().to_string()),
        on_behalf_of: Set(on_behalf_of),
        note: Set(note),
        approved_at: Set(now()),
    };
    let a = w.insert::<treatment_plan_approval::Entity, _>(am, "").await?;
    w.record_create(Kind::TreatmentPlanApproval, a.id, &a).await?;
    w.commit_with(Approval { approval: a, risk: r }).await
}
