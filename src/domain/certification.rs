//! The certification cycle (ISO/IEC 17021-1): a certificate issued by a certification
//! body for one or both standards, its status, and the audits that keep it: stage 1 and
//! stage 2 before the decision, surveillance in years 1 and 2, recertification before the
//! three-year cycle expires.

use chrono::{Months, NaiveDate};

use super::Invalid;
use super::audit::AuditType;
use super::refs::Standard;

labelled!(
    /// ACTIVE and SUSPENDED certificates are in force (a suspended one temporarily
    /// invalid, ISO/IEC 17021-1 9.6.5); WITHDRAWN and EXPIRED ones are closed records.
    CertificationStatus {
        Active => "ACTIVE",
        Suspended => "SUSPENDED",
        Withdrawn => "WITHDRAWN",
        Expired => "EXPIRED",
    }
);

/// ISO/IEC 17021-1 9.1.1: a certification cycle lasts three years from the certification
/// (or recertification) decision.
pub const CYCLE_YEARS: u32 = 3;

/// How many audits one certification may list (two stages, two surveillances and a
/// recertification per cycle, with room for special audits and re-audits).
pub const MAX_AUDITS: usize = 20;

impl CertificationStatus {
    /// WITHDRAWN and EXPIRED certifications are closed records: read-only.
    pub fn is_terminal(self) -> bool {
        matches!(self, CertificationStatus::Withdrawn | CertificationStatus::Expired)
    }
}

/// `expiresOn` is after `issuedOn` and at most three years later (ISO/IEC 17021-1 9.1.1).
pub fn check_cycle(issued_on: NaiveDate, expires_on: NaiveDate) -> Result<(), Invalid> {
    if expires_on <= issued_on {
        return Err(Invalid::new("expiresOn", format!("expiresOn {expires_on} is not after issuedOn {issued_on}")));
    }
    let longest = issued_on.checked_add_months(Months::new(12 * CYCLE_YEARS)).unwrap_or(NaiveDate::MAX);
    if expires_on > longest {
        return Err(Invalid::new(
            "expiresOn",
            format!(
                "a certification cycle lasts at most {CYCLE_YEARS} years: expiresOn may be {longest} at the latest"
            ),
        ));
    }
    Ok(())
}

/// At least one standard; returned sorted, without duplicates.
pub fn check_standards(standards: &[Standard]) -> Result<Vec<Standard>, Invalid> {
    let mut s = standards.to_vec();
    s.sort();
    s.dedup();
    if s.is_empty() {
        return Err(Invalid::new("standards", "a certification covers at least one standard"));
    }
    Ok(s)
}

/// The status in force on `today`: a certificate is valid through its `expiresOn`; an
/// ACTIVE or SUSPENDED one read after that day is EXPIRED.
pub fn effective_status(stored: CertificationStatus, expires_on: NaiveDate, today: NaiveDate) -> CertificationStatus {
    match stored {
        CertificationStatus::Active | CertificationStatus::Suspended if expires_on < today => {
            CertificationStatus::Expired
        }
        s => s,
    }
}

/// A stored WITHDRAWN or EXPIRED certification no longer changes (ISO/IEC 17021-1 9.6.5:
/// a withdrawn certificate is not reinstated; a new certification starts a new record).
pub fn ensure_editable(stored: CertificationStatus, field: &str) -> Result<(), Invalid> {
    if stored.is_terminal() {
        return Err(Invalid::new(field, format!("the certification is {} and read-only", stored.as_str())));
    }
    Ok(())
}

/// An audit linked to a certification is one of the certification body's (not INTERNAL)
/// and covers only standards the certification covers.
pub fn check_audit_link(
    audit_type: AuditType,
    audit_standards: &[Standard],
    certification_standards: &[Standard],
    field: &str,
) -> Result<(), Invalid> {
    if !audit_type.is_external() {
        return Err(Invalid::new(
            field,
            "an INTERNAL audit (9.2) is not part of a certification cycle; use STAGE_1, STAGE_2, SURVEILLANCE or RECERTIFICATION",
        ));
    }
    if let Some(s) = audit_standards.iter().find(|s| !certification_standards.contains(s)) {
        return Err(Invalid::new(field, format!("the certification does not cover {}", s.as_str())));
    }
    Ok(())
}

