//! The audit programme (ISO 27001 / 42001 clause 9.2): audits, findings, their workflow,
//! and the batch loaders behind their nested lists.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::{Access, Operation};
use crate::domain::{audit as rules, refs};
use crate::entity::{audit, finding, workflow_transition};
use crate::error::{AppError, AppResult};
pub use crate::graphql::catalog::StandardCode;
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::input::{change, ref_id, try_change};
use crate::graphql::limits;
use crate::graphql::loaders::{LoaderExt, load_by_id, load_children};
use crate::graphql::ncr::{Nonconformity, RaisedFrom};
use crate::graphql::scalars::Date;
use crate::ids::{self, Kind};
use crate::store::audit as store;
use crate::store::page::PageArgs;
use crate::store::{Actor, Gate};

/// INTERNAL: an internal audit (ISO 27001 / 42001 9.2); the others are audits of a
/// certification body (ISO/IEC 17021-1).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::audit::AuditType")]
pub enum AuditType {
    /// An internal audit of the organization's own management system (ISO 27001 / 42001
    /// 9.2).
    Internal,
    /// An initial certification audit, before it was split into its two stages.
    #[graphql(
        deprecation = "use STAGE_1 and STAGE_2, the two stages of an initial certification audit (ISO/IEC 17021-1 9.3.1); existing CERTIFICATION audits keep this type"
    )]
    Certification,
    /// A surveillance audit, in years 1 and 2 of the cycle (ISO/IEC 17021-1 9.6.2).
    Surveillance,
    /// A recertification audit, before the cycle expires (ISO/IEC 17021-1 9.6.3).
    Recertification,
    /// Stage 1 of the initial certification audit: documented information, readiness for
    /// stage 2 (ISO/IEC 17021-1 9.3.1.2).
    #[graphql(name = "STAGE_1")]
    Stage1,
    /// Stage 2 of the initial certification audit: implementation and effectiveness
    /// (ISO/IEC 17021-1 9.3.1.3).
    #[graphql(name = "STAGE_2")]
    Stage2,
}

/// INTEGRATED: one audit over both standards; SEQUENTIAL: same team and visit, one
/// standard after the other; SEPARATE: an audit on its own.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::audit::AuditMode")]
pub enum AuditMode {
    /// One audit over both standards at once.
    Integrated,
    /// Both standards, same team and visit, one standard after the other.
    Sequential,
    /// An audit on its own, of one or both standards.
    Separate,
}

/// How much of the management system one audit of the programme covers.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::audit::AuditFocus")]
pub enum AuditFocus {
    /// Every clause and control of its standards.
    Full,
    /// Part of the management system, in a rotation the programme completes over time.
    Rotating,
    /// The processes and controls chosen by their importance, risk and the results of
    /// previous audits.
    RiskBased,
}

/// PLANNED → IN_PROGRESS → REPORTING → COMPLETED; any open status → CANCELLED.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::audit::AuditStatus")]
pub enum AuditStatus {
    /// Scheduled; findings of the review of documented information may be recorded.
    Planned,
    /// Under way; `actualStart` is set to the day of this move unless given.
    InProgress,
    /// Fieldwork over, results being reported; findings are still accepted.
    Reporting,
    /// Results reported to relevant management (ISO 27001 / 42001 9.2.2 c); read-only.
    Completed,
    /// Called off, with a reason; read-only.
    Cancelled,
}

/// The grading of an audit finding: nonconformity findings raise NCRs (ISO 27001 / 42001
/// 10.2), observations and opportunities for improvement do not.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::audit::FindingType")]
pub enum FindingType {
    /// A requirement not fulfilled, affecting the management system's capability to
    /// achieve its intended results; raises a MAJOR nonconformity.
    MajorNonconformity,
    /// A requirement not fulfilled, not affecting that capability; raises a MINOR
    /// nonconformity.
    MinorNonconformity,
    /// Worth noting, not a nonconformity.
    Observation,
    /// A possible improvement, not a nonconformity (ISO 27001 / 42001 10.1).
    OpportunityForImprovement,
}

