//! The HTTP surface: `/graphql` (POST, GET, WebSocket), `/healthz`, `/readyz`,
//! `/metrics` and the SoA CSV export, with request ids, timeouts, body limits, CORS,
//! CSRF protection for simple requests, and the WebSocket's own door: message size,
//! `connection_init` timeout, closing when the token expires, re-authentication.
//! Rate limits, per-operation timeouts and query limits apply per GraphQL operation, to
//! every transport alike (`graphql::extensions`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols, WsMessage};
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, Data};
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{DefaultBodyLimit, Query, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::Notify;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::SizeAbove;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

use crate::auth::{Caller, TokenVerifier};
use crate::config::{Config, Mode};
use crate::db::Database;
use crate::error::{AppError, add_retry_after, graphql_status};
use crate::graphql::AppSchema;
use crate::graphql::context::{Session, WsConnection, new_request_id};
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
        .route("/graphiql/assets/{name}", get(crate::graphiql::asset))
        .route("/organizations/{id}/soa.csv", get(crate::export::soa_csv))
        .route("/organizations/{id}/imports/{kind}", axum::routing::post(crate::import::import))
        .layer(DefaultBodyLimit::max(body_limit))
        // Large answers (SoA exports, big pages, introspection) compressed when the client
        // accepts it; small ones are not worth the CPU.
        .layer(CompressionLayer::new().gzip(true).br(true).compress_when(SizeAbove::new(COMPRESS_ABOVE_BYTES)))
        .layer(middleware::from_fn_with_state(state.clone(), request_context))
        .layer(cors(&state.config.cors_origins))
        .with_state(state)
}

/// CORS for browser dashboards on other origins: only the allow-listed ones
/// (`ANNEX_CORS_ORIGINS`; none by default), no credentials (tokens travel in
/// `Authorization`), `Vary: Origin` always.
fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("x-annex-csrf"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
        .allow_credentials(false)
        .max_age(Duration::from_secs(600))
        .vary([header::ORIGIN])
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
        otel.name = %format_args!("{} {}", req.method(), req.uri().path()),
        otel.kind = "server",
        request_id = %rid,
        client_request_id = ids.client.as_deref().unwrap_or("-"),
        method = %req.method(),
        path = %req.uri().path(),
        http.response.status_code = tracing::field::Empty,
    );
    crate::telemetry::adopt_remote_parent(&span, req.headers());
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
    span.record("http.response.status_code", resp.status().as_u16());
    span.in_scope(|| {
        tracing::info!(
            status = resp.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request done"
        )
    });
    resp
}

/// Verifies the bearer token, if any (the rate limit is per operation, in the schema).
pub async fn authenticate(st: &AppState, headers: &HeaderMap) -> Result<Option<Caller>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
        return Err(AppError::Unauthenticated("the Authorization header must be `Bearer <JWT>`".into()));
    };
    Ok(Some(st.verifier.verify(token).await?))
}

/// True for a response that failed as a request (parse, validation, variable coercion,
/// limits): no data, and no error that belongs to a field.
fn is_request_error(r: &async_graphql::Response) -> bool {
    r.data == async_graphql::Value::Null && !r.errors.is_empty() && r.errors.iter().all(|e| e.path.is_empty())
}

/// The serialized GraphQL answer. 503 (with `Retry-After`) when nothing but
/// `SERVICE_UNAVAILABLE` came back, 429 (with `Retry-After`) when nothing but
/// `RATE_LIMITED`. With `Accept: application/graphql-response+json` (GraphQL over HTTP),
/// a request error is 400 and carries no `data`; with `application/json` it stays 200.
fn graphql_answer(headers: &HeaderMap, resp: &BatchResponse) -> Response {
    let status = match resp {
        BatchResponse::Single(r) => graphql_status([r]),
        BatchResponse::Batch(rs) => graphql_status(rs),
    };
    let content_type = response_content_type(headers);
    let graphql_response = content_type == GRAPHQL_RESPONSE;
    let (status, body) = match resp {
        BatchResponse::Single(r) if graphql_response && status == StatusCode::OK && is_request_error(r) => {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.remove("data");
            }
            (StatusCode::BAD_REQUEST, v.to_string())
        }
        _ => (status, serde_json::to_string(resp).unwrap_or_else(|_| "{}".into())),
    };
    let mut answer = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    if matches!(status, StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS) {
        add_retry_after(&mut answer);
    }
    answer
}

