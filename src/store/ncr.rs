//! Nonconformities and corrective actions (clause 10.2), raising NCRs from findings, and
//! the ticketing sync by external reference.

use chrono::NaiveDate;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::audit::ncr_source;
use crate::domain::ncr::{
    self as rules, ActionStatus, ExternalRef, Facts, NcrStatus, Severity, Source, advance_towards_verification,
};
use crate::domain::refs::{self, Standard};
use crate::domain::{self, MAX_NAME, MAX_TEXT, MAX_TITLE};
use crate::entity::{IdList, StringList, audit, corrective_action, finding, nonconformity};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::audit::{in_catalog, record_move, split_keys};
use crate::store::catalog::Catalog;
use crate::store::org::check_version;
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::tenancy::{Actor, Gate, Granted, Writer, now};

/// Corrective actions of one nonconformity (`Nonconformity.correctiveActions` lists them all).
pub const MAX_ACTIONS: usize = 20;

fn has_text(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|t| !t.trim().is_empty())
}

/// NCRs cover both standards: any catalog reference is accepted.
fn check_refs(catalog: &Catalog, values: &[String]) -> AppResult<Vec<String>> {
    Ok(refs::check_references("references", values, Standard::ALL, in_catalog(catalog))?)
}

async fn actions(w: &Writer, ncr: Uuid) -> AppResult<Vec<corrective_action::Model>> {
    w.find::<corrective_action::Entity>()?
        .filter(corrective_action::Column::NonconformityId.eq(ncr))
        .order_by_asc(corrective_action::Column::Id)
        .all()
        .await
}

async fn facts(w: &Writer, ncr: &nonconformity::Model) -> AppResult<Facts> {
    Ok(Facts {
        has_root_cause: has_text(&ncr.root_cause),
        has_effectiveness_review: has_text(&ncr.effectiveness_review),
        action_needed: ncr.action_needed,
        has_no_action_justification: has_text(&ncr.no_action_justification),
        actions: actions(w, ncr.id).await?.iter().map(|a| a.status).collect(),
    })
}

/// One NCR per ticket: (system, key) is unique per organization.
async fn ensure_ticket_free(w: &Writer, ext: &ExternalRef, except: Option<Uuid>) -> AppResult<()> {
    let mut q = w
        .find::<nonconformity::Entity>()?
        .filter(nonconformity::Column::ExternalSystem.eq(ext.system.as_str()))
        .filter(nonconformity::Column::ExternalKey.eq(ext.key.as_str()));
    if let Some(id) = except {
        q = q.filter(nonconformity::Column::Id.ne(id));
    }
    if q.one().await?.is_some() {
        return Err(AppError::Conflict(format!(
            "ticket {}:{} is already linked to another nonconformity",
            ext.system, ext.key
        )));
    }
    Ok(())
}

const TICKET_TAKEN: &str = "that ticket or finding is already linked to a nonconformity";

struct Content {
    title: String,
    description: Option<String>,
    source: Source,
    severity: Severity,
    refs: Vec<String>,
    owner: Option<String>,
    containment: Option<String>,
    finding_id: Option<Uuid>,
    external: Option<ExternalRef>,
    external_status: Option<String>,
    external_done: Option<bool>,
    analysis: Analysis,
}

/// The 10.2 fields beyond the wave-1 ones, as a new NCR records them.
#[derive(Default)]
struct Analysis {
    correction: Option<String>,
    /// `None`: needed (the default).
    no_action_justification: Option<Option<String>>,
    similar: Vec<Uuid>,
    management_system_changes: Option<String>,
}

/// Similar nonconformities given in input must be of the writer's organization
/// (10.2 b 3); `own` is the NCR itself (`None` when new).
async fn check_similar(w: &Writer, own: Option<Uuid>, ids: &[Uuid]) -> AppResult<Vec<Uuid>> {
    let ids = rules::check_similar(own.unwrap_or(Uuid::nil()), ids)?;
    if ids.is_empty() {
        return Ok(ids);
    }
    let found = w.find::<nonconformity::Entity>()?.filter(nonconformity::Column::Id.is_in(ids.clone())).count().await?;
    if found != ids.len() as u64 {
        return Err(AppError::bad_input(
            "similarNonconformityIds",
            "similarNonconformityIds: no such nonconformity in this organization",
        ));
    }
    Ok(ids)
}

