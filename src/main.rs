//! `annex`: start-up only. `annex serve` (default), `annex schema`, `annex migrate`,
//! `annex token --sub S [--platform-admin] [--ttl 1h]`, `annex permissions`.

use std::process::ExitCode;
use std::time::Duration;

use annex::config::{Config, Mode};
use annex::{app, auth, db, graphql, telemetry};

/// mimalloc: the profile under load showed a fifth of the service's CPU in glibc's
/// malloc/free (issue 11); per-thread heaps remove the contention.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: annex [serve | schema | migrate [--print-roles] | permissions | healthcheck | token --sub SUBJECT [--platform-admin] [--ttl 1h]]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("serve");
    match command {
        "schema" => {
            print!("{}", graphql::sdl());
            ExitCode::SUCCESS
        }
        "permissions" => {
            print!("{}", auth::permissions::markdown_table());
            ExitCode::SUCCESS
        }
        "healthcheck" => healthcheck(),
        "serve" | "migrate" | "token" => run(command, args.get(1..).unwrap_or_default()),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("unknown command {other:?}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(command: &str, rest: &[String]) -> ExitCode {
    let cfg = if command == "migrate" { Config::from_env_for_migrations() } else { Config::from_env() };
    let cfg = match cfg {
        Ok(c) => c,
        Err(e) => {
            eprintln!("annex: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if command == "token" {
        return token(&cfg, rest);
    }
    if command == "migrate" && rest.iter().any(|a| a == "--print-roles") {
        return print_roles(&cfg);
    }
    let _telemetry = telemetry::init(cfg.mode);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("annex: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            "migrate" => {
                db::Database::migrate(&cfg).await.map_err(|e| format!("migrations failed: {e}"))?;
                tracing::info!("migrations applied");
                Ok(())
            }
            _ => app::serve(cfg).await.map_err(|e| e.to_string()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("annex: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `annex healthcheck`: exit 0 when the service on `ANNEX_LISTEN` answers `/readyz` with
/// 200 within 3 s (the container health check: the runtime image has no shell or curl).
fn healthcheck() -> ExitCode {
    let listen = std::env::var("ANNEX_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let Ok(mut addr) = listen.parse::<std::net::SocketAddr>() else {
        eprintln!("ANNEX_LISTEN must be host:port, got {listen:?}");
        return ExitCode::from(2);
    };
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    annex::init_crypto();
    let answer = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .and_then(|c| c.get(format!("http://{addr}/readyz")).send());
    match answer {
        Ok(r) if r.status().is_success() => ExitCode::SUCCESS,
        Ok(r) => {
            eprintln!("not ready: {}", r.status());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("no answer: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `annex migrate --print-roles`: the SQL that creates the PostgreSQL runtime role.
fn print_roles(cfg: &Config) -> ExitCode {
    if cfg.is_sqlite() {
        eprintln!("--print-roles is for PostgreSQL (DATABASE_URL is SQLite, which has no roles)");
        return ExitCode::from(2);
    }
    let role = annex::config::postgres_user(&cfg.database_url).unwrap_or_else(|| "annex_app".to_string());
    let database = cfg.postgres_database().unwrap_or_else(|| "annex".to_string());
    print!("{}", migration::create_role_sql(&role, &database));
    ExitCode::SUCCESS
}

fn token(cfg: &Config, rest: &[String]) -> ExitCode {
    let mut sub = None;
    let mut admin = false;
    let mut ttl = Duration::from_secs(3600);
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--sub" => sub = it.next().cloned(),
            "--platform-admin" => admin = true,
            "--ttl" => match it.next().and_then(|v| auth::token::parse_ttl(v)) {
                Some(d) => ttl = d,
                None => {
                    eprintln!("--ttl takes a duration such as 30m, 1h or 7d");
                    return ExitCode::from(2);
                }
            },
            other => {
                eprintln!("unknown option {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(sub) = sub.filter(|s| !s.trim().is_empty()) else {
        eprintln!("--sub is required\n{USAGE}");
        return ExitCode::from(2);
    };
    if cfg.mode == Mode::Production {
        eprintln!("annex token is for development; mint production tokens at your identity provider");
        return ExitCode::from(2);
    }
    let secret = match app::signing_secret(cfg) {
        Ok(Some(s)) => s,
        Ok(None) => {
            eprintln!("annex token needs an HS256 secret (ANNEX_JWT_SECRET or the development default)");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("annex: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    match auth::token::mint_hs256(
        secret.expose(),
        &sub,
        admin,
        ttl,
        cfg.jwt_issuer.as_deref(),
        cfg.jwt_audience.as_deref(),
    ) {
        Ok(t) => {
            println!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("annex: {}", e.message());
            ExitCode::FAILURE
        }
    }
}
