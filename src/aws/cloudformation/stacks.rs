//! The calls on whole stacks: describe one, list every stack, create, delete, and the
//! few stack-level switches (termination protection, continuing a rollback).

use std::collections::BTreeMap;

use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::{Capability, TemplateStage};

use super::{Cfn, CfnError, ParamValue, sdk_parameters, sdk_tags};

/// A stack as DescribeStacks reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub name: String,
    pub id: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub termination_protection: bool,
}

/// A stack as DescribeStacks without a name lists it: enough to pick stacks by tag and age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSummary {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    /// Creation time, ms since the epoch.
    pub created_ms: i64,
    /// Last update, ms since the epoch (`None`: never updated).
    pub updated_ms: Option<i64>,
}

impl Cfn {
    /// The stack named `name`, or `None` when there is none (deleted stacks are invisible
    /// by name).
    pub async fn describe(&self, name: &str) -> Result<Option<Stack>, CfnError> {
        let result = self.client.describe_stacks().stack_name(name).send().await;
        let output = match result {
            Ok(output) => output,
            Err(err) => {
                let err = CfnError::from_sdk("DescribeStacks", name, err);
                return if err.is_missing_stack() {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        let Some(stack) = output.stacks().first() else {
            return Ok(None);
        };
        let pairs = |items: Vec<(Option<&str>, Option<&str>)>| -> BTreeMap<String, String> {
            items
                .into_iter()
                .filter_map(|(k, v)| Some((k?.to_owned(), v.unwrap_or_default().to_owned())))
                .collect()
        };
        Ok(Some(Stack {
            name: stack.stack_name().unwrap_or(name).to_owned(),
            id: stack.stack_id().unwrap_or(name).to_owned(),
            status: stack
                .stack_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            status_reason: stack.stack_status_reason().map(str::to_owned),
            outputs: pairs(
                stack
                    .outputs()
                    .iter()
                    .map(|o| (o.output_key(), o.output_value()))
                    .collect(),
            ),
            parameters: pairs(
                stack
                    .parameters()
                    .iter()
                    .map(|p| (p.parameter_key(), p.parameter_value()))
                    .collect(),
            ),
            tags: pairs(stack.tags().iter().map(|t| (t.key(), t.value())).collect()),
            termination_protection: stack.enable_termination_protection().unwrap_or(false),
        }))
    }

    /// Every stack in the account and region (DescribeStacks without a name, every page).
    /// Deleted stacks are not listed.
    pub async fn list_stacks(&self) -> Result<Vec<StackSummary>, CfnError> {
        let mut stacks = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_stacks()
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| CfnError::from_sdk("DescribeStacks", "every stack", e))?;
            for s in page.stacks() {
                stacks.push(StackSummary {
                    name: s.stack_name().unwrap_or_default().to_owned(),
                    tags: s
                        .tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                        .collect(),
                    created_ms: s.creation_time().map(millis).unwrap_or_default(),
                    updated_ms: s.last_updated_time().map(millis),
                });
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(stacks),
            }
        }
    }

    /// How many resources the stack holds (REVIEW_IN_PROGRESS leftovers hold none).
    pub async fn resource_count(&self, name: &str) -> Result<usize, CfnError> {
        let output = self
            .client
            .describe_stack_resources()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| CfnError::from_sdk("DescribeStackResources", name, e))?;
        Ok(output.stack_resources().len())
    }

    /// The physical ids of the stack's resources (bucket names, log group names, alias
    /// names, ...): what preflight compares existing names with. Empty when the stack
    /// does not exist.
    pub async fn physical_ids(&self, name: &str) -> Result<Vec<String>, CfnError> {
        self.physical_ids_where(name, |_| true).await
    }

    /// The physical ids of the stack's resources of `resource_type` (e.g. the names of its
    /// `AWS::CloudWatch::Alarm`s); empty when the stack does not exist.
    pub async fn physical_ids_of_type(
        &self,
        name: &str,
        resource_type: &str,
    ) -> Result<Vec<String>, CfnError> {
        self.physical_ids_where(name, |t| t == Some(resource_type))
            .await
    }

    /// DescribeStackResources' physical ids of the resources whose type `keep` takes.
    async fn physical_ids_where(
        &self,
        name: &str,
        keep: impl Fn(Option<&str>) -> bool,
    ) -> Result<Vec<String>, CfnError> {
        match self
            .client
            .describe_stack_resources()
            .stack_name(name)
            .send()
            .await
        {
            Ok(output) => Ok(output
                .stack_resources()
                .iter()
                .filter(|r| keep(r.resource_type()))
                .filter_map(|r| r.physical_resource_id().map(str::to_owned))
                .collect()),
            Err(err) => {
                let err = CfnError::from_sdk("DescribeStackResources", name, err);
                if err.is_missing_stack() {
                    Ok(Vec::new())
                } else {
                    Err(err)
                }
            }
        }
    }

