//! Tasks: the to-do items that run the management system (ISO 27001 / 42001 8.1,
//! operational planning; 6.1.3 e, the treatment plan's actions), with recurrence for
//! the work that comes back (reviews, checks, drills).

use chrono::{Days, Months, NaiveDate};

use super::Invalid;

labelled!(
    /// OPEN until done or cancelled; DONE and CANCELLED are final.
    TaskStatus {
        Open => "OPEN",
        Done => "DONE",
        Cancelled => "CANCELLED",
    }
);

labelled!(
    /// How often a task comes back once completed.
    Recurrence {
        None => "NONE",
        Weekly => "WEEKLY",
        Monthly => "MONTHLY",
        Quarterly => "QUARTERLY",
        SemiAnnual => "SEMI_ANNUAL",
        Annual => "ANNUAL",
    }
);

/// Tasks count as "due soon" this many days ahead (dashboard, `TASK_DUE` is separate).
pub const DUE_SOON_DAYS: u64 = 7;

impl TaskStatus {
    pub fn is_final(self) -> bool {
        self != TaskStatus::Open
    }
}

impl Recurrence {
    /// The due day of the next occurrence after one due on `due_on`; `None` for NONE (or a
    /// day beyond the calendar). Month steps keep the day of month where it exists and
    /// fall back to the month's last day (31 January + 1 month = 28/29 February).
    pub fn next_due(self, due_on: NaiveDate) -> Option<NaiveDate> {
        match self {
            Recurrence::None => None,
            Recurrence::Weekly => due_on.checked_add_days(Days::new(7)),
            Recurrence::Monthly => due_on.checked_add_months(Months::new(1)),
            Recurrence::Quarterly => due_on.checked_add_months(Months::new(3)),
            Recurrence::SemiAnnual => due_on.checked_add_months(Months::new(6)),
            Recurrence::Annual => due_on.checked_add_months(Months::new(12)),
        }
    }
}

/// A recurring task needs a due day to recur from.
pub fn check_recurrence(recurrence: Recurrence, due_on: Option<NaiveDate>) -> Result<(), Invalid> {
    if recurrence != Recurrence::None && due_on.is_none() {
        return Err(Invalid::new("dueOn", "a recurring task needs dueOn (the next one is due one period later)"));
    }
    Ok(())
}

/// An OPEN task past its due day.
pub fn is_overdue(status: TaskStatus, due_on: Option<NaiveDate>, today: NaiveDate) -> bool {
    status == TaskStatus::Open && due_on.is_some_and(|d| d < today)
}

/// An OPEN task due today or within [`DUE_SOON_DAYS`].
pub fn is_due_soon(status: TaskStatus, due_on: Option<NaiveDate>, today: NaiveDate) -> bool {
    let horizon = today.checked_add_days(Days::new(DUE_SOON_DAYS)).unwrap_or(NaiveDate::MAX);
    status == TaskStatus::Open && due_on.is_some_and(|d| d >= today && d <= horizon)
}

/// An OPEN task has become due (the scheduler's `TASK_DUE`): its due day has come.
pub fn has_become_due(status: TaskStatus, due_on: Option<NaiveDate>, today: NaiveDate) -> bool {
    status == TaskStatus::Open && due_on.is_some_and(|d| d <= today)
}

/// The moves `updateTask` and `completeTask` may make: only an OPEN task changes status.
pub fn check_move(from: TaskStatus, to: TaskStatus) -> Result<(), Invalid> {
    if from == to {
        return Ok(());
    }
    if from.is_final() {
        return Err(Invalid::new("status", format!("a {} task is final", from.as_str())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn next_occurrences() {
        assert_eq!(Recurrence::None.next_due(d("2026-01-31")), None);
        assert_eq!(Recurrence::Weekly.next_due(d("2026-12-29")), Some(d("2027-01-05")));
        assert_eq!(Recurrence::Monthly.next_due(d("2026-01-31")), Some(d("2026-02-28")));
        assert_eq!(Recurrence::Quarterly.next_due(d("2026-11-30")), Some(d("2027-02-28")));
        assert_eq!(Recurrence::SemiAnnual.next_due(d("2026-03-15")), Some(d("2026-09-15")));
        assert_eq!(Recurrence::Annual.next_due(d("2028-02-29")), Some(d("2029-02-28")));
    }

    #[test]
    fn due_windows() {
        let today = d("2026-12-02");
        assert!(is_overdue(TaskStatus::Open, Some(d("2026-12-01")), today));
        assert!(!is_overdue(TaskStatus::Done, Some(d("2026-12-01")), today));
        assert!(is_due_soon(TaskStatus::Open, Some(today), today));
        assert!(is_due_soon(TaskStatus::Open, Some(d("2026-12-09")), today));
        assert!(!is_due_soon(TaskStatus::Open, Some(d("2026-12-10")), today));
        assert!(has_become_due(TaskStatus::Open, Some(today), today));
        assert!(!has_become_due(TaskStatus::Cancelled, Some(today), today));
        assert!(check_recurrence(Recurrence::Monthly, None).is_err());
        assert!(check_recurrence(Recurrence::None, None).is_ok());
        assert!(check_move(TaskStatus::Done, TaskStatus::Open).is_err());
        assert!(check_move(TaskStatus::Open, TaskStatus::Cancelled).is_ok());
    }

    proptest! {
        #[test]
        fn the_next_occurrence_is_later(days in 0i64..40_000, r in prop::sample::select(Recurrence::ALL.to_vec())) {
            let due = d("2000-01-01") + chrono::Duration::days(days);
            match r.next_due(due) {
                None => prop_assert_eq!(r, Recurrence::None),
                Some(n) => {
                    prop_assert!(n > due);
                    prop_assert!((n - due).num_days() <= 366);
                }
            }
        }
    }
}
