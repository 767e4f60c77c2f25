//! The AI systems inventory and AI system impact assessments (ISO 42001 6.1.4, 8.4;
//! Annex A.5.2-A.5.5).
//!
//! Workflow: DRAFT → IN_REVIEW → APPROVED. A contributor drafts and submits; the review
//! can send it back (IN_REVIEW → DRAFT); OWNER/MANAGER approve, which records who and when.
//! An approved assessment is read-only until OWNER/MANAGER reopen it (APPROVED → DRAFT),
//! which clears the approval (the audit trail keeps it).

use chrono::{DateTime, Months, NaiveDate, Utc};

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
    /// The organization's single role for an AI system, as wave 1 recorded it (superseded
    /// by [`AiStakeholderRole`]; kept for the deprecated `organizationRole`).
    AiRole { Provider => "PROVIDER", Developer => "DEVELOPER", Deployer => "DEPLOYER", User => "USER" }
);

labelled!(
    /// The AI stakeholder roles of ISO/IEC 22989:2022 5.19 (ISO 42001 4.1: the organization
    /// determines its roles with respect to each AI system; it often holds several).
    AiStakeholderRole {
        AiProvider => "AI_PROVIDER",
        AiProducer => "AI_PRODUCER",
        AiCustomer => "AI_CUSTOMER",
        AiPartner => "AI_PARTNER",
        AiSubject => "AI_SUBJECT",
        RelevantAuthority => "RELEVANT_AUTHORITY",
    }
);

labelled!(
    /// The operator role under the EU AI Act (Regulation (EU) 2024/1689, Art. 3).
    EuAiActRole { Provider => "PROVIDER", Deployer => "DEPLOYER", Importer => "IMPORTER", Distributor => "DISTRIBUTOR" }
);

labelled!(
    /// The EU AI Act's classes: prohibited practices (Art. 5), high-risk (Art. 6), the
    /// transparency obligations of limited risk (Art. 50), minimal risk, and general-purpose
    /// AI models (Art. 51-55).
    EuAiActRiskClass {
        Prohibited => "PROHIBITED",
        HighRisk => "HIGH_RISK",
        LimitedRisk => "LIMITED_RISK",
        MinimalRisk => "MINIMAL_RISK",
        Gpai => "GPAI",
    }
);

impl AiRole {
    /// The ISO/IEC 22989 role a wave-1 role stands for: a provider provides (5.19.2), a
    /// developer produces (5.19.3); a deployer and a user use the system, which 22989
    /// calls an AI customer (5.19.4, the AI user being a customer sub-role).
    pub fn stakeholder_role(self) -> AiStakeholderRole {
        match self {
            AiRole::Provider => AiStakeholderRole::AiProvider,
            AiRole::Developer => AiStakeholderRole::AiProducer,
            AiRole::Deployer | AiRole::User => AiStakeholderRole::AiCustomer,
        }
    }
}

/// The organization's roles for one AI system: at least one (ISO 42001 4.1), each once,
/// in the order of [`AiStakeholderRole::ALL`].
pub fn check_roles(roles: &[AiStakeholderRole]) -> Result<Vec<AiStakeholderRole>, Invalid> {
    let mut v = roles.to_vec();
    v.sort();
    v.dedup();
    if v.is_empty() {
        return Err(Invalid::new(
            "organizationRoles",
            "name at least one of the organization's roles for the AI system (ISO 42001 4.1)",
        ));
    }
    Ok(v)
}

/// The single wave-1 role answering for `roles`: `previous` while the list still holds
/// what it stands for (so DEPLOYER stays DEPLOYER), else the first of AI_PROVIDER →
/// PROVIDER, AI_PRODUCER → DEVELOPER, AI_CUSTOMER → USER the list holds; a list of only
/// AI_PARTNER, AI_SUBJECT or RELEVANT_AUTHORITY (no wave-1 counterpart) keeps `previous`,
/// or USER for a new system.
pub fn legacy_role(roles: &[AiStakeholderRole], previous: Option<AiRole>) -> AiRole {
    if let Some(p) = previous
        && roles.contains(&p.stakeholder_role())
    {
        return p;
    }
    [AiRole::Provider, AiRole::Developer, AiRole::User]
        .into_iter()
        .find(|r| roles.contains(&r.stakeholder_role()))
        .or(previous)
        .unwrap_or(AiRole::User)
}

