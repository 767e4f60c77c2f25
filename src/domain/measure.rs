//! Measures: one piece of work the organization does, counted for every SoA row it
//! satisfies, of either standard ("implement once, comply twice"). The status a row's
//! measures imply, and the risk treatment plan (ISO 27001 / 42001 6.1.3 e, f; 8.3).

use chrono::NaiveDate;

use super::soa::ImplementationStatus;

labelled!(
    /// A rough size of the work: small, medium, large.
    Effort {
        S => "S",
        M => "M",
        L => "L",
    }
);

/// How many SoA rows one measure may satisfy, and how many risks it may treat.
pub const MAX_CONTROLS_PER_MEASURE: usize = 50;
pub const MAX_RISKS_PER_MEASURE: usize = 50;

/// The status an SoA row's measures imply: no measures gives `None`; all IMPLEMENTED gives
/// IMPLEMENTED; any PARTIAL or IMPLEMENTED gives PARTIAL; otherwise PLANNED (measures
/// exist, none started: the work is planned, ISO 27001 6.1.3 e).
pub fn derived_status(measures: &[ImplementationStatus]) -> Option<ImplementationStatus> {
    use ImplementationStatus::*;
    if measures.is_empty() {
        return None;
    }
    if measures.iter().all(|s| *s == Implemented) {
        return Some(Implemented);
    }
    if measures.iter().any(|s| matches!(s, Partial | Implemented)) {
        return Some(Partial);
    }
    Some(Planned)
}

/// The recorded status differs from the one the measures imply (`false` when no measure
/// implies one).
pub fn status_mismatch(recorded: ImplementationStatus, derived: Option<ImplementationStatus>) -> bool {
    derived.is_some_and(|d| d != recorded)
}

/// A measure of the treatment plan is overdue: due before `today` and not implemented.
pub fn overdue(status: ImplementationStatus, due_on: Option<NaiveDate>, today: NaiveDate) -> bool {
    status != ImplementationStatus::Implemented && due_on.is_some_and(|d| d < today)
}

/// ISO 27001 6.1.3: a risk to be reduced (MITIGATE) needs measures in its treatment plan.
pub fn treatment_plan_missing(mitigate: bool, measures: usize) -> bool {
    mitigate && measures == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use ImplementationStatus::*;
    use proptest::prelude::*;

    #[test]
    fn the_rules_of_the_issue() {
        assert_eq!(derived_status(&[]), None);
        assert_eq!(derived_status(&[Implemented, Implemented]), Some(Implemented));
        assert_eq!(derived_status(&[Implemented, NotStarted]), Some(Partial));
        assert_eq!(derived_status(&[Partial, Planned]), Some(Partial));
        assert_eq!(derived_status(&[Planned, NotStarted]), Some(Planned));
        assert_eq!(derived_status(&[NotStarted]), Some(Planned));
        assert!(!status_mismatch(NotStarted, None));
        assert!(status_mismatch(NotStarted, Some(Planned)));
        assert!(!status_mismatch(Partial, Some(Partial)));
    }

    #[test]
    fn overdue_and_missing_plans() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("date");
        assert!(overdue(Planned, Some(d("2026-01-01")), d("2026-01-02")));
        assert!(!overdue(Implemented, Some(d("2026-01-01")), d("2026-01-02")));
        assert!(!overdue(Planned, None, d("2026-01-02")));
        assert!(treatment_plan_missing(true, 0));
        assert!(!treatment_plan_missing(true, 1));
        assert!(!treatment_plan_missing(false, 0));
    }

    fn status() -> impl Strategy<Value = ImplementationStatus> {
        prop::sample::select(ImplementationStatus::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn derived_status_follows_its_definition(v in prop::collection::vec(status(), 0..12)) {
            let d = derived_status(&v);
            // Nothing to derive from.
            prop_assert_eq!(d.is_none(), v.is_empty());
            // IMPLEMENTED exactly when every measure is.
            prop_assert_eq!(d == Some(Implemented), !v.is_empty() && v.iter().all(|s| *s == Implemented));
            // Never NOT_STARTED: a measure is at least a plan.
            prop_assert!(d != Some(NotStarted));
            // PLANNED exactly when nothing is under way.
            prop_assert_eq!(d == Some(Planned), !v.is_empty() && v.iter().all(|s| matches!(s, Planned | NotStarted)));
            // The order of the measures does not matter.
            let mut r = v.clone();
            r.reverse();
            prop_assert_eq!(derived_status(&r), d);
            // Adding an IMPLEMENTED measure never lowers the derived status below PARTIAL.
            let mut more = v.clone();
            more.push(Implemented);
            prop_assert!(matches!(derived_status(&more), Some(Partial | Implemented)));
        }
    }
}
