//! `irisctl model push|list|rollback|promote`: change which model an env runs without
//! touching its code or settings. Each change is a service-stack update of the artifact
//! pins alone ([`crate::deploy::pins`]), under the env lock, after which the versions
//! beyond the kept releases are deleted ([`crate::release::to_prune`]). The facts come
//! from Lambda (the function's versions and its `live` alias), the decisions from
//! [`crate::release`].

mod list;
mod promote;
mod push;
mod rollback;

use std::collections::BTreeMap;

use anyhow::Context;
use serde::Serialize;

use super::args::OutputFormat;
use super::session::{self, CommonArgs, Session};
use crate::aws;
use crate::aws::cloudformation::Cfn;
use crate::aws::s3::Bucket;
use crate::batch::resources::{self, Resources};
use crate::deploy::pins::Repinned;
use crate::exit::Status;
use crate::release::{self, Published};
use crate::stack::lock::{self, LockSlot};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Ship a model to an env: verify it, upload it content-addressed, change only the model pins.
    #[command(after_help = "Examples:
  irisctl model push --env dev --model out/
  irisctl model push --env prod --model out/ --yes --output json")]
    Push(push::Args),
    /// The models in an env's bucket, newest first, with the live and previous one marked.
    #[command(after_help = "Examples:
  irisctl model list --env dev
  irisctl model list --env dev --output json | jq '.[0].sha256'")]
    List(list::Args),
    /// Go back to the previous release (or the one with the given model sha256).
    #[command(after_help = "Examples:
  irisctl model rollback --env dev
  irisctl model rollback --env prod --to 3f2a9c --yes")]
    Rollback(rollback::Args),
    /// Copy the model live in one env to another, server-side and verified, then run it there.
    #[command(after_help = "Examples:
  irisctl model promote --from staging --to prod --yes")]
    Promote(promote::Args),
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let rt = session::runtime()?;
    match args.command {
        Command::Push(a) => rt.block_on(push::run(a)),
        Command::List(a) => rt.block_on(list::run(a)),
        Command::Rollback(a) => rt.block_on(rollback::run(a)),
        Command::Promote(a) => rt.block_on(promote::run(a)),
    }
}

/// How many releases a change keeps, besides the live and previous one.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Keep {
    /// Keep the versions of this many releases (newest first; the live and the previous
    /// one always stay) and delete older ones: Lambda's code storage is bounded.
    #[arg(long = "keep-releases", default_value_t = release::DEFAULT_KEEP, value_name = "N")]
    pub releases: u32,
}

/// An env opened for a model command: its session, bucket, function and Lambda client.
pub(crate) struct Opened {
    pub session: Session,
    pub resources: Resources,
    pub bucket: Bucket,
    pub lambda: aws_sdk_lambda::Client,
}

pub(crate) async fn open(target: &super::args::EnvArgs) -> anyhow::Result<Opened> {
    let session = Session::open(target).await?;
    let cfn = Cfn::new(aws::cloudformation(&session.sdk));
    let resources = resources::find(&cfn, &session.config).await?;
    let bucket = Bucket::new(aws::s3(&session.sdk), resources.bucket.clone());
    let lambda = aws::lambda(&session.sdk);
    Ok(Opened {
        session,
        resources,
        bucket,
        lambda,
    })
}

pub(crate) use crate::release::release_facts;

/// What a push, rollback or promote did, for text and JSON.
#[derive(Debug, Serialize)]
pub(crate) struct ChangeReport {
    pub env: String,
    /// `push`, `rollback` or `promote`.
    pub action: &'static str,
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub before: Option<Published>,
    pub after: Option<Published>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<Repinned>,
    pub pruned: Vec<u32>,
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uploaded: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<crate::rollout::RolloutReport>,
}

impl ChangeReport {
    pub fn new(env: &str, action: &'static str) -> ChangeReport {
        ChangeReport {
            env: env.to_owned(),
            action,
            outcome: "error".into(),
            error: None,
            before: None,
            after: None,
            stack: None,
            pruned: Vec::new(),
            warnings: Vec::new(),
            uploaded: Vec::new(),
            rollout: None,
        }
    }
}

