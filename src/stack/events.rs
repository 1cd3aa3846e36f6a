//! Stack events as a deployment sees them: deduplicated by event id, in the order they
//! happened, and the root cause of a failure. Pure; the waiter feeds it what
//! DescribeStackEvents returned. Must not call AWS.

use std::collections::HashSet;

use crate::aws::cloudformation::StackEvent;

/// Noise CloudFormation writes on every resource it stops because another failed.
const CANCELLED_NOISE: [&str; 3] = [
    "Resource creation cancelled",
    "Resource update cancelled",
    "Resource deletion cancelled",
];

/// The events of one operation seen so far.
#[derive(Debug, Default, Clone)]
pub struct EventLog {
    seen: HashSet<String>,
    /// In the order they happened.
    events: Vec<StackEvent>,
}

impl EventLog {
    pub fn new() -> EventLog {
        EventLog::default()
    }

    /// Add one poll's events (newest first, as CloudFormation lists them). Returns the ones
    /// not seen before, oldest first.
    pub fn absorb(&mut self, newest_first: Vec<StackEvent>) -> Vec<StackEvent> {
        let mut fresh: Vec<StackEvent> = newest_first
            .into_iter()
            .filter(|e| self.seen.insert(e.id.clone()))
            .collect();
        fresh.reverse();
        // Same-millisecond events keep CloudFormation's order (the reversal above).
        fresh.sort_by_key(|e| e.timestamp_ms);
        self.events.extend(fresh.iter().cloned());
        fresh
    }

    /// The newest event id, the boundary for the next poll.
    pub fn newest_id(&self) -> Option<&str> {
        self.events.last().map(|e| e.id.as_str())
    }

    pub fn events(&self) -> &[StackEvent] {
        &self.events
    }
}

/// The event that explains a failure.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RootCause {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: String,
}

impl std::fmt::Display for RootCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) {}: {}",
            self.logical_id, self.resource_type, self.status, self.reason
        )
    }
}

fn is_noise(reason: &str) -> bool {
    CANCELLED_NOISE.iter().any(|n| reason.contains(n))
}

/// The first FAILED event (oldest first) whose reason is not cancellation noise, preferring
/// a resource over the stack itself (the stack's own FAILED event only repeats a summary).
pub fn root_cause(events: &[StackEvent], stack_name: &str) -> Option<RootCause> {
    let failed = |e: &&StackEvent| {
        e.status.ends_with("_FAILED") && !e.reason.as_deref().is_some_and(is_noise)
    };
    let to_cause = |e: &StackEvent| RootCause {
        logical_id: e.logical_id.clone(),
        resource_type: e.resource_type.clone(),
        status: e.status.clone(),
        reason: e
            .reason
            .clone()
            .unwrap_or_else(|| "(no reason given)".into()),
    };
    events
        .iter()
        .filter(failed)
        .find(|e| e.logical_id != stack_name)
        .or_else(|| events.iter().find(failed))
        .map(to_cause)
}