async fn insert(w: &mut Writer, c: Content) -> AppResult<nonconformity::Model> {
    let at = now();
    let ticket_synced = c.external.is_some() && c.finding_id.is_none();
    let am = nonconformity::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        title: Set(c.title),
        description: Set(c.description),
        source: Set(c.source),
        severity: Set(c.severity),
        refs: Set(StringList(c.refs)),
        owner: Set(c.owner),
        containment: Set(c.containment),
        root_cause: Set(None),
        effectiveness_review: Set(None),
        status: Set(NcrStatus::Open),
        finding_id: Set(c.finding_id),
        external_system: Set(c.external.as_ref().map(|e| e.system.clone())),
        external_key: Set(c.external.as_ref().map(|e| e.key.clone())),
        external_url: Set(c.external.and_then(|e| e.url)),
        external_status: Set(c.external_status),
        external_done: Set(c.external_done),
        ticket_synced: Set(ticket_synced),
        closed_at: Set(None),
        correction: Set(c.analysis.correction),
        action_needed: Set(c.analysis.no_action_justification.is_none()),
        no_action_justification: Set(c.analysis.no_action_justification.flatten()),
        similar_nonconformity_ids: Set(IdList(c.analysis.similar)),
        management_system_changes: Set(c.analysis.management_system_changes),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<nonconformity::Entity, _>(am, TICKET_TAKEN).await?;
    w.record_create(Kind::Nonconformity, m.id, &m).await?;
    Ok(m)
}

pub struct NewNcr<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub source: Source,
    pub severity: Severity,
    pub references: &'a [String],
    pub owner: Option<&'a str>,
    pub containment: Option<&'a str>,
    pub external_ref: Option<ExternalRef>,
    pub correction: Option<&'a str>,
    /// `None`: needed (the default).
    pub action_needed: Option<bool>,
    pub no_action_justification: Option<&'a str>,
    pub similar_ids: &'a [Uuid],
    pub management_system_changes: Option<&'a str>,
}

pub async fn create(
    gate: &Gate,
    actor: &Actor,
    catalog: &Catalog,
    org: Uuid,
    input: NewNcr<'_>,
) -> AppResult<Granted<nonconformity::Model>> {
    let content = Content {
        title: domain::required_text("title", input.title, MAX_TITLE)?,
        description: domain::optional_text("description", input.description, MAX_TEXT)?,
        source: input.source,
        severity: input.severity,
        refs: check_refs(catalog, input.references)?,
        owner: domain::optional_text("owner", input.owner, MAX_NAME)?,
        containment: domain::optional_text("containment", input.containment, MAX_TEXT)?,
        finding_id: None,
        external: input.external_ref,
        external_status: None,
        external_done: None,
        analysis: Analysis::default(),
    };
    let justification = domain::optional_text("noActionJustification", input.no_action_justification, MAX_TEXT)?;
    let action_needed = input.action_needed.unwrap_or(true);
    rules::check_action_decision(NcrStatus::Open, action_needed, justification.as_deref())?;
    let analysis = Analysis {
        correction: domain::optional_text("correction", input.correction, MAX_TEXT)?,
        no_action_justification: (!action_needed).then_some(justification),
        similar: Vec::new(),
        management_system_changes: domain::optional_text(
            "managementSystemChanges",
            input.management_system_changes,
            MAX_TEXT,
        )?,
    };
    // A nonconformity opened with its ticket is the ticket system's to sync; any other
    // needs the general right (issue 9, 3).
    let op = if content.external.is_some() { Operation::SyncNonconformities } else { Operation::WriteNonconformities };
    let mut w = gate.write(actor, org, op).await?;
    if !action_needed {
        // Deciding that no action is needed is a person's evaluation (10.2 b), never a
        // ticket system's.
        w.require(Operation::WriteNonconformities)?;
    }
    if let Some(ext) = &content.external {
        ensure_ticket_free(&w, ext, None).await?;
    }
    let similar = check_similar(&w, None, input.similar_ids).await?;
    let m = insert(&mut w, Content { analysis: Analysis { similar, ..analysis }, ..content }).await?;
    w.commit_with(m).await
}

