//! Spreadsheet imports (CSV): reading the file and each cell into typed rows, with every
//! bad cell reported by line and column. Plain Rust: the store applies the rows.
//!
//! * A UTF-8 byte-order mark is skipped; the separator is `,` unless the header line holds
//!   more `;` than `,` (spreadsheets in many locales save with `;`). Quoting is RFC 4180
//!   as spreadsheets write it (`"a ""quoted"" word"`, line breaks inside quotes).
//! * The first line names the columns (case and surrounding spaces ignored, spaces inside
//!   read as `_`); their order is free. A column that is absent leaves the field as it is;
//!   an empty cell clears a field that may be empty and leaves a required one as it is.
//! * The formula guard of the SoA export (a `'` before a cell or separator-started piece
//!   that begins with `=`, `+`, `-` or `@`) is removed, so an export imports unchanged.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use crate::domain::refs::Standard;
use crate::domain::risk::{RiskCategory, RiskKind, RiskStatus, RiskTreatment};
use crate::domain::soa::{ControlDecision, ImplementationStatus, InclusionReason};

/// Rows one import may hold.
pub const MAX_IMPORT_ROWS: usize = 5_000;

/// What an import writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// The risk register, matched by `external_key`.
    Risks,
    /// The SoA as the export writes it, matched by `standard` and `ref`.
    Soa,
    /// The decisions only (`standard`, `ref`, `decision`, `justification`,
    /// `inclusion_reasons`).
    ControlDecisions,
}

impl ImportKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "risks" => Some(Self::Risks),
            "soa" => Some(Self::Soa),
            "controls-decisions" => Some(Self::ControlDecisions),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Risks => "risks",
            Self::Soa => "soa",
            Self::ControlDecisions => "controls-decisions",
        }
    }

    /// The columns a file of this kind may have; the first ones are required.
    pub fn columns(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Self::Risks => (&["external_key"], RISK_COLUMNS),
            // `title`, `group` and `mapped_refs` come from the catalog: accepted so that
            // an export imports as it is, never written.
            Self::Soa => (&["standard", "ref"], SOA_COLUMNS),
            Self::ControlDecisions => (&["standard", "ref", "decision"], DECISION_COLUMNS),
        }
    }
}

const SOA_COLUMNS: &[&str] = &[
    "title",
    "group",
    "applicable",
    "justification",
    "status",
    "owner",
    "mapped_refs",
    "decision",
    "inclusion_reasons",
];
const DECISION_COLUMNS: &[&str] = &["justification", "inclusion_reasons"];
const RISK_COLUMNS: &[&str] = &[
    "title",
    "description",
    "category",
    "kind",
    "likelihood",
    "impact",
    "residual_likelihood",
    "residual_impact",
    "treatment",
    "owner",
    "status",
    "review_date",
    "acceptance_justification",
    "accepted_by",
    "acceptance_expires_on",
];

/// One problem with the file: the line (1 is the header) and, for a cell, its column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportError {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl ImportError {
    pub fn new(line: u64, column: Option<&str>, message: impl Into<String>) -> Self {
        Self { line, column: column.map(str::to_string), message: message.into() }
    }
}

/// A file read into cells: the header's column names and each row with its line.
#[derive(Debug)]
pub struct Sheet {
    columns: HashMap<String, usize>,
    pub rows: Vec<(u64, Vec<String>)>,
}

impl Sheet {
    /// The cell of `column` in `row`, `None` when the file has no such column.
    pub fn cell<'a>(&self, row: &'a [String], column: &str) -> Option<&'a str> {
        self.columns.get(column).and_then(|i| row.get(*i)).map(String::as_str)
    }
}

fn column_name(raw: &str) -> String {
    raw.trim().to_ascii_lowercase().replace([' ', '-'], "_")
}