    /// The physical id of the resource `logical` in stack `name`: `None` when the stack or
    /// the resource does not exist.
    pub async fn physical_id(&self, name: &str, logical: &str) -> Result<Option<String>, CfnError> {
        match self
            .client
            .describe_stack_resources()
            .stack_name(name)
            .logical_resource_id(logical)
            .send()
            .await
        {
            Ok(output) => Ok(output
                .stack_resources()
                .iter()
                .find(|r| r.logical_resource_id() == Some(logical))
                .and_then(|r| r.physical_resource_id().map(str::to_owned))),
            Err(err) => {
                let err = CfnError::from_sdk("DescribeStackResources", name, err);
                if err.is_missing_stack() {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// The template CloudFormation holds for the stack, as submitted.
    pub async fn template(&self, name: &str) -> Result<Option<String>, CfnError> {
        let output = self
            .client
            .get_template()
            .stack_name(name)
            .template_stage(TemplateStage::Original)
            .send()
            .await
            .map_err(|e| CfnError::from_sdk("GetTemplate", name, e))?;
        Ok(output.template_body().map(str::to_owned))
    }

    /// CreateStack with IAM capability and the given tags. Returns the stack id.
    pub async fn create_stack(
        &self,
        name: &str,
        body: &str,
        parameters: &BTreeMap<String, ParamValue>,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, CfnError> {
        let output = self
            .client
            .create_stack()
            .stack_name(name)
            .template_body(body)
            .set_parameters(Some(sdk_parameters(parameters)))
            .capabilities(Capability::CapabilityIam)
            .set_tags(Some(sdk_tags(tags)))
            .send()
            .await
            .map_err(|e| CfnError::from_sdk("CreateStack", name, e))?;
        Ok(output.stack_id().unwrap_or(name).to_owned())
    }

    /// DeleteStack by name or id (an id targets exactly that stack, even a deleted one).
    pub async fn delete_stack(&self, stack: &str) -> Result<(), CfnError> {
        self.client
            .delete_stack()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| CfnError::from_sdk("DeleteStack", stack, e))?;
        Ok(())
    }

    pub async fn set_termination_protection(
        &self,
        stack: &str,
        enabled: bool,
    ) -> Result<(), CfnError> {
        self.client
            .update_termination_protection()
            .stack_name(stack)
            .enable_termination_protection(enabled)
            .send()
            .await
            .map_err(|e| CfnError::from_sdk("UpdateTerminationProtection", stack, e))?;
        Ok(())
    }

    /// ContinueUpdateRollback, skipping `skip` (logical ids).
    pub async fn continue_update_rollback(
        &self,
        stack: &str,
        skip: &[String],
    ) -> Result<(), CfnError> {
        self.client
            .continue_update_rollback()
            .stack_name(stack)
            .set_resources_to_skip((!skip.is_empty()).then(|| skip.to_vec()))
            .send()
            .await
            .map_err(|e| CfnError::from_sdk("ContinueUpdateRollback", stack, e))?;
        Ok(())
    }
}

fn millis(t: &DateTime) -> i64 {
    t.to_millis().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
    use aws_sdk_cloudformation::types::{Stack as SdkStack, StackStatus, Tag};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn stack(name: &str, tag: Option<(&str, &str)>, updated_secs: Option<i64>) -> SdkStack {
        SdkStack::builder()
            .stack_name(name)
            .stack_status(StackStatus::CreateComplete)
            .creation_time(DateTime::from_secs(1_000))
            .set_last_updated_time(updated_secs.map(DateTime::from_secs))
            .set_tags(tag.map(|(k, v)| vec![Tag::builder().key(k).value(v).build()]))
            .build()
    }

    #[tokio::test]
    async fn listing_every_stack_follows_the_pages_and_keeps_tags_and_times() {
        let first = mock!(aws_sdk_cloudformation::Client::describe_stacks)
            .match_requests(|req| req.next_token().is_none() && req.stack_name().is_none())
            .then_output(|| {
                DescribeStacksOutput::builder()
                    .stacks(stack(
                        "iris-pr-1-storage",
                        Some(("irisctl:env", "pr-1")),
                        None,
                    ))
                    .next_token("page-2")
                    .build()
            });
        let second = mock!(aws_sdk_cloudformation::Client::describe_stacks)
            .match_requests(|req| req.next_token() == Some("page-2"))
            .then_output(|| {
                DescribeStacksOutput::builder()
                    .stacks(stack("unrelated", None, Some(2_000)))
                    .build()
            });
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::Sequential,
            [&first, &second]
        );
        let listed = Cfn::new(client).list_stacks().await.expect("listed");
        assert_eq!(
            listed,
            [
                StackSummary {
                    name: "iris-pr-1-storage".into(),
                    tags: [("irisctl:env".to_owned(), "pr-1".to_owned())].into(),
                    created_ms: 1_000_000,
                    updated_ms: None,
                },
                StackSummary {
                    name: "unrelated".into(),
                    tags: BTreeMap::new(),
                    created_ms: 1_000_000,
                    updated_ms: Some(2_000_000),
                },
            ]
        );
    }
}
