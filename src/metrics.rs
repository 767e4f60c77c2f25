//! Prometheus metrics, rendered by hand in the text exposition format.
//!
//! Counters live per replica (scrape every replica).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::db::Database;

const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    by_type: Mutex<BTreeMap<&'static str, Histogram>>,
}

impl Metrics {
    pub fn observe_graphql(&self, operation_type: &'static str, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Ok(mut m) = self.by_type.lock() {
            let h = m.entry(operation_type).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += secs;
            h.count += 1;
        }
    }

    pub fn render(&self, db: &Database) -> String {
        let snapshot = self.by_type.lock().map(|m| m.clone()).unwrap_or_default();
        let mut out = String::new();
        out.push_str("# HELP annex_graphql_requests_total GraphQL operations served, by operation type.\n");
        out.push_str("# TYPE annex_graphql_requests_total counter\n");
        for (ty, h) in &snapshot {
            let _ = writeln!(out, "annex_graphql_requests_total{{operation_type=\"{ty}\"}} {}", h.count);
        }
        out.push_str("# HELP annex_graphql_request_duration_seconds GraphQL operation latency, by operation type.\n");
        out.push_str("# TYPE annex_graphql_request_duration_seconds histogram\n");
        for (ty, h) in &snapshot {
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "annex_graphql_request_duration_seconds_bucket{{operation_type=\"{ty}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "annex_graphql_request_duration_seconds_bucket{{operation_type=\"{ty}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "annex_graphql_request_duration_seconds_sum{{operation_type=\"{ty}\"}} {}", h.sum);
            let _ =
                writeln!(out, "annex_graphql_request_duration_seconds_count{{operation_type=\"{ty}\"}} {}", h.count);
        }
        out.push_str("# HELP annex_db_queries_total SQL statements sent to the database.\n");
        out.push_str("# TYPE annex_db_queries_total counter\n");
        let _ = writeln!(out, "annex_db_queries_total {}", db.statements());
        out.push_str("# HELP annex_db_pool_connections Open connections in the database pool.\n");
        out.push_str("# TYPE annex_db_pool_connections gauge\n");
        let _ = writeln!(out, "annex_db_pool_connections {}", db.pool_connections());
        out
    }
}