/// Changes to an NCR: `None` leaves a field alone; an empty text clears an optional one.
#[derive(Default)]
pub struct NcrChanges<'a> {
    pub expected_version: Option<i32>,
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub source: Option<Source>,
    pub severity: Option<Severity>,
    pub references: Option<&'a [String]>,
    pub owner: Option<&'a str>,
    pub containment: Option<&'a str>,
    pub root_cause: Option<&'a str>,
    pub effectiveness_review: Option<&'a str>,
    pub external_ref: Option<ExternalRef>,
    pub correction: Option<&'a str>,
    pub action_needed: Option<bool>,
    pub no_action_justification: Option<&'a str>,
    /// Replaces the list.
    pub similar_ids: Option<&'a [Uuid]>,
    pub management_system_changes: Option<&'a str>,
}

pub async fn update(
    gate: &Gate,
    actor: &Actor,
    catalog: &Catalog,
    id: Uuid,
    ch: NcrChanges<'_>,
) -> AppResult<Granted<nonconformity::Model>> {
    let text = |field: &str, v: Option<&str>| v.map(|t| domain::optional_text(field, Some(t), MAX_TEXT)).transpose();
    let title = ch.title.map(|t| domain::required_text("title", t, MAX_TITLE)).transpose()?;
    let description = text("description", ch.description)?;
    let owner = ch.owner.map(|o| domain::optional_text("owner", Some(o), MAX_NAME)).transpose()?;
    let containment = text("containment", ch.containment)?;
    let root_cause = text("rootCause", ch.root_cause)?;
    let review = text("effectivenessReview", ch.effectiveness_review)?;
    let correction = text("correction", ch.correction)?;
    let justification = text("noActionJustification", ch.no_action_justification)?;
    let ms_changes = text("managementSystemChanges", ch.management_system_changes)?;
    let references = ch.references.map(|r| check_refs(catalog, r)).transpose()?;
    let (mut w, before) = gate.write_on::<nonconformity::Entity>(actor, id, Operation::SyncNonconformities).await?;
    if !before.ticket_synced || ch.action_needed.is_some() || justification.is_some() {
        // The 10.2 b decision on the need for action is a person's evaluation.
        w.require(Operation::WriteNonconformities)?;
    }
    if review.is_some() {
        // ISO 27001 / 42001 10.2 d: reviewing effectiveness is a person's judgement.
        w.require(Operation::ReviewEffectiveness)?;
    }
    check_version(ch.expected_version, before.version)?;
    let status = before.status;
    rules::ensure_not_closed(status, "id")?;
    if let Some(rc) = &root_cause {
        rules::check_root_cause_kept(status, rc.as_deref())?;
    }
    if let Some(ext) = &ch.external_ref {
        ensure_ticket_free(&w, ext, Some(id)).await?;
    }
    let action_needed = ch.action_needed.unwrap_or(before.action_needed);
    let justification_after = justification.clone().unwrap_or_else(|| before.no_action_justification.clone());
    if ch.action_needed.is_some() || justification.is_some() {
        rules::check_action_decision(status, action_needed, justification_after.as_deref())?;
    }
    let similar = match ch.similar_ids {
        Some(ids) => Some(check_similar(&w, Some(id), ids).await?),
        None => None,
    };
    let mut am: nonconformity::ActiveModel = before.clone().into();
    if let Some(v) = correction {
        am.correction.set_ne(v);
    }
    am.action_needed.set_ne(action_needed);
    if let Some(v) = justification {
        am.no_action_justification.set_ne(v);
    } else if ch.action_needed == Some(true) {
        // Action is needed again: the earlier justification no longer holds (the audit
        // trail keeps it).
        am.no_action_justification.set_ne(None);
    }
    if let Some(v) = similar {
        am.similar_nonconformity_ids.set_ne(IdList(v));
    }
    if let Some(v) = ms_changes {
        am.management_system_changes.set_ne(v);
    }
    if let Some(v) = title {
        am.title.set_ne(v);
    }
    if let Some(v) = description {
        am.description.set_ne(v);
    }
    if let Some(v) = ch.source {
        am.source.set_ne(v);
    }
    if let Some(v) = ch.severity {
        am.severity.set_ne(v);
    }
    if let Some(v) = references {
        am.refs.set_ne(StringList(v));
    }
    if let Some(v) = owner {
        am.owner.set_ne(v);
    }
    if let Some(v) = containment {
        am.containment.set_ne(v);
    }
    if let Some(v) = root_cause {
        am.root_cause.set_ne(v);
    }
    if let Some(v) = review {
        am.effectiveness_review.set_ne(v);
    }
    if let Some(ext) = ch.external_ref {
        am.external_system.set_ne(Some(ext.system));
        am.external_key.set_ne(Some(ext.key));
        am.external_url.set_ne(ext.url);
    }
    if !sea_orm::ActiveModelTrait::is_changed(&am) {
        return w.commit_with(before).await;
    }
    let after = w.update(am).await?;
    w.record_update(Kind::Nonconformity, id, &before, &after).await?;
    w.commit_with(after).await
}

