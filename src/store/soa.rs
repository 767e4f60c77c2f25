//! The integrated Statement of Applicability and the clause-level gap analysis.

use std::collections::{BTreeMap, HashMap};

use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, Condition, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::refs::Standard;
use crate::domain::soa::{
    Applicability, ClauseStatus, ControlDecision, ImplementationStatus, InclusionReason, ReadinessCounts,
    check_applicability, check_evidence, requested_decision,
};
use crate::domain::{self, MAX_NAME, MAX_TEXT, MAX_TITLE};
use crate::entity::{EvidenceLink, ReasonList, catalog_control, clause, clause_assessment, control};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::store::page::{Page, PageArgs, Sort, SortValue};
use crate::store::tenancy::{Actor, Gate, Granted, MultiReader, Reader, Writer, now};

/// SoA order: ISO 27001 Annex A, then ISO 42001 Annex A, then organization-defined controls.
fn catalog_position(standard: Standard, position: i32) -> i32 {
    if standard == Standard::Iso42001 { 1_000 + position } else { position }
}

const CUSTOM_POSITION_BASE: i32 = 1_000_000;

/// Organization-defined controls per organization (the SoA stays one bounded list).
pub const MAX_CUSTOM_CONTROLS: usize = 100;
/// Both standards' Annex A controls, as seeded by the migrations.
pub const CATALOG_CONTROLS: usize = 131;
/// SoA rows of one organization.
pub const MAX_SOA_ROWS: usize = CATALOG_CONTROLS + MAX_CUSTOM_CONTROLS;
/// Evidence links per SoA row.
pub const MAX_EVIDENCE: usize = 50;

/// What a new organization took from its template.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Copied {
    /// Catalog rows whose decision, justification and inclusion reasons came from it.
    pub decisions: usize,
    pub custom_controls: usize,
}

