//! Documented information (ISO 27001 / 42001 clause 7.5; 27001 A.5.1, A.5.37; 42001
//! A.2.2-A.2.4): controlled documents with versions and an approval workflow.
//!
//! Workflow of a document (the status of its newest version): DRAFT → IN_REVIEW →
//! APPROVED; IN_REVIEW → DRAFT sends it back; any status → RETIRED. Revising an APPROVED
//! document opens a new DRAFT version; the approved one stays current until the new one is
//! approved. A RETIRED document is read-only.

use chrono::{Months, NaiveDate};

use super::Invalid;
use super::refs::Standard;

labelled!(
    /// What a document is (the seed guide's four documentation levels group these).
    DocumentKind {
        Policy => "POLICY",
        Procedure => "PROCEDURE",
        Process => "PROCESS",
        WorkInstruction => "WORK_INSTRUCTION",
        Plan => "PLAN",
        Record => "RECORD",
        Report => "REPORT",
        Other => "OTHER",
    }
);

labelled!(
    DocumentStatus { Draft => "DRAFT", InReview => "IN_REVIEW", Approved => "APPROVED", Retired => "RETIRED" }
);

labelled!(
    /// How the AI policy relates to the security policy (seed guide: one integrated
    /// policy, a security policy with an AI addendum, or two aligned policies).
    PolicyIntegration { Integrated => "INTEGRATED", Umbrella => "UMBRELLA", Aligned => "ALIGNED" }
);

/// Months between reviews: default 12, at most 60.
pub const DEFAULT_REVIEW_INTERVAL_MONTHS: i32 = 12;
pub const MAX_REVIEW_INTERVAL_MONTHS: i32 = 60;
/// Versions of one document (`Document.versions` pages through them).
pub const MAX_VERSIONS: usize = 500;
/// Markdown body of a version.
pub const MAX_BODY: usize = 200_000;

/// The documentation level a kind sits on by default: 1 policies; 2 procedures and
/// processes (and plans); 3 work instructions; 4 records (and reports).
pub fn default_level(kind: DocumentKind) -> i32 {
    use DocumentKind::*;
    match kind {
        Policy => 1,
        Procedure | Process | Plan | Other => 2,
        WorkInstruction => 3,
        Record | Report => 4,
    }
}

pub fn check_level(level: i32) -> Result<i32, Invalid> {
    if (1..=4).contains(&level) { Ok(level) } else { Err(Invalid::new("level", "level is 1 (policy) to 4 (record)")) }
}

pub fn check_review_interval(months: i32) -> Result<i32, Invalid> {
    if (1..=MAX_REVIEW_INTERVAL_MONTHS).contains(&months) {
        Ok(months)
    } else {
        Err(Invalid::new("reviewIntervalMonths", format!("reviewIntervalMonths is 1 to {MAX_REVIEW_INTERVAL_MONTHS}")))
    }
}

/// One or both standards, each once, in the order of [`Standard::ALL`].
pub fn check_standards(standards: &[Standard]) -> Result<Vec<Standard>, Invalid> {
    let mut v = standards.to_vec();
    v.sort();
    v.dedup();
    if v.is_empty() {
        return Err(Invalid::new("standards", "name at least one standard the document serves"));
    }
    Ok(v)
}

/// `policyIntegration` describes policies only.
pub fn check_policy_integration(
    kind: DocumentKind,
    integration: Option<PolicyIntegration>,
) -> Result<Option<PolicyIntegration>, Invalid> {
    match integration {
        Some(_) if kind != DocumentKind::Policy => {
            Err(Invalid::new("policyIntegration", "policyIntegration applies to POLICY documents only"))
        }
        other => Ok(other),
    }
}

/// Who may make a move: writers, or approvers (OWNER/MANAGER).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    Write,
    Approve,
}

