//! `irisctl model push --env ENV --model DIR`: the model directory checked as deploy
//! checks it (its seal, model.bin against it) plus its accuracy gate, uploaded
//! content-addressed, then only the model pins change.

use std::path::PathBuf;

use anyhow::Context;

use super::{ChangeOpts, ChangeReport, Keep, apply, finish, open, release_facts};
use crate::cmd::args::OutputFormat;
use crate::cmd::session::CommonArgs;
use crate::deploy::artifacts::{self, ModelArtifact};
use crate::exit::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Model artifact directory (model.bin + manifest.json, from `iris-model train --out DIR`).
    #[arg(long, env = "IRISCTL_MODEL_DIR", value_name = "DIR")]
    pub model: PathBuf,
    /// Change a protected env without asking.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub keep: Keep,
    #[command(flatten)]
    pub strategy: super::StrategyArg,
    #[command(flatten)]
    pub output: OutputFormat,
}

pub async fn run(args: Args) -> anyhow::Result<Status> {
    // Everything local comes first: a bad artifact changes nothing anywhere.
    let model = ModelArtifact::load(&args.model).context("the model to push is not usable")?;
    model.check_gate()?;
    let opened = open(&args.common.target).await?;
    let mut report = ChangeReport::new(&opened.session.config.env, "push");
    let outcome = async {
        let (_, facts) = release_facts(&opened.lambda, &opened.resources.function).await?;
        report.before = facts.live;
        let (pins, uploads) = artifacts::sync_model(&opened.bucket, &model)
            .await
            .context("uploading the model")?;
        report.uploaded = uploads.uploaded;
        let opts = ChangeOpts {
            common: args.common.clone(),
            yes: args.yes,
            keep: args.keep.releases,
            strategy: Some(args.strategy.or_env(&opened.session.config)?),
        };
        apply(&opened, &pins, &opts, &mut report).await
    }
    .await;
    finish(report, outcome, args.output)
}
