//! `irisctl unlock --env ENV`: remove the env's lock whoever holds it (for a run that died
//! without releasing it). Says whose lock it was.

use anyhow::Context;

use super::session::{self, Session};
use crate::aws;
use crate::aws::cloudformation::Cfn;
use crate::aws::s3::Bucket;
use crate::contract::storage::MODEL_BUCKET_NAME;
use crate::exit::Status;
use crate::naming::StackKind;
use crate::stack::lock;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: session::CommonArgs,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    session::runtime()?.block_on(unlock(args))
}

async fn unlock(args: Args) -> anyhow::Result<Status> {
    let session = Session::open(&args.common).await?;
    let storage = session.config.names.stack(StackKind::Storage).to_owned();
    let cfn = Cfn::new(aws::cloudformation(&session.sdk));
    let Some(stack) = cfn.describe(&storage).await? else {
        println!(
            "env `{}` has no storage stack, so no lock",
            session.config.env
        );
        return Ok(Status::Success);
    };
    let bucket = lock::bucket_of(&stack)
        .with_context(|| format!("stack {storage} has no {MODEL_BUCKET_NAME} output"))?;
    let bucket = Bucket::new(aws::s3(&session.sdk), bucket);
    match lock::force_unlock(&bucket, &session.config.env).await? {
        Some(record) => println!("removed the lock held by {}", record.describe()),
        None => println!("env `{}` was not locked", session.config.env),
    }
    Ok(Status::Success)
}
