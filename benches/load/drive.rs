//! Concurrent clients over loopback, and the figures of one scenario: throughput, latency,
//! statements, CPU of the service, of PostgreSQL's backends and of the load generator,
//! and the service's memory.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{PgConnection, Row};
use tokio::sync::Mutex;

use crate::seed::{R, Rng};
use crate::server;

/// Makes one request: the token and the JSON body.
pub type MakeRequest = dyn Fn(&mut Rng) -> (Arc<str>, Vec<u8>) + Send + Sync;

pub struct Scenario {
    pub id: &'static str,
    pub title: String,
    pub make: Arc<MakeRequest>,
}

impl Scenario {
    /// `query` with the variables `vars` picks (a token of the same call).
    pub fn new(
        id: &'static str,
        title: impl Into<String>,
        query: &str,
        vars: impl Fn(&mut Rng) -> (Arc<str>, Value) + Send + Sync + 'static,
    ) -> Scenario {
        // `{"query":…,"variables":` once; each request appends its variables.
        let mut prefix = serde_json::to_vec(&json!({ "query": query })).unwrap_or_default();
        prefix.pop();
        prefix.extend_from_slice(b",\"variables\":");
        let make = move |rng: &mut Rng| {
            let (token, v) = vars(rng);
            let mut body = prefix.clone();
            let _ = serde_json::to_writer(&mut body, &v);
            body.push(b'}');
            (token, body)
        };
        Scenario { id, title: title.into(), make: Arc::new(make) }
    }
}

/// What is measured around the service.
pub struct Probe {
    pub http: reqwest::Client,
    pub base: String,
    pub server_pid: String,
    /// The owner's connection to the benchmark database (PostgreSQL only), to list the
    /// service's backends.
    pub pg: Option<Mutex<PgConnection>>,
    pub ticks_per_sec: f64,
}

struct Snapshot {
    at: Instant,
    statements: u64,
    server: u64,
    backends: HashMap<i32, u64>,
    client: u64,
    machine_busy: u64,
}

