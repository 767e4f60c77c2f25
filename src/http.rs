//! The HTTP surface: `/graphql` (POST, GET, WebSocket), `/healthz`, `/readyz`,
//! `/metrics` and the SoA CSV export, with request ids, timeouts, body limits, CSRF
//! protection for simple requests and per-subject rate limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, Data};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;
use tracing::Instrument;

use crate::auth::{Caller, TokenVerifier};
use crate::config::{Config, Mode};
use crate::db::Database;
use crate::error::{AppError, add_retry_after, graphql_status};
use crate::graphql::AppSchema;
use crate::graphql::context::{Session, new_request_id};
use crate::metrics::Metrics;
use crate::store::Gate;

#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub verifier: Arc<TokenVerifier>,
    pub db: Database,
    pub gate: Gate,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
    pub limiter: Arc<RateLimiter>,
    pub catalog: Arc<crate::store::catalog::Catalog>,
}

/// The ids of one HTTP request: the service's own (UUIDv7, the `x-request-id` of the
/// response) and the `x-request-id` the client sent, when sane (logged and echoed as
/// `clientRequestId`, never used as the service's id).
#[derive(Clone, Debug)]
pub struct RequestId {
    pub id: String,
    pub client: Option<String>,
}

impl RequestId {
    /// The HTTP answer for an error (the one exit of every handler).
    pub fn error(&self, e: &AppError) -> Response {
        e.to_http(&self.id, self.client.as_deref())
    }
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.config.limits.max_body_bytes;
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/organizations/{id}/soa.csv", get(crate::export::soa_csv))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), request_context))
        .with_state(state)
}

fn valid_request_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// Request id (always the service's; the client's kept beside it), tracing span, timeout.
async fn request_context(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let client = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_request_id(v))
        .map(str::to_string);
    let ids = RequestId { id: new_request_id(), client };
    let rid = ids.id.clone();
    req.extensions_mut().insert(ids.clone());
    let span = tracing::info_span!(
        "request",
        request_id = %rid,
        client_request_id = ids.client.as_deref().unwrap_or("-"),
        method = %req.method(),
        path = %req.uri().path()
    );
    let started = Instant::now();
    let is_ws = req.uri().path() == "/graphql/ws";
    let fut = next.run(req).instrument(span.clone());
    let mut resp = if is_ws {
        fut.await
    } else {
        match tokio::time::timeout(st.config.limits.request_timeout, fut).await {
            Ok(r) => r,
            Err(_) => {
                let _g = span.enter();
                tracing::warn!("request timed out");
                ids.error(&AppError::ServiceUnavailable("request timed out".into()))
            }
        }
    };
    if let Ok(v) = HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-request-id", v);
    }
    span.in_scope(|| {
        tracing::info!(
            status = resp.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request done"
        )
    });
    resp
}

/// Verifies the bearer token, if any, and applies the rate limit.
pub async fn authenticate(st: &AppState, headers: &HeaderMap) -> Result<Option<Caller>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
        return Err(AppError::Unauthenticated("the Authorization header must be `Bearer <JWT>`".into()));
    };
    let caller = st.verifier.verify(token).await?;
    if !st.limiter.allow(&caller.subject) {
        return Err(AppError::RateLimited(format!(
            "rate limit of {} requests per minute exceeded; retry shortly",
            st.config.rate_limit_per_minute
        )));
    }
    Ok(Some(caller))
}

/// The serialized GraphQL answer: 503 with `Retry-After` when nothing but
/// `SERVICE_UNAVAILABLE` came back, else 200.
fn graphql_answer(headers: &HeaderMap, resp: &BatchResponse) -> Response {
    let status = match resp {
        BatchResponse::Single(r) => graphql_status([r]),
        BatchResponse::Batch(rs) => graphql_status(rs),
    };
    let body = serde_json::to_string(resp).unwrap_or_else(|_| "{}".into());
    let mut answer = (status, [(header::CONTENT_TYPE, response_content_type(headers))], body).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        add_retry_after(&mut answer);
    }
    answer
}

fn is_csrf_simple(headers: &HeaderMap) -> bool {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let simple =
        matches!(essence.as_str(), "" | "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data");
    let has_token = headers.get("x-annex-csrf").and_then(|v| v.to_str().ok()).is_some_and(|v| !v.trim().is_empty());
    simple && !has_token
}

fn response_content_type(headers: &HeaderMap) -> &'static str {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.contains("application/graphql-response+json") {
        "application/graphql-response+json"
    } else {
        "application/json"
    }
}

