//! Test harness: the real service on a random port, a fresh database migrated by the real
//! migrations (SQLite always; PostgreSQL when `ANNEX_TEST_POSTGRES_URL` is set), and
//! tokens minted here with jsonwebtoken, as any client's identity provider would.
//!
//! Tests act through [`Actor`]s that carry their own token and request helpers:
//! `let t = app.tenant("acme").await;` gives an organization with one member per role
//! (`t.owner`, `t.manager`, …, `t.role(Role::Auditor)`), its platform admin and a
//! `stranger` who belongs to no organization. Fixtures are built through the API with the
//! builders of `crate::builders` (`t.owner.risk().likelihood(4).create().await`).

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use annex::app::{self, Running};
use annex::config::Config;
use futures_util::{SinkExt, StreamExt};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub use annex::auth::permissions::Role;

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

/// The role the service runs as on PostgreSQL in tests, as in production: it owns
/// nothing, has no BYPASSRLS, and gets its grants from `annex migrate`. Migrations and the
/// tests' own raw SQL run as the owner (`ANNEX_TEST_POSTGRES_URL`'s user).
pub const RUNTIME_ROLE: &str = "annex_runtime";

/// `url` with its user replaced by the runtime role.
pub fn as_runtime(url: &str) -> String {
    let (head, tail) = url.split_once("://").expect("postgres URL");
    let host = tail.split_once('@').map_or(tail, |(_, h)| h);
    format!("{head}://{RUNTIME_ROLE}@{host}")
}

async fn ensure_runtime_role(admin: &mut sqlx::PgConnection) {
    // Concurrent test processes may race to create it; either way it exists afterwards.
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DO $$ BEGIN CREATE ROLE {RUNTIME_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )))
    .execute(&mut *admin)
    .await;
}

static TEMPLATE: OnceLock<Mutex<Option<String>>> = OnceLock::new();

/// Creates a fresh PostgreSQL database from a template migrated once per test process.
pub async fn fresh_postgres_database(base: &str) -> String {
    use sqlx::Connection;
    let lock = TEMPLATE.get_or_init(|| Mutex::new(None));
    let mut template = lock.lock().await;
    let mut admin = sqlx::PgConnection::connect(base).await.expect("connect to ANNEX_TEST_POSTGRES_URL");
    if template.is_none() {
        // Leftovers of earlier runs; not those of test processes still running (other
        // worktrees or CI jobs may share the server).
        let old: Vec<(String,)> = sqlx::query_as(
            "SELECT datname FROM pg_database WHERE datname LIKE 'annex\\_t\\_%' OR datname LIKE 'annex\\_tpl\\_%'",
        )
        .fetch_all(&mut admin)
        .await
        .expect("list databases");
        for (name,) in old.into_iter().filter(|(n,)| !owner_is_running(n)) {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
                .execute(&mut admin)
                .await;
        }
        ensure_runtime_role(&mut admin).await;
        let name = format!("annex_tpl_p{}_{}", std::process::id(), uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .expect("create template");
        let cfg = config(&with_database(base, &name), &[]);
        annex::db::Database::migrate(&cfg).await.expect("migrate template");
        *template = Some(name);
    }
    let tpl = template.clone().expect("template");
    let name = format!("annex_t_p{}_{}", std::process::id(), uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\" TEMPLATE \"{tpl}\"")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let _ = admin.close().await;
    with_database(base, &name)
}

/// An empty database with no migrations run, for migration tests: a new SQLite file, or a
/// new PostgreSQL database (`None` when PostgreSQL is not configured and not required).
pub async fn fresh_empty_database(backend: Backend) -> Option<String> {
    use sqlx::Connection;
    match backend {
        Backend::Sqlite => Some(sqlite_url()),
        Backend::Postgres => {
            let base = postgres_base_url()?;
            let mut admin = sqlx::PgConnection::connect(&base).await.expect("connect to ANNEX_TEST_POSTGRES_URL");
            ensure_runtime_role(&mut admin).await;
            let name = format!("annex_t_p{}_{}", std::process::id(), uuid::Uuid::new_v4().simple());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut admin)
                .await
                .expect("create empty database");
            let _ = admin.close().await;
            Some(with_database(&base, &name))
        }
    }
}