pub async fn transition(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    to: NcrStatus,
    note: Option<&str>,
    effectiveness_review: Option<&str>,
    expected_version: Option<i32>,
) -> AppResult<Granted<nonconformity::Model>> {
    let note = domain::optional_text("note", note, MAX_TEXT)?;
    let review = domain::optional_text("effectivenessReview", effectiveness_review, MAX_TEXT)?;
    if review.is_some() && to != NcrStatus::Closed {
        return Err(AppError::bad_input("effectivenessReview", "the effectiveness review is recorded when closing"));
    }
    // Closing is the verifier's call (ISO 27001 / 42001 10.2 d): its own permission.
    let op = if to == NcrStatus::Closed { Operation::CloseNonconformity } else { Operation::TransitionNonconformity };
    let (mut w, before) = gate.write_on::<nonconformity::Entity>(actor, id, op).await?;
    check_version(expected_version, before.version)?;
    let from = before.status;
    let mut f = facts(&w, &before).await?;
    f.has_effectiveness_review |= review.is_some();
    rules::check_transition(from, to, &f, note.as_deref())?;
    let mut am: nonconformity::ActiveModel = before.clone().into();
    am.status = Set(to);
    if review.is_some() {
        am.effectiveness_review = Set(review);
    }
    if to == NcrStatus::Closed {
        am.closed_at = Set(Some(now()));
    }
    let after = w.update(am).await?;
    record_move(&mut w, Kind::Nonconformity, id, from.as_str(), to.as_str(), note.as_deref()).await?;
    let moved = nonconformity::Model { status: after.status, ..before };
    w.record_update(Kind::Nonconformity, id, &moved, &after).await?;
    w.commit_with(after).await
}

/// Raises the NCR of a nonconformity finding; raising again returns the same NCR
/// (`false`: nothing was created).
pub async fn raise(gate: &Gate, actor: &Actor, finding_id: Uuid) -> AppResult<Granted<(nonconformity::Model, bool)>> {
    let (mut w, f) = gate.write_on::<finding::Entity>(actor, finding_id, Operation::RaiseNonconformity).await?;
    let finding_type = f.finding_type;
    let Some(severity) = finding_type.severity() else {
        return Err(AppError::bad_input(
            "findingId",
            format!("only nonconformity findings raise NCRs; this one is {}", finding_type.as_str()),
        ));
    };
    let existing =
        w.find::<nonconformity::Entity>()?.filter(nonconformity::Column::FindingId.eq(finding_id)).one().await?;
    if let Some(ncr) = existing {
        return w.commit_with((ncr, false)).await;
    }
    let audit = w.get::<audit::Entity>(f.audit_id).await?.ok_or_else(|| AppError::internal("finding without audit"))?;
    let content = Content {
        title: f.title,
        description: f.description,
        source: ncr_source(audit.audit_type),
        severity,
        refs: f.refs.0,
        owner: None,
        containment: None,
        finding_id: Some(finding_id),
        external: None,
        external_status: None,
        external_done: None,
        analysis: Analysis::default(),
    };
    let m = insert(&mut w, content).await?;
    w.commit_with((m, true)).await
}

pub struct UpsertNcr<'a> {
    pub external_ref: ExternalRef,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub source: Option<Source>,
    pub severity: Option<Severity>,
    pub references: Option<&'a [String]>,
    pub owner: Option<&'a str>,
    pub external_status: Option<&'a str>,
    pub external_done: Option<bool>,
}

