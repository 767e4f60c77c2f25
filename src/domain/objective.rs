//! Objectives and their measurements (ISO 27001 / 42001 6.2, 9.1): a target on a measure,
//! the direction that meets it, how often it is measured, and the status derived from the
//! latest measurement.

use chrono::{Months, NaiveDate};

use super::Invalid;

labelled!(
    /// Which side of the target meets it.
    Direction {
        AtLeast => "AT_LEAST",
        AtMost => "AT_MOST",
    }
);

labelled!(
    /// How often the objective is measured (9.1 c: when monitoring and measuring is done).
    Frequency {
        Monthly => "MONTHLY",
        Quarterly => "QUARTERLY",
        SemiAnnual => "SEMI_ANNUAL",
        Annual => "ANNUAL",
    }
);

labelled!(
    /// The status derived from the latest measurement.
    ObjectiveStatus {
        NoData => "NO_DATA",
        OnTrack => "ON_TRACK",
        AtRisk => "AT_RISK",
        OffTrack => "OFF_TRACK",
        Achieved => "ACHIEVED",
    }
);

/// The at-risk band when none is given: 10 % of the target.
pub const DEFAULT_BAND_PERCENT: f64 = 10.0;
/// The widest band: a value may stray the target's own size and still be at risk.
pub const MAX_BAND_PERCENT: f64 = 100.0;

impl Frequency {
    /// The months between two measurements.
    pub fn months(self) -> u32 {
        match self {
            Frequency::Monthly => 1,
            Frequency::Quarterly => 3,
            Frequency::SemiAnnual => 6,
            Frequency::Annual => 12,
        }
    }
}

impl Direction {
    /// Whether `value` meets `target` (on the target counts).
    pub fn meets(self, value: f64, target: f64) -> bool {
        match self {
            Direction::AtLeast => value >= target,
            Direction::AtMost => value <= target,
        }
    }

    /// The far edge of the at-risk band: the target moved by `band_percent` % of its size
    /// to the wrong side. Stored with the objective, so that the dashboard's SQL compares
    /// with exactly the value this module derives statuses from.
    pub fn at_risk_limit(self, target: f64, band_percent: f64) -> f64 {
        let band = target.abs() * band_percent / 100.0;
        match self {
            Direction::AtLeast => target - band,
            Direction::AtMost => target + band,
        }
    }
}

/// A target: finite.
pub fn check_target(target: f64) -> Result<f64, Invalid> {
    if !target.is_finite() {
        return Err(Invalid::new("target", "target must be a finite number"));
    }
    Ok(target)
}

/// A measured value: finite.
pub fn check_value(value: f64) -> Result<f64, Invalid> {
    if !value.is_finite() {
        return Err(Invalid::new("value", "value must be a finite number"));
    }
    Ok(value)
}

/// The at-risk band in percent of the target: 0..=100.
pub fn check_band(band_percent: f64) -> Result<f64, Invalid> {
    if !band_percent.is_finite() || !(0.0..=MAX_BAND_PERCENT).contains(&band_percent) {
        return Err(Invalid::new(
            "atRiskBandPercent",
            format!("atRiskBandPercent must be between 0 and {MAX_BAND_PERCENT}"),
        ));
    }
    Ok(band_percent)
}

/// At least one standard; returned sorted, without duplicates.
pub fn check_standards(standards: &[super::refs::Standard]) -> Result<Vec<super::refs::Standard>, Invalid> {
    let mut s = standards.to_vec();
    s.sort();
    s.dedup();
    if s.is_empty() {
        return Err(Invalid::new("standards", "name at least one standard"));
    }
    Ok(s)
}

/// A measurement is of a day that has come.
pub fn check_measured_on(measured_on: NaiveDate, today: NaiveDate) -> Result<(), Invalid> {
    if measured_on > today {
        return Err(Invalid::new("measuredOn", format!("measuredOn {measured_on} is in the future")));
    }
    Ok(())
}

/// The parts of an objective its status derives from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub target: f64,
    pub direction: Direction,
    /// From [`Direction::at_risk_limit`].
    pub at_risk_limit: f64,
    pub due_on: Option<NaiveDate>,
}