/// Reads `bytes` as a CSV of `kind`: the header checked against the kind's columns, at
/// most [`MAX_IMPORT_ROWS`] rows, each as long as the header. Errors name the line.
pub fn read_sheet(kind: ImportKind, bytes: &[u8]) -> Result<Sheet, Vec<ImportError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(vec![ImportError::new(1, None, "the file is empty: the first line must name the columns")]);
    }
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| first_line.iter().filter(|b| **b == c).count();
    let delimiter = if count(b';') > count(b',') { b';' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(bytes);
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(vec![csv_error(bytes, &e)]),
        None => return Err(vec![ImportError::new(1, None, "the file is empty: the first line must name the columns")]),
    };
    let (required, optional) = kind.columns();
    let mut errors = Vec::new();
    let mut columns = HashMap::new();
    for (i, raw) in header.iter().enumerate() {
        let name = column_name(raw);
        if !required.contains(&name.as_str()) && !optional.contains(&name.as_str()) {
            let known: Vec<&str> = required.iter().chain(optional).copied().collect();
            errors.push(ImportError::new(
                1,
                Some(raw.trim()),
                format!(
                    "unknown column {:?} for a {} import; the columns are: {}",
                    raw.trim(),
                    kind.as_str(),
                    known.join(", ")
                ),
            ));
        } else if columns.insert(name.clone(), i).is_some() {
            errors.push(ImportError::new(1, Some(&name), format!("column {name:?} appears twice")));
        }
    }
    for r in required {
        if !columns.contains_key(*r) {
            errors.push(ImportError::new(1, Some(r), format!("the column {r:?} is required")));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut rows = Vec::new();
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(csv_error(bytes, &e));
                // A broken record leaves the reader's position unreliable: stop here.
                break;
            }
        };
        let line = record.position().map(|p| line_at(bytes, p.byte())).unwrap_or_default();
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if record.len() != header.len() {
            errors.push(ImportError::new(
                line,
                None,
                format!("{} cells where the header has {}", record.len(), header.len()),
            ));
            continue;
        }
        if rows.len() == MAX_IMPORT_ROWS {
            errors.push(ImportError::new(line, None, format!("at most {MAX_IMPORT_ROWS} rows per import")));
            break;
        }
        rows.push((line, record.iter().map(unguard).collect()));
    }
    if errors.is_empty() { Ok(Sheet { columns, rows }) } else { Err(errors) }
}

/// The line (from 1) of a record at a byte offset. The csv crate's own line count misses
/// CRLF endings, and there a record's offset is that of the `\n` before it (counted too).
fn line_at(bytes: &[u8], offset: u64) -> u64 {
    let end = usize::try_from(offset).unwrap_or(usize::MAX).saturating_add(1).min(bytes.len());
    1 + bytes[..end].iter().filter(|b| **b == b'\n').count() as u64
}

fn csv_error(bytes: &[u8], e: &csv::Error) -> ImportError {
    let line = e.position().map(|p| line_at(bytes, p.byte())).unwrap_or(1);
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => ImportError::new(line, None, "the file must be UTF-8 text"),
        _ => ImportError::new(line, None, "this line cannot be read as CSV"),
    }
}

const FORMULA_STARTS: [char; 4] = ['=', '+', '-', '@'];
const CELL_BREAKS: [char; 5] = [',', ';', '\t', '\r', '\n'];

/// Removes the export's formula guard: a `'` where a piece of the cell starts (at the
/// start or after a separator, spaces between ignored) when a formula character follows.
/// The inverse of `export::csv_cell` for any value that has no `'` before a formula
/// character at such a place itself.
pub fn unguard(cell: &str) -> String {
    let mut out = String::with_capacity(cell.len());
    let mut chars = cell.chars().peekable();
    let mut piece_start = true;
    while let Some(c) = chars.next() {
        if piece_start
            && c == '\''
            && chars.peek().is_some_and(|n| FORMULA_STARTS.contains(n) || ['\t', '\r'].contains(n))
        {
            continue;
        }
        out.push(c);
        if CELL_BREAKS.contains(&c) {
            piece_start = true;
        } else if c != ' ' {
            piece_start = false;
        }
    }
    out
}

/// Reads cells into values, collecting one error per bad cell.
pub struct CellReader<'s> {
    sheet: &'s Sheet,
    pub errors: Vec<ImportError>,
}

/// A cell of a field that may be cleared: absent column `None`, empty cell `Some(None)`.
pub type Clearable<T> = Option<Option<T>>;

impl<'s> CellReader<'s> {
    pub fn new(sheet: &'s Sheet) -> Self {
        Self { sheet, errors: Vec::new() }
    }

