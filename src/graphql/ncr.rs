//! Nonconformities and corrective actions (ISO 27001 / 42001 clause 10.2), raising NCRs
//! from findings, and the ticketing sync.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::{Access, Operation};
use crate::domain::ncr::{self as rules, ExternalRef as Ticket};
use crate::entity::{corrective_action, finding, nonconformity};
use crate::error::{AppError, AppResult};
use crate::graphql::audit::{Finding, TransitionsOf};
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::input::{change, ref_id};
use crate::graphql::limits;
use crate::graphql::loaders::{LoaderExt, load_by_id, load_children};
use crate::graphql::scalars::Date;
use crate::ids::{self, Kind};
use crate::store::ncr as store;
use crate::store::page::PageArgs;
use crate::store::tenancy::Granted;
use crate::store::tenancy::now;
use crate::store::{Actor, Gate};

/// OPEN → ANALYSIS → ACTION_PLANNED → IN_PROGRESS → VERIFICATION → CLOSED, and
/// VERIFICATION → IN_PROGRESS when the actions proved ineffective.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::ncr::NcrStatus")]
pub enum NonconformityStatus {
    /// Recorded: react to it, control and correct it (10.2 a).
    Open,
    /// Causes being determined and the need for action evaluated (10.2 b).
    Analysis,
    /// Root cause recorded, corrective actions planned (10.2 c).
    ActionPlanned,
    /// Corrective actions being implemented (10.2 c).
    InProgress,
    /// Every action not CANCELLED is DONE: their effectiveness is reviewed (10.2 d).
    Verification,
    /// Effectiveness reviewed (10.2 d), or no action needed (10.2 b); read-only.
    Closed,
}

/// How serious a nonconformity is; one raised from a finding takes the finding's grading.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::ncr::Severity")]
pub enum NonconformitySeverity {
    /// Affects the management system's capability to achieve its intended results.
    Major,
    /// Does not affect that capability.
    Minor,
}

/// Where a nonconformity was detected.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::ncr::Source")]
pub enum NonconformitySource {
    /// A finding of an internal audit (9.2).
    InternalAudit,
    /// A finding of a certification body's audit.
    ExternalAudit,
    /// An incident.
    Incident,
    /// The management review (9.3).
    ManagementReview,
    /// Monitoring, measurement, analysis and evaluation (9.1).
    Monitoring,
    /// A complaint of an interested party.
    Complaint,
    /// Anything else; the default for a new synced ticket.
    Other,
}

/// Where a corrective action stands; any status may be set directly.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::ncr::ActionStatus")]
pub enum CorrectiveActionStatus {
    /// Not started.
    Open,
    /// Being implemented.
    InProgress,
    /// Implemented; sets `completedAt`.
    Done,
    /// Dropped from the plan: no longer counts for the workflow.
    Cancelled,
}

/// The NCR raised from each finding, by `(organization, finding)`.
pub struct RaisedFrom {
    pub gate: Gate,
    pub actor: Arc<Actor>,
}

impl Loader<(Uuid, Uuid)> for RaisedFrom {
    type Value = nonconformity::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[(Uuid, Uuid)]) -> Result<HashMap<(Uuid, Uuid), nonconformity::Model>> {
        let rows = store::raised_from(&self.gate, &self.actor, keys).await?;
        Ok(rows.into_iter().filter_map(|n| Some(((n.organization_id, n.finding_id?), n))).collect())
    }
}

async fn actions_loaded(ctx: &Context<'_>, org: Uuid, ncr: Uuid) -> Result<Vec<corrective_action::Model>> {
    load_children::<corrective_action::Entity>(ctx, org, ncr).await
}

fn today() -> chrono::NaiveDate {
    now().date_naive()
}

fn is_overdue(a: &corrective_action::Model, today: chrono::NaiveDate) -> bool {
    rules::overdue(a.due_date, a.status, today)
}

