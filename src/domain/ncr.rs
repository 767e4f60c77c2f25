//! Nonconformity and corrective action (ISO 27001 / ISO 42001 clause 10.2): one process
//! for both standards, with its workflow rules.

use chrono::NaiveDate;

use super::Invalid;

labelled!(NcrStatus {
    Open => "OPEN",
    Analysis => "ANALYSIS",
    ActionPlanned => "ACTION_PLANNED",
    InProgress => "IN_PROGRESS",
    Verification => "VERIFICATION",
    Closed => "CLOSED",
});

labelled!(Severity { Major => "MAJOR", Minor => "MINOR" });

labelled!(Source {
    InternalAudit => "INTERNAL_AUDIT",
    ExternalAudit => "EXTERNAL_AUDIT",
    Incident => "INCIDENT",
    ManagementReview => "MANAGEMENT_REVIEW",
    Monitoring => "MONITORING",
    Complaint => "COMPLAINT",
    Other => "OTHER",
});

labelled!(ActionStatus { Open => "OPEN", InProgress => "IN_PROGRESS", Done => "DONE", Cancelled => "CANCELLED" });

impl NcrStatus {
    /// The statuses reachable in one step. VERIFICATION → IN_PROGRESS when the actions
    /// proved ineffective.
    pub fn next(self) -> &'static [NcrStatus] {
        use NcrStatus::*;
        match self {
            Open => &[Analysis],
            // ANALYSIS → CLOSED: no corrective action is needed (10.2 b), recorded with why.
            Analysis => &[ActionPlanned, Closed],
            ActionPlanned => &[InProgress],
            InProgress => &[Verification],
            Verification => &[Closed, InProgress],
            Closed => &[],
        }
    }

    /// Past ANALYSIS: the root cause has been determined and must stay recorded.
    fn has_planned_actions(self) -> bool {
        matches!(self, NcrStatus::ActionPlanned | NcrStatus::InProgress | NcrStatus::Verification | NcrStatus::Closed)
    }
}

/// What the workflow rules look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub has_root_cause: bool,
    pub has_effectiveness_review: bool,
    /// The 10.2 b evaluation's outcome: action to eliminate the cause is needed (the
    /// default) or not.
    pub action_needed: bool,
    /// Why no action is needed (10.2 b), recorded.
    pub has_no_action_justification: bool,
    /// Statuses of the NCR's corrective actions.
    pub actions: Vec<ActionStatus>,
}

impl Facts {
    /// Actions that still count: CANCELLED ones were dropped from the plan.
    fn live(&self) -> usize {
        self.actions.iter().filter(|a| **a != ActionStatus::Cancelled).count()
    }
    fn done(&self) -> usize {
        self.actions.iter().filter(|a| **a == ActionStatus::Done).count()
    }
    /// Every action still in the plan is DONE, and there is at least one.
    fn all_done(&self) -> bool {
        self.live() > 0 && self.done() == self.live()
    }
}

