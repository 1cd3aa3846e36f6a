//! `irisctl bootstrap --region R [--output text|json]`: deploy the account's API Gateway
//! logging stack (`irisctl-account-<region>`, templates/account.yaml.j2) once per account
//! and region, before the first env there. `--render-to DIR` only writes the template
//! (what scripts/lint-templates lints), without calling AWS.

use std::path::PathBuf;

use anyhow::{Context, bail};

use super::args::{OperationTimeout, Output, OutputFormat};
use super::session;
use crate::aws;
use crate::aws::cloudformation::Cfn;
use crate::exit::Status;
use crate::render::account;
use crate::stack::Stacks;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The region to bootstrap (once per account and region).
    #[arg(long)]
    pub region: String,
    #[command(flatten)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub timeout: OperationTimeout,
    /// Only write the rendered template to DIR/<stack>.yaml; no AWS call.
    #[arg(long = "render-to", value_name = "DIR")]
    pub render_to: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    if !crate::config::is_region(&args.region) {
        bail!(
            "`--region {}` is not an AWS region name (e.g. us-east-1, eu-west-2)",
            args.region
        );
    }
    let rendered = account::render(&args.region)?;
    if let Some(dir) = &args.render_to {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{}.yaml", rendered.name));
        std::fs::write(&path, &rendered.body)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
        return Ok(Status::Success);
    }
    session::runtime()?.block_on(async {
        let sdk = aws::sdk_config_in(&args.region).await;
        let stacks = Stacks {
            cfn: Cfn::new(aws::cloudformation(&sdk)),
            ui: Ui::detect(),
            timeout: args.timeout.limit,
        };
        let outcome = crate::bootstrap::bootstrap(&stacks, &rendered, &args.region).await?;
        match args.output.format {
            Output::Json => println!("{}", serde_json::to_string_pretty(&outcome)?),
            Output::Text => {
                println!(
                    "{}: {}; API Gateway in {} logs through {}",
                    outcome.stack,
                    outcome.result.replace('_', " "),
                    outcome.region,
                    outcome
                        .cloudwatch_role_arn
                        .as_deref()
                        .unwrap_or("(the stack has no CloudWatchRoleArn output)")
                );
                if let Some(policy) = &outcome.deployer_policy_arn {
                    println!("attach {policy} to the role or user that deploys envs");
                }
            }
        }
        Ok(Status::Success)
    })
}
