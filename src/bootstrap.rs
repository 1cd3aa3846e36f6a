//! `irisctl bootstrap`: the one stack per account and region that no env owns
//! (render::account: the API Gateway CloudWatch Logs role and the account setting).
//! Created when missing, updated through a change set when it exists, through the same
//! stack layer (create, change set, execute, wait with events) as every env stack. Pure
//! decisions here, AWS only through [`Stacks`]; printing belongs to cmd/bootstrap.rs.

use std::collections::BTreeMap;

use anyhow::bail;
use serde::Serialize;

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
    /// The managed policy to attach to the identity that deploys envs (the stack's output).
    pub deployer_policy_arn: Option<String>,
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
    let name = rendered.name.as_str();
    let tags = tags();
    let no_params = BTreeMap::new();
    let mut current = stacks.describe(name).await?;
    // At most: wait for someone else's operation, delete a failed first create, then act.
    for _ in 0..3 {
        let situation = stacks
            .situation("account", region, false, name, current.as_ref())
            .await?;
        match decide(&situation) {
            Next::Create => {
                stacks
                    .create(name, &rendered.body, &no_params, &tags, 2)
                    .await?;
                return finish(stacks, name, region, "created").await;
            }
            Next::Update => {
                let Some(stack) = current.as_ref() else {
                    bail!("stack {name} vanished while bootstrap looked at it; run it again");
                };
                return match stacks
                    .prepare_change_set(name, &rendered.body, &no_params, &tags)
                    .await?
                {
                    Prepared::NoChanges => finish(stacks, name, region, "no_changes").await,
                    Prepared::Changes {
                        change_set,
                        changes,
                    } => {
                        stacks.execute(stack, &change_set, changes.len()).await?;
                        finish(stacks, name, region, "updated").await
                    }
                };
            }
            Next::Recreate { why } => {
                let Some(stack) = current.as_ref() else {
                    bail!("stack {name} vanished while bootstrap looked at it; run it again");
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
                    "stack {name} is {status}, a state bootstrap does not repair; inspect its \
                     events (`aws cloudformation describe-stack-events --stack-name {name} \
                     --region {region}`), fix or delete the stack, then run `irisctl bootstrap \
                     --region {region}` again"
                );
            }
        }
    }
    bail!("stack {name} kept changing while bootstrap waited for it; run it again")
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
        deployer_policy_arn: stack.outputs.get(account::DEPLOYER_POLICY_OUTPUT).cloned(),
    })
}
