//! Documented information (clause 7.5): documents, their versions and approval workflow
//! (`domain::document`), and their links to SoA rows.

use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, Condition, QueryFilter, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::document::{
    self as rules, DEFAULT_REVIEW_INTERVAL_MONTHS, DocumentKind, DocumentStatus, MAX_BODY, PolicyIntegration, Right,
    VersionNumber,
};
use crate::domain::refs::{self, Standard};
use crate::domain::{self, MAX_NAME, MAX_TEXT, MAX_TITLE};
use crate::entity::{StringList, control, document, document_control, document_version};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::audit::in_catalog;
use crate::store::catalog::Catalog;
use crate::store::org::check_version;
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::soa::{ilike, like_pattern};
use crate::store::tenancy::{Actor, Gate, Granted, Reader, Writer, now};

/// SoA rows one document is linked to.
pub const MAX_CONTROLS_PER_DOCUMENT: usize = 200;
const CLASSIFICATION_MAX: usize = 100;

fn check_refs(catalog: &Catalog, values: &[String], standards: &[Standard]) -> AppResult<Vec<String>> {
    Ok(refs::check_references("references", values, standards, in_catalog(catalog))?)
}

/// The standards a document serves.
pub fn standards_of(d: &document::Model) -> Vec<Standard> {
    let mut v = Vec::new();
    if d.covers_iso27001 {
        v.push(Standard::Iso27001);
    }
    if d.covers_iso42001 {
        v.push(Standard::Iso42001);
    }
    v
}

fn number_of(v: &document_version::Model) -> VersionNumber {
    VersionNumber { major: v.major.max(0) as u32, minor: v.minor.max(0) as u32 }
}

/// The version number as text (`1.0`).
pub fn number(v: &document_version::Model) -> String {
    number_of(v).to_string()
}

fn to_i32(n: u32, field: &str) -> AppResult<i32> {
    i32::try_from(n).map_err(|_| AppError::bad_input(field, "version number out of range"))
}

pub struct NewDocument<'a> {
    pub title: &'a str,
    pub kind: DocumentKind,
    pub level: Option<i32>,
    pub standards: &'a [Standard],
    pub policy_integration: Option<PolicyIntegration>,
    pub owner: Option<&'a str>,
    pub classification: Option<&'a str>,
    pub review_interval_months: Option<i32>,
    pub references: &'a [String],
    /// The first version's content.
    pub change_summary: Option<&'a str>,
    pub body: Option<&'a str>,
}

