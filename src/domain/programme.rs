//! The implementation programme (ISO 27001 / 42001 6.2 planning, 8.1 operational
//! planning): phases with planned dates, each with its tasks.

use chrono::{Days, NaiveDate};

use super::Invalid;

labelled!(
    /// Programme templates.
    ProgrammeTemplate {
        IntegratedAimsOnIsms => "INTEGRATED_AIMS_ON_ISMS",
    }
);

/// One phase of a template: its name, the weeks planned, the seed guide's range, and the
/// tasks it starts with.
#[derive(Debug, Clone, Copy)]
pub struct PhaseTemplate {
    pub name: &'static str,
    pub planned_weeks: u32,
    pub min_weeks: u32,
    pub max_weeks: u32,
    pub tasks: &'static [&'static str],
}

const fn phase(
    name: &'static str,
    planned_weeks: u32,
    min_weeks: u32,
    max_weeks: u32,
    tasks: &'static [&'static str],
) -> PhaseTemplate {
    PhaseTemplate { name, planned_weeks, min_weeks, max_weeks, tasks }
}

/// The seed guide's integrated programme: an AIMS built on an existing ISMS in seven
/// phases over 15-21 weeks.
const INTEGRATED: &[PhaseTemplate] = &[
    phase(
        "Gap assessment",
        3,
        2,
        3,
        &["Assess ISO 42001 clauses 4-10 against the ISMS", "Map ISO 42001 Annex A to the ISO 27001 SoA"],
    ),
    phase(
        "Scope and context",
        2,
        1,
        2,
        &["Extend the scope to the AI systems (4.3)", "Record AI context issues and interested parties (4.1, 4.2)"],
    ),
    phase(
        "Risk framework",
        3,
        2,
        3,
        &["Extend the risk method to AI risks (6.1.2)", "Set up AI system impact assessment (6.1.4)"],
    ),
    phase("Controls", 4, 4, 5, &["Decide the ISO 42001 SoA (6.1.3)", "Plan measures for the AI-specific controls"]),
    phase("Documentation", 2, 2, 3, &["Write the AI policy (5.2)", "Update the documented information (7.5)"]),
    phase(
        "Operation and monitoring",
        3,
        2,
        3,
        &["Run the AI processes (8.1-8.4)", "Define AI monitoring and measurement (9.1)"],
    ),
    phase(
        "Internal audit and management review",
        2,
        2,
        2,
        &["Audit the integrated management system (9.2)", "Hold the management review (9.3)"],
    ),
];

impl ProgrammeTemplate {
    pub fn phases(self) -> &'static [PhaseTemplate] {
        match self {
            ProgrammeTemplate::IntegratedAimsOnIsms => INTEGRATED,
        }
    }
}

/// Most phases a programme may have, and most days a phase may last.
pub const MAX_PHASES: usize = 20;
pub const MAX_PHASE_DAYS: i64 = 3 * 366;

/// Planned dates of consecutive phases from `start`: each starts the day after the one
/// before ends and lasts its planned weeks.
pub fn schedule(start: NaiveDate, weeks: &[u32]) -> Result<Vec<(NaiveDate, NaiveDate)>, Invalid> {
    let mut out = Vec::with_capacity(weeks.len());
    let mut next = start;
    for w in weeks {
        let end = next
            .checked_add_days(Days::new(u64::from(*w) * 7))
            .and_then(|d| d.pred_opt())
            .ok_or_else(|| Invalid::new("startOn", "the programme would end beyond the calendar"))?;
        out.push((next, end));
        next = end.succ_opt().ok_or_else(|| Invalid::new("startOn", "the programme would end beyond the calendar"))?;
    }
    Ok(out)
}

/// A phase may not end before it starts, nor last longer than [`MAX_PHASE_DAYS`].
pub fn check_dates(start: NaiveDate, end: NaiveDate) -> Result<(), Invalid> {
    if end < start {
        return Err(Invalid::new("plannedEnd", "a phase may not end before it starts"));
    }
    if (end - start).num_days() > MAX_PHASE_DAYS {
        return Err(Invalid::new("plannedEnd", format!("a phase lasts at most {MAX_PHASE_DAYS} days")));
    }
    Ok(())
}

