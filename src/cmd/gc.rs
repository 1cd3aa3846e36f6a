//! `irisctl gc [--older-than 72h] [--dry-run]`: destroy the ephemeral envs whose expiry
//! tag has passed (or whose last deploy is older than `--older-than`), each with the same
//! code as `irisctl destroy`, its teardown receipt included (an env with leftovers counts
//! as not destroyed: exit 1, each leftover named). Selection is `gc::select` (pure); only envs irisctl tagged as
//! ephemeral are ever touched. Meant for a scheduled CI job: no confirmation.

use std::time::Duration;

use anyhow::Context;

use super::args::{EnvsDir, LockTimeout, OperationTimeout, OutputFormat};
use crate::aws;
use crate::aws::cloudformation::Cfn;
use crate::destroy::look;
use crate::destroy::run::{DestroyReport, Destroyer, Target};
use crate::destroy::teardown;
use crate::exit::Status;
use crate::gc::{list, select};
use crate::render;
use crate::stack::Stacks;
use crate::ui::Ui;
use crate::ui::time::now_ms;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also destroy ephemeral envs last deployed longer ago than this (e.g. 72h), even if
    /// their expiry has not passed.
    #[arg(long = "older-than", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub older_than: Option<Duration>,
    /// List what would be destroyed, change nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    #[command(flatten)]
    pub envs: EnvsDir,
    #[command(flatten)]
    pub timeout: OperationTimeout,
    #[command(flatten)]
    pub lock_timeout: LockTimeout,
    // JSON: one report at the end (the envs due, and which were destroyed or not)
    // instead of a line per env as it goes.
    #[command(flatten)]
    pub output: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    super::session::runtime()?.block_on(gc(args))
}

async fn gc(args: Args) -> anyhow::Result<Status> {
    let sdk = aws::sdk_config().await;
    let client = aws::cloudformation(&sdk);
    let stacks = list::all_stacks(&client)
        .await
        .context("listing stacks (DescribeStacks)")?;
    let older_than_ms = args
        .older_than
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let chosen = select::select(&stacks, now_ms(), older_than_ms, list::parse_expiry);
    let json = args.output.is_json();
    let due: Vec<serde_json::Value> = chosen
        .iter()
        .map(|c| serde_json::json!({ "env": c.env, "stacks": c.stacks, "reason": c.reason }))
        .collect();
    let print_report = |destroyed: &[String],
                        failed: &[String],
                        receipts: &[crate::destroy::receipt::Receipt]|
     -> anyhow::Result<()> {
        let report = serde_json::json!({
            "dry_run": args.dry_run,
            "due": due,
            "destroyed": destroyed,
            "failed": failed,
            "receipts": receipts,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("writing JSON")?
        );
        Ok(())
    };
    if json && (chosen.is_empty() || args.dry_run) {
        print_report(&[], &[], &[])?;
        return Ok(Status::Success);
    }
    if chosen.is_empty() {
        println!("gc: no ephemeral env is due");
        return Ok(Status::Success);
    }
    if !json {
        for c in &chosen {
            println!(
                "gc: env {} ({}): {}{}",
                c.env,
                c.stacks.join(", "),
                c.reason,
                if args.dry_run { " [dry run: kept]" } else { "" }
            );
        }
    }
    if args.dry_run {
        return Ok(Status::Success);
    }
    let destroyer = Destroyer {
        stacks: Stacks {
            cfn: Cfn::new(client),
            ui: Ui::detect(),
            timeout: args.timeout.limit,
        },
        s3: aws::s3(&sdk),
        ecr: aws::ecr(&sdk),
        owner: std::env::var("USER").unwrap_or_else(|_| "irisctl-gc".into()),
        lock_timeout: args.lock_timeout.limit,
    };
    let clients = look::Clients::new(&sdk);
    let mut failed = Vec::new();
    let mut destroyed = Vec::new();
    let mut receipts = Vec::new();
    for c in &chosen {
        let outcome = async {
            let config = args.envs.load(&c.env)?;
            anyhow::ensure!(
                config.project.value == c.project,
                "stacks are tagged project `{}` but env files say `{}`",
                c.project,
                config.project.value
            );
            let target = Target {
                env: c.env.clone(),
                stacks: render::render_env(&config)?,
                retain: config.protected.value,
                protected_confirmed: false,
            };
            let mut report = DestroyReport::default();
            let outcome =
                teardown::destroy_and_look(&destroyer, &clients, &config, &target, &mut report)
                    .await;
            if let Some(receipt) = report.receipt.take() {
                if !json {
                    print!("{}", receipt.to_text());
                }
                receipts.push(receipt);
            }
            outcome
        }
        .await;
        match outcome {
            Ok(()) => {
                if !json {
                    println!("gc: env {} destroyed", c.env);
                }
                destroyed.push(c.env.clone());
            }
            Err(err) => {
                eprintln!("gc: env {} not destroyed: {err:#}", c.env);
                failed.push(c.env.clone());
            }
        }
    }
    if json {
        print_report(&destroyed, &failed, &receipts)?;
    }
    anyhow::ensure!(
        failed.is_empty(),
        "gc could not destroy {} env(s): {}; run `irisctl gc` again or `irisctl destroy --env ENV --yes` for each",
        failed.len(),
        failed.join(", ")
    );
    Ok(Status::Success)
}
