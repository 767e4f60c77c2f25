//! Load benchmark at scale: the real `annex` binary in its own process (production mode,
//! the runtime role under row-level security on PostgreSQL), a large dataset seeded with
//! bulk SQL, and concurrent clients over loopback from this process.
//!
//! `cargo bench --bench load -- --keep` (PostgreSQL), `… -- --sqlite --keep`. Options:
//! `--keep` reuse the seeded database when it holds this seed (else drop and reseed),
//! `--scenario a,b,f` run only these, `--seed-only`, `--as-owner` (PostgreSQL: the
//! service connects as the owner, which row-level security does not bind when it is a
//! superuser: the wall's cost is the difference). Environment (defaults in brackets):
//! `ANNEX_BENCH_SECONDS` [10] and `ANNEX_BENCH_WARMUP_SECONDS` [2] per scenario,
//! `ANNEX_BENCH_CLIENTS` [32], `ANNEX_BENCH_ORGS` [200], `ANNEX_BENCH_RISKS` [1000],
//! `ANNEX_BENCH_LINKS` [3], `ANNEX_BENCH_NCRS` [100], `ANNEX_BENCH_BIG_RISKS` [100000],
//! `ANNEX_BENCH_PORTFOLIO` [50], `ANNEX_BENCH_DEEP_PAGE` [1000],
//! `ANNEX_BENCH_POSTGRES_URL` [postgres://postgres@127.0.0.1:5432/annex_bench] (the owner
//! and the database to create), `ANNEX_BENCH_SQLITE_PATH` [<target>/annex-bench/annex_bench.db],
//! `ANNEX_BENCH_JSON` (summary path), `ANNEX_BENCH_SERVER_BIN`.

mod drive;
mod seed;
mod server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sqlx::Connection;
use uuid::Uuid;

use drive::{Figures, Probe, Scenario};
use seed::{CONSULTANT, Fixture, R, Rng, Shape, Target};

const SECRET: &str = "bench-secret-bench-secret-bench-secret-00";
const PAGE: usize = 50;

const RISK_PAGE: &str = "query RiskPage($o: ID!, $after: String) { organization(id: $o) { risks(first: 50, after: $after, orderBy: {field: SCORE, direction: DESC}) { totalCount nodes { id title residualScore controls { ref title } } } } }";
const HEAT_MAP: &str =
    "query HeatMap($o: ID!) { organization(id: $o) { dashboard { riskHeatMap { likelihood impact count } } } }";
const DASHBOARD: &str = "query Dashboard($o: ID!) { organization(id: $o) { dashboard { soaCoverage { standard applicable implemented partial planned notStarted percentImplemented groups { groupRef group applicable implemented percentImplemented } } openNonconformities nonconformitiesByStatus { status count } nonconformityAging { bucket label count } overdueCorrectiveActions riskHeatMap { likelihood impact count level } risksByDomain { domain count } risksByLevel { level count } appetiteBreaches aiSystemsWithoutImpactAssessment upcomingAudits { id title } readiness { standard percent clausesTotal clausesAddressed controlsApplicable controlsImplemented } } } }";
const SOA_PAGE: &str = "query SoaPage($o: ID!) { organization(id: $o) { controls(first: 50, filter: {standard: ISO42001}) { totalCount nodes { ref status coverageFromIso27001 { level percent } } } } }";
const UPDATE_RISK: &str =
    "mutation UpdateRisk($i: UpdateRiskInput!) { updateRisk(input: $i) { risk { id owner version } } }";

fn portfolio_query(n: usize) -> String {
    format!(
        "query Portfolio {{ organizations(first: {n}) {{ nodes {{ id name dashboard {{ riskHeatMap {{ count }} appetiteBreaches soaCoverage {{ standard percentImplemented }} openNonconformities overdueCorrectiveActions readiness {{ standard percent }} }} }} }} portfolio {{ organizations totalOpenNonconformities totalAppetiteBreaches lowestReadiness {{ standard percent }} }} }}"
    )
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

struct Opts {
    sqlite: bool,
    keep: bool,
    seed_only: bool,
    as_owner: bool,
    scenarios: Option<Vec<String>>,
}

fn opts() -> Opts {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut o = Opts {
        sqlite: std::env::var("ANNEX_BENCH_BACKEND").is_ok_and(|v| v.eq_ignore_ascii_case("sqlite")),
        keep: env_flag("ANNEX_BENCH_KEEP"),
        seed_only: false,
        as_owner: false,
        scenarios: std::env::var("ANNEX_BENCH_SCENARIOS").ok().filter(|v| !v.trim().is_empty()).map(|v| split(&v)),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--sqlite" => o.sqlite = true,
            "--postgres" => o.sqlite = false,
            "--keep" => o.keep = true,
            "--seed-only" => o.seed_only = true,
            "--as-owner" => o.as_owner = true,
            "--scenario" | "--scenarios" => o.scenarios = it.next().map(|v| split(v)),
            // `cargo bench` passes `--bench`.
            "--bench" => {}
            other => eprintln!("ignoring unknown argument {other:?}"),
        }
    }
    o
}