/// Creates or updates the NCR of one ticket, in one transaction under the tenant's writer
/// lock (the unique index on (organization, system, key) backs it up), so retried or
/// concurrent deliveries of one webhook never make a second NCR and a repeated delivery
/// changes nothing. `true` when the NCR was created.
pub async fn upsert_by_external_ref(
    gate: &Gate,
    actor: &Actor,
    catalog: &Catalog,
    org: Uuid,
    input: UpsertNcr<'_>,
) -> AppResult<Granted<(nonconformity::Model, bool)>> {
    let ext = input.external_ref;
    let title = domain::required_text("title", input.title, MAX_TITLE)?;
    let description = domain::optional_text("description", input.description, MAX_TEXT)?;
    let owner = domain::optional_text("owner", input.owner, MAX_NAME)?;
    let ext_status = domain::optional_text("externalStatus", input.external_status, MAX_NAME)?;
    let references = input.references.map(|r| check_refs(catalog, r)).transpose()?;
    let mut w = gate.write(actor, org, Operation::SyncNonconformities).await?;
    let existing = w
        .find::<nonconformity::Entity>()?
        .filter(nonconformity::Column::ExternalSystem.eq(ext.system.as_str()))
        .filter(nonconformity::Column::ExternalKey.eq(ext.key.as_str()))
        .one()
        .await?;
    if let Some(m) = &existing
        && !m.ticket_synced
    {
        // A ticket attached to an NCR people opened: syncing it is a general write.
        w.require(Operation::WriteNonconformities)?;
    }
    let done_note = format!("ticket {}:{} reported done", ext.system, ext.key);
    let (before, created) = match existing {
        Some(m) => (m, false),
        None => {
            let Some(severity) = input.severity else {
                return Err(AppError::bad_input("severity", "severity is required when the ticket is new"));
            };
            let content = Content {
                title: title.clone(),
                description: description.clone(),
                source: input.source.unwrap_or(Source::Other),
                severity,
                refs: references.clone().unwrap_or_default(),
                owner: owner.clone(),
                containment: None,
                finding_id: None,
                external: Some(ext.clone()),
                external_status: ext_status.clone(),
                external_done: input.external_done,
                analysis: Analysis::default(),
            };
            (insert(&mut w, content).await?, true)
        }
    };
    let status = before.status;
    let mut am: nonconformity::ActiveModel = before.clone().into();
    am.title.set_ne(title);
    if input.description.is_some() {
        am.description.set_ne(description);
    }
    if let Some(s) = input.source {
        am.source.set_ne(s);
    }
    if let Some(s) = input.severity {
        am.severity.set_ne(s);
    }
    if let Some(r) = references {
        am.refs.set_ne(StringList(r));
    }
    if input.owner.is_some() {
        am.owner.set_ne(owner);
    }
    if status == NcrStatus::Closed {
        // A closed NCR is a record: the ticket may still report its state, but not rewrite it.
        if let Some(field) = [
            (am.title.is_set(), "title"),
            (am.description.is_set(), "description"),
            (am.source.is_set(), "source"),
            (am.severity.is_set(), "severity"),
            (am.refs.is_set(), "references"),
            (am.owner.is_set(), "owner"),
        ]
        .iter()
        .find_map(|(set, f)| set.then_some(*f))
        {
            return Err(AppError::bad_input(field, "the nonconformity is CLOSED: only the ticket's state is synced"));
        }
    }
    if ext.url.is_some() {
        am.external_url.set_ne(ext.url.clone());
    }
    if input.external_status.is_some() {
        am.external_status.set_ne(ext_status);
    }
    if let Some(d) = input.external_done {
        am.external_done.set_ne(Some(d));
    }

    // A ticket reported done completes the NCR's open actions and moves the NCR forward as
    // far as the rules allow, never beyond VERIFICATION (closure needs 10.2 d's review).
    let mut steps = Vec::new();
    let may_advance = w.access().allows(if before.ticket_synced {
        Operation::AdvanceSyncedNonconformity
    } else {
        Operation::TransitionNonconformity
    });
    if input.external_done == Some(true) && status != NcrStatus::Closed && may_advance {
        for a in actions(&w, before.id).await? {
            if matches!(a.status, ActionStatus::Open | ActionStatus::InProgress) {
                let mut aam: corrective_action::ActiveModel = a.clone().into();
                aam.status = Set(ActionStatus::Done);
                aam.completed_at = Set(Some(now()));
                if a.completion_note.is_none() {
                    aam.completion_note = Set(Some(done_note.clone()));
                }
                let after = w.update(aam).await?;
                w.record_update(Kind::CorrectiveAction, a.id, &a, &after).await?;
            }
        }
        steps = advance_towards_verification(status, &facts(&w, &before).await?);
        if let Some(last) = steps.last() {
            am.status = Set(*last);
        }
    }
    if !sea_orm::ActiveModelTrait::is_changed(&am) {
        return w.commit_with((before, created)).await;
    }
    let after = w.update(am).await?;
    let mut from = status;
    for s in &steps {
        record_move(&mut w, Kind::Nonconformity, before.id, from.as_str(), s.as_str(), Some(&done_note)).await?;
        from = *s;
    }
    let unmoved = nonconformity::Model { status: before.status, ..after.clone() };
    w.record_update(Kind::Nonconformity, before.id, &before, &unmoved).await?;
    w.commit_with((after, created)).await
}

