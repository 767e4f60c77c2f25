//! The `annex` binary itself: zero-configuration start-up, configuration errors,
//! `annex token`, `annex migrate`, and the checked-in documents (schema, permission table).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{self, Backend};

pub(crate) fn annex() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_annex"));
    c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    c
}

pub(crate) fn temp_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("annex-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Starts `annex` (no arguments: `serve`) in `dir` and returns it with the printed token.
/// `annex serve` in `dir` on `port` with extra environment, and the platform-admin token
/// its log prints.
pub(crate) fn start_serve(dir: &Path, port: u16, env: &[(&str, String)]) -> (std::process::Child, String) {
    let mut child = annex()
        .current_dir(dir)
        .env("ANNEX_LISTEN", format!("127.0.0.1:{port}"))
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn annex");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("Bearer ").nth(1) {
                let token: String = rest.chars().take_while(|c| *c != '"').collect();
                let _ = tx.send(token);
            }
        }
    });
    let token = rx.recv_timeout(Duration::from_secs(60)).expect("the log prints a platform-admin token");
    (child, token)
}

pub(crate) fn terminate(child: &mut std::process::Child) {
    let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "graceful shutdown exits 0, got {status}");
            return;
        }
        assert!(Instant::now() < deadline, "annex did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn viewer(port: u16, token: &str) -> serde_json::Value {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let resp = client
            .post(format!("http://127.0.0.1:{port}/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": "{ viewer { subject isPlatformAdmin } }" }))
            .send()
            .await;
        match resp {
            Ok(r) => return r.json().await.expect("json"),
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("annex never answered: {e}"),
        }
    }
}

#[tokio::test]
async fn starts_with_no_configuration_and_keeps_its_secret() {
    annex::init_crypto();
    let dir = temp_dir();
    let port = free_port();
    let (mut child, token) = start_serve(&dir, port, &[]);
    let body = viewer(port, &token).await;
    assert_eq!(body["data"]["viewer"], json!({ "subject": "dev-admin", "isPlatformAdmin": true }), "{body}");
    assert!(dir.join("data/annex.db").exists(), "SQLite file under ./data");
    let secret = std::fs::read_to_string(dir.join("data/jwt-secret")).expect("secret kept beside the database");
    assert!(secret.trim().len() >= 32);
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await.expect("readyz");
    assert_eq!(ready.status().as_u16(), 200);
    terminate(&mut child);

    // A restart reuses the secret (the first token still works) and re-runs migrations idempotently.
    let port = free_port();
    let (mut child, _) = start_serve(&dir, port, &[]);
    let body = viewer(port, &token).await;
    assert_eq!(body["data"]["viewer"]["isPlatformAdmin"], true, "{body}");
    terminate(&mut child);
}

#[test]
fn bad_configuration_stops_start_up_with_one_line() {
    let dir = temp_dir();
    let key = dir.join("not-a-key.pem");
    std::fs::write(&key, "hello").expect("write");
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![("ANNEX_MODE", "staging".into())], "ANNEX_MODE"),
        (vec![("DATABASE_URL", "mysql://localhost/x".into())], "DATABASE_URL"),
        (vec![("ANNEX_LISTEN", "everywhere".into())], "ANNEX_LISTEN"),
        (vec![("ANNEX_JWT_SECRET", "too-short".into())], "ANNEX_JWT_SECRET"),
        (vec![("ANNEX_JWT_PUBLIC_KEY_FILE", "/nonexistent/key.pem".into())], "ANNEX_JWT_PUBLIC_KEY_FILE"),
        (vec![("ANNEX_JWT_PUBLIC_KEY_FILE", key.display().to_string())], "ANNEX_JWT_PUBLIC_KEY_FILE"),
        (vec![("ANNEX_RATE_LIMIT_PER_MINUTE", "lots".into())], "ANNEX_RATE_LIMIT_PER_MINUTE"),
        // Production refuses to start without a key.
        (vec![("ANNEX_MODE", "production".into())], "ANNEX_JWT_SECRET"),
    ];
    for (env, var) in cases {
        let out = annex().current_dir(&dir).envs(env.iter().map(|(k, v)| (*k, v.as_str()))).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{env:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(var), "{env:?}: {stderr}");
    }
    assert!(!dir.join("data").exists(), "nothing created on a refused start");
}

#[test]
fn token_command_mints_a_verifiable_token() {
    let dir = temp_dir();
    let out = annex()
        .current_dir(&dir)
        .env("ANNEX_JWT_SECRET", support::SECRET)
        .env("ANNEX_MODE", "development")
        .args(["token", "--sub", "bob", "--platform-admin", "--ttl", "2h"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).expect("utf8");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_audience(&["annex"]);
    let data = jsonwebtoken::decode::<serde_json::Value>(
        token.trim(),
        &jsonwebtoken::DecodingKey::from_secret(support::SECRET.as_bytes()),
        &v,
    )
    .expect("verifies with the configured secret");
    assert_eq!(data.claims["sub"], "bob");
    assert_eq!(data.claims["roles"], json!(["platform_admin"]));
    let ttl = data.claims["exp"].as_u64().expect("exp") - data.claims["iat"].as_u64().expect("iat");
    assert_eq!(ttl, 7200);
    let out = annex()
        .current_dir(&dir)
        .env("ANNEX_JWT_SECRET", support::SECRET)
        .env("ANNEX_MODE", "development")
        .args(["token"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "--sub is required");
    // A configured key without ANNEX_MODE means production: no development tokens.
    let out = annex()
        .current_dir(&dir)
        .env("ANNEX_JWT_SECRET", support::SECRET)
        .args(["token", "--sub", "bob"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "refused in production");
}

async fn migrate_twice(backend: Backend) {
    let url = match backend {
        Backend::Sqlite => support::sqlite_url(),
        Backend::Postgres => match support::postgres_base_url() {
            Some(base) => support::fresh_postgres_database(&base).await,
            None => return,
        },
    };
    for _ in 0..2 {
        let out = annex().env("DATABASE_URL", &url).arg("migrate").output().expect("run");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let rows = support::raw_sql(&url, "SELECT COUNT(*) FROM catalog_controls").await;
    assert_eq!(rows[0][0], json!(131));
}

#[tokio::test]
async fn migrate_is_idempotent_sqlite() {
    migrate_twice(Backend::Sqlite).await;
}

#[tokio::test]
async fn migrate_is_idempotent_postgres() {
    migrate_twice(Backend::Postgres).await;
}

#[test]
fn schema_file_is_the_generated_sdl() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    let generated = annex::graphql::sdl();
    assert!(
        checked_in == generated,
        "schema.graphql is stale: run `cargo run -q -- schema > schema.graphql` and commit it"
    );
    let out = annex().arg("schema").output().expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout), generated, "`annex schema` prints the same SDL");
}

#[test]
fn readme_prints_the_permission_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap_or_default();
    assert!(
        readme.contains(&annex::auth::permissions::markdown_table()),
        "README.md must contain the output of `annex permissions` verbatim"
    );
}