/// Moves phase `index` of `dates` to `(start, end)`; with `shift`, every later phase moves
/// by as many days as the phase's end moved (so the gaps between them stay).
pub fn move_phase(
    dates: &[(NaiveDate, NaiveDate)],
    index: usize,
    start: NaiveDate,
    end: NaiveDate,
    shift: bool,
) -> Result<Vec<(NaiveDate, NaiveDate)>, Invalid> {
    check_dates(start, end)?;
    let Some(old) = dates.get(index) else {
        return Err(Invalid::new("id", "no such phase"));
    };
    let delta = end - old.1;
    let mut out = dates.to_vec();
    out[index] = (start, end);
    if shift {
        for d in out.iter_mut().skip(index + 1) {
            let s = d.0.checked_add_signed(delta);
            let e = d.1.checked_add_signed(delta);
            match (s, e) {
                (Some(s), Some(e)) => *d = (s, e),
                _ => return Err(Invalid::new("plannedEnd", "a later phase would move beyond the calendar")),
            }
        }
    }
    Ok(out)
}

/// Share of a phase's tasks that are done (cancelled ones do not count); 0 without tasks.
pub fn progress(done: u64, counted: u64) -> f64 {
    if counted == 0 { 0.0 } else { done as f64 / counted as f64 }
}

labelled!(
    /// Where a phase stands, from its tasks and dates.
    PhaseStatus {
        NotStarted => "NOT_STARTED",
        InProgress => "IN_PROGRESS",
        Done => "DONE",
        Late => "LATE",
    }
);

/// DONE when every counted task is done (and there is one); LATE when past its planned end
/// with work left; IN_PROGRESS once started (by date or by a task done); else NOT_STARTED.
pub fn phase_status(done: u64, counted: u64, start: NaiveDate, end: NaiveDate, today: NaiveDate) -> PhaseStatus {
    if counted > 0 && done == counted {
        PhaseStatus::Done
    } else if today > end {
        PhaseStatus::Late
    } else if today >= start || done > 0 {
        PhaseStatus::InProgress
    } else {
        PhaseStatus::NotStarted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn the_integrated_template_fits_the_guide() {
        let phases = ProgrammeTemplate::IntegratedAimsOnIsms.phases();
        assert_eq!(phases.len(), 7);
        let planned: u32 = phases.iter().map(|p| p.planned_weeks).sum();
        let min: u32 = phases.iter().map(|p| p.min_weeks).sum();
        let max: u32 = phases.iter().map(|p| p.max_weeks).sum();
        assert_eq!((min, max), (15, 21));
        assert!((15..=21).contains(&planned));
        for p in phases {
            assert!(p.min_weeks <= p.planned_weeks && p.planned_weeks <= p.max_weeks, "{}", p.name);
            assert!(!p.tasks.is_empty());
        }
    }

    #[test]
    fn phases_follow_each_other() {
        let s = schedule(d("2027-01-04"), &[1, 2]).expect("schedule");
        assert_eq!(s, vec![(d("2027-01-04"), d("2027-01-10")), (d("2027-01-11"), d("2027-01-24"))]);
    }

    #[test]
    fn moving_and_shifting() {
        let s = schedule(d("2027-01-04"), &[1, 1, 1]).expect("schedule");
        assert_eq!(move_phase(&s, 0, d("2027-01-04"), d("2027-01-03"), true).unwrap_err().field, "plannedEnd");
        let kept = move_phase(&s, 0, d("2027-01-04"), d("2027-01-17"), false).expect("move");
        assert_eq!(kept[1], s[1]);
        let shifted = move_phase(&s, 0, d("2027-01-04"), d("2027-01-17"), true).expect("move");
        assert_eq!(shifted[1], (d("2027-01-18"), d("2027-01-24")));
        assert_eq!(shifted[2], (d("2027-01-25"), d("2027-01-31")));
        assert_eq!(phase_status(2, 2, d("2027-01-04"), d("2027-01-10"), d("2027-02-01")), PhaseStatus::Done);
        assert_eq!(phase_status(1, 2, d("2027-01-04"), d("2027-01-10"), d("2027-02-01")), PhaseStatus::Late);
        assert_eq!(phase_status(0, 2, d("2027-01-04"), d("2027-01-10"), d("2027-01-01")), PhaseStatus::NotStarted);
    }

    proptest! {
        #[test]
        fn a_schedule_spans_its_weeks(days in 0i64..20_000, weeks in prop::collection::vec(1u32..10, 1..8)) {
            let start = d("2020-01-01") + chrono::Duration::days(days);
            let s = schedule(start, &weeks).expect("schedule");
            let total: u32 = weeks.iter().sum();
            prop_assert_eq!(s[0].0, start);
            prop_assert_eq!((s[s.len() - 1].1 - start).num_days() + 1, i64::from(total) * 7);
            for w in s.windows(2) {
                prop_assert_eq!(w[0].1.succ_opt(), Some(w[1].0));
            }
        }
    }
}
