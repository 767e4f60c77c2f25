//! The per-subject rate limit, shared by every transport (HTTP and WebSocket operations
//! draw from the same bucket), on the maintained `governor` crate (GCRA). Per replica by
//! design: counters are the one state a replica keeps to itself (ARCHITECTURE.md).

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::AppError;

pub struct SubjectLimiter {
    per_minute: u32,
    limiter: DefaultKeyedRateLimiter<String>,
}

impl SubjectLimiter {
    /// `None` when `per_minute` is 0 (no limit).
    pub fn new(per_minute: u32) -> Option<Self> {
        let n = NonZeroU32::new(per_minute)?;
        Some(Self { per_minute, limiter: DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)) })
    }

    /// One operation of `subject`: `RATE_LIMITED` once the minute's allowance is spent.
    pub fn check(&self, subject: &str) -> Result<(), AppError> {
        // Keys of subjects idle for a while are dropped now and then, so memory stays bounded.
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&subject.to_string()).map_err(|_| {
            AppError::RateLimited(format!(
                "rate limit of {} operations per minute exceeded; retry shortly",
                self.per_minute
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_subject_has_its_own_allowance() {
        let l = SubjectLimiter::new(3).expect("limit");
        for _ in 0..3 {
            assert!(l.check("a").is_ok());
        }
        assert_eq!(l.check("a").unwrap_err().code(), "RATE_LIMITED");
        assert!(l.check("b").is_ok());
        assert!(SubjectLimiter::new(0).is_none());
    }

    #[test]
    fn the_allowance_comes_back_over_the_minute() {
        // 60 a minute: a burst of 60, then one more each second.
        let l = SubjectLimiter::new(60).expect("limit");
        for _ in 0..60 {
            assert!(l.check("a").is_ok());
        }
        let e = l.check("a").unwrap_err();
        assert!(e.message().contains("60 operations per minute"), "{}", e.message());
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_err());
    }
}
