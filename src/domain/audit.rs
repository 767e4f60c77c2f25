//! The audit programme (ISO 27001 / ISO 42001 clause 9.2): audit kinds, the audit
//! workflow, the rules for planning and recording findings, reporting to management and
//! the objectivity of the audit team.
//!
//! Clause 9.2.2 of the 2022/2023 editions: a) audit criteria and scope, b) objectivity and
//! impartiality, c) results reported to relevant management; its last paragraph asks for
//! documented information as evidence of the programme and the results.

use chrono::NaiveDate;

use super::Invalid;
use super::ncr::{Severity, Source};
use super::refs::{Reference, Standard};

labelled!(
    /// STAGE_1 and STAGE_2 are the two stages of an initial certification audit
    /// (ISO/IEC 17021-1 9.3.1); CERTIFICATION, the single type used before them, still
    /// reads and writes.
    AuditType {
        Internal => "INTERNAL",
        Certification => "CERTIFICATION",
        Surveillance => "SURVEILLANCE",
        Recertification => "RECERTIFICATION",
        Stage1 => "STAGE_1",
        Stage2 => "STAGE_2",
    }
);

impl AuditType {
    /// Audits of a certification body (ISO/IEC 17021-1), as opposed to internal audits
    /// (ISO 27001 / 42001 9.2).
    pub fn is_external(self) -> bool {
        !matches!(self, AuditType::Internal)
    }
}

labelled!(
    /// INTEGRATED: one audit over both standards; SEQUENTIAL: same team and visit, one
    /// standard after the other; SEPARATE: an audit on its own.
    AuditMode { Integrated => "INTEGRATED", Sequential => "SEQUENTIAL", Separate => "SEPARATE" }
);

labelled!(AuditFocus { Full => "FULL", Rotating => "ROTATING", RiskBased => "RISK_BASED" });

labelled!(AuditStatus {
    Planned => "PLANNED",
    InProgress => "IN_PROGRESS",
    Reporting => "REPORTING",
    Completed => "COMPLETED",
    Cancelled => "CANCELLED",
});

labelled!(FindingType {
    MajorNonconformity => "MAJOR_NONCONFORMITY",
    MinorNonconformity => "MINOR_NONCONFORMITY",
    Observation => "OBSERVATION",
    OpportunityForImprovement => "OPPORTUNITY_FOR_IMPROVEMENT",
});

impl AuditStatus {
    /// COMPLETED and CANCELLED audits are closed records: read-only (ISO 27001 / 42001
    /// 9.2.2, last paragraph: documented information as evidence of the audit programme
    /// and the audit results).
    pub fn is_terminal(self) -> bool {
        matches!(self, AuditStatus::Completed | AuditStatus::Cancelled)
    }

    /// Findings are recorded while the audit runs and is being reported, and already while
    /// it is PLANNED: the review of documented information before on-site activities can
    /// find nonconformities (ISO 19011:2018 6.3.1).
    pub fn accepts_findings(self) -> bool {
        matches!(self, AuditStatus::Planned | AuditStatus::InProgress | AuditStatus::Reporting)
    }

    /// The statuses reachable in one step.
    pub fn next(self) -> &'static [AuditStatus] {
        use AuditStatus::*;
        match self {
            Planned => &[InProgress, Cancelled],
            InProgress => &[Reporting, Cancelled],
            Reporting => &[Completed, Cancelled],
            Completed | Cancelled => &[],
        }
    }
}

