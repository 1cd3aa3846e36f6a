//! Argument groups several commands share, each flattened (`#[command(flatten)]`) into the
//! commands that use it, so an option is spelt, defaulted and explained once, and a
//! command takes only the groups that mean something for it (status reads, so it has no
//! timeouts; gc spans envs, so it has no `--env`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::config::Config;

/// Where the env files live.
#[derive(Debug, Clone, clap::Args)]
pub struct EnvsDir {
    /// Directory holding the env files (<env>.yaml, ephemeral.yaml).
    #[arg(
        long = "envs-dir",
        env = "IRISCTL_ENVS_DIR",
        default_value = "environments",
        value_name = "DIR"
    )]
    pub dir: PathBuf,
}

impl EnvsDir {
    /// Load and validate one env.
    pub fn load(&self, env: &str) -> anyhow::Result<Config> {
        Config::load(&self.dir, env).with_context(|| format!("env `{env}` is not valid"))
    }
}

/// The env a command acts on, and where its files are.
#[derive(Debug, Clone, clap::Args)]
pub struct EnvArgs {
    /// The env (dev, staging, prod, local, pr-<number>, feature-<slug>, ...).
    #[arg(long, value_name = "ENV")]
    pub env: String,
    #[command(flatten)]
    pub envs: EnvsDir,
}

impl EnvArgs {
    /// Load and validate the env.
    pub fn load(&self) -> anyhow::Result<Config> {
        self.envs.load(&self.env)
    }
}

/// How long one stack operation may take.
#[derive(Debug, Clone, clap::Args)]
pub struct OperationTimeout {
    /// Give up waiting for one stack operation (create, update, delete, rollback) after
    /// this long (e.g. 30m, 90s).
    #[arg(
        id = "timeout",
        long = "timeout",
        default_value = "30m",
        value_name = "DURATION",
        value_parser = humantime::parse_duration
    )]
    pub limit: Duration,
}

/// How long to wait for someone else's run.
#[derive(Debug, Clone, clap::Args)]
pub struct LockTimeout {
    /// How long to wait for the env lock, or for another operation on a stack to settle
    /// (e.g. 2m, 30s).
    #[arg(
        id = "lock_timeout",
        long = "lock-timeout",
        default_value = "2m",
        value_name = "DURATION",
        value_parser = humantime::parse_duration
    )]
    pub limit: Duration,
}

/// What a command prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Lines for a person.
    Text,
    /// One JSON document, for scripts.
    Json,
}

/// The output format of a command that prints text or JSON.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OutputFormat {
    /// Output format: text for a person, or one JSON document on stdout for scripts.
    #[arg(
        id = "output",
        long = "output",
        value_enum,
        default_value_t = Output::Text,
        value_name = "FORMAT"
    )]
    pub format: Output,
}

impl OutputFormat {
    pub fn is_json(self) -> bool {
        self.format == Output::Json
    }
}
