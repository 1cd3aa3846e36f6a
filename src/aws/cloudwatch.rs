//! The CloudWatch call a rollout makes: the state of the env's alarms (DescribeAlarms by
//! name, at most 100 names per call per the API reference). Must not decide what an
//! alarm's state means for a rollout (`rollout` does).

use aws_sdk_cloudwatch::Client;

use super::error::CallFailed;

/// DescribeAlarms takes at most this many names per call.
const NAMES_PER_CALL: usize = 100;

/// One metric alarm's name and state (`OK`, `ALARM` or `INSUFFICIENT_DATA`), with the
/// reason CloudWatch gives for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmState {
    pub name: String,
    pub state: String,
    pub reason: String,
}

impl AlarmState {
    pub fn is_alarm(&self) -> bool {
        self.state == "ALARM"
    }
}

/// The states of the alarms named `names` (names CloudWatch does not know are left out).
pub async fn alarm_states(
    client: &Client,
    names: &[String],
) -> Result<Vec<AlarmState>, CallFailed> {
    let mut out = Vec::new();
    for chunk in names.chunks(NAMES_PER_CALL) {
        let mut token: Option<String> = None;
        loop {
            let page = client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| CallFailed::from_sdk("CloudWatch", "DescribeAlarms", "alarms", &e))?;
            out.extend(page.metric_alarms().iter().map(|a| {
                AlarmState {
                    name: a.alarm_name().unwrap_or_default().to_owned(),
                    state: a
                        .state_value()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    reason: a.state_reason().unwrap_or_default().to_owned(),
                }
            }));
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
    }
    Ok(out)
}
