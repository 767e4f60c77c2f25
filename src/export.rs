//! `GET /organizations/{id}/soa.csv`: the Statement of Applicability as a spreadsheet-safe
//! CSV, with the same Bearer auth and roles as reading controls.
//!
//! The cells are written here rather than with the `csv` crate: its writer quotes a cell
//! only for its own delimiter, and every cell holding `;` must be quoted too (spreadsheets
//! in many locales split on `;`), besides the formula guard, which no CSV writer does.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::Operation;
use crate::error::AppError;
use crate::graphql::soa::soa_rows;
use crate::http::{AppState, RequestId, authenticate};
use crate::ids::{self, Kind};
use crate::store::Actor;
use crate::store::catalog::Catalog;
use crate::store::soa as store;

/// The columns. `applicable` is `yes` (INCLUDED), `no` (EXCLUDED) or `undecided`: an
/// untouched SoA never exports as applicable. `decision` and `inclusion_reasons` (joined
/// with `; `) come last so that positional readers of the first nine columns keep working.
pub const CSV_HEADER: &str =
    "standard,ref,title,group,applicable,justification,status,owner,mapped_refs,decision,inclusion_reasons";

/// Characters a spreadsheet may start a formula with (CSV injection).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];
/// Characters after which a spreadsheet may start a new cell: the separators of the
/// locales (`,` `;` tab) and line breaks.
const CELL_BREAKS: [char; 5] = [',', ';', '\t', '\r', '\n'];

/// One CSV cell that no spreadsheet evaluates: a formula start at the beginning of the
/// value, or after any separator inside it (spaces between ignored), gets a `'` before it;
/// a cell holding a separator, a quote or a line break is quoted per RFC 4180.
pub fn csv_cell(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    let mut cell_start = true;
    for c in value.chars() {
        if cell_start && FORMULA_STARTS.contains(&c) {
            out.push('\'');
        }
        out.push(c);
        if CELL_BREAKS.contains(&c) {
            cell_start = true;
        } else if c != ' ' {
            cell_start = false;
        }
    }
    if out.contains(CELL_BREAKS) || out.contains('"') { format!("\"{}\"", out.replace('"', "\"\"")) } else { out }
}

pub async fn soa_csv(
    State(st): State<AppState>,
    Extension(ids): Extension<RequestId>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = match authenticate(&st, &headers).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            let e = AppError::Unauthenticated("authentication required: send Authorization: Bearer <JWT>".into());
            return ids.error(&e);
        }
        Err(e) => return ids.error(&e),
    };
    let actor = Actor::new(caller, ids.id.clone());
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
                match crate::domain::soa::ControlDecision::from(r.decision) {
                    crate::domain::soa::ControlDecision::Included => "yes".into(),
                    crate::domain::soa::ControlDecision::Excluded => "no".into(),
                    crate::domain::soa::ControlDecision::Undecided => "undecided".into(),
                },
                r.justification.unwrap_or_default(),
                crate::domain::soa::ImplementationStatus::from(r.status).as_str().to_string(),
                r.owner.unwrap_or_default(),
                r.mapped_refs.join("; "),
                crate::domain::soa::ControlDecision::from(r.decision).as_str().to_string(),
                r.inclusion_reasons
                    .iter()
                    .map(|x| crate::domain::soa::InclusionReason::from(*x).as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
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
        Err(e) => ids.error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cells_are_quoted_and_guarded() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell(""), "");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("a-b"), "a-b");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("a;b"), "\"a;b\"");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_cell("bob;=HYPERLINK(\"http://x\")"), "\"bob;'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(csv_cell("a, +1"), "\"a, '+1\"");
        assert_eq!(csv_cell("a\n@x"), "\"a\n'@x\"");
        assert_eq!(csv_cell("x;\t=1"), "\"x;'\t'=1\"");
        assert_eq!(csv_cell("ISO27001:A.5.1; ISO42001:A.2.2"), "\"ISO27001:A.5.1; ISO42001:A.2.2\"");
    }

    /// What a spreadsheet sees after splitting an unquoted cell on any separator.
    fn pieces(cell: &str) -> Vec<String> {
        let inner = cell.strip_prefix('"').and_then(|c| c.strip_suffix('"')).map(|c| c.replace("\"\"", "\""));
        let inner = inner.unwrap_or_else(|| cell.to_string());
        inner.split(CELL_BREAKS).map(|p| p.trim_start_matches(' ').to_string()).collect()
    }

    proptest! {
        #[test]
        fn no_piece_starts_a_formula(s in "[=+@;,\t\r\n \"a-]{0,24}") {
            let cell = csv_cell(&s);
            for p in pieces(&cell) {
                prop_assert!(!p.starts_with(['=', '+', '-', '@']), "{cell:?} → {p:?}");
            }
            if s.contains(CELL_BREAKS) || s.contains('"') {
                prop_assert!(cell.starts_with('"') && cell.ends_with('"'));
            }
        }
    }
}
