//! Annex: ISO/IEC 27001 and ISO/IEC 42001 run as one integrated management system, as a
//! multi-tenant GraphQL service.
//!
//! Where things live:
//!
//! | module | what |
//! | --- | --- |
//! | [`config`] | every environment variable, its default and validation |
//! | [`app`] | start-up: config → database → gate → schema → HTTP; graceful shutdown |
//! | [`http`] | router: `/graphql` (POST, GET, WS), `/healthz`, `/readyz`, `/metrics`, exports |
//! | [`error`] | `AppError` and its one mapping to `extensions.code` |
//! | [`auth`] | JWT verification → `Caller`; roles and the permission table |
//! | [`store::tenancy`] | the tenancy gate: the only way to tenant data, deny by default |
//! | [`domain`] | rules of the standards in plain Rust (no GraphQL, no SQL) |
//! | [`store`] | sea-orm queries, always through the gate; the audit trail |
//! | [`graphql`] | thin types and resolvers over domain + store |
//! | [`entity`] | sea-orm entities (never exposed directly) |
//! | [`export`] | the SoA as CSV |
//! | [`events`] | live change events (in-process or PostgreSQL LISTEN/NOTIFY) |
//! | [`ids`] | opaque global IDs |
//! | [`metrics`] | Prometheus text |
//! | [`rate_limit`] | the per-subject rate limit (governor), shared by every transport |
//! | [`scheduler`] | background work of every replica: the due-task sweep (`TASK_DUE`) |

pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod entity;
pub mod error;
pub mod events;
pub mod export;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod import;
pub mod metrics;
pub mod rate_limit;
pub mod scheduler;
pub mod store;
pub mod telemetry;

/// Selects the pure-Rust `ring` back end for rustls (JWKS over https). Idempotent.
pub fn init_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
