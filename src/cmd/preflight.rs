//! `irisctl preflight --env ENV [--output text|json]`: the read-only checks of
//! [`crate::preflight`], printed as one line each (or one JSON document); exit 3 when any
//! fails. [`gate`] runs the same checks for deploy and plan before they change anything.

use super::args::{EnvArgs, OutputFormat};
use super::session::{self, Session};
use crate::exit::{Refusal, Status};
use crate::preflight::{self, Clients, Report};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: EnvArgs,
    #[command(flatten)]
    pub output: OutputFormat,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    session::runtime()?.block_on(async {
        let session = Session::prepare(&args.target).await?;
        let (report, _) = check(&session).await;
        if args.output.is_json() {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report.to_text());
        }
        if report.failed() {
            return Err(refusal(&report).into());
        }
        Ok(Status::Success)
    })
}

/// The checks of the session's env, and the caller's ARN when STS answered.
async fn check(session: &Session) -> (Report, Option<String>) {
    let facts = preflight::gather(&Clients::new(&session.sdk), &session.config).await;
    let arn = facts.caller.as_ref().ok().map(|c| c.arn.clone());
    (preflight::checks::report(&session.config, &facts), arn)
}

fn refusal(report: &Report) -> Refusal {
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.result == preflight::Verdict::Fail)
        .map(|c| format!("{}: {}", c.check, c.detail))
        .collect();
    Refusal::SafetyGate(format!(
        "preflight of env `{}` failed ({}); nothing was changed. `irisctl preflight --env {}` \
         lists every check with its fix",
        report.env,
        failed.join("; "),
        report.env
    ))
}

/// Deploy's and plan's preflight: every check that did not pass on stderr, a refusal
/// (exit 3) if one failed; the session's owner becomes the caller's ARN.
pub async fn gate(session: &mut Session) -> anyhow::Result<()> {
    let (report, arn) = check(session).await;
    for problem in report.problems() {
        eprint!("preflight: {}", preflight::line(problem));
    }
    if report.failed() {
        return Err(refusal(&report).into());
    }
    if let Some(arn) = arn {
        session.owner = arn;
    }
    Ok(())
}