/// `--strategy` of the commands that may start a rollout.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct StrategyArg {
    /// How the new release takes traffic: all-at-once, canary[:PCT,BAKE] or
    /// linear[:STEP,INTERVAL] (default: the env's `rollout.strategy`; a canary for
    /// protected envs).
    #[arg(long, value_name = "STRATEGY", value_parser = crate::rollout::Strategy::parse)]
    pub strategy: Option<crate::rollout::Strategy>,
}

impl StrategyArg {
    /// The strategy for `config`'s env: the flag, else the env's setting; a gradual one is
    /// refused in a sagemaker env.
    pub fn or_env(
        &self,
        config: &crate::config::Config,
    ) -> anyhow::Result<crate::rollout::Strategy> {
        let strategy = self.strategy.unwrap_or(config.rollout.strategy.value);
        if config.is_sagemaker() && strategy.is_gradual() {
            return Err(crate::exit::Refusal::SafetyGate(
                crate::rollout::SAGEMAKER_ALL_AT_ONCE.into(),
            )
            .into());
        }
        Ok(strategy)
    }
}

/// Options of the commands that change the live release.
pub(crate) struct ChangeOpts {
    pub common: CommonArgs,
    pub yes: bool,
    pub keep: u32,
    /// `None`: all at once, never a rollout (a rollback is urgent).
    pub strategy: Option<crate::rollout::Strategy>,
}

/// Under the env lock: update the pins, then prune versions; the report records each
/// step, also on failure.
pub(crate) async fn apply(
    opened: &Opened,
    pins: &BTreeMap<String, String>,
    opts: &ChangeOpts,
    report: &mut ChangeReport,
) -> anyhow::Result<()> {
    let session = &opened.session;
    let confirm = session::prompt;
    let deployer = session.deployer(
        session.approval(opts.yes, &confirm),
        Vec::new(),
        opts.common.timeout.limit,
        opts.common.lock_timeout.limit,
    );
    let target = session.target()?;
    let slot = LockSlot::default();
    let env = session.config.env.clone();
    // The pins update, under the lock; Ctrl-C meanwhile leaves the update CloudFormation
    // already runs to carry on.
    let repin = async {
        deployer.lock_existing(&target, &slot).await?;
        let (values, from) = with_rollout(opened, &deployer, &target, pins, opts.strategy).await?;
        report.stack = Some(deployer.repin(&target, &values).await?);
        anyhow::Ok(from)
    };
    let mut started_from = None;
    let mut outcome = tokio::select! {
        outcome = lock::renewing(&slot, &env, lock::RENEW_EVERY, repin) => {
            outcome.map(|from| started_from = from)
        }
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!(
            "interrupted: a stack update already started carries on in CloudFormation; \
             `irisctl status --env {env}` shows where it is"
        )),
    };
    // Then, still under the lock and outside that select, the rollout the update started
    // (it handles Ctrl-C itself: the weight goes back) and the pruning.
    if outcome.is_ok() {
        outcome = lock::renewing(&slot, &env, lock::RENEW_EVERY, async {
            if let Some(from) = started_from {
                let strategy = opts.strategy.unwrap_or(crate::rollout::Strategy::AllAtOnce);
                let done =
                    crate::cmd::rollout::drive(session, &deployer, &target, &strategy, from, 0.0)
                        .await?;
                let result = crate::cmd::rollout::rolled_back_error(&done);
                report.rollout = Some(done);
                result?;
            }
            prune(opened, opts.keep, report).await
        })
        .await;
    }
    if let Err(err) = lock::release(&slot).await {
        report.warnings.push(format!(
            "could not release the lock of env `{env}`: {err:#}"
        ));
    }
    outcome
}

/// Delete the versions beyond the kept releases (never live, previous or a split's), and
/// record what is live now.
async fn prune(opened: &Opened, keep: u32, report: &mut ChangeReport) -> anyhow::Result<()> {
    let (versions, facts) = release_facts(&opened.lambda, &opened.resources.function).await?;
    report.after = facts.live.clone();
    for version in release::to_prune(&versions, &facts, keep) {
        match aws::lambda::delete_version(&opened.lambda, &opened.resources.function, version).await
        {
            Ok(()) => report.pruned.push(version),
            Err(err) => report
                .warnings
                .push(format!("could not delete version {version}: {err}")),
        }
    }
    Ok(())
}

