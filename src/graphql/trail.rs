//! The audit trail: `changes`, `history` on each entity, `auditTrailIntegrity` (with
//! `verifyHead` for a head an auditor kept) and `auditTrailHead` (the signed head).

use async_graphql::{ComplexObject, Context, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::Operation;
use crate::domain::trail::{self, HEAD_ALGORITHM, SignedHead};
use crate::entity::change;
use crate::error::AppError;
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::events::ChangeAction;
use crate::ids::{self, Kind};
use crate::store::page::PageArgs;
use crate::store::trail::{self as store, Action};

/// One field's value before and after a change (`null` for a side that did not exist).
#[derive(SimpleObject, Clone)]
pub struct FieldChange {
    /// The field's stored name, e.g. `status`.
    pub field: String,
    /// The value before the change (JSON); `null` on creation.
    pub before: Json<serde_json::Value>,
    /// The value after the change (JSON); `null` on deletion.
    pub after: Json<serde_json::Value>,
}

#[derive(Clone)]
pub struct Change(pub change::Model);

/// One row of the append-only, hash-chained audit trail (ISO 27001 A.8.15).
#[Object]
impl Change {
    /// Global ID of the row.
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::Change, self.0.id))
    }
    /// Position in the organization's chain (1, 2, …).
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    /// When the change was committed (UTC).
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The token `sub` that made the change.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// What the change did.
    async fn action(&self) -> Option<ChangeAction> {
        ChangeAction::parse(&self.0.action)
    }
    /// The changed object's type: `Risk`, `Control`, `Nonconformity`, …
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    /// The changed object's global ID (it may since have been deleted).
    async fn entity_id(&self) -> ID {
        let kind = Kind::from_name(&self.0.entity_type).unwrap_or(Kind::Change);
        ID(ids::encode(kind, self.0.entity_id))
    }
    /// The id of the operation that made the change (UUIDv7; as in errors and logs).
    async fn request_id(&self) -> &str {
        &self.0.request_id
    }
    /// The changed fields with their values before and after.
    async fn changes(&self) -> Vec<FieldChange> {
        let parsed: serde_json::Value = serde_json::from_str(&self.0.fields).unwrap_or_default();
        parsed
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| FieldChange {
                        field: k.clone(),
                        before: Json(v.get("before").cloned().unwrap_or_default()),
                        after: Json(v.get("after").cloned().unwrap_or_default()),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    /// SHA-256 (hex) over this row's content and the previous row's hash.
    async fn hash(&self) -> &str {
        &self.0.hash
    }
    /// The previous row's `hash` (SHA-256, hex); 64 zeros for `seq` 1.
    async fn prev_hash(&self) -> &str {
        &self.0.prev_hash
    }
}

crate::connection!(ChangeConnection, ChangeEdge, Change);

/// Which audit-trail rows to list; every given condition must hold.
#[derive(InputObject, Default)]
pub struct ChangeFilter {
    /// `Risk`, `Control`, `Nonconformity`, …
    pub entity_type: Option<String>,
    /// The changed object's global ID.
    pub entity_id: Option<ID>,
    /// The token `sub` that made the change (exact match).
    pub actor: Option<String>,
    /// What the change did.
    pub action: Option<ChangeAction>,
    /// Changes at or after this time (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Changes before this time (exclusive).
    pub to: Option<DateTime<Utc>>,
}

/// The result of recomputing the organization's hash chain. The chain alone cannot show a
/// rewrite by someone who recomputes every later hash (the database owner): check a
/// signed head kept from `auditTrailHead` with `verifyHead` for that.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct AuditTrailIntegrity {
    /// `true` when every row's hash and link check out.
    pub verified: bool,
    /// How many rows the organization's trail holds.
    pub rows: i64,
    /// `seq` of the first row that does not check out.
    pub first_broken_at: Option<i64>,
    /// The newest row the check reached; `null` for an empty trail.
    pub head: Option<AuditTrailChainHead>,
    #[graphql(skip)]
    pub organization_id: Uuid,
}

/// A position in the chain: a row's `seq` and stored hash.
#[derive(SimpleObject, Clone)]
pub struct AuditTrailChainHead {
    /// The row's position in the chain (1, 2, …).
    pub seq: i64,
    /// The row's stored hash (SHA-256, hex).
    pub hash: String,
}

/// The newest row of the audit trail, signed by the service. Keep it (all six fields):
/// later, `auditTrailIntegrity { verifyHead(...) }` proves whether the trail up to it is
/// still the one that was signed.
#[derive(SimpleObject, Clone)]
pub struct AuditTrailHead {
    /// The newest row's position in the chain (1, 2, …).
    pub seq: i64,
    /// The row's hash (SHA-256, hex).
    pub hash: String,
    /// The row's time (UTC; part of what is signed).
    pub at: DateTime<Utc>,
    /// HMAC-SHA256 (hex) over the organization id, `seq`, `hash` and `at`; `null` when the
    /// service has no trail key (production without `ANNEX_TRAIL_KEY`).
    pub signature: Option<String>,
    /// `HMAC-SHA256`; `null` when unsigned.
    pub algorithm: Option<String>,
    /// First 8 hex digits of SHA-256 of the signing key: which key signed.
    pub key_id: Option<String>,
}

/// Whether a kept head still checks out.
#[derive(SimpleObject, Clone)]
pub struct AuditTrailHeadVerification {
    /// `true` when the kept head is this service's, the chain still holds it, and the chain
    /// verifies.
    pub valid: bool,
    /// Why not: `signature does not match`, `row seq N is missing`, `row seq N has a
    /// different hash now`, `chain broken at seq M`, or that the service has no key.
    pub reason: Option<String>,
}

