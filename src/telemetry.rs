//! Structured logs and OpenTelemetry traces.
//!
//! * Logs: readable text in development, JSON lines in production. Filter with `RUST_LOG`
//!   (default `info`).
//! * Traces: exported over OTLP/HTTP (protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT` is set
//!   (the standard OpenTelemetry variables apply: `OTEL_SERVICE_NAME`, default `annex`;
//!   `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_SCHEDULE_DELAY`, …); off when it is not. Spans:
//!   one per HTTP request (its parent taken from the W3C `traceparent` header), one per
//!   GraphQL operation (name, type, organization, cost), and one per SQL statement (from
//!   sea-orm's `tracing-spans`).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::Mode;

/// The trace pipeline, flushed and shut down when dropped (at the end of `main`).
#[must_use = "dropping the guard shuts the trace exporter down"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// True when spans are exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("annex: flushing traces: {e}");
        }
    }
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

/// The OTLP pipeline, when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-only variant) is set.
fn tracer_provider() -> Option<SdkTracerProvider> {
    if !env_set("OTEL_EXPORTER_OTLP_ENDPOINT") && !env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        return None;
    }
    // The exporter's HTTP client uses rustls with the process's provider.
    crate::init_crypto();
    let exporter = match opentelemetry_otlp::SpanExporter::builder().with_http().build() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("annex: OTLP trace exporter disabled: {e}");
            return None;
        }
    };
    let mut resource = opentelemetry_sdk::Resource::builder();
    if !env_set("OTEL_SERVICE_NAME") {
        resource = resource.with_service_name("annex");
    }
    Some(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource.build()).build())
}

pub fn init(mode: Mode) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let logs = match mode {
        Mode::Production => fmt.json().flatten_event(true).with_current_span(true).with_filter(filter).boxed(),
        Mode::Development => fmt.with_filter(filter).boxed(),
    };
    let provider = tracer_provider();
    // Traces have their own filter: SQL statement spans (target `sea_orm`) are exported
    // even though the log filter keeps sea-orm quiet.
    let traces = provider.as_ref().map(|p| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("annex"))
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    let _ = tracing_subscriber::registry().with(logs).with(traces).try_init();
    Telemetry { provider }
}

/// Makes `span` a child of the W3C trace context in `headers` (`traceparent`,
/// `tracestate`), when there is one and traces are exported.
pub fn adopt_remote_parent(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&opentelemetry_http::HeaderExtractor(headers)));
    // Refused only when no OpenTelemetry layer is installed: nothing to join then.
    let _ = span.set_parent(parent);
}
