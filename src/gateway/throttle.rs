//! Stage throttling as API Gateway documents it: a token bucket per stage, holding at most
//! `burst` tokens and refilled at `rate` per second; a request takes one token or is
//! refused with THROTTLED (429). The clock is passed in (seconds since any fixed point), so
//! the arithmetic is testable without waiting and [`predicted_allowed`] can tell a test
//! exactly how many of a schedule of requests should pass.

/// One stage's bucket.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Option<f64>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: u32) -> TokenBucket {
        TokenBucket {
            rate: rate.max(0.0),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: None,
        }
    }

    /// Take a token at time `now` (seconds; never earlier than a previous call's), or
    /// say the request is throttled.
    pub fn try_take(&mut self, now: f64) -> bool {
        if let Some(last) = self.last {
            let elapsed = (now - last).max(0.0);
            self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        }
        self.last = Some(self.last.map_or(now, |last| last.max(now)));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// How many requests at times `at` (ascending seconds) a fresh bucket lets through.
pub fn predicted_allowed(rate: f64, burst: u32, at: &[f64]) -> usize {
    let mut bucket = TokenBucket::new(rate, burst);
    at.iter().filter(|&&t| bucket.try_take(t)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_passes_the_burst_then_the_rate() {
        let mut b = TokenBucket::new(10.0, 20);
        let passed = (0..25).filter(|_| b.try_take(0.0)).count();
        assert_eq!(passed, 20, "burst");
        assert!(!b.try_take(0.05), "half a token is not a token");
        assert!(b.try_take(0.1), "one token after 1/rate s");
        assert!(!b.try_take(0.1));
    }

    #[test]
    fn the_bucket_never_holds_more_than_the_burst() {
        let mut b = TokenBucket::new(100.0, 3);
        assert!(b.try_take(0.0));
        let passed = (0..10).filter(|_| b.try_take(60.0)).count();
        assert_eq!(passed, 3);
    }

    #[test]
    fn twice_the_rate_for_three_seconds_passes_burst_plus_rate_times_duration() {
        // 20 rps for 3 s at rate 10, burst 20: 60 requests, 20 + 30 pass (to within one).
        let at: Vec<f64> = (0..60).map(|i| f64::from(i) / 20.0).collect();
        let passed = predicted_allowed(10.0, 20, &at);
        assert!((49..=51).contains(&passed), "{passed}");
    }

    #[test]
    fn zero_burst_refuses_everything() {
        assert_eq!(predicted_allowed(10.0, 0, &[0.0, 1.0, 2.0]), 0);
    }
}
