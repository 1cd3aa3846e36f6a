//! Waiting for CloudFormation: a stack operation (streaming its events) or a change set
//! being computed. Polls on a schedule proportional to how long the operation has run:
//! the next poll comes after about a tenth of the time elapsed so far (at least 50 ms, at
//! most 4 s, ±20 % jitter), so noticing the end never adds more than ~10 % to the
//! operation's own time (docs/benchmarks.md "## Deploy"), while a long operation is polled
//! every few seconds. Each poll asks for the status and the new events at once. A failed
//! or throttled poll (after the SDK's own retries) is reported and polled again: it never
//! fails an operation that succeeds. Must not start operations.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};

use super::events::{EventLog, RootCause, root_cause};
use super::state::{Operation, Settled, settled};
use crate::aws::cloudformation::{Cfn, ChangeSet, StackEvent};
use crate::ui::Progress;

/// Shortest delay between polls of one operation.
const MIN_DELAY: Duration = Duration::from_millis(50);
/// Longest delay between polls of one operation.
const MAX_DELAY: Duration = Duration::from_secs(4);
/// The delay is this fraction of the operation's elapsed time.
const ELAPSED_DIVISOR: u32 = 10;

/// The delay before the next poll of an operation that has run for `elapsed`: a tenth of
/// it, within [`MIN_DELAY`, `MAX_DELAY`], times a jitter factor in [0.8, 1.2) so that
/// clients started together do not poll in lockstep.
pub fn poll_delay(elapsed: Duration) -> Duration {
    let base = (elapsed / ELAPSED_DIVISOR).clamp(MIN_DELAY, MAX_DELAY);
    base.mul_f64(0.8 + 0.4 * fastrand::f64())
}

/// Delays between attempts at something another run holds (the env lock): 150 ms growing
/// by 1.5x to 4 s, with jitter, endless.
pub fn poll_delays() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(150))
        .with_max_delay(MAX_DELAY)
        .with_factor(1.5)
        .with_jitter()
        .without_max_times()
        .build()
}

/// How a stack operation ended.
#[derive(Debug, Clone)]
pub struct Waited {
    pub status: String,
    pub status_reason: Option<String>,
    pub settled: Settled,
    /// The operation's events, oldest first.
    pub events: Vec<StackEvent>,
    pub root_cause: Option<RootCause>,
    /// Polls that failed and were retried.
    pub failed_polls: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error(
        "stack {stack} is still {status} after {waited:?}; CloudFormation carries on without \
         irisctl; run the same command again to wait for it, or raise --timeout"
    )]
    Timeout {
        stack: String,
        status: String,
        waited: Duration,
    },
    #[error("change set {change_set} on {stack} was still {status} after {waited:?}")]
    ChangeSetTimeout {
        stack: String,
        change_set: String,
        status: String,
        waited: Duration,
    },
}

