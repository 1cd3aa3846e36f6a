//! The calls on a stack's event history: what happened since a known event, and where
//! the history ends now.

use super::{Cfn, CfnError};

/// One stack event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    pub id: String,
    /// Seconds since the epoch, with millisecond precision.
    pub timestamp_ms: i64,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

impl Cfn {
    /// Events newer than `until_id` (exclusive), newest first, following pages. Stops at
    /// `until_id`, or at the end of the stack's history when it is `None` or not found.
    pub async fn events_since(
        &self,
        stack: &str,
        until_id: Option<&str>,
    ) -> Result<Vec<StackEvent>, CfnError> {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let output = self
                .client
                .describe_stack_events()
                .stack_name(stack)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| CfnError::from_sdk("DescribeStackEvents", stack, e))?;
            for event in output.stack_events() {
                let id = event.event_id().unwrap_or_default();
                if Some(id) == until_id {
                    return Ok(events);
                }
                events.push(StackEvent {
                    id: id.to_owned(),
                    timestamp_ms: event
                        .timestamp()
                        .and_then(|t| t.to_millis().ok())
                        .unwrap_or_default(),
                    logical_id: event.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: event.resource_type().unwrap_or_default().to_owned(),
                    status: event
                        .resource_status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    reason: event.resource_status_reason().map(str::to_owned),
                });
            }
            match output.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(events),
            }
        }
    }

    /// The id of the newest event, the boundary before an operation starts.
    pub async fn newest_event_id(&self, stack: &str) -> Result<Option<String>, CfnError> {
        let output = self
            .client
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| CfnError::from_sdk("DescribeStackEvents", stack, e))?;
        Ok(output
            .stack_events()
            .first()
            .and_then(|e| e.event_id())
            .map(str::to_owned))
    }
}