/// Workflow history by `(organization, entity)`, read for `op` (audits or NCRs).
pub struct TransitionsOf<const AUDITS: bool> {
    gate: Gate,
    actor: Arc<Actor>,
}

impl<const AUDITS: bool> TransitionsOf<AUDITS> {
    pub fn new(gate: Gate, actor: Arc<Actor>) -> Self {
        Self { gate, actor }
    }
}

impl<const AUDITS: bool> Loader<(Uuid, Uuid)> for TransitionsOf<AUDITS> {
    type Value = Vec<workflow_transition::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[(Uuid, Uuid)]) -> Result<HashMap<(Uuid, Uuid), Vec<workflow_transition::Model>>> {
        let op = if AUDITS { Operation::ReadAudits } else { Operation::ReadNonconformities };
        let mut out: HashMap<(Uuid, Uuid), Vec<workflow_transition::Model>> = HashMap::new();
        for t in store::transitions_of(&self.gate, &self.actor, keys, op).await? {
            out.entry((t.organization_id, t.entity_id)).or_default().push(t);
        }
        Ok(out)
    }
}

crate::entity_type! {
    /// One audit of the programme.
    Audit, audit
}

impl Audit {
    fn current(&self) -> rules::AuditStatus {
        self.model.status
    }
}

crate::entity_object! {
    Audit, audit,
    update: custom,
    /// Always false: audit records are kept as evidence of the programme and its results
    /// (9.2.2, last paragraph).
    delete: false,
    {
        /// The audit's name, at most 300 characters.
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// INTERNAL (9.2), or which audit of the certification body.
        #[graphql(name = "type")]
        async fn audit_type(&self) -> AuditType {
            self.model.audit_type.into()
        }
        /// How the audit takes the two standards.
        async fn mode(&self) -> AuditMode {
            self.model.mode.into()
        }
        /// How much of the management system the audit covers.
        async fn focus(&self) -> AuditFocus {
            self.model.focus.into()
        }
        /// The audit's place in its workflow.
        async fn status(&self) -> AuditStatus {
            self.current().into()
        }
        /// The standards audited, at least one; both for INTEGRATED and SEQUENTIAL audits
        /// (ISO 27001 / 42001 9.2.2 a).
        async fn standards(&self) -> Vec<StandardCode> {
            store::standards_of(&self.model).into_iter().map(Into::into).collect()
        }
        /// The scope audited (ISO 27001 / 42001 9.2.2 a).
        async fn scope_id(&self) -> Option<ID> {
            self.model.scope_id.map(|s| ID(ids::encode(Kind::Scope, s)))
        }
        /// The scope audited (`null` for none, or when the caller may not read scopes).
        async fn scope(&self, ctx: &Context<'_>) -> Result<Option<crate::graphql::inventory::Scope>> {
            let Some(id) = self.model.scope_id else { return Ok(None) };
            if !self.access.allows(Operation::ReadScopes) {
                return Ok(None);
            }
            Ok(load_by_id::<crate::entity::scope::Entity>(ctx, self.model.organization_id, id)
                .await?
                .map(|m| crate::graphql::inventory::Scope::new(m, self.access)))
        }
        /// First planned day.
        async fn planned_start(&self) -> Option<Date> {
            self.model.planned_start.map(Date)
        }
        /// Last planned day, not before `plannedStart`.
        async fn planned_end(&self) -> Option<Date> {
            self.model.planned_end.map(Date)
        }
        /// Set to the day the audit moved to IN_PROGRESS unless given.
        async fn actual_start(&self) -> Option<Date> {
            self.model.actual_start.map(Date)
        }
        /// Set to the day the audit was COMPLETED unless given.
        async fn actual_end(&self) -> Option<Date> {
            self.model.actual_end.map(Date)
        }
        /// Subject of the lead auditor.
        async fn lead_auditor(&self) -> Option<&str> {
            self.model.lead_auditor.as_deref()
        }
        /// Subjects of the audit team.
        async fn team(&self) -> &[String] {
            &self.model.team.0
        }
        /// Clauses and controls in focus, as `STANDARD:ref` (9.2.2 a: audit criteria).
        async fn criteria(&self) -> &[String] {
            &self.model.criteria.0
        }
        /// What the audit is to establish, free text.
        async fn objectives(&self) -> Option<&str> {
            self.model.objectives.as_deref()
        }
        /// Why the audit was CANCELLED; `null` otherwise.
        async fn cancel_reason(&self) -> Option<&str> {
            self.model.cancel_reason.as_deref()
        }
        /// To whom the results were reported (relevant management, 9.2.2 c); required to
        /// move to COMPLETED.
        async fn reported_to(&self) -> Option<&str> {
            self.model.reported_to.as_deref()
        }
        /// The day the results were reported (9.2.2 c); required to move to COMPLETED.
        async fn reported_on(&self) -> Option<Date> {
            self.model.reported_on.map(Date)
        }
        /// The certification cycle this audit belongs to (external audits only).
        async fn certification_id(&self) -> Option<ID> {
            self.model.certification_id.map(|c| ID(ids::encode(Kind::Certification, c)))
        }
        /// The certification cycle this audit belongs to (`null` for none, or when the
        /// caller may not read certifications).
        async fn certification(&self, ctx: &Context<'_>) -> Result<Option<crate::graphql::certification::Certification>> {
            let Some(id) = self.model.certification_id else { return Ok(None) };
            if !self.access.allows(Operation::ReadCertifications) {
                return Ok(None);
            }
            Ok(load_by_id::<crate::entity::certification::Entity>(ctx, self.model.organization_id, id)
                .await?
                .map(|m| crate::graphql::certification::Certification::new(m, self.access)))
        }
        /// False once COMPLETED or CANCELLED: closed audits are read-only.
        async fn viewer_can_update(&self) -> bool {
            self.access.allows(Operation::WriteAudits) && !self.current().is_terminal()
        }
        /// Whether the caller may move the audit (OWNER, MANAGER, AUDITOR) and it is still
        /// open.
        async fn viewer_can_transition(&self) -> bool {
            self.access.allows(Operation::WriteAudits) && !self.current().is_terminal()
        }
        /// Whether the caller may add findings (OWNER, MANAGER, AUDITOR) and the audit
        /// accepts them (PLANNED, IN_PROGRESS, REPORTING).
        async fn viewer_can_add_finding(&self) -> bool {
            self.access.allows(Operation::WriteFindings) && self.current().accepts_findings()
        }
    }
    lists {
        /// The first 50 recorded.
        #[list(FINDINGS)]
        async fn findings(&self, ctx: &Context<'_>) -> Result<Vec<Finding>> {
            let rows = load_children::<finding::Entity>(ctx, self.model.organization_id, self.model.id).await?;
            Ok(limits::bounded(rows, limits::FINDINGS).into_iter().map(|f| Finding::new(f, self.access)).collect())
        }
        /// Auditors must not audit their own work (ISO 27001 / 42001 9.2.2 b): members of
        /// the audit team (lead auditor and team) who own an SoA row (control) or a clause
        /// assessment within the audit's criteria, or, without criteria, within its
        /// standards. Measures are not in Annex yet and so not checked. Empty for callers
        /// who may not read controls or clause assessments.
        #[list(OBJECTIVITY_CONFLICTS)]
        async fn objectivity_conflicts(&self, ctx: &Context<'_>) -> Result<Vec<ObjectivityConflict>> {
            let mut auditors: Vec<&str> = self.model.team.0.iter().map(String::as_str).collect();
            auditors.extend(self.model.lead_auditor.as_deref());
            auditors.sort();
            auditors.dedup();
            if auditors.is_empty()
                || !self.access.allows(Operation::ReadControls)
                || !self.access.allows(Operation::ReadClauseAssessments)
            {
                return Ok(Vec::new());
            }
            let org = self.model.organization_id;
            let loader = ctx.loader(|gate, actor| OwnedBy { gate, actor })?;
            let keys: Vec<(Uuid, String)> = auditors.iter().map(|a| (org, a.to_string())).collect();
            let found = loader.load_many(keys).await?;
            let mut owned: Vec<rules::Owned<Uuid>> = found.into_values().flatten().collect();
            owned.sort_by(|a, b| (a.kind, a.standard, &a.reference, a.id).cmp(&(b.kind, b.standard, &b.reference, b.id)));
            let criteria: Vec<refs::Reference> =
                self.model.criteria.0.iter().filter_map(|c| refs::Reference::parse(c)).collect();
            let conflicts = rules::objectivity_conflicts(&auditors, &store::standards_of(&self.model), &criteria, &owned);
            Ok(limits::bounded(conflicts, limits::OBJECTIVITY_CONFLICTS).into_iter().map(ObjectivityConflict::from).collect())
        }
        /// Every status change: who, when, and the reason given (the workflow only moves
        /// forward: at most 3).
        #[list(AUDIT_TRANSITIONS)]
        async fn transitions(&self, ctx: &Context<'_>) -> Result<Vec<AuditTransition>> {
            let loader = ctx.loader(TransitionsOf::<true>::new)?;
            let rows = loader.load_one((self.model.organization_id, self.model.id)).await?.unwrap_or_default();
            rows.iter().take(limits::AUDIT_TRANSITIONS).map(|t| Ok(AuditTransition::try_from(t)?)).collect()
        }
    }
}

