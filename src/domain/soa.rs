//! Statement of Applicability rules and readiness arithmetic.

use super::Invalid;

labelled!(
    /// Implementation status of an SoA row.
    ImplementationStatus {
        NotStarted => "NOT_STARTED",
        Planned => "PLANNED",
        Partial => "PARTIAL",
        Implemented => "IMPLEMENTED",
    }
);

labelled!(
    /// Why a control is in the SoA (what auditors ask for, ISO 27001 6.1.3 d).
    InclusionReason {
        RiskTreatment => "RISK_TREATMENT",
        LegalRegulatory => "LEGAL_REGULATORY",
        Contractual => "CONTRACTUAL",
        BusinessRequirement => "BUSINESS_REQUIREMENT",
        BestPractice => "BEST_PRACTICE",
    }
);

labelled!(
    /// Gap-analysis status of a clause.
    ClauseStatus { NotAddressed => "NOT_ADDRESSED", Partial => "PARTIAL", Addressed => "ADDRESSED" }
);

labelled!(
    /// The SoA decision on a control (ISO 27001 6.1.3 d; ISO 42001 6.1.3): not yet made,
    /// included (with a justification), or excluded (with a justification).
    ControlDecision { Undecided => "UNDECIDED", Included => "INCLUDED", Excluded => "EXCLUDED" }
);

impl ControlDecision {
    /// The deprecated `applicable` flag, derived: only an INCLUDED control is applicable.
    /// An UNDECIDED row is neither, so an untouched SoA never reads as "all applicable".
    pub fn applicable(self) -> bool {
        self == ControlDecision::Included
    }

    /// The decision the deprecated `applicable` input stands for.
    pub fn from_applicable(applicable: bool) -> Self {
        if applicable { ControlDecision::Included } else { ControlDecision::Excluded }
    }

    /// Counts toward readiness denominators: everything not excluded (UNDECIDED is
    /// in scope until someone decides otherwise, and counts as not done).
    pub fn in_scope(self) -> bool {
        self != ControlDecision::Excluded
    }
}

/// The SoA decision of a row after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicability<'a> {
    pub decision: ControlDecision,
    pub justification: Option<&'a str>,
    /// How many inclusion reasons the row carries.
    pub inclusion_reasons: usize,
    pub status: ImplementationStatus,
}

fn blank(text: Option<&str>) -> bool {
    text.is_none_or(|j| j.trim().is_empty())
}

/// ISO 27001 6.1.3 d; ISO 42001 6.1.3: the SoA justifies each inclusion and each
/// exclusion. An inclusion is justified by an inclusion reason or a text; an exclusion
/// only by a text. An excluded control cannot be reported as implemented.
pub fn check_applicability(a: &Applicability<'_>) -> Result<(), Invalid> {
    match a.decision {
        ControlDecision::Excluded if blank(a.justification) => Err(Invalid::new(
            "justification",
            "excluding a control needs a justification (ISO 27001 6.1.3 d, ISO 42001 6.1.3)",
        )),
        ControlDecision::Excluded if a.status == ImplementationStatus::Implemented => {
            Err(Invalid::new("status", "an excluded control cannot be IMPLEMENTED"))
        }
        ControlDecision::Included if blank(a.justification) && a.inclusion_reasons == 0 => Err(Invalid::new(
            "justification",
            "including a control needs a justification: an inclusion reason or a text (ISO 27001 6.1.3 d, \
             ISO 42001 6.1.3)",
        )),
        _ => Ok(()),
    }
}

/// The decision an update asks for: `decision` wins; the deprecated `applicable` maps to
/// INCLUDED / EXCLUDED; asking both with different answers is refused.
pub fn requested_decision(
    decision: Option<ControlDecision>,
    applicable: Option<bool>,
) -> Result<Option<ControlDecision>, Invalid> {
    match (decision, applicable) {
        (Some(d), Some(a)) if ControlDecision::from_applicable(a) != d => Err(Invalid::new(
            "applicable",
            format!("applicable: {a} contradicts decision: {}; send only decision", d.as_str()),
        )),
        (Some(d), _) => Ok(Some(d)),
        (None, Some(a)) => Ok(Some(ControlDecision::from_applicable(a))),
        (None, None) => Ok(None),
    }
}