/// Creates one SoA row per catalog control of both standards and one gap-analysis row per
/// clause, each UNDECIDED / NOT_STARTED / NOT_ADDRESSED until someone decides otherwise
/// (ISO 27001 6.1.3 d: the SoA records decisions, not defaults). From a template's rows:
/// each catalog row takes the template's decision, justification and inclusion reasons,
/// and the template's custom controls are copied; implementation status, owners, notes and
/// evidence are the organization's own and start empty.
pub(crate) async fn seed_organization(w: &mut Writer, template: Option<&[control::Model]>) -> AppResult<Copied> {
    let org = w.org();
    let at = now();
    let mut copied = Copied::default();
    let decided: HashMap<(Standard, &str), &control::Model> = template
        .unwrap_or_default()
        .iter()
        .filter(|c| !c.is_custom && c.decision != ControlDecision::Undecided)
        .map(|c| ((c.standard, c.reference.as_str()), c))
        .collect();
    let catalog = w.catalog::<catalog_control::Entity>().all().await?;
    let fresh = |c: catalog_control::Model| control::ActiveModel {
        position: Set(catalog_position(c.standard, c.position)),
        ai_relevance: Set(migration::ai_relevance(c.standard.as_str(), &c.reference).map(str::to_string)),
        id: Set(ids::new_id()),
        organization_id: Set(org),
        standard: Set(c.standard),
        reference: Set(c.reference),
        title: Set(c.title),
        group_ref: Set(c.group_ref),
        group_title: Set(c.group_title),
        subgroup_ref: Set(c.subgroup_ref),
        is_custom: Set(false),
        ai_specific: Set(c.ai_specific),
        applicable: Set(ControlDecision::Undecided.applicable()),
        decision: Set(ControlDecision::Undecided),
        justification: Set(None),
        inclusion_reasons: Set(ReasonList::default()),
        status: Set(ImplementationStatus::NotStarted),
        owner: Set(None),
        implementation_notes: Set(None),
        evidence: Set(Vec::new()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let mut rows: Vec<control::ActiveModel> = Vec::with_capacity(catalog.len());
    for c in catalog {
        let from = decided.get(&(c.standard, c.reference.as_str())).copied();
        let mut row = fresh(c);
        if let Some(t) = from {
            row.decision = Set(t.decision);
            row.applicable = Set(t.decision.applicable());
            row.justification = Set(t.justification.clone());
            row.inclusion_reasons = Set(t.inclusion_reasons.clone());
            copied.decisions += 1;
        }
        rows.push(row);
    }
    for t in template.unwrap_or_default().iter().filter(|c| c.is_custom) {
        rows.push(control::ActiveModel {
            id: Set(ids::new_id()),
            organization_id: Set(org),
            standard: Set(t.standard),
            reference: Set(t.reference.clone()),
            title: Set(t.title.clone()),
            group_ref: Set(t.group_ref.clone()),
            group_title: Set(t.group_title.clone()),
            subgroup_ref: Set(t.subgroup_ref.clone()),
            is_custom: Set(true),
            ai_specific: Set(t.ai_specific),
            position: Set(t.position),
            applicable: Set(t.decision.applicable()),
            decision: Set(t.decision),
            ai_relevance: Set(t.ai_relevance.clone()),
            justification: Set(t.justification.clone()),
            inclusion_reasons: Set(t.inclusion_reasons.clone()),
            status: Set(ImplementationStatus::NotStarted),
            owner: Set(None),
            implementation_notes: Set(None),
            evidence: Set(Vec::new()),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        });
        copied.custom_controls += 1;
    }
    w.insert_many(rows).await?;

    let clauses = w.catalog::<clause::Entity>().all().await?;
    let rows: Vec<clause_assessment::ActiveModel> = clauses
        .iter()
        .map(|c| clause_assessment::ActiveModel {
            id: Set(ids::new_id()),
            organization_id: Set(org),
            standard: Set(c.standard),
            reference: Set(c.reference.clone()),
            title: Set(c.title.clone()),
            parent_ref: Set(c.parent_ref.clone()),
            is_leaf: Set(!clauses
                .iter()
                .any(|o| o.standard == c.standard && o.parent_ref.as_ref() == Some(&c.reference))),
            position: Set(catalog_position(c.standard, c.position)),
            status: Set(ClauseStatus::NotAddressed),
            notes: Set(None),
            owner: Set(None),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .collect();
    w.insert_many(rows).await?;
    Ok(copied)
}

/// Filters of `controls(filter: …)`.
#[derive(Debug, Default, Clone)]
pub struct ControlFilter {
    pub standard: Option<Standard>,
    pub applicable: Option<bool>,
    pub decision: Option<ControlDecision>,
    pub ai_relevant: Option<bool>,
    pub status: Option<ImplementationStatus>,
    pub group_ref: Option<String>,
    pub ai_specific: Option<bool>,
    pub is_custom: Option<bool>,
    pub search: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlOrder {
    /// Catalog order: ISO 27001 Annex A, ISO 42001 Annex A, custom controls.
    Ref,
    Title,
    UpdatedAt,
}

/// `%`/`_`-escaped, lower-cased `LIKE` pattern for a search term.
pub(crate) fn like_pattern(term: &str) -> String {
    let escaped = term.trim().to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// `LOWER(col) LIKE pattern ESCAPE '\'` (case-insensitive on both backends).
pub(crate) fn ilike(col: impl sea_orm::ColumnTrait, pattern: &str) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
    Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(pattern).escape('\\'))
}

fn control_filter<Q: QueryFilter>(mut q: Q, f: &ControlFilter) -> Q {
    if let Some(s) = f.standard {
        q = q.filter(control::Column::Standard.eq(s));
    }
    if let Some(a) = f.applicable {
        q = q.filter(control::Column::Applicable.eq(a));
    }
    if let Some(d) = f.decision {
        q = q.filter(control::Column::Decision.eq(d));
    }
    if let Some(a) = f.ai_relevant {
        q = q.filter(if a {
            control::Column::AiRelevance.is_not_null()
        } else {
            control::Column::AiRelevance.is_null()
        });
    }
    if let Some(s) = f.status {
        q = q.filter(control::Column::Status.eq(s));
    }
    if let Some(g) = &f.group_ref {
        q = q.filter(control::Column::GroupRef.eq(g.as_str()));
    }
    if let Some(a) = f.ai_specific {
        q = q.filter(control::Column::AiSpecific.eq(a));
    }
    if let Some(c) = f.is_custom {
        q = q.filter(control::Column::IsCustom.eq(c));
    }
    if let Some(term) = f.search.as_deref().filter(|t| !t.trim().is_empty()) {
        let p = like_pattern(term);
        q = q
            .filter(Condition::any().add(ilike(control::Column::Reference, &p)).add(ilike(control::Column::Title, &p)));
    }
    q
}

pub fn control_sort(order: ControlOrder, desc: bool) -> Sort<control::Column> {
    use control::Column as C;
    let name = format!("controls:{order:?}:{desc}");
    match order {
        ControlOrder::Ref => Sort::by(&name, C::Position, false, C::Id, desc),
        ControlOrder::Title => Sort::by(&name, C::Title, false, C::Id, desc),
        ControlOrder::UpdatedAt => Sort::by(&name, C::UpdatedAt, false, C::Id, desc),
    }
}

pub fn control_sort_key(order: ControlOrder, m: &control::Model) -> SortValue {
    match order {
        ControlOrder::Ref => SortValue::Int(m.position.into()),
        ControlOrder::Title => SortValue::Text(m.title.clone()),
        ControlOrder::UpdatedAt => SortValue::Time(m.updated_at),
    }
}

pub async fn list_controls(
    r: &Reader,
    filter: &ControlFilter,
    order: ControlOrder,
    desc: bool,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<control::Model>> {
    crate::domain::check_search(filter.search.as_deref())?;
    let q = control_filter(r.find::<control::Entity>()?, filter);
    let sort = control_sort(order, desc);
    q.page(&sort, args, want_total, |m| control_sort_key(order, m), |m| m.id).await
}

/// Every SoA row of the organization in catalog order (exports): the catalog's and at
/// most [`MAX_CUSTOM_CONTROLS`] of its own.
pub async fn all_controls(r: &Reader) -> AppResult<Vec<control::Model>> {
    r.find::<control::Entity>()?
        .order_by_asc(control::Column::Position)
        .order_by_asc(control::Column::Id)
        .limit(MAX_SOA_ROWS as u64)
        .all()
        .await
}

/// SoA rows with the given `(standard, ref)` keys in several organizations (one statement).
pub async fn controls_by_refs(r: &MultiReader, refs: &[(Standard, String)]) -> AppResult<Vec<control::Model>> {
    if refs.is_empty() || r.orgs().is_empty() {
        return Ok(Vec::new());
    }
    let names: std::collections::BTreeSet<&str> = refs.iter().map(|(_, r)| r.as_str()).collect();
    let rows = r.find::<control::Entity>()?.filter(control::Column::Reference.is_in(names)).all().await?;
    Ok(rows.into_iter().filter(|c| refs.iter().any(|(s, rf)| *s == c.standard && *rf == c.reference)).collect())
}

/// Inclusion reasons in the order given, each once.
fn unique_reasons(given: &[InclusionReason]) -> Vec<InclusionReason> {
    let mut out: Vec<InclusionReason> = Vec::with_capacity(given.len());
    for r in given {
        if !out.contains(r) {
            out.push(*r);
        }
    }
    out
}

pub struct ControlChanges {
    pub expected_version: Option<i32>,
    pub decision: Option<ControlDecision>,
    /// Deprecated input: `true` is INCLUDED, `false` EXCLUDED.
    pub applicable: Option<bool>,
    /// `Some(None)` clears.
    pub justification: Option<Option<String>>,
    pub inclusion_reasons: Option<Vec<InclusionReason>>,
    pub status: Option<ImplementationStatus>,
    pub owner: Option<Option<String>>,
    pub implementation_notes: Option<Option<String>>,
    pub evidence: Option<Vec<(String, String)>>,
    pub title: Option<String>,
}

pub async fn update_control(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    ch: ControlChanges,
) -> AppResult<Granted<control::Model>> {
    let expected_version = ch.expected_version;
    let ch = ch.checked()?;
    let (mut w, before) = gate.write_on::<control::Entity>(actor, id, Operation::UpdateControl).await?;
    crate::store::org::check_version(expected_version, before.version)?;
    let after = apply_control_changes(&mut w, before, ch).await?;
    w.commit_with(after).await
}

/// [`ControlChanges`] with texts trimmed and checked and the decision resolved.
pub(crate) struct CheckedControlChanges {
    justification: Option<Option<String>>,
    owner: Option<Option<String>>,
    notes: Option<Option<String>>,
    evidence: Option<Vec<EvidenceLink>>,
    title: Option<String>,
    decision: Option<ControlDecision>,
    reasons: Option<Vec<InclusionReason>>,
    status: Option<ImplementationStatus>,
}

impl ControlChanges {
    /// The checks that need no database (before a transaction is opened).
    pub(crate) fn checked(self) -> AppResult<CheckedControlChanges> {
        let opt = |field: &str, v: Option<Option<String>>, max| {
            v.map(|d| domain::optional_text(field, d.as_deref(), max)).transpose()
        };
        let evidence = match &self.evidence {
            Some(list) => {
                if list.len() > MAX_EVIDENCE {
                    return Err(AppError::bad_input("evidence", format!("at most {MAX_EVIDENCE} evidence links")));
                }
                let mut out = Vec::with_capacity(list.len());
                for (title, url) in list {
                    check_evidence(title, url)?;
                    out.push(EvidenceLink { title: title.trim().to_string(), url: url.trim().to_string() });
                }
                Some(out)
            }
            None => None,
        };
        Ok(CheckedControlChanges {
            justification: opt("justification", self.justification, MAX_TEXT)?,
            owner: opt("owner", self.owner, MAX_NAME)?,
            notes: opt("implementationNotes", self.implementation_notes, MAX_TEXT)?,
            evidence,
            title: self.title.as_deref().map(|t| domain::required_text("title", t, MAX_TITLE)).transpose()?,
            decision: requested_decision(self.decision, self.applicable)?,
            reasons: self.inclusion_reasons.as_deref().map(unique_reasons),
            status: self.status,
        })
    }
}

/// Applies checked changes to the SoA row `before` in an open write transaction of
/// `UpdateControl` (a mutation or one row of an import), with the rules and trail of
/// `updateControl`.
pub(crate) async fn apply_control_changes(
    w: &mut Writer,
    before: control::Model,
    ch: CheckedControlChanges,
) -> AppResult<control::Model> {
    let id = before.id;
    if ch.title.is_some() && !before.is_custom {
        return Err(AppError::bad_input(
            "title",
            "catalog controls keep the standard's title; only custom controls can be renamed",
        ));
    }
    let decision = ch.decision.unwrap_or(before.decision);
    let final_justification = ch.justification.unwrap_or(before.justification.clone());
    let final_reasons = ch.reasons.unwrap_or_else(|| before.inclusion_reasons.0.clone());
    let status = ch.status.unwrap_or(before.status);
    check_applicability(&Applicability {
        decision,
        justification: final_justification.as_deref(),
        inclusion_reasons: final_reasons.len(),
        status,
    })?;

    let mut am: control::ActiveModel = before.clone().into();
    am.decision = Set(decision);
    am.applicable = Set(decision.applicable());
    am.justification = Set(final_justification);
    am.status = Set(status);
    am.inclusion_reasons = Set(ReasonList(final_reasons));
    if let Some(o) = ch.owner {
        am.owner = Set(o);
    }
    if let Some(n) = ch.notes {
        am.implementation_notes = Set(n);
    }
    if let Some(e) = ch.evidence {
        am.evidence = Set(e);
    }
    if let Some(t) = ch.title {
        am.title = Set(t);
    }
    let after = w.update(am).await?;
    w.record_update(Kind::Control, id, &before, &after).await?;
    Ok(after)
}

pub struct NewCustomControl<'a> {
    pub standard: Standard,
    pub reference: &'a str,
    pub title: &'a str,
    pub justification: Option<&'a str>,
    pub inclusion_reasons: &'a [InclusionReason],
    pub owner: Option<&'a str>,
}

/// ISO 27001 6.1.3 b; ISO 42001 6.1.3: controls may come from any source; each
/// organization-defined control needs its own ref, unique within the organization. It is
/// INCLUDED when it comes with a justification (an inclusion reason or a text, 6.1.3 d),
/// UNDECIDED otherwise.
pub async fn create_custom_control(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    n: NewCustomControl<'_>,
) -> AppResult<Granted<control::Model>> {
    let reference = domain::required_text("ref", n.reference, 32)?;
    if reference.chars().any(char::is_whitespace) {
        return Err(AppError::bad_input("ref", "ref must not contain spaces"));
    }
    let title = domain::required_text("title", n.title, MAX_TITLE)?;
    let justification = domain::optional_text("justification", n.justification, MAX_TEXT)?;
    let owner = domain::optional_text("owner", n.owner, MAX_NAME)?;
    let reasons = unique_reasons(n.inclusion_reasons);
    let decision = if justification.is_some() || !reasons.is_empty() {
        ControlDecision::Included
    } else {
        ControlDecision::Undecided
    };
    let mut w = gate.write(actor, org, Operation::CreateCustomControl).await?;
    let taken =
        w.find::<control::Entity>()?.filter(control::Column::Reference.eq(reference.as_str())).count().await? > 0;
    if taken {
        return Err(AppError::Conflict(format!("ref {reference:?} is already used in this organization's SoA")));
    }
    let customs = w.find::<control::Entity>()?.filter(control::Column::IsCustom.eq(true)).count().await?;
    if customs as usize >= MAX_CUSTOM_CONTROLS {
        return Err(AppError::bad_input(
            "ref",
            format!("an organization defines at most {MAX_CUSTOM_CONTROLS} controls of its own"),
        ));
    }
    let at = now();
    let am = control::ActiveModel {
        id: Set(ids::new_id()),
        organization_id: Set(org),
        standard: Set(n.standard),
        reference: Set(reference),
        title: Set(title),
        group_ref: Set("CUSTOM".to_string()),
        group_title: Set("Organization-defined controls".to_string()),
        subgroup_ref: Set(None),
        is_custom: Set(true),
        ai_specific: Set(false),
        ai_relevance: Set(None),
        position: Set(CUSTOM_POSITION_BASE + customs as i32),
        applicable: Set(decision.applicable()),
        decision: Set(decision),
        justification: Set(justification),
        inclusion_reasons: Set(ReasonList(reasons)),
        status: Set(ImplementationStatus::NotStarted),
        owner: Set(owner),
        implementation_notes: Set(None),
        evidence: Set(Vec::new()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let m = w.insert(am, "that ref is already used in this organization's SoA").await?;
    w.record_create(Kind::Control, m.id, &m).await?;
    w.commit_with(m).await
}

#[derive(Debug, Default, Clone)]
pub struct ClauseFilter {
    pub standard: Option<Standard>,
    pub status: Option<ClauseStatus>,
    pub leaves_only: bool,
}

pub async fn list_clause_assessments(
    r: &Reader,
    f: &ClauseFilter,
    args: &PageArgs,
    want_total: bool,
) -> AppResult<Page<clause_assessment::Model>> {
    use clause_assessment::Column as C;
    let mut q = r.find::<clause_assessment::Entity>()?;
    if let Some(s) = f.standard {
        q = q.filter(C::Standard.eq(s));
    }
    if let Some(s) = f.status {
        q = q.filter(C::Status.eq(s));
    }
    if f.leaves_only {
        q = q.filter(C::IsLeaf.eq(true));
    }
    // Standard then clause order, as one integer key.
    let sort = Sort::by("clauses:POSITION", C::Position, false, C::Id, false);
    q.page(&sort, args, want_total, |m| SortValue::Int(m.position.into()), |m| m.id).await
}

pub struct ClauseChanges {
    pub expected_version: Option<i32>,
    pub status: Option<ClauseStatus>,
    pub notes: Option<Option<String>>,
    pub owner: Option<Option<String>>,
}

pub async fn update_clause_assessment(
    gate: &Gate,
    actor: &Actor,
    id: Uuid,
    ch: ClauseChanges,
) -> AppResult<Granted<clause_assessment::Model>> {
    let notes = match &ch.notes {
        Some(n) => Some(domain::optional_text("notes", n.as_deref(), MAX_TEXT)?),
        None => None,
    };
    let owner = match &ch.owner {
        Some(o) => Some(domain::optional_text("owner", o.as_deref(), MAX_NAME)?),
        None => None,
    };
    let (mut w, before) =
        gate.write_on::<clause_assessment::Entity>(actor, id, Operation::UpdateClauseAssessment).await?;
    crate::store::org::check_version(ch.expected_version, before.version)?;
    let mut am: clause_assessment::ActiveModel = before.clone().into();
    if let Some(s) = ch.status {
        am.status = Set(s);
    }
    if let Some(n) = notes {
        am.notes = Set(n);
    }
    if let Some(o) = owner {
        am.owner = Set(o);
    }
    let after = w.update(am).await?;
    w.record_update(Kind::ClauseAssessment, id, &before, &after).await?;
    w.commit_with(after).await
}

/// Readiness counts per organization and standard, from two grouped statements.
pub async fn readiness_counts(r: &MultiReader) -> AppResult<HashMap<Uuid, BTreeMap<Standard, ReadinessCounts>>> {
    let mut out: HashMap<Uuid, BTreeMap<Standard, ReadinessCounts>> = HashMap::new();
    if r.orgs().is_empty() {
        return Ok(out);
    }
    for org in r.orgs() {
        let e = out.entry(org).or_default();
        for standard in Standard::ALL {
            e.insert(*standard, ReadinessCounts::default());
        }
    }
    use clause_assessment::Column as A;
    let clauses: Vec<(Uuid, Standard, ClauseStatus, i64)> = r
        .find::<clause_assessment::Entity>()?
        .filter(A::IsLeaf.eq(true))
        .select_only()
        .column(A::OrganizationId)
        .column(A::Standard)
        .column(A::Status)
        .column_as(A::Id.count(), "n")
        .group_by(A::OrganizationId)
        .group_by(A::Standard)
        .group_by(A::Status)
        .tuples()
        .await?;
    for (org, standard, status, n) in clauses {
        let c = out.entry(org).or_default().entry(standard).or_default();
        let n = n as u64;
        c.clauses_total += n;
        match status {
            ClauseStatus::Addressed => c.clauses_addressed += n,
            ClauseStatus::Partial => c.clauses_partial += n,
            ClauseStatus::NotAddressed => {}
        }
    }
    use control::Column as C;
    let controls: Vec<(Uuid, Standard, ControlDecision, ImplementationStatus, i64)> = r
        .find::<control::Entity>()?
        .filter(C::Decision.ne(ControlDecision::Excluded))
        .select_only()
        .column(C::OrganizationId)
        .column(C::Standard)
        .column(C::Decision)
        .column(C::Status)
        .column_as(C::Id.count(), "n")
        .group_by(C::OrganizationId)
        .group_by(C::Standard)
        .group_by(C::Decision)
        .group_by(C::Status)
        .tuples()
        .await?;
    for (org, standard, decision, status, n) in controls {
        out.entry(org).or_default().entry(standard).or_default().add_controls(decision, status, n as u64);
    }
    Ok(out)
}

/// `STANDARD:ref` of the SoA rows `ids`, in SoA order: what the audit trail records of an
/// entity's control links.
pub(crate) async fn control_refs(w: &Writer, ids: Vec<Uuid>) -> AppResult<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = w
        .find::<control::Entity>()?
        .filter(control::Column::Id.is_in(ids))
        .order_by_asc(control::Column::Position)
        .all()
        .await?;
    Ok(rows.into_iter().map(|c| format!("{}:{}", c.standard.as_str(), c.reference)).collect())
}
