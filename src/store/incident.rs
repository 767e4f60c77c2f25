//! Incidents (ISO 27001 A.5.24-A.5.28; ISO 42001 A.3.3, A.8.4): reporting, the workflow,
//! the ticketing sync by external reference, nonconformities raised from incidents, and
//! the dashboard's incident figures.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::incident::{
    self as rules, AiHarm, IncidentKind, IncidentSeverity, IncidentStatus, MAX_AFFECTED_CONTROLS,
};
use crate::domain::ncr::{ExternalRef, Source};
use crate::domain::{self, MAX_NAME, MAX_TEXT, MAX_TITLE};
use crate::entity::{HarmList, IdList, ai_system, control, incident, nonconformity};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::audit::record_move;
use crate::store::org::check_version;
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::tenancy::{Actor, Gate, Granted, MultiReader, Writer, now};

const TICKET_TAKEN: &str = "that ticket is already linked to an incident";

fn has_text(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|t| !t.trim().is_empty())
}

/// The AI system must be one of this organization's (another tenant's looks missing).
async fn check_ai_system(w: &Writer, id: Option<Uuid>) -> AppResult<()> {
    if let Some(id) = id
        && w.get::<ai_system::Entity>(id).await?.is_none()
    {
        return Err(AppError::bad_input("aiSystemId", "no such AI system in this organization"));
    }
    Ok(())
}

/// The affected SoA rows: at most 50, each one of this organization's.
async fn check_controls(w: &Writer, ids: &[Uuid]) -> AppResult<Vec<Uuid>> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    if ids.len() > MAX_AFFECTED_CONTROLS {
        return Err(AppError::bad_input(
            "affectedControlIds",
            format!("an incident names at most {MAX_AFFECTED_CONTROLS} affected controls"),
        ));
    }
    if ids.is_empty() {
        return Ok(ids);
    }
    let found = w.find::<control::Entity>()?.filter(control::Column::Id.is_in(ids.clone())).count().await?;
    if found != ids.len() as u64 {
        return Err(AppError::bad_input("affectedControlIds", "no such control (SoA row) in this organization"));
    }
    Ok(ids)
}

/// Sets the durations the dashboard averages from the times of `am`.
fn set_durations(am: &mut incident::ActiveModel, m: &incident::Model) {
    let contain = m.contained_at.map(|t| rules::seconds_between(m.detected_at, t));
    let resolve = m.resolved_at.map(|t| rules::seconds_between(m.detected_at, t));
    am.seconds_to_contain.set_ne(contain);
    am.seconds_to_resolve.set_ne(resolve);
}

/// What a new incident records (validated).
struct Content {
    title: String,
    description: Option<String>,
    kind: IncidentKind,
    harms: Vec<AiHarm>,
    severity: IncidentSeverity,
    detected_at: DateTime<Utc>,
    ai_system_id: Option<Uuid>,
    supplier_id: Option<Uuid>,
    affected: Vec<Uuid>,
    external: Option<ExternalRef>,
    external_status: Option<String>,
}

async fn insert(w: &mut Writer, c: Content) -> AppResult<incident::Model> {
    let at = now();
    rules::check_detected_at(c.detected_at, at)?;
    let am = incident::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        title: Set(c.title),
        description: Set(c.description),
        kind: Set(c.kind),
        ai_harms: Set(HarmList(c.harms)),
        severity: Set(c.severity),
        status: Set(IncidentStatus::Reported),
        detected_at: Set(c.detected_at),
        reported_at: Set(at),
        triaged_at: Set(None),
        contained_at: Set(None),
        resolved_at: Set(None),
        closed_at: Set(None),
        seconds_to_contain: Set(None),
        seconds_to_resolve: Set(None),
        ai_system_id: Set(c.ai_system_id),
        supplier_id: Set(c.supplier_id),
        affected_control_ids: Set(IdList(c.affected)),
        ticket_synced: Set(c.external.is_some()),
        external_system: Set(c.external.as_ref().map(|e| e.system.clone())),
        external_key: Set(c.external.as_ref().map(|e| e.key.clone())),
        external_url: Set(c.external.and_then(|e| e.url)),
        external_status: Set(c.external_status),
        lessons_learned: Set(None),
        nonconformity_id: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<incident::Entity, _>(am, TICKET_TAKEN).await?;
    w.record_create(Kind::Incident, m.id, &m).await?;
    Ok(m)
}

