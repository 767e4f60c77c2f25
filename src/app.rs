//! Assembling and running the service: configuration → database → gate → schema → HTTP.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::TokenVerifier;
use crate::auth::token::mint_hs256;
use crate::config::{Config, ConfigError, KeySource, Mode, Secret};
use crate::db::Database;
use crate::domain::trail::HeadKey;
use crate::events::EventBus;
use crate::graphql::{self, Services};
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::store::Gate;
use crate::store::catalog::Catalog;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database: {0}")]
    Database(String),
    #[error("listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
}

/// Reads or creates the development HS256 secret kept beside the database.
pub fn dev_secret(data_dir: &Path) -> Result<Secret, ConfigError> {
    let path = data_dir.join("jwt-secret");
    let fail = |m: String| ConfigError { var: "ANNEX_JWT_SECRET", message: m };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let s = existing.trim().to_string();
        if s.len() >= 32 {
            return Ok(Secret::new(s.into_bytes()));
        }
    }
    std::fs::create_dir_all(data_dir).map_err(|e| fail(format!("cannot create {}: {e}", data_dir.display())))?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let s = hex::encode(bytes);
    write_private(&path, &s).map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
    Ok(Secret::new(s.into_bytes()))
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

/// The HS256 secret tokens can be minted with, if the configuration has one.
pub fn signing_secret(cfg: &Config) -> Result<Option<Secret>, ConfigError> {
    match &cfg.key_source {
        KeySource::Secret(s) => Ok(Some(s.clone())),
        KeySource::GeneratedDevSecret => Ok(Some(dev_secret(&cfg.data_dir)?)),
        _ => Ok(None),
    }
}

/// The key that signs audit-trail heads: `ANNEX_TRAIL_KEY`; in development without it, one
/// derived from the HS256 secret (configured, or generated beside the database); in
/// production without it, none: heads are served unsigned, with a warning here.
pub fn trail_key(cfg: &Config) -> Result<Option<HeadKey>, ConfigError> {
    if let Some(k) = &cfg.trail_key {
        let key =
            HeadKey::new(k.expose()).map_err(|e| ConfigError { var: "ANNEX_TRAIL_KEY", message: e.to_string() })?;
        return Ok(Some(key));
    }
    if cfg.mode == Mode::Production {
        tracing::warn!(
            "ANNEX_TRAIL_KEY is not set: auditTrailHead is served unsigned and kept heads cannot be verified"
        );
        return Ok(None);
    }
    let secret = match signing_secret(cfg)? {
        Some(s) => s,
        None => dev_secret(&cfg.data_dir)?,
    };
    Ok(Some(HeadKey::derived_from(secret.expose())))
}

/// A running service (also what tests start).
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, then closes the pool.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Connects, migrates, and builds the application state.
pub async fn build_state(cfg: Config) -> Result<AppState, StartError> {
    crate::init_crypto();
    Database::migrate(&cfg).await.map_err(|e| StartError::Database(format!("migrations failed: {e}")))?;
    let db = Database::connect(&cfg).await.map_err(|e| StartError::Database(e.to_string()))?;
    let dev = match cfg.key_source {
        KeySource::GeneratedDevSecret => Some(dev_secret(&cfg.data_dir)?),
        _ => None,
    };
    let verifier =
        TokenVerifier::new(&cfg.key_source, dev.as_ref(), cfg.jwt_issuer.clone(), cfg.jwt_audience.clone()).await?;
    verifier.spawn_refresh();
    let metrics = Arc::new(Metrics::new());
    db.record_durations(metrics.db_query_duration.clone());
    let events = EventBus::start(&db).counting(metrics.events_published.clone());
    let gate = Gate::new(db.clone(), events).with_statement_limit(cfg.limits.max_statements);
    let catalog =
        Catalog::load(&gate).await.map_err(|e| StartError::Database(format!("loading catalogs: {}", e.message())))?;
    let catalog = Arc::new(catalog);
    let trail_key = trail_key(&cfg)?;
    let limiter = crate::rate_limit::SubjectLimiter::new(cfg.rate_limit_per_minute).map(Arc::new);
    let services = Services { gate: gate.clone(), catalog: catalog.clone(), trail_key, limiter };
    let schema = graphql::build(Some(services), cfg.limits.clone(), metrics.clone(), cfg.mode == Mode::Production);
    Ok(AppState { schema, verifier: Arc::new(verifier), catalog, db, gate, metrics, config: Arc::new(cfg) })
}

/// Binds and serves in the background until [`Running::stop`].
pub async fn spawn(cfg: Config) -> Result<Running, StartError> {
    let listen = cfg.listen;
    let state = build_state(cfg).await?;
    let listener = TcpListener::bind(listen).await.map_err(|e| StartError::Listen(listen, e))?;
    let addr = listener.local_addr().map_err(|e| StartError::Listen(listen, e))?;
    let (tx, mut rx) = watch::channel(false);
    crate::scheduler::spawn(state.gate.clone(), state.config.task_due_interval, tx.subscribe());
    let router = http::router(state.clone());
    let db = state.db.clone();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "server error");
        }
        db.close().await;
    });
    Ok(Running { addr, state, shutdown: tx, task })
}

/// `annex serve`: runs until SIGTERM or SIGINT, then drains and closes the pool.
pub async fn serve(cfg: Config) -> Result<(), StartError> {
    let mode = cfg.mode;
    let dev_token = match (&cfg.key_source, mode) {
        // Only ever the generated development secret: a configured one is real, and a
        // ready admin token signed with it must never reach a log.
        (KeySource::GeneratedDevSecret, Mode::Development) => signing_secret(&cfg)?.and_then(|s| {
            mint_hs256(
                s.expose(),
                "dev-admin",
                true,
                Duration::from_secs(24 * 3600),
                cfg.jwt_issuer.as_deref(),
                cfg.jwt_audience.as_deref(),
            )
            .ok()
        }),
        _ => None,
    };
    let running = spawn(cfg).await?;
    tracing::info!(addr = %running.addr, "annex listening");
    if mode == Mode::Development {
        tracing::info!("GraphiQL: http://{}/graphql", running.addr);
        if let Some(t) = dev_token {
            tracing::info!(
                "platform-admin token (24 h, sub dev-admin); in GraphiQL's headers pane: {{\"Authorization\": \"Bearer {t}\"}}"
            );
        }
    }
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    running.stop().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