impl Probe {
    pub async fn statements(&self) -> u64 {
        let Ok(r) = self.http.get(format!("{}/metrics", self.base)).send().await else { return 0 };
        let text = r.text().await.unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("annex_db_queries_total "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    async fn backend_pids(&self) -> Vec<i32> {
        let Some(pg) = &self.pg else { return Vec::new() };
        let mut c = pg.lock().await;
        let sql = "SELECT pid FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'";
        match sqlx::query(sql).fetch_all(&mut *c).await {
            Ok(rows) => rows.iter().filter_map(|r| r.try_get::<i32, _>(0).ok()).collect(),
            Err(_) => Vec::new(),
        }
    }

    async fn snapshot(&self) -> Snapshot {
        let pids = self.backend_pids().await;
        let statements = self.statements().await;
        Snapshot {
            at: Instant::now(),
            statements,
            server: server::cpu_ticks(&self.server_pid).unwrap_or(0),
            backends: server::backend_ticks(&pids),
            client: server::cpu_ticks("self").unwrap_or(0),
            machine_busy: server::machine_ticks().0,
        }
    }

    pub fn rss_kib(&self) -> u64 {
        server::status_kib(&self.server_pid, "VmRSS:")
    }

    pub fn hwm_kib(&self) -> u64 {
        server::status_kib(&self.server_pid, "VmHWM:")
    }

    /// One request outside any measurement (setup).
    pub async fn query(&self, token: &str, query: &str, variables: Value) -> R<Value> {
        let body: Value = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?
            .json()
            .await?;
        if let Some(e) = body.get("errors") {
            return Err(format!("{e}").into());
        }
        Ok(body["data"].clone())
    }
}

/// The figures of one scenario.
#[derive(Debug, Clone)]
pub struct Figures {
    pub id: &'static str,
    pub title: String,
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub statements_per_request: f64,
    pub server_cpu_ms: f64,
    pub postgres_cpu_ms: Option<f64>,
    pub client_cpu_ms: f64,
    /// Cores busy with processes other than the service, its backends and the clients.
    pub other_cores: f64,
    pub server_cores: f64,
    pub postgres_cores: Option<f64>,
    pub peak_rss_kib: u64,
}

impl Figures {
    pub fn to_json(&self) -> Value {
        let latency = if self.requests == 0 {
            Value::Null
        } else {
            json!({ "p50": self.p50_ms, "p95": self.p95_ms, "p99": self.p99_ms, "max": self.max_ms })
        };
        json!({
            "id": self.id,
            "title": self.title,
            "requests": self.requests,
            "errors": self.errors,
            "first_error": self.first_error,
            "seconds": self.seconds,
            "requests_per_second": self.rps,
            "latency_ms": latency,
            "sql_statements_per_request": self.statements_per_request,
            "server_cpu_ms_per_request": self.server_cpu_ms,
            "postgres_cpu_ms_per_request": self.postgres_cpu_ms,
            "client_cpu_ms_per_request": self.client_cpu_ms,
            "server_cores": self.server_cores,
            "postgres_cores": self.postgres_cores,
            "other_cores": self.other_cores,
            "server_peak_rss_kib": self.peak_rss_kib,
        })
    }
}

struct ClientResult {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Runs `s` with `clients` concurrent clients: `warmup` unmeasured, then `seconds` measured.
pub async fn run(probe: &Probe, s: &Scenario, clients: usize, warmup: Duration, seconds: Duration) -> Figures {
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let url: Arc<str> = format!("{}/graphql", probe.base).into();
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let (stop, measuring, url, make) = (stop.clone(), measuring.clone(), url.clone(), s.make.clone());
        let http = probe.http.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(0xB0_0000 + c as u64);
            let mut out = ClientResult { latencies_us: Vec::new(), errors: 0, first_error: None };
            while !stop.load(Ordering::Relaxed) {
                let (token, body) = make(&mut rng);
                let started = Instant::now();
                let result = match http
                    .post(&*url)
                    .bearer_auth(&*token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                {
                    Ok(r) => {
                        let status = r.status();
                        match r.bytes().await {
                            Ok(b) if status.is_success() && !contains(&b, b"\"errors\"") => Ok(()),
                            Ok(b) => Err(format!("{status}: {}", String::from_utf8_lossy(&b[..b.len().min(600)]))),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    Err(e) => Err(e.to_string()),
                };
                if measuring.load(Ordering::Relaxed) {
                    match result {
                        Ok(()) => out.latencies_us.push(started.elapsed().as_micros().min(u32::MAX as u128) as u32),
                        Err(e) => {
                            out.errors += 1;
                            out.first_error.get_or_insert(e);
                        }
                    }
                }
            }
            out
        }));
    }

    tokio::time::sleep(warmup).await;
    let before = probe.snapshot().await;
    measuring.store(true, Ordering::Relaxed);
    // The service's resident memory, sampled while measuring.
    let sampler = {
        let (pid, measuring) = (probe.server_pid.clone(), measuring.clone());
        tokio::spawn(async move {
            let mut peak = 0;
            while measuring.load(Ordering::Relaxed) {
                peak = peak.max(server::status_kib(&pid, "VmRSS:"));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            peak
        })
    };
    tokio::time::sleep(seconds).await;
    measuring.store(false, Ordering::Relaxed);
    let after = probe.snapshot().await;
    stop.store(true, Ordering::Relaxed);

    let mut lat: Vec<u32> = Vec::new();
    let (mut errors, mut first_error) = (0, None);
    for t in tasks {
        if let Ok(r) = t.await {
            lat.extend(r.latencies_us);
            errors += r.errors;
            if first_error.is_none() {
                first_error = r.first_error;
            }
        }
    }
    let peak_rss_kib = sampler.await.unwrap_or(0);
    lat.sort_unstable();
    let secs = after.at.duration_since(before.at).as_secs_f64();
    let ok = lat.len() as u64;
    let all = (ok + errors).max(1) as f64;
    let pct = |p: f64| {
        if lat.is_empty() { 0.0 } else { lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)] as f64 / 1000.0 }
    };
    let tick_ms = 1000.0 / probe.ticks_per_sec;
    let server = after.server.saturating_sub(before.server);
    let pg = server::backend_delta(&before.backends, &after.backends);
    let client = after.client.saturating_sub(before.client);
    let busy = after.machine_busy.saturating_sub(before.machine_busy);
    let other = busy.saturating_sub(server + pg + client);
    let cores = |ticks: u64| ticks as f64 / probe.ticks_per_sec / secs.max(1e-9);
    let has_pg = probe.pg.is_some();
    Figures {
        id: s.id,
        title: s.title.clone(),
        requests: ok,
        errors,
        first_error,
        seconds: secs,
        rps: ok as f64 / secs.max(1e-9),
        p50_ms: pct(0.50),
        p95_ms: pct(0.95),
        p99_ms: pct(0.99),
        max_ms: lat.last().map_or(0.0, |v| *v as f64 / 1000.0),
        statements_per_request: after.statements.saturating_sub(before.statements) as f64 / all,
        server_cpu_ms: server as f64 * tick_ms / all,
        postgres_cpu_ms: has_pg.then(|| pg as f64 * tick_ms / all),
        client_cpu_ms: client as f64 * tick_ms / all,
        other_cores: cores(other),
        server_cores: cores(server),
        postgres_cores: has_pg.then(|| cores(pg)),
        peak_rss_kib,
    }
}
