//! `irisctl bootstrap --region R [--output text|json]`: deploy the account's API Gateway
//! logging stack (`irisctl-account-<region>`, templates/account.yaml.j2) once per account
//! and region, before the first env there. `--render-to DIR` only writes the template
//! (what scripts/lint-templates lints), without calling AWS.
//!
//! On request the same stack holds CI access: `--deploy-envs ENV,...` a deploy policy per
//! env (what irisctl calls for it, scoped to its names), and `--github-oidc OWNER/REPO`
//! GitHub's OIDC provider plus, per env, a role only that repository's jobs in the GitHub
//! environment of the same name can assume (docs/ci.md). Without them the stack is
//! exactly the logging role and setting.

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
    /// Also a deploy policy for each of these envs (comma-separated; `pr` covers every
    /// pr-<number> env). Default with --github-oidc: pr,staging,prod.
    #[arg(long = "deploy-envs", value_name = "ENV,...", value_delimiter = ',')]
    pub deploy_envs: Vec<String>,
    /// Also GitHub Actions' OIDC provider and one role per deploy env that only jobs of
    /// OWNER/REPO running in the GitHub environment of that name can assume.
    #[arg(long = "github-oidc", value_name = "OWNER/REPO")]
    pub github_oidc: Option<String>,
    /// Reuse this account's existing provider for token.actions.githubusercontent.com
    /// (IAM keeps one per account; another region's bootstrap may have created it).
    #[arg(
        long = "github-oidc-provider",
        value_name = "ARN",
        requires = "github_oidc"
    )]
    pub github_oidc_provider: Option<String>,
    /// The `project` of the envs the deploy policies cover (environments/*.yaml).
    #[arg(long, default_value = "iris", value_name = "NAME")]
    pub project: String,
}

/// The GitHub environments (and irisctl envs) the workflows deploy.
const GITHUB_DEFAULT_ENVS: [&str; 3] = ["pr", "staging", "prod"];

fn is_github_repository(value: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 100
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(value.split_once('/'), Some((owner, repo)) if part(owner) && part(repo))
}

fn is_deploy_env(value: &str) -> bool {
    let mut chars = value.chars();
    value.len() <= 32
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// The account stack's options from the flags, or what is wrong with them.
fn options(args: &Args) -> anyhow::Result<account::Options> {
    if !crate::config::is_project(&args.project) {
        bail!(
            "`--project {}` is not a project name (lowercase letters and digits, starting \
             with a letter, as in environments/*.yaml)",
            args.project
        );
    }
    let github = match &args.github_oidc {
        None => None,
        Some(repo) if !is_github_repository(repo) => bail!(
            "`--github-oidc {repo}` is not a GitHub repository; give it as OWNER/REPO \
             (e.g. acme/iris)"
        ),
        Some(repo) => {
            if let Some(arn) = &args.github_oidc_provider
                && !(arn.starts_with("arn:")
                    && arn.ends_with(":oidc-provider/token.actions.githubusercontent.com"))
            {
                bail!(
                    "`--github-oidc-provider {arn}` is not the ARN of a provider for \
                     token.actions.githubusercontent.com (arn:aws:iam::ACCOUNT:oidc-provider/\
                     token.actions.githubusercontent.com); `aws iam list-open-id-connect-providers` \
                     lists this account's"
                );
            }
            Some(account::GitHub {
                repository: repo.clone(),
                provider_arn: args.github_oidc_provider.clone(),
            })
        }
    };
    let mut deploy_envs = args.deploy_envs.clone();
    if deploy_envs.is_empty() && github.is_some() {
        deploy_envs = GITHUB_DEFAULT_ENVS.map(String::from).to_vec();
    }
    if let Some(bad) = deploy_envs.iter().find(|env| !is_deploy_env(env)) {
        bail!(
            "`--deploy-envs`: `{bad}` is not an env name a deploy policy can be made for \
             (lowercase letters and digits, starting with a letter, e.g. staging; `pr` \
             stands for every pr-<number> env)"
        );
    }
    deploy_envs.sort();
    deploy_envs.dedup();
    Ok(account::Options {
        project: args.project.clone(),
        deploy_envs,
        github,
    })
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    if !crate::config::is_region(&args.region) {
        bail!(
            "`--region {}` is not an AWS region name (e.g. us-east-1, eu-west-2)",
            args.region
        );
    }
    let rendered = account::render_with(&args.region, &options(&args)?)?;
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
                for (env, arns) in &outcome.deploy_policies {
                    println!("deploy policies of env {env}: {}", arns.join(", "));
                }
                for (env, arn) in &outcome.deploy_roles {
                    println!("GitHub role of environment {env}: {arn}");
                }
                if let Some(arn) = &outcome.plan_role_arn {
                    println!("GitHub role of pull-request plans: {arn}");
                }
                if !outcome.deployer_policy_arns.is_empty() {
                    println!(
                        "attach these to the role or user that deploys envs: {}",
                        outcome.deployer_policy_arns.join(", ")
                    );
                }
            }
        }
        Ok(Status::Success)
    })
}
