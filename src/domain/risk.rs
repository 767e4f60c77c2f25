//! The one risk method for information-security, AI and shared risks: likelihood × impact
//! on a 3×3, 4×4 or 5×5 matrix, levels from score thresholds, and a risk appetite per
//! domain (ISO 27001 6.1.2, ISO 42001 6.1.2: one process, criteria per domain).
//!
//! Settings are applied when a risk is read, never written into risk rows: a risk stores
//! only its ratings and the two scores they imply; its levels, `exceedsAppetite` and
//! `appetiteBreach` follow the organization's current settings.
//!
//! Default thresholds on 5×5 (max score 25): LOW 1-4, MEDIUM 5-9, HIGH 10-15,
//! CRITICAL 16-25; default appetite SECURITY 9, SHARED 9, AI 6. On smaller matrices every
//! default bound `b` scales to the matrix's max score `m` as `round(b · m / 25)`:
//!
//! | matrix | max | LOW | MEDIUM | HIGH | CRITICAL | appetite SECURITY / SHARED / AI |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | 5×5 | 25 | 1-4 | 5-9 | 10-15 | 16-25 | 9 / 9 / 6 |
//! | 4×4 | 16 | 1-3 | 4-6 | 7-10 | 11-16 | 6 / 6 / 4 |
//! | 3×3 | 9 | 1 | 2-3 | 4-5 | 6-9 | 3 / 3 / 2 |

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::Invalid;

labelled!(
    /// Which appetite applies (API.md: category → domain).
    RiskDomain { Security => "SECURITY", Ai => "AI", Shared => "SHARED" }
);

labelled!(
    RiskCategory {
        Confidentiality => "CONFIDENTIALITY",
        Integrity => "INTEGRITY",
        Availability => "AVAILABILITY",
        BiasFairness => "BIAS_FAIRNESS",
        Transparency => "TRANSPARENCY",
        DataQuality => "DATA_QUALITY",
        HumanOversight => "HUMAN_OVERSIGHT",
        AiSubjectImpact => "AI_SUBJECT_IMPACT",
        AiSystemSecurity => "AI_SYSTEM_SECURITY",
        TrainingDataSecurity => "TRAINING_DATA_SECURITY",
        ModelIntegrity => "MODEL_INTEGRITY",
        AiAvailability => "AI_AVAILABILITY",
        Privacy => "PRIVACY",
        LegalRegulatory => "LEGAL_REGULATORY",
        ThirdParty => "THIRD_PARTY",
    }
);

labelled!(
    /// ISO 27001 6.1.1; ISO 42001 6.1.1: planning addresses risks *and opportunities*. An
    /// opportunity is rated on the same matrix but never counts toward appetite breaches.
    RiskKind { Threat => "THREAT", Opportunity => "OPPORTUNITY" }
);

impl RiskCategory {
    /// The category fixes the domain (API.md).
    pub fn domain(self) -> RiskDomain {
        use RiskCategory::*;
        match self {
            Confidentiality | Integrity | Availability => RiskDomain::Security,
            BiasFairness | Transparency | DataQuality | HumanOversight | AiSubjectImpact => RiskDomain::Ai,
            AiSystemSecurity | TrainingDataSecurity | ModelIntegrity | AiAvailability => RiskDomain::Shared,
            // Personal data is protected by the ISMS (ISO 27001 A.5.34) and is also what AI
            // systems learn from and act on (ISO 42001 A.7.x data, 6.1.4 impacts on
            // individuals): one risk, both systems' criteria.
            Privacy => RiskDomain::Shared,
            // Legal, statutory, regulatory and contractual requirements bind both systems
            // (ISO 27001 A.5.31 and 4.2 c; ISO 42001 4.1 and 4.2): shared.
            LegalRegulatory => RiskDomain::Shared,
            // Suppliers and other third parties: ISO 27001 A.5.19-A.5.22 and ISO 42001
            // A.10.2-A.10.4 (third-party and customer relationships) govern the same
            // relationships: shared.
            ThirdParty => RiskDomain::Shared,
        }
    }
}

labelled!(RiskLevel { Low => "LOW", Medium => "MEDIUM", High => "HIGH", Critical => "CRITICAL" });

labelled!(
    /// ISO 27001 6.1.3 a; ISO 42001 6.1.3: risk treatment options.
    RiskTreatment { Mitigate => "MITIGATE", Accept => "ACCEPT", Transfer => "TRANSFER", Avoid => "AVOID" }
);

labelled!(
    RiskStatus {
        Identified => "IDENTIFIED",
        Assessed => "ASSESSED",
        Treating => "TREATING",
        Monitoring => "MONITORING",
        Closed => "CLOSED",
    }
);

/// Default matrix size.
pub const DEFAULT_MATRIX: u8 = 5;
/// Default thresholds (upper bounds of LOW, MEDIUM, HIGH) and appetite on 5×5.
const DEFAULT_BOUNDS_5: [i32; 3] = [4, 9, 15];
const DEFAULT_APPETITE_5: [i32; 3] = [9, 6, 9];

/// Side of the likelihood × impact matrix: 3, 4 or 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixSize(u8);

impl MatrixSize {
    pub const SIZES: [u8; 3] = [3, 4, 5];

