//! `irisctl plan --env ENV`: what deploy would do, as text, JSON or Markdown. Change sets
//! are created to compute it and deleted again. Exit 0: no changes; with
//! `--detailed-exitcode`, 2 when there are changes.

use std::path::PathBuf;

use anyhow::Context;

use super::session::{self, PlanOutput, Session};
use crate::exit::Status;

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("code").args(["package", "image"]))]
pub struct Args {
    #[command(flatten)]
    pub common: session::CommonArgs,
    /// Exit 2 when there are changes (0 none, 1 error), like terraform.
    #[arg(long = "detailed-exitcode")]
    pub detailed_exitcode: bool,
    /// Model artifact directory to plan with (otherwise the deployed one is kept).
    #[arg(long, env = "IRISCTL_MODEL_DIR", requires = "code", value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Package directory holding lambda.zip.
    #[arg(
        long,
        env = "IRISCTL_PACKAGE_DIR",
        requires = "model",
        value_name = "DIR"
    )]
    pub package: Option<PathBuf>,
    /// OCI image layout of the function (`lambda.package: image`); plan pins it by the
    /// layout's digest, which is ECR's for the same manifest bytes.
    #[arg(
        long,
        env = "IRISCTL_IMAGE_DIR",
        requires = "model",
        value_name = "DIR"
    )]
    pub image: Option<PathBuf>,
    /// Output format: text for a person, JSON for scripts, or markdown (a table for a
    /// pull-request comment).
    #[arg(long, value_enum, default_value_t = PlanOutput::Text, value_name = "FORMAT")]
    pub output: PlanOutput,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    session::runtime()?.block_on(plan(args))
}

async fn plan(args: Args) -> anyhow::Result<Status> {
    let config = args.common.target.load()?;
    let artifacts = super::deploy::load_artifacts(
        &config,
        args.model.as_deref(),
        args.package.as_deref(),
        args.image.as_deref(),
    )
    .context("the artifacts to plan with are not usable")?;
    let mut session = Session::prepare(&args.common.target).await?;
    super::preflight::gate(&mut session).await?;
    let target = session.target()?;
    let s3 = crate::aws::s3(&session.sdk);
    let plan = crate::plan::plan(
        &session.stacks(args.common.timeout.limit),
        &s3,
        &target,
        artifacts.as_ref(),
    )
    .await?;
    match args.output {
        PlanOutput::Text => print!("{}", plan.to_text()),
        PlanOutput::Json => println!("{}", plan.to_json()),
        PlanOutput::Markdown => print!("{}", plan.to_markdown()),
    }
    Ok(if plan.has_changes() && args.detailed_exitcode {
        Status::ChangesPending
    } else {
        Status::Success
    })
}
