//! The management review (ISO 27001 9.3; ISO 42001 9.3): the workflow PLANNED → HELD →
//! CLOSED, the inputs every review must consider (9.3.2 of both standards, one per
//! topic), the decisions it takes (9.3.3), which decisions carry over to the next review,
//! and the snapshot of the organization's figures frozen when it is held (9.3.3: the
//! results are retained as documented information, as evidence).

use chrono::NaiveDate;
use serde::Serialize;

use super::Invalid;

labelled!(
    /// Where a management review stands.
    ReviewStatus {
        Planned => "PLANNED",
        Held => "HELD",
        Closed => "CLOSED",
    }
);

labelled!(
    /// What a management review considers (9.3.2 of both standards, plus AI system
    /// performance and incidents).
    ReviewTopic {
        // ISO 27001 9.3.2 a; ISO 42001 9.3.2 a
        PreviousActions => "PREVIOUS_ACTIONS",
        // ISO 27001 9.3.2 b; ISO 42001 9.3.2 b
        ContextChanges => "CONTEXT_CHANGES",
        // ISO 27001 9.3.2 c; ISO 42001 9.3.2 c
        InterestedPartyChanges => "INTERESTED_PARTY_CHANGES",
        // ISO 27001 9.3.2 d 1); ISO 42001 9.3.2 d 1)
        NonconformitiesAndActions => "NONCONFORMITIES_AND_ACTIONS",
        // ISO 27001 9.3.2 d 2); ISO 42001 9.3.2 d 2)
        MonitoringResults => "MONITORING_RESULTS",
        // ISO 27001 9.3.2 d 3); ISO 42001 9.3.2 d 3)
        AuditResults => "AUDIT_RESULTS",
        // ISO 27001 9.3.2 d 4) (fulfilment of objectives; ISO 42001 6.2 through 9.1)
        Objectives => "OBJECTIVES",
        // ISO 27001 9.3.2 e
        InterestedPartyFeedback => "INTERESTED_PARTY_FEEDBACK",
        // ISO 27001 9.3.2 f
        RiskAssessmentAndTreatment => "RISK_ASSESSMENT_AND_TREATMENT",
        // ISO 27001 9.3.2 g; ISO 42001 9.3.2 e
        ImprovementOpportunities => "IMPROVEMENT_OPPORTUNITIES",
        // ISO 42001 9.3.2 d (AI management system performance; A.6.2.6)
        AiSystemPerformance => "AI_SYSTEM_PERFORMANCE",
        // ISO 27001 A.5.27; ISO 42001 A.3.3 (learning from incidents)
        Incidents => "INCIDENTS",
    }
);

labelled!(
    /// What a decision of a review is about (ISO 27001 / 42001 9.3.3).
    DecisionKind {
        Improvement => "IMPROVEMENT",
        ChangeToSystem => "CHANGE_TO_SYSTEM",
        Resources => "RESOURCES",
        Other => "OTHER",
    }
);

labelled!(
    /// Where a decision stands.
    DecisionStatus {
        Open => "OPEN",
        Done => "DONE",
        Cancelled => "CANCELLED",
    }
);

/// Decisions one review takes at most.
pub const MAX_DECISIONS: usize = 100;
/// Attendees listed on one review at most.
pub const MAX_ATTENDEES: usize = 50;
/// Previous actions listed (and frozen into the snapshot) at most: the soonest due first.
pub const MAX_PREVIOUS_ACTIONS: usize = 100;
/// The version of the snapshot's JSON shape (`schemaVersion`).
pub const SNAPSHOT_SCHEMA_VERSION: u32 = 1;

impl ReviewStatus {
    /// The one status reachable from this one: no skips, no way back.
    pub fn next(self) -> Option<ReviewStatus> {
        match self {
            ReviewStatus::Planned => Some(ReviewStatus::Held),
            ReviewStatus::Held => Some(ReviewStatus::Closed),
            ReviewStatus::Closed => None,
        }
    }
}

impl DecisionStatus {
    pub fn is_open(self) -> bool {
        self == DecisionStatus::Open
    }
}

/// The topics without an input yet, in the enum's order.
pub fn missing_topics(recorded: &[ReviewTopic]) -> Vec<ReviewTopic> {
    ReviewTopic::ALL.iter().copied().filter(|t| !recorded.contains(t)).collect()
}

/// What a move needs to know of the review.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MoveFacts {
    /// Topics with an input.
    pub recorded: Vec<ReviewTopic>,
    pub attendees: usize,
    /// Decisions of this review still OPEN.
    pub open_decisions: usize,
}