    pub fn parse(field: &str, v: i32) -> Result<Self, Invalid> {
        match u8::try_from(v) {
            Ok(n) if Self::SIZES.contains(&n) => Ok(MatrixSize(n)),
            _ => Err(Invalid::new(field, "the risk matrix is 3×3, 4×4 or 5×5: matrixSize must be 3, 4 or 5")),
        }
    }

    pub fn get(self) -> i32 {
        self.0.into()
    }

    pub fn max_score(self) -> i32 {
        self.get() * self.get()
    }
}

impl Default for MatrixSize {
    fn default() -> Self {
        MatrixSize(DEFAULT_MATRIX)
    }
}

/// A likelihood or impact rating, 1..=matrix size.
pub fn rating(field: &str, v: i32, m: MatrixSize) -> Result<i32, Invalid> {
    if (1..=m.get()).contains(&v) {
        Ok(v)
    } else {
        Err(Invalid::new(field, format!("{field} must be between 1 and {} (the risk matrix is {0}×{0})", m.get())))
    }
}

/// Inherent score = likelihood × impact.
pub fn score(likelihood: i32, impact: i32) -> i32 {
    likelihood * impact
}

/// The residual score: residual ratings where assessed, each falling back to its
/// inherent rating (no residual assessment at all → the inherent score).
pub fn residual_score(
    likelihood: i32,
    impact: i32,
    residual_likelihood: Option<i32>,
    residual_impact: Option<i32>,
) -> i32 {
    score(residual_likelihood.unwrap_or(likelihood), residual_impact.unwrap_or(impact))
}

/// `round(b · max / 25)`, half up, for the default bounds.
fn scale(b: i32, m: MatrixSize) -> i32 {
    (2 * b * m.max_score() + 25) / 50
}

/// Upper bounds of LOW, MEDIUM and HIGH; CRITICAL runs from `high_max + 1` to the max
/// score. Valid when `1 <= low_max < medium_max < high_max < max`, so the four levels
/// are non-empty, increasing and cover `1..=max` without gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thresholds {
    pub low_max: i32,
    pub medium_max: i32,
    pub high_max: i32,
}

impl Thresholds {
    pub fn default_for(m: MatrixSize) -> Self {
        let [l, me, h] = DEFAULT_BOUNDS_5.map(|b| scale(b, m));
        Thresholds { low_max: l, medium_max: me, high_max: h }
    }

    /// Checks the bounds against a matrix; fields are named under `prefix`.
    pub fn validate(&self, m: MatrixSize, prefix: &str) -> Result<(), Invalid> {
        let max = m.max_score();
        let f = |n: &str| format!("{prefix}.{n}");
        if self.low_max < 1 {
            return Err(Invalid::new(f("lowMax"), "lowMax must be at least 1"));
        }
        if self.medium_max <= self.low_max {
            return Err(Invalid::new(f("mediumMax"), "mediumMax must be greater than lowMax"));
        }
        if self.high_max <= self.medium_max {
            return Err(Invalid::new(f("highMax"), "highMax must be greater than mediumMax"));
        }
        if self.high_max >= max {
            return Err(Invalid::new(
                f("highMax"),
                format!("highMax must be below the max score {max}, so CRITICAL keeps at least one score"),
            ));
        }
        Ok(())
    }

    pub fn level(&self, score: i32) -> RiskLevel {
        if score <= self.low_max {
            RiskLevel::Low
        } else if score <= self.medium_max {
            RiskLevel::Medium
        } else if score <= self.high_max {
            RiskLevel::High
        } else {
            RiskLevel::Critical
        }
    }

    /// The inclusive score range of a level on matrix `m`.
    pub fn range(&self, level: RiskLevel, m: MatrixSize) -> (i32, i32) {
        match level {
            RiskLevel::Low => (1, self.low_max),
            RiskLevel::Medium => (self.low_max + 1, self.medium_max),
            RiskLevel::High => (self.medium_max + 1, self.high_max),
            RiskLevel::Critical => (self.high_max + 1, m.max_score()),
        }
    }
}

/// Maximum acceptable score per domain: a risk whose effective score is above it exceeds
/// the appetite (ISO 27001 6.1.2 a 1; ISO 42001 6.1.2: risk acceptance criteria).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Appetite {
    pub security: i32,
    pub ai: i32,
    pub shared: i32,
}

impl Appetite {
    pub fn default_for(m: MatrixSize) -> Self {
        let [s, a, sh] = DEFAULT_APPETITE_5.map(|b| scale(b, m));
        Appetite { security: s, ai: a, shared: sh }
    }

    pub fn for_domain(&self, d: RiskDomain) -> i32 {
        match d {
            RiskDomain::Security => self.security,
            RiskDomain::Ai => self.ai,
            RiskDomain::Shared => self.shared,
        }
    }

    /// 0 (no tolerance) up to the max score (everything acceptable).
    pub fn validate(&self, m: MatrixSize, prefix: &str) -> Result<(), Invalid> {
        let max = m.max_score();
        for (name, v) in [("security", self.security), ("ai", self.ai), ("shared", self.shared)] {
            if !(0..=max).contains(&v) {
                return Err(Invalid::new(
                    format!("{prefix}.{name}"),
                    format!("an appetite is a score between 0 and {max} (the max score of a {0}×{0} matrix)", m.get()),
                ));
            }
        }
        Ok(())
    }
}