/// An evidence link must be an absolute http(s) URL with a title.
pub fn check_evidence(title: &str, url: &str) -> Result<(), Invalid> {
    if title.trim().is_empty() {
        return Err(Invalid::new("evidence", "each evidence link needs a title"));
    }
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !url.chars().any(char::is_whitespace) => Ok(()),
        _ => Err(Invalid::new("evidence", format!("{url:?} is not an http(s) URL"))),
    }
}

/// Counts behind a readiness figure for one standard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadinessCounts {
    /// Leaf clauses (clauses without sub-clauses) of the standard.
    pub clauses_total: u64,
    pub clauses_addressed: u64,
    pub clauses_partial: u64,
    /// Controls not excluded (INCLUDED or UNDECIDED).
    pub controls_applicable: u64,
    /// Of those, still UNDECIDED (counted as not done).
    pub controls_undecided: u64,
    pub controls_implemented: u64,
    pub controls_partial: u64,
}

impl ReadinessCounts {
    /// Adds `n` SoA rows with this decision and status. Excluded rows do not count;
    /// UNDECIDED rows count in the denominator and never as done, whatever their status
    /// (ISO 27001 6.1.3 d: an implementation without a decision is not yet in the SoA).
    pub fn add_controls(&mut self, decision: ControlDecision, status: ImplementationStatus, n: u64) {
        if !decision.in_scope() {
            return;
        }
        self.controls_applicable += n;
        if decision == ControlDecision::Undecided {
            self.controls_undecided += n;
            return;
        }
        match status {
            ImplementationStatus::Implemented => self.controls_implemented += n,
            ImplementationStatus::Partial => self.controls_partial += n,
            ImplementationStatus::NotStarted | ImplementationStatus::Planned => {}
        }
    }
}

/// Readiness in percent, one decimal:
///
/// `clause score  = (addressed + ½ · partial) / leaf clauses`
/// `control score = (implemented + ½ · partial) / controls not excluded`
///
/// UNDECIDED controls are in the denominator and never in the numerator: not done.
/// `percent       = 100 · (clause score + control score) / 2`
///
/// The management-system clauses (4-10) and the applicable Annex A controls weigh the
/// same: certification needs both. With no applicable controls, the clause score alone
/// counts; with no clauses (custom use), the control score alone.
pub fn readiness_percent(c: &ReadinessCounts) -> f64 {
    let clause = (c.clauses_total > 0)
        .then(|| (c.clauses_addressed as f64 + 0.5 * c.clauses_partial as f64) / c.clauses_total as f64);
    let control = (c.controls_applicable > 0)
        .then(|| (c.controls_implemented as f64 + 0.5 * c.controls_partial as f64) / c.controls_applicable as f64);
    let score = match (clause, control) {
        (Some(a), Some(b)) => (a + b) / 2.0,
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => 0.0,
    };
    (score * 1000.0).round() / 10.0
}

/// How far an ISMS already covers a 42001 control through its mapped 27001 controls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    pub mapped: u64,
    /// Mapped controls not excluded (INCLUDED or UNDECIDED).
    pub applicable: u64,
    pub implemented: u64,
    pub partial: u64,
}

/// NONE (nothing mapped, or nothing of it started), PARTIAL, FULL (every applicable mapped
/// 27001 control implemented).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageLevel {
    None,
    Partial,
    Full,
}

impl Coverage {
    /// Adds one mapped 27001 row: excluded rows cover nothing; UNDECIDED rows count as
    /// not done, like readiness.
    pub fn add(&mut self, decision: ControlDecision, status: ImplementationStatus) {
        let mut r = ReadinessCounts::default();
        r.add_controls(decision, status, 1);
        self.applicable += r.controls_applicable;
        self.implemented += r.controls_implemented;
        self.partial += r.controls_partial;
    }