/// Checks one move of the workflow.
/// - HELD: an input for every topic (ISO 27001 / 42001 9.3.2: the review "shall include
///   consideration of" each), and who attended (top management reviews, 9.3.1).
/// - CLOSED: every decision DONE or CANCELLED (9.3.3: the results are acted on).
pub fn check_transition(from: ReviewStatus, to: ReviewStatus, facts: &MoveFacts) -> Result<(), Invalid> {
    if from.next() != Some(to) {
        let next = from.next().map_or("none, it is closed".to_string(), |n| n.as_str().to_string());
        return Err(Invalid::new(
            "to",
            format!("a management review cannot move from {} to {}; next: {next}", from.as_str(), to.as_str()),
        ));
    }
    match to {
        ReviewStatus::Held => {
            let missing = missing_topics(&facts.recorded);
            if !missing.is_empty() {
                let names: Vec<&str> = missing.iter().map(|t| t.as_str()).collect();
                return Err(Invalid::new(
                    "to",
                    format!(
                        "record an input for every topic before the review is held (9.3.2); missing: {}",
                        names.join(", ")
                    ),
                ));
            }
            if facts.attendees == 0 {
                return Err(Invalid::new("attendees", "name who attended before the review is held (9.3.1)"));
            }
        }
        ReviewStatus::Closed => {
            if facts.open_decisions > 0 {
                return Err(Invalid::new(
                    "to",
                    format!(
                        "{} decision(s) still OPEN: mark each DONE or CANCELLED before closing (9.3.3)",
                        facts.open_decisions
                    ),
                ));
            }
        }
        ReviewStatus::Planned => {}
    }
    Ok(())
}

/// The day a review was held: given or today, never in the future.
pub fn held_on(given: Option<NaiveDate>, today: NaiveDate) -> Result<NaiveDate, Invalid> {
    let day = given.unwrap_or(today);
    if day > today {
        return Err(Invalid::new("heldOn", format!("heldOn {day} is in the future")));
    }
    Ok(day)
}

/// Inputs are recorded while the review is PLANNED; once HELD they are the record of
/// what the review considered.
pub fn check_inputs_open(status: ReviewStatus) -> Result<(), Invalid> {
    if status != ReviewStatus::Planned {
        return Err(Invalid::new(
            "reviewId",
            format!("the review is {}: inputs are recorded while it is PLANNED", status.as_str()),
        ));
    }
    Ok(())
}

/// The review's own fields (title, day, standards, attendees) change while PLANNED.
pub fn check_review_editable(status: ReviewStatus) -> Result<(), Invalid> {
    if status != ReviewStatus::Planned {
        return Err(Invalid::new(
            "id",
            format!("the review is {}: it is a record now; only its decisions move on", status.as_str()),
        ));
    }
    Ok(())
}

/// Decisions are outputs of a held review (9.3.3): added and updated while it is HELD; a
/// CLOSED review is read-only.
pub fn check_decisions_open(status: ReviewStatus, field: &str) -> Result<(), Invalid> {
    if status != ReviewStatus::Held {
        return Err(Invalid::new(
            field,
            format!("the review is {}: decisions are taken and followed up while it is HELD", status.as_str()),
        ));
    }
    Ok(())
}

/// A decision as the carry-over rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRef<Id> {
    pub id: Id,
    pub review: Id,
    pub status: DecisionStatus,
    pub due_on: Option<NaiveDate>,
}

/// The previous actions of `review` (ISO 27001 / 42001 9.3.2 a): the OPEN decisions of
/// the organization's other reviews (decisions exist only on reviews that were held, so
/// these are earlier ones), the soonest due first (undated last), at most
/// [`MAX_PREVIOUS_ACTIONS`].
pub fn carry_over<Id: Ord + Clone>(review: &Id, decisions: &[DecisionRef<Id>]) -> Vec<DecisionRef<Id>> {
    let mut out: Vec<DecisionRef<Id>> =
        decisions.iter().filter(|d| d.status.is_open() && &d.review != review).cloned().collect();
    out.sort_by(|a, b| (a.due_on.is_none(), a.due_on, &a.id).cmp(&(b.due_on.is_none(), b.due_on, &b.id)));
    out.truncate(MAX_PREVIOUS_ACTIONS);
    out
}

/// A decision is overdue when OPEN with its due day strictly before today.
pub fn decision_overdue(status: DecisionStatus, due_on: Option<NaiveDate>, today: NaiveDate) -> bool {
    status.is_open() && due_on.is_some_and(|d| d < today)
}

// ---------------------------------------------------------------------------------------
// The snapshot (schemaVersion 1). Field names are the JSON keys (camelCase); labels are
// the API's enum values. Added keys raise the schema version; existing ones never change.