/// A ticket in an external system.
#[derive(SimpleObject, Clone)]
pub struct ExternalRef {
    /// The ticketing system, as the integration names it (`jira`, `servicenow`, …).
    pub system: String,
    /// The ticket's key there; unique per organization with `system`.
    pub key: String,
    /// Link to the ticket, an http(s) URL.
    pub url: Option<String>,
}

crate::entity_type! {
    /// A nonconformity and its correction (ISO 27001 / 42001 10.2).
    Nonconformity, nonconformity
}

impl Nonconformity {
    fn current(&self) -> rules::NcrStatus {
        self.model.status
    }
    /// `general` on any nonconformity, or the sync right on a ticket-synced one.
    /// CLOSED is a next status: from VERIFICATION, or from ANALYSIS when no action is
    /// needed (10.2 b).
    fn closable(&self) -> bool {
        match self.current() {
            rules::NcrStatus::Verification => true,
            rules::NcrStatus::Analysis => !self.model.action_needed,
            _ => false,
        }
    }
    fn may_write(&self, general: Operation) -> bool {
        self.access.allows(general) || (self.model.ticket_synced && self.access.allows(Operation::SyncNonconformities))
    }
}

crate::entity_object! {
    Nonconformity, nonconformity,
    update: custom,
    /// Always false: nonconformities are kept as evidence (10.2 f, g).
    delete: false,
    {
        /// The nonconformity in short, at most 300 characters.
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// The nonconformity in full: the requirement and what was found.
        async fn description(&self) -> Option<&str> {
            self.model.description.as_deref()
        }
        /// Its place in the workflow.
        async fn status(&self) -> NonconformityStatus {
            self.current().into()
        }
        /// MAJOR or MINOR.
        async fn severity(&self) -> NonconformitySeverity {
            self.model.severity.into()
        }
        /// Where it was detected.
        async fn source(&self) -> NonconformitySource {
            self.model.source.into()
        }
        /// `STANDARD:ref`, e.g. `ISO27001:A.5.15`, `ISO42001:6.1.4`.
        async fn references(&self) -> &[String] {
            &self.model.refs.0
        }
        /// Who is responsible for dealing with it, at most 200 characters.
        async fn owner(&self) -> Option<&str> {
            self.model.owner.as_deref()
        }
        /// Immediate action to control the nonconformity and deal with its consequences
        /// (10.2 a 1 "control", 10.2 a 2), e.g. isolating an affected system.
        async fn containment(&self) -> Option<&str> {
            self.model.containment.as_deref()
        }
        /// The immediate correction of the nonconformity itself (10.2 a 1 "correct"), e.g.
        /// revoking the access that should not exist; distinct from the corrective actions,
        /// which remove its cause (10.2 c).
        async fn correction(&self) -> Option<&str> {
            self.model.correction.as_deref()
        }
        /// The outcome of evaluating the need for action to eliminate the cause (10.2 b).
        /// `false` lets the nonconformity close from ANALYSIS without corrective action,
        /// with `noActionJustification`. Default `true`.
        async fn action_needed(&self) -> bool {
            self.model.action_needed
        }
        /// Why no corrective action is needed (10.2 b); set while `actionNeeded` is false.
        async fn no_action_justification(&self) -> Option<&str> {
            self.model.no_action_justification.as_deref()
        }
        /// Changes made to the management system because of this nonconformity (10.2 e),
        /// as text. Links to documented information or measures come once those exist in
        /// Annex.
        async fn management_system_changes(&self) -> Option<&str> {
            self.model.management_system_changes.as_deref()
        }
        /// 10.2 b; required before ACTION_PLANNED.
        async fn root_cause(&self) -> Option<&str> {
            self.model.root_cause.as_deref()
        }
        /// 10.2 d; required before CLOSED.
        async fn effectiveness_review(&self) -> Option<&str> {
            self.model.effectiveness_review.as_deref()
        }
        /// The ticket it is synced with, if any.
        async fn external_ref(&self) -> Option<ExternalRef> {
            let m = &self.model;
            Some(ExternalRef {
                system: m.external_system.clone()?,
                key: m.external_key.clone()?,
                url: m.external_url.clone(),
            })
        }
        /// The ticket's state as last reported by the ticketing system.
        async fn external_status(&self) -> Option<&str> {
            self.model.external_status.as_deref()
        }
        /// Whether the ticketing system reported the ticket done; `null` until it reports.
        async fn external_done(&self) -> Option<bool> {
            self.model.external_done
        }
        /// Created with its ticket (by `upsertNonconformityByExternalRef`, or
        /// `createNonconformity` with an `externalRef`): an INTEGRATION may sync it.
        async fn ticket_synced(&self) -> bool {
            self.model.ticket_synced
        }
        /// When it moved to CLOSED, UTC.
        async fn closed_at(&self) -> Option<DateTime<Utc>> {
            self.model.closed_at
        }
        /// The audit finding it was raised from. Needs the right to read audits.
        async fn finding(&self, ctx: &Context<'_>) -> Result<Option<Finding>> {
            let Some(fid) = self.model.finding_id else { return Ok(None) };
            if !self.access.allows(Operation::ReadAudits) {
                return Err(AppError::forbidden().into());
            }
            let m = load_by_id::<finding::Entity>(ctx, self.model.organization_id, fid).await?;
            Ok(m.map(|m| Finding::new(m, self.access)))
        }
        /// The incident it was raised from (`raiseNonconformityFromIncident`), if any.
        async fn incident(&self, ctx: &Context<'_>) -> Result<Option<crate::graphql::incident::Incident>> {
            let rows = load_children::<crate::entity::incident::Entity>(ctx, self.model.organization_id, self.model.id)
                .await?;
            Ok(rows.into_iter().next().map(|m| crate::graphql::incident::Incident::new(m, self.access)))
        }
        /// True when any corrective action is overdue.
        async fn has_overdue_actions(&self, ctx: &Context<'_>) -> Result<bool> {
            let today = today();
            let actions = actions_loaded(ctx, self.model.organization_id, self.model.id).await?;
            Ok(actions.iter().any(|a| is_overdue(a, today)))
        }
        /// False once CLOSED: closed nonconformities are read-only.
        async fn viewer_can_update(&self) -> bool {
            self.may_write(Operation::WriteNonconformities) && self.current() != rules::NcrStatus::Closed
        }
        /// Whether some next status is the caller's to set (closing has its own right).
        async fn viewer_can_transition(&self) -> bool {
            let s = self.current();
            s != rules::NcrStatus::Closed
                && (self.access.allows(Operation::TransitionNonconformity)
                    || (self.closable() && self.access.allows(Operation::CloseNonconformity)))
        }
        /// In VERIFICATION, or in ANALYSIS with `actionNeeded: false` (10.2 b), and the
        /// viewer may close.
        async fn viewer_can_close(&self) -> bool {
            self.closable() && self.access.allows(Operation::CloseNonconformity)
        }
        /// Whether the caller may add corrective actions (OWNER, MANAGER, CONTRIBUTOR; also
        /// INTEGRATION on a ticket-synced one) and it is not CLOSED.
        async fn viewer_can_add_corrective_action(&self) -> bool {
            self.may_write(Operation::WriteCorrectiveActions) && self.current() != rules::NcrStatus::Closed
        }
    }
    lists {
        /// Similar nonconformities of the same organization that exist or could occur
        /// (10.2 b 3), as recorded on this one (at most 20).
        #[list(SIMILAR_NONCONFORMITIES)]
        async fn similar_nonconformities(&self, ctx: &Context<'_>) -> Result<Vec<Nonconformity>> {
            let org = self.model.organization_id;
            let mut out = Vec::new();
            for id in &self.model.similar_nonconformity_ids.0 {
                if let Some(m) = load_by_id::<nonconformity::Entity>(ctx, org, *id).await? {
                    out.push(Nonconformity::new(m, self.access));
                }
            }
            Ok(limits::bounded(out, limits::SIMILAR_NONCONFORMITIES))
        }
        /// At most 20 (a nonconformity takes no more).
        #[list(CORRECTIVE_ACTIONS)]
        async fn corrective_actions(&self, ctx: &Context<'_>) -> Result<Vec<CorrectiveAction>> {
            let rows = actions_loaded(ctx, self.model.organization_id, self.model.id).await?;
            let rows = limits::bounded(rows, limits::CORRECTIVE_ACTIONS);
            Ok(rows.into_iter().map(|a| CorrectiveAction::new(a, self.access)).collect())
        }
        /// Status changes: who, when and the note (the 10 most recent, oldest first; the
        /// audit trail keeps every move).
        #[list(NCR_TRANSITIONS)]
        async fn transitions(&self, ctx: &Context<'_>) -> Result<Vec<NonconformityTransition>> {
            let loader = ctx.loader(TransitionsOf::<false>::new)?;
            let rows = loader.load_one((self.model.organization_id, self.model.id)).await?.unwrap_or_default();
            rows.iter()
                .skip(rows.len().saturating_sub(limits::NCR_TRANSITIONS))
                .map(|t| {
                    let (from, to) = t.statuses::<rules::NcrStatus>()?;
                    Ok(NonconformityTransition {
                        from: from.into(),
                        to: to.into(),
                        actor: t.actor.clone(),
                        at: t.at,
                        note: t.note.clone(),
                    })
                })
                .collect()
        }
    }
}

