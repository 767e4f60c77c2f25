//! Suppliers and their assessments (ISO 27001 A.5.19-A.5.23; ISO 42001 A.10.2-A.10.3):
//! the register, the activation rule, links to risks, AI systems and SoA rows, and the
//! dashboard's supplier figures.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, Condition, QueryFilter};
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::supplier::{
    self as rules, AssessmentResult, Criticality, MAX_AI_COMPONENTS, MAX_LINKS, SupplierStatus,
};
use crate::domain::{self, MAX_NAME, MAX_TEXT};
use crate::entity::{
    StringList, ai_system, control, incident, risk, supplier, supplier_ai_system, supplier_assessment,
    supplier_control, supplier_risk,
};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::org::check_version;
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::scope::describe_references;
use crate::store::tenancy::{Actor, Gate, Granted, MultiReader, Writer, now};

const NAME_TAKEN: &str = "a supplier with that name already exists";

/// The supplier's links, each replacing the current ones when given.
#[derive(Default)]
pub struct Links<'a> {
    pub risk_ids: Option<&'a [Uuid]>,
    pub ai_system_ids: Option<&'a [Uuid]>,
    pub control_ids: Option<&'a [Uuid]>,
}

fn dedup(field: &str, ids: &[Uuid]) -> AppResult<Vec<Uuid>> {
    let mut v = ids.to_vec();
    v.sort();
    v.dedup();
    if v.len() > MAX_LINKS {
        return Err(AppError::bad_input(field, format!("{field} takes at most {MAX_LINKS} entries")));
    }
    Ok(v)
}

/// Replaces the links of one kind: every id must be of this organization (another
/// tenant's looks missing).
macro_rules! relink {
    ($w:expr, $supplier:expr, $ids:expr, $field:literal, $target:ident, $link:ident, $col:ident) => {{
        let ids = dedup($field, $ids)?;
        if !ids.is_empty() {
            let found = $w.find::<$target::Entity>()?.filter($target::Column::Id.is_in(ids.clone())).count().await?;
            if found != ids.len() as u64 {
                return Err(AppError::bad_input($field, concat!($field, ": no such object in this organization")));
            }
        }
        let current: Vec<Uuid> = $w
            .find::<$link::Entity>()?
            .filter($link::Column::SupplierId.eq($supplier))
            .all()
            .await?
            .into_iter()
            .map(|l| l.$col)
            .collect();
        let mut sorted = current.clone();
        sorted.sort();
        if sorted != ids {
            $w.delete_where::<$link::Entity>(Condition::all().add($link::Column::SupplierId.eq($supplier))).await?;
            let at = now();
            $w.insert_many(
                ids.iter()
                    .map(|id| $link::ActiveModel {
                        organization_id: NotSet,
                        supplier_id: Set($supplier),
                        $col: Set(*id),
                        created_at: Set(at),
                    })
                    .collect(),
            )
            .await?;
            Some((sorted, ids))
        } else {
            None
        }
    }};
}

/// Applies the links given; the changes, for the trail.
async fn apply_links(
    w: &Writer,
    supplier: Uuid,
    links: &Links<'_>,
) -> AppResult<serde_json::Map<String, serde_json::Value>> {
    let mut changed = serde_json::Map::new();
    let mut note = |name: &str, c: Option<(Vec<Uuid>, Vec<Uuid>)>| {
        if let Some((before, after)) = c {
            changed.insert(name.to_string(), serde_json::json!({ "before": before, "after": after }));
        }
    };
    if let Some(ids) = links.risk_ids {
        note("risk_ids", relink!(w, supplier, ids, "riskIds", risk, supplier_risk, risk_id));
    }
    if let Some(ids) = links.ai_system_ids {
        note("ai_system_ids", relink!(w, supplier, ids, "aiSystemIds", ai_system, supplier_ai_system, ai_system_id));
    }
    if let Some(ids) = links.control_ids {
        note("control_ids", relink!(w, supplier, ids, "controlIds", control, supplier_control, control_id));
    }
    Ok(changed)
}

fn ai_components(values: &[String]) -> AppResult<Vec<String>> {
    Ok(domain::clean_list("aiComponents", values, MAX_AI_COMPONENTS, MAX_NAME)?)
}