/// The organization's figures when the review was held.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub schema_version: u32,
    /// RFC 3339, UTC.
    pub taken_at: String,
    /// `YYYY-MM-DD`.
    pub held_on: String,
    pub readiness: Vec<SnapshotReadiness>,
    pub soa_coverage: Vec<SnapshotCoverage>,
    pub risks: SnapshotRisks,
    pub nonconformities: SnapshotNonconformities,
    pub incidents: SnapshotIncidents,
    pub objectives: SnapshotObjectives,
    pub overdue_actions: SnapshotOverdue,
    pub previous_actions: Vec<SnapshotDecision>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotReadiness {
    pub standard: String,
    pub percent: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotCoverage {
    pub standard: String,
    pub applicable: u64,
    pub undecided: u64,
    pub excluded: u64,
    pub implemented: u64,
    pub partial: u64,
    pub planned: u64,
    pub not_started: u64,
    pub percent_implemented: f64,
}

/// A label and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelCount {
    pub label: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRisks {
    /// Not CLOSED.
    pub open: u64,
    /// Open risks above their domain's appetite and not validly accepted.
    pub appetite_breaches: u64,
    pub by_domain: Vec<LabelCount>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotNonconformities {
    /// Not CLOSED.
    pub open: u64,
    pub by_status: Vec<LabelCount>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotIncidents {
    /// Not yet RESOLVED.
    pub open: u64,
    pub by_severity: Vec<LabelCount>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotObjectives {
    pub by_status: Vec<LabelCount>,
    pub off_track: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotOverdue {
    pub corrective_actions: u64,
    pub tasks: u64,
    pub review_decisions: u64,
}

/// A previous action as it stood when the review was held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotDecision {
    /// Global IDs.
    pub id: String,
    pub review_id: String,
    pub text: String,
    pub kind: String,
    pub owner: Option<String>,
    pub due_on: Option<String>,
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status() -> impl Strategy<Value = ReviewStatus> {
        proptest::sample::select(ReviewStatus::ALL.to_vec())
    }

    fn all_recorded() -> MoveFacts {
        MoveFacts { recorded: ReviewTopic::ALL.to_vec(), attendees: 2, open_decisions: 0 }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).expect("day")
    }

    #[test]
    fn twelve_topics_cover_both_standards() {
        assert_eq!(ReviewTopic::ALL.len(), 12);
        assert_eq!(missing_topics(ReviewTopic::ALL), vec![]);
        assert_eq!(missing_topics(&[]).len(), 12);
    }

    #[test]
    fn held_needs_every_topic_and_attendees() {
        use ReviewStatus::*;
        assert!(check_transition(Planned, Held, &all_recorded()).is_ok());
        let mut f = all_recorded();
        f.recorded.retain(|t| *t != ReviewTopic::Incidents);
        let e = check_transition(Planned, Held, &f).unwrap_err();
        assert_eq!(e.field, "to");
        assert!(e.message.contains("INCIDENTS") && !e.message.contains("OBJECTIVES"), "{}", e.message);
        let f = MoveFacts { attendees: 0, ..all_recorded() };
        assert_eq!(check_transition(Planned, Held, &f).unwrap_err().field, "attendees");
    }

    #[test]
    fn closed_needs_every_decision_settled_and_no_skips() {
        use ReviewStatus::*;
        let f = MoveFacts { open_decisions: 1, ..all_recorded() };
        assert_eq!(check_transition(Held, Closed, &f).unwrap_err().field, "to");
        assert!(check_transition(Held, Closed, &all_recorded()).is_ok());
        assert_eq!(check_transition(Planned, Closed, &all_recorded()).unwrap_err().field, "to");
        assert_eq!(check_transition(Held, Planned, &all_recorded()).unwrap_err().field, "to");
        assert!(check_transition(Closed, Closed, &all_recorded()).is_err());
    }

    #[test]
    fn held_on_is_never_in_the_future() {
        assert_eq!(held_on(None, day(2)), Ok(day(2)));
        assert_eq!(held_on(Some(day(1)), day(2)), Ok(day(1)));
        assert_eq!(held_on(Some(day(3)), day(2)).unwrap_err().field, "heldOn");
    }

    #[test]
    fn what_may_change_in_each_status() {
        use ReviewStatus::*;
        assert!(check_inputs_open(Planned).is_ok());
        assert!(check_inputs_open(Held).is_err());
        assert!(check_review_editable(Planned).is_ok());
        assert!(check_review_editable(Held).is_err());
        assert!(check_decisions_open(Held, "reviewId").is_ok());
        assert!(check_decisions_open(Planned, "reviewId").is_err());
        assert_eq!(check_decisions_open(Closed, "id").unwrap_err().field, "id");
    }

    #[test]
    fn carry_over_takes_open_decisions_of_other_reviews_soonest_first() {
        let d =
            |id: u32, review: u32, status, due: Option<u32>| DecisionRef { id, review, status, due_on: due.map(day) };
        let all = [
            d(1, 1, DecisionStatus::Open, None),
            d(2, 1, DecisionStatus::Done, Some(1)),
            d(3, 2, DecisionStatus::Open, Some(9)),
            d(4, 1, DecisionStatus::Open, Some(5)),
            d(5, 3, DecisionStatus::Open, Some(1)),
            d(6, 2, DecisionStatus::Cancelled, None),
        ];
        let ids: Vec<u32> = carry_over(&3, &all).iter().map(|d| d.id).collect();
        assert_eq!(ids, vec![4, 3, 1]);
        assert!(decision_overdue(DecisionStatus::Open, Some(day(1)), day(2)));
        assert!(!decision_overdue(DecisionStatus::Open, Some(day(2)), day(2)));
        assert!(!decision_overdue(DecisionStatus::Done, Some(day(1)), day(2)));
    }

    #[test]
    fn the_snapshot_has_a_stable_shape() {
        let s = Snapshot {
            schema_version: SNAPSHOT_SCHEMA_VERSION,
            taken_at: "2026-12-02T10:00:00Z".into(),
            held_on: "2026-12-02".into(),
            readiness: vec![SnapshotReadiness { standard: "ISO27001".into(), percent: 50.0 }],
            soa_coverage: vec![SnapshotCoverage { standard: "ISO27001".into(), ..Default::default() }],
            risks: SnapshotRisks::default(),
            nonconformities: SnapshotNonconformities::default(),
            incidents: SnapshotIncidents::default(),
            objectives: SnapshotObjectives::default(),
            overdue_actions: SnapshotOverdue::default(),
            previous_actions: vec![],
        };
        let v = serde_json::to_value(&s).expect("json");
        let keys: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
        for k in [
            "schemaVersion",
            "takenAt",
            "heldOn",
            "readiness",
            "soaCoverage",
            "risks",
            "nonconformities",
            "incidents",
            "objectives",
            "overdueActions",
            "previousActions",
        ] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
        assert_eq!(v["schemaVersion"], 1);
        assert!(v["soaCoverage"][0].get("notStarted").is_some());
        assert!(v["overdueActions"].get("reviewDecisions").is_some());
    }

    proptest! {
        /// Every legal move is one step forward; HELD is legal exactly when no topic is
        /// missing (and someone attended), CLOSED exactly when no decision is open.
        #[test]
        fn moves_follow_the_rules(
            from in status(),
            to in status(),
            mask in 0u16..4096,
            attendees in 0usize..3,
            open in 0usize..3,
        ) {
            let recorded: Vec<ReviewTopic> =
                ReviewTopic::ALL.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, t)| *t).collect();
            let all = recorded.len() == ReviewTopic::ALL.len();
            let facts = MoveFacts { recorded, attendees, open_decisions: open };
            let ok = check_transition(from, to, &facts).is_ok();
            let forward = (to as u8) == (from as u8) + 1;
            let expected = forward
                && match to {
                    ReviewStatus::Held => all && attendees > 0,
                    ReviewStatus::Closed => open == 0,
                    ReviewStatus::Planned => false,
                };
            prop_assert_eq!(ok, expected);
        }

        /// The carry-over never includes the review's own decisions or settled ones, and
        /// is ordered by due day, undated last.
        #[test]
        fn carry_over_is_open_foreign_and_ordered(
            rows in proptest::collection::vec((0u32..4, 0u8..3, proptest::option::of(1u32..28)), 0..40),
            me in 0u32..4,
        ) {
            let decisions: Vec<DecisionRef<u32>> = rows
                .iter()
                .enumerate()
                .map(|(i, (review, s, due))| DecisionRef {
                    id: i as u32,
                    review: *review,
                    status: DecisionStatus::ALL[*s as usize],
                    due_on: due.map(day),
                })
                .collect();
            let out = carry_over(&me, &decisions);
            prop_assert!(out.iter().all(|d| d.status.is_open() && d.review != me));
            let expected = decisions.iter().filter(|d| d.status.is_open() && d.review != me).count();
            prop_assert_eq!(out.len(), expected.min(MAX_PREVIOUS_ACTIONS));
            for w in out.windows(2) {
                let key = |d: &DecisionRef<u32>| (d.due_on.is_none(), d.due_on);
                prop_assert!(key(&w[0]) <= key(&w[1]));
            }
        }
    }
}