/// What an auditor owns that an audit covers.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::audit::OwnedKind")]
pub enum OwnedObjectKind {
    /// An SoA row (`Control`).
    Control,
    /// A clause of the gap analysis (`ClauseAssessment`).
    ClauseAssessment,
}

/// A member of the audit team who owns something the audit covers (9.2.2 b).
#[derive(SimpleObject, Clone)]
pub struct ObjectivityConflict {
    /// Subject of the auditor (lead auditor or team member) who owns the object.
    pub auditor: String,
    /// What the auditor owns.
    pub kind: OwnedObjectKind,
    /// The `Control` or `ClauseAssessment`.
    pub object_id: ID,
    /// The standard of the control or clause.
    pub standard: StandardCode,
    /// The control or clause ref, e.g. `A.5.15`, `9.2.2`.
    #[graphql(name = "ref")]
    pub reference: String,
}

impl From<rules::Owned<Uuid>> for ObjectivityConflict {
    fn from(o: rules::Owned<Uuid>) -> Self {
        let kind = match o.kind {
            rules::OwnedKind::Control => Kind::Control,
            rules::OwnedKind::ClauseAssessment => Kind::ClauseAssessment,
        };
        ObjectivityConflict {
            auditor: o.owner,
            kind: o.kind.into(),
            object_id: ID(ids::encode(kind, o.id)),
            standard: o.standard.into(),
            reference: o.reference,
        }
    }
}

