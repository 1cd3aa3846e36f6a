//! What deploy, plan, recover, destroy, status and unlock share: the arguments of the
//! commands that change stacks, loading and validating the env, the refusals that come
//! before any change (an emulator env whose endpoints leave this machine, a caller in the
//! wrong account), the AWS clients and the stack tags.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context, bail};

// Where commands found it before the argument groups moved to `cmd::args`.
pub use super::args::Output;
use super::args::{EnvArgs, LockTimeout, OperationTimeout};
use crate::aws;
use crate::aws::cloudformation::Cfn;
use crate::config::Config;
use crate::deploy::{Deployer, Options, Target};
use crate::exit::Refusal;
use crate::stack::Stacks;
use crate::ui::time::{now_ms, timestamp};
use crate::ui::{Approval, Confirm, Ui};
use crate::{render, validate};

/// Arguments every command that changes stacks (deploy, plan, recover, destroy) takes:
/// the env and both timeouts. Read-only commands (status, outputs, unlock) take only
/// [`EnvArgs`].
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    #[command(flatten)]
    pub target: EnvArgs,
    #[command(flatten)]
    pub timeout: OperationTimeout,
    #[command(flatten)]
    pub lock_timeout: LockTimeout,
}

/// plan's output: text, JSON, or a table for a pull-request comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanOutput {
    /// Lines for a person.
    Text,
    /// One JSON document, for scripts.
    Json,
    /// A Markdown table, for a pull-request comment.
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
    /// For an emulator env, the URL under which the stack's `api_url` answers on this
    /// machine (LocalStack's path-style execute-api form, [`crate::local_api_url`]);
    /// `None` for envs on AWS, where `api_url` itself is the one to call.
    pub fn local_api_url(&self, api_url: &str) -> Option<String> {
        if !self.config.emulator.value {
            return None;
        }
        let endpoint = aws::endpoint::resolved(&self.sdk, aws::endpoint::Service::CloudFormation)?;
        crate::local_api_url::local_api_url(api_url, &endpoint).ok()
    }

    /// Load and validate the env, load the SDK configuration, refuse an env that would
    /// act somewhere it must not, and check the caller's account against the env's pin.
    pub async fn open(args: &EnvArgs) -> anyhow::Result<Session> {
        let mut session = Session::prepare(args).await?;
        if let Some(expected) = session.config.account_pin().ok().flatten() {
            let caller = session.caller().await?;
            if caller.account != expected {
                return Err(Refusal::SafetyGate(format!(
                    "env `{}` belongs to account {expected} ({}) but the credentials are for \
                     account {} ({}); switch profile (AWS_PROFILE) or credentials",
                    session.config.env,
                    session.config.account_id.source,
                    caller.account,
                    caller.arn
                ))
                .into());
            }
            session.owner = caller.arn;
        }
        Ok(session)
    }

    /// Everything [`Session::open`] does before asking who the caller is: preflight
    /// reports the account as one check of its own.
    pub async fn prepare(args: &EnvArgs) -> anyhow::Result<Session> {
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
        config.account_pin().map_err(Refusal::SafetyGate)?;
        let stacks = render::render_env(&config)?;
        let sdk = aws::sdk_config_in(&config.region.value).await;
        refuse_endpoints(&config, &sdk)?;
        aws::credentials::check(&sdk)
            .await
            .with_context(|| format!("env `{}`", config.env))?;
        if config.emulator.value {
            emulators_answer(&sdk)?;
        }
        Ok(Session {
            config,
            stacks,
            sdk,
            owner: std::env::var("USER").unwrap_or_else(|_| "unknown".into()),
        })
    }

    /// STS GetCallerIdentity, with the endpoint it went to in the error.
    pub async fn caller(&self) -> anyhow::Result<aws::sts::Caller> {
        aws::sts::caller(&aws::sts(&self.sdk))
            .await
            .with_context(|| {
                let endpoint = aws::endpoint::resolved(&self.sdk, aws::endpoint::Service::Sts)
                    .unwrap_or_else(|| {
                        format!("https://sts.{}.amazonaws.com", self.config.region.value)
                    });
                format!("asking STS at {endpoint} who the caller is")
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
            ecr: aws::ecr(&self.sdk),
            lambda: aws::lambda(&self.sdk),
            approval,
            opts: Options {
                allow_replace,
                lock_timeout,
                owner: self.owner.clone(),
                strategy: self.config.rollout.strategy.value,
            },
        }
    }
}

/// An emulator env whose calls would leave this machine, or an env on AWS whose calls
/// would go to this machine (the emulators' endpoint variables still set), is refused.
fn refuse_endpoints(config: &Config, sdk: &aws_config::SdkConfig) -> anyhow::Result<()> {
    use aws::endpoint::{self, Service};
    if config.emulator.value {
        let off = endpoint::off_machine(sdk, &Service::ALL);
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
    } else {
        let on = endpoint::on_machine(sdk, &Service::ALL);
        if !on.is_empty() {
            let where_: Vec<String> = on
                .iter()
                .map(|(service, url)| format!("{} -> {url}", service.id()))
                .collect();
            return Err(Refusal::SafetyGate(format!(
                "env `{}` runs on AWS, but AWS calls would go to this machine ({}): the \
                 emulators' endpoint variables are set. Unset them (`unset AWS_ENDPOINT_URL \
                 AWS_ENDPOINT_URL_ECR AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`, or a new \
                 shell), or use an emulator env (--env local)",
                config.env,
                where_.join(", ")
            ))
            .into());
        }
    }
    Ok(())
}

/// Every distinct emulator endpoint accepts connections; otherwise say which does not and
/// how to start the emulators.
fn emulators_answer(sdk: &aws_config::SdkConfig) -> anyhow::Result<()> {
    use aws::endpoint::{self, Service};
    let mut dead: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for service in Service::ALL {
        if let Some(url) = endpoint::resolved(sdk, service) {
            dead.entry(url).or_default().push(service.id());
        }
    }
    dead.retain(|url, _| aws::reach::refused(url));
    if dead.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = dead
        .iter()
        .map(|(url, services)| format!("{url} ({})", services.join(", ")))
        .collect();
    bail!(
        "nothing answers at {}: the emulators are not running. Start them with \
         `scripts/emulator start`, then `eval \"$(scripts/emulator env)\"` in this shell",
        listed.join(", ")
    )
}
