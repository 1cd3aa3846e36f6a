//! `irisctl validate --env ENV | --all-envs`: render each env and check its templates.

use anyhow::{Context, bail};

use crate::config::{Config, named_envs};
use crate::exit::Status;
use crate::validate;

use super::args::{EnvsDir, OutputFormat};

/// Checked with `--all-envs` besides the envs that have a file: samples of each ephemeral
/// pattern, so ephemeral.yaml is validated too (the longest name allowed exercises the
/// hash-shortened names).
pub const SAMPLE_EPHEMERAL_ENVS: [&str; 3] = [
    "pr-123",
    "feature-sample",
    "feature-a-very-long-branch-name-that-needs-shortening-by-hash-xy",
];

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["env", "all_envs"]))]
pub struct Args {
    /// The env to validate (dev, staging, prod, local, pr-<number>, feature-<slug>, ...).
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Validate every env file (and a sample of each ephemeral pattern).
    #[arg(long)]
    pub all_envs: bool,
    #[command(flatten)]
    pub envs: EnvsDir,
    // JSON: every env checked, with its problems (which stderr lists as well).
    #[command(flatten)]
    pub output: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let names: Vec<String> = match &args.env {
        Some(env) => vec![env.clone()],
        None => {
            let mut all = named_envs(&args.envs.dir);
            if all.is_empty() {
                bail!("no env files in {}", args.envs.dir.display());
            }
            all.extend(SAMPLE_EPHEMERAL_ENVS.iter().map(|s| s.to_string()));
            all
        }
    };
    let json = args.output.is_json();
    let mut checked_envs = Vec::new();
    let mut problems = 0;
    for name in &names {
        // Keep going after a broken env so one run reports every problem (and JSON lists
        // every env checked, even a single broken one).
        let checked = args.envs.load(name).and_then(|config: Config| {
            let findings = validate::validate_env(&config)
                .with_context(|| format!("rendering env `{name}`"))?;
            Ok((config, findings))
        });
        let (config, findings) = match checked {
            Ok(done) => done,
            Err(err) if names.len() > 1 || json => {
                eprintln!("error: {err:#}");
                checked_envs.push(serde_json::json!({
                    "env": name,
                    "ok": false,
                    "problems": [format!("{err:#}")],
                }));
                problems += 1;
                continue;
            }
            Err(err) => return Err(err),
        };
        checked_envs.push(serde_json::json!({
            "env": name,
            "ok": findings.is_empty(),
            "stacks": [
                config.names.storage_stack,
                config.names.auth_stack,
                config.names.service_stack,
            ],
            "problems": findings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }));
        if findings.is_empty() && !json {
            println!(
                "ok: {name} ({}, {}, {})",
                config.names.storage_stack, config.names.auth_stack, config.names.service_stack
            );
        }
        for f in &findings {
            eprintln!("{name}: {f}");
        }
        problems += findings.len();
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&checked_envs).context("writing JSON")?
        );
    }
    if problems > 0 {
        bail!("{problems} problem(s) found; fix the templates or env files above");
    }
    Ok(Status::Success)
}
