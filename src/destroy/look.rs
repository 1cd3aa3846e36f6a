//! Gathering the teardown receipt's facts through the thin `aws` wrappers: the tagging
//! API (each hit confirmed with its own service where that is one cheap call), log groups
//! under the env's prefixes, the function's versions, preflight's fixed names, and the API
//! Gateway execution log group. A failed read is kept as that part's error
//! ([`receipt`](super::receipt) reports it as not checked). Must not decide what a
//! finding means.
//!
//! The execution log group is the one thing this step changes: API Gateway writes a
//! stage's execution logs through the account's logging role, whose managed policy
//! (AmazonAPIGatewayPushToCloudWatchLogs) includes `logs:CreateLogGroup`, so logs that
//! arrive after the service stack deleted the group create it again, without retention
//! or encryption. Its name embeds the deleted API's id, which API Gateway never gives to
//! another API, so deleting it can only remove the env's own logs: it is deleted when
//! found, and looked for again after [`Settle`]. The function's log group cannot come back
//! that way: the function's role may create log streams and put events, not create
//! groups.

use std::time::Duration;

use super::receipt::{ExecutionLogGroup, Facts, TaggedHit};
use crate::aws::cloudformation::Cfn;
use crate::aws::s3::Bucket;
use crate::aws::tagging::Tagged;
use crate::aws::{self, kms, lambda, logs, sqs, sts, tagging};
use crate::config::Config;
use crate::gc::select::{TAG_ENV, TAG_PROJECT};
use crate::preflight;

/// The clients the receipt reads with: preflight's (the fixed names are its facts) and
/// the tagging API's.
pub struct Clients {
    pub preflight: preflight::Clients,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub sqs: aws_sdk_sqs::Client,
}

impl Clients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Clients {
        Clients {
            preflight: preflight::Clients::new(sdk),
            tagging: aws::tagging(sdk),
            sqs: aws::sqs(sdk),
        }
    }
}

/// How long to wait before looking again for an execution log group destroy deleted.
/// API Gateway delivers execution logs asynchronously; on the emulators nothing delivers
/// late, so there is nothing to wait for.
#[derive(Debug, Clone, Copy)]
pub struct Settle(pub Duration);

impl Settle {
    pub fn for_env(config: &Config) -> Settle {
        if config.emulator.value {
            Settle(Duration::ZERO)
        } else {
            Settle(Duration::from_secs(30))
        }
    }
}

/// What destroy learnt before the stacks went: the REST API's id (the execution log
/// group's name embeds it; it cannot be read once the service stack is gone).
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub rest_api_id: Option<String>,
}

/// The log-group prefixes of an env: its function's group and its API's groups. Each
/// ends where the env's name does (`-` after the base), so `pr-1` never matches `pr-10`.
pub fn log_group_prefixes(config: &Config) -> Vec<String> {
    let mut prefixes = vec![
        config.names.function_log_group.clone(),
        format!("/aws/apigateway/{}-", config.names.base),
    ];
    // A sagemaker env's container logs (the service stack declares the group; SageMaker
    // would otherwise create it itself and leave it behind).
    if config.is_sagemaker() {
        prefixes.push(config.names.endpoint_log_group.clone());
    }
    prefixes
}

/// The execution log group API Gateway writes a stage's logs to.
pub fn execution_log_group(rest_api_id: &str, stage: &str) -> String {
    format!("API-Gateway-Execution-Logs_{rest_api_id}/{stage}")
}

