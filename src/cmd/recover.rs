//! `irisctl recover --env ENV [--skip ID]...`: continue the rollback of a stack stuck in
//! UPDATE_ROLLBACK_FAILED, proposing the resources to skip from its failed events. Holds
//! the env lock while it runs.

use super::session::{self, Session};
use crate::exit::Status;
use crate::stack::lock::{self, LockSlot};

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
    let deployer = session.deployer(
        session.approval(args.yes, &confirm),
        Vec::new(),
        args.common.timeout,
        args.common.lock_timeout,
    );
    let target = session.target()?;
    let slot = LockSlot::default();
    let outcome = async {
        deployer.lock_existing(&target, &slot).await?;
        crate::recover::recover(&deployer.stacks, &deployer.approval, &target, &args.skip).await
    };
    let outcome = tokio::select! {
        outcome = outcome => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!(
            "interrupted: a rollback already started carries on in CloudFormation"
        )),
    };
    if let Err(err) = lock::release(&slot).await {
        eprintln!(
            "warning: could not release the lock of env `{}`: {err:#}",
            session.config.env
        );
    }
    let recovered = outcome?;
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