/// The SoA rows and clause assessments a subject owns, by `(organization, subject)`.
pub struct OwnedBy {
    gate: Gate,
    actor: Arc<Actor>,
}

impl Loader<(Uuid, String)> for OwnedBy {
    type Value = Vec<rules::Owned<Uuid>>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[(Uuid, String)]) -> Result<HashMap<(Uuid, String), Vec<rules::Owned<Uuid>>>> {
        let mut out: HashMap<(Uuid, String), Vec<rules::Owned<Uuid>>> = HashMap::new();
        for (org, o) in store::owned_by(&self.gate, &self.actor, keys).await? {
            out.entry((org, o.owner.clone())).or_default().push(o);
        }
        Ok(out)
    }
}

/// One status change of an audit.
#[derive(SimpleObject, Clone)]
pub struct AuditTransition {
    /// The status before.
    pub from: AuditStatus,
    /// The status after.
    pub to: AuditStatus,
    /// Subject that made the change.
    pub actor: String,
    /// When, UTC.
    pub at: DateTime<Utc>,
    /// The reason given (always there for a move to CANCELLED).
    pub note: Option<String>,
}

impl TryFrom<&workflow_transition::Model> for AuditTransition {
    type Error = AppError;
    fn try_from(t: &workflow_transition::Model) -> AppResult<Self> {
        let (from, to) = t.statuses::<rules::AuditStatus>()?;
        Ok(AuditTransition { from: from.into(), to: to.into(), actor: t.actor.clone(), at: t.at, note: t.note.clone() })
    }
}