/// One status change of a nonconformity.
#[derive(SimpleObject, Clone)]
pub struct NonconformityTransition {
    /// The status before.
    pub from: NonconformityStatus,
    /// The status after.
    pub to: NonconformityStatus,
    /// Subject that made the change.
    pub actor: String,
    /// When, UTC.
    pub at: DateTime<Utc>,
    /// The note given (always there for VERIFICATION → IN_PROGRESS: why the actions
    /// proved ineffective).
    pub note: Option<String>,
}

crate::entity_type! {
    /// An action to eliminate the cause of a nonconformity (10.2 c).
    CorrectiveAction, corrective_action
}

impl CorrectiveAction {
    async fn ncr(&self, ctx: &Context<'_>) -> Result<Option<nonconformity::Model>> {
        load_by_id::<nonconformity::Entity>(ctx, self.model.organization_id, self.model.nonconformity_id).await
    }
}

crate::entity_object! {
    CorrectiveAction, corrective_action,
    update: custom,
    /// Always false: corrective actions are kept as evidence (10.2 f, g).
    delete: false,
    {
        /// What is to be done, at most 300 characters.
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// Who is responsible for it, at most 200 characters.
        async fn owner(&self) -> Option<&str> {
            self.model.owner.as_deref()
        }
        /// The day it is due by; overdue from the next day.
        async fn due_date(&self) -> Option<Date> {
            self.model.due_date.map(Date)
        }
        /// Where it stands.
        async fn status(&self) -> CorrectiveActionStatus {
            self.model.status.into()
        }
        /// What was done, free text (the ticketing sync notes a ticket reported done).
        async fn completion_note(&self) -> Option<&str> {
            self.model.completion_note.as_deref()
        }
        /// When it was set DONE, UTC; `null` otherwise.
        async fn completed_at(&self) -> Option<DateTime<Utc>> {
            self.model.completed_at
        }
        /// Due date strictly before today (UTC) and neither DONE nor CANCELLED.
        async fn overdue(&self) -> bool {
            is_overdue(&self.model, today())
        }
        /// The nonconformity whose cause it eliminates.
        async fn nonconformity(&self, ctx: &Context<'_>) -> Result<Option<Nonconformity>> {
            Ok(self.ncr(ctx).await?.map(|m| Nonconformity::new(m, self.access)))
        }
        /// False once the nonconformity is CLOSED.
        async fn viewer_can_update(&self, ctx: &Context<'_>) -> Result<bool> {
            Ok(match self.ncr(ctx).await? {
                Some(n) => {
                    let right = if n.ticket_synced {
                        Operation::SyncNonconformities
                    } else {
                        Operation::WriteCorrectiveActions
                    };
                    self.access.allows(right) && n.status != rules::NcrStatus::Closed
                }
                None => false,
            })
        }
    }
}