/// The status of an objective whose latest measurement is `latest` (`None`: none yet):
///
/// * NO_DATA: nothing measured yet;
/// * ACHIEVED: the latest meets the target and the objective is time-bound (`dueOn`);
/// * ON_TRACK: the latest meets the target of a continuing objective (no `dueOn`);
/// * OFF_TRACK: the latest misses the target after `dueOn`, or misses it by more than the
///   band;
/// * AT_RISK: the latest misses the target by no more than the band (its edge included).
pub fn status(t: &Target, latest: Option<f64>, today: NaiveDate) -> ObjectiveStatus {
    let Some(v) = latest else { return ObjectiveStatus::NoData };
    if t.direction.meets(v, t.target) {
        return if t.due_on.is_some() { ObjectiveStatus::Achieved } else { ObjectiveStatus::OnTrack };
    }
    if t.due_on.is_some_and(|d| d < today) {
        return ObjectiveStatus::OffTrack;
    }
    if t.direction.meets(v, t.at_risk_limit) { ObjectiveStatus::AtRisk } else { ObjectiveStatus::OffTrack }
}

/// The day the next measurement is due: one period of `frequency` after the latest
/// measurement, or after the day the objective was set when nothing is measured yet
/// (9.1: monitored at the frequency the organization determined).
pub fn next_measurement_due(frequency: Frequency, since: NaiveDate) -> NaiveDate {
    since.checked_add_months(Months::new(frequency.months())).unwrap_or(NaiveDate::MAX)
}