    fn raw<'r>(&self, row: &'r [String], column: &str) -> Option<&'r str>
    where
        's: 'r,
    {
        self.sheet.cell(row, column).map(str::trim)
    }

    /// A text cell: `None` when the column is absent, `Some("")` when empty.
    pub fn text(&self, row: &[String], column: &str) -> Option<String> {
        self.raw(row, column).map(str::to_string)
    }

    /// A text that may be cleared.
    pub fn clearable_text(&self, row: &[String], column: &str) -> Clearable<String> {
        self.text(row, column).map(|t| (!t.is_empty()).then_some(t))
    }

    /// Parses a non-empty cell with `parse`; an error names the accepted values.
    fn parsed<T>(
        &mut self,
        line: u64,
        row: &[String],
        column: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: impl FnOnce() -> String,
    ) -> Clearable<T> {
        let v = self.raw(row, column)?;
        if v.is_empty() {
            return Some(None);
        }
        match parse(v) {
            Some(x) => Some(Some(x)),
            None => {
                self.errors.push(ImportError::new(line, Some(column), format!("{v:?} is not {}", expected())));
                None
            }
        }
    }

    /// A label of a `labelled!` enum (case-insensitive).
    pub fn label<T: Copy>(
        &mut self,
        line: u64,
        row: &[String],
        column: &str,
        all: &[T],
        as_str: fn(T) -> &'static str,
    ) -> Clearable<T> {
        let names = || format!("one of {}", all.iter().map(|v| as_str(*v)).collect::<Vec<_>>().join(", "));
        self.parsed(line, row, column, |v| all.iter().copied().find(|x| as_str(*x).eq_ignore_ascii_case(v)), names)
    }

    pub fn int(&mut self, line: u64, row: &[String], column: &str) -> Clearable<i32> {
        self.parsed(line, row, column, |v| v.parse().ok(), || "a whole number".into())
    }

    pub fn date(&mut self, line: u64, row: &[String], column: &str) -> Clearable<NaiveDate> {
        self.parsed(
            line,
            row,
            column,
            |v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok(),
            || "a date (YYYY-MM-DD)".into(),
        )
    }

    /// A list separated by `;` (the export joins with `; `), each a label.
    pub fn labels<T: Copy + PartialEq>(
        &mut self,
        line: u64,
        row: &[String],
        column: &str,
        all: &[T],
        as_str: fn(T) -> &'static str,
    ) -> Option<Vec<T>> {
        let v = self.raw(row, column)?;
        let mut out = Vec::new();
        for piece in v.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            match all.iter().copied().find(|x| as_str(*x).eq_ignore_ascii_case(piece)) {
                Some(x) if !out.contains(&x) => out.push(x),
                Some(_) => {}
                None => {
                    let names = all.iter().map(|v| as_str(*v)).collect::<Vec<_>>().join(", ");
                    self.errors.push(ImportError::new(line, Some(column), format!("{piece:?} is not one of {names}")));
                    return None;
                }
            }
        }
        Some(out)
    }
}

/// One SoA row of a `soa` or `controls-decisions` import. `None`: leave as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct SoaRow {
    pub line: u64,
    pub standard: Standard,
    pub reference: String,
    pub decision: Option<ControlDecision>,
    pub justification: Clearable<String>,
    pub status: Option<ImplementationStatus>,
    pub owner: Clearable<String>,
    pub inclusion_reasons: Option<Vec<InclusionReason>>,
}

/// The `applicable` column of the export: `yes`, `no` or `undecided`.
fn applicable_decision(v: &str) -> Option<ControlDecision> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" => Some(ControlDecision::Included),
        "no" | "false" => Some(ControlDecision::Excluded),
        "undecided" => Some(ControlDecision::Undecided),
        _ => None,
    }
}

/// Reads the rows of a `soa` or `controls-decisions` sheet; every bad cell is an error,
/// and a row named twice is refused on its second line.
pub fn soa_rows(sheet: &Sheet) -> Result<Vec<SoaRow>, Vec<ImportError>> {
    let mut cells = CellReader::new(sheet);
    let mut out = Vec::with_capacity(sheet.rows.len());
    let mut seen = HashSet::new();
    for (line, row) in &sheet.rows {
        let line = *line;
        let standard = cells.label(line, row, "standard", Standard::ALL, Standard::as_str).flatten();
        let reference = cells.text(row, "ref").unwrap_or_default();
        if reference.is_empty() {
            cells.errors.push(ImportError::new(line, Some("ref"), "the ref is required"));
        }
        let Some(standard) = standard else {
            if cells.raw(row, "standard").is_some_and(str::is_empty) {
                cells.errors.push(ImportError::new(line, Some("standard"), "the standard is required"));
            }
            continue;
        };
        if reference.is_empty() {
            continue;
        }
        if !seen.insert((standard, reference.clone())) {
            cells.errors.push(ImportError::new(
                line,
                Some("ref"),
                format!("{}:{reference} appears on an earlier line too", standard.as_str()),
            ));
            continue;
        }
        let decision = cells.label(line, row, "decision", ControlDecision::ALL, ControlDecision::as_str).flatten();
        let applicable = cells.parsed(line, row, "applicable", applicable_decision, || "yes, no or undecided".into());
        let decision = match (decision, applicable.flatten()) {
            (Some(d), Some(a)) if d != a => {
                cells.errors.push(ImportError::new(
                    line,
                    Some("applicable"),
                    format!("applicable says {} where decision says {}", a.as_str(), d.as_str()),
                ));
                None
            }
            (d, a) => d.or(a),
        };
        let status =
            cells.label(line, row, "status", ImplementationStatus::ALL, ImplementationStatus::as_str).flatten();
        let inclusion_reasons =
            cells.labels(line, row, "inclusion_reasons", InclusionReason::ALL, InclusionReason::as_str);
        out.push(SoaRow {
            line,
            standard,
            reference,
            decision,
            justification: cells.clearable_text(row, "justification"),
            status,
            owner: cells.clearable_text(row, "owner"),
            inclusion_reasons,
        });
    }
    if cells.errors.is_empty() { Ok(out) } else { Err(cells.errors) }
}

