//! `irisctl render --env ENV --out DIR`: write each stack's template, one file per stack.

use std::path::PathBuf;

use anyhow::Context;

use crate::exit::Status;
use crate::render;

// Also reachable here, where it lived first, so code that names `cmd::render::EnvsDir` builds.
use super::args::EnvArgs;
pub use super::args::EnvsDir;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: EnvArgs,
    /// Directory to write `<stack>.yaml` files into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let config = args.target.load()?;
    let stacks = render::render_env(&config)
        .with_context(|| format!("rendering env `{}`", args.target.env))?;
    let paths = render::write_all(&args.out, &stacks)
        .with_context(|| format!("writing templates into {}", args.out.display()))?;
    for path in paths {
        println!("{}", path.display());
    }
    Ok(Status::Success)
}
