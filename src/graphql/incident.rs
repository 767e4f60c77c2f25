//! Incidents, security and AI (ISO 27001 A.5.24-A.5.28; ISO 42001 A.3.3, A.8.4): the
//! workflow, the ticketing sync, and nonconformities raised from incidents.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::{Access, Operation};
use crate::domain::incident as rules;
use crate::entity::{ai_system, control, nonconformity, workflow_transition};
use crate::error::AppResult;
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::input::{filter_id, ref_id, try_change};
use crate::graphql::inventory::AiSystem;
use crate::graphql::limits;
use crate::graphql::loaders::{load_by_id, load_children};
use crate::graphql::ncr::{ExternalRef, ExternalRefInput, Nonconformity};
use crate::graphql::soa::Control;
use crate::ids::{self, Kind};
use crate::store::incident as store;
use crate::store::page::PageArgs;
use crate::store::tenancy::Granted;

/// What kind of event an incident is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::incident::IncidentKind")]
pub enum IncidentKind {
    /// An information security incident (ISO 27001 A.5.24-A.5.28).
    Security,
    /// An incident of an AI system (ISO 42001 A.3.3, A.8.4).
    Ai,
    /// A breach of personal data protection (ISO 27001 A.5.34).
    Privacy,
}

/// A harm an AI incident did or could do.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::incident::AiHarm")]
pub enum AiHarm {
    /// The model's performance degraded as data or context changed.
    ModelDrift,
    /// Unfair outcomes for individuals or groups.
    Bias,
    /// Use outside the intended purpose.
    Misuse,
    /// Plausible but false output.
    Hallucination,
    /// Data disclosed through the system (training data, prompts, outputs).
    DataLeak,
    /// Harm to health, safety or property.
    Safety,
    /// Harm to privacy.
    Privacy,
    /// Any other harm.
    Other,
}

/// How serious an incident is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::incident::IncidentSeverity")]
pub enum IncidentSeverity {
    /// Little effect.
    Low,
    /// Limited effect.
    Medium,
    /// Serious effect; a nonconformity raised from it is MAJOR.
    High,
    /// Severe effect; a nonconformity raised from it is MAJOR.
    Critical,
}

/// REPORTED → TRIAGED → CONTAINED → RESOLVED → CLOSED: one step at a time, no way back.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::incident::IncidentStatus")]
pub enum IncidentStatus {
    /// Recorded (ISO 27001 A.6.8: events reported).
    Reported,
    /// Assessed and classified (A.5.25); sets `triagedAt`.
    Triaged,
    /// Its spread stopped (A.5.26); sets `containedAt`.
    Contained,
    /// Dealt with (A.5.26); sets `resolvedAt`.
    Resolved,
    /// Lessons learned recorded (A.5.27); sets `closedAt`; read-only.
    Closed,
}

/// One status change of an incident.
#[derive(SimpleObject, Clone)]
pub struct IncidentTransition {
    /// The status before.
    pub from: IncidentStatus,
    /// The status after.
    pub to: IncidentStatus,
    /// Subject that made the change.
    pub actor: String,
    /// When, UTC.
    pub at: DateTime<Utc>,
    /// The note given (a ticket's resolution names the ticket).
    pub note: Option<String>,
}

fn transition_of(t: &workflow_transition::Model) -> AppResult<IncidentTransition> {
    let (from, to) = t.statuses::<rules::IncidentStatus>()?;
    Ok(IncidentTransition { from: from.into(), to: to.into(), actor: t.actor.clone(), at: t.at, note: t.note.clone() })
}

crate::entity_type! {
    /// An information security, AI or privacy incident (ISO 27001 A.5.24-A.5.28; ISO
    /// 42001 A.3.3, A.8.4).
    Incident, incident
}

impl Incident {
    fn current(&self) -> rules::IncidentStatus {
        self.model.status
    }
    fn may_write(&self) -> bool {
        self.access.allows(Operation::WriteIncidents)
            || (self.model.ticket_synced && self.access.allows(Operation::SyncIncidents))
    }
}

