//! `organizationEvents`: live changes of one organization over graphql-transport-ws.

use async_graphql::{Context, Enum, ID, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::BroadcastStream;

use crate::auth::{Access, Operation};
use crate::events::ChangeEvent as BusEvent;
use crate::graphql::context::ContextExt;
use crate::ids::{self, Kind};
use crate::store::tenancy::read_right;

/// What a change did.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ChangeAction {
    Create,
    Update,
    Delete,
    Transition,
}

impl ChangeAction {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "CREATE" => ChangeAction::Create,
            "UPDATE" => ChangeAction::Update,
            "DELETE" => ChangeAction::Delete,
            "TRANSITION" => ChangeAction::Transition,
            _ => return None,
        })
    }
}

/// One committed change, as pushed to subscribers.
#[derive(SimpleObject, Clone, Debug)]
pub struct ChangeEvent {
    pub organization_id: ID,
    pub action: ChangeAction,
    pub entity_type: String,
    pub entity_id: ID,
    pub at: DateTime<Utc>,
    /// Who made the change: only for subscribers who may read the audit trail
    /// (ReadChanges); `null` for the others.
    pub actor: Option<String>,
}

impl ChangeEvent {
    /// The event as `access` may see it: `None` when the subscriber may not read the
    /// changed entity (ISO 27001 A.5.15: events are data too).
    fn for_subscriber(e: BusEvent, access: Access) -> Option<Self> {
        let kind = Kind::from_name(&e.entity_type)?;
        if !access.allows(read_right(kind)?) {
            return None;
        }
        let actor = access.allows(Operation::ReadChanges).then_some(e.actor);
        Some(ChangeEvent {
            organization_id: ID(ids::encode(Kind::Organization, e.organization_id)),
            action: ChangeAction::parse(&e.action)?,
            entity_type: e.entity_type,
            entity_id: ID(ids::encode(kind, e.entity_id)),
            at: e.at,
            actor,
        })
    }
}

pub struct EventSubscription;

#[Subscription]
impl EventSubscription {
    /// Every committed change in the organization that the subscriber may read, as it
    /// happens (from any replica). `actor` only with ReadChanges.
    async fn organization_events(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> Result<impl Stream<Item = ChangeEvent>> {
        let (gate, actor) = (ctx.gate()?, ctx.actor()?);
        let org = ids::expect(Kind::Organization, &organization_id, "organizationId")?;
        let access = gate.read(actor, org, Operation::SubscribeEvents).await?.access();
        // A subscription lives long; its session (and, on PostgreSQL, the read transaction
        // holding a connection) must not.
        actor.end_session().await;
        let rx = gate.events().subscribe();
        Ok(BroadcastStream::new(rx).filter_map(move |item| match item {
            Ok(e) if e.organization_id == org => ChangeEvent::for_subscriber(e, access),
            Ok(_) => None,
            Err(lagged) => {
                tracing::warn!(error = %lagged, "a subscriber fell behind; events were skipped");
                None
            }
        }))
    }
}