/// What the organization row stores (`organizations.risk_settings`): only what was set
/// explicitly; what is missing follows the defaults of the matrix size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRiskSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix_size: Option<MatrixSize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appetite: Option<AppetitePatch>,
}

/// Appetite values set per domain (others follow the defaults).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppetitePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<i32>,
}

impl AppetitePatch {
    fn is_empty(&self) -> bool {
        self.security.is_none() && self.ai.is_none() && self.shared.is_none()
    }
}

/// The settings in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskSettings {
    pub matrix: MatrixSize,
    pub thresholds: Thresholds,
    pub appetite: Appetite,
    pub custom_thresholds: bool,
    pub custom_appetite: bool,
}

impl Default for RiskSettings {
    fn default() -> Self {
        StoredRiskSettings::default().resolve()
    }
}

impl StoredRiskSettings {
    /// Reads the JSON column; `None` (never set) is all defaults.
    pub fn from_json(v: Option<&serde_json::Value>) -> Result<Self, String> {
        match v {
            None | Some(serde_json::Value::Null) => Ok(Self::default()),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("bad risk_settings: {e}")),
        }
    }

    pub fn resolve(&self) -> RiskSettings {
        let matrix = self.matrix_size.unwrap_or_default();
        let d = Appetite::default_for(matrix);
        let p = self.appetite.unwrap_or_default();
        RiskSettings {
            matrix,
            thresholds: self.thresholds.unwrap_or_else(|| Thresholds::default_for(matrix)),
            appetite: Appetite {
                security: p.security.unwrap_or(d.security),
                ai: p.ai.unwrap_or(d.ai),
                shared: p.shared.unwrap_or(d.shared),
            },
            custom_thresholds: self.thresholds.is_some(),
            custom_appetite: !p.is_empty(),
        }
    }
}

/// A change to part of the settings: keep, back to the defaults, or a new value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Change<T> {
    #[default]
    Keep,
    Reset,
    Set(T),
}

/// `updateOrganization(input: {riskSettings: …})`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RiskSettingsChange {
    pub matrix_size: Option<i32>,
    pub thresholds: Change<Thresholds>,
    /// Per-domain values; `Reset` puts every domain back to its default.
    pub appetite: Change<AppetitePatch>,
}

/// The largest likelihood or impact rating in use (risks, residual ratings, impact
/// assessments), so the matrix never shrinks below data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RatingsInUse(pub i32);

const P: &str = "riskSettings";

impl RiskSettingsChange {
    /// Applies the change to what is stored, validating the result.
    pub fn apply(&self, current: &StoredRiskSettings, in_use: RatingsInUse) -> Result<StoredRiskSettings, Invalid> {
        let mut next = current.clone();
        if let Some(n) = self.matrix_size {
            let m = MatrixSize::parse(&format!("{P}.matrixSize"), n)?;
            if in_use.0 > m.get() {
                return Err(Invalid::new(
                    format!("{P}.matrixSize"),
                    format!(
                        "existing risks or impact assessments use ratings up to {}; re-rate them before shrinking the matrix to {}×{}",
                        in_use.0,
                        m.get(),
                        m.get()
                    ),
                ));
            }
            next.matrix_size = Some(m);
        }
        match self.thresholds {
            Change::Keep => {}
            Change::Reset => next.thresholds = None,
            Change::Set(t) => next.thresholds = Some(t),
        }
        match self.appetite {
            Change::Keep => {}
            Change::Reset => next.appetite = None,
            Change::Set(p) => {
                let mut merged = next.appetite.unwrap_or_default();
                merged.security = p.security.or(merged.security);
                merged.ai = p.ai.or(merged.ai);
                merged.shared = p.shared.or(merged.shared);
                next.appetite = Some(merged);
            }
        }
        let m = next.matrix_size.unwrap_or_default();
        if let Some(t) = &next.thresholds {
            t.validate(m, &format!("{P}.thresholds"))?;
        }
        if let Some(p) = &next.appetite {
            let probe = next.resolve().appetite;
            // Only explicitly set domains can be out of range (defaults always fit).
            for (name, set, v) in
                [("security", p.security, probe.security), ("ai", p.ai, probe.ai), ("shared", p.shared, probe.shared)]
            {
                if set.is_some() && !(0..=m.max_score()).contains(&v) {
                    return Err(Invalid::new(
                        format!("{P}.appetite.{name}"),
                        format!(
                            "an appetite is a score between 0 and {} (the max score of a {1}×{1} matrix)",
                            m.max_score(),
                            m.get()
                        ),
                    ));
                }
            }
        }
        Ok(next)
    }
}

impl RiskSettings {
    pub fn level(&self, score: i32) -> RiskLevel {
        self.thresholds.level(score)
    }

    /// Effective score above the domain's appetite.
    pub fn exceeds_appetite(&self, domain: RiskDomain, effective_score: i32) -> bool {
        effective_score > self.appetite.for_domain(domain)
    }
}