/// The next audit the cycle asks for and the day it is due by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextAudit {
    /// SURVEILLANCE or RECERTIFICATION.
    pub audit_type: AuditType,
    pub due_on: NaiveDate,
}

/// The next audit due in a certification cycle (ISO/IEC 17021-1 9.1.1, 9.6.2.2, 9.6.3):
///
/// * surveillance 1 by `issuedOn` + 12 months (9.6.2.2: the first surveillance no more
///   than 12 months after the certification decision), surveillance 2 by `issuedOn` + 24
///   months; a day that does not exist in the target month (29 February) falls back to
///   the month's last day;
/// * then recertification by `expiresOn` (9.6.3: completed before the certificate expires);
/// * `surveillances_done` counts the COMPLETED SURVEILLANCE audits of this cycle; the
///   n-th one satisfies the n-th surveillance, however late;
/// * a surveillance that would fall on or after `expiresOn` (a shortened cycle) is not
///   asked for: recertification is next;
/// * nothing is due for a certification that is not in force (`status` as in force on
///   the day, see [`effective_status`]).
pub fn next_audit_due(
    status: CertificationStatus,
    issued_on: NaiveDate,
    expires_on: NaiveDate,
    surveillances_done: usize,
) -> Option<NextAudit> {
    if status.is_terminal() {
        return None;
    }
    let recertification = NextAudit { audit_type: AuditType::Recertification, due_on: expires_on };
    if surveillances_done >= 2 {
        return Some(recertification);
    }
    let months = 12 * (surveillances_done as u32 + 1);
    match issued_on.checked_add_months(Months::new(months)) {
        Some(due_on) if due_on < expires_on => Some(NextAudit { audit_type: AuditType::Surveillance, due_on }),
        _ => Some(recertification),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CertificationStatus::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn the_cycle_lasts_at_most_three_years() {
        assert!(check_cycle(d("2026-03-01"), d("2029-03-01")).is_ok());
        assert!(check_cycle(d("2026-03-01"), d("2026-03-02")).is_ok());
        assert_eq!(check_cycle(d("2026-03-01"), d("2029-03-02")).unwrap_err().field, "expiresOn");
        assert_eq!(check_cycle(d("2026-03-01"), d("2026-03-01")).unwrap_err().field, "expiresOn");
        assert_eq!(check_cycle(d("2026-03-01"), d("2026-02-28")).unwrap_err().field, "expiresOn");
        // Issued on a leap day: three years later is 28 February.
        assert!(check_cycle(d("2028-02-29"), d("2031-02-28")).is_ok());
        assert!(check_cycle(d("2028-02-29"), d("2031-03-01")).is_err());
    }

    #[test]
    fn standards_rule() {
        use Standard::*;
        assert_eq!(check_standards(&[]).unwrap_err().field, "standards");
        assert_eq!(check_standards(&[Iso42001, Iso27001, Iso42001]), Ok(vec![Iso27001, Iso42001]));
    }

    #[test]
    fn a_certificate_is_valid_through_its_expiry_day() {
        let exp = d("2029-03-01");
        assert_eq!(effective_status(Active, exp, d("2029-03-01")), Active);
        assert_eq!(effective_status(Active, exp, d("2029-03-02")), Expired);
        assert_eq!(effective_status(Suspended, exp, d("2029-03-01")), Suspended);
        assert_eq!(effective_status(Suspended, exp, d("2029-03-02")), Expired);
        assert_eq!(effective_status(Withdrawn, exp, d("2029-03-02")), Withdrawn);
        assert_eq!(effective_status(Withdrawn, exp, d("2026-01-01")), Withdrawn);
    }

    #[test]
    fn closed_certifications_are_read_only() {
        for s in CertificationStatus::ALL {
            assert_eq!(ensure_editable(*s, "id").is_ok(), matches!(s, Active | Suspended), "{s:?}");
        }
    }

    #[test]
    fn only_external_audits_of_covered_standards_join_a_cycle() {
        use Standard::*;
        let both = [Iso27001, Iso42001];
        for t in [AuditType::Stage1, AuditType::Stage2, AuditType::Surveillance, AuditType::Recertification] {
            assert!(check_audit_link(t, &both, &both, "certificationId").is_ok());
        }
        assert!(check_audit_link(AuditType::Certification, &[Iso27001], &both, "certificationId").is_ok());
        assert_eq!(
            check_audit_link(AuditType::Internal, &[Iso27001], &both, "certificationId").unwrap_err().field,
            "certificationId"
        );
        assert_eq!(check_audit_link(AuditType::Stage2, &both, &[Iso27001], "type").unwrap_err().field, "type");
    }

    #[test]
    fn surveillance_in_years_one_and_two_then_recertification() {
        let (i, e) = (d("2026-03-10"), d("2029-03-09"));
        let next = |done| next_audit_due(Active, i, e, done);
        assert_eq!(next(0), Some(NextAudit { audit_type: AuditType::Surveillance, due_on: d("2027-03-10") }));
        assert_eq!(next(1), Some(NextAudit { audit_type: AuditType::Surveillance, due_on: d("2028-03-10") }));
        assert_eq!(next(2), Some(NextAudit { audit_type: AuditType::Recertification, due_on: e }));
        assert_eq!(next(7), Some(NextAudit { audit_type: AuditType::Recertification, due_on: e }));
        // Suspended certificates still need their audits; closed ones none.
        assert_eq!(next_audit_due(Suspended, i, e, 0).map(|n| n.due_on), Some(d("2027-03-10")));
        assert_eq!(next_audit_due(Withdrawn, i, e, 0), None);
        assert_eq!(next_audit_due(Expired, i, e, 0), None);
    }

    #[test]
    fn surveillance_edges() {
        // A leap-day decision: due on 28 February the next year, 28 February after that.
        let leap = d("2028-02-29");
        assert_eq!(next_audit_due(Active, leap, d("2031-02-28"), 0).map(|n| n.due_on), Some(d("2029-02-28")));
        assert_eq!(next_audit_due(Active, leap, d("2031-02-28"), 1).map(|n| n.due_on), Some(d("2030-02-28")));
        // A shortened cycle: a surveillance on or after expiry is not asked for.
        let i = d("2026-03-10");
        let s2_on_expiry = next_audit_due(Active, i, d("2028-03-10"), 1).expect("due");
        assert_eq!(s2_on_expiry, NextAudit { audit_type: AuditType::Recertification, due_on: d("2028-03-10") });
        let s2_day_before = next_audit_due(Active, i, d("2028-03-11"), 1).expect("due");
        assert_eq!(s2_day_before, NextAudit { audit_type: AuditType::Surveillance, due_on: d("2028-03-10") });
        let short = next_audit_due(Active, i, d("2026-12-31"), 0).expect("due");
        assert_eq!(short.audit_type, AuditType::Recertification);
    }

    proptest! {
        /// The due day is never after expiry, never before the decision, and moves forward
        /// as surveillances are done.
        #[test]
        fn due_days_stay_in_the_cycle(start in 0u64..20_000, len in 1u64..1096, done in 0usize..4) {
            let i = d("1990-01-01") + chrono::Days::new(start);
            let e = i + chrono::Days::new(len);
            prop_assume!(check_cycle(i, e).is_ok());
            let n = next_audit_due(Active, i, e, done).expect("in force");
            prop_assert!(n.due_on > i && n.due_on <= e);
            let later = next_audit_due(Active, i, e, done + 1).expect("in force");
            prop_assert!(later.due_on >= n.due_on);
            prop_assert_eq!(n.audit_type == AuditType::Recertification, n.due_on == e);
        }
    }
}