crate::connection!(NonconformityConnection, NonconformityEdge, Nonconformity);

/// Narrows `Organization.nonconformities`; every condition given applies.
#[derive(InputObject, Default)]
pub struct NonconformityFilter {
    /// Any of these statuses.
    pub status: Option<Vec<NonconformityStatus>>,
    /// Of this severity.
    pub severity: Option<NonconformitySeverity>,
    /// From this source.
    pub source: Option<NonconformitySource>,
    /// `true`: not CLOSED; `false`: CLOSED.
    pub open: Option<bool>,
    /// `true`: with at least one overdue corrective action; `false`: with none.
    pub overdue: Option<bool>,
    /// Synced from this ticketing system.
    pub external_system: Option<String>,
}

/// `Organization.nonconformities`, newest first.
pub async fn nonconformities_of(
    ctx: &Context<'_>,
    org: Uuid,
    access: Access,
    filter: Option<NonconformityFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<NonconformityConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let args = PageArgs::new(first, after.as_deref(), store::NCR_ORDER)?;
    let f = filter.unwrap_or_default();
    let filter = store::NcrFilter {
        statuses: f.status.unwrap_or_default().into_iter().map(Into::into).collect(),
        severity: f.severity.map(Into::into),
        source: f.source.map(Into::into),
        open: f.open,
        overdue: f.overdue,
        external_system: f.external_system,
    };
    let page = store::list(gate, actor, org, &filter, &args, wants_total(ctx)).await?;
    Ok(NonconformityConnection::from_page(page, |m| Nonconformity::new(m, access)))
}