/// The acceptance recorded on a risk treated with ACCEPT.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Acceptance<'a> {
    pub justification: Option<&'a str>,
    pub accepted_by: Option<&'a str>,
    pub expires_on: Option<NaiveDate>,
    /// The residual (effective) score the acceptance was given for.
    pub accepted_score: Option<i32>,
}

impl Acceptance<'_> {
    fn complete(&self) -> bool {
        self.justification.is_some_and(|j| !j.trim().is_empty())
            && self.accepted_by.is_some_and(|a| !a.trim().is_empty())
            && self.expires_on.is_some()
    }

    fn is_empty(&self) -> bool {
        self.justification.is_none() && self.accepted_by.is_none() && self.expires_on.is_none()
    }
}

/// ISO 27001 6.1.3 f; ISO 42001 6.1.3: risk owners approve the residual risk. Accepting a
/// risk above the domain's appetite needs a justification, who accepted it and until
/// when. Acceptance details belong to ACCEPT only.
pub fn check_acceptance(treatment: Option<RiskTreatment>, exceeds: bool, a: &Acceptance<'_>) -> Result<(), Invalid> {
    if treatment != Some(RiskTreatment::Accept) {
        if !a.is_empty() {
            let field = if a.justification.is_some() {
                "acceptanceJustification"
            } else if a.accepted_by.is_some() {
                "acceptedBy"
            } else {
                "acceptanceExpiresOn"
            };
            return Err(Invalid::new(field, "acceptance details go with treatment ACCEPT only"));
        }
        return Ok(());
    }
    if exceeds && !a.complete() {
        let field = if a.justification.is_none_or(|j| j.trim().is_empty()) {
            "acceptanceJustification"
        } else if a.accepted_by.is_none_or(|x| x.trim().is_empty()) {
            "acceptedBy"
        } else {
            "acceptanceExpiresOn"
        };
        return Err(Invalid::new(
            field,
            "accepting a risk above the appetite of its domain needs acceptanceJustification, acceptedBy and acceptanceExpiresOn (ISO 27001 6.1.3 f)",
        ));
    }
    Ok(())
}

/// A newly given expiry date must not already be past.
pub fn check_new_expiry(expires_on: NaiveDate, today: NaiveDate) -> Result<(), Invalid> {
    if expires_on < today {
        return Err(Invalid::new("acceptanceExpiresOn", "acceptanceExpiresOn must be today or later"));
    }
    Ok(())
}

/// An acceptance whose expiry date is past (the expiry day itself still counts).
pub fn acceptance_expired(expires_on: Option<NaiveDate>, today: NaiveDate) -> bool {
    expires_on.is_some_and(|d| d < today)
}

/// ISO 27001 6.1.3 f; ISO 42001 6.1.3: the owner accepts a *residual risk*, the score it
/// had then. When the residual (effective) score later rises above the accepted score,
/// the acceptance no longer covers the risk: it has lapsed. Returns why, or `None`.
pub fn acceptance_lapsed(
    treatment: Option<RiskTreatment>,
    accepted_score: Option<i32>,
    effective_score: i32,
) -> Option<String> {
    match (treatment, accepted_score) {
        (Some(RiskTreatment::Accept), Some(accepted)) if effective_score > accepted => Some(format!(
            "the residual score rose to {effective_score} after a residual score of {accepted} was accepted; \
             the acceptance does not cover it (ISO 27001 6.1.3 f): accept again or treat the risk"
        )),
        _ => None,
    }
}

/// A threat above its appetite that is not validly accepted: an expired or lapsed
/// acceptance counts as none. Closed risks and opportunities are no breach.
#[allow(clippy::too_many_arguments)]
pub fn appetite_breach(
    kind: RiskKind,
    exceeds: bool,
    status: RiskStatus,
    treatment: Option<RiskTreatment>,
    a: &Acceptance<'_>,
    effective_score: i32,
    today: NaiveDate,
) -> bool {
    let validly_accepted = treatment == Some(RiskTreatment::Accept)
        && a.complete()
        && !acceptance_expired(a.expires_on, today)
        && acceptance_lapsed(treatment, a.accepted_score, effective_score).is_none();
    kind == RiskKind::Threat && exceeds && status != RiskStatus::Closed && !validly_accepted
}

/// ISO 27001 6.1.2 c 2; ISO 42001 6.1.2 d: risk owners are identified. A risk may be
/// recorded without one, but not assessed, treated or monitored.
pub fn check_owner(status: RiskStatus, owner: Option<&str>) -> Result<(), Invalid> {
    if status != RiskStatus::Identified && owner.is_none_or(|o| o.trim().is_empty()) {
        return Err(Invalid::new(
            "owner",
            format!(
                "a risk needs an owner once it leaves IDENTIFIED (status {}; ISO 27001 6.1.2 c 2)",
                status.as_str()
            ),
        ));
    }
    Ok(())
}