#[ComplexObject]
impl AuditTrailIntegrity {
    /// Checks a head kept from `auditTrailHead` (its `seq`, `hash`, `at` and `signature`):
    /// valid when the signature is the service's for this organization and these fields,
    /// the chain still holds that hash at that `seq`, and the chain verifies.
    async fn verify_head(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The kept head's `seq` (1 or more).")] seq: i64,
        #[graphql(desc = "The kept head's `hash` (64 lowercase hex digits).")] hash: String,
        #[graphql(desc = "The kept head's `at`, as it was returned.")] at: DateTime<Utc>,
        #[graphql(desc = "The kept head's `signature` (64 lowercase hex digits).")] signature: String,
    ) -> Result<AuditTrailHeadVerification> {
        verify_head(ctx, self, seq, &hash, at, &signature).await
    }
}

fn action_of(a: ChangeAction) -> Action {
    match a {
        ChangeAction::Create => Action::Create,
        ChangeAction::Update => Action::Update,
        ChangeAction::Delete => Action::Delete,
        ChangeAction::Transition => Action::Transition,
        ChangeAction::TaskDue => Action::TaskDue,
    }
}

pub async fn organization_changes(
    ctx: &Context<'_>,
    org: Uuid,
    filter: Option<ChangeFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ChangeConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let r = gate.read(actor, org, Operation::ReadChanges).await?;
    let f = filter.unwrap_or_default();
    let entity_id = match &f.entity_id {
        Some(id) => match ids::decode(id) {
            Some((_, uuid)) => Some(uuid),
            None => {
                return Err(crate::error::AppError::bad_input("filter.entityId", "entityId is not a valid ID").into());
            }
        },
        None => None,
    };
    let filter = store::ChangeFilter {
        entity_type: f.entity_type,
        entity_id,
        actor: f.actor,
        action: f.action.map(action_of),
        from: f.from,
        to: f.to,
    };
    let args = PageArgs::new(first, after.as_deref(), "changes:SEQ:DESC")?;
    let page = store::list_changes(&r, &filter, &args, wants_total(ctx)).await?;
    Ok(ChangeConnection::from_page(page, Change))
}

/// The changes of one entity, newest first (`history` on every object).
pub async fn history(
    ctx: &Context<'_>,
    org: Uuid,
    entity: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ChangeConnection> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let r = gate.read(actor, org, Operation::ReadChanges).await?;
    let args = PageArgs::new(first, after.as_deref(), "changes:SEQ:DESC")?;
    let filter = store::ChangeFilter { entity_id: Some(entity), ..Default::default() };
    let page = store::list_changes(&r, &filter, &args, wants_total(ctx)).await?;
    Ok(ChangeConnection::from_page(page, Change))
}

pub async fn integrity(ctx: &Context<'_>, org: Uuid) -> Result<AuditTrailIntegrity> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let r = gate.read(actor, org, Operation::ReadChanges).await?;
    let v = store::verify_chain(&r).await?;
    Ok(AuditTrailIntegrity {
        verified: v.verified,
        rows: v.rows as i64,
        first_broken_at: v.first_broken_at,
        head: v.head.map(|h| AuditTrailChainHead { seq: h.seq, hash: h.hash }),
        organization_id: org,
    })
}

/// `organization { auditTrailHead }`: the newest row, signed with the service's key.
pub async fn signed_head(ctx: &Context<'_>, org: Uuid) -> Result<Option<AuditTrailHead>> {
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let r = gate.read(actor, org, Operation::ReadChanges).await?;
    let Some(row) = store::head(&r).await? else {
        return Ok(None);
    };
    let (org_s, at_s) = (org.to_string(), store::at_string(&row.at));
    let signed = SignedHead { organization_id: &org_s, seq: row.seq, hash: &row.hash, at: &at_s };
    let key = ctx.services()?.trail_key.as_ref();
    Ok(Some(AuditTrailHead {
        seq: row.seq,
        at: row.at,
        signature: key.map(|k| k.sign(&signed)),
        algorithm: key.map(|_| HEAD_ALGORITHM.to_string()),
        key_id: key.map(|k| k.id().to_string()),
        hash: row.hash,
    }))
}

fn is_hex_256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn verify_head(
    ctx: &Context<'_>,
    chain: &AuditTrailIntegrity,
    seq: i64,
    hash: &str,
    at: DateTime<Utc>,
    signature: &str,
) -> Result<AuditTrailHeadVerification> {
    if seq < 1 {
        return Err(AppError::bad_input("seq", "seq starts at 1").into());
    }
    if !is_hex_256(hash) {
        return Err(AppError::bad_input("hash", "hash is 64 lowercase hex digits").into());
    }
    if !is_hex_256(signature) {
        return Err(AppError::bad_input("signature", "signature is 64 lowercase hex digits").into());
    }
    let Some(key) = ctx.services()?.trail_key.as_ref() else {
        let reason = "the service has no trail key (ANNEX_TRAIL_KEY): signatures cannot be checked";
        return Ok(AuditTrailHeadVerification { valid: false, reason: Some(reason.into()) });
    };
    let (gate, actor) = (ctx.gate()?, ctx.actor()?);
    let r = gate.read(actor, chain.organization_id, Operation::ReadChanges).await?;
    let hash_now = store::hash_at(&r, seq).await?;
    let (org_s, at_s) = (chain.organization_id.to_string(), store::at_string(&at));
    let kept = SignedHead { organization_id: &org_s, seq, hash, at: &at_s };
    Ok(match trail::check_kept_head(key, &kept, signature, hash_now.as_deref(), chain.first_broken_at) {
        Ok(()) => AuditTrailHeadVerification { valid: true, reason: None },
        Err(failure) => AuditTrailHeadVerification { valid: false, reason: Some(failure.to_string()) },
    })
}