/// The roles a wave-1 client means by setting the single `organizationRole`: the list
/// stays when it already holds that role, else the role replaces it (a single-valued field
/// said "this is our role").
pub fn roles_from_legacy(role: AiRole, current: &[AiStakeholderRole]) -> Vec<AiStakeholderRole> {
    if current.contains(&role.stakeholder_role()) {
        return current.to_vec();
    }
    vec![role.stakeholder_role()]
}

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

/// The roles after a write that gives the deprecated single role, the list, both or
/// neither; `current` is the stored list and single role (`None` for a new system).
/// `Ok(None)`: unchanged.
pub fn resolve_roles(
    single: Option<AiRole>,
    list: Option<&[AiStakeholderRole]>,
    current: Option<(&[AiStakeholderRole], AiRole)>,
) -> Result<Option<(Vec<AiStakeholderRole>, AiRole)>, Invalid> {
    match (single, list) {
        (Some(one), Some(list)) => {
            let list = check_roles(list)?;
            if !list.contains(&one.stakeholder_role()) {
                return Err(Invalid::new(
                    "organizationRole",
                    format!(
                        "organizationRole {} stands for {}, which organizationRoles does not hold",
                        one.as_str(),
                        one.stakeholder_role().as_str()
                    ),
                ));
            }
            Ok(Some((list, one)))
        }
        (None, Some(list)) => {
            let list = check_roles(list)?;
            let one = legacy_role(&list, current.map(|(_, r)| r));
            Ok(Some((list, one)))
        }
        (Some(one), None) => Ok(Some((roles_from_legacy(one, current.map_or(&[], |(l, _)| l)), one))),
        (None, None) if current.is_none() => {
            Err(Invalid::new("organizationRoles", "name the organization's roles for the AI system (ISO 42001 4.1)"))
        }
        (None, None) => Ok(None),
    }
}

/// The stages at which an AI system needs an approved impact assessment: in validation
/// (assess before deployment) and deployed (ISO 42001 6.1.4, 8.4, A.5.2).
pub fn needs_assessment(stage: AiLifecycleStage) -> bool {
    matches!(stage, AiLifecycleStage::Validation | AiLifecycleStage::Deployed)
}

/// The auditor's finding: an AI system in validation or deployed without an approved
/// impact assessment (ISO 42001 8.4, A.5.2).
pub fn impact_assessment_missing(stage: AiLifecycleStage, has_approved_assessment: bool) -> bool {
    needs_assessment(stage) && !has_approved_assessment
}

/// Months between reviews of an approved assessment when none is given (ISO 42001 8.4:
/// assessments are performed at planned intervals).
pub const DEFAULT_REVIEW_INTERVAL_MONTHS: i32 = 12;
/// The longest review interval accepted: five years.
pub const MAX_REVIEW_INTERVAL_MONTHS: i32 = 60;

/// 1 to [`MAX_REVIEW_INTERVAL_MONTHS`] months.
pub fn check_review_interval(months: i32) -> Result<i32, Invalid> {
    if !(1..=MAX_REVIEW_INTERVAL_MONTHS).contains(&months) {
        return Err(Invalid::new(
            "reviewIntervalMonths",
            format!("reviewIntervalMonths must be between 1 and {MAX_REVIEW_INTERVAL_MONTHS}"),
        ));
    }
    Ok(months)
}

/// The next review of an assessment approved on `approved_on` (UTC): `months` calendar
/// months later, on the last day of the month when that month is shorter (31 January + 1
/// month is 28 or 29 February).
pub fn next_review_on(approved_on: NaiveDate, months: i32) -> Option<NaiveDate> {
    approved_on.checked_add_months(Months::new(u32::try_from(months).ok()?))
}

