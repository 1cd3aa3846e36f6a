//! `irisctl bootstrap`: the one stack per account and region that no env owns
//! (render::account: the API Gateway CloudWatch Logs role and the account setting).
//! Created when missing, updated through a change set when it exists, through the same
//! stack layer (create, change set, execute, wait with events) as every env stack. Pure
//! decisions here, AWS only through [`Stacks`]; printing belongs to cmd/bootstrap.rs.

use std::collections::BTreeMap;

use anyhow::bail;
use serde::Serialize;

use crate::aws::cloudformation::ParamValue;
use crate::render::account::{self, AccountStack};
use crate::stack::state::{Next, decide};
use crate::stack::{Prepared, Stacks};

/// What bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub stack: String,
    pub region: String,
    /// `created`, `updated` or `no_changes`.
    pub result: &'static str,
    /// The role API Gateway now logs with (the stack's output).
    pub cloudwatch_role_arn: Option<String>,
    /// Env → its deploy policies' ARNs (`--deploy-envs`, `--github-oidc`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub deploy_policies: BTreeMap<String, Vec<String>>,
    /// Env → the role GitHub Actions jobs in the GitHub environment of that name assume.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub deploy_roles: BTreeMap<String, String>,
    /// The role pull-request jobs assume to plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_role_arn: Option<String>,
    /// The managed policies to attach to the identity that deploys envs (the stack's
    /// output; three, IAM's size limit on one managed policy splits the statements).
    pub deployer_policy_arns: Vec<String>,
}

/// The ARNs of a comma-separated output.
pub fn split_arns(arns: &str) -> Vec<String> {
    arns.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Env → value of the outputs named `<prefix><Env>` (`DeployRoleArnStaging` → staging).
fn per_env(outputs: &BTreeMap<String, String>, prefix: &str) -> BTreeMap<String, String> {
    outputs
        .iter()
        .filter_map(|(key, value)| {
            let env = key.strip_prefix(prefix)?;
            (!env.is_empty()).then(|| (env.to_ascii_lowercase(), value.clone()))
        })
        .collect()
}

/// Tags of the bootstrap stack (CloudFormation copies them to the role).
pub fn tags() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("irisctl:stack".to_string(), "account".to_string()),
        (
            "irisctl:version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ])
}

/// Bring the bootstrap stack of `region` to `rendered`.
pub async fn bootstrap(
    stacks: &Stacks,
    rendered: &AccountStack,
    region: &str,
) -> anyhow::Result<Outcome> {
    let no_params = BTreeMap::new();
    let rerun = format!("irisctl bootstrap --region {region}");
    let result = reconcile(
        stacks,
        "account",
        region,
        &rendered.name,
        &rendered.body,
        &no_params,
        &tags(),
        &rerun,
    )
    .await?;
    finish(stacks, &rendered.name, region, result).await
}

/// Bring one stack no env owns (the account stack, a delivery pipeline) to `body`:
/// created when missing, updated through a change set when it exists. `label` names it in
/// the stack layer's messages; `rerun` is the command a person runs again after fixing a
/// state this does not repair. Returns `created`, `updated` or `no_changes`.
#[allow(clippy::too_many_arguments)]
pub async fn reconcile(
    stacks: &Stacks,
    label: &str,
    region: &str,
    name: &str,
    body: &str,
    params: &BTreeMap<String, ParamValue>,
    tags: &BTreeMap<String, String>,
    rerun: &str,
) -> anyhow::Result<&'static str> {
    let mut current = stacks.describe(name).await?;
    // At most: wait for someone else's operation, delete a failed first create, then act.
    for _ in 0..3 {
        let situation = stacks
            .situation(label, region, false, name, current.as_ref())
            .await?;
        match decide(&situation) {
            Next::Create => {
                stacks.create(name, body, params, tags, 2).await?;
                return Ok("created");
            }
            Next::Update => {
                let Some(stack) = current.as_ref() else {
                    bail!("stack {name} vanished while irisctl looked at it; run `{rerun}` again");
                };
                return match stacks.prepare_change_set(name, body, params, tags).await? {
                    Prepared::NoChanges => Ok("no_changes"),
                    Prepared::Changes {
                        change_set,
                        changes,
                    } => {
                        stacks.execute(stack, &change_set, changes.len()).await?;
                        Ok("updated")
                    }
                };
            }
            Next::Recreate { why } => {
                let Some(stack) = current.as_ref() else {
                    bail!("stack {name} vanished while irisctl looked at it; run `{rerun}` again");
                };
                stacks
                    .ui
                    .say(&format!("{name}: {why}; deleting it to create it again"));
                stacks.delete(stack).await?;
                current = None;
            }
            Next::WaitToSettle => {
                if let Some(stack) = current.as_ref() {
                    stacks.wait_to_settle(stack, stacks.timeout).await?;
                }
                current = stacks.describe(name).await?;
            }
            Next::Refuse { .. } | Next::Stuck { .. } => {
                let status = current
                    .as_ref()
                    .map(|s| s.status.as_str())
                    .unwrap_or("missing");
                bail!(
                    "stack {name} is {status}, a state irisctl does not repair; inspect its \
                     events (`aws cloudformation describe-stack-events --stack-name {name} \
                     --region {region}`), fix or delete the stack, then run `{rerun}` again"
                );
            }
        }
    }
    bail!("stack {name} kept changing while irisctl waited for it; run `{rerun}` again")
}

async fn finish(
    stacks: &Stacks,
    name: &str,
    region: &str,
    result: &'static str,
) -> anyhow::Result<Outcome> {
    let stack = stacks.settled(name).await?;
    Ok(Outcome {
        stack: name.to_string(),
        region: region.to_string(),
        result,
        cloudwatch_role_arn: stack.outputs.get(account::ROLE_OUTPUT).cloned(),
        deploy_policies: per_env(&stack.outputs, account::DEPLOY_POLICY_OUTPUT_PREFIX)
            .into_iter()
            .map(|(env, arns)| (env, split_arns(&arns)))
            .collect(),
        deploy_roles: per_env(&stack.outputs, "DeployRoleArn"),
        plan_role_arn: stack.outputs.get(account::PLAN_ROLE_OUTPUT).cloned(),
        deployer_policy_arns: stack
            .outputs
            .get(account::DEPLOYER_POLICY_OUTPUT)
            .map(|arns| split_arns(arns))
            .unwrap_or_default(),
    })
}