/// One row of a `risks` import. `None`: absent column, or an empty cell of a field that
/// cannot be empty (left as it is; required to create).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RiskRow {
    pub line: u64,
    pub external_key: String,
    pub title: Option<String>,
    pub description: Clearable<String>,
    pub category: Option<RiskCategory>,
    pub kind: Option<RiskKind>,
    pub likelihood: Option<i32>,
    pub impact: Option<i32>,
    pub residual_likelihood: Clearable<i32>,
    pub residual_impact: Clearable<i32>,
    pub treatment: Clearable<RiskTreatment>,
    pub owner: Clearable<String>,
    pub status: Option<RiskStatus>,
    pub review_date: Clearable<NaiveDate>,
    pub acceptance_justification: Clearable<String>,
    pub accepted_by: Clearable<String>,
    pub acceptance_expires_on: Clearable<NaiveDate>,
}

impl RiskRow {
    /// What a new risk needs that this row lacks (the columns named).
    pub fn missing_for_create(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.title.is_none() {
            out.push("title");
        }
        if self.category.is_none() {
            out.push("category");
        }
        if self.likelihood.is_none() {
            out.push("likelihood");
        }
        if self.impact.is_none() {
            out.push("impact");
        }
        out
    }
}

/// Reads the rows of a `risks` sheet; every bad cell is an error, and an external key
/// named twice is refused on its second line.
pub fn risk_rows(sheet: &Sheet) -> Result<Vec<RiskRow>, Vec<ImportError>> {
    let mut c = CellReader::new(sheet);
    let mut out = Vec::with_capacity(sheet.rows.len());
    let mut seen = HashSet::new();
    for (line, row) in &sheet.rows {
        let line = *line;
        let external_key = c.text(row, "external_key").unwrap_or_default();
        if external_key.is_empty() {
            c.errors.push(ImportError::new(line, Some("external_key"), "the external key is required"));
            continue;
        }
        if !seen.insert(external_key.clone()) {
            c.errors.push(ImportError::new(
                line,
                Some("external_key"),
                format!("{external_key:?} appears on an earlier line too"),
            ));
            continue;
        }
        let title = c.text(row, "title").filter(|t| !t.is_empty());
        out.push(RiskRow {
            line,
            title,
            description: c.clearable_text(row, "description"),
            category: c.label(line, row, "category", RiskCategory::ALL, RiskCategory::as_str).flatten(),
            kind: c.label(line, row, "kind", RiskKind::ALL, RiskKind::as_str).flatten(),
            likelihood: c.int(line, row, "likelihood").flatten(),
            impact: c.int(line, row, "impact").flatten(),
            residual_likelihood: c.int(line, row, "residual_likelihood"),
            residual_impact: c.int(line, row, "residual_impact"),
            treatment: c.label(line, row, "treatment", RiskTreatment::ALL, RiskTreatment::as_str),
            owner: c.clearable_text(row, "owner"),
            status: c.label(line, row, "status", RiskStatus::ALL, RiskStatus::as_str).flatten(),
            review_date: c.date(line, row, "review_date"),
            acceptance_justification: c.clearable_text(row, "acceptance_justification"),
            accepted_by: c.clearable_text(row, "accepted_by"),
            acceptance_expires_on: c.date(line, row, "acceptance_expires_on"),
            external_key,
        });
    }
    if c.errors.is_empty() { Ok(out) } else { Err(c.errors) }
}

