//! CloudWatch Logs: whether a log group of a given name exists (DescribeLogGroups by
//! prefix, the exact name picked out), every group under a prefix, and deleting one group
//! (destroy's receipt). Must not decide what a found group means.

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

/// The names of every log group whose name starts with `prefix` (all pages).
pub async fn log_groups_with_prefix(
    client: &Client,
    prefix: &str,
) -> Result<Vec<String>, CallFailed> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .describe_log_groups()
            .log_group_name_prefix(prefix)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                CallFailed::from_sdk("CloudWatch Logs", "DescribeLogGroups", prefix, &e)
            })?;
        names.extend(
            out.log_groups()
                .iter()
                .filter_map(|g| g.log_group_name())
                .filter(|name| name.starts_with(prefix))
                .map(str::to_owned),
        );
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(names),
        }
    }
}

/// DeleteLogGroup; `false` when there was none (ResourceNotFoundException).
pub async fn delete_log_group(client: &Client, name: &str) -> Result<bool, CallFailed> {
    match client.delete_log_group().log_group_name(name).send().await {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(CallFailed::from_sdk(
            "CloudWatch Logs",
            "DeleteLogGroup",
            name,
            &err,
        )),
    }
}
