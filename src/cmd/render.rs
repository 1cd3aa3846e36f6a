//! `irisctl render --env ENV --out DIR`: write each stack's template, one file per stack,
//! and print the paths written (one a line, or one JSON document).

use std::path::PathBuf;

use anyhow::Context;

use crate::exit::Status;
use crate::render;

// Also reachable here, where it lived first, so code that names `cmd::render::EnvsDir` builds.
pub use super::args::EnvsDir;
use super::args::{EnvArgs, OutputFormat};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: EnvArgs,
    /// Directory to write `<stack>.yaml` files into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub output: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let config = args.target.load()?;
    let stacks = render::render_env(&config)
        .with_context(|| format!("rendering env `{}`", args.target.env))?;
    let paths = render::write_all(&args.out, &stacks)
        .with_context(|| format!("writing templates into {}", args.out.display()))?;
    if args.output.is_json() {
        let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let report = serde_json::json!({ "env": config.env, "files": files });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("writing JSON")?
        );
        return Ok(Status::Success);
    }
    for path in paths {
        println!("{}", path.display());
    }
    Ok(Status::Success)
}
