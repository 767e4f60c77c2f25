//! Test harness: the real service on a random port, a fresh database migrated by the real
//! migrations (SQLite always; PostgreSQL when `ANNEX_TEST_POSTGRES_URL` is set), and
//! tokens minted here with jsonwebtoken, as any client's identity provider would.

use std::collections::HashMap;
use std::sync::OnceLock;

use annex::app::{self, Running};
use annex::config::Config;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::sync::Mutex;

pub const SECRET: &str = "test-secret-test-secret-test-secret-0123";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub backend: Backend,
    pub base: String,
    pub client: reqwest::Client,
    pub database_url: String,
    running: Option<Running>,
}

/// Runs each test body against both backends.
#[macro_export]
macro_rules! api_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::support::TestApp::start($crate::support::Backend::Sqlite).await;
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = $crate::support::TestApp::start_postgres().await else { return };
                    super::$name(&app).await;
                    app.stop().await;
                }
            )*
        }
    };
}

pub fn postgres_base_url() -> Option<String> {
    let url = std::env::var("ANNEX_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() && std::env::var("ANNEX_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("ANNEX_TEST_REQUIRE_POSTGRES=1 but ANNEX_TEST_POSTGRES_URL is not set");
    }
    url
}

fn with_database(url: &str, db: &str) -> String {
    let (head, tail) = url.split_once("://").expect("postgres URL");
    let (authority, rest) = tail.split_once('/').unwrap_or((tail, ""));
    let query = rest.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    format!("{head}://{authority}/{db}{query}")
}

static TEMPLATE: OnceLock<Mutex<Option<String>>> = OnceLock::new();