crate::entity_type! {
    /// A finding of an audit, with references to the clauses and controls it concerns.
    Finding, finding
}

impl Finding {
    fn finding_type(&self) -> rules::FindingType {
        self.model.finding_type
    }
}

crate::entity_object! {
    Finding, finding,
    update: custom,
    /// Always false: findings are kept with their audit as evidence of the audit results
    /// (9.2.2, last paragraph).
    delete: false,
    {
        /// Nonconformity (major or minor), observation or opportunity for improvement.
        #[graphql(name = "type")]
        async fn finding_type_(&self) -> FindingType {
            self.finding_type().into()
        }
        /// The finding in short, at most 300 characters.
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// The finding in full: the requirement and what was found.
        async fn description(&self) -> Option<&str> {
            self.model.description.as_deref()
        }
        /// The audit evidence the finding rests on.
        async fn evidence(&self) -> Option<&str> {
            self.model.evidence.as_deref()
        }
        /// `STANDARD:ref`, e.g. `ISO27001:A.5.15`, `ISO42001:6.1.4`.
        async fn references(&self) -> &[String] {
            &self.model.refs.0
        }
        /// The audit that recorded the finding.
        async fn audit(&self, ctx: &Context<'_>) -> Result<Option<Audit>> {
            let m = load_by_id::<audit::Entity>(ctx, self.model.organization_id, self.model.audit_id).await?;
            Ok(m.map(|m| Audit::new(m, self.access)))
        }
        /// The nonconformity raised from this finding, if any.
        async fn nonconformity(&self, ctx: &Context<'_>) -> Result<Option<Nonconformity>> {
            let loader = ctx.loader(|gate, actor| RaisedFrom { gate, actor })?;
            let m = loader.load_one((self.model.organization_id, self.model.id)).await?;
            Ok(m.map(|m| Nonconformity::new(m, self.access)))
        }
        /// While the audit accepts findings (PLANNED, IN_PROGRESS, REPORTING).
        async fn viewer_can_update(&self, ctx: &Context<'_>) -> Result<bool> {
            if !self.access.allows(Operation::WriteFindings) {
                return Ok(false);
            }
            let audit = load_by_id::<audit::Entity>(ctx, self.model.organization_id, self.model.audit_id).await?;
            Ok(match audit {
                Some(a) => a.status.accepts_findings(),
                None => false,
            })
        }
        /// Nonconformity findings only.
        async fn viewer_can_raise_nonconformity(&self) -> bool {
            self.access.allows(Operation::RaiseNonconformity) && self.finding_type().severity().is_some()
        }
    }
}

crate::connection!(AuditConnection, AuditEdge, Audit);