/// Responses at least this large are compressed (gzip or brotli, as the client accepts).
pub const COMPRESS_ABOVE_BYTES: u16 = 2048;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

fn has_csrf_header(headers: &HeaderMap) -> bool {
    headers.get("x-annex-csrf").and_then(|v| v.to_str().ok()).is_some_and(|v| !v.trim().is_empty())
}

fn is_csrf_simple(headers: &HeaderMap) -> bool {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let simple =
        matches!(essence.as_str(), "" | "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data");
    simple && !has_csrf_header(headers)
}

fn response_content_type(headers: &HeaderMap) -> &'static str {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.contains(GRAPHQL_RESPONSE) { GRAPHQL_RESPONSE } else { "application/json" }
}

async fn graphql_post(
    State(st): State<AppState>,
    Extension(ids): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if headers.get(header::CONTENT_TYPE).is_none() {
        let e = AppError::UnsupportedMediaType("send Content-Type: application/json".into());
        return ids.error(&e);
    }
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
    /// JSON object (e.g. `{"persistedQuery": {"version": 1, "sha256Hash": "…"}}`).
    extensions: Option<String>,
}

async fn graphql_get(
    State(st): State<AppState>,
    Extension(ids): Extension<RequestId>,
    headers: HeaderMap,
    Query(params): Query<GetParams>,
) -> Response {
    let extensions = match params.extensions.as_deref().map(serde_json::from_str::<async_graphql::Extensions>) {
        None => Default::default(),
        Some(Ok(e)) => e,
        Some(Err(_)) => return ids.error(&AppError::bad_input("extensions", "extensions is not a JSON object")),
    };
    let persisted = extensions.contains_key("persistedQuery");
    let query = match params.query {
        Some(q) => q,
        None if persisted => String::new(),
        None => {
            if st.config.mode == Mode::Development {
                return crate::graphiql::page("/graphql", "/graphql/ws");
            }
            let e = AppError::BadUserInput {
                field: Some("query".into()),
                message: "GET /graphql needs a query parameter".into(),
            };
            return ids.error(&e);
        }
    };
    let mut request = async_graphql::Request::new(query);
    request.extensions = extensions;
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
    // A cross-site GET cannot carry a custom header without a CORS preflight.
    if !has_csrf_header(&headers) {
        let e = AppError::BadUserInput {
            field: None,
            message: "GET /graphql needs a non-empty x-annex-csrf header (or send the query with POST)".into(),
        };
        return ids.error(&e);
    }
    let caller = match authenticate(&st, &headers).await {
        Ok(c) => c,
        Err(e) => return ids.error(&e),
    };
    let session = Session { caller, request_id: Some(ids.id.clone()), client_request_id: ids.client.clone() };
    let resp = st.schema.execute(request.data(session)).await;
    graphql_answer(&headers, &BatchResponse::Single(resp))
}

/// The bearer token of a `connection_init` or re-authentication `ping` payload:
/// `Authorization: Bearer …` (either case) or `token`.
fn payload_token(payload: &serde_json::Value) -> Option<String> {
    payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"))
        .and_then(|v| v.as_str())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .or_else(|| payload.get("token").and_then(|v| v.as_str()))
        .map(str::to_string)
}

/// graphql-transport-ws (and legacy graphql-ws). The token comes in the
/// `connection_init` payload; the verified caller stays in the connection data, and every
/// operation gets its own id and `Actor` (rights read again), under the same rate limit,
/// query limits and timeouts as HTTP, at most `ANNEX_WS_MAX_OPERATIONS` at once. The
/// socket closes with 4408 when `connection_init` does not come within
/// `ANNEX_WS_INIT_TIMEOUT_SECS`, and with 4401 when the token expires, unless the client
/// re-authenticates first with `{"type": "ping", "payload": {"authorization": "Bearer …"}}`
/// (a token of the same subject; the pong says until when).
async fn graphql_ws(
    State(st): State<AppState>,
    Extension(ids): Extension<RequestId>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|list| list.split(',').find_map(|p| p.trim().parse::<WebSocketProtocols>().ok()));
    let Some(protocol) = protocol else {
        let e = AppError::BadUserInput {
            field: None,
            message: "ask for the graphql-transport-ws (or graphql-ws) subprotocol".into(),
        };
        return ids.error(&e);
    };
    let max = st.config.limits.max_body_bytes;
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| serve_ws(st, ids, protocol, socket))
}

