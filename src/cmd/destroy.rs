//! `irisctl destroy --env ENV [--yes] [--force-protected]`: the confirmation gate first
//! (before any AWS call), then the destroy sequence (`destroy::run`) and its teardown
//! receipt (`destroy::teardown`: exit 1 when anything is left), then the report as text or
//! one JSON document.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;

use super::args::OutputFormat;
use super::session::{self, Session};
use crate::aws;
use crate::destroy::gate::{self, Gate};
use crate::destroy::look;
use crate::destroy::run::{DestroyReport, Destroyer, Target};
use crate::destroy::teardown::{self, Leftovers};
use crate::exit::{Refusal, Status};
use crate::stack::StackFailed;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: session::CommonArgs,
    /// Destroy an unprotected env without asking.
    #[arg(long)]
    pub yes: bool,
    /// Allow destroying a protected env (you still type its name back on a terminal).
    #[arg(long = "force-protected")]
    pub force_protected: bool,
    #[command(flatten)]
    pub output: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let runtime = session::runtime()?;
    runtime.block_on(destroy(args))
}

async fn destroy(args: Args) -> anyhow::Result<Status> {
    let env = args.common.target.env.clone();
    let config = args.common.target.load()?;
    let tty = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let request = gate::Request {
        protected: config.protected.value,
        yes: args.yes,
        force_protected: args.force_protected,
        tty,
    };
    match gate::decide(&env, request) {
        Gate::Proceed => {}
        Gate::Refuse(why) => return Err(Refusal::SafetyGate(why).into()),
        Gate::ConfirmYes => {
            if !session::prompt(&format!(
                "Destroy env `{env}`: delete its stacks and every object version and image \
                 in them?"
            )) {
                return Err(
                    Refusal::SafetyGate(format!("destroy of env `{env}` not confirmed")).into(),
                );
            }
        }
        Gate::TypeEnvName => {
            if !typed_back(&env)? {
                return Err(Refusal::SafetyGate(format!(
                    "destroy of protected env `{env}` not confirmed (the name typed did not match)"
                ))
                .into());
            }
        }
    }
    let session = Session::open(&args.common.target).await?;
    let destroyer = Destroyer {
        stacks: session.stacks(args.common.timeout.limit),
        s3: aws::s3(&session.sdk),
        ecr: aws::ecr(&session.sdk),
        owner: session.owner.clone(),
        lock_timeout: args.common.lock_timeout.limit,
    };
    let target = Target {
        env: env.clone(),
        stacks: session.stacks.clone(),
        retain: session.config.protected.value,
        protected_confirmed: session.config.protected.value && args.force_protected,
    };
    let clients = look::Clients::new(&session.sdk);
    let mut report = DestroyReport::default();
    let outcome = tokio::select! {
        outcome = teardown::destroy_and_look(
            &destroyer, &clients, &session.config, &target, &mut report,
        ) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!(
            "interrupted: a stack deletion already started carries on in CloudFormation; \
             run destroy again to finish"
        )),
    };
    if let Err(err) = &outcome {
        report.env = env.clone();
        report.outcome = if err.downcast_ref::<Leftovers>().is_some() {
            "leftovers"
        } else if err.downcast_ref::<Refusal>().is_some() {
            "refused"
        } else if err
            .chain()
            .any(|e| e.downcast_ref::<StackFailed>().is_some())
        {
            "failed"
        } else {
            "error"
        }
        .into();
        report.error = Some(format!("{err:#}"));
    }
    if args.output.is_json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("writing the JSON report")?
        );
    } else {
        print_text(&report);
    }
    outcome.map(|()| Status::Success)
}

/// Ask for the env name on the terminal; true only for an exact match.
fn typed_back(env: &str) -> anyhow::Result<bool> {
    eprint!(
        "env `{env}` is PROTECTED. Destroying it deletes its stacks (retained data stays). \
         Type the env name to confirm: "
    );
    std::io::stderr().flush().context("writing the prompt")?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the confirmation")?;
    Ok(answer.trim() == env)
}

fn print_text(report: &DestroyReport) {
    let none_existed = report.stacks.iter().all(|s| s.was.is_none());
    if report.outcome == "nothing to destroy" || (report.outcome == "leftovers" && none_existed) {
        println!(
            "env `{}`: nothing to destroy (no stack of it exists)",
            report.env
        );
        print_receipt(report);
        return;
    }
    for e in &report.emptied {
        if e.missing {
            println!("{} {}: not found, nothing to empty", e.kind, e.name);
        } else {
            println!("{} {}: emptied ({} deleted)", e.kind, e.name, e.deleted);
        }
    }
    for s in &report.stacks {
        match &s.was {
            Some(was) => println!("{}: {} (was {was})", s.stack, s.result),
            None => println!("{}: absent", s.stack),
        }
    }
    for k in &report.kept {
        println!(
            "kept (DeletionPolicy Retain): {k}; delete it by hand once you are sure the data \
             is not needed"
        );
    }
    if report.outcome == "destroyed" || report.outcome == "leftovers" {
        println!("env `{}` destroyed", report.env);
    }
    print_receipt(report);
}

fn print_receipt(report: &DestroyReport) {
    if let Some(receipt) = &report.receipt {
        print!("{}", receipt.to_text());
    }
}