/// Resources whose rollback failed in an UPDATE_ROLLBACK_FAILED stack: the
/// `UPDATE_FAILED` events after the latest `UPDATE_ROLLBACK_IN_PROGRESS` of the stack.
/// These are the candidates for ContinueUpdateRollback's ResourcesToSkip.
pub fn rollback_failures(oldest_first: &[StackEvent], stack_name: &str) -> Vec<String> {
    let start = oldest_first
        .iter()
        .rposition(|e| e.logical_id == stack_name && e.status == "UPDATE_ROLLBACK_IN_PROGRESS")
        .map_or(0, |i| i + 1);
    let mut skip: Vec<String> = oldest_first[start..]
        .iter()
        .filter(|e| e.logical_id != stack_name && e.status == "UPDATE_FAILED")
        .map(|e| e.logical_id.clone())
        .collect();
    skip.dedup();
    let mut seen = HashSet::new();
    skip.retain(|id| seen.insert(id.clone()));
    skip
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn event(id: &str, t: i64, logical: &str, status: &str, reason: &str) -> StackEvent {
        StackEvent {
            id: id.into(),
            timestamp_ms: t,
            logical_id: logical.into(),
            resource_type: if logical.starts_with("iris-") {
                "AWS::CloudFormation::Stack".into()
            } else {
                "AWS::Lambda::Function".into()
            },
            status: status.into(),
            reason: (!reason.is_empty()).then(|| reason.into()),
        }
    }

    #[test]
    fn absorb_deduplicates_and_orders_oldest_first() {
        let mut log = EventLog::new();
        let first = log.absorb(vec![
            event("2", 2, "B", "CREATE_IN_PROGRESS", ""),
            event("1", 1, "A", "CREATE_IN_PROGRESS", ""),
        ]);
        assert_eq!(
            first.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["1", "2"]
        );
        let second = log.absorb(vec![
            event("3", 3, "A", "CREATE_COMPLETE", ""),
            event("2", 2, "B", "CREATE_IN_PROGRESS", ""),
        ]);
        assert_eq!(
            second.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["3"]
        );
        assert_eq!(log.events().len(), 3);
        assert_eq!(log.newest_id(), Some("3"));
    }

    #[test]
    fn root_cause_skips_cancellation_noise_and_the_stack_summary() {
        let events = vec![
            event(
                "1",
                1,
                "iris-x-service",
                "CREATE_IN_PROGRESS",
                "User Initiated",
            ),
            event(
                "2",
                2,
                "Queue",
                "CREATE_FAILED",
                "Resource creation cancelled",
            ),
            event(
                "3",
                3,
                "Function",
                "CREATE_FAILED",
                "Resource handler returned message: \"Error occurred while GetObject. S3 Error Code: NoSuchBucket\"",
            ),
            event(
                "4",
                4,
                "iris-x-service",
                "ROLLBACK_IN_PROGRESS",
                "The following resource(s) failed to create: [Function, Queue].",
            ),
            event("5", 5, "Topic", "DELETE_FAILED", "later failure"),
        ];
        let cause = root_cause(&events, "iris-x-service").expect("a cause");
        assert_eq!(cause.logical_id, "Function");
        assert!(cause.reason.contains("NoSuchBucket"));
    }

    #[test]
    fn root_cause_falls_back_to_the_stack_event_and_is_none_without_failures() {
        let only_stack = vec![event(
            "1",
            1,
            "iris-x-storage",
            "UPDATE_FAILED",
            "Parameter validation failed",
        )];
        assert_eq!(
            root_cause(&only_stack, "iris-x-storage").map(|c| c.reason),
            Some("Parameter validation failed".into())
        );
        let fine = vec![event("1", 1, "A", "CREATE_COMPLETE", "")];
        assert_eq!(root_cause(&fine, "iris-x-storage"), None);
    }

    #[test]
    fn rollback_failures_are_taken_from_the_latest_rollback_only() {
        let s = "iris-x-service";
        let events = vec![
            event("1", 1, s, "UPDATE_ROLLBACK_IN_PROGRESS", ""),
            event("2", 2, "Old", "UPDATE_FAILED", "earlier attempt"),
            event("3", 3, s, "UPDATE_ROLLBACK_FAILED", ""),
            event("4", 4, s, "UPDATE_ROLLBACK_IN_PROGRESS", ""),
            event("5", 5, "Function", "UPDATE_FAILED", "role gone"),
            event("6", 6, "Function", "UPDATE_FAILED", "role gone again"),
            event("7", 7, "Alias", "UPDATE_FAILED", "no version"),
            event("8", 8, "Stage", "UPDATE_COMPLETE", ""),
            event("9", 9, s, "UPDATE_ROLLBACK_FAILED", ""),
        ];
        assert_eq!(rollback_failures(&events, s), ["Function", "Alias"]);
    }
}
