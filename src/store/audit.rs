//! The audit programme (clause 9.2): audits and their findings, and the workflow history
//! shared with nonconformities.

use chrono::NaiveDate;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::audit::{self as rules, AuditFocus, AuditMode, AuditStatus, AuditType, FindingType};
use crate::domain::audit::{Owned, OwnedKind};
use crate::domain::refs::{self, Standard};
use crate::domain::{self, Invalid, MAX_NAME, MAX_TEXT, MAX_TITLE};
use crate::entity::{
    StringList, audit, clause_assessment, control, finding, nonconformity, scope, workflow_transition,
};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::catalog::Catalog;
use crate::store::certification;
use crate::store::org::check_version;
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::tenancy::{Actor, Gate, Granted, Writer, now};

const MAX_TEAM: usize = 50;

/// The standards an audit covers.
pub fn standards_of(a: &audit::Model) -> Vec<Standard> {
    let mut out = Vec::with_capacity(2);
    if a.covers_iso27001 {
        out.push(Standard::Iso27001);
    }
    if a.covers_iso42001 {
        out.push(Standard::Iso42001);
    }
    out
}

/// True when `standard:reference` is a clause or a control of the catalog.
pub(crate) fn in_catalog(catalog: &Catalog) -> impl Fn(Standard, &str) -> bool + '_ {
    |s, r| catalog.clause(s, r).is_some() || catalog.control(s, r).is_some()
}

/// Records a workflow move: the audit-trail row and the `workflow_transitions` row
/// (who, when, note), in the writer's transaction.
pub(in crate::store) async fn record_move(
    w: &mut Writer,
    kind: Kind,
    id: Uuid,
    from: &str,
    to: &str,
    note: Option<&str>,
) -> AppResult<()> {
    w.record_transition(kind, id, from, to, note).await?;
    let row = workflow_transition::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        entity_type: Set(kind.name().to_string()),
        entity_id: Set(id),
        from_status: Set(from.to_string()),
        to_status: Set(to.to_string()),
        actor: Set(w.actor().to_string()),
        note: Set(note.map(str::to_string)),
        at: Set(now()),
    };
    w.insert::<workflow_transition::Entity, _>(row, "that transition is already recorded").await?;
    Ok(())
}

/// Rejects a scope that is not one of this organization's (another tenant's scope looks
/// exactly like a missing one).
async fn check_scope(w: &Writer, scope_id: Option<Uuid>) -> AppResult<()> {
    if let Some(id) = scope_id
        && w.get::<scope::Entity>(id).await?.is_none()
    {
        return Err(AppError::bad_input("scopeId", "no such scope in this organization"));
    }
    Ok(())
}

pub struct NewAudit<'a> {
    pub title: &'a str,
    pub audit_type: AuditType,
    pub mode: AuditMode,
    pub focus: Option<AuditFocus>,
    pub standards: &'a [Standard],
    pub planned_start: Option<NaiveDate>,
    pub planned_end: Option<NaiveDate>,
    pub lead_auditor: Option<&'a str>,
    pub team: &'a [String],
    pub criteria: &'a [String],
    pub objectives: Option<&'a str>,
    pub scope_id: Option<Uuid>,
    pub certification_id: Option<Uuid>,
}

