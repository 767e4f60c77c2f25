//! One error type for the whole service, and the one place it meets the wire.
//!
//! Policy: client mistakes carry a clear message (and the offending input field); an
//! object of another tenant is `NotFound`, never `Forbidden`; a failure the client can
//! retry (connection lost, database restarting, serialization conflict, statement timeout)
//! is `SERVICE_UNAVAILABLE`; other database and internal failures are logged with the
//! request id and reach the client as `INTERNAL` with no SQL, driver text or stack. Codes
//! are the ones in API.md.
//!
//! The exits: [`AppError::to_http`] for every HTTP handler (status from
//! [`AppError::status_code`]), [`AppError::to_graphql`] for resolvers and
//! [`finish_graphql_error`] for every error of a GraphQL response.

use std::ops::Deref;

use async_graphql::{ErrorExtensionValues, ErrorExtensions, Pos, ServerError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{DbErr, RuntimeErr};

/// Deliberately not `Display`: async-graphql converts any `Display` type into an error
/// without a code, so `?` must go through the `From` impl in `graphql::context` instead.
#[derive(Debug)]
pub enum AppError {
    Unauthenticated(String),
    Forbidden(String),
    NotFound(String),
    BadUserInput {
        field: Option<String>,
        message: String,
    },
    Conflict(String),
    QueryTooComplex(String),
    RateLimited(String),
    /// The message is shown to clients: never put driver text in it.
    ServiceUnavailable(String),
    /// Never shown to clients; logged.
    Internal(String),
    /// A transport refusal (a mutation over `GET /graphql`): `BAD_USER_INPUT`, HTTP 405.
    MethodNotAllowed(String),
    /// A body without a (usable) content type: `BAD_USER_INPUT`, HTTP 415.
    UnsupportedMediaType(String),
}

pub type AppResult<T> = Result<T, AppError>;

/// What clients see for a database that cannot answer now.
pub const UNAVAILABLE_MESSAGE: &str = "the database is unavailable; try again";
/// Seconds a client should wait before retrying a `SERVICE_UNAVAILABLE` request.
pub const RETRY_AFTER_SECS: u32 = 1;

/// A unique key of the schema (migration/src): PostgreSQL reports its index name, SQLite
/// its table and columns. `message` is what a client is told by default.
pub struct UniqueKey {
    pub name: &'static str,
    pub table: &'static str,
    pub columns: &'static [&'static str],
    pub message: &'static str,
}

const fn key(
    name: &'static str,
    table: &'static str,
    columns: &'static [&'static str],
    message: &'static str,
) -> UniqueKey {
    UniqueKey { name, table, columns, message }
}