/// The pins plus the rollout parameters of the update, and the version a rollout starts
/// from when `strategy` is gradual and the pins make another release than the live one.
/// Refused while a rollout runs.
async fn with_rollout(
    opened: &Opened,
    deployer: &crate::deploy::Deployer<'_>,
    target: &crate::deploy::Target<'_>,
    pins: &BTreeMap<String, String>,
    strategy: Option<crate::rollout::Strategy>,
) -> anyhow::Result<(BTreeMap<String, String>, Option<u32>)> {
    use crate::rollout;
    let env = target.env();
    let name = opened
        .session
        .config
        .names
        .stack(crate::naming::StackKind::Service);
    let current = deployer
        .stacks
        .describe(name)
        .await?
        .with_context(|| format!("stack {name} does not exist: deploy env `{env}` first"))?;
    rollout::refuse_if_running(env, &current.parameters, "nothing was changed")?;
    let mut values = pins.clone();
    let Some(strategy) = strategy.filter(rollout::Strategy::is_gradual) else {
        values.extend(rollout::none_parameters());
        return Ok((values, None));
    };
    let (_, facts) = release_facts(&opened.lambda, &opened.resources.function).await?;
    let body = deployer
        .stacks
        .cfn
        .template(name)
        .await?
        .with_context(|| format!("CloudFormation returned no template for {name}"))?;
    let doc = crate::render::cfn::parse(&body)?;
    let mut after = current.parameters.clone();
    after.extend(pins.iter().map(|(k, v)| (k.clone(), v.clone())));
    let new = rollout::release_description(&doc, &after);
    let (parameters, starts) =
        rollout::start_parameters(&strategy, facts.live.as_ref(), new.as_deref());
    values.extend(parameters);
    Ok((values, facts.live.filter(|_| starts).map(|l| l.version)))
}

/// Print the report and turn the outcome into the exit status.
pub(crate) fn finish(
    mut report: ChangeReport,
    outcome: anyhow::Result<()>,
    output: OutputFormat,
) -> anyhow::Result<Status> {
    match &outcome {
        Ok(()) => report.outcome = "succeeded".into(),
        Err(err) => {
            report.outcome = if err.downcast_ref::<crate::exit::Refusal>().is_some() {
                "refused"
            } else if report
                .rollout
                .as_ref()
                .is_some_and(|r| r.outcome == crate::rollout::Outcome::RolledBack)
            {
                "rolled_back"
            } else {
                "error"
            }
            .into();
            report.error = Some(format!("{err:#}"));
        }
    }
    if output.is_json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("writing JSON")?
        );
    } else {
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
        if let Some(r) = &report.rollout {
            crate::cmd::rollout::print_rollout(r);
        }
        if outcome.is_ok() {
            let describe = |p: &Option<Published>| match p {
                Some(p) => describe_version(p),
                None => "(none)".to_owned(),
            };
            println!("env {}: {}", report.env, report.action);
            println!("  before: {}", describe(&report.before));
            println!("  live:   {}", describe(&report.after));
            if let Some(stack) = &report.stack {
                println!("  {}: {}", stack.stack, stack.result.replace('_', " "));
            }
            if !report.pruned.is_empty() {
                let list: Vec<String> = report.pruned.iter().map(u32::to_string).collect();
                println!("  pruned versions: {}", list.join(", "));
            }
        }
    }
    outcome.map(|()| Status::Success)
}

/// `version 3: model 3f2a9c0d1e2f, code 0a1b2c3d4e5f`.
pub(crate) fn describe_version(p: &Published) -> String {
    match &p.release {
        Some(r) => format!(
            "version {}: model {}, code {}",
            p.version,
            short(&r.model_sha256),
            short(&r.code_sha256)
        ),
        None => format!("version {} (not an irisctl release)", p.version),
    }
}

pub(crate) fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}