pub async fn create(
    gate: &Gate,
    actor: &Actor,
    catalog: &Catalog,
    org: Uuid,
    input: NewAudit<'_>,
) -> AppResult<Granted<audit::Model>> {
    let title = domain::required_text("title", input.title, MAX_TITLE)?;
    let standards = rules::check_standards(input.mode, input.standards)?;
    rules::check_period(input.planned_start, input.planned_end, "plannedEnd")?;
    let lead = domain::optional_text("leadAuditor", input.lead_auditor, MAX_NAME)?;
    let team = domain::clean_list("team", input.team, MAX_TEAM, MAX_NAME)?;
    let criteria = refs::check_references("criteria", input.criteria, &standards, in_catalog(catalog))?;
    let objectives = domain::optional_text("objectives", input.objectives, MAX_TEXT)?;
    let mut w = gate.write(actor, org, Operation::WriteAudits).await?;
    check_scope(&w, input.scope_id).await?;
    if let Some(c) = input.certification_id {
        certification::check_audit_link(&w, c, input.audit_type, &standards, true, "certificationId").await?;
    }
    let at = now();
    let am = audit::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        title: Set(title),
        audit_type: Set(input.audit_type),
        mode: Set(input.mode),
        focus: Set(input.focus.unwrap_or(AuditFocus::Full)),
        covers_iso27001: Set(standards.contains(&Standard::Iso27001)),
        covers_iso42001: Set(standards.contains(&Standard::Iso42001)),
        scope_id: Set(input.scope_id),
        planned_start: Set(input.planned_start),
        planned_end: Set(input.planned_end),
        actual_start: Set(None),
        actual_end: Set(None),
        lead_auditor: Set(lead),
        team: Set(StringList(team)),
        criteria: Set(StringList(criteria)),
        objectives: Set(objectives),
        status: Set(AuditStatus::Planned),
        cancel_reason: Set(None),
        certification_id: Set(input.certification_id),
        reported_to: Set(None),
        reported_on: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<audit::Entity, _>(am, "that audit already exists").await?;
    w.record_create(Kind::Audit, m.id, &m).await?;
    w.commit_with(m).await
}

/// Changes to an audit: `None` leaves a field alone; for clearable fields `Some(None)`
/// clears it; an empty text clears an optional text.
#[derive(Default)]
pub struct AuditChanges<'a> {
    pub expected_version: Option<i32>,
    pub title: Option<&'a str>,
    pub audit_type: Option<AuditType>,
    pub mode: Option<AuditMode>,
    pub focus: Option<AuditFocus>,
    pub standards: Option<&'a [Standard]>,
    pub planned_start: Option<Option<NaiveDate>>,
    pub planned_end: Option<Option<NaiveDate>>,
    pub actual_start: Option<Option<NaiveDate>>,
    pub actual_end: Option<Option<NaiveDate>>,
    pub lead_auditor: Option<&'a str>,
    pub team: Option<&'a [String]>,
    pub criteria: Option<&'a [String]>,
    pub objectives: Option<&'a str>,
    pub scope_id: Option<Option<Uuid>>,
    pub certification_id: Option<Option<Uuid>>,
    /// An empty text clears it.
    pub reported_to: Option<&'a str>,
    pub reported_on: Option<Option<NaiveDate>>,
}