/// Checks one move of the workflow OPEN → ANALYSIS → ACTION_PLANNED → IN_PROGRESS →
/// VERIFICATION → CLOSED (and VERIFICATION → IN_PROGRESS). Who may close is the
/// permission table's business, not this function's.
pub fn check_transition(from: NcrStatus, to: NcrStatus, facts: &Facts, note: Option<&str>) -> Result<(), Invalid> {
    use NcrStatus::*;
    if !from.next().contains(&to) {
        let next: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
        let next = if next.is_empty() { "none, it is closed".to_string() } else { next.join(", ") };
        return Err(Invalid::new(
            "to",
            format!("a nonconformity cannot move from {} to {}; next: {next}", from.as_str(), to.as_str()),
        ));
    }
    if from == Analysis && to == Closed {
        return check_close_without_action(facts);
    }
    match to {
        // ISO 27001 / 42001 10.2 b: the evaluation decided no action is needed.
        ActionPlanned if !facts.action_needed => Err(Invalid::new(
            "actionNeeded",
            "actionNeeded is false: close from ANALYSIS, or set actionNeeded to true to plan actions (10.2 b)",
        )),
        // ISO 27001 / 42001 10.2 b 2: determine the causes before deciding on action.
        ActionPlanned if !facts.has_root_cause => {
            Err(Invalid::new("rootCause", "record the root cause before planning actions (10.2 b 2)"))
        }
        // 10.2 c: implement any action needed.
        ActionPlanned | InProgress if facts.live() == 0 => {
            Err(Invalid::new("correctiveActions", "plan at least one corrective action that is not cancelled (10.2 c)"))
        }
        // 10.2 c: the actions are implemented before their effectiveness is verified.
        Verification if !facts.all_done() => Err(Invalid::new(
            "correctiveActions",
            "every corrective action that is not cancelled must be DONE before verification",
        )),
        InProgress if from == Verification && note.is_none_or(|n| n.trim().is_empty()) => {
            Err(Invalid::new("note", "say why the actions proved ineffective when reopening"))
        }
        // 10.2 d: review the effectiveness of any corrective action taken.
        Closed if !facts.has_effectiveness_review => Err(Invalid::new(
            "effectivenessReview",
            "record the review of the actions' effectiveness before closing (10.2 d)",
        )),
        Closed if !facts.all_done() => Err(Invalid::new(
            "correctiveActions",
            "every corrective action that is not cancelled must be DONE before closing",
        )),
        _ => Ok(()),
    }
}

/// ANALYSIS → CLOSED: the evaluation of ISO 27001 / 42001 10.2 b found no action to
/// eliminate the cause needed. The causes are still determined (10.2 b 2) and the decision
/// is justified; there is no corrective action, so nothing for 10.2 d to review.
fn check_close_without_action(facts: &Facts) -> Result<(), Invalid> {
    if facts.action_needed {
        return Err(Invalid::new(
            "actionNeeded",
            "closing from ANALYSIS records that no corrective action is needed: set actionNeeded to false with a justification first (10.2 b)",
        ));
    }
    if !facts.has_root_cause {
        return Err(Invalid::new("rootCause", "record the causes before deciding that no action is needed (10.2 b 2)"));
    }
    if !facts.has_no_action_justification {
        return Err(Invalid::new("noActionJustification", "say why no corrective action is needed (10.2 b)"));
    }
    if facts.live() > 0 {
        return Err(Invalid::new(
            "correctiveActions",
            "no action is needed, yet corrective actions are planned: cancel them first (10.2 b)",
        ));
    }
    Ok(())
}

/// The 10.2 b decision on the need for action. `false` is decided while the nonconformity
/// is OPEN or in ANALYSIS (once actions are planned they are implemented, 10.2 c), and
/// needs a justification that stays while it holds.
pub fn check_action_decision(
    status: NcrStatus,
    action_needed: bool,
    justification: Option<&str>,
) -> Result<(), Invalid> {
    if action_needed {
        return Ok(());
    }
    if !matches!(status, NcrStatus::Open | NcrStatus::Analysis) {
        return Err(Invalid::new(
            "actionNeeded",
            format!(
                "the need for action is decided in OPEN or ANALYSIS (10.2 b); this nonconformity is {}",
                status.as_str()
            ),
        ));
    }
    if justification.is_none_or(|j| j.trim().is_empty()) {
        return Err(Invalid::new("noActionJustification", "say why no corrective action is needed (10.2 b)"));
    }
    Ok(())
}

/// Nonconformities one nonconformity links to as similar (10.2 b 3).
pub const MAX_SIMILAR: usize = 20;

