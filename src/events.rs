//! Live change events for subscriptions.
//!
//! Events come from the audit trail: every change row a mutation appends becomes one
//! event, published only when the transaction commits. Two transports sit behind
//! [`EventBus`]: on PostgreSQL the event is sent with `pg_notify` inside the transaction
//! (PostgreSQL delivers it on commit and drops it on rollback) and every replica LISTENs,
//! so a change made through any replica reaches subscribers on all of them; on SQLite
//! (one process) the bus broadcasts in-process after commit.

use chrono::{DateTime, Utc};
use sea_orm::DbBackend;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::store::tenancy::Database;

pub const PG_CHANNEL: &str = "annex_events";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    pub organization_id: Uuid,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
}

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<ChangeEvent>,
    transport: Transport,
    /// `annex_events_published_total` (a no-op until [`EventBus::counting`]).
    published: metrics::Counter,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    InProcess,
    PgNotify,
}

impl EventBus {
    /// Creates the bus; on PostgreSQL also starts the LISTEN task that feeds it.
    pub fn start(db: &Database) -> Self {
        let (tx, _) = broadcast::channel(1024);
        let transport = if db.backend() == DbBackend::Postgres { Transport::PgNotify } else { Transport::InProcess };
        let bus = Self { tx, transport, published: metrics::Counter::noop() };
        if transport == Transport::PgNotify {
            tokio::spawn(listen(db.clone(), bus.tx.clone()));
        }
        bus
    }

    /// Counts every event published after commit in `published`.
    pub fn counting(mut self, published: metrics::Counter) -> Self {
        self.published = published;
        self
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ChangeEvent> {
        self.tx.subscribe()
    }

    /// The `pg_notify` payload the writer sends inside its transaction (PostgreSQL
    /// delivers it on commit, drops it on rollback); `None` in-process.
    pub(crate) fn notify_payload(&self, event: &ChangeEvent) -> Result<Option<String>, serde_json::Error> {
        match self.transport {
            Transport::PgNotify => serde_json::to_string(event).map(Some),
            Transport::InProcess => Ok(None),
        }
    }

    /// Called after a successful commit with the events of that transaction.
    pub(crate) fn committed(&self, events: Vec<ChangeEvent>) {
        self.published.increment(events.len() as u64);
        if self.transport == Transport::InProcess {
            for e in events {
                // No subscribers is not an error.
                let _ = self.tx.send(e);
            }
        }
    }
}

async fn listen(db: Database, sender: broadcast::Sender<ChangeEvent>) {
    db.listen(PG_CHANNEL, |payload| match serde_json::from_str::<ChangeEvent>(payload) {
        Ok(ev) => {
            // No subscribers is not an error.
            let _ = sender.send(ev);
        }
        Err(e) => tracing::warn!(error = %e, "ignoring a malformed event payload"),
    })
    .await;
}