pub async fn update(
    gate: &Gate,
    actor: &Actor,
    catalog: &Catalog,
    id: Uuid,
    ch: AuditChanges<'_>,
) -> AppResult<Granted<audit::Model>> {
    let title = ch.title.map(|t| domain::required_text("title", t, MAX_TITLE)).transpose()?;
    let lead = ch.lead_auditor.map(|l| domain::optional_text("leadAuditor", Some(l), MAX_NAME)).transpose()?;
    let team = ch.team.map(|t| domain::clean_list("team", t, MAX_TEAM, MAX_NAME)).transpose()?;
    let objectives = ch.objectives.map(|o| domain::optional_text("objectives", Some(o), MAX_TEXT)).transpose()?;
    let reported_to = ch.reported_to.map(|r| domain::optional_text("reportedTo", Some(r), MAX_NAME)).transpose()?;
    let (mut w, before) = gate.write_on::<audit::Entity>(actor, id, Operation::WriteAudits).await?;
    check_version(ch.expected_version, before.version)?;
    rules::ensure_editable(before.status, "id")?;

    let mode = ch.mode.unwrap_or(before.mode);
    let standards = rules::check_standards(mode, ch.standards.unwrap_or(&standards_of(&before)))?;
    let planned = (ch.planned_start.unwrap_or(before.planned_start), ch.planned_end.unwrap_or(before.planned_end));
    rules::check_period(planned.0, planned.1, "plannedEnd")?;
    let actual = (ch.actual_start.unwrap_or(before.actual_start), ch.actual_end.unwrap_or(before.actual_end));
    rules::check_period(actual.0, actual.1, "actualEnd")?;
    let criteria = match ch.criteria {
        Some(c) => refs::check_references("criteria", c, &standards, in_catalog(catalog))?,
        None => refs::check_references("standards", &before.criteria.0, &standards, in_catalog(catalog))?,
    };
    if standards != standards_of(&before) {
        keep_findings_covered(&w, id, &standards).await?;
    }
    if let Some(s) = ch.scope_id {
        check_scope(&w, s).await?;
    }
    let reported_on = ch.reported_on.unwrap_or(before.reported_on);
    rules::check_report_date(actual.0, reported_on)?;
    let audit_type = ch.audit_type.unwrap_or(before.audit_type);
    let certification_id = ch.certification_id.unwrap_or(before.certification_id);
    let relinks = ch.certification_id.is_some() || ch.audit_type.is_some() || ch.standards.is_some();
    if let Some(c) = certification_id.filter(|_| relinks) {
        // The field at fault: the link when it is what changes, else what broke it.
        let field = if ch.certification_id.is_some() {
            "certificationId"
        } else if ch.audit_type.is_some_and(|t| t != before.audit_type) {
            "type"
        } else {
            "standards"
        };
        let joining = before.certification_id != Some(c);
        certification::check_audit_link(&w, c, audit_type, &standards, joining, field).await?;
    }

    let mut am: audit::ActiveModel = before.clone().into();
    if let Some(t) = title {
        am.title.set_ne(t);
    }
    if let Some(t) = ch.audit_type {
        am.audit_type.set_ne(t);
    }
    am.mode.set_ne(mode);
    if let Some(f) = ch.focus {
        am.focus.set_ne(f);
    }
    am.covers_iso27001.set_ne(standards.contains(&Standard::Iso27001));
    am.covers_iso42001.set_ne(standards.contains(&Standard::Iso42001));
    am.planned_start.set_ne(planned.0);
    am.planned_end.set_ne(planned.1);
    am.actual_start.set_ne(actual.0);
    am.actual_end.set_ne(actual.1);
    if let Some(l) = lead {
        am.lead_auditor.set_ne(l);
    }
    if let Some(t) = team {
        am.team.set_ne(StringList(t));
    }
    am.criteria.set_ne(StringList(criteria));
    if let Some(o) = objectives {
        am.objectives.set_ne(o);
    }
    if let Some(s) = ch.scope_id {
        am.scope_id.set_ne(s);
    }
    am.certification_id.set_ne(certification_id);
    if let Some(r) = reported_to {
        am.reported_to.set_ne(r);
    }
    am.reported_on.set_ne(reported_on);
    if !sea_orm::ActiveModelTrait::is_changed(&am) {
        return w.commit_with(before).await;
    }
    let after = w.update(am).await?;
    w.record_update(Kind::Audit, id, &before, &after).await?;
    w.commit_with(after).await
}

/// Narrowing an audit's standards may not orphan the references of its findings.
async fn keep_findings_covered(w: &Writer, audit_id: Uuid, standards: &[Standard]) -> AppResult<()> {
    let findings = w.find::<finding::Entity>()?.filter(finding::Column::AuditId.eq(audit_id)).all().await?;
    for f in findings {
        for r in &f.refs.0 {
            if refs::Reference::parse(r).is_some_and(|p| !standards.contains(&p.standard)) {
                return Err(AppError::bad_input(
                    "standards",
                    format!("finding {:?} references {r}, which the audit would no longer cover", f.title),
                ));
            }
        }
    }
    Ok(())
}

pub async fn transition(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    to: AuditStatus,
    reason: Option<&str>,
    expected_version: Option<i32>,
) -> AppResult<Granted<audit::Model>> {
    let reason = domain::optional_text("reason", reason, MAX_TEXT)?;
    let (mut w, before) = gate.write_on::<audit::Entity>(actor, id, Operation::WriteAudits).await?;
    check_version(expected_version, before.version)?;
    let from = before.status;
    rules::check_transition(from, to, reason.as_deref())?;
    let today = now().date_naive();
    let mut am: audit::ActiveModel = before.clone().into();
    am.status = Set(to);
    match to {
        AuditStatus::InProgress if before.actual_start.is_none() => am.actual_start = Set(Some(today)),
        AuditStatus::Completed => {
            // ISO 27001 / 42001 9.2.2 c: results reported to management first.
            rules::check_reported(before.reported_to.as_deref(), before.reported_on, before.actual_start, today)?;
            if before.actual_end.is_none() {
                rules::check_period(before.actual_start, Some(today), "actualEnd")?;
                am.actual_end = Set(Some(today));
            }
        }
        AuditStatus::Cancelled => am.cancel_reason = Set(reason.clone()),
        _ => {}
    }
    let after = w.update(am).await?;
    record_move(&mut w, Kind::Audit, id, from.as_str(), to.as_str(), reason.as_deref()).await?;
    // Dates and the cancel reason set by the move, if any.
    let moved = audit::Model { status: after.status, ..before };
    w.record_update(Kind::Audit, id, &moved, &after).await?;
    w.commit_with(after).await
}

