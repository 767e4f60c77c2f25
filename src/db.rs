//! Connecting, migrating and counting statements.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, DatabaseConnection, DbBackend};
use tokio::sync::Mutex;

use crate::config::Config;

/// The database handle. Only the tenancy gate (`store::tenancy`) and the catalog loader
/// reach the connection inside it.
#[derive(Clone)]
pub struct Database {
    pub(crate) conn: DatabaseConnection,
    /// SQLite has one writer at a time; serialising write transactions in the process
    /// avoids `SQLITE_BUSY` on lock upgrades. `None` on PostgreSQL (per-tenant advisory
    /// locks there).
    pub(crate) sqlite_writer: Option<Arc<Mutex<()>>>,
    queries: Arc<AtomicU64>,
}

impl Database {
    pub async fn connect(cfg: &Config) -> Result<Self, sea_orm::DbErr> {
        if cfg.is_sqlite() {
            std::fs::create_dir_all(&cfg.data_dir)
                .map_err(|e| sea_orm::DbErr::Custom(format!("cannot create {}: {e}", cfg.data_dir.display())))?;
        }
        let mut opts = ConnectOptions::new(cfg.database_url.clone());
        let statement_timeout = cfg.limits.statement_timeout;
        opts.max_connections(cfg.db_max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(move |o| {
                o.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .busy_timeout(statement_timeout)
                    .foreign_keys(true)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            })
            .map_sqlx_postgres_opts(move |o| {
                o.options([("statement_timeout", format!("{}ms", statement_timeout.as_millis()))])
            });
        let mut conn = sea_orm::Database::connect(opts).await?;
        let queries = Arc::new(AtomicU64::new(0));
        let counter = queries.clone();
        conn.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let sqlite_writer = (conn.get_database_backend() == DbBackend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Self { conn, sqlite_writer, queries })
    }

    /// Applies pending migrations (idempotent).
    pub async fn migrate(&self) -> Result<(), sea_orm::DbErr> {
        Migrator::up(&self.conn, None).await
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Every SQL statement sent through this handle so far (`annex_db_queries_total`).
    pub fn statements(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Open connections in the pool (`annex_db_pool_connections`).
    pub fn pool_connections(&self) -> u32 {
        match self.backend() {
            DbBackend::Postgres => self.conn.get_postgres_connection_pool().size(),
            DbBackend::Sqlite => self.conn.get_sqlite_connection_pool().size(),
            _ => 0,
        }
    }

    /// `SELECT 1` within `timeout` (readiness).
    pub async fn ping(&self, timeout: Duration) -> bool {
        matches!(tokio::time::timeout(timeout, self.conn.ping()).await, Ok(Ok(())))
    }

    pub async fn close(&self) {
        if let Err(e) = self.conn.close_by_ref().await {
            tracing::warn!(error = %e, "closing the database pool");
        }
    }
}
