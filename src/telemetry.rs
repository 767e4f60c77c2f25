//! Structured logs: readable text in development, JSON lines in production. Filter with
//! `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

use crate::config::Mode;

pub fn init(mode: Mode) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = match mode {
        Mode::Production => builder.json().flatten_event(true).with_current_span(true).try_init(),
        Mode::Development => builder.try_init(),
    };
}
