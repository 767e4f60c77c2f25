//! Dashboard arithmetic that is not SQL: aging buckets and their cut-offs, coverage
//! percentages, the heat-map grid.

use chrono::{DateTime, Duration, Utc};

/// Nonconformity aging buckets by whole days open: 0-30, 31-90, 91-180, over 180.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgingBucket {
    Days0To30,
    Days31To90,
    Days91To180,
    Over180,
}

impl AgingBucket {
    pub const ALL: [AgingBucket; 4] = [Self::Days0To30, Self::Days31To90, Self::Days91To180, Self::Over180];

    pub fn label(self) -> &'static str {
        match self {
            Self::Days0To30 => "0-30",
            Self::Days31To90 => "31-90",
            Self::Days91To180 => "91-180",
            Self::Over180 => "180+",
        }
    }

    /// The bucket of an item opened `opened` and still open at `now`. Days open are whole
    /// days elapsed (30 days and 23 hours is 30 days).
    pub fn of(opened: DateTime<Utc>, now: DateTime<Utc>) -> AgingBucket {
        let days = (now - opened).num_days();
        match days {
            ..=30 => Self::Days0To30,
            31..=90 => Self::Days31To90,
            91..=180 => Self::Days91To180,
            _ => Self::Over180,
        }
    }
}

/// Timestamps separating the buckets, for SQL: an item is in
/// `Days0To30` when `opened > cut[0]`, `Days31To90` when `cut[1] < opened <= cut[0]`,
/// `Days91To180` when `cut[2] < opened <= cut[1]`, else `Over180`.
pub fn aging_cutoffs(now: DateTime<Utc>) -> [DateTime<Utc>; 3] {
    [now - Duration::days(31), now - Duration::days(91), now - Duration::days(181)]
}

/// `part / whole` in percent with one decimal (0 when `whole` is 0).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    ((part as f64 / whole as f64) * 1000.0).round() / 10.0
}

/// Every cell of a `size` × `size` matrix, likelihood-major, counts from `count(l, i)`.
pub fn heat_map(size: i32, count: impl Fn(i32, i32) -> u64) -> Vec<(i32, i32, u64)> {
    let mut out = Vec::with_capacity((size * size) as usize);
    for l in 1..=size {
        for i in 1..=size {
            out.push((l, i, count(l, i)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(days: i64, hours: i64) -> (DateTime<Utc>, DateTime<Utc>) {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z").expect("date").with_timezone(&Utc);
        (now - Duration::days(days) - Duration::hours(hours), now)
    }

    #[test]
    fn bucket_boundaries() {
        for (days, hours, bucket) in [
            (0, 0, AgingBucket::Days0To30),
            (30, 23, AgingBucket::Days0To30),
            (31, 0, AgingBucket::Days31To90),
            (90, 23, AgingBucket::Days31To90),
            (91, 0, AgingBucket::Days91To180),
            (180, 23, AgingBucket::Days91To180),
            (181, 0, AgingBucket::Over180),
            (900, 0, AgingBucket::Over180),
        ] {
            let (opened, now) = at(days, hours);
            assert_eq!(AgingBucket::of(opened, now), bucket, "{days}d {hours}h");
        }
    }

    proptest! {
        /// The SQL cut-offs put every item in the same bucket as `AgingBucket::of`.
        #[test]
        fn cutoffs_agree_with_buckets(minutes in 0i64..(400 * 24 * 60)) {
            let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z").expect("date").with_timezone(&Utc);
            let opened = now - Duration::minutes(minutes);
            let cut = aging_cutoffs(now);
            let by_cut = if opened > cut[0] { AgingBucket::Days0To30 }
                else if opened > cut[1] { AgingBucket::Days31To90 }
                else if opened > cut[2] { AgingBucket::Days91To180 }
                else { AgingBucket::Over180 };
            prop_assert_eq!(by_cut, AgingBucket::of(opened, now));
        }
    }

    #[test]
    fn heat_map_has_every_cell() {
        for size in 3..=5 {
            let cells = heat_map(size, |l, i| (l * 10 + i) as u64);
            assert_eq!(cells.len(), (size * size) as usize);
            assert_eq!(cells[0], (1, 1, 11));
            assert_eq!(cells.last().copied(), Some((size, size, (size * 10 + size) as u64)));
        }
    }

    #[test]
    fn percentages() {
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(0, 0), 0.0);
        assert_eq!(percent(93, 93), 100.0);
    }
}
