//! `irisctl recover --env ENV [--skip ID]...`: continue the rollback of a stack stuck in
//! UPDATE_ROLLBACK_FAILED, proposing the resources to skip from its failed events.

use super::session::{self, Session};
use crate::exit::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: session::CommonArgs,
    /// Continue without asking.
    #[arg(long)]
    pub yes: bool,
    /// Skip this resource (logical id) instead of the proposed ones; repeatable.
    #[arg(long = "skip", value_name = "LOGICAL_ID")]
    pub skip: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    session::runtime()?.block_on(recover(args))
}

async fn recover(args: Args) -> anyhow::Result<Status> {
    let session = Session::open(&args.common).await?;
    let confirm = session::prompt;
    let reconciler = session.reconciler(args.yes, Vec::new(), &confirm, args.common.lock_timeout);
    let target = session.target()?;
    let recovered = reconciler.recover(&target, &args.skip).await?;
    if recovered.is_empty() {
        println!(
            "no stack of env `{}` is UPDATE_ROLLBACK_FAILED; nothing to recover",
            session.config.env
        );
    } else {
        println!(
            "rolled back: {}; deploy again to apply the template",
            recovered.join(", ")
        );
    }
    Ok(Status::Success)
}
