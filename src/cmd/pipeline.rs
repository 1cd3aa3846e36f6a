//! `irisctl pipeline render|deploy`: the AWS-native delivery pipeline
//! (render::pipeline, templates/pipeline.yaml.j2) for staging then `--env`. `render`
//! writes the template without calling AWS; `deploy` reads the two envs' deploy policies
//! from the account stack (`irisctl bootstrap --deploy-envs`) and creates or updates the
//! pipeline stack through the same stack layer as every other stack.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::Serialize;

use super::args::{EnvsDir, OperationTimeout, Output, OutputFormat};
use super::session;
use crate::aws;
use crate::aws::cloudformation::{Cfn, ParamValue};
use crate::config::Config;
use crate::exit::Status;
use crate::render::{account, pipeline};
use crate::stack::Stacks;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write the pipeline's CloudFormation template to DIR (no AWS call).
    #[command(after_help = "Examples:
  irisctl pipeline render --out build/pipeline
  irisctl pipeline render --out build/pipeline --env prod --staging-env staging")]
    Render(RenderArgs),
    /// Create or update the pipeline stack (irisctl-pipeline-<project>-<env>).
    #[command(after_help = "Examples:
  irisctl pipeline deploy --env prod --repository acme/iris --connection-arn ARN
  irisctl pipeline deploy --repository acme/iris --connection-arn ARN --output json")]
    Deploy(DeployArgs),
}

/// The two envs the pipeline delivers to.
#[derive(Debug, Clone, clap::Args)]
pub struct Envs {
    /// The env deployed after the manual approval.
    #[arg(long, default_value = "prod", value_name = "ENV")]
    pub env: String,
    /// The env deployed and batch-tested before the approval.
    #[arg(long = "staging-env", default_value = "staging", value_name = "ENV")]
    pub staging_env: String,
    #[command(flatten)]
    pub envs: EnvsDir,
}

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Directory to write <stack>.yaml into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub target: Envs,
}

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub target: Envs,
    /// OWNER/REPO of the repository the pipeline builds.
    #[arg(long, value_name = "OWNER/REPO")]
    pub repository: String,
    /// The CodeConnections connection to the repository's host (approved in the console).
    #[arg(long = "connection-arn", value_name = "ARN")]
    pub connection_arn: String,
    /// The branch whose pushes start the pipeline.
    #[arg(long, default_value = "main", value_name = "BRANCH")]
    pub branch: String,
    /// Mail the approval requests to this address (it confirms the subscription once).
    #[arg(long = "approval-email", value_name = "EMAIL")]
    pub approval_email: Option<String>,
    #[command(flatten)]
    pub timeout: OperationTimeout,
    #[command(flatten)]
    pub output: OutputFormat,
}

/// What `pipeline deploy` did.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub stack: String,
    pub region: String,
    /// `created`, `updated` or `no_changes`.
    pub result: &'static str,
    pub outputs: BTreeMap<String, String>,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    match args.command {
        Command::Render(a) => render(a),
        Command::Deploy(a) => session::runtime()?.block_on(deploy(a)),
    }
}

/// Both envs loaded and checked: one project, one region, two different envs.
fn load(envs: &Envs) -> anyhow::Result<(pipeline::Target, Config)> {
    if envs.env == envs.staging_env {
        bail!(
            "`--env {}` and `--staging-env {}` are the same env; the pipeline deploys staging \
             first, then a different env after the approval",
            envs.env,
            envs.staging_env
        );
    }
    let prod = envs.envs.load(&envs.env)?;
    let staging = envs.envs.load(&envs.staging_env)?;
    for config in [&prod, &staging] {
        if config.emulator.value {
            bail!(
                "env `{}` runs on the emulators ({}); a delivery pipeline deploys AWS envs \
                 only (staging, prod)",
                config.env,
                config.file.display()
            );
        }
    }
    if prod.project.value != staging.project.value || prod.region.value != staging.region.value {
        bail!(
            "envs `{}` ({}, {}) and `{}` ({}, {}) differ in project or region; one pipeline \
             delivers one project in one region",
            staging.env,
            staging.project.value,
            staging.region.value,
            prod.env,
            prod.project.value,
            prod.region.value
        );
    }
    let target = pipeline::Target {
        project: prod.project.value.clone(),
        staging: staging.env.clone(),
        env: prod.env.clone(),
    };
    Ok((target, prod))
}