crate::entity_object! {
    Incident, incident,
    update: custom,
    /// Always false: incidents are kept as evidence (ISO 27001 A.5.28).
    delete: false,
    {
        /// The incident in short, at most 300 characters.
        async fn title(&self) -> &str {
            &self.model.title
        }
        /// The incident in full.
        async fn description(&self) -> Option<&str> {
            self.model.description.as_deref()
        }
        /// SECURITY, AI or PRIVACY.
        async fn kind(&self) -> IncidentKind {
            self.model.kind.into()
        }
        /// The harms of an AI incident (empty for other kinds).
        async fn ai_harms(&self) -> Vec<AiHarm> {
            self.model.ai_harms.0.iter().map(|h| (*h).into()).collect()
        }
        /// LOW, MEDIUM, HIGH or CRITICAL.
        async fn severity(&self) -> IncidentSeverity {
            self.model.severity.into()
        }
        /// Its place in the workflow.
        async fn status(&self) -> IncidentStatus {
            self.current().into()
        }
        /// When it was detected (UTC); never after `reportedAt`.
        async fn detected_at(&self) -> DateTime<Utc> {
            self.model.detected_at
        }
        /// When it was recorded in Annex (UTC).
        async fn reported_at(&self) -> DateTime<Utc> {
            self.model.reported_at
        }
        /// When it moved to TRIAGED (never before `detectedAt`).
        async fn triaged_at(&self) -> Option<DateTime<Utc>> {
            self.model.triaged_at
        }
        /// When it moved to CONTAINED (never before `detectedAt`).
        async fn contained_at(&self) -> Option<DateTime<Utc>> {
            self.model.contained_at
        }
        /// When it moved to RESOLVED (never before `detectedAt`).
        async fn resolved_at(&self) -> Option<DateTime<Utc>> {
            self.model.resolved_at
        }
        /// When it moved to CLOSED (never before `detectedAt`).
        async fn closed_at(&self) -> Option<DateTime<Utc>> {
            self.model.closed_at
        }
        /// The AI system concerned, if any.
        async fn ai_system(&self, ctx: &Context<'_>) -> Result<Option<AiSystem>> {
            let Some(id) = self.model.ai_system_id else { return Ok(None) };
            Ok(load_by_id::<ai_system::Entity>(ctx, self.model.organization_id, id)
                .await?
                .map(|m| AiSystem::new(m, self.access)))
        }
        /// The supplier involved, if any.
        async fn supplier(&self, ctx: &Context<'_>) -> Result<Option<crate::graphql::supplier::Supplier>> {
            let Some(id) = self.model.supplier_id else { return Ok(None) };
            Ok(load_by_id::<crate::entity::supplier::Entity>(ctx, self.model.organization_id, id)
                .await?
                .map(|m| crate::graphql::supplier::Supplier::new(m, self.access)))
        }
        /// The ticket it is synced with, if any (set by `upsertIncidentByExternalRef`).
        async fn external_ref(&self) -> Option<ExternalRef> {
            let m = &self.model;
            Some(ExternalRef { system: m.external_system.clone()?, key: m.external_key.clone()?, url: m.external_url.clone() })
        }
        /// The ticket's state as last reported by the ticketing system.
        async fn external_status(&self) -> Option<&str> {
            self.model.external_status.as_deref()
        }
        /// Created by `upsertIncidentByExternalRef`: an INTEGRATION may update it.
        async fn ticket_synced(&self) -> bool {
            self.model.ticket_synced
        }
        /// What was learned (ISO 27001 A.5.27); required to close.
        async fn lessons_learned(&self) -> Option<&str> {
            self.model.lessons_learned.as_deref()
        }
        /// The nonconformity raised from it (`raiseNonconformityFromIncident`), if any.
        async fn nonconformity(&self, ctx: &Context<'_>) -> Result<Option<Nonconformity>> {
            let Some(id) = self.model.nonconformity_id else { return Ok(None) };
            Ok(load_by_id::<nonconformity::Entity>(ctx, self.model.organization_id, id)
                .await?
                .map(|m| Nonconformity::new(m, self.access)))
        }
        /// False once CLOSED. OWNER, MANAGER, CONTRIBUTOR; also INTEGRATION on a
        /// ticket-synced incident.
        async fn viewer_can_update(&self) -> bool {
            self.may_write() && self.current() != rules::IncidentStatus::Closed
        }
        /// Whether the caller may move it to its next status (OWNER, MANAGER, CONTRIBUTOR).
        async fn viewer_can_transition(&self) -> bool {
            self.access.allows(Operation::WriteIncidents) && self.current().next().is_some()
        }
    }
    lists {
        /// The SoA rows it affected (at most 50).
        #[list(INCIDENT_AFFECTED_CONTROLS)]
        async fn affected_controls(&self, ctx: &Context<'_>) -> Result<Vec<Control>> {
            let org = self.model.organization_id;
            let mut out = Vec::new();
            for id in &self.model.affected_control_ids.0 {
                if let Some(m) = load_by_id::<control::Entity>(ctx, org, *id).await? {
                    out.push(Control::new(m, self.access));
                }
            }
            Ok(limits::bounded(out, limits::INCIDENT_AFFECTED_CONTROLS))
        }
        /// Status changes, oldest first (at most 4: the workflow only moves forward).
        #[list(INCIDENT_TRANSITIONS)]
        async fn transitions(&self, ctx: &Context<'_>) -> Result<Vec<IncidentTransition>> {
            let rows = load_children::<workflow_transition::Entity>(ctx, self.model.organization_id, self.model.id).await?;
            Ok(limits::bounded(rows, limits::INCIDENT_TRANSITIONS).iter().map(transition_of).collect::<AppResult<_>>()?)
        }
    }
}