/// A measurement is overdue once the period has passed with none: the day after it is due.
pub fn measurement_overdue(frequency: Frequency, since: NaiveDate, today: NaiveDate) -> bool {
    today > next_measurement_due(frequency, since)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn target(target: f64, direction: Direction, band: f64) -> Target {
        Target { target, direction, at_risk_limit: direction.at_risk_limit(target, band), due_on: None }
    }

    #[test]
    fn statuses_around_an_at_least_target() {
        let t = target(100.0, Direction::AtLeast, 10.0);
        let today = day("2026-12-02");
        assert_eq!(status(&t, None, today), ObjectiveStatus::NoData);
        assert_eq!(status(&t, Some(100.0), today), ObjectiveStatus::OnTrack);
        assert_eq!(status(&t, Some(95.0), today), ObjectiveStatus::AtRisk);
        assert_eq!(status(&t, Some(90.0), today), ObjectiveStatus::AtRisk);
        assert_eq!(status(&t, Some(89.9), today), ObjectiveStatus::OffTrack);
        let due = Target { due_on: Some(day("2026-12-31")), ..t };
        assert_eq!(status(&due, Some(120.0), today), ObjectiveStatus::Achieved);
        assert_eq!(status(&due, Some(95.0), today), ObjectiveStatus::AtRisk);
        // Missing the target once its day has passed is off track, band or not.
        assert_eq!(status(&due, Some(95.0), day("2027-01-01")), ObjectiveStatus::OffTrack);
    }

    #[test]
    fn statuses_around_an_at_most_target() {
        let t = target(5.0, Direction::AtMost, 20.0);
        let today = day("2026-12-02");
        assert_eq!(status(&t, Some(5.0), today), ObjectiveStatus::OnTrack);
        assert_eq!(status(&t, Some(6.0), today), ObjectiveStatus::AtRisk);
        assert_eq!(status(&t, Some(6.01), today), ObjectiveStatus::OffTrack);
        // A zero target has no band: any miss is off track.
        let zero = target(0.0, Direction::AtMost, 10.0);
        assert_eq!(status(&zero, Some(0.0), today), ObjectiveStatus::OnTrack);
        assert_eq!(status(&zero, Some(1.0), today), ObjectiveStatus::OffTrack);
        // A negative target: the band is 10 % of its size.
        let neg = target(-10.0, Direction::AtMost, 10.0);
        assert_eq!(status(&neg, Some(-9.0), today), ObjectiveStatus::AtRisk);
        assert_eq!(status(&neg, Some(-8.9), today), ObjectiveStatus::OffTrack);
    }

    #[test]
    fn inputs_are_checked() {
        assert_eq!(check_target(f64::NAN).map_err(|e| e.field), Err("target".to_string()));
        assert_eq!(check_target(f64::INFINITY).map_err(|e| e.field), Err("target".to_string()));
        assert_eq!(check_band(-0.1).map_err(|e| e.field), Err("atRiskBandPercent".to_string()));
        assert_eq!(check_band(100.1).map_err(|e| e.field), Err("atRiskBandPercent".to_string()));
        assert!(check_band(0.0).is_ok() && check_band(100.0).is_ok());
        assert_eq!(check_value(f64::NEG_INFINITY).map_err(|e| e.field), Err("value".to_string()));
        let today = day("2026-12-02");
        assert!(check_measured_on(today, today).is_ok());
        assert_eq!(check_measured_on(day("2026-12-03"), today).map_err(|e| e.field), Err("measuredOn".to_string()));
    }

    #[test]
    fn measurements_fall_due_per_frequency() {
        let since = day("2026-01-31");
        assert_eq!(next_measurement_due(Frequency::Monthly, since), day("2026-02-28"));
        assert_eq!(next_measurement_due(Frequency::Quarterly, since), day("2026-04-30"));
        assert_eq!(next_measurement_due(Frequency::SemiAnnual, since), day("2026-07-31"));
        assert_eq!(next_measurement_due(Frequency::Annual, since), day("2027-01-31"));
        assert!(!measurement_overdue(Frequency::Monthly, since, day("2026-02-28")));
        assert!(measurement_overdue(Frequency::Monthly, since, day("2026-03-01")));
        assert!(!measurement_overdue(Frequency::Annual, since, day("2026-12-31")));
    }

    fn direction() -> impl Strategy<Value = Direction> {
        prop_oneof![Just(Direction::AtLeast), Just(Direction::AtMost)]
    }

    proptest! {
        // The band's edges: on the target meets it; one step to the wrong side is at
        // risk; the band's far edge is still at risk; one step beyond it is off track.
        #[test]
        fn band_edges(
            tgt in -1.0e6f64..1.0e6,
            band in 0.0f64..=100.0,
            d in direction(),
        ) {
            let t = target(tgt, d, band);
            let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("day");
            let wrong = |x: f64| match d { Direction::AtLeast => x.next_down(), Direction::AtMost => x.next_up() };
            prop_assert_eq!(status(&t, Some(tgt), today), ObjectiveStatus::OnTrack);
            let limit = t.at_risk_limit;
            prop_assert_eq!(status(&t, Some(limit), today),
                if limit == tgt { ObjectiveStatus::OnTrack } else { ObjectiveStatus::AtRisk });
            prop_assert_eq!(status(&t, Some(wrong(limit)), today), ObjectiveStatus::OffTrack);
            if limit != tgt {
                prop_assert_eq!(status(&t, Some(wrong(tgt)), today), ObjectiveStatus::AtRisk);
            }
        }

        // Anything on the right side of the target meets it; the status never depends on
        // how far past the target the value is.
        #[test]
        fn beyond_the_target_is_met(tgt in -1.0e6f64..1.0e6, extra in 0.0f64..1.0e6, d in direction()) {
            let t = target(tgt, d, DEFAULT_BAND_PERCENT);
            let v = match d { Direction::AtLeast => tgt + extra, Direction::AtMost => tgt - extra };
            let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("day");
            prop_assert_eq!(status(&t, Some(v), today), ObjectiveStatus::OnTrack);
        }

        // The band is monotone: a value at risk under one band is at risk or on track
        // under any wider band.
        #[test]
        fn wider_bands_never_worsen(tgt in -1.0e3f64..1.0e3, v in -2.0e3f64..2.0e3,
            a in 0.0f64..=100.0, b in 0.0f64..=100.0, d in direction()) {
            let (narrow, wide) = if a <= b { (a, b) } else { (b, a) };
            let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("day");
            let sn = status(&target(tgt, d, narrow), Some(v), today);
            let sw = status(&target(tgt, d, wide), Some(v), today);
            if sn == ObjectiveStatus::AtRisk {
                prop_assert_eq!(sw, ObjectiveStatus::AtRisk);
            }
            if sw == ObjectiveStatus::OffTrack {
                prop_assert_eq!(sn, ObjectiveStatus::OffTrack);
            }
        }

        #[test]
        fn overdue_only_after_one_period(offset in 0i64..800, f in prop_oneof![
            Just(Frequency::Monthly), Just(Frequency::Quarterly), Just(Frequency::SemiAnnual), Just(Frequency::Annual)]) {
            let since = NaiveDate::from_ymd_opt(2026, 1, 15).expect("day");
            let today = since + chrono::Duration::days(offset);
            prop_assert_eq!(measurement_overdue(f, since, today), today > next_measurement_due(f, since));
            prop_assert!(!measurement_overdue(f, since, since + chrono::Duration::days(27)));
        }
    }
}
