//! `irisctl status --env ENV` and `irisctl outputs --env ENV`: read-only views of an env.
//! status: each stack's state, whether its deployed template is the one irisctl renders
//! now, the live model (sha256 and S3 version from the service stack's parameters), the
//! API URL, the live release behind the function's `live` alias (version, code and model
//! sha256), the previous one and any traffic split, and who holds the env lock. outputs: every stack output. Never changes anything.

use std::collections::BTreeMap;

use anyhow::Context;
use serde::Serialize;

use super::args::{EnvArgs, OutputFormat};
use super::session::{self, Session};
use crate::aws;
use crate::aws::cloudformation::Cfn;
use crate::aws::s3::Bucket;
use crate::contract;
use crate::exit::Status;
use crate::stack::lock::{self, LockRecord};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: EnvArgs,
    #[command(flatten)]
    pub output: OutputFormat,
}

/// How a deployed template compares with the rendered one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateMatch {
    /// Byte for byte (sha256 equal).
    Same,
    /// Equal once line endings and trailing whitespace are normalised (some services
    /// return the body re-encoded).
    SameNormalised,
    Different,
}

/// Compare what GetTemplate returned with what irisctl renders now.
pub fn compare_templates(deployed: &str, rendered: &str) -> TemplateMatch {
    if sha256(deployed) == sha256(rendered) {
        return TemplateMatch::Same;
    }
    let norm = |s: &str| -> String {
        s.replace("\r\n", "\n")
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
            .trim_end()
            .to_owned()
    };
    if norm(deployed) == norm(rendered) {
        TemplateMatch::SameNormalised
    } else {
        TemplateMatch::Different
    }
}

fn sha256(s: &str) -> String {
    crate::digest::sha256_hex(s)
}

#[derive(Debug, Serialize)]
struct StackStatus {
    stack: String,
    /// None: the stack does not exist.
    state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<TemplateMatch>,
    rendered_sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    deployed_sha256: Option<String>,
}

#[derive(Debug, Serialize)]
struct EnvStatus {
    env: String,
    stacks: Vec<StackStatus>,
    api_url: Option<String>,
    /// Emulator envs: where `api_url` answers on this machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    local_api_url: Option<String>,
    model_sha256: Option<String>,
    model_version_id: Option<String>,
    /// What the `live` alias runs (None: no service stack, or one without the alias).
    #[serde(skip_serializing_if = "Option::is_none")]
    releases: Option<crate::release::Releases>,
    /// Where a rollout stands (the service stack's rollout parameters and the alias).
    #[serde(skip_serializing_if = "Option::is_none")]
    rollout: Option<crate::rollout::State>,
    /// `backend: sagemaker` envs: the endpoint `POST /predict` invokes.
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<EndpointStatus>,
    lock: Option<LockRecord>,
}

#[derive(Debug, Serialize)]
struct EndpointStatus {
    /// The service stack's `EndpointName` output (None: not deployed yet).
    name: Option<String>,
    /// `serverless` or `instance`, as the env file says.
    mode: &'static str,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    session::runtime()?.block_on(status(args))
}

pub fn run_outputs(args: Args) -> anyhow::Result<Status> {
    session::runtime()?.block_on(outputs(args))
}