#[derive(Default)]
pub struct AuditFilter {
    pub statuses: Vec<AuditStatus>,
    pub audit_type: Option<AuditType>,
    pub standard: Option<Standard>,
    /// Planned start on or after.
    pub from: Option<NaiveDate>,
    /// Planned start on or before.
    pub to: Option<NaiveDate>,
}

pub const AUDIT_ORDER: &str = "audits:PLANNED_START";

/// The audit programme, by planned start (audits without one last), then id.
pub async fn list(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    filter: &AuditFilter,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<audit::Model>> {
    let r = gate.read(actor, org, Operation::ReadAudits).await?;
    let mut q = r.find::<audit::Entity>()?;
    if !filter.statuses.is_empty() {
        q = q.filter(audit::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    if let Some(t) = filter.audit_type {
        q = q.filter(audit::Column::AuditType.eq(t));
    }
    match filter.standard {
        Some(Standard::Iso27001) => q = q.filter(audit::Column::CoversIso27001.eq(true)),
        Some(Standard::Iso42001) => q = q.filter(audit::Column::CoversIso42001.eq(true)),
        None => {}
    }
    if let Some(from) = filter.from {
        q = q.filter(audit::Column::PlannedStart.gte(from));
    }
    if let Some(to) = filter.to {
        q = q.filter(audit::Column::PlannedStart.lte(to));
    }
    let sort = Sort::by(AUDIT_ORDER, audit::Column::PlannedStart, true, audit::Column::Id, false);
    q.page(&sort, args, want_total, |m| SortValue::from(m.planned_start), |m| m.id).await
}

pub(in crate::store) fn split_keys(keys: &[(Uuid, Uuid)]) -> (Vec<Uuid>, Vec<Uuid>) {
    let mut orgs: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
    orgs.sort();
    orgs.dedup();
    (orgs, keys.iter().map(|k| k.1).collect())
}

/// Workflow history of several entities (keys: organization, entity), oldest first.
pub async fn transitions_of(
    gate: &Gate,
    actor: &Actor,
    keys: &[(Uuid, Uuid)],
    op: Operation,
) -> AppResult<Vec<workflow_transition::Model>> {
    let (orgs, ids) = split_keys(keys);
    let r = gate.read_many(actor, &orgs, op).await?;
    if r.orgs().is_empty() {
        return Ok(Vec::new());
    }
    r.find::<workflow_transition::Entity>()?
        .filter(workflow_transition::Column::EntityId.is_in(ids))
        .order_by_asc(workflow_transition::Column::At)
        .order_by_asc(workflow_transition::Column::Id)
        .all()
        .await
}

pub struct NewFinding<'a> {
    pub finding_type: FindingType,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub evidence: Option<&'a str>,
    pub references: &'a [String],
}

pub async fn add_finding(
    gate: &Gate,
    actor: &Actor,
    catalog: &Catalog,
    audit_id: Uuid,
    input: NewFinding<'_>,
) -> AppResult<Granted<finding::Model>> {
    let title = domain::required_text("title", input.title, MAX_TITLE)?;
    let description = domain::optional_text("description", input.description, MAX_TEXT)?;
    let evidence = domain::optional_text("evidence", input.evidence, MAX_TEXT)?;
    let (mut w, audit) = gate.write_on::<audit::Entity>(actor, audit_id, Operation::WriteFindings).await?;
    rules::ensure_accepts_findings(audit.status, "auditId")?;
    // ISO 27001 / 42001 9.2.2 a: findings are against the criteria of this audit.
    let references =
        refs::check_references("references", input.references, &standards_of(&audit), in_catalog(catalog))?;
    let at = now();
    let am = finding::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: NotSet,
        audit_id: Set(audit_id),
        finding_type: Set(input.finding_type),
        title: Set(title),
        description: Set(description),
        evidence: Set(evidence),
        refs: Set(StringList(references)),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<finding::Entity, _>(am, "that finding already exists").await?;
    w.record_create(Kind::Finding, m.id, &m).await?;
    w.commit_with(m).await
}

#[derive(Default)]
pub struct FindingChanges<'a> {
    pub expected_version: Option<i32>,
    pub finding_type: Option<FindingType>,
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub evidence: Option<&'a str>,
    pub references: Option<&'a [String]>,
}

pub async fn update_finding(
    gate: &Gate,
    actor: &Actor,
    catalog: &Catalog,
    id: Uuid,
    ch: FindingChanges<'_>,
) -> AppResult<Granted<finding::Model>> {
    let title = ch.title.map(|t| domain::required_text("title", t, MAX_TITLE)).transpose()?;
    let description = ch.description.map(|d| domain::optional_text("description", Some(d), MAX_TEXT)).transpose()?;
    let evidence = ch.evidence.map(|e| domain::optional_text("evidence", Some(e), MAX_TEXT)).transpose()?;
    let (mut w, before) = gate.write_on::<finding::Entity>(actor, id, Operation::WriteFindings).await?;
    check_version(ch.expected_version, before.version)?;
    let audit =
        w.get::<audit::Entity>(before.audit_id).await?.ok_or_else(|| AppError::internal("finding without audit"))?;
    rules::ensure_accepts_findings(audit.status, "id")?;
    let mut am: finding::ActiveModel = before.clone().into();
    if let Some(t) = ch.finding_type
        && t != before.finding_type
    {
        let raised =
            w.find::<nonconformity::Entity>()?.filter(nonconformity::Column::FindingId.eq(id)).one().await?.is_some();
        if raised {
            return Err(Invalid::new("type", "the finding has raised a nonconformity; its type is fixed").into());
        }
        am.finding_type = Set(t);
    }
    if let Some(r) = ch.references {
        let r = refs::check_references("references", r, &standards_of(&audit), in_catalog(catalog))?;
        am.refs.set_ne(StringList(r));
    }
    if let Some(t) = title {
        am.title.set_ne(t);
    }
    if let Some(d) = description {
        am.description.set_ne(d);
    }
    if let Some(e) = evidence {
        am.evidence.set_ne(e);
    }
    if !sea_orm::ActiveModelTrait::is_changed(&am) {
        return w.commit_with(before).await;
    }
    let after = w.update(am).await?;
    w.record_update(Kind::Finding, id, &before, &after).await?;
    w.commit_with(after).await
}

/// The SoA rows and clause assessments that these subjects own, of several organizations
/// (keys: organization, subject), for the objectivity check (9.2.2 b). Two statements.
pub async fn owned_by(gate: &Gate, actor: &Actor, keys: &[(Uuid, String)]) -> AppResult<Vec<(Uuid, Owned<Uuid>)>> {
    let mut orgs: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
    orgs.sort();
    orgs.dedup();
    let mut subjects: Vec<String> = keys.iter().map(|k| k.1.clone()).collect();
    subjects.sort();
    subjects.dedup();
    let r = gate.read_many(actor, &orgs, Operation::ReadAudits).await?;
    let mut out = Vec::new();
    if r.is_empty() || subjects.is_empty() {
        return Ok(out);
    }
    let controls = r
        .find::<control::Entity>()?
        .filter(control::Column::Owner.is_in(subjects.clone()))
        .order_by_asc(control::Column::Position)
        .order_by_asc(control::Column::Id)
        .all()
        .await?;
    for c in controls {
        let Some(owner) = c.owner else { continue };
        out.push((
            c.organization_id,
            Owned { kind: OwnedKind::Control, id: c.id, standard: c.standard, reference: c.reference, owner },
        ));
    }
    let clauses = r
        .find::<clause_assessment::Entity>()?
        .filter(clause_assessment::Column::Owner.is_in(subjects))
        .order_by_asc(clause_assessment::Column::Position)
        .order_by_asc(clause_assessment::Column::Id)
        .all()
        .await?;
    for c in clauses {
        let Some(owner) = c.owner else { continue };
        out.push((
            c.organization_id,
            Owned { kind: OwnedKind::ClauseAssessment, id: c.id, standard: c.standard, reference: c.reference, owner },
        ));
    }
    Ok(out)
}