/// A new document starts as DRAFT with version 1.0, authored by the caller.
pub async fn create(
    gate: &Gate,
    actor: &Actor,
    catalog: &Catalog,
    org: Uuid,
    n: NewDocument<'_>,
) -> AppResult<Granted<document::Model>> {
    let title = domain::required_text("title", n.title, MAX_TITLE)?;
    let level = rules::check_level(n.level.unwrap_or(rules::default_level(n.kind)))?;
    let standards = rules::check_standards(n.standards)?;
    let integration = rules::check_policy_integration(n.kind, n.policy_integration)?;
    let owner = domain::optional_text("owner", n.owner, MAX_NAME)?;
    let classification = domain::optional_text("classification", n.classification, CLASSIFICATION_MAX)?;
    let interval = rules::check_review_interval(n.review_interval_months.unwrap_or(DEFAULT_REVIEW_INTERVAL_MONTHS))?;
    let references = check_refs(catalog, n.references, &standards)?;
    let summary = domain::optional_text("changeSummary", n.change_summary, MAX_TEXT)?;
    let body = domain::optional_text("body", n.body, MAX_BODY)?;
    let mut w = gate.write(actor, org, Operation::WriteDocuments).await?;
    let at = now();
    let (doc_id, version_id) = (ids::new_id(), ids::new_id());
    let am = document::ActiveModel {
        id: Set(doc_id),
        organization_id: NotSet,
        title: Set(title),
        kind: Set(n.kind),
        level: Set(level),
        covers_iso27001: Set(standards.contains(&Standard::Iso27001)),
        covers_iso42001: Set(standards.contains(&Standard::Iso42001)),
        policy_integration: Set(integration),
        owner: Set(owner),
        classification: Set(classification),
        status: Set(DocumentStatus::Draft),
        review_interval_months: Set(interval),
        next_review_on: Set(None),
        refs: Set(StringList(references)),
        current_version_id: Set(None),
        latest_version_id: Set(version_id),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert::<document::Entity, _>(am, "that document already exists").await?;
    let v = insert_version(&w, version_id, doc_id, VersionNumber::FIRST, summary, body).await?;
    w.record_create(Kind::Document, m.id, &m).await?;
    w.record_create(Kind::DocumentVersion, v.id, &v).await?;
    w.commit_with(m).await
}

async fn insert_version(
    w: &Writer,
    id: Uuid,
    document_id: Uuid,
    n: VersionNumber,
    summary: Option<String>,
    body: Option<String>,
) -> AppResult<document_version::Model> {
    let at = now();
    let am = document_version::ActiveModel {
        id: Set(id),
        organization_id: NotSet,
        document_id: Set(document_id),
        major: Set(to_i32(n.major, "bump")?),
        minor: Set(to_i32(n.minor, "bump")?),
        change_summary: Set(summary),
        body: Set(body),
        author: Set(w.actor().to_string()),
        submitted_at: Set(None),
        approved_at: Set(None),
        approved_by: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    w.insert::<document_version::Entity, _>(am, "that version number is already taken").await
}

/// `None`: unchanged; `Some(None)`: cleared.
#[derive(Default)]
pub struct DocumentChanges {
    pub expected_version: Option<i32>,
    pub title: Option<String>,
    pub kind: Option<DocumentKind>,
    pub level: Option<i32>,
    pub standards: Option<Vec<Standard>>,
    pub policy_integration: Option<Option<PolicyIntegration>>,
    pub owner: Option<Option<String>>,
    pub classification: Option<Option<String>>,
    pub review_interval_months: Option<i32>,
    pub references: Option<Vec<String>>,
    /// Content of the version under work (DRAFT only).
    pub change_summary: Option<Option<String>>,
    pub body: Option<Option<String>>,
}

impl DocumentChanges {
    fn first_field(&self) -> Option<&'static str> {
        [
            (self.title.is_some(), "title"),
            (self.kind.is_some(), "kind"),
            (self.level.is_some(), "level"),
            (self.standards.is_some(), "standards"),
            (self.policy_integration.is_some(), "policyIntegration"),
            (self.owner.is_some(), "owner"),
            (self.classification.is_some(), "classification"),
            (self.review_interval_months.is_some(), "reviewIntervalMonths"),
            (self.references.is_some(), "references"),
            (self.change_summary.is_some(), "changeSummary"),
            (self.body.is_some(), "body"),
        ]
        .into_iter()
        .find(|(given, _)| *given)
        .map(|(_, f)| f)
    }
}

/// Changes a document's metadata (any status but RETIRED) and the content of its version
/// under work (DRAFT only), in one transaction.
pub async fn update(
    gate: &Gate,
    actor: &Actor,
    catalog: &Catalog,
    id: Uuid,
    ch: DocumentChanges,
) -> AppResult<Granted<document::Model>> {
    let title = ch.title.as_deref().map(|t| domain::required_text("title", t, MAX_TITLE)).transpose()?;
    let level = ch.level.map(rules::check_level).transpose()?;
    let standards = ch.standards.as_deref().map(rules::check_standards).transpose()?;
    let owner = ch.owner.as_ref().map(|o| domain::optional_text("owner", o.as_deref(), MAX_NAME)).transpose()?;
    let classification = ch
        .classification
        .as_ref()
        .map(|c| domain::optional_text("classification", c.as_deref(), CLASSIFICATION_MAX))
        .transpose()?;
    let interval = ch.review_interval_months.map(rules::check_review_interval).transpose()?;
    let summary = ch
        .change_summary
        .as_ref()
        .map(|s| domain::optional_text("changeSummary", s.as_deref(), MAX_TEXT))
        .transpose()?;
    let body = ch.body.as_ref().map(|b| domain::optional_text("body", b.as_deref(), MAX_BODY)).transpose()?;

    let (mut w, before) = gate.write_on::<document::Entity>(actor, id, Operation::WriteDocuments).await?;
    check_version(ch.expected_version, before.version)?;
    if let Some(field) = ch.first_field() {
        rules::check_not_retired(before.status, field)?;
    }
    let kind = ch.kind.unwrap_or(before.kind);
    let integration = match ch.policy_integration {
        Some(v) => v,
        // A document that stops being a policy drops its integration.
        None if kind != DocumentKind::Policy => None,
        None => before.policy_integration,
    };
    let integration = rules::check_policy_integration(kind, integration)?;
    let standards_after = standards.clone().unwrap_or_else(|| standards_of(&before));
    let references = match &ch.references {
        Some(r) => Some(check_refs(catalog, r, &standards_after)?),
        None if standards.is_some() => {
            Some(refs::check_references("standards", &before.refs.0, &standards_after, in_catalog(catalog)).map_err(
                |e| AppError::bad_input("standards", format!("the document's references fall outside: {}", e.message)),
            )?)
        }
        None => None,
    };

    let mut am: document::ActiveModel = before.clone().into();
    if let Some(t) = title {
        am.title.set_ne(t);
    }
    am.kind.set_ne(kind);
    if let Some(l) = level {
        am.level.set_ne(l);
    }
    if let Some(s) = standards {
        am.covers_iso27001.set_ne(s.contains(&Standard::Iso27001));
        am.covers_iso42001.set_ne(s.contains(&Standard::Iso42001));
    }
    am.policy_integration.set_ne(integration);
    if let Some(o) = owner {
        am.owner.set_ne(o);
    }
    if let Some(c) = classification {
        am.classification.set_ne(c);
    }
    if let Some(i) = interval {
        am.review_interval_months.set_ne(i);
    }
    if let Some(r) = references {
        am.refs.set_ne(StringList(r));
    }
    let after = if sea_orm::ActiveModelTrait::is_changed(&am) {
        let after = w.update(am).await?;
        w.record_update(Kind::Document, id, &before, &after).await?;
        after
    } else {
        before.clone()
    };

    if summary.is_some() || body.is_some() {
        let field = if summary.is_some() { "changeSummary" } else { "body" };
        rules::check_content_editable(before.status, field)?;
        let v = latest(&w, &before).await?;
        let mut vm: document_version::ActiveModel = v.clone().into();
        if let Some(s) = summary {
            vm.change_summary.set_ne(s);
        }
        if let Some(b) = body {
            vm.body.set_ne(b);
        }
        if sea_orm::ActiveModelTrait::is_changed(&vm) {
            let v_after = w.update(vm).await?;
            w.record_update(Kind::DocumentVersion, v.id, &v, &v_after).await?;
        }
    }
    w.commit_with(after).await
}

async fn latest(w: &Writer, doc: &document::Model) -> AppResult<document_version::Model> {
    w.get::<document_version::Entity>(doc.latest_version_id)
        .await?
        .ok_or_else(|| AppError::internal("a document without its latest version"))
}

/// Opens a new DRAFT version of an APPROVED document: `major` starts `n+1.0`, else
/// `n.m+1`. The approved version stays current until the new one is approved.
pub async fn revise(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    major: bool,
    change_summary: Option<&str>,
    body: Option<&str>,
    expected_version: Option<i32>,
) -> AppResult<Granted<document::Model>> {
    let summary = domain::optional_text("changeSummary", change_summary, MAX_TEXT)?;
    let body = domain::optional_text("body", body, MAX_BODY)?;
    let (mut w, before) = gate.write_on::<document::Entity>(actor, id, Operation::WriteDocuments).await?;
    check_version(expected_version, before.version)?;
    rules::check_not_retired(before.status, "id")?;
    rules::check_revisable(before.status)?;
    let count =
        w.find::<document_version::Entity>()?.filter(document_version::Column::DocumentId.eq(id)).count().await?;
    if count as usize >= rules::MAX_VERSIONS {
        return Err(AppError::bad_input("id", format!("a document keeps at most {} versions", rules::MAX_VERSIONS)));
    }
    let prev = latest(&w, &before).await?;
    // The current approved version keeps its body unless a new one is given.
    let body = body.or_else(|| prev.body.clone());
    let next = number_of(&prev).next(major);
    let v = insert_version(&w, ids::new_id(), id, next, summary, body).await?;
    let mut am: document::ActiveModel = before.clone().into();
    am.latest_version_id = Set(v.id);
    am.status = Set(DocumentStatus::Draft);
    let after = w.update(am).await?;
    w.record_create(Kind::DocumentVersion, v.id, &v).await?;
    w.record_transition(
        Kind::Document,
        id,
        before.status.as_str(),
        DocumentStatus::Draft.as_str(),
        Some(&format!("revision {next} opened")),
    )
    .await?;
    w.commit_with(after).await
}

/// Moves the workflow of the document's newest version.
pub async fn transition(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    to: DocumentStatus,
    note: Option<&str>,
    expected_version: Option<i32>,
) -> AppResult<Granted<document::Model>> {
    let note = domain::optional_text("note", note, MAX_TEXT)?;
    let (mut w, before) = gate.write_on::<document::Entity>(actor, id, Operation::WriteDocuments).await?;
    check_version(expected_version, before.version)?;
    let from = before.status;
    if from == DocumentStatus::Retired {
        return Err(AppError::bad_input("id", "a RETIRED document is read-only"));
    }
    if rules::transition(from, to)? == Right::Approve && !w.access().allows(Operation::ApproveDocuments) {
        return Err(AppError::Forbidden(format!(
            "moving a document to {} needs the OWNER or MANAGER role",
            to.as_str()
        )));
    }
    let v = latest(&w, &before).await?;
    let at = now();
    let mut vm: document_version::ActiveModel = v.clone().into();
    let mut am: document::ActiveModel = before.clone().into();
    am.status = Set(to);
    match to {
        DocumentStatus::InReview => vm.submitted_at = Set(Some(at)),
        DocumentStatus::Draft => vm.submitted_at = Set(None),
        DocumentStatus::Approved => {
            rules::check_approver(&v.author, w.actor())?;
            vm.approved_at = Set(Some(at));
            vm.approved_by = Set(Some(w.actor().to_string()));
            am.current_version_id = Set(Some(v.id));
            am.next_review_on = Set(rules::next_review_on(at.date_naive(), before.review_interval_months));
        }
        DocumentStatus::Retired => {
            am.next_review_on = Set(None);
        }
    }
    let after = w.update(am).await?;
    if sea_orm::ActiveModelTrait::is_changed(&vm) {
        let v_after = w.update(vm).await?;
        w.record_update(Kind::DocumentVersion, v.id, &v, &v_after).await?;
    }
    // Pointers and dates the move set, if any; the status as a TRANSITION row.
    let moved = document::Model { status: after.status, ..before };
    w.record_update(Kind::Document, id, &moved, &after).await?;
    w.record_transition(Kind::Document, id, from.as_str(), to.as_str(), note.as_deref()).await?;
    w.commit_with(after).await
}

/// What the trail records of a document's links.
#[derive(Serialize)]
struct DocumentLinks {
    controls: Vec<String>,
}

async fn linked_refs(w: &Writer, document_id: Uuid) -> AppResult<Vec<String>> {
    let ids: Vec<Uuid> = w
        .find::<document_control::Entity>()?
        .filter(document_control::Column::DocumentId.eq(document_id))
        .select_only()
        .column(document_control::Column::ControlId)
        .tuples()
        .await?;
    crate::store::soa::control_refs(w, ids).await
}

/// A link change: the document and the SoA row.
pub struct Linked {
    pub document: document::Model,
    pub control: control::Model,
}

/// Links a document to an SoA row of either standard (what the row's implementation is
/// documented in). Linking twice changes nothing; RETIRED documents are read-only.
pub async fn link_control(
    gate: &Gate,
    actor: &Actor,
    document_id: Uuid,
    control_id: Uuid,
    link: bool,
) -> AppResult<Granted<Linked>> {
    let (mut w, document) = gate.write_on::<document::Entity>(actor, document_id, Operation::WriteDocuments).await?;
    rules::check_not_retired(document.status, "documentId")?;
    let control = w
        .get::<control::Entity>(control_id)
        .await?
        .ok_or_else(|| AppError::bad_input("controlId", "controlId: no such control in this organization"))?;
    let before = linked_refs(&w, document_id).await?;
    let changed = if link {
        let exists = w
            .find::<document_control::Entity>()?
            .filter(document_control::Column::DocumentId.eq(document_id))
            .filter(document_control::Column::ControlId.eq(control_id))
            .exists()
            .await?;
        if !exists {
            if before.len() >= MAX_CONTROLS_PER_DOCUMENT {
                return Err(AppError::bad_input(
                    "controlId",
                    format!("a document is linked to at most {MAX_CONTROLS_PER_DOCUMENT} controls"),
                ));
            }
            w.insert_many(vec![document_control::ActiveModel {
                organization_id: Set(w.org()),
                document_id: Set(document_id),
                control_id: Set(control_id),
                created_at: Set(now()),
            }])
            .await?;
        }
        !exists
    } else {
        w.delete_where::<document_control::Entity>(
            Condition::all()
                .add(document_control::Column::DocumentId.eq(document_id))
                .add(document_control::Column::ControlId.eq(control_id)),
        )
        .await?
            > 0
    };
    if changed {
        let after = linked_refs(&w, document_id).await?;
        w.record_update(
            Kind::Document,
            document_id,
            &DocumentLinks { controls: before },
            &DocumentLinks { controls: after },
        )
        .await?;
    }
    w.commit_with(Linked { document, control }).await
}

#[derive(Debug, Default, Clone)]
pub struct DocumentFilter {
    pub kind: Option<DocumentKind>,
    pub status: Option<DocumentStatus>,
    pub standard: Option<Standard>,
    pub review_overdue: Option<bool>,
    pub search: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentOrder {
    Title,
    NextReviewOn,
    UpdatedAt,
}

pub fn document_sort(order: DocumentOrder, desc: bool) -> Sort<document::Column> {
    use document::Column as C;
    let name = format!("documents:{order:?}:{}", if desc { "DESC" } else { "ASC" });
    match order {
        DocumentOrder::Title => Sort::by(&name, C::Title, false, C::Id, desc),
        DocumentOrder::NextReviewOn => Sort::by(&name, C::NextReviewOn, true, C::Id, desc),
        DocumentOrder::UpdatedAt => Sort::by(&name, C::UpdatedAt, false, C::Id, desc),
    }
}

fn sort_key(order: DocumentOrder, m: &document::Model) -> SortValue {
    match order {
        DocumentOrder::Title => SortValue::Text(m.title.clone()),
        DocumentOrder::NextReviewOn => SortValue::from(m.next_review_on),
        DocumentOrder::UpdatedAt => SortValue::Time(m.updated_at),
    }
}

/// Documents due for review on `today`: not RETIRED, next review strictly before today
/// (same rule as `domain::document::review_overdue`).
pub fn review_overdue_condition(today: chrono::NaiveDate) -> Condition {
    use document::Column as C;
    Condition::all()
        .add(C::Status.ne(DocumentStatus::Retired))
        .add(C::NextReviewOn.is_not_null())
        .add(C::NextReviewOn.lt(today))
}

pub async fn list(
    r: &Reader,
    f: &DocumentFilter,
    order: DocumentOrder,
    desc: bool,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<document::Model>> {
    use document::Column as C;
    domain::check_search(f.search.as_deref())?;
    let mut q = r.find::<document::Entity>()?;
    if let Some(k) = f.kind {
        q = q.filter(C::Kind.eq(k));
    }
    if let Some(s) = f.status {
        q = q.filter(C::Status.eq(s));
    }
    match f.standard {
        Some(Standard::Iso27001) => q = q.filter(C::CoversIso27001.eq(true)),
        Some(Standard::Iso42001) => q = q.filter(C::CoversIso42001.eq(true)),
        None => {}
    }
    if let Some(due) = f.review_overdue {
        let cond = review_overdue_condition(now().date_naive());
        q = q.filter(if due { cond } else { cond.not() });
    }
    if let Some(term) = f.search.as_deref().filter(|t| !t.trim().is_empty()) {
        let p = like_pattern(term);
        q = q.filter(Condition::any().add(ilike(C::Title, &p)).add(ilike(C::Owner, &p)));
    }
    let sort = document_sort(order, desc);
    q.page(&sort, args, want_total, |m| sort_key(order, m), |m| m.id).await
}

pub const VERSION_ORDER: &str = "documentVersions:NUMBER:DESC";

/// The versions of one document, newest first.
pub async fn versions(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    document_id: Uuid,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<document_version::Model>> {
    let r = gate.read(actor, org, Operation::ReadDocuments).await?;
    let q = r.find::<document_version::Entity>()?.filter(document_version::Column::DocumentId.eq(document_id));
    // UUIDv7 ids grow with creation, and numbers only grow: newest id first is newest number first.
    let sort = Sort::by_id(VERSION_ORDER, document_version::Column::Id);
    let sort = Sort { desc: true, ..sort };
    q.page(&sort, args, want_total, |_| SortValue::Null, |m| m.id).await
}