/// Creates a fresh PostgreSQL database from a template migrated once per test process.
pub async fn fresh_postgres_database(base: &str) -> String {
    use sqlx::Connection;
    let lock = TEMPLATE.get_or_init(|| Mutex::new(None));
    let mut template = lock.lock().await;
    let mut admin = sqlx::PgConnection::connect(base).await.expect("connect to ANNEX_TEST_POSTGRES_URL");
    if template.is_none() {
        // Leftovers of earlier runs.
        let old: Vec<(String,)> = sqlx::query_as(
            "SELECT datname FROM pg_database WHERE datname LIKE 'annex\\_t\\_%' OR datname LIKE 'annex\\_tpl\\_%'",
        )
        .fetch_all(&mut admin)
        .await
        .expect("list databases");
        for (name,) in old {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
                .execute(&mut admin)
                .await;
        }
        let name = format!("annex_tpl_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .expect("create template");
        let cfg = config(&with_database(base, &name), &[]);
        annex::db::Database::migrate(&cfg).await.expect("migrate template");
        *template = Some(name);
    }
    let tpl = template.clone().expect("template");
    let name = format!("annex_t_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\" TEMPLATE \"{tpl}\"")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let _ = admin.close().await;
    with_database(base, &name)
}

pub fn config(database_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("DATABASE_URL".into(), database_url.into());
    env.insert("ANNEX_LISTEN".into(), "127.0.0.1:0".into());
    env.insert("ANNEX_JWT_SECRET".into(), SECRET.into());
    env.insert("ANNEX_RATE_LIMIT_PER_MINUTE".into(), "0".into());
    env.insert("ANNEX_DB_MAX_CONNECTIONS".into(), "5".into());
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    Config::from_lookup(|k| env.get(k).cloned()).expect("test config")
}

pub fn sqlite_url() -> String {
    let dir = std::env::temp_dir().join(format!("annex-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    format!("sqlite://{}/annex.db?mode=rwc", dir.display())
}

impl TestApp {
    pub async fn start(backend: Backend) -> TestApp {
        Self::start_with(backend, &[]).await.expect("backend available")
    }

    pub async fn start_postgres() -> Option<TestApp> {
        Self::start_with(Backend::Postgres, &[]).await
    }

    /// Starts with extra environment; `None` when PostgreSQL is asked for but not configured.
    pub async fn start_with(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
        let database_url = match backend {
            Backend::Sqlite => sqlite_url(),
            Backend::Postgres => {
                let Some(base) = postgres_base_url() else {
                    eprintln!("skipped: ANNEX_TEST_POSTGRES_URL is not set");
                    return None;
                };
                fresh_postgres_database(&base).await
            }
        };
        Some(Self::start_on(backend, &database_url, extra).await)
    }

    /// Starts a service on an existing database (a second replica, a restart).
    pub async fn start_on(backend: Backend, database_url: &str, extra: &[(&str, &str)]) -> TestApp {
        let cfg = config(database_url, extra);
        let running = app::spawn(cfg).await.expect("service starts");
        TestApp {
            backend,
            base: format!("http://{}", running.addr),
            client: reqwest::Client::new(),
            database_url: database_url.to_string(),
            running: Some(running),
        }
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    /// A token for `sub` signed with the configured secret.
    pub fn token(&self, sub: &str) -> String {
        jwt(json!({ "sub": sub, "aud": "annex", "exp": now() + 600 }))
    }

    pub fn admin_token(&self) -> String {
        jwt(json!({ "sub": "platform-admin", "aud": "annex", "exp": now() + 600, "roles": ["platform_admin"] }))
    }

    /// POST /graphql; returns the whole JSON body.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.base))
            .header("content-type", "application/json")
            .json(&json!({ "query": query, "variables": variables }));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.expect("request");
        resp.json().await.expect("json body")
    }

    /// Like [`TestApp::gql`], but panics on errors and returns `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}\nquery: {query}");
        body["data"].clone()
    }

    /// Creates an organization (as platform admin) with the given members; returns its id.
    pub async fn org(&self, slug: &str, members: &[(&str, &str)]) -> String {
        let admin = self.admin_token();
        let data = self
            .ok(
                &admin,
                "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id } } }",
                json!({ "i": { "name": format!("Org {slug}"), "slug": slug } }),
            )
            .await;
        let id = data["createOrganization"]["organization"]["id"].as_str().expect("id").to_string();
        for (sub, role) in members {
            self.ok(
                &admin,
                "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }",
                json!({ "i": { "organizationId": id, "subject": sub, "role": role } }),
            )
            .await;
        }
        id
    }

    /// Runs SQL directly against the test database (tamper tests, counts).
    pub async fn sql(&self, sql: &str) -> Vec<Vec<Value>> {
        raw_sql(&self.database_url, sql).await
    }

    pub async fn count(&self, table: &str) -> i64 {
        let rows = self.sql(&format!("SELECT COUNT(*) FROM {table}")).await;
        rows[0][0].as_i64().expect("count")
    }
}

/// Rows of a raw statement as JSON values (integers, text, nulls).
pub async fn raw_sql(database_url: &str, sql: &str) -> Vec<Vec<Value>> {
    use sqlx::{Column, Connection, Row, TypeInfo};
    fn cell<R: Row>(row: &R, i: usize) -> Value
    where
        for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
        for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
        usize: sqlx::ColumnIndex<R>,
    {
        if let Ok(v) = row.try_get::<i64, _>(i) {
            return json!(v);
        }
        if let Ok(v) = row.try_get::<String, _>(i) {
            return json!(v);
        }
        Value::Null
    }
    if database_url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(database_url).await.expect("sqlite");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(&mut c).await.expect("sql");
        rows.iter().map(|r| (0..r.columns().len()).map(|i| cell(r, i)).collect()).collect()
    } else {
        let mut c = sqlx::PgConnection::connect(database_url).await.expect("postgres");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(&mut c).await.expect("sql");
        rows.iter()
            .map(|r| {
                (0..r.columns().len())
                    .map(|i| {
                        let ty = r.columns()[i].type_info().name().to_string();
                        match ty.as_str() {
                            "INT8" => r.try_get::<Option<i64>, _>(i).ok().flatten().map_or(Value::Null, |v| json!(v)),
                            "INT4" => r.try_get::<Option<i32>, _>(i).ok().flatten().map_or(Value::Null, |v| json!(v)),
                            _ => cell(r, i),
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

pub fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// An HS256 token with the test secret.
pub fn jwt(claims: Value) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET.as_bytes()))
        .expect("encode")
}

/// `extensions.code` of the first error.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body:#}"))
}

/// Asserts the first error's code (and field, when given).
pub fn assert_error(body: &Value, expected_code: &str, field: Option<&str>) {
    assert_eq!(code(body), expected_code, "{body:#}");
    if let Some(f) = field {
        assert_eq!(body["errors"][0]["extensions"]["field"], json!(f), "{body:#}");
    }
}
