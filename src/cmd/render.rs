//! `irisctl render --env ENV --out DIR`: write each stack's template, one file per stack.

use std::path::PathBuf;

use anyhow::Context;

use crate::config::Config;
use crate::exit::Status;
use crate::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The env to render (dev, staging, prod, local, pr-<number>, feature-<slug>, ...).
    #[arg(long)]
    pub env: String,
    /// Directory to write `<stack>.yaml` files into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub envs: EnvsDir,
}

/// Where the env files live.
#[derive(Debug, Clone, clap::Args)]
pub struct EnvsDir {
    /// Directory holding the env files.
    #[arg(
        long = "envs-dir",
        env = "IRISCTL_ENVS_DIR",
        default_value = "environments"
    )]
    pub dir: PathBuf,
}

impl EnvsDir {
    /// Load and validate one env.
    pub fn load(&self, env: &str) -> anyhow::Result<Config> {
        Config::load(&self.dir, env).with_context(|| format!("env `{env}` is not valid"))
    }
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let config = args.envs.load(&args.env)?;
    let stacks =
        render::render_env(&config).with_context(|| format!("rendering env `{}`", args.env))?;
    let paths = render::write_all(&args.out, &stacks)
        .with_context(|| format!("writing templates into {}", args.out.display()))?;
    for path in paths {
        println!("{}", path.display());
    }
    Ok(Status::Success)
}