/// The unique keys a client can collide with (a test compares them with the migrated
/// schema). Internal keys (`ux_*_org_id`, the trail's `ux_changes_org_seq`, primary keys)
/// are not here: a violation of one of them is a defect, reported as `INTERNAL`.
pub const UNIQUE_KEYS: &[UniqueKey] = &[
    key("ux_organizations_slug", "organizations", &["slug"], "slug is already taken"),
    key("ux_memberships_org_subject", "memberships", &["organization_id", "subject"], "already a member"),
    key(
        "ux_controls_org_std_ref",
        "controls",
        &["organization_id", "standard", "ref"],
        "that ref is already used in this organization's SoA",
    ),
    key(
        "ux_clause_assessments_org_std_ref",
        "clause_assessments",
        &["organization_id", "standard", "ref"],
        "that clause is already assessed",
    ),
    key(
        "ux_certifications_org_body_number",
        "certifications",
        &["organization_id", "certification_body", "certificate_number"],
        "this certification body's certificate with that number is already recorded",
    ),
    key("ux_scopes_org_name", "scopes", &["organization_id", "name"], "a scope with that name already exists"),
    key(
        "ux_ai_systems_org_name",
        "ai_systems",
        &["organization_id", "name"],
        "an AI system with that name already exists",
    ),
    key(
        "ux_nonconformities_org_finding",
        "nonconformities",
        &["organization_id", "finding_id"],
        "that finding is already linked to a nonconformity",
    ),
    key(
        "ux_nonconformities_org_external",
        "nonconformities",
        &["organization_id", "external_system", "external_key"],
        "that ticket is already linked to a nonconformity",
    ),
    // issue 16
    key(
        "ux_programme_phases_org_programme_position",
        "programme_phases",
        &["organization_id", "programme_id", "position"],
        "that programme already has a phase at that position",
    ),
    key(
        "ux_tasks_org_previous",
        "tasks",
        &["organization_id", "previous_task_id"],
        "the next occurrence of that task already exists",
    ),
    key(
        "ux_risks_org_external_key",
        "risks",
        &["organization_id", "external_key"],
        "a risk with that external key already exists",
    ),
    // issue 13
    key(
        "ux_document_versions_org_document_number",
        "document_versions",
        &["organization_id", "document_id", "major", "minor"],
        "that version number is already taken",
    ),
    // issue 15
    key("ux_suppliers_org_name", "suppliers", &["organization_id", "name"], "a supplier with that name already exists"),
    key(
        "ux_incidents_org_ticket",
        "incidents",
        &["organization_id", "external_system", "external_key"],
        "that ticket is already linked to an incident",
    ),
    key(
        "ux_incidents_org_nonconformity",
        "incidents",
        &["organization_id", "nonconformity_id"],
        "that nonconformity is already linked to an incident",
    ),
    key(
        "ux_review_inputs_org_review_topic",
        "review_inputs",
        &["organization_id", "review_id", "topic"],
        "that topic already has an input in this review",
    ),
];

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::BadUserInput { .. } | AppError::MethodNotAllowed(_) | AppError::UnsupportedMediaType(_) => {
                "BAD_USER_INPUT"
            }
            AppError::Conflict(_) => "CONFLICT",
            AppError::QueryTooComplex(_) => "QUERY_TOO_COMPLEX",
            AppError::RateLimited(_) => "RATE_LIMITED",
            AppError::ServiceUnavailable(_) => "SERVICE_UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    /// The HTTP status of this error when it is the whole answer.
    pub fn status_code(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadUserInput { .. } | AppError::QueryTooComplex(_) => StatusCode::BAD_REQUEST,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadUserInput { field: Some(field.into()), message: message.into() }
    }

    pub fn not_found(what: &str) -> Self {
        AppError::NotFound(format!("{what} not found"))
    }

    pub fn forbidden() -> Self {
        AppError::Forbidden("your role in this organization does not allow this".into())
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }

    /// The full message (for logs; internal details included).
    pub fn message(&self) -> &str {
        match self {
            AppError::Unauthenticated(m)
            | AppError::Forbidden(m)
            | AppError::NotFound(m)
            | AppError::Conflict(m)
            | AppError::QueryTooComplex(m)
            | AppError::RateLimited(m)
            | AppError::ServiceUnavailable(m)
            | AppError::Internal(m)
            | AppError::MethodNotAllowed(m)
            | AppError::UnsupportedMediaType(m) => m,
            AppError::BadUserInput { message, .. } => message,
        }
    }

    /// The message a client may see.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "internal error".to_string(),
            other => other.message().to_string(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            AppError::BadUserInput { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// Internal details go to the log (inside the request's or operation's span, which
    /// carries the ids), never to the client.
    fn log(&self, request_id: Option<&str>) {
        if let AppError::Internal(detail) = self {
            match request_id {
                Some(id) => tracing::error!(request_id = id, error = %detail, "internal error"),
                None => tracing::error!(error = %detail, "internal error"),
            }
        }
    }

    /// Maps a unique-constraint violation to `CONFLICT` with a client-facing message;
    /// anything else goes through the general mapping. Use it on statements where the only
    /// unique key a client can collide with is the one the message names.
    pub fn on_unique(e: DbErr, message: &str) -> Self {
        if is_unique_violation(&e) { AppError::Conflict(message.to_string()) } else { e.into() }
    }

    /// Maps a violation of one of the named unique keys (index names as in the migrations,
    /// `ux_<table>_<name>`) to `CONFLICT` with its message, on PostgreSQL and SQLite alike;
    /// anything else goes through the general mapping.
    pub fn on_constraint(e: DbErr, keys: &[(&str, &str)]) -> Self {
        if let Some(name) = violated_unique_key(&e)
            && let Some((_, message)) = keys.iter().find(|(k, _)| *k == name)
        {
            return AppError::Conflict(message.to_string());
        }
        e.into()
    }

    /// The GraphQL error for a resolver (`extensions.code`, `field`; the request ids are
    /// added by [`finish_graphql_error`] when the response leaves).
    pub fn to_graphql(&self, request_id: Option<&str>) -> async_graphql::Error {
        self.log(request_id);
        async_graphql::Error::new(self.public_message()).extend_with(|_, ext| {
            ext.set("code", self.code());
            if let Some(field) = self.field() {
                ext.set("field", field);
            }
            if let Some(id) = request_id {
                ext.set("requestId", id);
            }
        })
    }

    /// The same error at a position of the query document (bounds checks of the Policy).
    pub fn to_server_error(&self, pos: Option<Pos>) -> ServerError {
        self.to_graphql(None).into_server_error(pos.unwrap_or_default())
    }

    /// The whole HTTP answer for this error: its status, a GraphQL-shaped body
    /// (`errors[0].extensions.code`, `field`, `requestId`, `clientRequestId`) and
    /// `Retry-After` for `SERVICE_UNAVAILABLE`. Every HTTP handler answers errors with this.
    pub fn to_http(&self, request_id: &str, client_request_id: Option<&str>) -> Response {
        self.log(Some(request_id));
        let mut error = ServerError::new(self.public_message(), None);
        let ext = error.extensions.get_or_insert_with(Default::default);
        ext.set("code", self.code());
        if let Some(field) = self.field() {
            ext.set("field", field);
        }
        finish_graphql_error(&mut error, request_id, client_request_id);
        let body = serde_json::json!({ "errors": [error] }).to_string();
        let mut resp = (self.status_code(), [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if matches!(self, AppError::ServiceUnavailable(_)) {
            add_retry_after(&mut resp);
        }
        resp
    }
}

/// The last step of every GraphQL error on its way out: a code when it has none (parse,
/// validation and input-coercion errors are the request's fault) and the ids.
pub fn finish_graphql_error(e: &mut ServerError, request_id: &str, client_request_id: Option<&str>) {
    set_ids(e.extensions.get_or_insert_with(Default::default), request_id, client_request_id);
}

fn set_ids(ext: &mut ErrorExtensionValues, request_id: &str, client_request_id: Option<&str>) {
    if ext.get("code").is_none() {
        ext.set("code", "BAD_USER_INPUT");
    }
    ext.set("requestId", request_id);
    if let Some(client) = client_request_id {
        ext.set("clientRequestId", client);
    }
}

/// `Retry-After` for a `SERVICE_UNAVAILABLE` answer.
pub fn add_retry_after(resp: &mut Response) {
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
}

/// The HTTP status of GraphQL responses: 503 when none produced any data and every error
/// is `SERVICE_UNAVAILABLE` (the client should retry the whole request), else 200.
pub fn graphql_status<'a>(responses: impl IntoIterator<Item = &'a async_graphql::Response>) -> StatusCode {
    // The whole request failed for one retryable reason: say so in the status.
    let mut common: Option<&str> = None;
    for r in responses {
        if r.data != async_graphql::Value::Null || r.errors.is_empty() {
            return StatusCode::OK;
        }
        for e in &r.errors {
            let code = match e.extensions.as_ref().and_then(|x| x.get("code")) {
                Some(async_graphql::Value::String(c)) => c.as_str(),
                _ => return StatusCode::OK,
            };
            match common {
                None => common = Some(if code == "SERVICE_UNAVAILABLE" || code == "RATE_LIMITED" { code } else { "" }),
                Some(c) if c == code => {}
                Some(_) => return StatusCode::OK,
            }
        }
    }
    match common {
        Some("SERVICE_UNAVAILABLE") => StatusCode::SERVICE_UNAVAILABLE,
        Some("RATE_LIMITED") => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::OK,
    }
}

/// True when `e` is a unique-key violation (SQLite or PostgreSQL).
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

fn sqlx_error(e: &DbErr) -> Option<&sea_orm::sqlx::Error> {
    match e {
        DbErr::Conn(RuntimeErr::SqlxError(s))
        | DbErr::Exec(RuntimeErr::SqlxError(s))
        | DbErr::Query(RuntimeErr::SqlxError(s)) => Some(s.deref()),
        _ => None,
    }
}

/// The unique key `e` violates, by its index name (see [`UNIQUE_KEYS`]): PostgreSQL names
/// the constraint; SQLite says `UNIQUE constraint failed: table.col, table.col`.
pub fn violated_unique_key(e: &DbErr) -> Option<&'static str> {
    if !is_unique_violation(e) {
        return None;
    }
    let sea_orm::sqlx::Error::Database(db) = sqlx_error(e)? else { return None };
    if let Some(name) = db.constraint() {
        return UNIQUE_KEYS.iter().find(|k| k.name == name).map(|k| k.name);
    }
    let (table, columns) = sqlite_unique_columns(db.message())?;
    UNIQUE_KEYS
        .iter()
        .find(|k| k.table == table && k.columns.len() == columns.len() && k.columns.iter().all(|c| columns.contains(c)))
        .map(|k| k.name)
}

/// `UNIQUE constraint failed: nonconformities.organization_id, nonconformities.finding_id`
/// → (`nonconformities`, [`organization_id`, `finding_id`]).
fn sqlite_unique_columns(message: &str) -> Option<(&str, Vec<&str>)> {
    let list = message.strip_prefix("UNIQUE constraint failed: ")?;
    let mut table = None;
    let mut columns = Vec::new();
    for part in list.split(',') {
        let (t, c) = part.trim().split_once('.')?;
        if *table.get_or_insert(t) != t {
            return None;
        }
        columns.push(c);
    }
    Some((table?, columns))
}

/// PostgreSQL SQLSTATEs a client may retry: connection exceptions (class 08), admin or
/// crash shutdown and "cannot connect now" (57P01-57P03), too many connections (53300),
/// serialization failure (40001), deadlock (40P01), statement timeout (57014).
fn retryable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01" | "57014")
}