pub struct NewSupplier<'a> {
    pub name: &'a str,
    pub services: Option<&'a str>,
    pub criticality: Criticality,
    pub status: Option<SupplierStatus>,
    pub provides_ai: bool,
    pub ai_components: &'a [String],
    pub contract_ends_on: Option<NaiveDate>,
    pub owner: Option<&'a str>,
    pub links: Links<'a>,
}

pub async fn create(gate: &Gate, actor: &Actor, org: Uuid, n: NewSupplier<'_>) -> AppResult<Granted<supplier::Model>> {
    let name = domain::required_text("name", n.name, MAX_NAME)?;
    let services = domain::optional_text("services", n.services, MAX_TEXT)?;
    let owner = domain::optional_text("owner", n.owner, MAX_NAME)?;
    let components = ai_components(n.ai_components)?;
    let status = n.status.unwrap_or(SupplierStatus::Prospect);
    if status == SupplierStatus::Active {
        // A new supplier has no assessment yet.
        rules::check_activation(n.criticality, None)?;
    }
    let mut w = gate.write(actor, org, Operation::WriteSuppliers).await?;
    let at = now();
    let am = supplier::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        name: Set(name),
        services: Set(services),
        criticality: Set(n.criticality),
        status: Set(status),
        provides_ai: Set(n.provides_ai),
        ai_components: Set(StringList(components)),
        contract_ends_on: Set(n.contract_ends_on),
        owner: Set(owner),
        latest_result: Set(None),
        latest_assessed_on: Set(None),
        next_assessment_due: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<supplier::Entity, _>(am, NAME_TAKEN).await?;
    w.record_create(Kind::Supplier, m.id, &m).await?;
    let links = apply_links(&w, m.id, &n.links).await?;
    if !links.is_empty() {
        w.record_update(
            Kind::Supplier,
            m.id,
            &serde_json::json!({}),
            &serde_json::Value::Object(links.into_iter().map(|(k, v)| (k, v["after"].clone())).collect()),
        )
        .await?;
    }
    w.commit_with(m).await
}

/// Changes to a supplier: `None` leaves a field alone; an empty text clears an optional
/// one; `Some(None)` clears the contract end.
#[derive(Default)]
pub struct SupplierChanges<'a> {
    pub expected_version: Option<i32>,
    pub name: Option<&'a str>,
    pub services: Option<&'a str>,
    pub criticality: Option<Criticality>,
    pub status: Option<SupplierStatus>,
    pub provides_ai: Option<bool>,
    pub ai_components: Option<&'a [String]>,
    pub contract_ends_on: Option<Option<NaiveDate>>,
    pub owner: Option<&'a str>,
    pub links: Links<'a>,
}

pub async fn update(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    ch: SupplierChanges<'_>,
) -> AppResult<Granted<supplier::Model>> {
    let name = ch.name.map(|n| domain::required_text("name", n, MAX_NAME)).transpose()?;
    let services = domain::optional_text("services", ch.services, MAX_TEXT)?;
    let owner = domain::optional_text("owner", ch.owner, MAX_NAME)?;
    let components = ch.ai_components.map(ai_components).transpose()?;
    let (mut w, before) = gate.write_on::<supplier::Entity>(actor, id, Operation::WriteSuppliers).await?;
    check_version(ch.expected_version, before.version)?;
    let criticality = ch.criticality.unwrap_or(before.criticality);
    if ch.status == Some(SupplierStatus::Active) && before.status != SupplierStatus::Active {
        rules::check_activation(criticality, before.latest_result)?;
    }
    let mut am: supplier::ActiveModel = before.clone().into();
    if let Some(n) = name {
        am.name.set_ne(n);
    }
    if ch.services.is_some() {
        am.services.set_ne(services);
    }
    am.criticality.set_ne(criticality);
    if let Some(s) = ch.status {
        am.status.set_ne(s);
    }
    if let Some(p) = ch.provides_ai {
        am.provides_ai.set_ne(p);
    }
    if let Some(c) = components {
        am.ai_components.set_ne(StringList(c));
    }
    if let Some(d) = ch.contract_ends_on {
        am.contract_ends_on.set_ne(d);
    }
    if ch.owner.is_some() {
        am.owner.set_ne(owner);
    }
    let links = apply_links(&w, id, &ch.links).await?;
    let after = if sea_orm::ActiveModelTrait::is_changed(&am) {
        let after = w.update_unique(am, NAME_TAKEN).await?;
        w.record_update(Kind::Supplier, id, &before, &after).await?;
        after
    } else {
        before.clone()
    };
    if !links.is_empty() {
        let old: serde_json::Map<String, serde_json::Value> =
            links.iter().map(|(k, v)| (k.clone(), v["before"].clone())).collect();
        let new: serde_json::Map<String, serde_json::Value> =
            links.iter().map(|(k, v)| (k.clone(), v["after"].clone())).collect();
        w.record_update(Kind::Supplier, id, &old, &new).await?;
    }
    w.commit_with(after).await
}