/// The CSV column of an input field named in an error (`residualLikelihood` →
/// `residual_likelihood`).
pub fn column_of_field(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 4);
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::csv_cell;
    use proptest::prelude::*;

    fn soa(text: &str) -> Result<Vec<SoaRow>, Vec<ImportError>> {
        soa_rows(&read_sheet(ImportKind::Soa, text.as_bytes())?)
    }

    #[test]
    fn bom_semicolons_and_quotes() {
        let rows = soa("\u{feff}Standard;Ref;Decision;Justification\r\nISO27001;A.5.1;included;\"a; b \"\"c\"\"\"\r\n")
            .expect("rows");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].decision, Some(ControlDecision::Included));
        assert_eq!(rows[0].justification, Some(Some("a; b \"c\"".into())));
        assert_eq!(rows[0].line, 2);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = soa("standard,ref,decision,status\nISO27001,A.5.1,MAYBE,DONE\nISO9001,A.1,INCLUDED,PLANNED\n")
            .expect_err("bad");
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!((e[0].line, e[0].column.as_deref()), (2, Some("decision")));
        assert_eq!((e[1].line, e[1].column.as_deref()), (2, Some("status")));
        assert_eq!((e[2].line, e[2].column.as_deref()), (3, Some("standard")));
        let e = read_sheet(ImportKind::Soa, b"standard,ref,colour\n").expect_err("unknown column");
        assert_eq!(e[0].column.as_deref(), Some("colour"));
        let e = read_sheet(ImportKind::ControlDecisions, b"standard,ref,status\n").expect_err("not a decision column");
        assert_eq!(e.len(), 2);
        let e = soa("standard,ref\nISO27001,A.5.1\niso27001,A.5.1\n").expect_err("twice");
        assert_eq!((e[0].line, e[0].column.as_deref()), (3, Some("ref")));
        let e = soa("standard,ref,decision,applicable\nISO27001,A.5.1,EXCLUDED,yes\n").expect_err("disagree");
        assert_eq!(e[0].column.as_deref(), Some("applicable"));
        assert!(read_sheet(ImportKind::Soa, b"\xEF\xBB\xBF  \n").is_err());
        let e = read_sheet(ImportKind::Soa, b"standard,ref\nISO27001,A.5.1,extra\n").expect_err("ragged");
        assert_eq!(e[0].line, 2);
        let e = read_sheet(ImportKind::Soa, b"standard,ref\nISO27001,\xFF\n").expect_err("not utf-8");
        assert!(e[0].message.contains("UTF-8"));
    }

    #[test]
    fn risks_need_a_unique_key_and_typed_cells() {
        let s = read_sheet(ImportKind::Risks, b"external_key,title,likelihood,review_date,treatment\nR-1,A,3,2027-01-31,\nR-1,B,x,31/01/2027,ACCEPT\n,C,1,,\n").expect("sheet");
        let e = risk_rows(&s).expect_err("bad");
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!((e[0].line, e[0].column.as_deref()), (3, Some("external_key")));
        assert_eq!((e[1].line, e[1].column.as_deref()), (4, Some("external_key")));
        let s = read_sheet(
            ImportKind::Risks,
            b"external_key,title,likelihood,review_date,treatment\nR-1,A,x,31/01/2027,\n",
        )
        .expect("sheet");
        let e = risk_rows(&s).expect_err("bad cells");
        assert_eq!(
            e.iter().map(|e| e.column.as_deref().unwrap_or("")).collect::<Vec<_>>(),
            ["likelihood", "review_date"]
        );
        let s = read_sheet(ImportKind::Risks, b"external_key,title,treatment,owner\nR-1,A,,\n").expect("sheet");
        let rows = risk_rows(&s).expect("rows");
        assert_eq!(rows[0].treatment, Some(None));
        assert_eq!(rows[0].owner, Some(None));
        assert_eq!(rows[0].missing_for_create(), ["category", "likelihood", "impact"]);
    }

    #[test]
    fn field_names_become_columns() {
        assert_eq!(column_of_field("residualLikelihood"), "residual_likelihood");
        assert_eq!(column_of_field("title"), "title");
        assert_eq!(column_of_field("inclusionReasons"), "inclusion_reasons");
    }

    proptest! {
        /// What the export writes, the import reads back (values without a `'` before a
        /// formula character of their own).
        #[test]
        fn unguard_inverts_the_export_guard(s in "[=+@;,\t \"a'-]{0,24}") {
            prop_assume!(!s.is_empty());
            prop_assume!(!s.contains("'=") && !s.contains("'+") && !s.contains("'-") && !s.contains("'@") && !s.contains("'\t"));
            let cell = csv_cell(&s);
            let text = format!("{cell}\n");
            let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
            let rec = r.records().next().expect("record").expect("csv");
            prop_assert_eq!(unguard(&rec[0]), s);
        }
    }
}