pub struct NewIncident<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub kind: IncidentKind,
    pub ai_harms: &'a [AiHarm],
    pub severity: IncidentSeverity,
    /// `None`: now.
    pub detected_at: Option<DateTime<Utc>>,
    pub ai_system_id: Option<Uuid>,
    pub affected_control_ids: &'a [Uuid],
    pub supplier_id: Option<Uuid>,
}

/// Reports an incident (status REPORTED, `reportedAt` now).
pub async fn report(gate: &Gate, actor: &Actor, org: Uuid, n: NewIncident<'_>) -> AppResult<Granted<incident::Model>> {
    let title = domain::required_text("title", n.title, MAX_TITLE)?;
    let description = domain::optional_text("description", n.description, MAX_TEXT)?;
    let harms = rules::check_harms(n.kind, n.ai_harms)?;
    let mut w = gate.write(actor, org, Operation::ReportIncidents).await?;
    check_ai_system(&w, n.ai_system_id).await?;
    crate::store::supplier::expect_supplier(&w, n.supplier_id).await?;
    let affected = check_controls(&w, n.affected_control_ids).await?;
    let content = Content {
        title,
        description,
        kind: n.kind,
        harms,
        severity: n.severity,
        detected_at: n.detected_at.unwrap_or_else(now),
        ai_system_id: n.ai_system_id,
        supplier_id: n.supplier_id,
        affected,
        external: None,
        external_status: None,
    };
    let m = insert(&mut w, content).await?;
    w.commit_with(m).await
}

/// Changes to an incident: `None` leaves a field alone; an empty text clears an optional
/// one; `Some(None)` clears a link.
#[derive(Default)]
pub struct IncidentChanges<'a> {
    pub expected_version: Option<i32>,
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub kind: Option<IncidentKind>,
    pub ai_harms: Option<&'a [AiHarm]>,
    pub severity: Option<IncidentSeverity>,
    pub detected_at: Option<DateTime<Utc>>,
    pub ai_system_id: Option<Option<Uuid>>,
    pub affected_control_ids: Option<&'a [Uuid]>,
    pub lessons_learned: Option<&'a str>,
    pub supplier_id: Option<Option<Uuid>>,
}

pub async fn update(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    ch: IncidentChanges<'_>,
) -> AppResult<Granted<incident::Model>> {
    let title = ch.title.map(|t| domain::required_text("title", t, MAX_TITLE)).transpose()?;
    let description = domain::optional_text("description", ch.description, MAX_TEXT)?;
    let lessons = domain::optional_text("lessonsLearned", ch.lessons_learned, MAX_TEXT)?;
    // A ticket's incident is the ticket system's to sync; any other needs the general right.
    let (w, before) = gate.write_on::<incident::Entity>(actor, id, Operation::SyncIncidents).await?;
    if !before.ticket_synced {
        w.require(Operation::WriteIncidents)?;
    }
    update_on(w, before, ch, title, description, lessons).await
}

