//! `irisctl rollout status|resume|abort --env ENV`: the rollout the service stack records
//! (its rollout parameters and the live alias's weights), continued from where it stands
//! or stopped with all traffic back on the release it started from. [`drive`] is also how
//! deploy and the model commands run the rollout their update started.

use std::collections::BTreeMap;

use anyhow::Context;
use serde::Serialize;

use super::args::OutputFormat;
use super::session::{self, CommonArgs, Session};
use crate::aws;
use crate::aws::cloudformation::Cfn;
use crate::aws::s3::Bucket;
use crate::contract::rollout as params;
use crate::deploy::{Deployer, Target};
use crate::exit::{Refusal, Status};
use crate::naming::StackKind;
use crate::rollout::run::{Calls, Rollout, Settings, StoppedBy, golden_of};
use crate::rollout::{Outcome, RolloutReport, State, Strategy};
use crate::stack::lock::{self, LockSlot};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Where the env's rollout stands: the versions, the weight, the strategy.
    #[command(after_help = "Examples:
  irisctl rollout status --env prod
  irisctl rollout status --env prod --output json | jq .state.phase")]
    Status(StatusArgs),
    /// Continue an interrupted rollout from its current weight (checks and bakes again).
    #[command(after_help = "Examples:
  irisctl rollout resume --env prod --yes")]
    Resume(ChangeArgs),
    /// Stop the rollout: all traffic back to the release it started from.
    #[command(after_help = "Examples:
  irisctl rollout abort --env prod")]
    Abort(ChangeArgs),
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: super::args::EnvArgs,
    #[command(flatten)]
    pub output: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct ChangeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Continue without asking (protected envs, when there is no terminal).
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub output: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let rt = session::runtime()?;
    match args.command {
        Command::Status(a) => rt.block_on(status(a)),
        Command::Resume(a) => rt.block_on(change(a, Action::Resume)),
        Command::Abort(a) => rt.block_on(change(a, Action::Abort)),
    }
}

/// The rollout state as read from AWS.
#[derive(Debug, Serialize)]
struct Described {
    env: String,
    stack: String,
    state: State,
    /// The alias's description, which names the rollout while one runs.
    alias_version: String,
    alias_weights: BTreeMap<String, f64>,
}

async fn describe(session: &Session) -> anyhow::Result<Described> {
    let cfn = Cfn::new(aws::cloudformation(&session.sdk));
    let stack = session.config.names.stack(StackKind::Service).to_owned();
    let current = cfn.describe(&stack).await?.with_context(|| {
        format!(
            "stack {stack} does not exist: env `{}` is not deployed",
            session.config.env
        )
    })?;
    let lambda = aws::lambda(&session.sdk);
    let alias = aws::lambda::alias(
        &lambda,
        &session.config.names.function,
        crate::release::ALIAS,
    )
    .await?;
    let (alias_version, alias_weights) = alias
        .map(|a| (a.function_version, a.weights))
        .unwrap_or_default();
    Ok(Described {
        env: session.config.env.clone(),
        stack,
        state: State::of(&current.parameters, &alias_weights),
        alias_version,
        alias_weights,
    })
}

async fn status(args: StatusArgs) -> anyhow::Result<Status> {
    let session = Session::open(&args.target).await?;
    let d = describe(&session).await?;
    if args.output.is_json() {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        println!("env {}: {}", d.env, d.state);
        let primary = if d.alias_version.is_empty() {
            "(no alias)"
        } else {
            d.alias_version.as_str()
        };
        println!("  live alias: version {primary}");
        for (version, weight) in &d.alias_weights {
            println!(
                "  version {version} gets {:.1}% of the traffic",
                weight * 100.0
            );
        }
    }
    Ok(Status::Success)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Resume,
    Abort,
}

/// What resume or abort did.
#[derive(Debug, Serialize)]
struct ChangeReport {
    env: String,
    action: &'static str,
    outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    before: Option<State>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rollout: Option<RolloutReport>,
}