/// Deletes a supplier that nothing references: refused (`CONFLICT`) while incidents name
/// it or assessments record it (offboard it instead); its links go with it.
pub async fn delete(gate: &Gate, actor: &Actor, id: Uuid) -> AppResult<Granted<supplier::Model>> {
    let (mut w, before) = gate.write_on::<supplier::Entity>(actor, id, Operation::WriteSuppliers).await?;
    let incidents = w.find::<incident::Entity>()?.filter(incident::Column::SupplierId.eq(id)).count().await?;
    let assessments =
        w.find::<supplier_assessment::Entity>()?.filter(supplier_assessment::Column::SupplierId.eq(id)).count().await?;
    if let Some(what) =
        describe_references(&[(incidents, "incident", "incidents"), (assessments, "assessment", "assessments")])
    {
        return Err(AppError::Conflict(format!(
            "the supplier is referenced by {what}; set its status to OFFBOARDED instead"
        )));
    }
    let by_supplier = |c| Condition::all().add(c);
    w.delete_where::<supplier_risk::Entity>(by_supplier(supplier_risk::Column::SupplierId.eq(id))).await?;
    w.delete_where::<supplier_ai_system::Entity>(by_supplier(supplier_ai_system::Column::SupplierId.eq(id))).await?;
    w.delete_where::<supplier_control::Entity>(by_supplier(supplier_control::Column::SupplierId.eq(id))).await?;
    w.delete::<supplier::Entity>(id).await?;
    w.record_delete(Kind::Supplier, id, &before).await?;
    w.commit_with(before).await
}

pub struct NewAssessment<'a> {
    pub assessed_on: NaiveDate,
    pub assessor: &'a str,
    pub result: AssessmentResult,
    pub conditions: Option<&'a str>,
    pub notes: Option<&'a str>,
    pub next_review_on: Option<NaiveDate>,
}

/// Records an assessment of a supplier; the newest one (by `assessedOn`) is the
/// supplier's latest, which the activation rule and `nextAssessmentDue` read.
pub async fn add_assessment(
    gate: &Gate,
    actor: &Actor,
    supplier_id: Uuid,
    n: NewAssessment<'_>,
) -> AppResult<Granted<supplier_assessment::Model>> {
    let assessor = domain::required_text("assessor", n.assessor, MAX_NAME)?;
    let conditions = domain::optional_text("conditions", n.conditions, MAX_TEXT)?;
    let notes = domain::optional_text("notes", n.notes, MAX_TEXT)?;
    rules::check_assessment(n.assessed_on, n.next_review_on, n.result, conditions.is_some(), now().date_naive())?;
    let (mut w, s) = gate.write_on::<supplier::Entity>(actor, supplier_id, Operation::WriteSuppliers).await?;
    let at = now();
    let am = supplier_assessment::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        supplier_id: Set(supplier_id),
        assessed_on: Set(n.assessed_on),
        assessor: Set(assessor),
        result: Set(n.result),
        conditions: Set(conditions),
        notes: Set(notes),
        next_review_on: Set(n.next_review_on),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<supplier_assessment::Entity, _>(am, "that assessment is already recorded").await?;
    w.record_create(Kind::SupplierAssessment, m.id, &m).await?;
    if rules::is_latest(m.assessed_on, s.latest_assessed_on) {
        let mut sam: supplier::ActiveModel = s.clone().into();
        sam.latest_result.set_ne(Some(m.result));
        sam.latest_assessed_on.set_ne(Some(m.assessed_on));
        sam.next_assessment_due.set_ne(m.next_review_on);
        if sea_orm::ActiveModelTrait::is_changed(&sam) {
            let after = w.update(sam).await?;
            w.record_update(Kind::Supplier, supplier_id, &s, &after).await?;
        }
    }
    w.commit_with(m).await
}

