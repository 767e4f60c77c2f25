//! Information security and AI incidents (ISO 27001 A.5.24-A.5.28; ISO 42001 A.3.3,
//! A.8.4): the workflow REPORTED → TRIAGED → CONTAINED → RESOLVED → CLOSED, the times the
//! moves set, and what closing needs.

use chrono::{DateTime, Utc};

use super::Invalid;

labelled!(
    /// What kind of event it is.
    IncidentKind {
        Security => "SECURITY",
        Ai => "AI",
        Privacy => "PRIVACY",
    }
);

labelled!(
    /// The harm an AI incident did or could do (ISO 42001 A.3.3, A.8.4).
    AiHarm {
        ModelDrift => "MODEL_DRIFT",
        Bias => "BIAS",
        Misuse => "MISUSE",
        Hallucination => "HALLUCINATION",
        DataLeak => "DATA_LEAK",
        Safety => "SAFETY",
        Privacy => "PRIVACY",
        Other => "OTHER",
    }
);

labelled!(
    /// How serious an incident is.
    IncidentSeverity {
        Low => "LOW",
        Medium => "MEDIUM",
        High => "HIGH",
        Critical => "CRITICAL",
    }
);

labelled!(
    /// Where an incident stands.
    IncidentStatus {
        Reported => "REPORTED",
        Triaged => "TRIAGED",
        Contained => "CONTAINED",
        Resolved => "RESOLVED",
        Closed => "CLOSED",
    }
);

/// Harms listed on one incident at most (every harm once).
pub const MAX_HARMS: usize = 8;
/// SoA rows one incident names as affected at most.
pub const MAX_AFFECTED_CONTROLS: usize = 50;

impl IncidentStatus {
    /// The one status reachable from this one: the workflow has no skips and no way back.
    pub fn next(self) -> Option<IncidentStatus> {
        use IncidentStatus::*;
        match self {
            Reported => Some(Triaged),
            Triaged => Some(Contained),
            Contained => Some(Resolved),
            Resolved => Some(Closed),
            Closed => None,
        }
    }

    /// Not yet RESOLVED: the incident is still going on (the dashboard's open incidents).
    pub fn is_open(self) -> bool {
        matches!(self, IncidentStatus::Reported | IncidentStatus::Triaged | IncidentStatus::Contained)
    }

    pub const OPEN: [IncidentStatus; 3] =
        [IncidentStatus::Reported, IncidentStatus::Triaged, IncidentStatus::Contained];
}

impl IncidentSeverity {
    /// The grading of a nonconformity raised from an incident of this severity.
    pub fn ncr_severity(self) -> super::ncr::Severity {
        match self {
            IncidentSeverity::High | IncidentSeverity::Critical => super::ncr::Severity::Major,
            IncidentSeverity::Low | IncidentSeverity::Medium => super::ncr::Severity::Minor,
        }
    }
}

/// Checks one move. CLOSED needs the lessons learned (ISO 27001 A.5.27: knowledge gained
/// from incidents is used to strengthen controls).
pub fn check_transition(from: IncidentStatus, to: IncidentStatus, has_lessons: bool) -> Result<(), Invalid> {
    if from.next() != Some(to) {
        let next = from.next().map_or("none, it is closed".to_string(), |n| n.as_str().to_string());
        return Err(Invalid::new(
            "to",
            format!("an incident cannot move from {} to {}; next: {next}", from.as_str(), to.as_str()),
        ));
    }
    if to == IncidentStatus::Closed && !has_lessons {
        return Err(Invalid::new("lessonsLearned", "record the lessons learned before closing (ISO 27001 A.5.27)"));
    }
    Ok(())
}

/// The moves an external "resolved" makes: forward, one step at a time, at most to
/// RESOLVED (closing stays a person's call, after the lessons learned).
pub fn advance_to_resolved(from: IncidentStatus) -> Vec<IncidentStatus> {
    let mut out = Vec::new();
    let mut s = from;
    while s.is_open() {
        let Some(n) = s.next() else { break };
        out.push(n);
        s = n;
    }
    out
}

/// The time a move is recorded at: now, and never before `detectedAt` (a detection time
/// reported from a clock ahead of the service's still orders the record).
pub fn move_time(detected_at: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    now.max(detected_at)
}