/// What an approved assessment looks at to know whether it still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Staleness {
    pub status: ImpactAssessmentStatus,
    pub approved_at: Option<DateTime<Utc>>,
    pub next_review_on: Option<NaiveDate>,
    /// When the AI system's purpose, data categories or lifecycle stage last changed.
    pub system_changed_at: Option<DateTime<Utc>>,
}

/// ISO 42001 8.4 (assess at planned intervals and when significant changes are proposed
/// or occur), 6.1.4: an APPROVED assessment is due for reassessment once its review date
/// has passed (strictly before `today`, UTC; due today is not yet passed) or the system's
/// purpose, data categories or lifecycle stage changed after the approval.
pub fn reassessment_due(s: &Staleness, today: NaiveDate) -> bool {
    if s.status != ImpactAssessmentStatus::Approved {
        return false;
    }
    let review_passed = s.next_review_on.is_some_and(|d| d < today);
    let changed_since = match (s.system_changed_at, s.approved_at) {
        (Some(changed), Some(approved)) => changed > approved,
        _ => false,
    };
    review_passed || changed_since
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
    fn missing_assessment_is_a_system_in_validation_or_deployed_without_approval() {
        use AiLifecycleStage as S;
        for s in S::ALL {
            assert_eq!(impact_assessment_missing(*s, false), matches!(s, S::Validation | S::Deployed), "{s:?}");
            assert!(!impact_assessment_missing(*s, true));
        }
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    #[test]
    fn review_interval_bounds() {
        assert_eq!(check_review_interval(0).unwrap_err().field, "reviewIntervalMonths");
        assert_eq!(check_review_interval(-1).unwrap_err().field, "reviewIntervalMonths");
        assert_eq!(check_review_interval(1), Ok(1));
        assert_eq!(check_review_interval(MAX_REVIEW_INTERVAL_MONTHS), Ok(MAX_REVIEW_INTERVAL_MONTHS));
        assert!(check_review_interval(MAX_REVIEW_INTERVAL_MONTHS + 1).is_err());
        assert!(check_review_interval(DEFAULT_REVIEW_INTERVAL_MONTHS).is_ok());
    }

    #[test]
    fn next_review_is_calendar_months_later() {
        assert_eq!(next_review_on(d("2026-03-15"), 12), Some(d("2027-03-15")));
        assert_eq!(next_review_on(d("2026-01-31"), 1), Some(d("2026-02-28")));
        assert_eq!(next_review_on(d("2027-01-31"), 1), Some(d("2027-02-28")));
        assert_eq!(next_review_on(d("2028-01-31"), 1), Some(d("2028-02-29")), "leap year");
        assert_eq!(next_review_on(d("2024-02-29"), 12), Some(d("2025-02-28")));
        assert_eq!(next_review_on(d("2026-11-30"), 3), Some(d("2027-02-28")), "across a year");
        assert_eq!(next_review_on(d("2026-01-01"), -1), None);
    }

    #[test]
    fn reassessment_due_at_the_edges() {
        let approved = Staleness {
            status: Approved,
            approved_at: Some(t("2026-01-10T12:00:00Z")),
            next_review_on: Some(d("2027-01-10")),
            system_changed_at: None,
        };
        // The review date: passed strictly after it.
        assert!(!reassessment_due(&approved, d("2027-01-09")));
        assert!(!reassessment_due(&approved, d("2027-01-10")), "due today is not passed");
        assert!(reassessment_due(&approved, d("2027-01-11")));
        // A change to the system: after the approval only.
        let today = d("2026-06-01");
        let before = Staleness { system_changed_at: Some(t("2026-01-10T11:59:59Z")), ..approved };
        assert!(!reassessment_due(&before, today));
        let same = Staleness { system_changed_at: Some(t("2026-01-10T12:00:00Z")), ..approved };
        assert!(!reassessment_due(&same, today));
        let after = Staleness { system_changed_at: Some(t("2026-01-10T12:00:01Z")), ..approved };
        assert!(reassessment_due(&after, today));
        // Only an approved assessment goes stale; a draft is being (re)assessed.
        for status in [Draft, InReview] {
            let s = Staleness { status, ..after };
            assert!(!reassessment_due(&s, d("2030-01-01")), "{status:?}");
        }
        // No review date recorded: only a change makes it due.
        let undated = Staleness { next_review_on: None, ..approved };
        assert!(!reassessment_due(&undated, d("2040-01-01")));
    }

    #[test]
    fn roles() {
        use AiStakeholderRole as R;
        assert_eq!(check_roles(&[]).unwrap_err().field, "organizationRoles");
        assert_eq!(
            check_roles(&[R::AiSubject, R::AiProvider, R::AiSubject]).expect("ok"),
            vec![R::AiProvider, R::AiSubject]
        );
        assert_eq!(check_roles(R::ALL).expect("all").len(), 6);
        // Wave-1 roles map into the list.
        assert_eq!(AiRole::Provider.stakeholder_role(), R::AiProvider);
        assert_eq!(AiRole::Developer.stakeholder_role(), R::AiProducer);
        assert_eq!(AiRole::Deployer.stakeholder_role(), R::AiCustomer);
        assert_eq!(AiRole::User.stakeholder_role(), R::AiCustomer);
        // The single role is derived from the list, keeping the previous one while it fits.
        for r in AiRole::ALL {
            assert_eq!(legacy_role(&[r.stakeholder_role()], Some(*r)), *r, "round trip {r:?}");
        }
        assert_eq!(legacy_role(&[R::AiCustomer, R::AiProvider], None), AiRole::Provider);
        assert_eq!(legacy_role(&[R::AiCustomer, R::AiProducer], Some(AiRole::Provider)), AiRole::Developer);
        assert_eq!(legacy_role(&[R::AiCustomer], Some(AiRole::Deployer)), AiRole::Deployer);
        assert_eq!(legacy_role(&[R::AiCustomer], Some(AiRole::Provider)), AiRole::User);
        assert_eq!(legacy_role(&[R::AiSubject], Some(AiRole::Developer)), AiRole::Developer);
        assert_eq!(legacy_role(&[R::RelevantAuthority], None), AiRole::User);
        // Setting the single role: kept list when it holds it, else replaced.
        assert_eq!(
            roles_from_legacy(AiRole::Provider, &[R::AiProvider, R::AiSubject]),
            vec![R::AiProvider, R::AiSubject]
        );
        assert_eq!(roles_from_legacy(AiRole::User, &[R::AiProvider, R::AiSubject]), vec![R::AiCustomer]);
    }

    #[test]
    fn resolving_roles_on_write() {
        use AiStakeholderRole as R;
        let both = resolve_roles(Some(AiRole::Deployer), Some(&[R::AiCustomer, R::AiSubject]), None);
        assert_eq!(both, Ok(Some((vec![R::AiCustomer, R::AiSubject], AiRole::Deployer))));
        let clash = resolve_roles(Some(AiRole::Provider), Some(&[R::AiCustomer]), None);
        assert_eq!(clash.unwrap_err().field, "organizationRole");
        assert_eq!(resolve_roles(None, Some(&[]), None).unwrap_err().field, "organizationRoles");
        assert_eq!(resolve_roles(None, None, None).unwrap_err().field, "organizationRoles");
        let stored: (&[R], AiRole) = (&[R::AiCustomer], AiRole::Deployer);
        assert_eq!(resolve_roles(None, None, Some(stored)), Ok(None));
        assert_eq!(
            resolve_roles(None, Some(&[R::AiProducer, R::AiCustomer]), Some(stored)),
            Ok(Some((vec![R::AiProducer, R::AiCustomer], AiRole::Deployer)))
        );
        assert_eq!(
            resolve_roles(Some(AiRole::Provider), None, Some(stored)),
            Ok(Some((vec![R::AiProvider], AiRole::Provider)))
        );
        assert_eq!(resolve_roles(Some(AiRole::User), None, None), Ok(Some((vec![R::AiCustomer], AiRole::User))));
    }
}
