//! `POST /organizations/{id}/imports/{kind}[?dryRun=true]`: a spreadsheet (CSV in the
//! request body) into the risk register (`risks`) or the SoA (`soa`,
//! `controls-decisions`), all or nothing, with the Bearer auth and roles of the mutations
//! the rows stand for (`WriteRisks`, `UpdateControl`).
//!
//! Answers: 200 with the report when every row passed (written unless a dry run); 422
//! with the same report listing every bad cell by line and column when any did not
//! (nothing written); 413 past `ANNEX_MAX_IMPORT_BYTES`; 415 for a body that is not CSV;
//! the usual JSON errors for authentication, rights and unknown organizations.

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::domain::import::{self as sheet, ImportKind};
use crate::error::AppError;
use crate::http::{AppState, RequestId, authenticate};
use crate::ids::{self, Kind};
use crate::store::Actor;
use crate::store::import::{self as store, ImportReport};

#[derive(Deserialize, Default)]
pub struct ImportParams {
    /// `true`: check and report, write nothing.
    #[serde(rename = "dryRun", default)]
    dry_run: Option<String>,
}

/// Content types a CSV body may come with (none is read as CSV too).
const CSV_TYPES: [&str; 5] =
    ["text/csv", "application/csv", "text/plain", "application/octet-stream", "application/vnd.ms-excel"];

fn refuse(ids: &RequestId, status: StatusCode, field: &str, message: String) -> Response {
    let mut resp = ids.error(&AppError::BadUserInput { field: Some(field.into()), message });
    *resp.status_mut() = status;
    resp
}

pub async fn import(
    State(st): State<AppState>,
    Extension(ids): Extension<RequestId>,
    Path((id, kind)): Path<(String, String)>,
    Query(params): Query<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let caller = match authenticate(&st, &headers).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let e = AppError::Unauthenticated("authentication required: send Authorization: Bearer <JWT>".into());
            return ids.error(&e);
        }
        Err(e) => return ids.error(&e),
    };
    let Some((Kind::Organization, org)) = ids::decode(&id) else {
        return ids.error(&AppError::not_found("organization"));
    };
    let Some(kind) = ImportKind::parse(&kind) else {
        return refuse(
            &ids,
            StatusCode::NOT_FOUND,
            "kind",
            format!("no import of {kind:?}; the kinds are risks, soa and controls-decisions"),
        );
    };
    let dry_run = match params.dry_run.as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") | Some("") => true,
        Some(other) => {
            return refuse(
                &ids,
                StatusCode::BAD_REQUEST,
                "dryRun",
                format!("dryRun must be true or false, not {other:?}"),
            );
        }
    };
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let essence = ct.to_str().unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if !CSV_TYPES.contains(&essence.as_str()) {
            return refuse(
                &ids,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "body",
                format!("send the CSV itself as the body (Content-Type: text/csv), not {essence:?}"),
            );
        }
    }
    let max = st.config.limits.max_import_bytes;
    let bytes = match axum::body::to_bytes(body, max).await {
        Ok(b) => b,
        Err(_) => {
            return refuse(
                &ids,
                StatusCode::PAYLOAD_TOO_LARGE,
                "body",
                format!("the file is larger than {max} bytes (ANNEX_MAX_IMPORT_BYTES); split it"),
            );
        }
    };
    let actor = Actor::new(caller, ids.id.clone());
    let report = async {
        let mut report = ImportReport::new(kind, dry_run);
        let rows = match sheet::read_sheet(kind, &bytes) {
            Ok(s) => s,
            Err(errors) => {
                report.errors = errors;
                return Ok(report);
            }
        };
        match kind {
            ImportKind::Risks => match sheet::risk_rows(&rows) {
                Ok(r) => store::import_risks(&st.gate, &actor, org, r, dry_run).await,
                Err(errors) => Ok(ImportReport { rows: rows.rows.len(), errors, ..report }),
            },
            ImportKind::Soa | ImportKind::ControlDecisions => match sheet::soa_rows(&rows) {
                Ok(r) => store::import_soa(&st.gate, &actor, org, kind, r, dry_run).await,
                Err(errors) => Ok(ImportReport { rows: rows.rows.len(), errors, ..report }),
            },
        }
    }
    .await;
    actor.end_session().await;
    match report {
        Ok(r) => {
            let status = if r.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            match serde_json::to_string(&r) {
                Ok(json) => (status, [(header::CONTENT_TYPE, "application/json")], json).into_response(),
                Err(e) => ids.error(&AppError::internal(e.to_string())),
            }
        }
        Err(e) => ids.error(&e),
    }
}