crate::connection!(IncidentConnection, IncidentEdge, Incident);

/// Narrows `Organization.incidents`; every condition given applies.
#[derive(InputObject, Default)]
pub struct IncidentFilter {
    /// Any of these statuses.
    pub status: Option<Vec<IncidentStatus>>,
    /// Of this kind.
    pub kind: Option<IncidentKind>,
    /// Of this severity.
    pub severity: Option<IncidentSeverity>,
    /// `true`: not yet RESOLVED (REPORTED, TRIAGED, CONTAINED); `false`: RESOLVED or CLOSED.
    pub open: Option<bool>,
    /// Concerning this AI system.
    pub ai_system_id: Option<ID>,
    /// Involving this supplier.
    pub supplier_id: Option<ID>,
}

/// `Organization.incidents`, most recently detected first.
pub async fn incidents_of(
    ctx: &Context<'_>,
    org: Uuid,
    access: Access,
    filter: Option<IncidentFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<IncidentConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let args = PageArgs::new(first, after.as_deref(), store::INCIDENT_ORDER)?;
    let f = filter.unwrap_or_default();
    let filter = store::IncidentFilter {
        statuses: f.status.unwrap_or_default().into_iter().map(Into::into).collect(),
        kind: f.kind.map(Into::into),
        severity: f.severity.map(Into::into),
        open: f.open,
        ai_system_id: f.ai_system_id.map(|id| filter_id(Kind::AiSystem, &id, "filter.aiSystemId")).transpose()?,
        supplier_id: f.supplier_id.map(|id| filter_id(Kind::Supplier, &id, "filter.supplierId")).transpose()?,
    };
    let page = store::list(gate, actor, org, &filter, &args, wants_total(ctx)).await?;
    Ok(IncidentConnection::from_page(page, |m| Incident::new(m, access)))
}

fn harms(v: &[AiHarm]) -> Vec<rules::AiHarm> {
    v.iter().map(|h| (*h).into()).collect()
}

fn control_ids(v: &[ID]) -> AppResult<Vec<Uuid>> {
    v.iter().map(|id| ref_id(Kind::Control, id, "affectedControlIds")).collect()
}

/// A new incident, status REPORTED.
#[derive(InputObject)]
pub struct ReportIncidentInput {
    /// The organization it belongs to.
    pub organization_id: ID,
    /// Not blank, at most 300 characters.
    pub title: String,
    /// The incident in full.
    pub description: Option<String>,
    /// SECURITY, AI or PRIVACY.
    pub kind: IncidentKind,
    /// For AI incidents only (kind AI); duplicates are dropped.
    pub ai_harms: Option<Vec<AiHarm>>,
    /// LOW, MEDIUM, HIGH or CRITICAL.
    pub severity: IncidentSeverity,
    /// When it was detected; default now; not in the future.
    pub detected_at: Option<DateTime<Utc>>,
    /// The AI system concerned, one of the organization's.
    pub ai_system_id: Option<ID>,
    /// SoA rows (`Control` IDs) it affected, at most 50.
    pub affected_control_ids: Option<Vec<ID>>,
    /// The supplier involved, one of the organization's (ISO 27001 A.5.19-A.5.22).
    pub supplier_id: Option<ID>,
}