/// Wait for `op` on the stack `stack_id` (an id, so a deleted stack stays visible), showing
/// events newer than `boundary` (the newest event before the operation started).
pub async fn wait_stack(
    cfn: &Cfn,
    stack_id: &str,
    stack_name: &str,
    op: Operation,
    boundary: Option<String>,
    timeout: Duration,
    progress: &mut Progress,
) -> Result<Waited, WaitError> {
    let started = Instant::now();
    let mut log = EventLog::new();
    let mut failed_polls = 0;
    let mut last_status = String::from("(unknown)");
    loop {
        let until = log
            .newest_id()
            .map(str::to_owned)
            .or_else(|| boundary.clone());
        let (described, events) = tokio::join!(
            cfn.describe(stack_id),
            cfn.events_since(stack_id, until.as_deref())
        );
        let mut status_reason = None;
        let status = match described {
            Ok(Some(stack)) => {
                status_reason = stack.status_reason;
                Some(stack.status)
            }
            // Only a delete makes a stack vanish.
            Ok(None) if op == Operation::Delete => Some("DELETE_COMPLETE".to_owned()),
            Ok(None) => None,
            Err(err) => {
                failed_polls += 1;
                progress.note(&format!("  (status poll failed, retrying: {err})"));
                None
            }
        };
        match events {
            Ok(events) => {
                for e in log.absorb(events) {
                    progress.event(&e);
                }
            }
            Err(err) => {
                // A deleted stack's events can vanish with it; nothing to show then.
                if !(op == Operation::Delete && status.as_deref() == Some("DELETE_COMPLETE")) {
                    failed_polls += 1;
                    progress.note(&format!("  (event poll failed, retrying: {err})"));
                }
            }
        }
        if let Some(status) = status {
            if let Some(outcome) = settled(op, &status) {
                // The events were read alongside the status, so the last ones (the stack's
                // own final event) may have come just after: read them once more.
                let until = log
                    .newest_id()
                    .map(str::to_owned)
                    .or_else(|| boundary.clone());
                if let Ok(events) = cfn.events_since(stack_id, until.as_deref()).await {
                    for e in log.absorb(events) {
                        progress.event(&e);
                    }
                }
                progress.finish(&status);
                let events = log.events().to_vec();
                let root_cause = match outcome {
                    Settled::Failed => root_cause(&events, stack_name),
                    Settled::Succeeded => None,
                };
                return Ok(Waited {
                    status,
                    status_reason,
                    settled: outcome,
                    events,
                    root_cause,
                    failed_polls,
                });
            }
            last_status = status;
        }
        if started.elapsed() >= timeout {
            progress.finish(&last_status);
            return Err(WaitError::Timeout {
                stack: stack_name.to_owned(),
                status: last_status,
                waited: started.elapsed(),
            });
        }
        let delay = poll_delay(started.elapsed());
        tokio::time::sleep(delay.min(timeout.saturating_sub(started.elapsed()))).await;
    }
}

/// Wait until CloudFormation has computed the change set (CREATE_COMPLETE or FAILED).
/// A failed poll is retried like the stack waiter's.
pub async fn wait_change_set(
    cfn: &Cfn,
    stack: &str,
    change_set: &str,
    timeout: Duration,
    note: &(dyn Fn(&str) + Sync),
) -> Result<ChangeSet, WaitError> {
    let started = Instant::now();
    let mut last_status = String::from("(unknown)");
    loop {
        match cfn.describe_change_set(stack, change_set).await {
            Ok(set) if !set.is_pending() => return Ok(set),
            Ok(set) => last_status = set.status,
            Err(err) => note(&format!("  (change set poll failed, retrying: {err})")),
        }
        if started.elapsed() >= timeout {
            return Err(WaitError::ChangeSetTimeout {
                stack: stack.to_owned(),
                change_set: change_set.to_owned(),
                status: last_status,
                waited: started.elapsed(),
            });
        }
        let delay = poll_delay(started.elapsed());
        tokio::time::sleep(delay.min(timeout.saturating_sub(started.elapsed()))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_delay_is_a_tenth_of_the_elapsed_time_within_bounds_with_jitter() {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        for _ in 0..200 {
            // Early: the floor (50 ms ± 20 %).
            let d = ms(poll_delay(Duration::ZERO));
            assert!((40.0..60.0).contains(&d), "{d}");
            // Proportional: 10 s elapsed → ~1 s.
            let d = ms(poll_delay(Duration::from_secs(10)));
            assert!((800.0..1200.0).contains(&d), "{d}");
            // Long operations: the ceiling (4 s ± 20 %).
            let d = ms(poll_delay(Duration::from_secs(3600)));
            assert!((3200.0..4800.0).contains(&d), "{d}");
        }
        let spread: std::collections::BTreeSet<u128> = (0..50)
            .map(|_| poll_delay(Duration::from_secs(10)).as_millis())
            .collect();
        assert!(spread.len() > 5, "jittered: {spread:?}");
    }

    #[test]
    fn lock_retry_delays_start_fast_grow_and_stay_bounded() {
        let delays: Vec<Duration> = poll_delays().take(30).collect();
        assert_eq!(delays.len(), 30, "the schedule never runs out");
        // Jitter adds up to one more delay on top.
        assert!(delays[0] <= Duration::from_millis(300), "{:?}", delays[0]);
        assert!(delays.iter().all(|d| *d <= MAX_DELAY * 2), "{delays:?}");
        assert!(delays[29] >= MAX_DELAY, "{:?}", delays[29]);
    }
}
