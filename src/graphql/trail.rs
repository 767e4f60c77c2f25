//! The audit trail: `changes`, `history` on each entity, and `auditTrailIntegrity`.

use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::Operation;
use crate::entity::change;
use crate::graphql::connection::wants_total;
use crate::graphql::context::ContextExt;
use crate::graphql::events::ChangeAction;
use crate::ids::{self, Kind};
use crate::store::page::PageArgs;
use crate::store::trail::{self as store, Action};

/// One field's value before and after a change (`null` for a side that did not exist).
#[derive(SimpleObject, Clone)]
pub struct FieldChange {
    pub field: String,
    pub before: Json<serde_json::Value>,
    pub after: Json<serde_json::Value>,
}

/// One row of the append-only, hash-chained audit trail.
#[derive(Clone)]
pub struct Change(pub change::Model);

#[Object]
impl Change {
    pub async fn id(&self) -> ID {
        ID(ids::encode(Kind::Change, self.0.id))
    }
    /// Position in the organization's chain (1, 2, …).
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The token `sub` that made the change.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    async fn action(&self) -> Option<ChangeAction> {
        ChangeAction::parse(&self.0.action)
    }
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    async fn entity_id(&self) -> ID {
        let kind = Kind::from_name(&self.0.entity_type).unwrap_or(Kind::Change);
        ID(ids::encode(kind, self.0.entity_id))
    }
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
    /// SHA-256 over this row's content and the previous row's hash.
    async fn hash(&self) -> &str {
        &self.0.hash
    }
    async fn prev_hash(&self) -> &str {
        &self.0.prev_hash
    }
}

crate::connection!(ChangeConnection, ChangeEdge, Change);

#[derive(InputObject, Default)]
pub struct ChangeFilter {
    /// `Risk`, `Control`, `Nonconformity`, …
    pub entity_type: Option<String>,
    pub entity_id: Option<ID>,
    pub actor: Option<String>,
    pub action: Option<ChangeAction>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
}

#[derive(SimpleObject, Clone)]
pub struct AuditTrailIntegrity {
    /// `true` when every row's hash and link check out.
    pub verified: bool,
    pub rows: i64,
    /// `seq` of the first row that does not check out.
    pub first_broken_at: Option<i64>,
}

fn action_of(a: ChangeAction) -> Action {
    match a {
        ChangeAction::Create => Action::Create,
        ChangeAction::Update => Action::Update,
        ChangeAction::Delete => Action::Delete,
        ChangeAction::Transition => Action::Transition,
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
    Ok(AuditTrailIntegrity { verified: v.verified, rows: v.rows as i64, first_broken_at: v.first_broken_at })
}