    /// Percent of the mapped, applicable 27001 controls implemented (partial counts half).
    pub fn percent(&self) -> f64 {
        if self.applicable == 0 {
            return 0.0;
        }
        let v = (self.implemented as f64 + 0.5 * self.partial as f64) / self.applicable as f64;
        (v * 1000.0).round() / 10.0
    }

    pub fn level(&self) -> CoverageLevel {
        if self.applicable == 0 || self.implemented + self.partial == 0 {
            CoverageLevel::None
        } else if self.implemented == self.applicable {
            CoverageLevel::Full
        } else {
            CoverageLevel::Partial
        }
    }
}

/// CSV cell for a spreadsheet: values starting with `=`, `+`, `-`, `@` (or tab / carriage
/// return) are prefixed with `'` so no spreadsheet evaluates them (CSV injection), then
/// quoted per RFC 4180 when needed.
pub fn csv_cell(value: &str) -> String {
    let guarded =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_string() };
    if guarded.contains([',', '"', '\n', '\r']) { format!("\"{}\"", guarded.replace('"', "\"\"")) } else { guarded }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use ControlDecision::{Excluded, Included, Undecided};

    fn d(
        decision: ControlDecision,
        justification: Option<&str>,
        inclusion_reasons: usize,
        status: ImplementationStatus,
    ) -> Result<(), Invalid> {
        check_applicability(&Applicability { decision, justification, inclusion_reasons, status })
    }

    fn a(applicable: bool, justification: Option<&str>, status: ImplementationStatus) -> Result<(), Invalid> {
        let reasons = usize::from(applicable);
        d(ControlDecision::from_applicable(applicable), justification, reasons, status)
    }

    #[test]
    fn exclusion_needs_justification() {
        assert_eq!(a(false, None, ImplementationStatus::NotStarted).unwrap_err().field, "justification");
        assert_eq!(a(false, Some("  "), ImplementationStatus::NotStarted).unwrap_err().field, "justification");
        // Inclusion reasons do not justify an exclusion.
        assert_eq!(d(Excluded, None, 2, ImplementationStatus::NotStarted).unwrap_err().field, "justification");
        assert!(a(false, Some("no physical sites"), ImplementationStatus::NotStarted).is_ok());
        assert!(a(true, None, ImplementationStatus::Implemented).is_ok());
    }

    #[test]
    fn inclusion_needs_a_reason_or_a_text() {
        let err = d(Included, None, 0, ImplementationStatus::NotStarted).unwrap_err();
        assert_eq!(err.field, "justification");
        assert!(err.message.contains("6.1.3 d"), "{}", err.message);
        assert_eq!(d(Included, Some(" \n"), 0, ImplementationStatus::Planned).unwrap_err().field, "justification");
        assert!(d(Included, None, 1, ImplementationStatus::NotStarted).is_ok());
        assert!(d(Included, Some("customer contracts require it"), 0, ImplementationStatus::NotStarted).is_ok());
    }

    #[test]
    fn undecided_needs_nothing() {
        for s in ImplementationStatus::ALL {
            assert!(d(Undecided, None, 0, *s).is_ok());
        }
    }

    #[test]
    fn excluded_cannot_be_implemented() {
        assert_eq!(a(false, Some("n/a"), ImplementationStatus::Implemented).unwrap_err().field, "status");
        assert!(a(false, Some("n/a"), ImplementationStatus::Partial).is_ok());
    }

    #[test]
    fn requested_decisions() {
        assert_eq!(requested_decision(None, None).unwrap(), None);
        assert_eq!(requested_decision(None, Some(true)).unwrap(), Some(Included));
        assert_eq!(requested_decision(None, Some(false)).unwrap(), Some(Excluded));
        assert_eq!(requested_decision(Some(Undecided), None).unwrap(), Some(Undecided));
        assert_eq!(requested_decision(Some(Included), Some(true)).unwrap(), Some(Included));
        assert_eq!(requested_decision(Some(Excluded), Some(true)).unwrap_err().field, "applicable");
        assert_eq!(requested_decision(Some(Undecided), Some(false)).unwrap_err().field, "applicable");
    }

    #[test]
    fn applicable_is_derived_from_the_decision() {
        assert!(Included.applicable());
        assert!(!Undecided.applicable());
        assert!(!Excluded.applicable());
    }

    #[test]
    fn undecided_rows_count_as_not_done() {
        let mut c = ReadinessCounts::default();
        c.add_controls(Undecided, ImplementationStatus::Implemented, 3);
        c.add_controls(Included, ImplementationStatus::Implemented, 1);
        c.add_controls(Excluded, ImplementationStatus::Partial, 5);
        assert_eq!((c.controls_applicable, c.controls_undecided, c.controls_implemented), (4, 3, 1));
        assert_eq!(c.controls_partial, 0);
        assert_eq!(readiness_percent(&c), 25.0);
        let mut cov = Coverage { mapped: 3, ..Default::default() };
        cov.add(Undecided, ImplementationStatus::Implemented);
        cov.add(Included, ImplementationStatus::Implemented);
        cov.add(Excluded, ImplementationStatus::Implemented);
        assert_eq!((cov.applicable, cov.implemented), (2, 1));
        assert_eq!(cov.level(), CoverageLevel::Partial);
    }

    #[test]
    fn evidence_urls() {
        assert!(check_evidence("Policy", "https://wiki.example/isms/policy").is_ok());
        assert!(check_evidence("Policy", "http://intranet/x").is_ok());
        for bad in ["javascript:alert(1)", "ftp://x", "https://", "https:///x", "https://a b"] {
            assert_eq!(check_evidence("t", bad).unwrap_err().field, "evidence", "{bad}");
        }
        assert!(check_evidence(" ", "https://x").is_err());
    }

    #[test]
    fn readiness_formula() {
        let c = ReadinessCounts {
            clauses_total: 4,
            clauses_addressed: 1,
            clauses_partial: 2,
            controls_applicable: 10,
            controls_implemented: 3,
            controls_partial: 2,
            controls_undecided: 0,
        };
        // clauses (1 + 1) / 4 = 0.5; controls (3 + 1) / 10 = 0.4; mean 0.45
        assert_eq!(readiness_percent(&c), 45.0);
        assert_eq!(readiness_percent(&ReadinessCounts::default()), 0.0);
        let only_clauses = ReadinessCounts { clauses_total: 2, clauses_addressed: 1, ..Default::default() };
        assert_eq!(readiness_percent(&only_clauses), 50.0);
    }

    proptest! {
        #[test]
        fn readiness_is_a_percentage(total in 1u64..60, add in 0u64..60, part in 0u64..60, app in 0u64..140, imp in 0u64..140, cp in 0u64..140) {
            let add = add.min(total);
            let part = part.min(total - add);
            let imp = imp.min(app);
            let cp = cp.min(app - imp);
            let c = ReadinessCounts { clauses_total: total, clauses_addressed: add, clauses_partial: part, controls_applicable: app, controls_implemented: imp, controls_partial: cp, controls_undecided: 0 };
            let p = readiness_percent(&c);
            prop_assert!((0.0..=100.0).contains(&p));
            if add == total && imp == app { prop_assert_eq!(p, 100.0); }
        }

        #[test]
        fn csv_cells_never_start_a_formula(s in ".{0,40}") {
            let cell = csv_cell(&s);
            let inner = cell.strip_prefix('"').unwrap_or(&cell);
            prop_assert!(!inner.starts_with(['=', '+', '-', '@', '\t', '\r']));
        }
    }

    #[test]
    fn csv_escaping() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn coverage_levels() {
        let none = Coverage { mapped: 0, ..Default::default() };
        assert_eq!(none.level(), CoverageLevel::None);
        let partial = Coverage { mapped: 3, applicable: 3, implemented: 1, partial: 1 };
        assert_eq!(partial.level(), CoverageLevel::Partial);
        assert_eq!(partial.percent(), 50.0);
        let full = Coverage { mapped: 2, applicable: 2, implemented: 2, partial: 0 };
        assert_eq!(full.level(), CoverageLevel::Full);
    }
}