fn split(v: &str) -> Vec<String> {
    v.split(',').map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()).collect()
}

/// `<target>/annex-bench`: the target directory this benchmark was built in.
fn work_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_exe().ok().and_then(|exe| exe.ancestors().nth(3).map(|p| p.to_path_buf())));
    target.unwrap_or_else(|| PathBuf::from("target")).join("annex-bench")
}

fn gid(prefix: &str, id: Uuid) -> String {
    format!("{prefix}_{}", id.simple())
}

fn mint(subject: &str) -> R<Arc<str>> {
    annex::auth::token::mint_hs256(
        SECRET.as_bytes(),
        subject,
        false,
        Duration::from_secs(12 * 3600),
        None,
        Some("annex"),
    )
    .map(Arc::from)
    .map_err(|e| format!("minting a token: {e:?}").into())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("benchmark failed: {e}");
        std::process::exit(1);
    }
}

async fn run() -> R<()> {
    annex::init_crypto();
    let o = opts();
    let shape = Shape {
        orgs: env_num("ANNEX_BENCH_ORGS", 200).max(1),
        risks: env_num("ANNEX_BENCH_RISKS", 1000).max(1),
        links: env_num("ANNEX_BENCH_LINKS", 3),
        ncrs: env_num("ANNEX_BENCH_NCRS", 100),
        big_risks: env_num("ANNEX_BENCH_BIG_RISKS", 100_000),
        portfolio: env_num("ANNEX_BENCH_PORTFOLIO", 50).clamp(1, 100),
    };
    let seconds = env_num("ANNEX_BENCH_SECONDS", 10).max(1);
    let warmup = env_num("ANNEX_BENCH_WARMUP_SECONDS", 2);
    let clients = env_num("ANNEX_BENCH_CLIENTS", 32).max(1);
    let deep_page = env_num("ANNEX_BENCH_DEEP_PAGE", 1000).max(2);
    let dir = work_dir();
    std::fs::create_dir_all(&dir)?;

    let target = if o.sqlite {
        let path = std::env::var_os("ANNEX_BENCH_SQLITE_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.join("annex_bench.db"));
        Target::Sqlite { path }
    } else {
        let owner_url = std::env::var("ANNEX_BENCH_POSTGRES_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/annex_bench".into());
        let database = seed::database_of(&owner_url);
        Target::Postgres { owner_url, database }
    };
    let backend = if o.sqlite { "sqlite" } else { "postgres" };
    let where_ = match &target {
        Target::Postgres { database, .. } => format!("PostgreSQL database {database}"),
        Target::Sqlite { path } => format!("SQLite file {}", path.display()),
    };
    println!("annex binary: {}", server::binary().display());

    let (database_url, migration_url) = target.service_urls(o.as_owner);
    let env = server::service_env(&database_url, migration_url.as_deref(), SECRET);
    let mut seed_seconds = None;
    if o.keep && seed::holds_seed(&target, &shape).await? {
        println!("reusing the seed in {where_}");
        server::migrate(&env, &dir.join("migrate.log"))?;
    } else {
        println!("seeding {where_} ({shape:?})");
        seed::recreate(&target).await?;
        server::migrate(&env, &dir.join("migrate.log"))?;
        seed_seconds = Some(seed::seed(&target, &shape).await?);
    }
    if o.seed_only {
        return Ok(());
    }
    let deep_offset = if shape.big_risks > PAGE * (deep_page - 1) { PAGE * (deep_page - 1) } else { 0 };
    let fx = seed::fixture(&target, &shape, deep_offset).await?;

    let log = dir.join(format!("server-{backend}.log"));
    let mut srv = server::Server::start(&env, &log).await?;
    let pg = match &target {
        Target::Postgres { owner_url, .. } => {
            Some(tokio::sync::Mutex::new(sqlx::PgConnection::connect(owner_url).await?))
        }
        Target::Sqlite { .. } => None,
    };
    let probe = Probe {
        http: reqwest::Client::builder().pool_max_idle_per_host(clients * 2).build()?,
        base: srv.base.clone(),
        server_pid: srv.pid().to_string(),
        pg,
        ticks_per_sec: server::clock_ticks(),
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss_kib = probe.rss_kib();

    let scenarios = scenarios(&probe, &fx, &shape, deep_page, deep_offset).await?;
    let selected: Vec<&Scenario> = scenarios
        .iter()
        .filter(|s| {
            o.scenarios
                .as_ref()
                .is_none_or(|f| f.iter().any(|x| x == s.id || (x.len() == 1 && s.id.starts_with(x.as_str()))))
        })
        .collect();

    println!(
        "\n{backend}, {clients} clients, {warmup} s warm-up + {seconds} s per scenario, server pid {} ({}), idle RSS {:.1} MiB\n",
        probe.server_pid,
        if o.as_owner { "as the owner" } else { "production mode, runtime role" },
        idle_rss_kib as f64 / 1024.0
    );
    let mut results: Vec<Figures> = Vec::new();
    for s in selected {
        println!("running ({}) {} …", s.id, s.title);
        let f = drive::run(&probe, s, clients, Duration::from_secs(warmup as u64), Duration::from_secs(seconds as u64))
            .await;
        if let Some(e) = &f.first_error {
            println!("  {} errors; first: {e}", f.errors);
        }
        results.push(f);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_after_kib = probe.rss_kib();
    let peak_kib = probe.hwm_kib();
    srv.stop();

    print_table(&results, backend);
    println!(
        "\nservice RSS: idle {:.1} MiB at start, {:.1} MiB idle after the load, peak {:.1} MiB (VmHWM)",
        idle_rss_kib as f64 / 1024.0,
        idle_after_kib as f64 / 1024.0,
        peak_kib as f64 / 1024.0
    );

    let summary = json!({
        "backend": backend,
        "as_owner": o.as_owner,
        "mode": "production",
        "clients": clients,
        "seconds": seconds,
        "warmup_seconds": warmup,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "shape": { "organizations": shape.orgs, "risks_per_organization": shape.risks, "links_per_risk": shape.links,
                   "nonconformities_per_organization": shape.ncrs, "big_organization_risks": shape.big_risks,
                   "portfolio": shape.portfolio, "deep_page": deep_page },
        "seed_seconds": seed_seconds,
        "server_binary": server::binary().display().to_string(),
        "git_commit": git_commit(),
        "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        "server_rss_kib": { "idle_start": idle_rss_kib, "idle_after": idle_after_kib, "peak": peak_kib },
        "scenarios": results.iter().map(Figures::to_json).collect::<Vec<_>>(),
    });
    let path = std::env::var_os("ANNEX_BENCH_JSON").map(PathBuf::from).unwrap_or_else(|| {
        dir.join(format!("load-{backend}{}-{}.json", if o.as_owner { "-owner" } else { "" }, summary["unix_time"]))
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&summary)?)?;
    println!("JSON summary: {}", path.display());
    Ok(())
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "--short", "HEAD"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn print_table(results: &[Figures], backend: &str) {
    println!(
        "\n| scenario | req/s | p50 ms | p95 ms | p99 ms | SQL / req | service CPU ms / req | {backend} CPU ms / req | client CPU ms / req | cores: service / db / others | service peak RSS MiB | errors |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |");
    for f in results {
        let pg = f.postgres_cpu_ms.map_or("-".to_string(), |v| format!("{v:.2}"));
        let pg_cores = f.postgres_cores.map_or("-".to_string(), |v| format!("{v:.2}"));
        // Latencies are of successful requests only.
        let lat = if f.requests == 0 {
            "- | - | -".to_string()
        } else {
            format!("{:.1} | {:.1} | {:.1}", f.p50_ms, f.p95_ms, f.p99_ms)
        };
        println!(
            "| ({}) {} | {:.0} | {lat} | {:.1} | {:.2} | {pg} | {:.2} | {:.2} / {pg_cores} / {:.2} | {:.1} | {} |",
            f.id,
            f.title,
            f.rps,
            f.statements_per_request,
            f.server_cpu_ms,
            f.client_cpu_ms,
            f.server_cores,
            f.other_cores,
            f.peak_rss_kib as f64 / 1024.0,
            f.errors
        );
    }
}

/// Per organization, a token for each role (in `seed::role_names` order).
fn member_tokens(org: Option<usize>) -> R<Vec<Arc<str>>> {
    seed::role_names().iter().map(|r| mint(&seed::subject(org, r))).collect()
}

async fn scenarios(
    probe: &Probe,
    fx: &Fixture,
    shape: &Shape,
    deep_page: usize,
    deep_offset: usize,
) -> R<Vec<Scenario>> {
    let orgs: Arc<Vec<String>> = Arc::new(fx.orgs.iter().map(|o| gid("org", *o)).collect());
    let tokens: Arc<Vec<Vec<Arc<str>>>> =
        Arc::new((0..fx.orgs.len()).map(|i| member_tokens(Some(i))).collect::<R<Vec<_>>>()?);
    let big_tokens = Arc::new(member_tokens(None)?);
    let consultant = mint(CONSULTANT)?;
    let big = gid("org", fx.big);
    let n = orgs.len() as u64;

    // A random organization and a random member of it.
    let member_of = |orgs: Arc<Vec<String>>, tokens: Arc<Vec<Vec<Arc<str>>>>| {
        move |rng: &mut Rng| {
            let o = rng.below(n) as usize;
            let t = tokens[o][rng.below(6) as usize].clone();
            (t, json!({ "o": orgs[o] }))
        }
    };
    let mut out = vec![
        Scenario::new(
            "a",
            "risk page: first 50 by score, totalCount, controls { ref title }",
            RISK_PAGE,
            member_of(orgs.clone(), tokens.clone()),
        ),
        Scenario::new("b", "dashboard { riskHeatMap }", HEAT_MAP, member_of(orgs.clone(), tokens.clone())),
        Scenario::new("c", "full dashboard", DASHBOARD, member_of(orgs.clone(), tokens.clone())),
        Scenario::new(
            "d",
            format!("portfolio: {} organizations with dashboards (consultant)", shape.portfolio),
            &portfolio_query(shape.portfolio),
            move |_| (consultant.clone(), json!({})),
        ),
        Scenario::new(
            "e",
            "SoA page: 50 ISO 42001 rows with ISMS coverage",
            SOA_PAGE,
            member_of(orgs.clone(), tokens.clone()),
        ),
    ];
    if shape.big_risks > 0 {
        let (b, t) = (big.clone(), big_tokens.clone());
        out.push(Scenario::new(
            "f1",
            format!("risk page 1 of the {}-risk organization", shape.big_risks),
            RISK_PAGE,
            move |rng| (t[rng.below(6) as usize].clone(), json!({ "o": b })),
        ));
        if deep_offset > 0 {
            let cursor = deep_cursor(probe, fx, &big, &big_tokens[0], deep_page).await?;
            let (b, t) = (big.clone(), big_tokens.clone());
            out.push(Scenario::new(
                "f1000",
                format!("risk page {deep_page} of the {}-risk organization", shape.big_risks),
                RISK_PAGE,
                move |rng| (t[rng.below(6) as usize].clone(), json!({ "o": b, "after": cursor })),
            ));
        }
    }
    let risks: Arc<Vec<Vec<String>>> =
        Arc::new(fx.risks.iter().map(|l| l.iter().map(|r| gid("rsk", *r)).collect()).collect());
    let t = tokens.clone();
    out.push(Scenario::new("g", "updateRisk (owner; trail row, event)", UPDATE_RISK, move |rng| {
        let o = rng.below(n) as usize;
        let list = &risks[o];
        let risk = list.get(rng.below(list.len() as u64) as usize).cloned().unwrap_or_default();
        // OWNER, MANAGER or CONTRIBUTOR: the roles that may write risks.
        let token = t[o][rng.below(3) as usize].clone();
        (token, json!({ "i": { "id": risk, "owner": format!("owner-{}", rng.below(1000)) } }))
    }));
    Ok(out)
}

/// The `after` cursor of page `page` of the big organization's risks by score: page 1's
/// end cursor with the key and id of the row before that page (from the database), checked
/// against the row that must come next; else walked to, page by page.
async fn deep_cursor(probe: &Probe, fx: &Fixture, big: &str, token: &str, page: usize) -> R<String> {
    const WALK: &str = "query Walk($o: ID!, $after: String) { organization(id: $o) { risks(first: 50, after: $after, orderBy: {field: SCORE, direction: DESC}) { pageInfo { endCursor } nodes { id } } } }";
    let first = probe.query(token, WALK, json!({ "o": big })).await?;
    let end = first["organization"]["risks"]["pageInfo"]["endCursor"].as_str().unwrap_or_default().to_string();
    let built = (|| {
        let (score, id) = fx.deep_key?;
        let mut c: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&end).ok()?).ok()?;
        c.get("k")?.get("v")?;
        c["k"]["v"] = json!(score);
        c["id"] = json!(id.hyphenated().to_string());
        Some(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).ok()?))
    })();
    if let (Some(cursor), Some(next)) = (built, fx.deep_next) {
        let data = probe.query(token, WALK, json!({ "o": big, "after": cursor })).await?;
        if data["organization"]["risks"]["nodes"][0]["id"].as_str() == Some(gid("rsk", next).as_str()) {
            return Ok(cursor);
        }
        println!("the built cursor did not land on page {page}; walking there instead");
    }
    let mut cursor = end;
    for _ in 2..page {
        let data = probe.query(token, WALK, json!({ "o": big, "after": cursor })).await?;
        cursor = data["organization"]["risks"]["pageInfo"]["endCursor"]
            .as_str()
            .ok_or("ran out of pages walking to the deep page")?
            .to_string();
    }
    Ok(cursor)
}
