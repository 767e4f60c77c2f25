//! The context of the organization (ISO 27001 / 42001 4.1): internal and external issues,
//! AI included, and the risks and opportunities they give rise to (6.1.1).

use chrono::NaiveDate;

use super::Invalid;

labelled!(
    /// 4.1: issues internal or external to the organization.
    IssueKind {
        Internal => "INTERNAL",
        External => "EXTERNAL",
    }
);

labelled!(
    /// The usual PESTLE grouping, with the organization's own and ethical issues (ISO
    /// 42001 4.1 notes: the ethical and cultural setting of AI).
    IssueCategory {
        Political => "POLITICAL",
        Economic => "ECONOMIC",
        Social => "SOCIAL",
        Technological => "TECHNOLOGICAL",
        Legal => "LEGAL",
        Environmental => "ENVIRONMENTAL",
        Organizational => "ORGANIZATIONAL",
        Ethical => "ETHICAL",
    }
);

/// Risks one context issue may be linked to (`ContextIssue.risks` lists them all).
pub const MAX_ISSUE_RISKS: usize = 50;

/// At least one standard; sorted, without duplicates.
pub fn check_standards(standards: &[super::refs::Standard]) -> Result<Vec<super::refs::Standard>, Invalid> {
    super::objective::check_standards(standards)
}

/// A review is of a day that has come.
pub fn check_reviewed_on(reviewed_on: Option<NaiveDate>, today: NaiveDate) -> Result<(), Invalid> {
    match reviewed_on {
        Some(d) if d > today => Err(Invalid::new("reviewedOn", format!("reviewedOn {d} is in the future"))),
        _ => Ok(()),
    }
}

/// Distinct risk ids, at most [`MAX_ISSUE_RISKS`].
pub fn check_risk_ids<T: Ord + Copy>(ids: &[T]) -> Result<Vec<T>, Invalid> {
    let mut v = ids.to_vec();
    v.sort();
    v.dedup();
    if v.len() > MAX_ISSUE_RISKS {
        return Err(Invalid::new("riskIds", format!("at most {MAX_ISSUE_RISKS} risks")));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for c in IssueCategory::ALL {
            assert_eq!(IssueCategory::parse(c.as_str()), Some(*c));
        }
        assert_eq!(IssueKind::parse("EXTERNAL"), Some(IssueKind::External));
        assert_eq!(IssueKind::parse("OUTSIDE"), None);
    }

    #[test]
    fn reviews_are_not_in_the_future() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("day");
        assert!(check_reviewed_on(Some(today), today).is_ok());
        assert!(check_reviewed_on(None, today).is_ok());
        assert_eq!(check_reviewed_on(today.succ_opt(), today).map_err(|e| e.field), Err("reviewedOn".to_string()));
    }

    #[test]
    fn risk_links_are_bounded_and_distinct() {
        assert_eq!(check_risk_ids(&[3, 1, 3]), Ok(vec![1, 3]));
        let many: Vec<u32> = (0..51).collect();
        assert_eq!(check_risk_ids(&many).map_err(|e| e.field), Err("riskIds".to_string()));
    }
}