/// Omitted fields stay; an empty text clears a text. CLOSED incidents are read-only.
#[derive(InputObject)]
pub struct UpdateIncidentInput {
    /// The incident.
    pub id: ID,
    /// Refused (`CONFLICT`) when the incident is at another version.
    pub expected_version: Option<i32>,
    /// Not blank, at most 300 characters.
    pub title: Option<String>,
    /// The incident in full.
    pub description: Option<String>,
    /// SECURITY, AI or PRIVACY; away from AI, clear `aiHarms` too.
    pub kind: Option<IncidentKind>,
    /// Replaces them; AI incidents only.
    pub ai_harms: Option<Vec<AiHarm>>,
    /// LOW, MEDIUM, HIGH or CRITICAL.
    pub severity: Option<IncidentSeverity>,
    /// When it was detected; not after `reportedAt`.
    pub detected_at: Option<DateTime<Utc>>,
    /// `null` clears it.
    pub ai_system_id: MaybeUndefined<ID>,
    /// Replaces them; `[]` removes them all.
    pub affected_control_ids: Option<Vec<ID>>,
    /// What was learned (ISO 27001 A.5.27).
    pub lessons_learned: Option<String>,
    /// The supplier involved; `null` clears it.
    pub supplier_id: MaybeUndefined<ID>,
}

/// One move of the incident workflow.
#[derive(InputObject)]
pub struct TransitionIncidentInput {
    /// The incident.
    pub id: ID,
    /// The next status (the one after the current: no skips, no way back).
    pub to: IncidentStatus,
    /// Why, free text.
    pub note: Option<String>,
    /// With `to: CLOSED` only: records the lessons learned in the same step.
    pub lessons_learned: Option<String>,
    /// Refused (`CONFLICT`) when the incident is at another version.
    pub expected_version: Option<i32>,
}

/// A ticket's incident, created or updated by the ticket's external ref.
#[derive(InputObject)]
pub struct UpsertIncidentByExternalRefInput {
    /// The organization the incident belongs to.
    pub organization_id: ID,
    /// The ticket: the key the incident is found by (unique per organization).
    pub external_ref: ExternalRefInput,
    /// Not blank, at most 300 characters.
    pub title: String,
    /// The incident in full; omitted, it stays.
    pub description: Option<String>,
    /// Required when the ticket is new.
    pub kind: Option<IncidentKind>,
    /// Replaces them; AI incidents only; omitted, they stay.
    pub ai_harms: Option<Vec<AiHarm>>,
    /// Required when the ticket is new.
    pub severity: Option<IncidentSeverity>,
    /// When it was detected; default now when new; never after it was first reported.
    pub detected_at: Option<DateTime<Utc>>,
    /// The ticket's state in the ticketing system (free text).
    pub external_status: Option<String>,
    /// `true` moves the incident forward, one recorded step at a time, at most to
    /// RESOLVED (closing needs the lessons learned).
    pub external_resolved: Option<bool>,
}

/// The incident to raise a nonconformity from.
#[derive(InputObject)]
pub struct RaiseNonconformityFromIncidentInput {
    /// The incident.
    pub incident_id: ID,
}