#[derive(Default)]
pub struct NcrFilter {
    pub statuses: Vec<NcrStatus>,
    pub severity: Option<Severity>,
    pub source: Option<Source>,
    /// Not CLOSED (`true`) or CLOSED (`false`).
    pub open: Option<bool>,
    /// Has (`true`) or has no (`false`) overdue corrective action.
    pub overdue: Option<bool>,
    pub external_system: Option<String>,
}

pub const NCR_ORDER: &str = "nonconformities:NEWEST";

/// Nonconformities, newest first (UUIDv7 ids are in creation order).
pub async fn list(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    filter: &NcrFilter,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<nonconformity::Model>> {
    let r = gate.read(actor, org, Operation::ReadNonconformities).await?;
    let mut q = r.find::<nonconformity::Entity>()?;
    if !filter.statuses.is_empty() {
        q = q.filter(nonconformity::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    if let Some(s) = filter.severity {
        q = q.filter(nonconformity::Column::Severity.eq(s));
    }
    if let Some(s) = filter.source {
        q = q.filter(nonconformity::Column::Source.eq(s));
    }
    match filter.open {
        Some(true) => q = q.filter(nonconformity::Column::Status.ne(NcrStatus::Closed)),
        Some(false) => q = q.filter(nonconformity::Column::Status.eq(NcrStatus::Closed)),
        None => {}
    }
    if let Some(s) = &filter.external_system {
        q = q.filter(nonconformity::Column::ExternalSystem.eq(s.as_str()));
    }
    if let Some(want) = filter.overdue {
        // Same tenant filter inside the subquery; same rule as `domain::ncr::overdue`.
        let today = now().date_naive();
        let sub = Query::select()
            .column(corrective_action::Column::NonconformityId)
            .from(corrective_action::Entity)
            .and_where(corrective_action::Column::OrganizationId.eq(org))
            .and_where(corrective_action::Column::Status.is_in([ActionStatus::Open, ActionStatus::InProgress]))
            .and_where(corrective_action::Column::DueDate.lt(today))
            .to_owned();
        q = if want {
            q.filter(nonconformity::Column::Id.in_subquery(sub))
        } else {
            q.filter(nonconformity::Column::Id.not_in_subquery(sub))
        };
    }
    let sort = Sort { name: NCR_ORDER.to_string(), key: None, id: nonconformity::Column::Id, desc: true };
    q.page(&sort, args, want_total, |_| SortValue::Null, |m| m.id).await
}

/// The NCRs raised from several findings (keys: organization, finding).
pub async fn raised_from(gate: &Gate, actor: &Actor, keys: &[(Uuid, Uuid)]) -> AppResult<Vec<nonconformity::Model>> {
    let (orgs, findings) = split_keys(keys);
    let r = gate.read_many(actor, &orgs, Operation::ReadNonconformities).await?;
    if r.orgs().is_empty() {
        return Ok(Vec::new());
    }
    r.find::<nonconformity::Entity>()?.filter(nonconformity::Column::FindingId.is_in(findings)).all().await
}

pub struct NewAction<'a> {
    pub title: &'a str,
    pub owner: Option<&'a str>,
    pub due_date: Option<NaiveDate>,
}

pub async fn add_action(
    gate: &Gate,
    actor: &Actor,
    ncr_id: Uuid,
    input: NewAction<'_>,
) -> AppResult<Granted<corrective_action::Model>> {
    let title = domain::required_text("title", input.title, MAX_TITLE)?;
    let owner = domain::optional_text("owner", input.owner, MAX_NAME)?;
    let (mut w, ncr) = gate.write_on::<nonconformity::Entity>(actor, ncr_id, Operation::SyncNonconformities).await?;
    if !ncr.ticket_synced {
        w.require(Operation::WriteCorrectiveActions)?;
    }
    rules::ensure_not_closed(ncr.status, "nonconformityId")?;
    if actions(&w, ncr_id).await?.len() >= MAX_ACTIONS {
        return Err(AppError::bad_input(
            "nonconformityId",
            format!("a nonconformity has at most {MAX_ACTIONS} corrective actions"),
        ));
    }
    let at = now();
    let am = corrective_action::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        nonconformity_id: Set(ncr_id),
        title: Set(title),
        owner: Set(owner),
        due_date: Set(input.due_date),
        status: Set(ActionStatus::Open),
        completion_note: Set(None),
        completed_at: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<corrective_action::Entity, _>(am, "that corrective action already exists").await?;
    w.record_create(Kind::CorrectiveAction, m.id, &m).await?;
    w.commit_with(m).await
}

#[derive(Default)]
pub struct ActionChanges<'a> {
    pub expected_version: Option<i32>,
    pub title: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub due_date: Option<Option<NaiveDate>>,
    pub status: Option<ActionStatus>,
    pub completion_note: Option<&'a str>,
}

pub async fn update_action(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    ch: ActionChanges<'_>,
) -> AppResult<Granted<corrective_action::Model>> {
    let title = ch.title.map(|t| domain::required_text("title", t, MAX_TITLE)).transpose()?;
    let owner = ch.owner.map(|o| domain::optional_text("owner", Some(o), MAX_NAME)).transpose()?;
    let note = ch.completion_note.map(|n| domain::optional_text("completionNote", Some(n), MAX_TEXT)).transpose()?;
    let (mut w, before) = gate.write_on::<corrective_action::Entity>(actor, id, Operation::SyncNonconformities).await?;
    let ncr = w
        .get::<nonconformity::Entity>(before.nonconformity_id)
        .await?
        .ok_or_else(|| AppError::internal("action without nonconformity"))?;
    if !ncr.ticket_synced {
        w.require(Operation::WriteCorrectiveActions)?;
    }
    check_version(ch.expected_version, before.version)?;
    rules::ensure_not_closed(ncr.status, "id")?;
    let mut am: corrective_action::ActiveModel = before.clone().into();
    if let Some(v) = title {
        am.title.set_ne(v);
    }
    if let Some(v) = owner {
        am.owner.set_ne(v);
    }
    if let Some(v) = ch.due_date {
        am.due_date.set_ne(v);
    }
    if let Some(v) = note {
        am.completion_note.set_ne(v);
    }
    if let Some(s) = ch.status
        && s != before.status
    {
        am.status = Set(s);
        am.completed_at = Set((s == ActionStatus::Done).then(now));
    }
    if !sea_orm::ActiveModelTrait::is_changed(&am) {
        return w.commit_with(before).await;
    }
    let after = w.update(am).await?;
    w.record_update(Kind::CorrectiveAction, id, &before, &after).await?;
    w.commit_with(after).await
}

// issue 15

/// Records a new nonconformity raised from another record (an incident): OPEN, no
/// references, no ticket.
pub(in crate::store) async fn insert_raised(
    w: &mut Writer,
    title: String,
    description: Option<String>,
    source: Source,
    severity: Severity,
) -> AppResult<nonconformity::Model> {
    let content = Content {
        title,
        description,
        source,
        severity,
        refs: Vec::new(),
        owner: None,
        containment: None,
        finding_id: None,
        external: None,
        external_status: None,
        external_done: None,
        analysis: Analysis::default(),
    };
    insert(w, content).await
}