/// Whether the test process that named a database (`annex_t_p<pid>_…`) still runs on this
/// machine. Names without a process id, and machines without `/proc`, count as not running.
fn owner_is_running(database: &str) -> bool {
    let pid = database.split('_').find_map(|part| part.strip_prefix('p')?.parse::<u32>().ok());
    match pid {
        Some(pid) if std::path::Path::new("/proc/self").exists() => {
            pid != std::process::id() && std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => false,
    }
}

/// The service's configuration for a test database. On PostgreSQL the service connects
/// as the runtime role and migrates as the owner (`database_url`'s user).
pub fn config(database_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut env: HashMap<String, String> = HashMap::new();
    if database_url.starts_with("postgres") {
        env.insert("DATABASE_URL".into(), as_runtime(database_url));
        env.insert("ANNEX_MIGRATION_DATABASE_URL".into(), database_url.into());
    } else {
        env.insert("DATABASE_URL".into(), database_url.into());
    }
    env.insert("ANNEX_LISTEN".into(), "127.0.0.1:0".into());
    // Tests configure a key, which without ANNEX_MODE means production; most tests want
    // development's introspection (those about production set it themselves).
    env.insert("ANNEX_MODE".into(), "development".into());
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

impl TestApp {
    /// The platform admin, as an actor.
    pub fn admin(&self) -> Actor<'_> {
        Actor { app: self, sub: "platform-admin".into(), token: self.admin_token(), role: None, org: None }
    }

    /// Any authenticated subject (a member of nothing until added somewhere).
    pub fn user(&self, sub: &str) -> Actor<'_> {
        Actor { app: self, sub: sub.into(), token: self.token(sub), role: None, org: None }
    }

    /// A new organization with one member of each role (subjects `owner@slug`, …).
    pub async fn tenant(&self, slug: &str) -> Tenant<'_> {
        let subjects: Vec<(String, &str)> = Role::ALL.iter().map(|r| (member_subject(*r, slug), r.as_str())).collect();
        let members: Vec<(&str, &str)> = subjects.iter().map(|(s, r)| (s.as_str(), *r)).collect();
        let id = self.org(slug, &members).await;
        let member = |role: Role| Actor {
            app: self,
            sub: member_subject(role, slug),
            token: self.token(&member_subject(role, slug)),
            role: Some(role),
            org: Some(id.clone()),
        };
        Tenant {
            admin: self.admin().in_org(&id),
            owner: member(Role::Owner),
            manager: member(Role::Manager),
            contributor: member(Role::Contributor),
            auditor: member(Role::Auditor),
            viewer: member(Role::Viewer),
            integration: member(Role::Integration),
            stranger: self.user(&format!("stranger@{slug}")).in_org(&id),
            id,
        }
    }
}

fn member_subject(role: Role, slug: &str) -> String {
    format!("{}@{slug}", role.as_str().to_lowercase())
}

/// Someone calling the API: a subject with its own token, and (for members) its role and
/// organization, which builders use by default.
#[derive(Clone)]
pub struct Actor<'a> {
    pub app: &'a TestApp,
    pub sub: String,
    pub token: String,
    /// The member role in [`Actor::org`]; `None` for the platform admin and strangers.
    pub role: Option<Role>,
    org: Option<String>,
}

impl<'a> Actor<'a> {
    /// The organization this actor works in (a member's own; for others, as set by `in_org`).
    pub fn org(&self) -> &str {
        self.org.as_deref().unwrap_or_else(|| panic!("{} works in no organization: use in_org", self.sub))
    }