async fn update_on(
    mut w: Writer,
    before: incident::Model,
    ch: IncidentChanges<'_>,
    title: Option<String>,
    description: Option<String>,
    lessons: Option<String>,
) -> AppResult<Granted<incident::Model>> {
    let id = before.id;
    check_version(ch.expected_version, before.version)?;
    if before.status == IncidentStatus::Closed {
        return Err(AppError::bad_input("id", "the incident is CLOSED: closed incidents are records"));
    }
    let kind = ch.kind.unwrap_or(before.kind);
    let harms = rules::check_harms(kind, ch.ai_harms.unwrap_or(&before.ai_harms.0))?;
    let detected_at = ch.detected_at.unwrap_or(before.detected_at);
    rules::check_detected_at(detected_at, before.reported_at)?;
    if let Some(ai) = ch.ai_system_id {
        check_ai_system(&w, ai).await?;
    }
    if let Some(s) = ch.supplier_id {
        crate::store::supplier::expect_supplier(&w, s).await?;
    }
    let affected = match ch.affected_control_ids {
        Some(ids) => Some(check_controls(&w, ids).await?),
        None => None,
    };
    let mut am: incident::ActiveModel = before.clone().into();
    if let Some(t) = title {
        am.title.set_ne(t);
    }
    if ch.description.is_some() {
        am.description.set_ne(description);
    }
    am.kind.set_ne(kind);
    am.ai_harms.set_ne(HarmList(harms));
    if let Some(s) = ch.severity {
        am.severity.set_ne(s);
    }
    am.detected_at.set_ne(detected_at);
    if let Some(ai) = ch.ai_system_id {
        am.ai_system_id.set_ne(ai);
    }
    if let Some(s) = ch.supplier_id {
        am.supplier_id.set_ne(s);
    }
    if let Some(a) = affected {
        am.affected_control_ids.set_ne(IdList(a));
    }
    if ch.lessons_learned.is_some() {
        am.lessons_learned.set_ne(lessons);
    }
    let timed = incident::Model { detected_at, ..before.clone() };
    set_durations(&mut am, &timed);
    if !sea_orm::ActiveModelTrait::is_changed(&am) {
        return w.commit_with(before).await;
    }
    let after = w.update(am).await?;
    w.record_update(Kind::Incident, id, &before, &after).await?;
    w.commit_with(after).await
}

/// Sets the status and the time of the move to `to` on `am` (never before `detectedAt`).
fn apply_move(am: &mut incident::ActiveModel, m: &incident::Model, to: IncidentStatus, at: DateTime<Utc>) {
    let at = rules::move_time(m.detected_at, at);
    am.status = Set(to);
    match to {
        IncidentStatus::Triaged => am.triaged_at = Set(Some(at)),
        IncidentStatus::Contained => am.contained_at = Set(Some(at)),
        IncidentStatus::Resolved => am.resolved_at = Set(Some(at)),
        IncidentStatus::Closed => am.closed_at = Set(Some(at)),
        IncidentStatus::Reported => {}
    }
}

/// The model as `am` will leave it (times and status), for the durations.
fn moved_model(m: &incident::Model, am: &incident::ActiveModel) -> incident::Model {
    let get = |v: &sea_orm::ActiveValue<Option<DateTime<Utc>>>, old: Option<DateTime<Utc>>| match v {
        sea_orm::ActiveValue::Set(x) | sea_orm::ActiveValue::Unchanged(x) => *x,
        sea_orm::ActiveValue::NotSet => old,
    };
    incident::Model {
        contained_at: get(&am.contained_at, m.contained_at),
        resolved_at: get(&am.resolved_at, m.resolved_at),
        ..m.clone()
    }
}

/// One step of the workflow (ISO 27001 A.5.25-A.5.27). `lessons_learned` may be given
/// with the move to CLOSED.
pub async fn transition(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    to: IncidentStatus,
    note: Option<&str>,
    lessons_learned: Option<&str>,
    expected_version: Option<i32>,
) -> AppResult<Granted<incident::Model>> {
    let note = domain::optional_text("note", note, MAX_TEXT)?;
    let lessons = domain::optional_text("lessonsLearned", lessons_learned, MAX_TEXT)?;
    if lessons.is_some() && to != IncidentStatus::Closed {
        return Err(AppError::bad_input("lessonsLearned", "lessonsLearned is given with the move to CLOSED"));
    }
    let (mut w, before) = gate.write_on::<incident::Entity>(actor, id, Operation::WriteIncidents).await?;
    check_version(expected_version, before.version)?;
    let from = before.status;
    rules::check_transition(from, to, lessons.is_some() || has_text(&before.lessons_learned))?;
    let mut am: incident::ActiveModel = before.clone().into();
    if lessons.is_some() {
        am.lessons_learned = Set(lessons);
    }
    apply_move(&mut am, &before, to, now());
    let moved = moved_model(&before, &am);
    set_durations(&mut am, &moved);
    let after = w.update(am).await?;
    record_move(&mut w, Kind::Incident, id, from.as_str(), to.as_str(), note.as_deref()).await?;
    w.record_update(Kind::Incident, id, &before, &after).await?;
    w.commit_with(after).await
}