/// The right a move needs, or why it is not a move of the workflow.
pub fn transition(from: DocumentStatus, to: DocumentStatus) -> Result<Right, Invalid> {
    use DocumentStatus::*;
    match (from, to) {
        (Draft, InReview) | (InReview, Draft) => Ok(Right::Write),
        // ISO 27001 / 42001 7.5.2 c: review and approval for suitability and adequacy.
        (InReview, Approved) => Ok(Right::Approve),
        // 7.5.3: withdrawing a document from use is a management decision.
        (Draft | InReview | Approved, Retired) => Ok(Right::Approve),
        _ => Err(Invalid::new(
            "to",
            format!(
                "{} → {} is not a move of the workflow (DRAFT → IN_REVIEW → APPROVED; IN_REVIEW → DRAFT; any → RETIRED; reviseDocument opens a new draft of an APPROVED document)",
                from.as_str(),
                to.as_str()
            ),
        )),
    }
}

/// The moves out of `from`.
pub fn next_statuses(from: DocumentStatus) -> Vec<(DocumentStatus, Right)> {
    DocumentStatus::ALL.iter().filter_map(|to| transition(from, *to).ok().map(|r| (*to, r))).collect()
}

/// ISO 27001 A.5.3 segregation of duties: the author of a version does not approve it.
pub fn check_approver(author: &str, approver: &str) -> Result<(), Invalid> {
    if author == approver {
        return Err(Invalid::new(
            "to",
            "the author of a version may not approve it (segregation of duties, ISO 27001 A.5.3); another OWNER or MANAGER approves",
        ));
    }
    Ok(())
}

/// A RETIRED document is read-only (7.5.3: retained, no longer in use).
pub fn check_not_retired(status: DocumentStatus, field: &str) -> Result<(), Invalid> {
    if status == DocumentStatus::Retired {
        return Err(Invalid::new(field, "a RETIRED document is read-only"));
    }
    Ok(())
}

/// The content of the version under work changes only while it is a DRAFT.
pub fn check_content_editable(status: DocumentStatus, field: &str) -> Result<(), Invalid> {
    check_not_retired(status, field)?;
    if status != DocumentStatus::Draft {
        return Err(Invalid::new(
            field,
            format!(
                "the version's content changes only in DRAFT (this document is {}; send it back or revise it first)",
                status.as_str()
            ),
        ));
    }
    Ok(())
}

/// Revising needs an APPROVED document.
pub fn check_revisable(status: DocumentStatus) -> Result<(), Invalid> {
    if status != DocumentStatus::Approved {
        return Err(Invalid::new(
            "id",
            format!("only an APPROVED document is revised (this one is {}); edit its draft instead", status.as_str()),
        ));
    }
    Ok(())
}

/// A version number `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct VersionNumber {
    pub major: u32,
    pub minor: u32,
}

impl VersionNumber {
    pub const FIRST: VersionNumber = VersionNumber { major: 1, minor: 0 };

    pub fn parse(s: &str) -> Option<VersionNumber> {
        let (a, b) = s.split_once('.')?;
        let digits = |t: &str| !t.is_empty() && t.len() <= 6 && t.bytes().all(|c| c.is_ascii_digit());
        if !digits(a) || !digits(b) {
            return None;
        }
        Some(VersionNumber { major: a.parse().ok()?, minor: b.parse().ok()? })
    }

    /// The next number: a major revision starts `major+1.0`, a minor one `major.minor+1`.
    pub fn next(self, major: bool) -> VersionNumber {
        if major {
            VersionNumber { major: self.major.saturating_add(1), minor: 0 }
        } else {
            VersionNumber { major: self.major, minor: self.minor.saturating_add(1) }
        }
    }
}

impl std::fmt::Display for VersionNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// 7.5.2 c: the next review, `months` after the approval day.
pub fn next_review_on(approved_on: NaiveDate, months: i32) -> Option<NaiveDate> {
    approved_on.checked_add_months(Months::new(u32::try_from(months).ok()?))
}