/// Narrows `Organization.audits`; every condition given applies.
#[derive(InputObject, Default)]
pub struct AuditFilter {
    /// Any of these statuses.
    pub status: Option<Vec<AuditStatus>>,
    /// Of this type.
    #[graphql(name = "type")]
    pub audit_type: Option<AuditType>,
    /// Audits covering this standard.
    pub standard: Option<StandardCode>,
    /// Planned to start on or after this day.
    pub from: Option<Date>,
    /// Planned to start on or before this day.
    pub to: Option<Date>,
}

/// `Organization.audits`: the audit programme, by planned start (unplanned last).
pub async fn audits_of(
    ctx: &Context<'_>,
    org: Uuid,
    access: Access,
    filter: Option<AuditFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<AuditConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let args = PageArgs::new(first, after.as_deref(), store::AUDIT_ORDER)?;
    let f = filter.unwrap_or_default();
    let filter = store::AuditFilter {
        statuses: f.status.unwrap_or_default().into_iter().map(Into::into).collect(),
        audit_type: f.audit_type.map(Into::into),
        standard: f.standard.map(Into::into),
        from: f.from.map(|d| d.0),
        to: f.to.map(|d| d.0),
    };
    let page = store::list(gate, actor, org, &filter, &args, wants_total(ctx)).await?;
    Ok(AuditConnection::from_page(page, |m| Audit::new(m, access)))
}

fn standards(v: &[StandardCode]) -> Vec<refs::Standard> {
    v.iter().map(|s| (*s).into()).collect()
}

/// A new audit of the programme (ISO 27001 / 42001 9.2.2).
#[derive(InputObject)]
pub struct CreateAuditInput {
    /// The organization whose management system is audited.
    pub organization_id: ID,
    /// Not blank, at most 300 characters.
    pub title: String,
    /// INTERNAL, or the certification body's STAGE_1, STAGE_2, SURVEILLANCE or
    /// RECERTIFICATION.
    #[graphql(name = "type")]
    pub audit_type: AuditType,
    /// How the audit takes the two standards.
    pub mode: AuditMode,
    /// Default FULL.
    pub focus: Option<AuditFocus>,
    /// At least one; INTEGRATED and SEQUENTIAL audits cover both.
    pub standards: Vec<StandardCode>,
    /// First planned day.
    pub planned_start: Option<Date>,
    /// Not before `plannedStart`.
    pub planned_end: Option<Date>,
    /// Subject of the lead auditor, at most 200 characters.
    pub lead_auditor: Option<String>,
    /// Subjects of the audit team, at most 50 (checked for objectivity, 9.2.2 b).
    pub team: Option<Vec<String>>,
    /// Clauses and controls in focus, `STANDARD:ref`, within the audit's standards.
    pub criteria: Option<Vec<String>>,
    /// What the audit is to establish, free text.
    pub objectives: Option<String>,
    /// The `Scope` audited (9.2.2 a).
    pub scope_id: Option<ID>,
    /// The certification cycle the audit belongs to: external audits only, over standards
    /// the certification covers, at most 20 per certification.
    pub certification_id: Option<ID>,
}