/// `detectedAt` lies not in the future and not after the incident was reported (every
/// other time is set by a move, at or after `reportedAt`).
pub fn check_detected_at(detected_at: DateTime<Utc>, reported_at: DateTime<Utc>) -> Result<(), Invalid> {
    if detected_at > reported_at {
        return Err(Invalid::new(
            "detectedAt",
            format!("detectedAt {detected_at} is after the incident was reported ({reported_at})"),
        ));
    }
    Ok(())
}

/// Harms belong to AI incidents only; returned without duplicates, in the given order.
pub fn check_harms(kind: IncidentKind, harms: &[AiHarm]) -> Result<Vec<AiHarm>, Invalid> {
    let mut out: Vec<AiHarm> = Vec::new();
    for h in harms {
        if !out.contains(h) {
            out.push(*h);
        }
    }
    if !out.is_empty() && kind != IncidentKind::Ai {
        return Err(Invalid::new("aiHarms", "aiHarms are recorded for AI incidents only (kind AI)"));
    }
    Ok(out)
}

/// Whole seconds from `from` to `to` (0 when `to` is earlier), capped to fit the column.
pub fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i32 {
    (to - from).num_seconds().clamp(0, i32::MAX as i64) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status() -> impl Strategy<Value = IncidentStatus> {
        proptest::sample::select(IncidentStatus::ALL.to_vec())
    }

    #[test]
    fn the_workflow_has_no_skips() {
        use IncidentStatus::*;
        assert!(check_transition(Reported, Triaged, false).is_ok());
        assert_eq!(check_transition(Reported, Contained, false).unwrap_err().field, "to");
        assert_eq!(check_transition(Contained, Triaged, false).unwrap_err().field, "to");
        assert_eq!(check_transition(Resolved, Closed, false).unwrap_err().field, "lessonsLearned");
        assert!(check_transition(Resolved, Closed, true).is_ok());
        assert!(check_transition(Closed, Closed, true).is_err());
    }

    #[test]
    fn external_resolution_stops_at_resolved() {
        use IncidentStatus::*;
        assert_eq!(advance_to_resolved(Reported), vec![Triaged, Contained, Resolved]);
        assert_eq!(advance_to_resolved(Contained), vec![Resolved]);
        assert!(advance_to_resolved(Resolved).is_empty());
        assert!(advance_to_resolved(Closed).is_empty());
    }

    #[test]
    fn harms_are_for_ai_incidents() {
        let h = [AiHarm::Bias, AiHarm::Bias, AiHarm::Safety];
        assert_eq!(check_harms(IncidentKind::Ai, &h), Ok(vec![AiHarm::Bias, AiHarm::Safety]));
        assert_eq!(check_harms(IncidentKind::Security, &h).unwrap_err().field, "aiHarms");
        assert_eq!(check_harms(IncidentKind::Privacy, &[]), Ok(vec![]));
    }

    #[test]
    fn severity_grades_the_nonconformity() {
        assert_eq!(IncidentSeverity::Critical.ncr_severity(), crate::domain::ncr::Severity::Major);
        assert_eq!(IncidentSeverity::Low.ncr_severity(), crate::domain::ncr::Severity::Minor);
    }

    proptest! {
        /// Every move is one step forward; the external advance only takes legal steps and
        /// never reaches CLOSED.
        #[test]
        fn moves_are_single_steps(from in status(), to in status(), lessons in any::<bool>()) {
            let ok = check_transition(from, to, lessons).is_ok();
            let forward = (to as u8) == (from as u8) + 1;
            prop_assert_eq!(ok, forward && (to != IncidentStatus::Closed || lessons));
            let mut s = from;
            for n in advance_to_resolved(from) {
                prop_assert!(check_transition(s, n, false).is_ok());
                s = n;
            }
            prop_assert!(s != IncidentStatus::Closed || from == IncidentStatus::Closed);
        }

        /// Move times never precede detection.
        #[test]
        fn move_times_follow_detection(d in 0i64..1_000_000, n in 0i64..1_000_000) {
            let base = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
            let detected = base + chrono::Duration::seconds(d);
            let now = base + chrono::Duration::seconds(n);
            let at = move_time(detected, now);
            prop_assert!(at >= detected && at >= now);
            prop_assert!(seconds_between(detected, at) >= 0);
        }
    }
}