/// Who may be recorded as accepting a residual risk (ISO 27001 6.1.3 f: the risk owners
/// approve it): the risk owner, or the caller themself when they are an OWNER or MANAGER
/// of the organization, recorded as acting for the owner. Returns the owner acted for.
pub fn check_accepted_by(
    accepted_by: &str,
    risk_owner: Option<&str>,
    caller: &str,
    caller_may_act_for_owner: bool,
) -> Result<Option<String>, Invalid> {
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    let Some(owner) = risk_owner.filter(|o| !o.trim().is_empty()) else {
        return Err(Invalid::new(
            "owner",
            "a risk needs an owner before its acceptance is recorded: the risk owner accepts (ISO 27001 6.1.3 f)",
        ));
    };
    if same(accepted_by, owner) {
        return Ok(None);
    }
    if caller_may_act_for_owner && same(accepted_by, caller) {
        return Ok(Some(owner.trim().to_string()));
    }
    Err(Invalid::new(
        "acceptedBy",
        format!(
            "acceptedBy must be the risk owner ({owner:?}), or yourself ({caller:?}) as an OWNER or MANAGER \
             acting for them (ISO 27001 6.1.3 f)"
        ),
    ))
}

/// ISO 27001 6.1.2 / 8.2: risks are reviewed at planned intervals. Closed risks are not.
pub fn review_overdue(review_date: Option<NaiveDate>, status: RiskStatus, today: NaiveDate) -> bool {
    status != RiskStatus::Closed && review_date.is_some_and(|d| d < today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(n: i32) -> MatrixSize {
        MatrixSize::parse("m", n).expect("size")
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn category_fixes_domain() {
        use RiskCategory::*;
        let expect = [
            (Confidentiality, RiskDomain::Security),
            (Integrity, RiskDomain::Security),
            (Availability, RiskDomain::Security),
            (BiasFairness, RiskDomain::Ai),
            (Transparency, RiskDomain::Ai),
            (DataQuality, RiskDomain::Ai),
            (HumanOversight, RiskDomain::Ai),
            (AiSubjectImpact, RiskDomain::Ai),
            (AiSystemSecurity, RiskDomain::Shared),
            (TrainingDataSecurity, RiskDomain::Shared),
            (ModelIntegrity, RiskDomain::Shared),
            (AiAvailability, RiskDomain::Shared),
            (Privacy, RiskDomain::Shared),
            (LegalRegulatory, RiskDomain::Shared),
            (ThirdParty, RiskDomain::Shared),
        ];
        assert_eq!(expect.len(), RiskCategory::ALL.len());
        for (c, dom) in expect {
            assert_eq!(c.domain(), dom, "{c:?}");
            assert_eq!(RiskCategory::parse(c.as_str()), Some(c));
        }
    }

    #[test]
    fn matrix_sizes() {
        for n in [3, 4, 5] {
            assert_eq!(m(n).max_score(), n * n);
        }
        for bad in [0, 1, 2, 6, -5, 300] {
            assert_eq!(MatrixSize::parse("riskSettings.matrixSize", bad).unwrap_err().field, "riskSettings.matrixSize");
        }
    }

    #[test]
    fn ratings_range_per_matrix() {
        for n in [3, 4, 5] {
            assert_eq!(rating("likelihood", 0, m(n)).unwrap_err().field, "likelihood");
            assert_eq!(rating("impact", n + 1, m(n)).unwrap_err().field, "impact");
            for v in 1..=n {
                assert_eq!(rating("likelihood", v, m(n)), Ok(v));
            }
        }
    }

    #[test]
    fn default_thresholds_per_matrix() {
        assert_eq!(Thresholds::default_for(m(5)), Thresholds { low_max: 4, medium_max: 9, high_max: 15 });
        assert_eq!(Thresholds::default_for(m(4)), Thresholds { low_max: 3, medium_max: 6, high_max: 10 });
        assert_eq!(Thresholds::default_for(m(3)), Thresholds { low_max: 1, medium_max: 3, high_max: 5 });
        assert_eq!(Appetite::default_for(m(5)), Appetite { security: 9, ai: 6, shared: 9 });
        assert_eq!(Appetite::default_for(m(4)), Appetite { security: 6, ai: 4, shared: 6 });
        assert_eq!(Appetite::default_for(m(3)), Appetite { security: 3, ai: 2, shared: 3 });
        for n in [3, 4, 5] {
            assert!(Thresholds::default_for(m(n)).validate(m(n), "t").is_ok());
            assert!(Appetite::default_for(m(n)).validate(m(n), "a").is_ok());
        }
    }

    #[test]
    fn every_threshold_edge_on_5x5() {
        let t = Thresholds::default_for(m(5));
        let expect = [
            (1, RiskLevel::Low),
            (4, RiskLevel::Low),
            (5, RiskLevel::Medium),
            (9, RiskLevel::Medium),
            (10, RiskLevel::High),
            (15, RiskLevel::High),
            (16, RiskLevel::Critical),
            (25, RiskLevel::Critical),
        ];
        for (s, l) in expect {
            assert_eq!(t.level(s), l, "score {s}");
        }
    }

    #[test]
    fn every_threshold_edge_on_smaller_matrices() {
        let t4 = Thresholds::default_for(m(4));
        for (s, l) in [
            (3, RiskLevel::Low),
            (4, RiskLevel::Medium),
            (6, RiskLevel::Medium),
            (7, RiskLevel::High),
            (10, RiskLevel::High),
            (11, RiskLevel::Critical),
            (16, RiskLevel::Critical),
        ] {
            assert_eq!(t4.level(s), l, "4×4 score {s}");
        }
        let t3 = Thresholds::default_for(m(3));
        for (s, l) in [
            (1, RiskLevel::Low),
            (2, RiskLevel::Medium),
            (3, RiskLevel::Medium),
            (4, RiskLevel::High),
            (5, RiskLevel::High),
            (6, RiskLevel::Critical),
            (9, RiskLevel::Critical),
        ] {
            assert_eq!(t3.level(s), l, "3×3 score {s}");
        }
    }

    #[test]
    fn threshold_validation_names_the_field() {
        let v = |l, me, h, n| {
            Thresholds { low_max: l, medium_max: me, high_max: h }.validate(m(n), "riskSettings.thresholds")
        };
        assert_eq!(v(0, 5, 10, 5).unwrap_err().field, "riskSettings.thresholds.lowMax");
        assert_eq!(v(5, 5, 10, 5).unwrap_err().field, "riskSettings.thresholds.mediumMax");
        assert_eq!(v(4, 9, 9, 5).unwrap_err().field, "riskSettings.thresholds.highMax");
        assert_eq!(v(4, 9, 25, 5).unwrap_err().field, "riskSettings.thresholds.highMax");
        assert!(v(4, 9, 24, 5).is_ok());
        assert!(v(1, 2, 3, 3).is_ok());
        assert_eq!(v(1, 2, 9, 3).unwrap_err().field, "riskSettings.thresholds.highMax");
    }

    #[test]
    fn appetite_per_domain() {
        let s = RiskSettings::default();
        // SECURITY and SHARED tolerate 9, AI 6.
        assert!(!s.exceeds_appetite(RiskDomain::Security, 9));
        assert!(s.exceeds_appetite(RiskDomain::Security, 10));
        assert!(!s.exceeds_appetite(RiskDomain::Shared, 9));
        assert!(s.exceeds_appetite(RiskDomain::Shared, 10));
        assert!(!s.exceeds_appetite(RiskDomain::Ai, 6));
        assert!(s.exceeds_appetite(RiskDomain::Ai, 8));
        // The same score 8 is within the security appetite and beyond the AI one.
        assert!(!s.exceeds_appetite(RiskDomain::Security, 8));
    }

    #[test]
    fn residual_falls_back_per_rating() {
        assert_eq!(residual_score(4, 5, None, None), 20);
        assert_eq!(residual_score(4, 5, Some(2), None), 10);
        assert_eq!(residual_score(4, 5, None, Some(1)), 4);
        assert_eq!(residual_score(4, 5, Some(1), Some(2)), 2);
    }

    #[test]
    fn settings_changes() {
        let none = StoredRiskSettings::default();
        let ch = RiskSettingsChange { matrix_size: Some(3), ..Default::default() };
        let s = ch.apply(&none, RatingsInUse(3)).expect("fits").resolve();
        assert_eq!((s.matrix.get(), s.thresholds.low_max, s.appetite.ai), (3, 1, 2));
        // Shrinking below ratings in use is refused, naming the field.
        assert_eq!(ch.apply(&none, RatingsInUse(4)).unwrap_err().field, "riskSettings.matrixSize");
        // Explicit appetite survives other changes; a patch merges per domain.
        let a = RiskSettingsChange {
            appetite: Change::Set(AppetitePatch { ai: Some(4), ..Default::default() }),
            ..Default::default()
        }
        .apply(&none, RatingsInUse(0))
        .expect("ok");
        let b = RiskSettingsChange {
            appetite: Change::Set(AppetitePatch { security: Some(12), ..Default::default() }),
            ..Default::default()
        }
        .apply(&a, RatingsInUse(0))
        .expect("ok");
        assert_eq!(b.resolve().appetite, Appetite { security: 12, ai: 4, shared: 9 });
        assert!(b.resolve().custom_appetite);
        let reset = RiskSettingsChange { appetite: Change::Reset, ..Default::default() }.apply(&b, RatingsInUse(0));
        assert_eq!(reset.expect("ok").resolve().appetite, Appetite::default_for(m(5)));
        // An explicit appetite of 12 does not fit a 3×3 matrix.
        let shrink = RiskSettingsChange { matrix_size: Some(3), ..Default::default() }.apply(&b, RatingsInUse(0));
        assert_eq!(shrink.unwrap_err().field, "riskSettings.appetite.security");
        // Explicit thresholds must fit the new matrix too.
        let t = RiskSettingsChange {
            thresholds: Change::Set(Thresholds { low_max: 4, medium_max: 9, high_max: 15 }),
            ..Default::default()
        }
        .apply(&none, RatingsInUse(0))
        .expect("ok");
        let shrink = RiskSettingsChange { matrix_size: Some(3), ..Default::default() }.apply(&t, RatingsInUse(0));
        assert_eq!(shrink.unwrap_err().field, "riskSettings.thresholds.highMax");
        let bad_appetite = RiskSettingsChange {
            appetite: Change::Set(AppetitePatch { shared: Some(26), ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(bad_appetite.apply(&none, RatingsInUse(0)).unwrap_err().field, "riskSettings.appetite.shared");
    }

    #[test]
    fn stored_settings_roundtrip() {
        let s = StoredRiskSettings {
            matrix_size: Some(m(4)),
            thresholds: None,
            appetite: Some(AppetitePatch { ai: Some(3), ..Default::default() }),
        };
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(json, serde_json::json!({ "matrixSize": 4, "appetite": { "ai": 3 } }));
        assert_eq!(StoredRiskSettings::from_json(Some(&json)), Ok(s));
        assert_eq!(StoredRiskSettings::from_json(None), Ok(StoredRiskSettings::default()));
    }

    #[test]
    fn acceptance_rule() {
        let full = Acceptance {
            justification: Some("cost"),
            accepted_by: Some("ciso"),
            expires_on: Some(d("2030-01-01")),
            accepted_score: Some(12),
        };
        let accept = Some(RiskTreatment::Accept);
        assert_eq!(
            check_acceptance(accept, true, &Acceptance::default()).unwrap_err().field,
            "acceptanceJustification"
        );
        let no_by = Acceptance { accepted_by: None, ..full };
        assert_eq!(check_acceptance(accept, true, &no_by).unwrap_err().field, "acceptedBy");
        let no_date = Acceptance { expires_on: None, ..full };
        assert_eq!(check_acceptance(accept, true, &no_date).unwrap_err().field, "acceptanceExpiresOn");
        let blank = Acceptance { justification: Some("  "), ..full };
        assert_eq!(check_acceptance(accept, true, &blank).unwrap_err().field, "acceptanceJustification");
        assert!(check_acceptance(accept, true, &full).is_ok());
        // Within appetite, ACCEPT needs nothing.
        assert!(check_acceptance(accept, false, &Acceptance::default()).is_ok());
        // Acceptance details with another treatment are refused.
        assert_eq!(
            check_acceptance(Some(RiskTreatment::Mitigate), false, &full).unwrap_err().field,
            "acceptanceJustification"
        );
        assert!(check_acceptance(None, true, &Acceptance::default()).is_ok());
    }

    #[test]
    fn expiry_and_breach() {
        let today = d("2026-06-15");
        let a = |exp| Acceptance {
            justification: Some("j"),
            accepted_by: Some("ciso"),
            expires_on: Some(d(exp)),
            accepted_score: Some(12),
        };
        let accept = Some(RiskTreatment::Accept);
        let open = RiskStatus::Assessed;
        let threat = RiskKind::Threat;
        let breach =
            |exceeds, status, t, acc: &Acceptance<'_>| appetite_breach(threat, exceeds, status, t, acc, 12, today);
        assert!(!acceptance_expired(Some(today), today), "the expiry day still counts");
        assert!(acceptance_expired(Some(d("2026-06-14")), today));
        assert!(!breach(true, open, accept, &a("2026-06-15")));
        assert!(breach(true, open, accept, &a("2026-06-14")), "expired: a breach again");
        assert!(breach(true, open, Some(RiskTreatment::Mitigate), &Acceptance::default()));
        assert!(breach(true, open, accept, &Acceptance::default()), "ACCEPT without details");
        assert!(!breach(false, open, None, &Acceptance::default()));
        assert!(!breach(true, RiskStatus::Closed, None, &Acceptance::default()));
        assert!(
            !appetite_breach(RiskKind::Opportunity, true, open, None, &Acceptance::default(), 25, today),
            "opportunities never breach"
        );
        assert!(check_new_expiry(d("2026-06-14"), today).is_err());
        assert!(check_new_expiry(today, today).is_ok());
        assert!(review_overdue(Some(d("2026-06-14")), open, today));
        assert!(!review_overdue(Some(today), open, today));
        assert!(!review_overdue(None, open, today));
        assert!(!review_overdue(Some(d("2020-01-01")), RiskStatus::Closed, today));
    }

    #[test]
    fn acceptance_lapses_above_the_accepted_score() {
        let today = d("2026-06-15");
        let accept = Some(RiskTreatment::Accept);
        let acc = Acceptance {
            justification: Some("j"),
            accepted_by: Some("ciso"),
            expires_on: Some(d("2027-01-01")),
            accepted_score: Some(12),
        };
        let open = RiskStatus::Monitoring;
        // At the accepted score and below: still covered.
        assert_eq!(acceptance_lapsed(accept, Some(12), 12), None);
        assert_eq!(acceptance_lapsed(accept, Some(12), 4), None);
        assert!(!appetite_breach(RiskKind::Threat, true, open, accept, &acc, 12, today));
        // One above: lapsed, and the breach returns.
        let why = acceptance_lapsed(accept, Some(12), 13).expect("lapsed");
        assert!(why.contains("13") && why.contains("12") && why.contains("6.1.3 f"), "{why}");
        assert!(appetite_breach(RiskKind::Threat, true, open, accept, &acc, 13, today));
        // Nothing accepted, nothing lapses.
        assert_eq!(acceptance_lapsed(Some(RiskTreatment::Mitigate), Some(12), 20), None);
        assert_eq!(acceptance_lapsed(accept, None, 20), None);
    }

    #[test]
    fn owner_needed_once_a_risk_leaves_identified() {
        assert!(check_owner(RiskStatus::Identified, None).is_ok());
        for s in [RiskStatus::Assessed, RiskStatus::Treating, RiskStatus::Monitoring, RiskStatus::Closed] {
            assert_eq!(check_owner(s, None).unwrap_err().field, "owner", "{s:?}");
            assert_eq!(check_owner(s, Some("  ")).unwrap_err().field, "owner", "{s:?}");
            assert!(check_owner(s, Some("ciso")).is_ok());
        }
    }

    #[test]
    fn who_may_accept() {
        // The owner, in any case and spacing.
        assert_eq!(check_accepted_by(" CISO ", Some("ciso"), "someone", false), Ok(None));
        // An OWNER/MANAGER caller naming themself acts for the owner.
        assert_eq!(check_accepted_by("boss", Some("ciso"), "boss", true), Ok(Some("ciso".into())));
        // Not themself, or not allowed to act: refused.
        assert_eq!(check_accepted_by("other", Some("ciso"), "boss", true).unwrap_err().field, "acceptedBy");
        assert_eq!(check_accepted_by("dev", Some("ciso"), "dev", false).unwrap_err().field, "acceptedBy");
        // No owner: nobody can accept yet.
        assert_eq!(check_accepted_by("boss", None, "boss", true).unwrap_err().field, "owner");
        assert_eq!(check_accepted_by("boss", Some(" "), "boss", true).unwrap_err().field, "owner");
    }

    proptest! {
        #[test]
        fn opportunities_never_breach(score in 1i32..=25, accepted in proptest::option::of(1i32..=25), exceeds in any::<bool>()) {
            let a = Acceptance { accepted_score: accepted, ..Default::default() };
            let today = d("2026-06-15");
            prop_assert!(!appetite_breach(RiskKind::Opportunity, exceeds, RiskStatus::Assessed, Some(RiskTreatment::Accept), &a, score, today));
        }

        #[test]
        fn lapse_is_exactly_above_the_accepted_score(score in 1i32..=25, accepted in 1i32..=25) {
            let lapsed = acceptance_lapsed(Some(RiskTreatment::Accept), Some(accepted), score).is_some();
            prop_assert_eq!(lapsed, score > accepted);
        }

        #[test]
        fn levels_cover_every_score_in_order(n in 3i32..=5, l in 1i32..=5, i in 1i32..=5) {
            let mm = m(n);
            let t = Thresholds::default_for(mm);
            let mut prev = RiskLevel::Low;
            for s in 1..=mm.max_score() {
                let lv = t.level(s);
                prop_assert!(lv >= prev, "levels never decrease with the score");
                let (lo, hi) = t.range(lv, mm);
                prop_assert!(lo <= s && s <= hi);
                prev = lv;
            }
            prop_assert_eq!(t.level(1), RiskLevel::Low);
            prop_assert_eq!(t.level(mm.max_score()), RiskLevel::Critical);
            let (l, i) = (l.min(n), i.min(n));
            let sc = score(l, i);
            prop_assert!((1..=mm.max_score()).contains(&sc));
            prop_assert_eq!(residual_score(l, i, None, None), sc);
        }

        #[test]
        fn valid_custom_thresholds_partition_the_scores(n in 3i32..=5, a in 1i32..25, b in 1i32..25, c in 1i32..25) {
            let mm = m(n);
            let mut v = [a, b, c];
            v.sort();
            let t = Thresholds { low_max: v[0], medium_max: v[1], high_max: v[2] };
            let valid = t.validate(mm, "t").is_ok();
            prop_assert_eq!(valid, v[0] < v[1] && v[1] < v[2] && v[2] < mm.max_score());
            if valid {
                // Every level non-empty, ranges adjacent and covering 1..=max.
                let mut next = 1;
                for lv in RiskLevel::ALL {
                    let (lo, hi) = t.range(*lv, mm);
                    prop_assert_eq!(lo, next);
                    prop_assert!(hi >= lo);
                    for s in lo..=hi { prop_assert_eq!(t.level(s), *lv); }
                    next = hi + 1;
                }
                prop_assert_eq!(next, mm.max_score() + 1);
            }
        }

        #[test]
        fn exceeds_iff_above_the_domain_appetite(n in 3i32..=5, s in 1i32..=25, sec in 0i32..=25, ai in 0i32..=25, sh in 0i32..=25) {
            let mm = m(n);
            let ap = Appetite { security: sec.min(mm.max_score()), ai: ai.min(mm.max_score()), shared: sh.min(mm.max_score()) };
            let st = RiskSettings { matrix: mm, thresholds: Thresholds::default_for(mm), appetite: ap, custom_thresholds: false, custom_appetite: true };
            let s = s.min(mm.max_score());
            for c in RiskCategory::ALL {
                let dom = c.domain();
                prop_assert_eq!(st.exceeds_appetite(dom, s), s > ap.for_domain(dom));
            }
        }

        #[test]
        fn ratings_outside_the_matrix_are_refused(n in 3i32..=5, v in -10i32..20) {
            prop_assert_eq!(rating("likelihood", v, m(n)).is_ok(), (1..=n).contains(&v));
        }
    }
}
