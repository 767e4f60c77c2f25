//! The audit programme (ISO 27001 / ISO 42001 clause 9.2): audit kinds, the audit
//! workflow, and the rules for planning and recording findings.

use chrono::NaiveDate;

use super::Invalid;
use super::ncr::{Severity, Source};
use super::refs::Standard;

labelled!(AuditType {
    Internal => "INTERNAL",
    Certification => "CERTIFICATION",
    Surveillance => "SURVEILLANCE",
    Recertification => "RECERTIFICATION",
});

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
    /// COMPLETED and CANCELLED audits are closed records: read-only (ISO 27001 9.2.2 g,
    /// retained as evidence of the audit programme and its results).
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
        AuditType::Certification | AuditType::Surveillance | AuditType::Recertification => Source::ExternalAudit,
    }
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
        for t in [AuditType::Certification, AuditType::Surveillance, AuditType::Recertification] {
            assert_eq!(ncr_source(t), Source::ExternalAudit);
        }
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