pub struct UpsertIncident<'a> {
    pub external_ref: ExternalRef,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub kind: Option<IncidentKind>,
    pub ai_harms: Option<&'a [AiHarm]>,
    pub severity: Option<IncidentSeverity>,
    pub detected_at: Option<DateTime<Utc>>,
    pub external_status: Option<&'a str>,
    pub external_resolved: Option<bool>,
}

/// Creates or updates the incident of one ticket, in one transaction under the tenant's
/// writer lock (the unique index on (organization, system, key) backs it up): retried or
/// concurrent deliveries never make a second incident, and a repeated delivery writes
/// nothing. `true` when the incident was created.
pub async fn upsert_by_external_ref(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    input: UpsertIncident<'_>,
) -> AppResult<Granted<(incident::Model, bool)>> {
    let ext = input.external_ref;
    let title = domain::required_text("title", input.title, MAX_TITLE)?;
    let description = domain::optional_text("description", input.description, MAX_TEXT)?;
    let ext_status = domain::optional_text("externalStatus", input.external_status, MAX_NAME)?;
    let mut w = gate.write(actor, org, Operation::SyncIncidents).await?;
    let existing = w
        .find::<incident::Entity>()?
        .filter(incident::Column::ExternalSystem.eq(ext.system.as_str()))
        .filter(incident::Column::ExternalKey.eq(ext.key.as_str()))
        .one()
        .await?;
    let (before, created) = match existing {
        Some(m) => (m, false),
        None => {
            let Some(severity) = input.severity else {
                return Err(AppError::bad_input("severity", "severity is required when the ticket is new"));
            };
            let Some(kind) = input.kind else {
                return Err(AppError::bad_input("kind", "kind is required when the ticket is new"));
            };
            let content = Content {
                title: title.clone(),
                description: description.clone(),
                kind,
                harms: rules::check_harms(kind, input.ai_harms.unwrap_or_default())?,
                severity,
                detected_at: input.detected_at.unwrap_or_else(now),
                ai_system_id: None,
                supplier_id: None,
                affected: Vec::new(),
                external: Some(ext.clone()),
                external_status: ext_status.clone(),
            };
            (insert(&mut w, content).await?, true)
        }
    };
    let status = before.status;
    let mut am: incident::ActiveModel = before.clone().into();
    let kind = input.kind.unwrap_or(before.kind);
    am.title.set_ne(title);
    if input.description.is_some() {
        am.description.set_ne(description);
    }
    am.kind.set_ne(kind);
    if input.kind.is_some() || input.ai_harms.is_some() {
        let harms = rules::check_harms(kind, input.ai_harms.unwrap_or(&before.ai_harms.0))?;
        am.ai_harms.set_ne(HarmList(harms));
    }
    if let Some(s) = input.severity {
        am.severity.set_ne(s);
    }
    if let Some(d) = input.detected_at {
        rules::check_detected_at(d, before.reported_at)?;
        am.detected_at.set_ne(d);
    }
    if status == IncidentStatus::Closed {
        // A closed incident is a record: the ticket may still report its state, not rewrite it.
        if let Some(field) = [
            (am.title.is_set(), "title"),
            (am.description.is_set(), "description"),
            (am.kind.is_set(), "kind"),
            (am.ai_harms.is_set(), "aiHarms"),
            (am.severity.is_set(), "severity"),
            (am.detected_at.is_set(), "detectedAt"),
        ]
        .iter()
        .find_map(|(set, f)| set.then_some(*f))
        {
            return Err(AppError::bad_input(field, "the incident is CLOSED: only the ticket's state is synced"));
        }
    }
    if ext.url.is_some() {
        am.external_url.set_ne(ext.url.clone());
    }
    if input.external_status.is_some() {
        am.external_status.set_ne(ext_status);
    }
    // A ticket reported resolved moves its incident forward, one recorded step at a time,
    // at most to RESOLVED (closing needs the lessons learned, a person's call).
    let steps = if input.external_resolved == Some(true) { rules::advance_to_resolved(status) } else { Vec::new() };
    let at = now();
    for s in &steps {
        apply_move(&mut am, &before, *s, at);
    }
    let detected = match &am.detected_at {
        sea_orm::ActiveValue::Set(d) | sea_orm::ActiveValue::Unchanged(d) => *d,
        sea_orm::ActiveValue::NotSet => before.detected_at,
    };
    let moved = incident::Model { detected_at: detected, ..moved_model(&before, &am) };
    set_durations(&mut am, &moved);
    if !sea_orm::ActiveModelTrait::is_changed(&am) {
        return w.commit_with((before, created)).await;
    }
    let after = w.update(am).await?;
    let note = format!("ticket {}:{} reported resolved", ext.system, ext.key);
    let mut from = status;
    for s in &steps {
        record_move(&mut w, Kind::Incident, before.id, from.as_str(), s.as_str(), Some(&note)).await?;
        from = *s;
    }
    w.record_update(Kind::Incident, before.id, &before, &after).await?;
    w.commit_with((after, created)).await
}