    /// The same caller, aiming at another organization (builders and helpers use it).
    pub fn in_org(&self, org: &str) -> Actor<'a> {
        Actor { org: Some(org.to_string()), ..self.clone() }
    }

    /// POST /graphql with this actor's token; the whole JSON body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.app.gql(&self.token, query, variables).await
    }

    /// Like [`Actor::gql`], but panics on errors and returns `data`.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors for {}: {body:#}\nquery: {query}", self.sub);
        body["data"].clone()
    }

    /// `GET` a path of the service (`/organizations/{id}/soa.csv`, …) with this actor's token.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.app.client.get(format!("{}{path}", self.app.base)).bearer_auth(&self.token).send().await.expect("GET")
    }

    /// `POST` a CSV body to a path of the service (spreadsheet imports) with this actor's
    /// token.
    pub async fn post_csv(&self, path: &str, csv: impl Into<String>) -> reqwest::Response {
        self.app
            .client
            .post(format!("{}{path}", self.app.base))
            .bearer_auth(&self.token)
            .header("content-type", "text/csv")
            .body(csv.into())
            .send()
            .await
            .expect("POST")
    }

    /// `node(id) { id ... on T { fields } }`, panicking on errors (`null` when not visible).
    pub async fn node(&self, id: &str, on: &str, fields: &str) -> Value {
        let q = format!("query($id: ID!) {{ node(id: $id) {{ id ... on {on} {{ {fields} }} }} }}");
        self.ok(&q, json!({ "id": id })).await["node"].clone()
    }

    /// The SoA row of a catalog control in this actor's organization.
    pub async fn control_id(&self, standard: &str, r: &str) -> String {
        let q = "query($o: ID!, $s: StandardCode!, $q: String!) { organization(id: $o) { controls(first: 100, filter: {standard: $s, search: $q}) { nodes { id ref } } } }";
        let data = self.ok(q, json!({ "o": self.org(), "s": standard, "q": r })).await;
        data["organization"]["controls"]["nodes"]
            .as_array()
            .expect("controls")
            .iter()
            .find(|n| n["ref"] == r)
            .and_then(|n| n["id"].as_str())
            .unwrap_or_else(|| panic!("no control {standard} {r}"))
            .to_string()
    }

    /// The first gap-analysis row of the organization.
    pub async fn clause_id(&self) -> String {
        let q = "query($o: ID!) { organization(id: $o) { clauseAssessments(first: 1) { nodes { id } } } }";
        self.ok(q, json!({ "o": self.org() })).await["organization"]["clauseAssessments"]["nodes"][0]["id"]
            .as_str()
            .expect("clause assessment id")
            .to_string()
    }

    /// Opens a graphql-transport-ws connection with this actor's token and subscribes.
    pub async fn subscribe(&self, query: &str, variables: Value) -> Ws {
        let mut ws = ws_connect(self.app, json!({ "Authorization": format!("Bearer {}", self.token) })).await;
        let ack = ws_next(&mut ws, Duration::from_secs(5)).await.expect("ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        ws.send(Message::text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } })
                .to_string(),
        ))
        .await
        .expect("subscribe");
        // Give the server a moment to register the subscription.
        tokio::time::sleep(Duration::from_millis(200)).await;
        ws
    }
}

/// One organization with a member of every role, its platform admin and a stranger.
pub struct Tenant<'a> {
    pub id: String,
    /// The platform admin, aiming at this organization.
    pub admin: Actor<'a>,
    pub owner: Actor<'a>,
    pub manager: Actor<'a>,
    pub contributor: Actor<'a>,
    pub auditor: Actor<'a>,
    pub viewer: Actor<'a>,
    pub integration: Actor<'a>,
    /// Authenticated, member of no organization, aiming at this one.
    pub stranger: Actor<'a>,
}

impl<'a> Tenant<'a> {
    pub fn role(&self, role: Role) -> &Actor<'a> {
        match role {
            Role::Owner => &self.owner,
            Role::Manager => &self.manager,
            Role::Contributor => &self.contributor,
            Role::Auditor => &self.auditor,
            Role::Viewer => &self.viewer,
            Role::Integration => &self.integration,
        }
    }

    /// The six members, in `Role::ALL` order.
    pub fn members(&self) -> [&Actor<'a>; 6] {
        Role::ALL.map(|r| self.role(r))
    }
}

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/graphql/ws` (graphql-transport-ws) and sends `connection_init` with `init`.
pub async fn ws_connect(app: &TestApp, init: Value) -> Ws {
    let url = app.base.replace("http://", "ws://") + "/graphql/ws";
    let mut req = url.into_client_request().expect("request");
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("connect");
    ws.send(Message::text(json!({ "type": "connection_init", "payload": init }).to_string())).await.expect("init");
    ws
}

/// The next protocol message (skipping pings); `None` on close or after `wait`.
pub async fn ws_next(ws: &mut Ws, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.ok()??.ok()?;
        match msg {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).ok()?;
                if v["type"] == "ping" || v["type"] == "pong" {
                    continue;
                }
                return Some(v);
            }
            Message::Close(_) => return None,
            _ => continue,
        }
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