/// Gather every fact of the receipt of `config`'s env.
pub async fn gather(clients: &Clients, config: &Config, seen: &Seen, settle: Settle) -> Facts {
    let p = &clients.preflight;
    let n = &config.names;
    let stacks = vec![
        n.storage_stack.clone(),
        n.auth_stack.clone(),
        n.service_stack.clone(),
    ];

    // The execution log group first: its wait overlaps nothing else.
    let execution_log_group = match &seen.rest_api_id {
        None => None,
        Some(id) => Some(
            sweep(
                &p.logs,
                &execution_log_group(id, &config.api.stage_name.value),
                settle,
            )
            .await,
        ),
    };

    let mut live_stacks = Vec::new();
    for stack in &stacks {
        // A stack that cannot be described counts as still there: never call it gone.
        if !matches!(p.cfn.describe(stack).await, Ok(None)) {
            live_stacks.push(stack.clone());
        }
    }

    let filters = [
        (TAG_ENV, config.env.as_str()),
        (TAG_PROJECT, config.project.value.as_str()),
    ];
    let tagged = match tagging::tagged(&clients.tagging, &filters).await {
        Ok(hits) => {
            let mut confirmed = Vec::new();
            for resource in hits {
                let exists = confirm(clients, &resource).await;
                confirmed.push(TaggedHit { resource, exists });
            }
            Ok(confirmed)
        }
        Err(e) => Err(e.to_string()),
    };

    let mut log_groups = Vec::new();
    for prefix in log_group_prefixes(config) {
        let found = logs::log_groups_with_prefix(&p.logs, &prefix)
            .await
            .map_err(|e| e.to_string());
        log_groups.push((prefix, found));
    }

    let versions = lambda::versions(&p.lambda, &n.function)
        .await
        .map(|found| found.into_iter().map(|v| v.version).collect())
        .map_err(|e| e.to_string());

    let names = match sts::caller(&p.sts).await {
        Ok(caller) => preflight::facts::names(p, config, &caller.account).await,
        Err(e) => vec![preflight::facts::NameFact {
            kind: "fixed names",
            name: "(buckets, repository, KMS alias, Cognito domain)".into(),
            stack: String::new(),
            found: Err(format!("the caller's account is unknown: {e:#}")),
        }],
    };

    Facts {
        env: config.env.clone(),
        retain: config.protected.value,
        stacks,
        live_stacks,
        tagged,
        log_groups,
        function: n.function.clone(),
        versions,
        names,
        execution_log_group,
    }
}

/// Delete the execution log group if it is there, then (only then) wait and look again.
async fn sweep(
    client: &aws_sdk_cloudwatchlogs::Client,
    name: &str,
    settle: Settle,
) -> ExecutionLogGroup {
    let swept = match logs::delete_log_group(client, name).await {
        Ok(deleted) => deleted,
        Err(e) => {
            return ExecutionLogGroup {
                name: name.to_owned(),
                swept: false,
                back: Err(e.to_string()),
            };
        }
    };
    if swept && !settle.0.is_zero() {
        tokio::time::sleep(settle.0).await;
    }
    ExecutionLogGroup {
        name: name.to_owned(),
        swept,
        back: logs::log_group_exists(client, name)
            .await
            .map_err(|e| e.to_string()),
    }
}

/// Ask the owning service whether a tagging hit still exists, for the types where that
/// is one call; `None` for the rest.
async fn confirm(clients: &Clients, resource: &Tagged) -> Option<Result<bool, String>> {
    let p = &clients.preflight;
    let parts: Vec<&str> = resource.arn.splitn(6, ':').collect();
    let [_, _, service, _, _, rest] = parts.as_slice() else {
        return None;
    };
    let text = |e: &dyn std::fmt::Display| e.to_string();
    Some(match *service {
        "s3" if !rest.contains('/') => Bucket::new(p.s3.clone(), *rest)
            .exists()
            .await
            .map_err(|e| text(&e)),
        "logs" => {
            let name = rest.strip_prefix("log-group:")?;
            let name = name.strip_suffix(":*").unwrap_or(name);
            logs::log_group_exists(&p.logs, name)
                .await
                .map_err(|e| text(&e))
        }
        "sqs" => sqs::queue_exists(&clients.sqs, rest)
            .await
            .map_err(|e| text(&e)),
        "lambda" if rest.starts_with("function:") => {
            lambda::function_exists(&p.lambda, &resource.arn)
                .await
                .map_err(|e| text(&e))
        }
        "kms" if rest.starts_with("key/") => kms::key_live(&p.kms, &resource.arn)
            .await
            .map_err(|e| text(&e)),
        "ecr" => {
            let name = rest.strip_prefix("repository/")?;
            p.ecr.repository_exists(name).await.map_err(|e| text(&e))
        }
        _ => return None,
    })
}

/// The REST API's id from the service stack, before it is deleted.
pub async fn rest_api_id(cfn: &Cfn, service_stack: &str) -> Option<String> {
    cfn.physical_id(service_stack, crate::contract::service::REST_API_RESOURCE)
        .await
        .ok()
        .flatten()
}
