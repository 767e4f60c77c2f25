//! The connection pool, private to the gate: connecting, migrating (as the owner role),
//! granting the runtime role its rights, counting statements.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio::sync::Mutex;

use crate::config::Config;

/// The database handle. Only the tenancy gate reaches the connection inside it.
#[derive(Clone)]
pub struct Database {
    pub(super) conn: DatabaseConnection,
    /// SQLite has one writer at a time; serialising write transactions in the process
    /// avoids `SQLITE_BUSY` on lock upgrades. `None` on PostgreSQL (per-tenant advisory
    /// locks there).
    pub(super) sqlite_writer: Option<Arc<Mutex<()>>>,
    queries: Arc<AtomicU64>,
    /// `annex_db_query_duration_seconds`, once the service's metrics are attached.
    durations: Arc<OnceLock<metrics::Histogram>>,
}

async fn open(cfg: &Config, url: &str, max_connections: u32) -> Result<DatabaseConnection, sea_orm::DbErr> {
    if cfg.is_sqlite() {
        std::fs::create_dir_all(&cfg.data_dir)
            .map_err(|e| sea_orm::DbErr::Custom(format!("cannot create {}: {e}", cfg.data_dir.display())))?;
    }
    let mut opts = ConnectOptions::new(url.to_string());
    let statement_timeout = cfg.limits.statement_timeout;
    opts.max_connections(max_connections)
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
    sea_orm::Database::connect(opts).await
}

impl Database {
    /// Connects the service's pool with `DATABASE_URL` (the runtime role on PostgreSQL).
    pub async fn connect(cfg: &Config) -> Result<Self, sea_orm::DbErr> {
        let mut conn = open(cfg, &cfg.database_url, cfg.db_max_connections).await?;
        let queries = Arc::new(AtomicU64::new(0));
        let durations: Arc<OnceLock<metrics::Histogram>> = Arc::default();
        let (counter, histogram) = (queries.clone(), durations.clone());
        conn.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::Relaxed);
            if let Some(h) = histogram.get() {
                h.record(info.elapsed.as_secs_f64());
            }
        });
        let sqlite_writer = (conn.get_database_backend() == DbBackend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Self { conn, sqlite_writer, queries, durations })
    }

    /// Applies pending migrations as the owner role (`ANNEX_MIGRATION_DATABASE_URL`, which
    /// defaults to `DATABASE_URL`), then grants the runtime role (the user of
    /// `DATABASE_URL`, when it differs from the owner) what the service needs and no more.
    /// Idempotent.
    pub async fn migrate(cfg: &Config) -> Result<(), sea_orm::DbErr> {
        let owner = open(cfg, cfg.migration_database_url(), 1).await?;
        let result = async {
            Migrator::up(&owner, None).await?;
            if owner.get_database_backend() == DbBackend::Postgres
                && let Some(role) = cfg.runtime_role()
            {
                for sql in migration::runtime_grants_sql(&owner, &role).await? {
                    owner.execute_raw(Statement::from_string(DbBackend::Postgres, sql)).await?;
                }
            }
            Ok(())
        }
        .await;
        let _ = owner.close().await;
        result
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Every SQL statement sent through this handle so far (`annex_db_queries_total`).
    pub fn statements(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Records each statement's latency in `histogram` from now on (the first call wins).
    pub fn record_durations(&self, histogram: metrics::Histogram) {
        let _ = self.durations.set(histogram);
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

    /// PostgreSQL only: LISTENs on `channel` on a dedicated connection and hands every
    /// payload to `on_payload`, reconnecting after failures, until the pool closes. Returns
    /// at once on SQLite.
    pub async fn listen(&self, channel: &str, on_payload: impl Fn(&str)) {
        if self.backend() != DbBackend::Postgres {
            return;
        }
        let pool = self.conn.get_postgres_connection_pool();
        loop {
            if pool.is_closed() {
                return;
            }
            let mut listener = match sqlx::postgres::PgListener::connect_with(pool).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "event listener cannot connect; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(channel).await {
                tracing::warn!(error = %e, "LISTEN failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            loop {
                match listener.recv().await {
                    Ok(n) => on_payload(n.payload()),
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

    pub async fn close(&self) {
        if let Err(e) = self.conn.close_by_ref().await {
            tracing::warn!(error = %e, "closing the database pool");
        }
    }
}