/// A supplier of this organization (another tenant's looks missing), for links to it.
pub(in crate::store) async fn expect_supplier(w: &Writer, id: Option<Uuid>) -> AppResult<()> {
    if let Some(id) = id
        && w.get::<supplier::Entity>(id).await?.is_none()
    {
        return Err(AppError::bad_input("supplierId", "no such supplier in this organization"));
    }
    Ok(())
}

#[derive(Default)]
pub struct SupplierFilter {
    pub statuses: Vec<SupplierStatus>,
    pub criticality: Option<Criticality>,
    pub provides_ai: Option<bool>,
    /// Next assessment due before `today`, not OFFBOARDED.
    pub assessment_overdue: Option<bool>,
}

pub const SUPPLIER_ORDER: &str = "suppliers:NAME";

/// Suppliers by name.
pub async fn list(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    f: &SupplierFilter,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<supplier::Model>> {
    use supplier::Column as C;
    let r = gate.read(actor, org, Operation::ReadSuppliers).await?;
    let mut q = r.find::<supplier::Entity>()?;
    if !f.statuses.is_empty() {
        q = q.filter(C::Status.is_in(f.statuses.iter().copied()));
    }
    if let Some(c) = f.criticality {
        q = q.filter(C::Criticality.eq(c));
    }
    if let Some(p) = f.provides_ai {
        q = q.filter(C::ProvidesAi.eq(p));
    }
    match f.assessment_overdue {
        Some(true) => q = q.filter(overdue_condition(now().date_naive())),
        Some(false) => q = q.filter(overdue_condition(now().date_naive()).not()),
        None => {}
    }
    let sort = Sort::by(SUPPLIER_ORDER, C::Name, false, C::Id, false);
    q.page(&sort, args, want_total, |m| SortValue::Text(m.name.clone()), |m| m.id).await
}

/// Not OFFBOARDED and the latest assessment's next review before `today`.
pub fn overdue_condition(today: NaiveDate) -> Condition {
    use supplier::Column as C;
    Condition::all()
        .add(C::Status.ne(SupplierStatus::Offboarded))
        .add(C::NextAssessmentDue.is_not_null())
        .add(C::NextAssessmentDue.lt(today))
}

/// AI suppliers (not OFFBOARDED) whose latest assessment is missing or not APPROVED
/// (ISO 42001 A.10.3).
pub fn ai_unapproved_condition() -> Condition {
    use supplier::Column as C;
    Condition::all()
        .add(C::ProvidesAi.eq(true))
        .add(C::Status.ne(SupplierStatus::Offboarded))
        .add(Condition::any().add(C::LatestResult.is_null()).add(C::LatestResult.ne(AssessmentResult::Approved)))
}

/// The two supplier figures of the dashboard: overdue assessments and AI suppliers
/// without an approved assessment, per organization (one grouped statement).
pub async fn dashboard_counts(r: &MultiReader, today: NaiveDate) -> AppResult<HashMap<Uuid, (u64, u64)>> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::{Expr, ExprTrait};
    use supplier::Column as C;
    let mut out = HashMap::new();
    if r.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(Uuid, i64, i64)> = r
        .find::<supplier::Entity>()?
        .filter(C::Status.ne(SupplierStatus::Offboarded))
        .select_only()
        .column(C::OrganizationId)
        .expr_as(Expr::case(overdue_condition(today), 1).finally(0).sum(), "overdue")
        .expr_as(Expr::case(ai_unapproved_condition(), 1).finally(0).sum(), "ai")
        .group_by(C::OrganizationId)
        .tuples()
        .await?;
    for (org, overdue, ai) in rows {
        out.insert(org, (overdue as u64, ai as u64));
    }
    Ok(out)
}
