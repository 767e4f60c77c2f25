//! Suppliers and their assessments (ISO 27001 A.5.19-A.5.23; ISO 42001 A.10.2-A.10.3 for
//! suppliers of AI components): criticality, the activation rule, and when the next
//! assessment is due.

use chrono::NaiveDate;

use super::Invalid;

labelled!(
    /// How much the organization depends on a supplier.
    Criticality {
        Low => "LOW",
        Medium => "MEDIUM",
        High => "HIGH",
        Critical => "CRITICAL",
    }
);

labelled!(
    /// Where the relationship stands.
    SupplierStatus {
        Prospect => "PROSPECT",
        Active => "ACTIVE",
        Offboarded => "OFFBOARDED",
    }
);

labelled!(
    /// The outcome of a supplier assessment.
    AssessmentResult {
        Approved => "APPROVED",
        Conditional => "CONDITIONAL",
        Rejected => "REJECTED",
    }
);

/// Links of one supplier to risks, AI systems or SoA rows, each at most.
pub const MAX_LINKS: usize = 50;
/// AI components listed on one supplier at most.
pub const MAX_AI_COMPONENTS: usize = 50;

impl Criticality {
    /// HIGH and CRITICAL suppliers need an assessment that is not REJECTED to be ACTIVE.
    pub fn needs_assessment(self) -> bool {
        matches!(self, Criticality::High | Criticality::Critical)
    }
}

/// ISO 27001 A.5.19, A.5.20 (ISO 42001 A.10.3): a HIGH or CRITICAL supplier may not become
/// ACTIVE while its latest assessment is missing or REJECTED.
pub fn check_activation(criticality: Criticality, latest: Option<AssessmentResult>) -> Result<(), Invalid> {
    if !criticality.needs_assessment() {
        return Ok(());
    }
    match latest {
        None => Err(Invalid::new(
            "status",
            format!("a {} supplier needs an assessment before it becomes ACTIVE", criticality.as_str()),
        )),
        Some(AssessmentResult::Rejected) => Err(Invalid::new(
            "status",
            format!(
                "the latest assessment of this {} supplier is REJECTED: it cannot become ACTIVE",
                criticality.as_str()
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// An assessment: not dated in the future; a next review after it; CONDITIONAL states its
/// conditions.
pub fn check_assessment(
    assessed_on: NaiveDate,
    next_review_on: Option<NaiveDate>,
    result: AssessmentResult,
    has_conditions: bool,
    today: NaiveDate,
) -> Result<(), Invalid> {
    if assessed_on > today {
        return Err(Invalid::new("assessedOn", format!("assessedOn {assessed_on} is in the future")));
    }
    if let Some(n) = next_review_on
        && n <= assessed_on
    {
        return Err(Invalid::new("nextReviewOn", format!("nextReviewOn {n} is not after assessedOn {assessed_on}")));
    }
    if result == AssessmentResult::Conditional && !has_conditions {
        return Err(Invalid::new("conditions", "a CONDITIONAL approval states its conditions"));
    }
    Ok(())
}

/// Whether a new assessment dated `assessed_on` becomes the supplier's latest (the latest
/// so far is `latest`; one of the same day replaces it: recorded later, it is newer).
pub fn is_latest(assessed_on: NaiveDate, latest: Option<NaiveDate>) -> bool {
    latest.is_none_or(|l| assessed_on >= l)
}

/// Overdue: the next review day has passed and the supplier is not OFFBOARDED.
pub fn assessment_overdue(status: SupplierStatus, next_due: Option<NaiveDate>, today: NaiveDate) -> bool {
    status != SupplierStatus::Offboarded && next_due.is_some_and(|d| d < today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).expect("day")
    }

    #[test]
    fn critical_suppliers_need_a_passing_assessment() {
        use AssessmentResult::*;
        assert!(check_activation(Criticality::Low, None).is_ok());
        assert!(check_activation(Criticality::Medium, Some(Rejected)).is_ok());
        assert_eq!(check_activation(Criticality::High, None).unwrap_err().field, "status");
        assert_eq!(check_activation(Criticality::Critical, Some(Rejected)).unwrap_err().field, "status");
        assert!(check_activation(Criticality::Critical, Some(Conditional)).is_ok());
        assert!(check_activation(Criticality::High, Some(Approved)).is_ok());
    }

    #[test]
    fn assessments_are_checked() {
        let r = AssessmentResult::Approved;
        assert!(check_assessment(day(1), Some(day(2)), r, false, day(1)).is_ok());
        assert_eq!(check_assessment(day(2), None, r, false, day(1)).unwrap_err().field, "assessedOn");
        assert_eq!(check_assessment(day(1), Some(day(1)), r, false, day(1)).unwrap_err().field, "nextReviewOn");
        let c = AssessmentResult::Conditional;
        assert_eq!(check_assessment(day(1), None, c, false, day(1)).unwrap_err().field, "conditions");
    }

    #[test]
    fn overdue_needs_a_passed_day() {
        assert!(assessment_overdue(SupplierStatus::Active, Some(day(1)), day(2)));
        assert!(!assessment_overdue(SupplierStatus::Active, Some(day(2)), day(2)));
        assert!(!assessment_overdue(SupplierStatus::Offboarded, Some(day(1)), day(2)));
        assert!(!assessment_overdue(SupplierStatus::Prospect, None, day(2)));
    }

    proptest! {
        /// Activation is refused exactly for HIGH/CRITICAL suppliers without a passing
        /// latest assessment.
        #[test]
        fn activation_rule(c in 0usize..4, r in 0usize..4) {
            let c = Criticality::ALL[c];
            let latest = AssessmentResult::ALL.get(r).copied();
            let refused = c.needs_assessment() && matches!(latest, None | Some(AssessmentResult::Rejected));
            prop_assert_eq!(check_activation(c, latest).is_err(), refused);
        }

        /// The latest assessment is the one with the greatest day.
        #[test]
        fn latest_is_the_newest(days in proptest::collection::vec(1u32..28, 1..10)) {
            let mut latest: Option<NaiveDate> = None;
            for d in &days {
                if is_latest(day(*d), latest) {
                    latest = Some(day(*d));
                }
            }
            prop_assert_eq!(latest, days.iter().max().map(|d| day(*d)));
        }
    }
}