/// The similar nonconformities of `own` (10.2 b 3: determine whether similar
/// nonconformities exist): sorted, without repeats, never itself, at most [`MAX_SIMILAR`].
pub fn check_similar<T: Ord + Copy>(own: T, ids: &[T]) -> Result<Vec<T>, Invalid> {
    let mut v = ids.to_vec();
    v.sort();
    v.dedup();
    if v.contains(&own) {
        return Err(Invalid::new("similarNonconformityIds", "a nonconformity is not similar to itself"));
    }
    if v.len() > MAX_SIMILAR {
        return Err(Invalid::new("similarNonconformityIds", format!("at most {MAX_SIMILAR} similar nonconformities")));
    }
    Ok(v)
}

/// The steps a ticket reported done takes: forward along the workflow as far as the rules
/// allow, and never beyond VERIFICATION, because closure needs the effectiveness review
/// (10.2 d) by a person. Returns the statuses passed through, in order.
pub fn advance_towards_verification(from: NcrStatus, facts: &Facts) -> Vec<NcrStatus> {
    let mut steps = Vec::new();
    let mut at = from;
    while at != NcrStatus::Verification && at != NcrStatus::Closed {
        let Some(next) = at.next().first().copied() else { break };
        if check_transition(at, next, facts, None).is_err() {
            break;
        }
        steps.push(next);
        at = next;
    }
    steps
}

/// Closed nonconformities are a record (10.2 f, g: documented information retained as
/// evidence): read-only.
pub fn ensure_not_closed(status: NcrStatus, field: &str) -> Result<(), Invalid> {
    if status == NcrStatus::Closed {
        return Err(Invalid::new(field, "the nonconformity is CLOSED and read-only"));
    }
    Ok(())
}

/// Once actions are planned, the root cause they answer cannot be removed.
pub fn check_root_cause_kept(status: NcrStatus, root_cause: Option<&str>) -> Result<(), Invalid> {
    if status.has_planned_actions() && root_cause.is_none_or(|r| r.trim().is_empty()) {
        return Err(Invalid::new("rootCause", "the root cause cannot be removed once actions are planned"));
    }
    Ok(())
}

/// A ticket in an external system (ticketing sync); unique per organization on
/// (system, key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalRef {
    pub system: String,
    pub key: String,
    pub url: Option<String>,
}

impl ExternalRef {
    pub fn parse(system: &str, key: &str, url: Option<&str>) -> Result<ExternalRef, Invalid> {
        let system = super::required_text("externalRef.system", system, 64)?;
        let key = super::required_text("externalRef.key", key, 255)?;
        let url = super::optional_text("externalRef.url", url, 2000)?;
        if let Some(u) = &url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(Invalid::new("externalRef.url", "externalRef.url must be an http(s) URL"));
        }
        Ok(ExternalRef { system, key, url })
    }
}

