//! Prometheus metrics through the `metrics` facade and `metrics-exporter-prometheus`.
//!
//! Each running service owns its recorder (not the process-global one), so several
//! instances in one process (the integration tests) keep their own figures; the handles
//! below are registered on it once, through the facade's macros, and updated lock-free.
//! Counters live per replica: scrape every replica.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::db::Database;

/// Latency buckets in seconds, for GraphQL operations and SQL statements alike.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0];

/// The operation types a request can be counted under (bounded label values).
const OPERATION_TYPES: [&str; 4] = ["query", "mutation", "subscription", "invalid"];

pub struct Metrics {
    /// Shares the recorder's registry: the handles below stay valid through it.
    handle: PrometheusHandle,
    requests: HashMap<&'static str, (Counter, Histogram)>,
    db_queries: Counter,
    db_pool: Gauge,
    pub db_query_duration: Histogram,
    pub ws_connections: Gauge,
    pub events_published: Counter,
    pub rate_limited: Counter,
    /// The last statement count written to `db_queries` (the database handle keeps the
    /// running total; the counter is brought up to it at each scrape).
    db_queries_seen: Mutex<u64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        // The builder refuses only an empty bucket list.
        let builder = PrometheusBuilder::new().set_buckets(&BUCKETS).unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::describe_counter!("annex_graphql_requests_total", "GraphQL operations served, by operation type.");
            metrics::describe_histogram!(
                "annex_graphql_request_duration_seconds",
                Unit::Seconds,
                "GraphQL operation latency, by operation type."
            );
            metrics::describe_counter!("annex_db_queries_total", "SQL statements sent to the database.");
            metrics::describe_histogram!(
                "annex_db_query_duration_seconds",
                Unit::Seconds,
                "SQL statement latency as the driver saw it."
            );
            metrics::describe_gauge!("annex_db_pool_connections", "Open connections in the database pool.");
            metrics::describe_gauge!("annex_ws_connections", "Open GraphQL WebSocket connections.");
            metrics::describe_counter!(
                "annex_events_published_total",
                "Change events published to subscribers (after commit)."
            );
            metrics::describe_counter!(
                "annex_rate_limited_total",
                "Operations refused by the per-subject rate limit (HTTP and WebSocket)."
            );
            let requests = OPERATION_TYPES
                .into_iter()
                .map(|ty| {
                    let count = metrics::counter!("annex_graphql_requests_total", "operation_type" => ty);
                    let latency = metrics::histogram!("annex_graphql_request_duration_seconds", "operation_type" => ty);
                    (ty, (count, latency))
                })
                .collect();
            Self {
                requests,
                db_queries: metrics::counter!("annex_db_queries_total"),
                db_pool: metrics::gauge!("annex_db_pool_connections"),
                db_query_duration: metrics::histogram!("annex_db_query_duration_seconds"),
                ws_connections: metrics::gauge!("annex_ws_connections"),
                events_published: metrics::counter!("annex_events_published_total"),
                rate_limited: metrics::counter!("annex_rate_limited_total"),
                db_queries_seen: Mutex::new(0),
                handle: handle.clone(),
            }
        })
    }

    /// One GraphQL operation served (`operation_type`: query, mutation, subscription,
    /// anything else counts as invalid).
    pub fn observe_graphql(&self, operation_type: &str, elapsed: Duration) {
        let key = if OPERATION_TYPES.contains(&operation_type) { operation_type } else { "invalid" };
        if let Some((count, latency)) = self.requests.get(key) {
            count.increment(1);
            latency.record(elapsed.as_secs_f64());
        }
    }

    /// The text exposition format, with the database's running figures brought up to date.
    pub fn render(&self, db: &Database) -> String {
        let total = db.statements();
        if let Ok(mut seen) = self.db_queries_seen.lock()
            && total > *seen
        {
            self.db_queries.increment(total - *seen);
            *seen = total;
        }
        self.db_pool.set(f64::from(db.pool_connections()));
        self.handle.run_upkeep();
        self.handle.render()
    }
}

/// Decrements the WebSocket gauge when a connection ends, however it ends.
pub struct WsConnectionGuard(Arc<Metrics>);

impl WsConnectionGuard {
    pub fn open(metrics: Arc<Metrics>) -> Self {
        metrics.ws_connections.increment(1.0);
        Self(metrics)
    }
}

impl Drop for WsConnectionGuard {
    fn drop(&mut self) {
        self.0.ws_connections.decrement(1.0);
    }
}
