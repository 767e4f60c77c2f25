//! Load benchmark: the real service in-process, a seeded dataset, concurrent clients over
//! HTTP. Reports latency percentiles, throughput, SQL statements per request and the
//! process's peak resident memory.
//!
//! `cargo bench --bench load` (SQLite). Environment:
//! `ANNEX_BENCH_ORGS` (default 50), `ANNEX_BENCH_SECONDS` per scenario (default 5),
//! `ANNEX_BENCH_CLIENTS` (default 8), `ANNEX_BENCH_POSTGRES_URL` (an empty database to use
//! instead of SQLite).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use annex::config::Config;
use serde_json::{Value, json};

const SECRET: &str = "bench-secret-bench-secret-bench-secret-00";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn token(sub: &str, admin: bool) -> String {
    let mut claims = json!({ "sub": sub, "aud": "annex", "exp": jsonwebtoken::get_current_timestamp() + 3600 });
    if admin {
        claims["roles"] = json!(["platform_admin"]);
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("token")
}

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let resp = self
            .http
            .post(&self.url)
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request");
        let body: Value = resp.json().await.expect("json");
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.to_string()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

async fn metric(client: &Client, base: &str, name: &str) -> u64 {
    let text = client.http.get(format!("{base}/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

type Scenario = (&'static str, String, Box<dyn Fn(usize) -> Value + Send + Sync>);

#[tokio::main]
async fn main() {
    annex::init_crypto();
    let orgs = env_num("ANNEX_BENCH_ORGS", 50) as usize;
    let seconds = env_num("ANNEX_BENCH_SECONDS", 5);
    let clients = env_num("ANNEX_BENCH_CLIENTS", 8) as usize;
    let (database_url, backend) = match std::env::var("ANNEX_BENCH_POSTGRES_URL").ok().filter(|v| !v.is_empty()) {
        Some(url) => (url, "postgres"),
        None => {
            let dir = std::env::temp_dir().join(format!("annex-bench-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).expect("dir");
            (format!("sqlite://{}/annex.db?mode=rwc", dir.display()), "sqlite")
        }
    };
    let mut env: HashMap<&str, String> = HashMap::new();
    env.insert("DATABASE_URL", database_url);
    env.insert("ANNEX_LISTEN", "127.0.0.1:0".into());
    env.insert("ANNEX_JWT_SECRET", SECRET.into());
    env.insert("ANNEX_RATE_LIMIT_PER_MINUTE", "0".into());
    let cfg = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
    let running = annex::app::spawn(cfg).await.expect("start");
    let base = format!("http://{}", running.addr);
    let client = Client { http: reqwest::Client::new(), url: format!("{base}/graphql") };
    let admin = token("bench-admin", true);
    let consultant = token("consultant", false);

    // Seed: `orgs` organizations with the consultant as MANAGER, a few SoA decisions, 20
    // risks and 5 nonconformities (each with an overdue action) each.
    let seed_started = Instant::now();
    let mut org_ids = Vec::with_capacity(orgs);
    let mut control_ids = Vec::with_capacity(orgs);
    for i in 0..orgs {
        let data = client
            .gql(
                &admin,
                "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id } } }",
                json!({ "i": { "name": format!("Client {i:03}"), "slug": format!("client-{i:03}"), "initialOwner": "owner" } }),
            )
            .await;
        let id = data["createOrganization"]["organization"]["id"].as_str().expect("id").to_string();
        client
            .gql(
                &admin,
                "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }",
                json!({ "i": { "organizationId": id, "subject": "consultant", "role": "MANAGER" } }),
            )
            .await;
        let page = client
            .gql(
                &consultant,
                "query($o: ID!) { organization(id: $o) { controls(first: 20) { nodes { id } } } }",
                json!({ "o": id }),
            )
            .await;
        let ids: Vec<String> = page["organization"]["controls"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["id"].as_str().expect("id").to_string())
            .collect();
        for (k, cid) in ids.iter().enumerate().take(10) {
            let status = ["IMPLEMENTED", "PARTIAL", "PLANNED"][k % 3];
            client
                .gql(
                    &consultant,
                    "mutation($i: UpdateControlInput!) { updateControl(input: $i) { control { id } } }",
                    json!({ "i": { "id": cid, "status": status } }),
                )
                .await;
        }
        // A small register and improvement backlog per organization.
        let categories = ["CONFIDENTIALITY", "BIAS_FAIRNESS", "MODEL_INTEGRITY", "AVAILABILITY", "TRANSPARENCY"];
        for k in 0..20 {
            client
                .gql(
                    &consultant,
                    "mutation($i: CreateRiskInput!) { createRisk(input: $i) { risk { id } } }",
                    json!({ "i": { "organizationId": id, "title": format!("Risk {k}"), "category": categories[k % 5], "likelihood": 1 + k % 5, "impact": 1 + (k * 3) % 5 } }),
                )
                .await;
        }
        for k in 0..5 {
            let ncr = client
                .gql(
                    &consultant,
                    "mutation($i: CreateNonconformityInput!) { createNonconformity(input: $i) { nonconformity { id } } }",
                    json!({ "i": { "organizationId": id, "title": format!("NCR {k}"), "source": "INCIDENT", "severity": "MINOR" } }),
                )
                .await;
            client
                .gql(
                    &consultant,
                    "mutation($i: AddCorrectiveActionInput!) { addCorrectiveAction(input: $i) { correctiveAction { id } } }",
                    json!({ "i": { "nonconformityId": ncr["createNonconformity"]["nonconformity"]["id"], "title": "fix", "dueDate": "2026-01-31" } }),
                )
                .await;
        }
        org_ids.push(id);
        control_ids.push(ids);
    }
    println!("backend {backend}: seeded {orgs} organizations in {:.1} s", seed_started.elapsed().as_secs_f64());

    let dashboard = "query($o: ID!) { organization(id: $o) { dashboard { riskHeatMap { count } risksByLevel { count } appetiteBreaches soaCoverage { standard percentImplemented groups { groupRef implemented } } openNonconformities nonconformityAging { count } overdueCorrectiveActions readiness { standard percent } } } }".to_string();
    let portfolio = "{ organizations(first: 50) { nodes { name dashboard { riskHeatMap { count } appetiteBreaches soaCoverage { standard percentImplemented } openNonconformities overdueCorrectiveActions readiness { standard percent } } } } portfolio { organizations totalOpenNonconformities totalAppetiteBreaches lowestReadiness { percent } } }".to_string();
    let risks_page = "query($o: ID!) { organization(id: $o) { risks(first: 20, orderBy: {field: SCORE, direction: DESC}) { totalCount nodes { title residualScore residualLevel exceedsAppetite controls { ref } } } } }".to_string();
    let controls_page = "query($o: ID!) { organization(id: $o) { controls(first: 50, filter: {standard: ISO42001}) { totalCount nodes { ref status coverageFromIso27001 { level percent } } } } }".to_string();
    let update = "mutation($i: UpdateControlInput!) { updateControl(input: $i) { control { version } } }".to_string();

    let org_list = org_ids.clone();
    let org_list2 = org_ids.clone();
    let org_list3 = org_ids.clone();
    let ctrl = control_ids.clone();
    let scenarios: Vec<Scenario> = vec![
        ("dashboard (one organization)", dashboard, Box::new(move |i| json!({ "o": org_list[i % org_list.len()] }))),
        ("portfolio (50 organizations + dashboards)", portfolio, Box::new(|_| json!({}))),
        (
            "SoA page (50 rows with ISMS coverage)",
            controls_page,
            Box::new(move |i| json!({ "o": org_list2[i % org_list2.len()] })),
        ),
        (
            "risk register page (20 by score)",
            risks_page,
            Box::new(move |i| json!({ "o": org_list3[i % org_list3.len()] })),
        ),
        (
            "updateControl (mutation + trail + event)",
            update,
            Box::new(move |i| {
                let ids = &ctrl[i % ctrl.len()];
                json!({ "i": { "id": ids[(i / ctrl.len()) % ids.len()], "owner": format!("owner-{i}") } })
            }),
        ),
    ];

    println!("{clients} concurrent clients, {seconds} s per scenario\n");
    println!("| scenario | requests | req/s | p50 ms | p95 ms | p99 ms | SQL statements / request |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, query, vars) in scenarios {
        let vars = std::sync::Arc::new(vars);
        let query = std::sync::Arc::new(query);
        let statements_before = metric(&client, &base, "annex_db_queries_total").await;
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (vars, query, counter) = (vars.clone(), query.clone(), counter.clone());
            let c = Client { http: client.http.clone(), url: client.url.clone() };
            let t = consultant.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                while Instant::now() < deadline {
                    let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let started = Instant::now();
                    c.gql(&t, &query, vars(i)).await;
                    lat.push(started.elapsed());
                }
                lat
            }));
        }
        let mut all: Vec<Duration> = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        all.sort();
        let statements = metric(&client, &base, "annex_db_queries_total").await - statements_before;
        let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
        println!(
            "| {name} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} |",
            all.len(),
            all.len() as f64 / seconds as f64,
            pct(0.50),
            pct(0.95),
            pct(0.99),
            statements as f64 / all.len() as f64
        );
    }
    println!("\npeak resident memory of the process (service + benchmark clients): {} MiB", peak_rss_kib() / 1024);
    running.stop().await;
}
