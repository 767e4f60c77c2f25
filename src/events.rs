//! Live change events for subscriptions.
//!
//! Events come from the audit trail: every change row a mutation appends becomes one
//! event, published only when the transaction commits. Two transports sit behind
//! [`EventBus`]: on PostgreSQL the event is sent with `pg_notify` inside the transaction
//! (PostgreSQL delivers it on commit and drops it on rollback) and every replica LISTENs,
//! so a change made through any replica reaches subscribers on all of them; on SQLite
//! (one process) the bus broadcasts in-process after commit.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::db::Database;

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
        let bus = Self { tx, transport };
        if transport == Transport::PgNotify {
            let pool = db.conn.get_postgres_connection_pool().clone();
            let sender = bus.tx.clone();
            tokio::spawn(listen(pool, sender));
        }
        bus
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ChangeEvent> {
        self.tx.subscribe()
    }

    /// Called inside the transaction for each event.
    pub(crate) async fn stage(&self, tx: &DatabaseTransaction, event: &ChangeEvent) -> Result<(), sea_orm::DbErr> {
        if self.transport == Transport::PgNotify {
            let payload = serde_json::to_string(event).map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [PG_CHANNEL.into(), payload.into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// Called after a successful commit with the events of that transaction.
    pub(crate) fn committed(&self, events: Vec<ChangeEvent>) {
        if self.transport == Transport::InProcess {
            for e in events {
                // No subscribers is not an error.
                let _ = self.tx.send(e);
            }
        }
    }
}

async fn listen(pool: sqlx::PgPool, sender: broadcast::Sender<ChangeEvent>) {
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "event listener cannot connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(PG_CHANNEL).await {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        loop {
            match listener.recv().await {
                Ok(n) => match serde_json::from_str::<ChangeEvent>(n.payload()) {
                    Ok(ev) => {
                        let _ = sender.send(ev);
                    }
                    Err(e) => tracing::warn!(error = %e, "ignoring a malformed event payload"),
                },
                Err(e) => {
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!(error = %e, "event listener lost its connection; reconnecting");
                    break;
                }
            }
        }
    }
}
