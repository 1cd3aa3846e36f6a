//! `irisctl deploy --env ENV`: load and check the env, refuse what must be refused (a
//! protected env nobody can confirm, an emulator env pointed off this machine or a real
//! env pointed at it, a missing account pin, any failed preflight check), then apply, releasing the
//! env lock at exit and on Ctrl-C. Prints the outcome as text or one JSON document.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use super::args::OutputFormat;
use super::session::{self, Session};
use crate::config::{Config, Package};
use crate::deploy::DeployReport;
use crate::deploy::artifacts::Artifacts;
use crate::exit::{Refusal, Status};
use crate::stack::StackFailed;
use crate::stack::lock::{self, LockSlot};

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("code").args(["package", "image"]))]
pub struct Args {
    #[command(flatten)]
    pub common: session::CommonArgs,
    /// Execute without asking (needed for protected envs when there is no terminal).
    #[arg(long)]
    pub yes: bool,
    /// Model artifact directory (model.bin + manifest.json). Without it (and --package or
    /// --image) an existing service stack keeps the artifacts it runs.
    #[arg(long, env = "IRISCTL_MODEL_DIR", requires = "code", value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Package directory holding lambda.zip (from `irisctl package --out DIR`).
    #[arg(
        long,
        env = "IRISCTL_PACKAGE_DIR",
        requires = "model",
        value_name = "DIR"
    )]
    pub package: Option<PathBuf>,
    /// OCI image layout of the function (from `irisctl image build --out DIR`), for an env
    /// with `lambda.package: image`: pushed to the env's repository, pinned by digest.
    #[arg(
        long,
        env = "IRISCTL_IMAGE_DIR",
        requires = "model",
        value_name = "DIR"
    )]
    pub image: Option<PathBuf>,
    /// How a new release takes traffic: all-at-once, canary[:PCT,BAKE] or
    /// linear[:STEP,INTERVAL] (default: the env's `rollout.strategy`; a canary for
    /// protected envs).
    #[arg(long, value_name = "STRATEGY", value_parser = crate::rollout::Strategy::parse)]
    pub strategy: Option<crate::rollout::Strategy>,
    /// Allow replacing this stateful resource (logical id) in a protected env; repeatable.
    #[arg(long = "allow-replace", value_name = "LOGICAL_ID")]
    pub allow_replace: Vec<String>,
    #[command(flatten)]
    pub output: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let runtime = session::runtime()?;
    runtime.block_on(deploy(args))
}