/// Raises the nonconformity of an incident (source INCIDENT, graded by the incident's
/// severity) and links the two; raising again returns the same one (`false`: nothing was
/// created).
pub async fn raise_nonconformity(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
) -> AppResult<Granted<(incident::Model, nonconformity::Model, bool)>> {
    let (mut w, before) = gate.write_on::<incident::Entity>(actor, id, Operation::RaiseIncidentNonconformity).await?;
    if let Some(ncr) = before.nonconformity_id {
        let n = w.get::<nonconformity::Entity>(ncr).await?.ok_or_else(|| AppError::internal("linked NCR vanished"))?;
        return w.commit_with((before, n, false)).await;
    }
    let description = Some(match &before.description {
        Some(d) => format!("Raised from incident \"{}\": {d}", before.title),
        None => format!("Raised from incident \"{}\".", before.title),
    });
    let ncr = crate::store::ncr::insert_raised(
        &mut w,
        before.title.clone(),
        description,
        Source::Incident,
        before.severity.ncr_severity(),
    )
    .await?;
    let mut am: incident::ActiveModel = before.clone().into();
    am.nonconformity_id = Set(Some(ncr.id));
    let after = w.update(am).await?;
    w.record_update(Kind::Incident, id, &before, &after).await?;
    w.commit_with((after, ncr, true)).await
}

#[derive(Default)]
pub struct IncidentFilter {
    pub statuses: Vec<IncidentStatus>,
    pub kind: Option<IncidentKind>,
    pub severity: Option<IncidentSeverity>,
    /// Not yet RESOLVED (`true`) or RESOLVED / CLOSED (`false`).
    pub open: Option<bool>,
    pub ai_system_id: Option<Uuid>,
    pub supplier_id: Option<Uuid>,
}

pub const INCIDENT_ORDER: &str = "incidents:DETECTED_AT_DESC";