async fn status(args: Args) -> anyhow::Result<Status> {
    let session = Session::open(&args.target).await?;
    let cfn = Cfn::new(aws::cloudformation(&session.sdk));
    let mut report = EnvStatus {
        env: session.config.env.clone(),
        stacks: Vec::new(),
        api_url: None,
        local_api_url: None,
        model_sha256: None,
        model_version_id: None,
        releases: None,
        rollout: None,
        endpoint: session.config.is_sagemaker().then(|| EndpointStatus {
            name: None,
            mode: session.config.sagemaker.mode.value.as_str(),
        }),
        lock: None,
    };
    let mut bucket = None;
    // Earlier stacks' outputs, in stack order: deploy binds the service stack's API
    // Deployment to the auth stack's values before sending it, so status compares the
    // deployed template with the same binding.
    let mut available = std::collections::BTreeMap::new();
    for rendered in &session.stacks {
        let rendered = &crate::render::api_definition::bind_parameters(rendered, &available)?;
        let stack = cfn.describe(&rendered.name).await?;
        if let Some(stack) = &stack {
            available.extend(stack.outputs.clone());
        }
        let mut row = StackStatus {
            stack: rendered.name.clone(),
            state: stack.as_ref().map(|s| s.status.clone()),
            template: None,
            rendered_sha256: rendered.sha256(),
            deployed_sha256: None,
        };
        if let Some(stack) = &stack {
            if let Some(body) = cfn.template(&stack.id).await? {
                row.deployed_sha256 = Some(sha256(&body));
                row.template = Some(compare_templates(&body, &rendered.body));
            }
            bucket = bucket.or_else(|| lock::bucket_of(stack).map(str::to_owned));
            if let Some(url) = stack.outputs.get(contract::service::API_URL) {
                report.api_url = Some(url.clone());
                report.local_api_url = session.local_api_url(url);
            }
            if let Some(function) = stack.outputs.get(contract::service::FUNCTION_NAME) {
                // Status reports what it can: a function it cannot read (a stack mid-way,
                // a missing permission) leaves the release out with a warning.
                let lambda = aws::lambda(&session.sdk);
                match super::model::release_facts(&lambda, function).await {
                    Ok((_, facts)) => {
                        let weights = facts
                            .split
                            .iter()
                            .map(|s| (s.version.clone(), s.weight))
                            .collect();
                        report.rollout =
                            Some(crate::rollout::State::of(&stack.parameters, &weights));
                        report.releases = Some(facts).filter(|f| !f.alias_target.is_empty());
                    }
                    Err(err) => eprintln!("warning: the releases of {function}: {err:#}"),
                }
            }
            if let (Some(endpoint), Some(name)) = (
                report.endpoint.as_mut(),
                stack.outputs.get(contract::service::ENDPOINT_NAME),
            ) {
                endpoint.name = Some(name.clone());
            }
            if let Some(sha) = stack.parameters.get(contract::pins::MODEL_SHA256) {
                report.model_sha256 = Some(sha.clone());
                report.model_version_id = stack
                    .parameters
                    .get(contract::pins::MODEL_VERSION_ID)
                    .cloned();
            }
        }
        report.stacks.push(row);
    }
    if let Some(bucket) = bucket {
        let bucket = Bucket::new(aws::s3(&session.sdk), bucket);
        report.lock = lock::holder(&bucket, &report.env).await?;
    }
    if args.output.is_json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("writing JSON")?
        );
        return Ok(Status::Success);
    }
    println!("env {}", report.env);
    for s in &report.stacks {
        let template = match s.template {
            Some(TemplateMatch::Same) => "template up to date".to_owned(),
            Some(TemplateMatch::SameNormalised) => {
                "template up to date (after normalising whitespace)".to_owned()
            }
            Some(TemplateMatch::Different) => format!(
                "template DIFFERS from rendered (deployed sha256 {}, rendered {}); `irisctl plan --env {}` shows the change",
                short(s.deployed_sha256.as_deref().unwrap_or("?")),
                short(&s.rendered_sha256),
                report.env
            ),
            None => String::new(),
        };
        match &s.state {
            Some(state) => println!("  {:<40} {state:<20} {template}", s.stack),
            None => println!("  {:<40} not deployed", s.stack),
        }
    }
    println!(
        "  API URL: {}",
        report
            .api_url
            .as_deref()
            .unwrap_or("(none: service stack not deployed)")
    );
    if let Some(url) = &report.local_api_url {
        println!("  API URL on this machine: {url}");
    }
    if let Some(endpoint) = &report.endpoint {
        println!(
            "  SageMaker endpoint ({}): {}",
            endpoint.mode,
            endpoint
                .name
                .as_deref()
                .unwrap_or("(none: service stack not deployed)")
        );
    }
    match &report.model_sha256 {
        Some(sha) => println!(
            "  model live: sha256 {sha}, S3 version {}",
            report
                .model_version_id
                .as_deref()
                .filter(|v| !v.is_empty())
                .unwrap_or("(latest)")
        ),
        None => println!("  model live: (none)"),
    }
    if let Some(r) = &report.releases {
        let describe = |p: &Option<crate::release::Published>| {
            p.as_ref()
                .map_or_else(|| "(none)".to_owned(), super::model::describe_version)
        };
        println!("  release live: {}", describe(&r.live));
        println!("  release previous: {}", describe(&r.previous));
        for split in &r.split {
            println!(
                "  traffic split: version {} gets {:.1}%",
                split.version,
                split.weight * 100.0
            );
        }
    }
    if let Some(state) = report
        .rollout
        .as_ref()
        .filter(|s| **s != crate::rollout::State::None)
    {
        println!("  rollout: {state}");
    }
    match &report.lock {
        Some(lock) => println!("  lock: held by {}", lock.describe()),
        None => println!("  lock: free"),
    }
    Ok(Status::Success)
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

async fn outputs(args: Args) -> anyhow::Result<Status> {
    let session = Session::open(&args.target).await?;
    let cfn = Cfn::new(aws::cloudformation(&session.sdk));
    let mut all: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for rendered in &session.stacks {
        if let Some(stack) = cfn.describe(&rendered.name).await? {
            all.insert(stack.name.clone(), stack.outputs);
        }
    }
    if args.output.is_json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&all).context("writing JSON")?
        );
    } else if all.is_empty() {
        println!("env {}: no stack deployed", session.config.env);
    } else {
        for (stack, outputs) in &all {
            println!("{stack}");
            for (k, v) in outputs {
                println!("  {k} = {v}");
            }
        }
    }
    Ok(Status::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_templates_are_the_same() {
        assert_eq!(compare_templates("a: 1\n", "a: 1\n"), TemplateMatch::Same);
    }

    #[test]
    fn line_endings_and_trailing_space_are_normalised_but_said() {
        assert_eq!(
            compare_templates("a: 1  \r\nb: 2\r\n\n", "a: 1\nb: 2\n"),
            TemplateMatch::SameNormalised
        );
    }

    #[test]
    fn a_changed_value_or_indentation_differs() {
        assert_eq!(
            compare_templates("a: 2\n", "a: 1\n"),
            TemplateMatch::Different
        );
        assert_eq!(
            compare_templates("  a: 1\n", "a: 1\n"),
            TemplateMatch::Different
        );
    }
}
