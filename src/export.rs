//! `GET /organizations/{id}/soa.csv`: the Statement of Applicability as a spreadsheet-safe
//! CSV, with the same Bearer auth and roles as reading controls.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::Operation;
use crate::domain::soa::csv_cell;
use crate::error::AppError;
use crate::graphql::soa::soa_rows;
use crate::http::{AppState, RequestId, authenticate, error_response};
use crate::ids::{self, Kind};
use crate::store::catalog::Catalog;
use crate::store::soa as store;

pub const CSV_HEADER: &str = "standard,ref,title,group,applicable,justification,status,owner,mapped_refs";

fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::BadUserInput { .. } => StatusCode::BAD_REQUEST,
        AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        AppError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub async fn soa_csv(
    State(st): State<AppState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let actor = match authenticate(&st, &headers, &rid).await {
        Ok(Some(a)) => a,
        Ok(None) => {
            let e = AppError::Unauthenticated("authentication required: send Authorization: Bearer <JWT>".into());
            return error_response(StatusCode::UNAUTHORIZED, &e, &rid);
        }
        Err(resp) => return resp,
    };
    let result = async {
        // A malformed id names nothing: 404 like any missing or foreign organization.
        let Some((Kind::Organization, org)) = ids::decode(&id) else { return Err(AppError::not_found("organization")) };
        let reader = st.gate.read(&actor, org, Operation::ReadControls).await?;
        let slug = crate::store::org::slug_of(&reader).await?;
        let rows = store::all_controls(&reader).await?;
        let catalog: &Catalog = &st.catalog;
        let rows = soa_rows(catalog, rows).await?;
        let mut out = String::with_capacity(rows.len() * 160);
        out.push_str(CSV_HEADER);
        out.push_str("\r\n");
        for r in rows {
            let cells = [
                r.standard.as_str().to_string(),
                r.reference,
                r.title,
                r.group,
                if r.applicable { "yes".into() } else { "no".into() },
                r.justification.unwrap_or_default(),
                crate::domain::soa::ImplementationStatus::from(r.status).as_str().to_string(),
                r.owner.unwrap_or_default(),
                r.mapped_refs.join("; "),
            ];
            let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        Ok::<_, AppError>((slug, out))
    }
    .await;
    match result {
        Ok((slug, body)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{slug}-soa.csv\"")),
            ],
            body,
        )
            .into_response(),
        Err(e) => error_response(status_of(&e), &e, &rid),
    }
}