/// Omitted fields stay; `null` clears dates and the scope; an empty text clears a text.
#[derive(InputObject)]
pub struct UpdateAuditInput {
    /// The audit.
    pub id: ID,
    /// Refused (`CONFLICT`) when the audit is at another version.
    pub expected_version: Option<i32>,
    /// Not blank, at most 300 characters.
    pub title: Option<String>,
    /// Within the certification cycle (`certificationId`), an external type only.
    #[graphql(name = "type")]
    pub audit_type: Option<AuditType>,
    /// INTEGRATED and SEQUENTIAL need both standards.
    pub mode: Option<AuditMode>,
    /// How much of the management system the audit covers.
    pub focus: Option<AuditFocus>,
    /// Replaces them; narrowing is refused while a finding or criterion references a
    /// dropped standard.
    pub standards: Option<Vec<StandardCode>>,
    /// First planned day.
    pub planned_start: MaybeUndefined<Date>,
    /// Not before `plannedStart`.
    pub planned_end: MaybeUndefined<Date>,
    /// First day the audit was held.
    pub actual_start: MaybeUndefined<Date>,
    /// Last day the audit was held, not before `actualStart`.
    pub actual_end: MaybeUndefined<Date>,
    /// Subject of the lead auditor, at most 200 characters.
    pub lead_auditor: Option<String>,
    /// Replaces the team: subjects, at most 50.
    pub team: Option<Vec<String>>,
    /// Replaces the criteria (9.2.2 a): `STANDARD:ref` within the audit's standards.
    pub criteria: Option<Vec<String>>,
    /// What the audit is to establish, free text.
    pub objectives: Option<String>,
    /// The `Scope` audited (9.2.2 a).
    pub scope_id: MaybeUndefined<ID>,
    /// `null` takes the audit out of its certification cycle.
    pub certification_id: MaybeUndefined<ID>,
    /// To whom the results were reported (9.2.2 c); an empty text clears it.
    pub reported_to: Option<String>,
    /// The day the results were reported (9.2.2 c), not before `actualStart`; `null`
    /// clears it.
    pub reported_on: MaybeUndefined<Date>,
}

/// One move of the audit workflow.
#[derive(InputObject)]
pub struct TransitionAuditInput {
    /// The audit.
    pub id: ID,
    /// The next status: one step forward, or CANCELLED from any open status.
    pub to: AuditStatus,
    /// Recorded as the transition's note; required to cancel (becomes `cancelReason`).
    pub reason: Option<String>,
    /// Refused (`CONFLICT`) when the audit is at another version.
    pub expected_version: Option<i32>,
}

/// A finding recorded on an audit.
#[derive(InputObject)]
pub struct AddFindingInput {
    /// The audit: PLANNED, IN_PROGRESS or REPORTING.
    pub audit_id: ID,
    /// The grading of the finding.
    #[graphql(name = "type")]
    pub finding_type: FindingType,
    /// Not blank, at most 300 characters.
    pub title: String,
    /// The finding in full: the requirement and what was found.
    pub description: Option<String>,
    /// The audit evidence the finding rests on.
    pub evidence: Option<String>,
    /// `STANDARD:ref` within the audit's standards: `ISO27001:A.5.15`, `ISO42001:6.1.4`.
    pub references: Option<Vec<String>>,
}

/// Omitted fields stay; an empty text clears a text.
#[derive(InputObject)]
pub struct UpdateFindingInput {
    /// The finding.
    pub id: ID,
    /// Refused (`CONFLICT`) when the finding is at another version.
    pub expected_version: Option<i32>,
    /// Fixed once the finding has raised a nonconformity.
    #[graphql(name = "type")]
    pub finding_type: Option<FindingType>,
    /// Not blank, at most 300 characters.
    pub title: Option<String>,
    /// The finding in full: the requirement and what was found.
    pub description: Option<String>,
    /// The audit evidence the finding rests on.
    pub evidence: Option<String>,
    /// Replaces them: `STANDARD:ref` within the audit's standards.
    pub references: Option<Vec<String>>,
}