/// Incidents, most recently detected first.
pub async fn list(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    f: &IncidentFilter,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<incident::Model>> {
    use incident::Column as C;
    let r = gate.read(actor, org, Operation::ReadIncidents).await?;
    let mut q = r.find::<incident::Entity>()?;
    if !f.statuses.is_empty() {
        q = q.filter(C::Status.is_in(f.statuses.iter().copied()));
    }
    if let Some(k) = f.kind {
        q = q.filter(C::Kind.eq(k));
    }
    if let Some(s) = f.severity {
        q = q.filter(C::Severity.eq(s));
    }
    match f.open {
        Some(true) => q = q.filter(C::Status.is_in(IncidentStatus::OPEN)),
        Some(false) => q = q.filter(C::Status.is_not_in(IncidentStatus::OPEN)),
        None => {}
    }
    if let Some(a) = f.ai_system_id {
        q = q.filter(C::AiSystemId.eq(a));
    }
    if let Some(s) = f.supplier_id {
        q = q.filter(C::SupplierId.eq(s));
    }
    let sort = Sort::by(INCIDENT_ORDER, C::DetectedAt, false, C::Id, true);
    q.page(&sort, args, want_total, |m| SortValue::Time(m.detected_at), |m| m.id).await
}

// ---------------------------------------------------------------------------------------
// Dashboard

/// Open (not yet RESOLVED) incidents per (severity, kind), per organization.
pub async fn open_counts(r: &MultiReader) -> AppResult<HashMap<Uuid, Vec<(IncidentSeverity, IncidentKind, u64)>>> {
    use incident::Column as C;
    let mut out: HashMap<Uuid, Vec<(IncidentSeverity, IncidentKind, u64)>> = HashMap::new();
    if r.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(Uuid, IncidentSeverity, IncidentKind, i64)> = r
        .find::<incident::Entity>()?
        .filter(C::Status.is_in(IncidentStatus::OPEN))
        .select_only()
        .column(C::OrganizationId)
        .column(C::Severity)
        .column(C::Kind)
        .column_as(C::Id.count(), "n")
        .group_by(C::OrganizationId)
        .group_by(C::Severity)
        .group_by(C::Kind)
        .tuples()
        .await?;
    for (org, s, k, n) in rows {
        out.entry(org).or_default().push((s, k, n as u64));
    }
    Ok(out)
}

/// Mean seconds from detection to containment and to resolution, over the incidents
/// contained (resolved) at or after `since`; `None` when there is none.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MeanTimes {
    pub to_contain: Option<f64>,
    pub to_resolve: Option<f64>,
}

pub async fn mean_times(r: &MultiReader, since: DateTime<Utc>) -> AppResult<HashMap<Uuid, MeanTimes>> {
    use incident::Column as C;
    let mut out = HashMap::new();
    if r.is_empty() {
        return Ok(out);
    }
    let contained = || Expr::col(C::ContainedAt).gte(since).and(Expr::col(C::SecondsToContain).is_not_null());
    let resolved = || Expr::col(C::ResolvedAt).gte(since).and(Expr::col(C::SecondsToResolve).is_not_null());
    let rows: Vec<(Uuid, i64, i64, i64, i64)> = r
        .find::<incident::Entity>()?
        .filter(Condition::any().add(C::ContainedAt.gte(since)).add(C::ResolvedAt.gte(since)))
        .select_only()
        .column(C::OrganizationId)
        .expr_as(Expr::case(contained(), Expr::col(C::SecondsToContain)).finally(0).sum(), "contain_sum")
        .expr_as(Expr::case(contained(), 1).finally(0).sum(), "contain_n")
        .expr_as(Expr::case(resolved(), Expr::col(C::SecondsToResolve)).finally(0).sum(), "resolve_sum")
        .expr_as(Expr::case(resolved(), 1).finally(0).sum(), "resolve_n")
        .group_by(C::OrganizationId)
        .tuples()
        .await?;
    let mean = |sum: i64, n: i64| (n > 0).then(|| sum as f64 / n as f64);
    for (org, cs, cn, rs, rn) in rows {
        out.insert(org, MeanTimes { to_contain: mean(cs, cn), to_resolve: mean(rs, rn) });
    }
    Ok(out)
}
