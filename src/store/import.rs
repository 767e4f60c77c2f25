//! Spreadsheet imports: the rows of `domain::import` applied in one write transaction of
//! the organization, each with the same rules, trail row and event as the mutation it
//! stands for (`updateControl`, `createRisk`, `updateRisk`). A dry run does all of it and
//! rolls back, so its report is the real run's. Any bad row: nothing is written.

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::import::{ImportError, ImportKind, RiskRow, SoaRow, column_of_field};
use crate::domain::refs::Standard;
use crate::entity::{control, risk};
use crate::error::{AppError, AppResult};
use crate::store::risk::{NewRisk, RiskChanges, apply_risk_changes, insert_risk, settings_in_writer};
use crate::store::soa::{ControlChanges, apply_control_changes};
use crate::store::tenancy::{Actor, Gate, Writer};
use sea_orm::{ColumnTrait, QueryFilter};

/// SQL statements one imported row may need (read-back, write, trail), on top of the
/// operation's own budget.
const STATEMENTS_PER_ROW: u64 = 6;

/// What one row did (or would do, in a dry run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RowAction {
    Create,
    Update,
    Unchanged,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowOutcome {
    pub line: u64,
    /// `ISO27001:A.5.1` or the risk's external key.
    pub key: String,
    pub action: RowAction,
    /// The columns whose values change.
    pub changed: Vec<&'static str>,
}

/// The answer of an import, dry or not.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub kind: &'static str,
    pub dry_run: bool,
    /// Whether the rows were written (never in a dry run, never with errors).
    pub applied: bool,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: Vec<ImportError>,
    pub outcomes: Vec<RowOutcome>,
}

impl ImportReport {
    pub fn new(kind: ImportKind, dry_run: bool) -> Self {
        Self {
            kind: kind.as_str(),
            dry_run,
            applied: false,
            rows: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            errors: Vec::new(),
            outcomes: Vec::new(),
        }
    }

    fn record(&mut self, line: u64, key: String, action: RowAction, changed: Vec<&'static str>) {
        match action {
            RowAction::Create => self.created += 1,
            RowAction::Update => self.updated += 1,
            RowAction::Unchanged => self.unchanged += 1,
        }
        self.outcomes.push(RowOutcome { line, key, action, changed });
    }

    /// A rule the row breaks, on the column of the field it names.
    fn refuse(&mut self, line: u64, e: AppError) -> AppResult<()> {
        match e {
            AppError::BadUserInput { field, message } => {
                self.errors.push(ImportError { line, column: field.as_deref().map(column_of_field), message });
                Ok(())
            }
            AppError::Conflict(message) => {
                self.errors.push(ImportError { line, column: None, message });
                Ok(())
            }
            other => Err(other),
        }
    }

    /// Commits when the run is real and every row passed; otherwise rolls back.
    async fn finish(mut self, w: Writer) -> AppResult<Self> {
        if self.errors.is_empty() && !self.dry_run {
            w.commit().await?;
            self.applied = true;
        }
        Ok(self)
    }
}

async fn open(gate: &Gate, actor: &Actor, org: Uuid, op: Operation, rows: usize) -> AppResult<Writer> {
    let w = gate.write(actor, org, op).await?;
    w.allow_more_statements(rows as u64 * STATEMENTS_PER_ROW);
    Ok(w)
}

/// `soa` and `controls-decisions`: decisions, justifications, inclusion reasons, status
/// and owner of existing SoA rows (rows are not created: custom controls are made with
/// `createCustomControl`).
pub async fn import_soa(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    kind: ImportKind,
    rows: Vec<SoaRow>,
    dry_run: bool,
) -> AppResult<ImportReport> {
    let mut report = ImportReport::new(kind, dry_run);
    report.rows = rows.len();
    let mut w = open(gate, actor, org, Operation::UpdateControl, rows.len()).await?;
    let existing: HashMap<(Standard, String), control::Model> =
        w.find::<control::Entity>()?.all().await?.into_iter().map(|c| ((c.standard, c.reference.clone()), c)).collect();
    for row in rows {
        let key = format!("{}:{}", row.standard.as_str(), row.reference);
        let Some(before) = existing.get(&(row.standard, row.reference.clone())) else {
            report.errors.push(ImportError::new(row.line, Some("ref"), format!("{key} is not a row of this SoA")));
            continue;
        };
        let mut changed = Vec::new();
        let mut ch = ControlChanges {
            expected_version: None,
            decision: None,
            applicable: None,
            justification: None,
            inclusion_reasons: None,
            status: None,
            owner: None,
            implementation_notes: None,
            evidence: None,
            title: None,
        };
        if let Some(d) = row.decision.filter(|d| *d != before.decision) {
            ch.decision = Some(d);
            changed.push("decision");
        }
        if let Some(j) = row.justification.filter(|j| *j != before.justification) {
            ch.justification = Some(j);
            changed.push("justification");
        }
        if let Some(s) = row.status.filter(|s| *s != before.status) {
            ch.status = Some(s);
            changed.push("status");
        }
        if let Some(o) = row.owner.filter(|o| *o != before.owner) {
            ch.owner = Some(o);
            changed.push("owner");
        }
        if let Some(r) = row.inclusion_reasons.filter(|r| *r != before.inclusion_reasons.0) {
            ch.inclusion_reasons = Some(r);
            changed.push("inclusion_reasons");
        }
        if changed.is_empty() {
            report.record(row.line, key, RowAction::Unchanged, changed);
            continue;
        }
        match ch.checked() {
            Ok(ch) => match apply_control_changes(&mut w, before.clone(), ch).await {
                Ok(_) => report.record(row.line, key, RowAction::Update, changed),
                Err(e) => report.refuse(row.line, e)?,
            },
            Err(e) => report.refuse(row.line, e)?,
        }
    }
    report.finish(w).await
}