/// A ticket in an external system; unique per organization on (`system`, `key`).
#[derive(InputObject)]
pub struct ExternalRefInput {
    /// The ticketing system (`jira`, `servicenow`, …); not blank, at most 64 characters.
    pub system: String,
    /// The ticket's key there; not blank, at most 255 characters.
    pub key: String,
    /// Link to the ticket: an http(s) URL, at most 2000 characters.
    pub url: Option<String>,
}

impl ExternalRefInput {
    pub fn parse(&self) -> AppResult<Ticket> {
        Ok(Ticket::parse(&self.system, &self.key, self.url.as_deref())?)
    }
}

/// A new nonconformity (ISO 27001 / 42001 10.2), status OPEN.
#[derive(InputObject)]
pub struct CreateNonconformityInput {
    /// The organization it belongs to.
    pub organization_id: ID,
    /// Not blank, at most 300 characters.
    pub title: String,
    /// The nonconformity in full: the requirement and what was found.
    pub description: Option<String>,
    /// Where it was detected.
    pub source: NonconformitySource,
    /// MAJOR or MINOR.
    pub severity: NonconformitySeverity,
    /// `STANDARD:ref` of either standard.
    pub references: Option<Vec<String>>,
    /// Who is responsible for dealing with it, at most 200 characters.
    pub owner: Option<String>,
    /// Immediate action to control it and deal with its consequences (10.2 a).
    pub containment: Option<String>,
    /// Its ticket (`CONFLICT` when already linked): the nonconformity is ticket-synced
    /// and an INTEGRATION may sync it.
    pub external_ref: Option<ExternalRefInput>,
    /// The immediate correction (10.2 a 1).
    pub correction: Option<String>,
    /// `false`: no action to eliminate the cause is needed (10.2 b); needs
    /// `noActionJustification` and a person's right (`WriteNonconformities`). Default true.
    pub action_needed: Option<bool>,
    /// Why no corrective action is needed (10.2 b); required with `actionNeeded: false`.
    pub no_action_justification: Option<String>,
    /// Similar nonconformities of the same organization (10.2 b 3), at most 20.
    pub similar_nonconformity_ids: Option<Vec<ID>>,
    /// Changes to the management system (10.2 e), as text.
    pub management_system_changes: Option<String>,
}