/// A corrective action is overdue when its due date is strictly before `today` (UTC) and
/// it is neither DONE nor CANCELLED. Due today is not overdue.
pub fn overdue(due: Option<NaiveDate>, status: ActionStatus, today: NaiveDate) -> bool {
    matches!(status, ActionStatus::Open | ActionStatus::InProgress) && due.is_some_and(|d| d < today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ActionStatus as A;
    use NcrStatus::*;
    use proptest::prelude::*;

    fn ready() -> Facts {
        Facts {
            has_root_cause: true,
            has_effectiveness_review: true,
            action_needed: true,
            has_no_action_justification: false,
            actions: vec![A::Done],
        }
    }

    /// Everything ANALYSIS → CLOSED needs: causes, no action needed, why, no live action.
    fn no_action() -> Facts {
        Facts { action_needed: false, has_no_action_justification: true, actions: vec![], ..ready() }
    }

    /// The whole table with every rule satisfied: exactly the workflow edges pass.
    #[test]
    fn transition_table() {
        let allowed = [
            (Open, Analysis),
            (Analysis, ActionPlanned),
            (ActionPlanned, InProgress),
            (InProgress, Verification),
            (Verification, Closed),
            (Verification, InProgress),
        ];
        for from in NcrStatus::ALL {
            for to in NcrStatus::ALL {
                let r = check_transition(*from, *to, &ready(), Some("retest failed"));
                assert_eq!(r.is_ok(), allowed.contains(&(*from, *to)), "{from:?} -> {to:?}: {r:?}");
                if !allowed.contains(&(*from, *to)) && (*from, *to) != (Analysis, Closed) {
                    assert_eq!(r.unwrap_err().field, "to");
                }
            }
        }
        // ANALYSIS → CLOSED is an edge, taken only when no action is needed.
        assert_eq!(check_transition(Analysis, Closed, &ready(), None).unwrap_err().field, "actionNeeded");
        assert!(check_transition(Analysis, Closed, &no_action(), None).is_ok());
        for from in NcrStatus::ALL.iter().filter(|s| !matches!(s, Analysis | Verification)) {
            assert_eq!(check_transition(*from, Closed, &no_action(), None).unwrap_err().field, "to", "{from:?}");
        }
    }

    #[test]
    fn no_action_needed_closes_from_analysis_with_its_reasons() {
        assert!(check_transition(Analysis, Closed, &no_action(), None).is_ok());
        // No effectiveness review: no corrective action was taken (10.2 d).
        let unreviewed = Facts { has_effectiveness_review: false, ..no_action() };
        assert!(check_transition(Analysis, Closed, &unreviewed, None).is_ok());
        let cancelled_only = Facts { actions: vec![A::Cancelled, A::Cancelled], ..no_action() };
        assert!(check_transition(Analysis, Closed, &cancelled_only, None).is_ok());
        for (f, field) in [
            (Facts { has_root_cause: false, ..no_action() }, "rootCause"),
            (Facts { has_no_action_justification: false, ..no_action() }, "noActionJustification"),
            (Facts { actions: vec![A::Open], ..no_action() }, "correctiveActions"),
            (Facts { actions: vec![A::Done], ..no_action() }, "correctiveActions"),
            (Facts { action_needed: true, ..no_action() }, "actionNeeded"),
        ] {
            assert_eq!(check_transition(Analysis, Closed, &f, None).unwrap_err().field, field);
        }
        // Nor can it plan actions while it says none are needed.
        let planned = Facts { actions: vec![A::Open], ..no_action() };
        assert_eq!(check_transition(Analysis, ActionPlanned, &planned, None).unwrap_err().field, "actionNeeded");
        // A ticket never takes that edge.
        assert_eq!(advance_towards_verification(Analysis, &no_action()), vec![]);
        assert_eq!(advance_towards_verification(Open, &no_action()), vec![Analysis]);
    }

    #[test]
    fn action_decision_edges() {
        for s in NcrStatus::ALL {
            assert!(check_action_decision(*s, true, None).is_ok(), "{s:?}");
            let r = check_action_decision(*s, false, Some("one-off typo, no cause to remove"));
            assert_eq!(r.is_ok(), matches!(s, Open | Analysis), "{s:?}");
            if let Err(e) = r {
                assert_eq!(e.field, "actionNeeded");
            }
        }
        assert_eq!(check_action_decision(Analysis, false, None).unwrap_err().field, "noActionJustification");
        assert_eq!(check_action_decision(Open, false, Some("  ")).unwrap_err().field, "noActionJustification");
    }

    #[test]
    fn similar_links() {
        assert_eq!(check_similar(5, &[3, 1, 3]).expect("ok"), vec![1, 3]);
        assert_eq!(check_similar(5, &[]).expect("empty"), Vec::<i32>::new());
        assert_eq!(check_similar(5, &[1, 5]).unwrap_err().field, "similarNonconformityIds");
        let max: Vec<usize> = (0..MAX_SIMILAR).collect();
        assert_eq!(check_similar(usize::MAX, &max).expect("at the bound").len(), MAX_SIMILAR);
        let over: Vec<usize> = (0..=MAX_SIMILAR).collect();
        assert_eq!(check_similar(usize::MAX, &over).unwrap_err().field, "similarNonconformityIds");
        // Repeats do not count against the bound.
        let repeated: Vec<usize> = (0..MAX_SIMILAR).chain(0..MAX_SIMILAR).collect();
        assert!(check_similar(usize::MAX, &repeated).is_ok());
    }

    #[test]
    fn action_planned_needs_root_cause_and_a_live_action() {
        let no_cause = Facts { has_root_cause: false, ..ready() };
        assert_eq!(check_transition(Analysis, ActionPlanned, &no_cause, None).unwrap_err().field, "rootCause");
        let no_action = Facts { actions: vec![], ..ready() };
        assert_eq!(check_transition(Analysis, ActionPlanned, &no_action, None).unwrap_err().field, "correctiveActions");
        let only_cancelled = Facts { actions: vec![A::Cancelled], ..ready() };
        assert!(check_transition(Analysis, ActionPlanned, &only_cancelled, None).is_err());
        let open = Facts { actions: vec![A::Open], ..ready() };
        assert!(check_transition(Analysis, ActionPlanned, &open, None).is_ok());
        assert!(check_transition(ActionPlanned, InProgress, &open, None).is_ok());
        assert!(check_transition(ActionPlanned, InProgress, &only_cancelled, None).is_err());
    }

    #[test]
    fn verification_needs_every_live_action_done() {
        for (actions, ok) in [
            (vec![A::Done], true),
            (vec![A::Done, A::Cancelled], true),
            (vec![A::Done, A::Done], true),
            (vec![A::Done, A::Open], false),
            (vec![A::Done, A::InProgress], false),
            (vec![A::Cancelled], false),
            (vec![], false),
        ] {
            let f = Facts { actions: actions.clone(), ..ready() };
            let r = check_transition(InProgress, Verification, &f, None);
            assert_eq!(r.is_ok(), ok, "{actions:?}");
            if !ok {
                assert_eq!(r.unwrap_err().field, "correctiveActions");
            }
        }
    }

    #[test]
    fn close_rules() {
        let no_review = Facts { has_effectiveness_review: false, ..ready() };
        assert_eq!(check_transition(Verification, Closed, &no_review, None).unwrap_err().field, "effectivenessReview");
        let reopened_action = Facts { actions: vec![A::Done, A::Open], ..ready() };
        assert_eq!(
            check_transition(Verification, Closed, &reopened_action, None).unwrap_err().field,
            "correctiveActions"
        );
        assert!(check_transition(Verification, Closed, &ready(), None).is_ok());
        // Reopening explains itself.
        assert_eq!(check_transition(Verification, InProgress, &ready(), None).unwrap_err().field, "note");
        assert!(check_transition(Verification, InProgress, &ready(), Some("incident recurred")).is_ok());
    }

    #[test]
    fn root_cause_stays_once_actions_are_planned() {
        for s in NcrStatus::ALL {
            let planned = matches!(s, ActionPlanned | InProgress | Verification | Closed);
            assert_eq!(check_root_cause_kept(*s, None).is_err(), planned, "{s:?}");
            assert_eq!(check_root_cause_kept(*s, Some(" ")).is_err(), planned, "{s:?}");
            assert!(check_root_cause_kept(*s, Some("weak review")).is_ok());
        }
        assert!(ensure_not_closed(Closed, "id").is_err());
        assert!(ensure_not_closed(Verification, "id").is_ok());
    }

    #[test]
    fn ticket_done_advances_as_far_as_the_rules_allow() {
        assert_eq!(
            advance_towards_verification(Open, &ready()),
            vec![Analysis, ActionPlanned, InProgress, Verification]
        );
        assert_eq!(advance_towards_verification(InProgress, &ready()), vec![Verification]);
        assert_eq!(advance_towards_verification(Verification, &ready()), vec![]);
        assert_eq!(advance_towards_verification(Closed, &ready()), vec![]);
        let no_cause = Facts { has_root_cause: false, ..ready() };
        assert_eq!(advance_towards_verification(Open, &no_cause), vec![Analysis]);
        let open_action = Facts { actions: vec![A::Open], ..ready() };
        assert_eq!(advance_towards_verification(ActionPlanned, &open_action), vec![InProgress]);
    }

    #[test]
    fn external_refs() {
        let r = ExternalRef::parse(" jira ", " SEC-12 ", Some("https://jira.example/browse/SEC-12")).expect("valid");
        assert_eq!((r.system.as_str(), r.key.as_str()), ("jira", "SEC-12"));
        assert_eq!(ExternalRef::parse("", "K", None).unwrap_err().field, "externalRef.system");
        assert_eq!(ExternalRef::parse("jira", " ", None).unwrap_err().field, "externalRef.key");
        assert_eq!(ExternalRef::parse("jira", "K", Some("javascript:alert(1)")).unwrap_err().field, "externalRef.url");
        assert_eq!(ExternalRef::parse("jira", "K", Some("")).expect("blank url is none").url, None);
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn overdue_at_the_boundaries() {
        let today = d("2026-03-01");
        // Strictly before today: overdue; due today or later: not.
        assert!(overdue(Some(d("2026-02-28")), A::Open, today));
        assert!(overdue(Some(d("2026-02-28")), A::InProgress, today));
        assert!(!overdue(Some(d("2026-03-01")), A::Open, today));
        assert!(!overdue(Some(d("2026-03-02")), A::Open, today));
        assert!(overdue(Some(d("2025-12-31")), A::Open, d("2026-01-01")), "across a year");
        assert!(overdue(Some(d("2024-02-28")), A::Open, d("2024-02-29")), "leap day");
        assert!(!overdue(Some(d("2024-02-29")), A::Open, d("2024-02-29")));
        assert!(!overdue(Some(d("2020-01-01")), A::Done, today));
        assert!(!overdue(Some(d("2020-01-01")), A::Cancelled, today));
        assert!(!overdue(None, A::Open, today));
    }

    fn facts() -> impl Strategy<Value = Facts> {
        (
            proptest::bool::ANY,
            proptest::bool::ANY,
            proptest::collection::vec(proptest::sample::select(ActionStatus::ALL.to_vec()), 0..5),
        )
            .prop_map(|(c, e, actions)| Facts {
                has_root_cause: c,
                has_effectiveness_review: e,
                action_needed: true,
                has_no_action_justification: false,
                actions,
            })
    }

    proptest! {
        /// A ticket never closes an NCR, and every step it takes is a legal one.
        #[test]
        fn ticket_steps_are_legal_and_stop_short_of_closure(
            start in proptest::sample::select(NcrStatus::ALL.to_vec()),
            f in facts(),
        ) {
            let steps = advance_towards_verification(start, &f);
            let mut at = start;
            for s in &steps {
                prop_assert!(check_transition(at, *s, &f, None).is_ok());
                prop_assert_ne!(*s, Closed);
                at = *s;
            }
        }

        /// Closing always needs a review and completed actions, whatever else holds.
        #[test]
        fn closure_needs_review_and_done_actions(f in facts()) {
            let ok = check_transition(Verification, Closed, &f, None).is_ok();
            let live = f.actions.iter().filter(|a| **a != A::Cancelled).count();
            let done = f.actions.iter().filter(|a| **a == A::Done).count();
            prop_assert_eq!(ok, f.has_effectiveness_review && live > 0 && done == live);
        }

        #[test]
        fn overdue_is_strictly_past_and_open(due in 0u64..3000, today in 0u64..3000, i in 0usize..4) {
            let base = d("2024-01-01");
            let (due, today) = (base + chrono::Days::new(due), base + chrono::Days::new(today));
            let status = ActionStatus::ALL[i];
            let open = matches!(status, A::Open | A::InProgress);
            prop_assert_eq!(overdue(Some(due), status, today), open && due < today);
        }
    }
}
