//! OpenTelemetry: the real binary, with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at an
//! in-process OTLP/HTTP collector, exports a span per HTTP request (child of the caller's
//! W3C `traceparent`), per GraphQL operation (name, type, organization, cost) and per SQL
//! statement; with the variable unset, it exports nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Value, json};

use crate::cli::{free_port, start_serve, temp_dir, terminate};
use crate::support::{self, Backend};

type Received = Arc<Mutex<Vec<Bytes>>>;

/// An OTLP/HTTP collector that keeps every `/v1/traces` body.
async fn collector() -> (String, Received) {
    let received: Received = Arc::default();
    let keep = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let keep = keep.clone();
            async move {
                if let Ok(mut k) = keep.lock() {
                    k.push(body);
                }
                ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind collector");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("collector") });
    (format!("http://{addr}"), received)
}

fn spans(received: &Received) -> (Vec<Span>, Vec<String>) {
    let bodies = received.lock().map(|b| b.clone()).unwrap_or_default();
    let mut spans = Vec::new();
    let mut services = Vec::new();
    for body in bodies {
        let req = ExportTraceServiceRequest::decode(body.as_ref()).expect("an OTLP protobuf export");
        for rs in req.resource_spans {
            if let Some(r) = &rs.resource {
                services.extend(attr(&r.attributes, "service.name"));
            }
            for ss in rs.scope_spans {
                spans.extend(ss.spans);
            }
        }
    }
    (spans, services)
}

fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    let v = attrs.iter().find(|kv| kv.key == key)?.value.as_ref()?.value.as_ref()?;
    Some(match v {
        any_value::Value::StringValue(s) => s.clone(),
        any_value::Value::IntValue(i) => i.to_string(),
        any_value::Value::BoolValue(b) => b.to_string(),
        any_value::Value::DoubleValue(d) => d.to_string(),
        other => format!("{other:?}"),
    })
}

async fn post(port: u16, token: &str, traceparent: Option<&str>, query: &str, variables: Value) -> Value {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut req = client
            .post(format!("http://127.0.0.1:{port}/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(tp) = traceparent {
            req = req.header("traceparent", tp);
        }
        match req.send().await {
            Ok(r) => return r.json().await.expect("json"),
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("annex never answered: {e}"),
        }
    }
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";

async fn database_url(backend: Backend, dir: &std::path::Path) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(format!("sqlite://{}/annex.db?mode=rwc", dir.display())),
        Backend::Postgres => match support::postgres_base_url() {
            Some(base) => Some(support::fresh_postgres_database(&base).await),
            None => None,
        },
    }
}

async fn exports_request_operation_and_sql_spans(backend: Backend) {
    annex::init_crypto();
    let dir = temp_dir();
    let Some(url) = database_url(backend, &dir).await else { return };
    let (endpoint, received) = collector().await;
    let port = free_port();
    let (mut child, token) = start_serve(
        &dir,
        port,
        &[
            ("DATABASE_URL", url),
            ("ANNEX_MODE", "development".into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_SERVICE_NAME", "annex-under-test".into()),
            ("OTEL_BSP_SCHEDULE_DELAY", "50".into()),
        ],
    );
    let traceparent = format!("00-{TRACE_ID}-{PARENT_SPAN_ID}-01");
    let made = post(
        port,
        &token,
        Some(&traceparent),
        "mutation MakeOrg($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id } } }",
        json!({ "i": { "name": "Traced", "slug": "traced" } }),
    )
    .await;
    let org = made["data"]["createOrganization"]["organization"]["id"].as_str().expect("org id").to_owned();
    post(port, &token, None, "query OrgName($o: ID!) { organization(id: $o) { name } }", json!({ "o": org })).await;

    // The batch exporter sends within its schedule delay; wait for the second operation.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (all, services) = loop {
        let (all, services) = spans(&received);
        if all.iter().any(|s| s.name == "query OrgName") || Instant::now() > deadline {
            break (all, services);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    terminate(&mut child);
    assert!(services.iter().all(|s| s == "annex-under-test") && !services.is_empty(), "{services:?}");
    let by_name: HashMap<&str, &Span> = all.iter().map(|s| (s.name.as_str(), s)).collect();
    let names: Vec<&str> = by_name.keys().copied().collect();

    // The HTTP request joins the caller's trace.
    let mutation = by_name.get("mutation MakeOrg").unwrap_or_else(|| panic!("operation span in {names:?}"));
    assert_eq!(hex::encode(&mutation.trace_id), TRACE_ID, "the operation is in the caller's trace");
    let request = all
        .iter()
        .find(|s| s.name == "POST /graphql" && hex::encode(&s.trace_id) == TRACE_ID)
        .unwrap_or_else(|| panic!("request span in {names:?}"));
    assert_eq!(hex::encode(&request.parent_span_id), PARENT_SPAN_ID, "child of the traceparent's span");
    assert_eq!(attr(&request.attributes, "http.response.status_code").as_deref(), Some("200"));
    assert_eq!(mutation.parent_span_id, request.span_id, "the operation runs inside the request");

    // The operation carries its name, type, organization and cost.
    assert_eq!(attr(&mutation.attributes, "graphql.operation.type").as_deref(), Some("mutation"));
    assert_eq!(attr(&mutation.attributes, "graphql.operation.name").as_deref(), Some("MakeOrg"));
    let query = by_name.get("query OrgName").unwrap_or_else(|| panic!("query span in {names:?}"));
    assert_ne!(hex::encode(&query.trace_id), TRACE_ID, "no traceparent: a trace of its own");
    assert_eq!(attr(&query.attributes, "annex.organization_id").as_deref(), Some(org.as_str()));
    let requested: u64 = attr(&query.attributes, "annex.cost.requested").and_then(|c| c.parse().ok()).unwrap_or(0);
    let actual: u64 = attr(&query.attributes, "annex.cost.actual").and_then(|c| c.parse().ok()).unwrap_or(0);
    assert!(requested >= 1 && actual >= 1, "cost {requested}/{actual}");

    // SQL statements are child spans of the operation that ran them.
    let system = if backend == Backend::Sqlite { "sqlite" } else { "postgresql" };
    let sql: Vec<&Span> = all
        .iter()
        .filter(|s| s.parent_span_id == query.span_id && attr(&s.attributes, "db.system").is_some())
        .collect();
    assert!(!sql.is_empty(), "SQL spans under the operation, in {names:?}");
    assert!(sql.iter().all(|s| attr(&s.attributes, "db.system").as_deref() == Some(system)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_export_request_operation_and_sql_spans_sqlite() {
    exports_request_operation_and_sql_spans(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_export_request_operation_and_sql_spans_postgres() {
    exports_request_operation_and_sql_spans(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_are_off_without_an_endpoint() {
    annex::init_crypto();
    let dir = temp_dir();
    let (endpoint, received) = collector().await;
    let port = free_port();
    // The endpoint is known only under another name: nothing may be exported.
    let (mut child, token) = start_serve(&dir, port, &[("NOT_OTEL_ENDPOINT", endpoint)]);
    let body =
        post(port, &token, Some(&format!("00-{TRACE_ID}-{PARENT_SPAN_ID}-01")), "{ viewer { subject } }", json!({}))
            .await;
    assert_eq!(body["data"]["viewer"]["subject"], "dev-admin", "{body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    terminate(&mut child);
    assert!(spans(&received).0.is_empty(), "no OTLP export without OTEL_EXPORTER_OTLP_ENDPOINT");
}
