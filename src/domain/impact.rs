//! The AI systems inventory and AI system impact assessments (ISO 42001 6.1.4, 8.4;
//! Annex A.5.2-A.5.5).
//!
//! Workflow: DRAFT → IN_REVIEW → APPROVED. A contributor drafts and submits; the review
//! can send it back (IN_REVIEW → DRAFT); OWNER/MANAGER approve, which records who and when.
//! An approved assessment is read-only until OWNER/MANAGER reopen it (APPROVED → DRAFT),
//! which clears the approval (the audit trail keeps it).

use super::Invalid;
use super::risk::{MatrixSize, rating};

labelled!(
    AiLifecycleStage {
        Design => "DESIGN",
        Development => "DEVELOPMENT",
        Validation => "VALIDATION",
        Deployed => "DEPLOYED",
        Retired => "RETIRED",
    }
);

labelled!(
    /// The organization's role for an AI system (ISO 42001 4.1; ISO/IEC 22989 5.19).
    AiRole { Provider => "PROVIDER", Developer => "DEVELOPER", Deployer => "DEPLOYER", User => "USER" }
);

labelled!(
    ImpactAssessmentStatus { Draft => "DRAFT", InReview => "IN_REVIEW", Approved => "APPROVED" }
);

labelled!(
    ImpactArea {
        Fairness => "FAIRNESS",
        Privacy => "PRIVACY",
        Safety => "SAFETY",
        Security => "SECURITY",
        Transparency => "TRANSPARENCY",
        Accountability => "ACCOUNTABILITY",
        HumanRights => "HUMAN_RIGHTS",
        Environment => "ENVIRONMENT",
        Other => "OTHER",
    }
);

/// Who may make a move: writers, or approvers (OWNER/MANAGER).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    Write,
    Approve,
}

/// The right a status change needs, or why it is not a move of the workflow.
pub fn transition(from: ImpactAssessmentStatus, to: ImpactAssessmentStatus) -> Result<Right, Invalid> {
    use ImpactAssessmentStatus::*;
    match (from, to) {
        (Draft, InReview) | (InReview, Draft) => Ok(Right::Write),
        // ISO 42001 6.1.4: the organization approves the assessment's result.
        (InReview, Approved) | (Approved, Draft) => Ok(Right::Approve),
        _ => Err(Invalid::new(
            "status",
            format!(
                "{} → {} is not a move of the workflow (DRAFT → IN_REVIEW → APPROVED; IN_REVIEW → DRAFT; APPROVED → DRAFT reopens)",
                from.as_str(),
                to.as_str()
            ),
        )),
    }
}

/// The moves out of `from`.
pub fn next_statuses(from: ImpactAssessmentStatus) -> Vec<(ImpactAssessmentStatus, Right)> {
    ImpactAssessmentStatus::ALL.iter().filter_map(|to| transition(from, *to).ok().map(|r| (*to, r))).collect()
}

/// An approved assessment is read-only until reopened.
pub fn check_editable(status: ImpactAssessmentStatus, field: &str) -> Result<(), Invalid> {
    if status == ImpactAssessmentStatus::Approved {
        return Err(Invalid::new(field, "an APPROVED assessment is read-only; reopen it (status: DRAFT) first"));
    }
    Ok(())
}

/// Leaving DRAFT needs at least one assessed impact (ISO 42001 6.1.4: the potential
/// consequences are what the assessment documents).
pub fn check_submittable(to: ImpactAssessmentStatus, impacts: usize) -> Result<(), Invalid> {
    if to != ImpactAssessmentStatus::Draft && impacts == 0 {
        return Err(Invalid::new("impacts", "an assessment needs at least one impact before review or approval"));
    }
    Ok(())
}

/// One assessed impact, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impact {
    pub area: ImpactArea,
    pub description: String,
    pub likelihood: i32,
    pub severity: i32,
    pub mitigation: Option<String>,
}

pub const MAX_IMPACTS: usize = 100;

/// Likelihood and severity use the organization's risk matrix (one method).
pub fn check_impact(
    index: usize,
    area: ImpactArea,
    description: &str,
    likelihood: i32,
    severity: i32,
    mitigation: Option<&str>,
    m: MatrixSize,
) -> Result<Impact, Invalid> {
    let f = |n: &str| format!("impacts[{index}].{n}");
    Ok(Impact {
        area,
        description: super::required_text(&f("description"), description, super::MAX_TEXT)?,
        likelihood: rating(&f("likelihood"), likelihood, m)?,
        severity: rating(&f("severity"), severity, m)?,
        mitigation: super::optional_text(&f("mitigation"), mitigation, super::MAX_TEXT)?,
    })
}

/// The auditor's finding: a deployed AI system without an approved impact assessment
/// (ISO 42001 8.4, A.5.2).
pub fn impact_assessment_missing(stage: AiLifecycleStage, has_approved_assessment: bool) -> bool {
    stage == AiLifecycleStage::Deployed && !has_approved_assessment
}

#[cfg(test)]
mod tests {
    use super::*;
    use ImpactAssessmentStatus::*;

    #[test]
    fn workflow_moves() {
        assert_eq!(transition(Draft, InReview), Ok(Right::Write));
        assert_eq!(transition(InReview, Draft), Ok(Right::Write));
        assert_eq!(transition(InReview, Approved), Ok(Right::Approve));
        assert_eq!(transition(Approved, Draft), Ok(Right::Approve));
        for (f, t) in
            [(Draft, Approved), (Approved, InReview), (Draft, Draft), (Approved, Approved), (InReview, InReview)]
        {
            assert_eq!(transition(f, t).unwrap_err().field, "status", "{f:?} → {t:?}");
        }
        assert_eq!(next_statuses(Draft), vec![(InReview, Right::Write)]);
        assert_eq!(next_statuses(InReview), vec![(Draft, Right::Write), (Approved, Right::Approve)]);
        assert_eq!(next_statuses(Approved), vec![(Draft, Right::Approve)]);
    }

    #[test]
    fn approved_is_read_only() {
        assert_eq!(check_editable(Approved, "title").unwrap_err().field, "title");
        assert!(check_editable(Draft, "title").is_ok());
        assert!(check_editable(InReview, "impacts").is_ok());
        assert!(check_submittable(InReview, 0).is_err());
        assert!(check_submittable(Draft, 0).is_ok());
        assert!(check_submittable(Approved, 1).is_ok());
    }

    #[test]
    fn impacts_use_the_matrix() {
        let m3 = MatrixSize::parse("m", 3).expect("3");
        let ok = check_impact(0, ImpactArea::Fairness, " bias ", 3, 2, Some(""), m3).expect("ok");
        assert_eq!((ok.description.as_str(), ok.mitigation), ("bias", None));
        assert_eq!(
            check_impact(2, ImpactArea::Safety, "x", 4, 1, None, m3).unwrap_err().field,
            "impacts[2].likelihood"
        );
        assert_eq!(check_impact(1, ImpactArea::Safety, "x", 1, 0, None, m3).unwrap_err().field, "impacts[1].severity");
        assert_eq!(
            check_impact(0, ImpactArea::Other, " ", 1, 1, None, m3).unwrap_err().field,
            "impacts[0].description"
        );
    }

    #[test]
    fn missing_assessment_is_a_deployed_system_without_approval() {
        for s in AiLifecycleStage::ALL {
            assert_eq!(impact_assessment_missing(*s, false), *s == AiLifecycleStage::Deployed);
            assert!(!impact_assessment_missing(*s, true));
        }
    }
}