crate::mutations! {
    AuditMutation;
    /// OWNER, MANAGER, AUDITOR. Plans an audit (status PLANNED).
    create_audit(ctx, gate, actor, input: CreateAuditInput) -> CreateAuditPayload { audit: Audit } {
        let catalog = ctx.catalog()?;
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let scope = input.scope_id.as_ref().map(|s| ref_id(Kind::Scope, s, "scopeId")).transpose()?;
        let cert =
            input.certification_id.as_ref().map(|c| ref_id(Kind::Certification, c, "certificationId")).transpose()?;
        store::create(gate, actor, catalog, org, store::NewAudit {
            title: &input.title,
            audit_type: input.audit_type.into(),
            mode: input.mode.into(),
            focus: input.focus.map(Into::into),
            standards: &standards(&input.standards),
            planned_start: input.planned_start.map(|d| d.0),
            planned_end: input.planned_end.map(|d| d.0),
            lead_auditor: input.lead_auditor.as_deref(),
            team: input.team.as_deref().unwrap_or_default(),
            criteria: input.criteria.as_deref().unwrap_or_default(),
            objectives: input.objectives.as_deref(),
            scope_id: scope,
            certification_id: cert,
        }).await?
    }
    /// OWNER, MANAGER, AUDITOR. Completed and cancelled audits are read-only.
    update_audit(ctx, gate, actor, input: UpdateAuditInput) -> UpdateAuditPayload { audit: Audit } {
        let catalog = ctx.catalog()?;
        let id = ids::expect(Kind::Audit, &input.id, "id")?;
        let scope = try_change(input.scope_id, |s| ref_id(Kind::Scope, &s, "scopeId"))?;
        let cert = try_change(input.certification_id, |c| ref_id(Kind::Certification, &c, "certificationId"))?;
        let std = input.standards.as_deref().map(standards);
        store::update(gate, actor, catalog, id, store::AuditChanges {
            expected_version: input.expected_version,
            title: input.title.as_deref(),
            audit_type: input.audit_type.map(Into::into),
            mode: input.mode.map(Into::into),
            focus: input.focus.map(Into::into),
            standards: std.as_deref(),
            planned_start: change(input.planned_start, |d| d.0),
            planned_end: change(input.planned_end, |d| d.0),
            actual_start: change(input.actual_start, |d| d.0),
            actual_end: change(input.actual_end, |d| d.0),
            lead_auditor: input.lead_auditor.as_deref(),
            team: input.team.as_deref(),
            criteria: input.criteria.as_deref(),
            objectives: input.objectives.as_deref(),
            scope_id: scope,
            certification_id: cert,
            reported_to: input.reported_to.as_deref(),
            reported_on: change(input.reported_on, |d| d.0),
        }).await?
    }
    /// OWNER, MANAGER, AUDITOR. One step along PLANNED → IN_PROGRESS → REPORTING →
    /// COMPLETED, or to CANCELLED with a reason. COMPLETED needs `reportedTo` and
    /// `reportedOn` (9.2.2 c: results reported to relevant management).
    transition_audit(ctx, gate, actor, input: TransitionAuditInput) -> TransitionAuditPayload { audit: Audit } {
        let id = ids::expect(Kind::Audit, &input.id, "id")?;
        store::transition(gate, actor, id, input.to.into(), input.reason.as_deref(), input.expected_version).await?
    }
    /// OWNER, MANAGER, AUDITOR. On audits that are PLANNED (document review),
    /// IN_PROGRESS or REPORTING.
    add_finding(ctx, gate, actor, input: AddFindingInput) -> AddFindingPayload { finding: Finding } {
        let catalog = ctx.catalog()?;
        let audit_id = ids::expect(Kind::Audit, &input.audit_id, "auditId")?;
        store::add_finding(gate, actor, catalog, audit_id, store::NewFinding {
            finding_type: input.finding_type.into(),
            title: &input.title,
            description: input.description.as_deref(),
            evidence: input.evidence.as_deref(),
            references: input.references.as_deref().unwrap_or_default(),
        }).await?
    }
    /// OWNER, MANAGER, AUDITOR, while the audit accepts findings.
    update_finding(ctx, gate, actor, input: UpdateFindingInput) -> UpdateFindingPayload { finding: Finding } {
        let catalog = ctx.catalog()?;
        let id = ids::expect(Kind::Finding, &input.id, "id")?;
        store::update_finding(gate, actor, catalog, id, store::FindingChanges {
            expected_version: input.expected_version,
            finding_type: input.finding_type.map(Into::into),
            title: input.title.as_deref(),
            description: input.description.as_deref(),
            evidence: input.evidence.as_deref(),
            references: input.references.as_deref(),
        }).await?
    }
}