async fn deploy(args: Args) -> anyhow::Result<Status> {
    let json = args.output.is_json();
    let env_name = args.common.target.env.clone();
    let config = args.common.target.load()?;
    let artifacts = load_artifacts(
        &config,
        args.model.as_deref(),
        args.package.as_deref(),
        args.image.as_deref(),
    )
    .context("the artifacts to deploy are not usable")?;
    // The confirmation gate needs only the env file: it comes before preflight's reads.
    let protected = config.protected.value;
    let can_prompt = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if protected && !args.yes && !can_prompt {
        return Err(Refusal::SafetyGate(format!(
            "env `{env_name}` is protected and there is no terminal to confirm on; pass --yes \
             to deploy without confirmation"
        ))
        .into());
    }
    let mut session = Session::prepare(&args.common.target).await?;
    super::preflight::gate(&mut session).await?;
    let confirm = session::prompt;
    let mut deployer = session.deployer(
        session.approval(args.yes, &confirm),
        args.allow_replace.clone(),
        args.common.timeout.limit,
        args.common.lock_timeout.limit,
    );
    if let Some(strategy) = args.strategy {
        if config.is_sagemaker() && strategy.is_gradual() {
            return Err(Refusal::SafetyGate(crate::rollout::SAGEMAKER_ALL_AT_ONCE.into()).into());
        }
        deployer.opts.strategy = strategy;
    }
    let target = session.target()?;
    let slot = LockSlot::default();
    let mut report = DeployReport::default();
    let started = std::time::Instant::now();
    let mut outcome = tokio::select! {
        // The lock is renewed while the deploy waits on stacks; losing it stops the deploy.
        outcome = lock::renewing(
            &slot,
            &env_name,
            lock::RENEW_EVERY,
            deployer.deploy(&target, artifacts.as_ref(), &slot, &mut report),
        ) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!(
            "interrupted: a stack operation already started carries on in CloudFormation; \
             run deploy again to wait for it"
        )),
    };
    // Still under the lock, outside the select above: the rollout handles Ctrl-C itself
    // (the weight goes back), which a dropped future could not do.
    if outcome.is_ok()
        && let Some(start) = report.rollout_start.clone()
    {
        let strategy = deployer.opts.strategy;
        outcome = lock::renewing(&slot, &env_name, lock::RENEW_EVERY, async {
            let done =
                super::rollout::drive(&session, &deployer, &target, &strategy, start.from, 0.0)
                    .await?;
            let result = super::rollout::rolled_back_error(&done);
            report.rollout = Some(done);
            result
        })
        .await;
    }
    if let Err(err) = lock::release(&slot).await {
        eprintln!("warning: could not release the lock of env `{env_name}`: {err:#}");
    }
    report.env = env_name.clone();
    report.local_api_url = report
        .api_url
        .as_deref()
        .and_then(|url| session.local_api_url(url));
    match &outcome {
        Ok(()) => report.outcome = "succeeded".into(),
        Err(err) => {
            report.outcome = if err.downcast_ref::<Refusal>().is_some() {
                "refused"
            } else if report
                .rollout
                .as_ref()
                .is_some_and(|r| r.outcome == crate::rollout::Outcome::RolledBack)
            {
                "rolled_back"
            } else if err.downcast_ref::<StackFailed>().is_some() {
                "failed"
            } else {
                "error"
            }
            .into();
            report.failure = err.downcast_ref::<StackFailed>().cloned();
            report.error = Some(format!("{err:#}"));
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if outcome.is_ok() {
        print_summary(&report, started.elapsed());
    } else if let Some(r) = &report.rollout {
        super::rollout::print_rollout(r);
    }
    outcome.map(|()| Status::Success)
}

/// The artifacts `--model` and `--package` or `--image` name, in the form the env's
/// `lambda.package` asks for (checked before any AWS call); none when none are given.
pub fn load_artifacts(
    config: &Config,
    model: Option<&Path>,
    package: Option<&Path>,
    image: Option<&Path>,
) -> anyhow::Result<Option<Artifacts>> {
    let Some(model) = model else {
        return Ok(None);
    };
    let setting = &config.lambda.package;
    match (setting.value, package, image) {
        (Package::Zip, Some(package), None) => Artifacts::load(model, package).map(Some),
        (Package::Image, None, Some(image)) => Artifacts::load_with_image(model, image).map(Some),
        (Package::Zip, _, _) => bail!(
            "env `{}` packages its function as a zip (`lambda.package: zip`, {}): pass --package DIR (lambda.zip from `irisctl package`), not --image; or set `lambda.package: image`",
            config.env,
            setting.source
        ),
        (Package::Image, _, _) => bail!(
            "env `{}` packages its function as an image (`lambda.package: image`, {}): pass --image DIR (the layout from `irisctl image build`), not --package",
            config.env,
            setting.source
        ),
    }
}

fn print_summary(report: &DeployReport, took: Duration) {
    for s in &report.stacks {
        println!("{}: {} ({})", s.stack, s.result.replace('_', " "), s.status);
    }
    if let Some(url) = &report.api_url {
        println!("API URL: {url}");
    }
    if let Some(url) = &report.local_api_url {
        println!("API URL on this machine: {url}");
    }
    if let Some(image) = &report.image {
        println!(
            "image: {} ({} blobs sent, {} already there)",
            image.image_uri,
            image.uploaded.len(),
            image.skipped.len()
        );
    }
    if let Some(r) = &report.rollout {
        super::rollout::print_rollout(r);
    }
    if let Some(sha) = &report.model_sha256 {
        let version = report
            .model_version_id
            .as_deref()
            .filter(|v| !v.is_empty())
            .unwrap_or("latest (unversioned bucket)");
        println!("model live: sha256 {sha}, version {version}");
    }
    println!("env {} deployed in {:.1}s", report.env, took.as_secs_f64());
}