/// PLANNED → IN_PROGRESS → REPORTING → COMPLETED; any open status → CANCELLED with a reason.
pub fn check_transition(from: AuditStatus, to: AuditStatus, reason: Option<&str>) -> Result<(), Invalid> {
    if from.is_terminal() {
        return Err(Invalid::new("to", format!("the audit is {} and can no longer change", from.as_str())));
    }
    if !from.next().contains(&to) {
        return Err(Invalid::new(
            "to",
            format!(
                "an audit cannot move from {} to {}; next: {}",
                from.as_str(),
                to.as_str(),
                from.next().iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    if to == AuditStatus::Cancelled && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(Invalid::new("reason", "cancelling an audit needs a reason"));
    }
    Ok(())
}

/// Completed and cancelled audits are read-only.
pub fn ensure_editable(status: AuditStatus, field: &str) -> Result<(), Invalid> {
    if status.is_terminal() {
        return Err(Invalid::new(field, format!("the audit is {} and read-only", status.as_str())));
    }
    Ok(())
}

pub fn ensure_accepts_findings(status: AuditStatus, field: &str) -> Result<(), Invalid> {
    if !status.accepts_findings() {
        return Err(Invalid::new(field, format!("the audit is {}: findings are closed", status.as_str())));
    }
    Ok(())
}

/// At least one standard; an INTEGRATED or SEQUENTIAL audit covers both by definition.
/// Returns the standards sorted, without duplicates.
pub fn check_standards(mode: AuditMode, standards: &[Standard]) -> Result<Vec<Standard>, Invalid> {
    let mut s = standards.to_vec();
    s.sort();
    s.dedup();
    if s.is_empty() {
        return Err(Invalid::new("standards", "an audit covers at least one standard"));
    }
    if matches!(mode, AuditMode::Integrated | AuditMode::Sequential) && s.len() < Standard::ALL.len() {
        return Err(Invalid::new("standards", format!("an {} audit covers both ISO27001 and ISO42001", mode.as_str())));
    }
    Ok(s)
}

/// An end date is not before its start date (the same day is fine).
pub fn check_period(start: Option<NaiveDate>, end: Option<NaiveDate>, end_field: &str) -> Result<(), Invalid> {
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return Err(Invalid::new(end_field, format!("{end_field} {e} is before the start {s}")));
    }
    Ok(())
}

impl FindingType {
    /// Nonconformity findings raise NCRs (ISO 27001 / 42001 10.2); observations and
    /// opportunities for improvement do not.
    pub fn severity(self) -> Option<Severity> {
        match self {
            FindingType::MajorNonconformity => Some(Severity::Major),
            FindingType::MinorNonconformity => Some(Severity::Minor),
            FindingType::Observation | FindingType::OpportunityForImprovement => None,
        }
    }
}

/// Where an NCR raised from a finding of this audit comes from.
pub fn ncr_source(audit_type: AuditType) -> Source {
    match audit_type {
        AuditType::Internal => Source::InternalAudit,
        AuditType::Certification
        | AuditType::Stage1
        | AuditType::Stage2
        | AuditType::Surveillance
        | AuditType::Recertification => Source::ExternalAudit,
    }
}

/// ISO 27001 / 42001 9.2.2 c: the results are reported to relevant management before the
/// audit is COMPLETED: to whom (`reportedTo`) and when (`reportedOn`, a past or present
/// day, not before the audit started).
pub fn check_reported(
    reported_to: Option<&str>,
    reported_on: Option<NaiveDate>,
    actual_start: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(), Invalid> {
    if reported_to.is_none_or(|r| r.trim().is_empty()) {
        return Err(Invalid::new(
            "reportedTo",
            "an audit is COMPLETED once its results are reported to management (9.2.2 c): set reportedTo",
        ));
    }
    let Some(on) = reported_on else {
        return Err(Invalid::new(
            "reportedOn",
            "an audit is COMPLETED once its results are reported to management (9.2.2 c): set reportedOn",
        ));
    };
    if on > today {
        return Err(Invalid::new("reportedOn", format!("reportedOn {on} is in the future")));
    }
    check_report_date(actual_start, Some(on))
}

/// A report is not dated before the audit started.
pub fn check_report_date(actual_start: Option<NaiveDate>, reported_on: Option<NaiveDate>) -> Result<(), Invalid> {
    if let (Some(s), Some(on)) = (actual_start, reported_on)
        && on < s
    {
        return Err(Invalid::new("reportedOn", format!("reportedOn {on} is before the audit started ({s})")));
    }
    Ok(())
}

/// What an auditor may own that an audit can cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OwnedKind {
    /// An SoA row (a control).
    Control,
    /// A clause of the gap analysis.
    ClauseAssessment,
}

/// One owned object: kind, id, standard, ref and owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned<Id> {
    pub kind: OwnedKind,
    pub id: Id,
    pub standard: Standard,
    pub reference: String,
    pub owner: String,
}

/// Whether an audit with these standards and criteria covers `standard:reference`. No
/// criteria: the whole management system of its standards. Otherwise a criterion covers
/// its own ref and everything below it (`ISO27001:9.2` covers clause 9.2.2; `ISO27001:A.5`
/// covers control A.5.15; `A.5.1` does not cover `A.5.15`).
pub fn covers(standards: &[Standard], criteria: &[Reference], standard: Standard, reference: &str) -> bool {
    if !standards.contains(&standard) {
        return false;
    }
    criteria.is_empty()
        || criteria.iter().any(|c| {
            c.standard == standard
                && (reference == c.reference
                    || reference.strip_prefix(c.reference.as_str()).is_some_and(|rest| rest.starts_with('.')))
        })
}

/// ISO 27001 / 42001 9.2.2 b: auditors do not audit their own work. The objects within the
/// audit's criteria and scope (see [`covers`]) that a member of the audit team (lead
/// auditor or team) owns, in the order given. Owners and team members are compared as
/// subjects, exactly.
pub fn objectivity_conflicts<Id: Clone>(
    auditors: &[&str],
    standards: &[Standard],
    criteria: &[Reference],
    owned: &[Owned<Id>],
) -> Vec<Owned<Id>> {
    owned
        .iter()
        .filter(|o| auditors.contains(&o.owner.as_str()))
        .filter(|o| covers(standards, criteria, o.standard, &o.reference))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use AuditStatus::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    /// The whole transition table: every (from, to) pair and whether it is allowed.
    #[test]
    fn transition_table() {
        let allowed = [
            (Planned, InProgress),
            (Planned, Cancelled),
            (InProgress, Reporting),
            (InProgress, Cancelled),
            (Reporting, Completed),
            (Reporting, Cancelled),
        ];
        for from in AuditStatus::ALL {
            for to in AuditStatus::ALL {
                let ok = check_transition(*from, *to, Some("budget cut")).is_ok();
                assert_eq!(ok, allowed.contains(&(*from, *to)), "{from:?} -> {to:?}");
                if !ok {
                    assert_eq!(check_transition(*from, *to, Some("x")).unwrap_err().field, "to");
                }
            }
        }
    }

    #[test]
    fn cancelling_needs_a_reason() {
        for from in [Planned, InProgress, Reporting] {
            assert_eq!(check_transition(from, Cancelled, None).unwrap_err().field, "reason");
            assert_eq!(check_transition(from, Cancelled, Some("  ")).unwrap_err().field, "reason");
            assert!(check_transition(from, Cancelled, Some("postponed to Q3")).is_ok());
        }
    }

    #[test]
    fn terminal_audits_are_read_only_and_closed_to_findings() {
        for s in AuditStatus::ALL {
            assert_eq!(ensure_editable(*s, "id").is_ok(), !matches!(s, Completed | Cancelled), "{s:?}");
            assert_eq!(ensure_accepts_findings(*s, "auditId").is_ok(), matches!(s, Planned | InProgress | Reporting));
        }
    }

    #[test]
    fn standards_rules() {
        use Standard::*;
        assert_eq!(check_standards(AuditMode::Separate, &[]).unwrap_err().field, "standards");
        assert_eq!(check_standards(AuditMode::Separate, &[Iso42001]), Ok(vec![Iso42001]));
        assert_eq!(check_standards(AuditMode::Separate, &[Iso42001, Iso27001]), Ok(vec![Iso27001, Iso42001]));
        for mode in [AuditMode::Integrated, AuditMode::Sequential] {
            assert!(check_standards(mode, &[Iso27001]).is_err());
            assert!(check_standards(mode, &[Iso27001, Iso27001]).is_err());
            assert_eq!(check_standards(mode, &[Iso42001, Iso27001]), Ok(vec![Iso27001, Iso42001]));
        }
    }

    #[test]
    fn periods() {
        assert!(check_period(Some(d("2026-03-02")), Some(d("2026-03-02")), "plannedEnd").is_ok());
        assert!(check_period(Some(d("2026-03-02")), Some(d("2026-03-03")), "plannedEnd").is_ok());
        assert_eq!(
            check_period(Some(d("2026-03-02")), Some(d("2026-03-01")), "plannedEnd").unwrap_err().field,
            "plannedEnd"
        );
        assert!(check_period(None, Some(d("2026-03-01")), "actualEnd").is_ok());
        assert!(check_period(Some(d("2026-03-01")), None, "actualEnd").is_ok());
    }

    #[test]
    fn findings_map_to_ncrs() {
        assert_eq!(FindingType::MajorNonconformity.severity(), Some(Severity::Major));
        assert_eq!(FindingType::MinorNonconformity.severity(), Some(Severity::Minor));
        assert_eq!(FindingType::Observation.severity(), None);
        assert_eq!(FindingType::OpportunityForImprovement.severity(), None);
        assert_eq!(ncr_source(AuditType::Internal), Source::InternalAudit);
        for t in AuditType::ALL.iter().filter(|t| **t != AuditType::Internal) {
            assert_eq!(ncr_source(*t), Source::ExternalAudit);
            assert!(t.is_external());
        }
        assert!(!AuditType::Internal.is_external());
    }

    #[test]
    fn stage_types_and_the_deprecated_certification_type_parse() {
        assert_eq!(AuditType::parse("STAGE_1"), Some(AuditType::Stage1));
        assert_eq!(AuditType::parse("STAGE_2"), Some(AuditType::Stage2));
        assert_eq!(AuditType::parse("CERTIFICATION"), Some(AuditType::Certification));
        assert_eq!(AuditType::parse("STAGE_3"), None);
    }

    #[test]
    fn completion_needs_the_report_to_management() {
        let today = d("2026-06-10");
        let start = Some(d("2026-06-01"));
        let ok = check_reported(Some("CEO"), Some(d("2026-06-10")), start, today);
        assert!(ok.is_ok());
        assert_eq!(check_reported(None, Some(today), start, today).unwrap_err().field, "reportedTo");
        assert_eq!(check_reported(Some("  "), Some(today), start, today).unwrap_err().field, "reportedTo");
        assert_eq!(check_reported(Some("CEO"), None, start, today).unwrap_err().field, "reportedOn");
        // Edges: the day the audit started and today are fine; a day either side is not.
        assert!(check_reported(Some("CEO"), start, start, today).is_ok());
        assert_eq!(check_reported(Some("CEO"), Some(d("2026-05-31")), start, today).unwrap_err().field, "reportedOn");
        assert_eq!(check_reported(Some("CEO"), Some(d("2026-06-11")), start, today).unwrap_err().field, "reportedOn");
        assert!(check_reported(Some("CEO"), Some(d("2020-01-01")), None, today).is_ok());
        assert!(check_report_date(start, None).is_ok());
        assert!(check_report_date(None, Some(today)).is_ok());
    }

    fn r(s: &str) -> Reference {
        Reference::parse(s).expect("reference")
    }

    fn owned(kind: OwnedKind, id: u8, label: &str, owner: &str) -> Owned<u8> {
        let p = r(label);
        Owned { kind, id, standard: p.standard, reference: p.reference, owner: owner.into() }
    }

    #[test]
    fn criteria_cover_their_ref_and_what_lies_below() {
        use Standard::*;
        let both = [Iso27001, Iso42001];
        assert!(covers(&both, &[], Iso42001, "A.6.2.2"));
        assert!(!covers(&[Iso27001], &[], Iso42001, "A.6.2.2"));
        let c = [r("ISO27001:9.2"), r("ISO27001:A.5.1")];
        assert!(covers(&both, &c, Iso27001, "9.2"));
        assert!(covers(&both, &c, Iso27001, "9.2.2"));
        assert!(!covers(&both, &c, Iso27001, "9.20"));
        assert!(!covers(&both, &c, Iso27001, "9"));
        assert!(covers(&both, &c, Iso27001, "A.5.1"));
        assert!(!covers(&both, &c, Iso27001, "A.5.15"));
        // Refs collide across standards: criteria name theirs.
        assert!(!covers(&both, &c, Iso42001, "9.2"));
    }

    #[test]
    fn auditors_do_not_audit_their_own_work() {
        use OwnedKind::*;
        use Standard::*;
        let items = vec![
            owned(Control, 1, "ISO27001:A.5.15", "alice"),
            owned(Control, 2, "ISO27001:A.5.16", "bob"),
            owned(ClauseAssessment, 3, "ISO42001:9.2.2", "alice"),
            owned(ClauseAssessment, 4, "ISO27001:9.2.2", "carol"),
        ];
        let both = [Iso27001, Iso42001];
        // No criteria: the whole system of the audit's standards.
        let all = objectivity_conflicts(&["alice", "bob"], &both, &[], &items);
        assert_eq!(all.iter().map(|o| o.id).collect::<Vec<_>>(), vec![1, 2, 3]);
        // Only the audit's standards.
        let only = objectivity_conflicts(&["alice"], &[Iso27001], &[], &items);
        assert_eq!(only.iter().map(|o| o.id).collect::<Vec<_>>(), vec![1]);
        // Only within the criteria.
        let crit = objectivity_conflicts(&["alice", "carol"], &both, &[r("ISO27001:9")], &items);
        assert_eq!(crit.iter().map(|o| o.id).collect::<Vec<_>>(), vec![4]);
        // Nobody of the team owns anything: no conflict; subjects compare exactly.
        assert!(objectivity_conflicts(&["dave", "Alice"], &both, &[], &items).is_empty());
        assert!(objectivity_conflicts::<u8>(&[], &both, &[], &items).is_empty());
    }

    proptest! {
        /// Whatever a client tries, an audit only ever walks the chain forward or cancels,
        /// and nothing leaves COMPLETED or CANCELLED.
        #[test]
        fn random_walks_respect_the_chain(tries in proptest::collection::vec(0usize..5, 0..40)) {
            let mut s = Planned;
            for t in tries {
                let to = AuditStatus::ALL[t];
                let before = s;
                if check_transition(s, to, Some("r")).is_ok() {
                    s = to;
                    prop_assert!(before.next().contains(&s));
                    prop_assert!(to == Cancelled || (to as u8) == (before as u8) + 1);
                } else {
                    prop_assert!(before.is_terminal() || !before.next().contains(&to));
                }
            }
        }

        #[test]
        fn period_rule_is_date_order(a in 0i64..5000, b in 0i64..5000) {
            let base = d("2020-01-01");
            let (s, e) = (base + chrono::Days::new(a as u64), base + chrono::Days::new(b as u64));
            prop_assert_eq!(check_period(Some(s), Some(e), "plannedEnd").is_ok(), e >= s);
        }
    }
}