/// Omitted fields stay; an empty text clears a text.
#[derive(InputObject)]
pub struct UpdateNonconformityInput {
    /// The nonconformity.
    pub id: ID,
    /// Refused (`CONFLICT`) when the nonconformity is at another version.
    pub expected_version: Option<i32>,
    /// Not blank, at most 300 characters.
    pub title: Option<String>,
    /// The nonconformity in full.
    pub description: Option<String>,
    /// Where it was detected.
    pub source: Option<NonconformitySource>,
    /// MAJOR or MINOR.
    pub severity: Option<NonconformitySeverity>,
    /// Replaces them: `STANDARD:ref` of either standard.
    pub references: Option<Vec<String>>,
    /// Who is responsible for dealing with it, at most 200 characters.
    pub owner: Option<String>,
    /// Immediate action to control it and deal with its consequences (10.2 a).
    pub containment: Option<String>,
    /// The causes (10.2 b 2); cannot be removed once actions are planned.
    pub root_cause: Option<String>,
    /// The review of the corrective actions' effectiveness (10.2 d); a person's
    /// judgement: OWNER, MANAGER, CONTRIBUTOR.
    pub effectiveness_review: Option<String>,
    /// Links or replaces its ticket (`CONFLICT` when linked to another nonconformity).
    pub external_ref: Option<ExternalRefInput>,
    /// The immediate correction (10.2 a 1).
    pub correction: Option<String>,
    /// The 10.2 b decision, while OPEN or in ANALYSIS: `false` needs a
    /// `noActionJustification`; `true` again clears it. Needs `WriteNonconformities` (a
    /// person's evaluation, never a ticket system's).
    pub action_needed: Option<bool>,
    /// Why no corrective action is needed (10.2 b).
    pub no_action_justification: Option<String>,
    /// Replaces the similar nonconformities (10.2 b 3); `[]` removes them all.
    pub similar_nonconformity_ids: Option<Vec<ID>>,
    /// Changes to the management system (10.2 e), as text.
    pub management_system_changes: Option<String>,
}

fn similar_ids(v: &[ID]) -> AppResult<Vec<Uuid>> {
    v.iter().map(|id| ref_id(Kind::Nonconformity, id, "similarNonconformityIds")).collect()
}

/// One move of the nonconformity workflow.
#[derive(InputObject)]
pub struct TransitionNonconformityInput {
    /// The nonconformity.
    pub id: ID,
    /// The next status.
    pub to: NonconformityStatus,
    /// Required when moving VERIFICATION → IN_PROGRESS (why the actions were ineffective).
    pub note: Option<String>,
    /// With `to: CLOSED` only: records the effectiveness review (10.2 d) in the same step.
    pub effectiveness_review: Option<String>,
    /// Refused (`CONFLICT`) when the nonconformity is at another version.
    pub expected_version: Option<i32>,
}

/// The finding to raise a nonconformity from.
#[derive(InputObject)]
pub struct RaiseNonconformityInput {
    /// A MAJOR_NONCONFORMITY or MINOR_NONCONFORMITY finding.
    pub finding_id: ID,
}

/// A ticket's nonconformity, created or updated by the ticket's external ref.
#[derive(InputObject)]
pub struct UpsertNonconformityByExternalRefInput {
    /// The organization the nonconformity belongs to.
    pub organization_id: ID,
    /// The ticket: the key the nonconformity is found by.
    pub external_ref: ExternalRefInput,
    /// Not blank, at most 300 characters.
    pub title: String,
    /// The nonconformity in full; omitted, it stays.
    pub description: Option<String>,
    /// Default OTHER when the ticket is new.
    pub source: Option<NonconformitySource>,
    /// Required when the ticket is new.
    pub severity: Option<NonconformitySeverity>,
    /// Replaces them: `STANDARD:ref` of either standard; omitted, they stay.
    pub references: Option<Vec<String>>,
    /// Who is responsible, at most 200 characters; omitted, it stays.
    pub owner: Option<String>,
    /// The ticket's state in the ticketing system (free text).
    pub external_status: Option<String>,
    /// `true` completes the NCR's open corrective actions and moves it forward as far as
    /// the rules allow, at most to VERIFICATION (closing needs the effectiveness review).
    pub external_done: Option<bool>,
}