/// An approved (current) document whose next review day lies strictly before `today`; a
/// RETIRED one is never overdue.
pub fn review_overdue(status: DocumentStatus, next_review_on: Option<NaiveDate>, today: NaiveDate) -> bool {
    status != DocumentStatus::Retired && next_review_on.is_some_and(|d| d < today)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn levels_follow_the_kind() {
        assert_eq!(default_level(DocumentKind::Policy), 1);
        assert_eq!(default_level(DocumentKind::Procedure), 2);
        assert_eq!(default_level(DocumentKind::WorkInstruction), 3);
        assert_eq!(default_level(DocumentKind::Record), 4);
        assert!(check_level(0).is_err());
        assert!(check_level(5).is_err());
    }

    #[test]
    fn the_workflow_refuses_skips() {
        use DocumentStatus::*;
        assert_eq!(transition(Draft, InReview), Ok(Right::Write));
        assert_eq!(transition(InReview, Draft), Ok(Right::Write));
        assert_eq!(transition(InReview, Approved), Ok(Right::Approve));
        assert_eq!(transition(Approved, Retired), Ok(Right::Approve));
        assert_eq!(transition(Draft, Approved).unwrap_err().field, "to");
        assert!(transition(Approved, Draft).is_err());
        assert!(transition(Retired, Draft).is_err());
        assert!(transition(Retired, Retired).is_err());
        assert!(next_statuses(Retired).is_empty());
    }

    #[test]
    fn authors_do_not_approve_their_own_version() {
        assert!(check_approver("alice", "alice").is_err());
        assert!(check_approver("alice", "bob").is_ok());
    }

    #[test]
    fn policy_integration_is_for_policies() {
        assert!(check_policy_integration(DocumentKind::Procedure, Some(PolicyIntegration::Umbrella)).is_err());
        assert_eq!(
            check_policy_integration(DocumentKind::Policy, Some(PolicyIntegration::Umbrella)),
            Ok(Some(PolicyIntegration::Umbrella))
        );
    }

    #[test]
    fn version_numbers() {
        let v = VersionNumber::FIRST;
        assert_eq!(v.to_string(), "1.0");
        assert_eq!(v.next(false).to_string(), "1.1");
        assert_eq!(v.next(false).next(true).to_string(), "2.0");
        assert_eq!(VersionNumber::parse("2.13"), Some(VersionNumber { major: 2, minor: 13 }));
        assert_eq!(VersionNumber::parse("2"), None);
        assert_eq!(VersionNumber::parse("a.1"), None);
    }

    #[test]
    fn review_dates() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 31).expect("date");
        assert_eq!(next_review_on(d, 1), NaiveDate::from_ymd_opt(2026, 2, 28));
        let today = NaiveDate::from_ymd_opt(2027, 3, 1).expect("date");
        assert!(review_overdue(DocumentStatus::Approved, Some(d), today));
        assert!(!review_overdue(DocumentStatus::Retired, Some(d), today));
        assert!(!review_overdue(DocumentStatus::Draft, None, today));
        assert!(!review_overdue(DocumentStatus::Approved, Some(today), today));
    }

    proptest! {
        #[test]
        fn each_revision_is_a_later_number(major in 0u32..1000, minor in 0u32..1000, bump in any::<bool>()) {
            let v = VersionNumber { major, minor };
            let n = v.next(bump);
            prop_assert!(n > v);
            prop_assert_eq!(VersionNumber::parse(&n.to_string()), Some(n));
        }

        #[test]
        fn only_listed_moves_are_allowed(from in 0usize..4, to in 0usize..4) {
            let (f, t) = (DocumentStatus::ALL[from], DocumentStatus::ALL[to]);
            let listed = next_statuses(f).into_iter().any(|(s, _)| s == t);
            prop_assert_eq!(transition(f, t).is_ok(), listed);
            prop_assert!(f == t || t == DocumentStatus::Retired || transition(f, t).is_err() || f != DocumentStatus::Retired);
        }
    }
}
