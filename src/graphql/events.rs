//! `organizationEvents`: live changes of one organization over graphql-transport-ws.

use async_graphql::{Context, Enum, ID, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::BroadcastStream;
use uuid::Uuid;

use crate::auth::{Access, Caller, Operation};
use crate::error::AppError;
use crate::events::ChangeEvent as BusEvent;
use crate::graphql::context::ContextExt;
use crate::graphql::context::WsConnection;
use crate::ids::{self, Kind};
use crate::store::tenancy::read_right;
use crate::store::{Actor, Gate};

/// What a change did.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ChangeAction {
    /// The object was created.
    Create,
    /// Fields of the object were changed.
    Update,
    /// The object was deleted.
    Delete,
    /// A workflow moved the object to another status (`status`, with an optional `note`).
    Transition,
    /// A task's due day has come (published once per task, by whichever replica's
    /// scheduler claimed it first).
    TaskDue,
}

impl ChangeAction {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "CREATE" => ChangeAction::Create,
            "UPDATE" => ChangeAction::Update,
            "DELETE" => ChangeAction::Delete,
            "TRANSITION" => ChangeAction::Transition,
            "TASK_DUE" => ChangeAction::TaskDue,
            _ => return None,
        })
    }
}

/// One committed change, as pushed to subscribers.
#[derive(SimpleObject, Clone, Debug)]
pub struct ChangeEvent {
    /// The organization's ID.
    pub organization_id: ID,
    /// What the change did.
    pub action: ChangeAction,
    /// The changed object's type: `Risk`, `Control`, `Membership`, …
    pub entity_type: String,
    /// The changed object's global ID.
    pub entity_id: ID,
    /// When the change was committed (UTC; the audit-trail row's `at`).
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

/// What a live subscription keeps between events.
struct Listening {
    rx: BroadcastStream<BusEvent>,
    gate: Gate,
    caller: Caller,
    /// The connection's caller as last authenticated (a re-authentication updates it).
    ws: Option<WsConnection>,
    org: Uuid,
    access: Access,
    done: bool,
}

impl Listening {
    /// The subscriber's standing now, read afresh (a new operation's worth of rights).
    async fn recheck(&mut self) -> Result<(), AppError> {
        let actor = Actor::new(self.caller.clone(), crate::graphql::context::new_request_id());
        let access = self.gate.access(&actor, self.org).await;
        actor.end_session().await;
        match access? {
            None => Err(AppError::NotFound("your membership in this organization has ended".into())),
            Some(a) if !a.allows(Operation::SubscribeEvents) => {
                Err(AppError::Forbidden("your role in this organization no longer allows this subscription".into()))
            }
            Some(a) => {
                self.access = a;
                Ok(())
            }
        }
    }

    /// The next event for this subscriber, an error that ends the subscription, or the end.
    async fn next(mut self) -> Option<(Result<ChangeEvent, async_graphql::Error>, Self)> {
        if self.done {
            return None;
        }
        loop {
            let item = self.rx.next().await?;
            if let Some(ws) = &self.ws {
                match ws.caller() {
                    Some(c) if c.expired() => {
                        self.done = true;
                        let e = AppError::Unauthenticated("the token has expired; re-authenticate".into());
                        return Some((Err(e.into()), self));
                    }
                    Some(c) => self.caller = c,
                    None => {}
                }
            }
            let event = match item {
                Ok(e) if e.organization_id == self.org => e,
                Ok(_) => continue,
                Err(lagged) => {
                    // Events were skipped (membership changes among them, maybe): read
                    // the subscriber's rights again before going on.
                    tracing::warn!(error = %lagged, "a subscriber fell behind; events were skipped");
                    if let Err(e) = self.recheck().await {
                        self.done = true;
                        return Some((Err(e.into()), self));
                    }
                    continue;
                }
            };
            // A membership changed in this organization (maybe the subscriber's own): rights
            // are read again before this or any later event is delivered.
            if event.entity_type == Kind::Membership.name()
                && let Err(e) = self.recheck().await
            {
                self.done = true;
                return Some((Err(e.into()), self));
            }
            if let Some(out) = ChangeEvent::for_subscriber(event, self.access) {
                return Some((Ok(out), self));
            }
        }
    }
}

/// Live events over graphql-transport-ws (`/graphql/ws`).
#[Subscription]
impl EventSubscription {
    /// Every committed change in the organization that the subscriber may read, as it
    /// happens (from any replica). `actor` only with ReadChanges. Rights are read again
    /// whenever a membership of the organization changes: a removed subscriber gets one
    /// `NOT_FOUND` error and the subscription ends; a demoted one hears only what the new
    /// role may read (or gets `FORBIDDEN` and the end). An expired token ends it with
    /// `UNAUTHENTICATED`.
    async fn organization_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organization to listen to (a member, or a platform admin).")] organization_id: ID,
    ) -> Result<impl Stream<Item = Result<ChangeEvent, async_graphql::Error>>> {
        let (gate, actor) = (ctx.gate()?, ctx.actor()?);
        let org = ids::expect(Kind::Organization, &organization_id, "organizationId")?;
        let access = gate.read(actor, org, Operation::SubscribeEvents).await?.access();
        // A subscription lives long; its session (and, on PostgreSQL, the read transaction
        // holding a connection) must not.
        actor.end_session().await;
        let state = Listening {
            rx: BroadcastStream::new(gate.events().subscribe()),
            gate: gate.clone(),
            caller: actor.caller.clone(),
            ws: ctx.data_opt::<WsConnection>().cloned(),
            org,
            access,
            done: false,
        };
        Ok(futures_util::stream::unfold(state, Listening::next))
    }
}
