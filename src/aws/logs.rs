//! CloudWatch Logs: whether a log group of a given name exists (DescribeLogGroups by
//! prefix, the exact name picked out). Must not decide what a found group means.

use aws_sdk_cloudwatchlogs::Client;

use super::error::CallFailed;

pub async fn log_group_exists(client: &Client, name: &str) -> Result<bool, CallFailed> {
    let mut token: Option<String> = None;
    loop {
        let out = client
            .describe_log_groups()
            .log_group_name_prefix(name)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| CallFailed::from_sdk("CloudWatch Logs", "DescribeLogGroups", name, &e))?;
        if out
            .log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(name))
        {
            return Ok(true);
        }
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(false),
        }
    }
}
