//! `irisctl version [--output json]`: the version and what the binary was built from
//! (git commit, cargo profile, target), as build.rs recorded them. The same commit goes
//! into the `irisctl:commit` stack tag, so a stack says which build created it.

use std::io::Write;
use std::sync::OnceLock;

use anyhow::Context;
use serde::Serialize;

use super::args::OutputFormat;
use crate::exit::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub output: OutputFormat,
}

/// What `irisctl version` reports.
#[derive(Debug, Clone, Serialize)]
pub struct BuildInfo {
    pub version: &'static str,
    /// Short sha, `+dirty` when tracked files had changes, `unknown` outside a git checkout.
    pub commit: &'static str,
    /// The cargo profile (debug, release, ...).
    pub profile: &'static str,
    /// The target triple.
    pub target: &'static str,
}

/// The git commit the binary was built from, when the build knew it.
pub fn git_commit() -> Option<&'static str> {
    option_env!("IRISCTL_GIT_COMMIT")
}

pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        commit: git_commit().unwrap_or("unknown"),
        profile: env!("IRISCTL_BUILD_PROFILE"),
        target: env!("IRISCTL_BUILD_TARGET"),
    }
}

/// One line for `irisctl --version`: `0.1.0 (commit abc, debug, x86_64-...)`.
pub fn one_line() -> &'static str {
    static LINE: OnceLock<String> = OnceLock::new();
    LINE.get_or_init(|| {
        let info = build_info();
        format!(
            "{} (commit {}, {} build, {})",
            info.version, info.commit, info.profile, info.target
        )
    })
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let info = build_info();
    let mut out = std::io::stdout().lock();
    if args.output.is_json() {
        let json = serde_json::to_string_pretty(&info).context("writing JSON")?;
        writeln!(out, "{json}")?;
    } else {
        writeln!(out, "irisctl {}", info.version)?;
        writeln!(out, "commit:  {}", info.commit)?;
        writeln!(out, "profile: {}", info.profile)?;
        writeln!(out, "target:  {}", info.target)?;
    }
    Ok(Status::Success)
}