fn render(args: RenderArgs) -> anyhow::Result<Status> {
    let (target, _) = load(&args.target)?;
    let rendered = pipeline::render(&target)?;
    let dir = &args.out;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{}.yaml", rendered.name));
    std::fs::write(&path, &rendered.body).with_context(|| format!("writing {}", path.display()))?;
    println!("{}", path.display());
    Ok(Status::Success)
}

fn check_deploy_flags(args: &DeployArgs) -> anyhow::Result<()> {
    let is_repo = args.repository.split_once('/').is_some_and(|(o, r)| {
        [o, r].iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
    });
    if !is_repo {
        bail!(
            "`--repository {}` is not OWNER/REPO (e.g. acme/iris)",
            args.repository
        );
    }
    let arn = &args.connection_arn;
    if !(arn.starts_with("arn:")
        && (arn.contains(":codeconnections:") || arn.contains(":codestar-connections:"))
        && arn.contains(":connection/"))
    {
        bail!(
            "`--connection-arn {arn}` is not a CodeConnections connection ARN \
             (arn:aws:codeconnections:REGION:ACCOUNT:connection/ID); create one and approve it \
             in the console (Developer Tools > Settings > Connections), then pass its ARN"
        );
    }
    if let Some(email) = &args.approval_email
        && !email.contains('@')
    {
        bail!("`--approval-email {email}` is not an email address");
    }
    Ok(())
}

async fn deploy(args: DeployArgs) -> anyhow::Result<Status> {
    check_deploy_flags(&args)?;
    let (target, prod) = load(&args.target)?;
    let region = prod.region.value.clone();
    let rendered = pipeline::render(&target)?;
    let sdk = aws::sdk_config_in(&region).await;
    let stacks = Stacks {
        cfn: Cfn::new(aws::cloudformation(&sdk)),
        ui: Ui::detect(),
        timeout: args.timeout.limit,
    };
    let account_stack = account::stack_name(&region);
    let bootstrap_hint = format!(
        "irisctl bootstrap --region {region} --deploy-envs {},{}",
        target.staging, target.env
    );
    let Some(account) = stacks.describe(&account_stack).await? else {
        bail!(
            "the account stack {account_stack} does not exist in {region}; the pipeline's \
             deploy roles take their policies from it: run `{bootstrap_hint}` first"
        );
    };
    let policy = |env: &str| {
        account
            .outputs
            .get(&account::deploy_policy_output(env))
            .cloned()
            .with_context(|| {
                format!(
                    "the account stack {account_stack} has no deploy policy for env `{env}`; \
                     run `{bootstrap_hint}` (add the envs it already covers), then this again"
                )
            })
    };
    let value = |v: &str| ParamValue::Value(v.to_string());
    let params = BTreeMap::from([
        ("ConnectionArn".to_string(), value(&args.connection_arn)),
        ("FullRepositoryId".to_string(), value(&args.repository)),
        ("BranchName".to_string(), value(&args.branch)),
        (
            "StagingDeployPolicyArns".to_string(),
            value(&policy(&target.staging)?),
        ),
        (
            "ProdDeployPolicyArns".to_string(),
            value(&policy(&target.env)?),
        ),
        (
            "ApprovalEmail".to_string(),
            value(args.approval_email.as_deref().unwrap_or("")),
        ),
    ]);
    let tags = BTreeMap::from([
        ("irisctl:stack".to_string(), "pipeline".to_string()),
        (
            "irisctl:version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ]);
    let rerun = format!("irisctl pipeline deploy --env {}", target.env);
    let result = crate::bootstrap::reconcile(
        &stacks,
        "pipeline",
        &region,
        &rendered.name,
        &rendered.body,
        &params,
        &tags,
        &rerun,
    )
    .await?;
    let stack = stacks.settled(&rendered.name).await?;
    let outcome = Outcome {
        stack: rendered.name.clone(),
        region,
        result,
        outputs: stack.outputs,
    };
    match args.output.format {
        Output::Json => println!("{}", serde_json::to_string_pretty(&outcome)?),
        Output::Text => {
            println!(
                "{}: {} in {}",
                outcome.stack,
                outcome.result.replace('_', " "),
                outcome.region
            );
            for (key, value) in &outcome.outputs {
                println!("{key}: {value}");
            }
        }
    }
    Ok(Status::Success)
}