/// A corrective action for a nonconformity (10.2 c), status OPEN.
#[derive(InputObject)]
pub struct AddCorrectiveActionInput {
    /// The nonconformity, not CLOSED; at most 20 actions each.
    pub nonconformity_id: ID,
    /// What is to be done; not blank, at most 300 characters.
    pub title: String,
    /// Who is responsible for it, at most 200 characters.
    pub owner: Option<String>,
    /// The day it is due by.
    pub due_date: Option<Date>,
}

/// Omitted fields stay; an empty text clears a text.
#[derive(InputObject)]
pub struct UpdateCorrectiveActionInput {
    /// The corrective action.
    pub id: ID,
    /// Refused (`CONFLICT`) when the action is at another version.
    pub expected_version: Option<i32>,
    /// Not blank, at most 300 characters.
    pub title: Option<String>,
    /// Who is responsible for it, at most 200 characters.
    pub owner: Option<String>,
    /// `null` clears it.
    pub due_date: MaybeUndefined<Date>,
    /// Any status; a move to DONE sets `completedAt`, a move to another clears it.
    pub status: Option<CorrectiveActionStatus>,
    /// What was done, free text.
    pub completion_note: Option<String>,
}

crate::mutations! {
    NcrMutation;
    /// OWNER, MANAGER, CONTRIBUTOR, INTEGRATION. Status OPEN.
    create_nonconformity(ctx, gate, actor, input: CreateNonconformityInput)
        -> CreateNonconformityPayload { nonconformity: Nonconformity } {
        let catalog = ctx.catalog()?;
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        store::create(gate, actor, catalog, org, store::NewNcr {
            title: &input.title,
            description: input.description.as_deref(),
            source: input.source.into(),
            severity: input.severity.into(),
            references: input.references.as_deref().unwrap_or_default(),
            owner: input.owner.as_deref(),
            containment: input.containment.as_deref(),
            external_ref: input.external_ref.as_ref().map(ExternalRefInput::parse).transpose()?,
            correction: input.correction.as_deref(),
            action_needed: input.action_needed,
            no_action_justification: input.no_action_justification.as_deref(),
            similar_ids: &similar_ids(input.similar_nonconformity_ids.as_deref().unwrap_or_default())?,
            management_system_changes: input.management_system_changes.as_deref(),
        }).await?
    }
    /// OWNER, MANAGER, CONTRIBUTOR, INTEGRATION. Closed nonconformities are read-only.
    update_nonconformity(ctx, gate, actor, input: UpdateNonconformityInput)
        -> UpdateNonconformityPayload { nonconformity: Nonconformity } {
        let catalog = ctx.catalog()?;
        let id = ids::expect(Kind::Nonconformity, &input.id, "id")?;
        store::update(gate, actor, catalog, id, store::NcrChanges {
            expected_version: input.expected_version,
            title: input.title.as_deref(),
            description: input.description.as_deref(),
            source: input.source.map(Into::into),
            severity: input.severity.map(Into::into),
            references: input.references.as_deref(),
            owner: input.owner.as_deref(),
            containment: input.containment.as_deref(),
            root_cause: input.root_cause.as_deref(),
            effectiveness_review: input.effectiveness_review.as_deref(),
            external_ref: input.external_ref.as_ref().map(ExternalRefInput::parse).transpose()?,
            correction: input.correction.as_deref(),
            action_needed: input.action_needed,
            no_action_justification: input.no_action_justification.as_deref(),
            similar_ids: input.similar_nonconformity_ids.as_deref().map(similar_ids).transpose()?.as_deref(),
            management_system_changes: input.management_system_changes.as_deref(),
        }).await?
    }
    /// One step of the workflow. OWNER, MANAGER, CONTRIBUTOR; to CLOSED (from VERIFICATION,
    /// or from ANALYSIS when no action is needed, 10.2 b): OWNER, MANAGER, AUDITOR.
    transition_nonconformity(ctx, gate, actor, input: TransitionNonconformityInput)
        -> TransitionNonconformityPayload { nonconformity: Nonconformity } {
        let id = ids::expect(Kind::Nonconformity, &input.id, "id")?;
        store::transition(
            gate,
            actor,
            id,
            input.to.into(),
            input.note.as_deref(),
            input.effectiveness_review.as_deref(),
            input.expected_version,
        )
        .await?
    }
    /// OWNER, MANAGER, AUDITOR. Idempotent: the same finding always gives the same NCR.
    raise_nonconformity(ctx, gate, actor, input: RaiseNonconformityInput) -> RaiseNonconformityPayload {
        /// The nonconformity raised from the finding.
        nonconformity: Nonconformity,
        /// False when the finding had raised it already.
        created: bool,
    } => {
        let id = ids::expect(Kind::Finding, &input.finding_id, "findingId")?;
        let Granted { model: (m, created), access } = store::raise(gate, actor, id).await?;
        Ok(RaiseNonconformityPayload { nonconformity: Nonconformity::new(m, access), created })
    }
    /// OWNER, MANAGER, CONTRIBUTOR, INTEGRATION. Creates or updates the NCR of one ticket;
    /// safe to retry and to call concurrently.
    upsert_nonconformity_by_external_ref(ctx, gate, actor, input: UpsertNonconformityByExternalRefInput)
        -> UpsertNonconformityByExternalRefPayload {
        /// The ticket's nonconformity.
        nonconformity: Nonconformity,
        /// True when this call created it.
        created: bool,
    } => {
        let catalog = ctx.catalog()?;
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let upsert = store::UpsertNcr {
            external_ref: input.external_ref.parse()?,
            title: &input.title,
            description: input.description.as_deref(),
            source: input.source.map(Into::into),
            severity: input.severity.map(Into::into),
            references: input.references.as_deref(),
            owner: input.owner.as_deref(),
            external_status: input.external_status.as_deref(),
            external_done: input.external_done,
        };
        let Granted { model: (m, created), access } =
            store::upsert_by_external_ref(gate, actor, catalog, org, upsert).await?;
        Ok(UpsertNonconformityByExternalRefPayload { nonconformity: Nonconformity::new(m, access), created })
    }
    /// OWNER, MANAGER, CONTRIBUTOR, INTEGRATION. Not on closed nonconformities.
    add_corrective_action(ctx, gate, actor, input: AddCorrectiveActionInput)
        -> AddCorrectiveActionPayload { corrective_action: CorrectiveAction } {
        let id = ids::expect(Kind::Nonconformity, &input.nonconformity_id, "nonconformityId")?;
        store::add_action(gate, actor, id, store::NewAction {
            title: &input.title,
            owner: input.owner.as_deref(),
            due_date: input.due_date.map(|d| d.0),
        }).await?
    }
    /// OWNER, MANAGER, CONTRIBUTOR, INTEGRATION. Not on closed nonconformities.
    update_corrective_action(ctx, gate, actor, input: UpdateCorrectiveActionInput)
        -> UpdateCorrectiveActionPayload { corrective_action: CorrectiveAction } {
        let id = ids::expect(Kind::CorrectiveAction, &input.id, "id")?;
        store::update_action(gate, actor, id, store::ActionChanges {
            expected_version: input.expected_version,
            title: input.title.as_deref(),
            owner: input.owner.as_deref(),
            due_date: change(input.due_date, |d| d.0),
            status: input.status.map(Into::into),
            completion_note: input.completion_note.as_deref(),
        }).await?
    }
}