/// `risks`: rows matched by `external_key`; a new key creates a risk (title, category,
/// likelihood and impact required), a known one updates the columns given.
pub async fn import_risks(
    gate: &Gate,
    actor: &Actor,
    org: Uuid,
    rows: Vec<RiskRow>,
    dry_run: bool,
) -> AppResult<ImportReport> {
    let mut report = ImportReport::new(ImportKind::Risks, dry_run);
    report.rows = rows.len();
    let mut w = open(gate, actor, org, Operation::WriteRisks, rows.len()).await?;
    let settings = settings_in_writer(&w).await?;
    let keys: Vec<String> = rows.iter().map(|r| r.external_key.clone()).collect();
    let mut existing: HashMap<String, risk::Model> = HashMap::new();
    for chunk in keys.chunks(500) {
        for m in w.find::<risk::Entity>()?.filter(risk::Column::ExternalKey.is_in(chunk.to_vec())).all().await? {
            if let Some(k) = m.external_key.clone() {
                existing.insert(k, m);
            }
        }
    }
    for row in rows {
        let line = row.line;
        let key = row.external_key.clone();
        match existing.get(&key) {
            None => {
                let Some(new) = new_risk(&row) else {
                    for column in row.missing_for_create() {
                        report.errors.push(ImportError::new(
                            line,
                            Some(column),
                            format!("a new risk ({key}) needs {column}"),
                        ));
                    }
                    continue;
                };
                match insert_risk(&mut w, &settings, new).await {
                    Ok(_) => report.record(line, key, RowAction::Create, Vec::new()),
                    Err(e) => report.refuse(line, e)?,
                }
            }
            Some(before) => {
                let (ch, changed) = risk_changes(&row, before);
                if changed.is_empty() {
                    report.record(line, key, RowAction::Unchanged, changed);
                    continue;
                }
                let applied = match ch.checked() {
                    Ok(ch) => apply_risk_changes(&mut w, &settings, before.clone(), ch).await,
                    Err(e) => Err(e),
                };
                match applied {
                    Ok(_) => report.record(line, key, RowAction::Update, changed),
                    Err(e) => report.refuse(line, e)?,
                }
            }
        }
    }
    report.finish(w).await
}

/// The new risk a row describes; `None` when it lacks what creating one needs.
fn new_risk(row: &RiskRow) -> Option<NewRisk<'_>> {
    Some(NewRisk {
        title: row.title.as_deref()?,
        description: row.description.as_ref().and_then(|d| d.as_deref()),
        category: row.category?,
        kind: row.kind,
        likelihood: row.likelihood?,
        impact: row.impact?,
        residual_likelihood: row.residual_likelihood.flatten(),
        residual_impact: row.residual_impact.flatten(),
        treatment: row.treatment.flatten(),
        acceptance_justification: row.acceptance_justification.as_ref().and_then(|d| d.as_deref()),
        accepted_by: row.accepted_by.as_ref().and_then(|d| d.as_deref()),
        acceptance_expires_on: row.acceptance_expires_on.flatten(),
        owner: row.owner.as_ref().and_then(|d| d.as_deref()),
        status: row.status,
        review_date: row.review_date.flatten(),
        scope_id: None,
        ai_system_id: None,
        external_key: Some(&row.external_key),
    })
}

/// The changes of `row` against `before`, and the columns that differ.
fn risk_changes(row: &RiskRow, before: &risk::Model) -> (RiskChanges, Vec<&'static str>) {
    let mut changed = Vec::new();
    let mut ch = RiskChanges::default();
    macro_rules! set {
        ($field:ident, $column:literal, $value:expr, $before:expr) => {
            if let Some(v) = $value.filter(|v| *v != $before) {
                ch.$field = Some(v);
                changed.push($column);
            }
        };
    }
    set!(title, "title", row.title.clone(), before.title);
    set!(description, "description", row.description.clone(), before.description);
    set!(category, "category", row.category, before.category);
    set!(kind, "kind", row.kind, before.kind);
    set!(likelihood, "likelihood", row.likelihood, before.likelihood);
    set!(impact, "impact", row.impact, before.impact);
    set!(residual_likelihood, "residual_likelihood", row.residual_likelihood, before.residual_likelihood);
    set!(residual_impact, "residual_impact", row.residual_impact, before.residual_impact);
    set!(treatment, "treatment", row.treatment, before.treatment);
    set!(owner, "owner", row.owner.clone(), before.owner);
    set!(status, "status", row.status, before.status);
    set!(review_date, "review_date", row.review_date, before.review_date);
    set!(
        acceptance_justification,
        "acceptance_justification",
        row.acceptance_justification.clone(),
        before.acceptance_justification
    );
    set!(accepted_by, "accepted_by", row.accepted_by.clone(), before.accepted_by);
    set!(acceptance_expires_on, "acceptance_expires_on", row.acceptance_expires_on, before.acceptance_expires_on);
    (ch, changed)
}