async fn serve_ws(st: AppState, ids: RequestId, protocol: WebSocketProtocols, socket: WebSocket) {
    let _open = crate::metrics::WsConnectionGuard::open(st.metrics.clone());
    let (mut sink, stream) = socket.split();
    let input = stream.take_while(|m| futures_util::future::ready(m.is_ok())).filter_map(|m| {
        futures_util::future::ready(match m {
            Ok(Message::Text(t)) => Some(t.as_bytes().to_vec()),
            Ok(Message::Binary(b)) => Some(b.to_vec()),
            _ => None,
        })
    });
    let connection: Arc<std::sync::Mutex<Option<WsConnection>>> = Arc::default();
    let changed = Arc::new(Notify::new());
    let max_operations = st.config.limits.ws_max_operations;

    let init = {
        let (st, connection, changed) = (st.clone(), connection.clone(), changed.clone());
        move |payload: serde_json::Value| async move {
            let Some(token) = payload_token(&payload) else {
                return Err(AppError::Unauthenticated("connection_init needs a token".into()).into());
            };
            let caller = st.verifier.verify(&token).await?;
            let ws = WsConnection {
                auth: Arc::new(std::sync::RwLock::new(caller)),
                operations: Arc::new(tokio::sync::Semaphore::new(max_operations)),
                max_operations,
                client_request_id: ids.client,
            };
            if let Ok(mut slot) = connection.lock() {
                *slot = Some(ws.clone());
            }
            changed.notify_one();
            let mut data = Data::default();
            data.insert(ws);
            Ok(data)
        }
    };
    let ping = {
        let (verifier, changed) = (st.verifier.clone(), changed.clone());
        move |data: Option<&Data>, payload: Option<serde_json::Value>| {
            let ws = data
                .and_then(|d| d.get(&std::any::TypeId::of::<WsConnection>()))
                .and_then(|d| d.downcast_ref::<WsConnection>().cloned());
            async move {
                let (Some(ws), Some(token)) = (ws, payload.as_ref().and_then(payload_token)) else {
                    return Ok(None);
                };
                let caller = verifier.verify(&token).await?;
                let same = ws.caller().is_some_and(|c| c.subject == caller.subject);
                if !same {
                    return Err(AppError::Unauthenticated("re-authentication must keep the same subject".into()).into());
                }
                let expires_at = caller.expires_at;
                if let Ok(mut auth) = ws.auth.write() {
                    *auth = caller;
                }
                changed.notify_one();
                Ok(Some(serde_json::json!({ "authenticated": true, "expiresAt": expires_at })))
            }
        }
    };
    let messages =
        async_graphql::http::WebSocket::new(st.schema.clone(), input, protocol).on_connection_init(init).on_ping(ping);
    futures_util::pin_mut!(messages);

    let init_deadline = tokio::time::sleep(st.config.limits.ws_init_timeout);
    futures_util::pin_mut!(init_deadline);
    loop {
        let caller = connection.lock().ok().and_then(|c| c.as_ref().and_then(WsConnection::caller));
        let initialised = caller.is_some();
        let expiry = caller.as_ref().and_then(Caller::remaining).unwrap_or(Duration::from_secs(86_400 * 365));
        tokio::select! {
            msg = messages.next() => match msg {
                Some(WsMessage::Text(text)) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    break;
                }
                None => break,
            },
            _ = &mut init_deadline, if !initialised => {
                let frame = CloseFrame { code: 4408, reason: "Connection initialisation timeout".into() };
                let _ = sink.send(Message::Close(Some(frame))).await;
                break;
            }
            _ = tokio::time::sleep(expiry), if initialised => {
                if caller.as_ref().is_some_and(Caller::expired) {
                    let frame = CloseFrame { code: 4401, reason: "Unauthorized: the token has expired".into() };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    break;
                }
            }
            _ = changed.notified() => {}
        }
    }
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