async fn change(args: ChangeArgs, action: Action) -> anyhow::Result<Status> {
    let session = Session::open(&args.common.target).await?;
    let confirm = session::prompt;
    let deployer = session.deployer(
        session.approval(args.yes, &confirm),
        Vec::new(),
        args.common.timeout.limit,
        args.common.lock_timeout.limit,
    );
    let target = session.target()?;
    let env = session.config.env.clone();
    let mut report = ChangeReport {
        env: env.clone(),
        action: match action {
            Action::Resume => "resume",
            Action::Abort => "abort",
        },
        outcome: "error".into(),
        error: None,
        before: None,
        rollout: None,
    };
    let slot = LockSlot::default();
    let outcome = lock::renewing(&slot, &env, lock::RENEW_EVERY, async {
        deployer.lock_existing(&target, &slot).await?;
        let d = describe(&session).await?;
        report.before = Some(d.state.clone());
        let State::Running { from, weight, strategy, .. } = d.state else {
            return match (action, &d.state) {
                (Action::Abort, _) => {
                    deployer.stacks.ui.say(&format!("env `{env}`: {}; nothing to abort", d.state));
                    Ok(())
                }
                (Action::Resume, state) => Err(Refusal::SafetyGate(format!(
                    "env `{env}`: {state}, so there is nothing to resume; a deploy or `model push` \
                     starts a new rollout"
                ))
                .into()),
            };
        };
        match action {
            Action::Abort => {
                let rollout = plain_rollout(&session, &deployer, &target);
                rollout.hold_back(from, &mut Calls::default()).await?;
                deployer.stacks.ui.say(&format!(
                    "rollout aborted: version {from} takes all traffic again"
                ));
                Ok(())
            }
            Action::Resume => {
                let strategy = Strategy::parse(&strategy)
                    .map_err(|e| anyhow::anyhow!("the stack's {} parameter: {e}", params::STRATEGY))?;
                if target.protected() {
                    deployer.approval.approve(&format!(
                        "Resume the rollout in env `{env}` (version {from} to the new release, {strategy} \
                         from {:.0}%)?",
                        weight * 100.0
                    ))?;
                }
                let done = drive(&session, &deployer, &target, &strategy, from, weight).await?;
                let result = rolled_back_error(&done);
                report.rollout = Some(done);
                result
            }
        }
    })
    .await;
    if let Err(err) = lock::release(&slot).await {
        eprintln!("warning: could not release the lock of env `{env}`: {err:#}");
    }
    match &outcome {
        Ok(()) => report.outcome = "succeeded".into(),
        Err(err) => {
            report.outcome = match (&report.rollout, err.downcast_ref::<Refusal>()) {
                (_, Some(_)) => "refused".into(),
                (Some(r), None) if r.outcome == Outcome::RolledBack => "rolled_back".into(),
                _ => "error".into(),
            };
            report.error = Some(format!("{err:#}"));
        }
    }
    if args.output.is_json() {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if let Some(r) = &report.rollout {
        print_rollout(r);
    }
    outcome.map(|()| Status::Success)
}

/// A rollout handle without checks (abort only moves the weight back).
fn plain_rollout<'a>(
    session: &'a Session,
    deployer: &'a Deployer<'a>,
    target: &'a Target<'a>,
) -> Rollout<'a> {
    Rollout {
        deployer,
        target,
        lambda: aws::lambda(&session.sdk),
        cloudwatch: aws::cloudwatch(&session.sdk),
        function: session.config.names.function.clone(),
        alarms: Ok(Vec::new()),
        golden: Err("not read".into()),
        settings: settings(session),
    }
}

fn settings(session: &Session) -> Settings {
    let c = &session.config;
    Settings {
        tolerance: c.rollout.tolerance(),
        samples: c.rollout.samples.value as usize,
        max_batch: c.lambda.max_batch.value as usize,
    }
}

/// Run the rollout the service stack is in, from version `from` at `weight` to the version
/// the live alias gives the rest of the traffic to. The env lock must be held.
pub(crate) async fn drive(
    session: &Session,
    deployer: &Deployer<'_>,
    target: &Target<'_>,
    strategy: &Strategy,
    from: u32,
    weight: f64,
) -> anyhow::Result<RolloutReport> {
    let lambda = aws::lambda(&session.sdk);
    let function = session.config.names.function.clone();
    let (versions, facts) = crate::release::release_facts(&lambda, &function).await?;
    let to: u32 = facts
        .split
        .iter()
        .find_map(|s| s.version.parse().ok())
        .with_context(|| {
            format!("the live alias of {function} sends no traffic share to a second version: there is no rollout to run")
        })?;
    let cfn = Cfn::new(aws::cloudformation(&session.sdk));
    let bucket = crate::batch::resources::find(&cfn, &session.config)
        .await?
        .bucket;
    let bucket = Bucket::new(aws::s3(&session.sdk), bucket);
    let golden = match versions.iter().find(|v| v.version == to) {
        Some(v) => golden_of(&bucket, v).await.map_err(|e| format!("{e:#}")),
        None => Err(format!("version {to} of {function} does not exist")),
    };
    let service = session.config.names.stack(StackKind::Service);
    let alarms = cfn
        .physical_ids_of_type(service, "AWS::CloudWatch::Alarm")
        .await
        .map_err(|e| format!("listing the alarms of stack {service}: {e}"));
    let rollout = Rollout {
        golden,
        alarms,
        lambda,
        ..plain_rollout(session, deployer, target)
    };
    Ok(rollout.run(strategy, from, to, weight).await)
}

/// The error a rollout that did not complete ends its command with (exit code 1).
pub(crate) fn rolled_back_error(r: &RolloutReport) -> anyhow::Result<()> {
    let why = r.reason.as_deref().unwrap_or("no reason recorded");
    match r.outcome {
        Outcome::Completed => Ok(()),
        Outcome::RolledBack => Err(anyhow::anyhow!(
            "the rollout of version {} was rolled back{}: {why}",
            r.to,
            match r.stopped_by {
                Some(StoppedBy::Interrupt) => " (interrupted)",
                _ => "",
            }
        )),
        Outcome::Failed => Err(anyhow::anyhow!(
            "the rollout of version {} failed: {why}",
            r.to
        )),
    }
}

/// The rollout's lines in a command's text summary.
pub(crate) fn print_rollout(r: &RolloutReport) {
    let outcome = match r.outcome {
        Outcome::Completed => "completed",
        Outcome::RolledBack => "rolled back",
        Outcome::Failed => "failed",
    };
    println!(
        "rollout {}: version {} -> {} ({outcome}, {:.1}s, {:.1}s of it baking)",
        r.strategy,
        r.from,
        r.to,
        r.took_s,
        r.steps.iter().map(|s| s.baked_s).sum::<f64>()
    );
    for s in &r.steps {
        println!("  {:>5.1}% at {:.1}s", s.weight * 100.0, s.at_s);
    }
    if let Some(why) = &r.reason {
        println!("  stopped: {why}");
    }
}