async fn graphql_post(
    State(st): State<AppState>,
    Extension(ids): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if is_csrf_simple(&headers) {
        let e = AppError::BadUserInput {
            field: None,
            message: "send Content-Type: application/json (or a non-empty x-annex-csrf header)".into(),
        };
        return ids.error(&e);
    }
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            let e = AppError::BadUserInput { field: None, message: format!("the body is not a GraphQL request: {e}") };
            return ids.error(&e);
        }
    };
    if batch.iter().count() > st.config.limits.max_batch {
        let e = AppError::QueryTooComplex(format!("a batch takes at most {} operations", st.config.limits.max_batch));
        return ids.error(&e);
    }
    let caller = match authenticate(&st, &headers).await {
        Ok(c) => c,
        Err(e) => return ids.error(&e),
    };
    // One operation: it is the HTTP request, and takes its id. A batch: one id each.
    let request_id = matches!(batch, BatchRequest::Single(_)).then(|| ids.id.clone());
    let batch = batch.data(Session { caller, request_id, client_request_id: ids.client.clone() });
    let resp = st.schema.execute_batch(batch).await;
    graphql_answer(&headers, &resp)
}

#[derive(Deserialize)]
struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
}

async fn graphql_get(
    State(st): State<AppState>,
    Extension(ids): Extension<RequestId>,
    headers: HeaderMap,
    Query(params): Query<GetParams>,
) -> Response {
    let Some(query) = params.query else {
        if st.config.mode == Mode::Development {
            return Html(
                GraphiQLSource::build()
                    .endpoint("/graphql")
                    .subscription_endpoint("/graphql/ws")
                    .title("Annex")
                    .finish(),
            )
            .into_response();
        }
        let e = AppError::BadUserInput {
            field: Some("query".into()),
            message: "GET /graphql needs a query parameter".into(),
        };
        return ids.error(&e);
    };
    let mut request = async_graphql::Request::new(query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(vars) = params.variables {
        match serde_json::from_str(&vars) {
            Ok(v) => request = request.variables(async_graphql::Variables::from_json(v)),
            Err(_) => {
                let e = AppError::bad_input("variables", "variables is not a JSON object");
                return ids.error(&e);
            }
        }
    }
    // Queries only over GET: a mutation would be a cross-site request forgery vector.
    let name = request.operation_name.clone();
    if let Ok(doc) = request.parsed_query() {
        let op = match (&doc.operations, name) {
            (async_graphql::parser::types::DocumentOperations::Single(op), _) => Some(op.node.ty),
            (ops, Some(n)) => {
                ops.iter().find(|(k, _)| k.map(|k| k.as_str()) == Some(n.as_str())).map(|(_, o)| o.node.ty)
            }
            (ops, None) => ops.iter().next().map(|(_, o)| o.node.ty),
        };
        if matches!(op, Some(OperationType::Mutation | OperationType::Subscription)) {
            let e = AppError::MethodNotAllowed("GET /graphql runs queries only; send mutations with POST".into());
            return ids.error(&e);
        }
    }
    let caller = match authenticate(&st, &headers).await {
        Ok(c) => c,
        Err(e) => return ids.error(&e),
    };
    let session = Session { caller, request_id: Some(ids.id.clone()), client_request_id: ids.client.clone() };
    let resp = st.schema.execute(request.data(session)).await;
    graphql_answer(&headers, &BatchResponse::Single(resp))
}

/// graphql-transport-ws (and legacy graphql-ws). The token comes in the
/// `connection_init` payload as `Authorization: Bearer …` or `token`; the verified caller
/// stays in the connection data, and every operation gets its own id and `Actor`.
async fn graphql_ws(
    State(st): State<AppState>,
    Extension(ids): Extension<RequestId>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let schema = st.schema.clone();
    upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |stream| {
        GraphQLWebSocket::new(stream, schema, protocol)
            .on_connection_init(move |payload| async move {
                let token = payload
                    .get("Authorization")
                    .or_else(|| payload.get("authorization"))
                    .and_then(|v| v.as_str())
                    .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                    .or_else(|| payload.get("token").and_then(|v| v.as_str()))
                    .map(str::to_string);
                let Some(token) = token else {
                    return Err(AppError::Unauthenticated("connection_init needs a token".into()).into());
                };
                let caller = st.verifier.verify(&token).await?;
                let mut data = Data::default();
                data.insert(Session { caller: Some(caller), request_id: None, client_request_id: ids.client });
                Ok(data)
            })
            .serve()
    })
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(st): State<AppState>) -> Response {
    if st.db.ping(Duration::from_secs(2)).await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    }
}

async fn metrics(State(st): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], st.metrics.render(&st.db)).into_response()
}

/// Fixed one-minute windows per subject, per replica (documented as such).
pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, windows: Mutex::new(HashMap::new()) }
    }

    pub fn allow(&self, subject: &str) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let minute = chrono::Utc::now().timestamp() as u64 / 60;
        let Ok(mut w) = self.windows.lock() else {
            return true;
        };
        if w.len() > 100_000 {
            w.retain(|_, (m, _)| *m == minute);
        }
        let entry = w.entry(subject.to_string()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_minute
    }
}
