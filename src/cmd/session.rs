//! What deploy, plan, recover and unlock share: the env arguments, loading and validating
//! the env, the refusals that come before any change (an emulator env whose endpoints
//! leave this machine, a caller in the wrong account), the AWS clients and the stack tags.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context, bail};

use super::render::EnvsDir;
use crate::aws;
use crate::aws::cloudformation::Cfn;
use crate::config::Config;
use crate::deploy::{Deployer, Options, Target};
use crate::exit::Refusal;
use crate::stack::Stacks;
use crate::ui::time::{now_ms, timestamp};
use crate::ui::{Approval, Confirm, Ui};
use crate::{render, validate};

/// Arguments every reconcile command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// The env (dev, staging, prod, local, pr-<number>, feature-<slug>, ...).
    #[arg(long)]
    pub env: String,
    #[command(flatten)]
    pub envs: EnvsDir,
    /// Give up waiting for one stack operation after this long (e.g. 30m, 90s).
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// How long to wait for the env lock, or for another operation on a stack to settle.
    #[arg(long = "lock-timeout", default_value = "2m", value_parser = humantime::parse_duration)]
    pub lock_timeout: Duration,
}

/// deploy's output: a text summary, or one JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// plan's output: as deploy's, or a table for a pull-request comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanOutput {
    Text,
    Json,
    Markdown,
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Ask on the terminal; only `yes` counts.
pub fn prompt(question: &str) -> bool {
    eprint!("{question} Type `yes` to continue: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes"
}

/// A loaded, checked env and its AWS clients.
pub struct Session {
    pub config: Config,
    pub stacks: Vec<render::RenderedStack>,
    pub sdk: aws_config::SdkConfig,
    pub owner: String,
}

impl Session {
    /// Load and validate the env, load the SDK configuration and refuse an env that would
    /// act somewhere it must not.
    pub async fn open(args: &CommonArgs) -> anyhow::Result<Session> {
        let config = args.envs.load(&args.env)?;
        let findings = validate::validate_env(&config)
            .with_context(|| format!("rendering env `{}`", args.env))?;
        if !findings.is_empty() {
            let list: Vec<String> = findings.iter().map(|f| format!("  {f}")).collect();
            bail!(
                "env `{}` does not validate; fix these first (`irisctl validate --env {}`):\n{}",
                args.env,
                args.env,
                list.join("\n")
            );
        }
        let stacks = render::render_env(&config)?;
        let sdk = aws::sdk_config_in(&config.region.value).await;
        if config.emulator.value {
            let off = aws::endpoint::off_machine(&sdk, &aws::endpoint::Service::ALL);
            if !off.is_empty() {
                let where_: Vec<String> = off
                    .iter()
                    .map(|(service, url)| {
                        format!(
                            "{} -> {}",
                            service.id(),
                            url.as_deref().unwrap_or("real AWS (no endpoint override)")
                        )
                    })
                    .collect();
                return Err(Refusal::SafetyGate(format!(
                    "env `{}` is an emulator env (`emulator: true` at {}) but AWS calls would go \
                     to {}; point AWS_ENDPOINT_URL at the emulators (`eval \"$(scripts/emulator \
                     env)\"`)",
                    config.env,
                    config.emulator.source,
                    where_.join(", ")
                ))
                .into());
            }
        }
        let mut owner = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        if let Some(expected) = &config.account_id.value {
            let caller = aws::sts::caller(&aws::sts(&sdk)).await?;
            if &caller.account != expected {
                return Err(Refusal::SafetyGate(format!(
                    "env `{}` belongs to account {expected} ({}) but the credentials are for \
                     account {} ({}); switch profile (AWS_PROFILE) or credentials",
                    config.env, config.account_id.source, caller.account, caller.arn
                ))
                .into());
            }
            owner = caller.arn;
        }
        Ok(Session {
            config,
            stacks,
            sdk,
            owner,
        })
    }

    /// Tags for new stacks: the env's, plus irisctl version, git commit (when the build
    /// knew it), owner and, for ephemeral envs, the expiry gc reads.
    pub fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = self.config.stack_tags();
        tags.insert("irisctl:version".into(), env!("CARGO_PKG_VERSION").into());
        if let Some(commit) = option_env!("IRISCTL_GIT_COMMIT") {
            tags.insert("irisctl:commit".into(), commit.into());
        }
        tags.insert("irisctl:owner".into(), self.owner.clone());
        if let Some(hours) = self.config.ttl_hours.value {
            let expires = now_ms() + i64::from(hours) * 3_600_000;
            tags.insert("irisctl:expires".into(), timestamp(expires));
        }
        tags
    }

    pub fn target(&self) -> anyhow::Result<Target<'_>> {
        Ok(Target {
            config: &self.config,
            stacks: self.stacks.clone(),
            tags: self.tags(),
        })
    }

    /// The stack layer over this session's CloudFormation client, each operation bounded
    /// by `timeout` (`--timeout`).
    pub fn stacks(&self, timeout: Duration) -> Stacks {
        Stacks {
            cfn: Cfn::new(aws::cloudformation(&self.sdk)),
            ui: Ui::detect(),
            timeout,
        }
    }

    /// How this run gets a yes: `--yes`, or `confirm` on a terminal.
    pub fn approval<'a>(&self, yes: bool, confirm: Confirm<'a>) -> Approval<'a> {
        Approval {
            yes,
            can_prompt: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
            confirm,
        }
    }

    /// Deploy's side of AWS for this session (recover uses it too: it locks like deploy).
    pub fn deployer<'a>(
        &self,
        approval: Approval<'a>,
        allow_replace: Vec<String>,
        timeout: Duration,
        lock_timeout: Duration,
    ) -> Deployer<'a> {
        Deployer {
            stacks: self.stacks(timeout),
            s3: aws::s3(&self.sdk),
            approval,
            opts: Options {
                allow_replace,
                lock_timeout,
                owner: self.owner.clone(),
            },
        }
    }
}