/// SQLite: busy (5) and locked (6), in any of their extended forms.
fn retryable_sqlite_code(code: &str) -> bool {
    code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

/// True when the failure says nothing about the request and a retry may succeed.
pub fn is_retryable(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as S;
    match e {
        // sea-orm reports as `Conn` only failures to get a working connection (opening one
        // for the pool, a ping): whatever the driver said, the database cannot be reached.
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        _ => match sqlx_error(e) {
            Some(S::Io(_) | S::PoolTimedOut | S::PoolClosed | S::WorkerCrashed | S::Protocol(_) | S::Tls(_)) => true,
            Some(S::Database(db)) => {
                let code = db.code().unwrap_or_default();
                if db.try_downcast_ref::<sea_orm::SqlxPostgresError>().is_some() {
                    retryable_sqlstate(&code)
                } else if db.try_downcast_ref::<sea_orm::SqlxSqliteError>().is_some() {
                    retryable_sqlite_code(&code)
                } else {
                    false
                }
            }
            _ => false,
        },
    }
}

impl From<DbErr> for AppError {
    fn from(e: DbErr) -> Self {
        if is_retryable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            return AppError::ServiceUnavailable(UNAVAILABLE_MESSAGE.into());
        }
        if let Some(name) = violated_unique_key(&e)
            && let Some(k) = UNIQUE_KEYS.iter().find(|k| k.name == name)
        {
            return AppError::Conflict(k.message.to_string());
        }
        AppError::Internal(e.to_string())
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(e: sea_orm::TransactionError<AppError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(format!("json: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::Arc;

    use sea_orm::sqlx::error::{DatabaseError, ErrorKind};

    use super::*;

    /// A driver error as a database would report it (code, constraint, message).
    #[derive(Debug)]
    struct FakeDb {
        code: &'static str,
        constraint: Option<&'static str>,
        message: &'static str,
    }

    impl std::fmt::Display for FakeDb {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.message)
        }
    }

    impl std::error::Error for FakeDb {}

    impl DatabaseError for FakeDb {
        fn message(&self) -> &str {
            self.message
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.code))
        }
        fn constraint(&self) -> Option<&str> {
            self.constraint
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn query(e: sea_orm::sqlx::Error) -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
    }

    fn code_of(e: DbErr) -> &'static str {
        AppError::from(e).code()
    }

    #[test]
    fn connection_failures_are_unavailable() {
        use sea_orm::sqlx::Error as S;
        let io = || S::Io(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"));
        for e in [
            query(io()),
            DbErr::Exec(RuntimeErr::SqlxError(Arc::new(io()))),
            DbErr::Conn(RuntimeErr::SqlxError(Arc::new(io()))),
            query(S::PoolTimedOut),
            query(S::PoolClosed),
            query(S::WorkerCrashed),
            query(S::Protocol("unexpected message".into())),
            query(S::Tls("handshake".into())),
            DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::ConnectionClosed),
        ] {
            let text = e.to_string();
            let app = AppError::from(e);
            assert_eq!(app.code(), "SERVICE_UNAVAILABLE", "{text}");
            assert_eq!(app.public_message(), UNAVAILABLE_MESSAGE, "no driver text leaks");
        }
    }

    #[test]
    fn sqlstates_and_sqlite_codes() {
        for code in ["08000", "08003", "08006", "57P01", "57P02", "57P03", "53300", "40001", "40P01", "57014"] {
            assert!(retryable_sqlstate(code), "{code}");
        }
        for code in ["23505", "22021", "42P01", "XX000", "57000"] {
            assert!(!retryable_sqlstate(code), "{code}");
        }
        for code in ["5", "6", "517", "261", "262"] {
            assert!(retryable_sqlite_code(code), "{code}");
        }
        for code in ["1", "19", "2067", "787", "x"] {
            assert!(!retryable_sqlite_code(code), "{code}");
        }
    }

    #[test]
    fn database_errors_of_an_unknown_driver_and_others_are_internal() {
        let fake = || FakeDb { code: "57P01", constraint: None, message: "terminating connection" };
        // Only the two drivers the service speaks are trusted with a SQLSTATE.
        assert_eq!(code_of(query(sea_orm::sqlx::Error::Database(Box::new(fake())))), "INTERNAL");
        // Opening a connection failed (database gone, too many connections): unavailable.
        let conn = DbErr::Conn(RuntimeErr::SqlxError(Arc::new(sea_orm::sqlx::Error::Database(Box::new(fake())))));
        assert_eq!(code_of(conn), "SERVICE_UNAVAILABLE");
        assert_eq!(code_of(query(sea_orm::sqlx::Error::RowNotFound)), "INTERNAL");
        assert_eq!(code_of(DbErr::Custom("x".into())), "INTERNAL");
    }

    #[test]
    fn sqlite_unique_messages_name_table_and_columns() {
        assert_eq!(
            sqlite_unique_columns(
                "UNIQUE constraint failed: nonconformities.organization_id, nonconformities.external_system, nonconformities.external_key"
            ),
            Some(("nonconformities", vec!["organization_id", "external_system", "external_key"]))
        );
        assert_eq!(
            sqlite_unique_columns("UNIQUE constraint failed: organizations.slug"),
            Some(("organizations", vec!["slug"]))
        );
        assert_eq!(sqlite_unique_columns("NOT NULL constraint failed: risks.title"), None);
        assert_eq!(sqlite_unique_columns("UNIQUE constraint failed: a.x, b.y"), None);
    }

    #[test]
    fn unique_keys_are_named_once() {
        for (i, k) in UNIQUE_KEYS.iter().enumerate() {
            assert!(k.name.starts_with(&format!("ux_{}_", k.table)), "{}", k.name);
            assert!(UNIQUE_KEYS[i + 1..].iter().all(|o| o.name != k.name), "{}", k.name);
        }
    }

    #[test]
    fn statuses_and_http_body() {
        assert_eq!(AppError::bad_input("title", "x").status_code(), StatusCode::BAD_REQUEST);
        assert_eq!(AppError::not_found("risk").status_code(), StatusCode::NOT_FOUND);
        assert_eq!(AppError::MethodNotAllowed("x".into()).code(), "BAD_USER_INPUT");
        let resp = AppError::ServiceUnavailable(UNAVAILABLE_MESSAGE.into()).to_http("rid", Some("cid"));
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("1"));
        let resp = AppError::Internal("secret sql".into()).to_http("rid", None);
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(resp.headers().get(header::RETRY_AFTER).is_none());
    }

    #[test]
    fn graphql_status_is_503_only_when_everything_is_unavailable() {
        let unavailable = || {
            let mut e = ServerError::new("x", None);
            e.extensions.get_or_insert_with(Default::default).set("code", "SERVICE_UNAVAILABLE");
            e
        };
        let down = async_graphql::Response::from_errors(vec![unavailable(), unavailable()]);
        assert_eq!(graphql_status([&down]), StatusCode::SERVICE_UNAVAILABLE);
        let mut other = unavailable();
        other.extensions.get_or_insert_with(Default::default).set("code", "INTERNAL");
        let mixed = async_graphql::Response::from_errors(vec![unavailable(), other]);
        assert_eq!(graphql_status([&mixed]), StatusCode::OK);
        let partial = async_graphql::Response::new(async_graphql::Value::from("data"));
        assert_eq!(graphql_status([&down, &partial]), StatusCode::OK);
        assert_eq!(graphql_status([&down, &down]), StatusCode::SERVICE_UNAVAILABLE);
    }
}
