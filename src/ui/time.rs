//! Time as irisctl reads and writes it: now in milliseconds since the epoch (lock records,
//! expiry tags, change-set names) and RFC 3339 for people, log lines and tags. One clock and
//! one format, so a CI log, a lock record and a tag can be compared by eye.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cloudformation::primitives::{DateTime, DateTimeFormat};

/// Milliseconds since the epoch (0 if the clock is before it, which only a broken clock is).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// A plain log line: `<RFC 3339 time>  <message>`, the shape of the event lines.
pub fn stamped(now_ms: i64, message: &str) -> String {
    format!("{}  {message}", timestamp(now_ms))
}

/// RFC 3339 time of an event.
pub fn timestamp(ms: i64) -> String {
    DateTime::from_millis(ms)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_carry_the_time_like_event_lines() {
        assert_eq!(
            stamped(
                1_764_000_000_123,
                "iris-dev-storage: creating (7 resources)"
            ),
            "2025-11-24T16:00:00.123Z  iris-dev-storage: creating (7 resources)"
        );
    }
}