crate::mutations! {
    IncidentMutation;
    /// Every member role except VIEWER (ISO 27001 A.6.8: everyone reports events). Status
    /// REPORTED.
    report_incident(ctx, gate, actor, input: ReportIncidentInput) -> ReportIncidentPayload { incident: Incident } {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let ai_system_id = input.ai_system_id.as_ref().map(|i| ref_id(Kind::AiSystem, i, "aiSystemId")).transpose()?;
        store::report(gate, actor, org, store::NewIncident {
            title: &input.title,
            description: input.description.as_deref(),
            kind: input.kind.into(),
            ai_harms: &harms(input.ai_harms.as_deref().unwrap_or_default()),
            severity: input.severity.into(),
            detected_at: input.detected_at,
            ai_system_id,
            affected_control_ids: &control_ids(input.affected_control_ids.as_deref().unwrap_or_default())?,
            supplier_id: input.supplier_id.as_ref().map(|i| ref_id(Kind::Supplier, i, "supplierId")).transpose()?,
        }).await?
    }
    /// OWNER, MANAGER, CONTRIBUTOR; INTEGRATION on a ticket-synced incident. Closed
    /// incidents are read-only.
    update_incident(ctx, gate, actor, input: UpdateIncidentInput) -> UpdateIncidentPayload { incident: Incident } {
        let id = ids::expect(Kind::Incident, &input.id, "id")?;
        let h = input.ai_harms.as_deref().map(harms);
        let c = input.affected_control_ids.as_deref().map(control_ids).transpose()?;
        store::update(gate, actor, id, store::IncidentChanges {
            expected_version: input.expected_version,
            title: input.title.as_deref(),
            description: input.description.as_deref(),
            kind: input.kind.map(Into::into),
            ai_harms: h.as_deref(),
            severity: input.severity.map(Into::into),
            detected_at: input.detected_at,
            ai_system_id: try_change(input.ai_system_id, |i| ref_id(Kind::AiSystem, &i, "aiSystemId"))?,
            affected_control_ids: c.as_deref(),
            lessons_learned: input.lessons_learned.as_deref(),
            supplier_id: try_change(input.supplier_id, |i| ref_id(Kind::Supplier, &i, "supplierId"))?,
        }).await?
    }
    /// One step of the workflow (OWNER, MANAGER, CONTRIBUTOR); sets the move's time. CLOSED
    /// needs `lessonsLearned`.
    transition_incident(ctx, gate, actor, input: TransitionIncidentInput)
        -> TransitionIncidentPayload { incident: Incident } {
        let id = ids::expect(Kind::Incident, &input.id, "id")?;
        store::transition(
            gate,
            actor,
            id,
            input.to.into(),
            input.note.as_deref(),
            input.lessons_learned.as_deref(),
            input.expected_version,
        )
        .await?
    }
    /// OWNER, MANAGER, CONTRIBUTOR, INTEGRATION. Creates or updates the incident of one
    /// ticket; safe to retry (an identical call writes nothing) and to call concurrently
    /// (one incident per ticket).
    upsert_incident_by_external_ref(ctx, gate, actor, input: UpsertIncidentByExternalRefInput)
        -> UpsertIncidentByExternalRefPayload {
        /// The ticket's incident.
        incident: Incident,
        /// True when this call created it.
        created: bool,
    } => {
        let org = ids::expect(Kind::Organization, &input.organization_id, "organizationId")?;
        let h = input.ai_harms.as_deref().map(harms);
        let upsert = store::UpsertIncident {
            external_ref: input.external_ref.parse()?,
            title: &input.title,
            description: input.description.as_deref(),
            kind: input.kind.map(Into::into),
            ai_harms: h.as_deref(),
            severity: input.severity.map(Into::into),
            detected_at: input.detected_at,
            external_status: input.external_status.as_deref(),
            external_resolved: input.external_resolved,
        };
        let Granted { model: (m, created), access } = store::upsert_by_external_ref(gate, actor, org, upsert).await?;
        Ok(UpsertIncidentByExternalRefPayload { incident: Incident::new(m, access), created })
    }
    /// OWNER, MANAGER, CONTRIBUTOR. Raises a nonconformity (source INCIDENT; MAJOR for HIGH
    /// and CRITICAL incidents, else MINOR) and links both ways; idempotent: the same
    /// incident always gives the same nonconformity.
    raise_nonconformity_from_incident(ctx, gate, actor, input: RaiseNonconformityFromIncidentInput)
        -> RaiseNonconformityFromIncidentPayload {
        /// The incident, linked to its nonconformity.
        incident: Incident,
        /// The nonconformity raised from the incident.
        nonconformity: Nonconformity,
        /// False when the incident had raised it already.
        created: bool,
    } => {
        let id = ids::expect(Kind::Incident, &input.incident_id, "incidentId")?;
        let Granted { model: (i, n, created), access } = store::raise_nonconformity(gate, actor, id).await?;
        Ok(RaiseNonconformityFromIncidentPayload {
            incident: Incident::new(i, access),
            nonconformity: Nonconformity::new(n, access),
            created,
        })
    }
}
