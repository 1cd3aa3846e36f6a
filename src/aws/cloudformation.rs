//! A thin CloudFormation wrapper: each method is one API call (or one paginated listing)
//! and returns irisctl's own plain types ([`Stack`], [`StackEvent`], [`ChangeSet`]), so
//! the decisions above it are pure functions over data. Owns the SDK call shapes and the
//! recognition of CloudFormation's "nothing to do" answers. Must not decide what to do
//! with a stack, wait, sleep or retry (the SDK's retry config handles throttling).

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::types::{
    Capability, ChangeAction, ChangeSetType, Parameter, Replacement, ResourceAttribute, Tag,
    TemplateStage,
};

/// An error from CloudFormation with the operation and stack it concerned.
#[derive(Debug, thiserror::Error)]
#[error("CloudFormation {operation} on {stack}: {message}")]
pub struct CfnError {
    pub operation: &'static str,
    pub stack: String,
    /// The service's error code (`ValidationError`, `Throttling`, ...), when it sent one.
    pub code: Option<String>,
    pub message: String,
}

impl CfnError {
    fn from_sdk<E, R>(operation: &'static str, stack: &str, err: SdkError<E, R>) -> CfnError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let code = err.code().map(str::to_owned);
        let message = match err.message() {
            Some(message) => message.to_owned(),
            None => format!(
                "{}",
                aws_sdk_cloudformation::error::DisplayErrorContext(&err)
            ),
        };
        CfnError {
            operation,
            stack: stack.to_owned(),
            code,
            message,
        }
    }

    /// CloudFormation's answer to an update or change set that changes nothing.
    pub fn is_no_changes(&self) -> bool {
        is_no_changes_reason(&self.message)
    }

    /// DescribeStacks on a stack name that does not exist.
    pub fn is_missing_stack(&self) -> bool {
        self.code.as_deref() == Some("ValidationError") && self.message.contains("does not exist")
    }

    /// CreateStack on a name another caller created first.
    pub fn is_already_exists(&self) -> bool {
        self.code.as_deref() == Some("AlreadyExistsException")
    }
}

/// Whether a status reason or error message means "this change set / update is empty".
/// AWS and LocalStack say the first (change set FAILED), moto and UpdateStack the second.
pub fn is_no_changes_reason(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

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

/// One stack event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    pub id: String,
    /// Seconds since the epoch, with millisecond precision.
    pub timestamp_ms: i64,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

/// What a change set would do to one resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResourceChange {
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False`, `Conditional` (Modify only).
    pub replacement: Option<String>,
    /// The properties (or attributes) whose change causes this, e.g. `Properties.MemorySize`.
    pub causes: Vec<String>,
}

/// A described change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    pub id: String,
    /// `CREATE_PENDING`, `CREATE_IN_PROGRESS`, `CREATE_COMPLETE`, `FAILED`, ...
    pub status: String,
    pub status_reason: Option<String>,
    pub changes: Vec<ResourceChange>,
}

impl ChangeSet {
    /// Still being computed by CloudFormation.
    pub fn is_pending(&self) -> bool {
        matches!(
            self.status.as_str(),
            "CREATE_PENDING" | "CREATE_IN_PROGRESS"
        )
    }

    /// FAILED because it contains nothing to do (success for irisctl).
    pub fn is_empty_failure(&self) -> bool {
        self.status == "FAILED"
            && self
                .status_reason
                .as_deref()
                .is_some_and(is_no_changes_reason)
    }
}

/// A parameter value for create/update: a value, or "keep what the stack has".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    Value(String),
    UsePrevious,
}

/// The CloudFormation calls irisctl makes.
#[derive(Debug, Clone)]
pub struct Cfn {
    client: Client,
}

impl Cfn {
    pub fn new(client: Client) -> Cfn {
        Cfn { client }
    }

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

    /// Events newer than `until_id` (exclusive), newest first, following pages. Stops at
    /// `until_id`, or at the end of the stack's history when it is `None` or not found.
    pub async fn events_since(
        &self,
        stack: &str,
        until_id: Option<&str>,
    ) -> Result<Vec<StackEvent>, CfnError> {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let output = self
                .client
                .describe_stack_events()
                .stack_name(stack)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| CfnError::from_sdk("DescribeStackEvents", stack, e))?;
            for event in output.stack_events() {
                let id = event.event_id().unwrap_or_default();
                if Some(id) == until_id {
                    return Ok(events);
                }
                events.push(StackEvent {
                    id: id.to_owned(),
                    timestamp_ms: event
                        .timestamp()
                        .and_then(|t| t.to_millis().ok())
                        .unwrap_or_default(),
                    logical_id: event.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: event.resource_type().unwrap_or_default().to_owned(),
                    status: event
                        .resource_status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    reason: event.resource_status_reason().map(str::to_owned),
                });
            }
            match output.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(events),
            }
        }
    }

    /// The id of the newest event, the boundary before an operation starts.
    pub async fn newest_event_id(&self, stack: &str) -> Result<Option<String>, CfnError> {
        let output = self
            .client
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| CfnError::from_sdk("DescribeStackEvents", stack, e))?;
        Ok(output
            .stack_events()
            .first()
            .and_then(|e| e.event_id())
            .map(str::to_owned))
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

    /// CreateChangeSet (UPDATE) named `change_set`. Returns its id.
    pub async fn create_change_set(
        &self,
        stack: &str,
        change_set: &str,
        body: &str,
        parameters: &BTreeMap<String, ParamValue>,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, CfnError> {
        let output = self
            .client
            .create_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .change_set_type(ChangeSetType::Update)
            .template_body(body)
            .set_parameters(Some(sdk_parameters(parameters)))
            .capabilities(Capability::CapabilityIam)
            .set_tags(Some(sdk_tags(tags)))
            .send()
            .await
            .map_err(|e| CfnError::from_sdk("CreateChangeSet", stack, e))?;
        Ok(output.id().unwrap_or(change_set).to_owned())
    }

    /// DescribeChangeSet, every page of changes.
    pub async fn describe_change_set(
        &self,
        stack: &str,
        change_set: &str,
    ) -> Result<ChangeSet, CfnError> {
        let mut token: Option<String> = None;
        let mut result: Option<ChangeSet> = None;
        loop {
            let output = self
                .client
                .describe_change_set()
                .stack_name(stack)
                .change_set_name(change_set)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| CfnError::from_sdk("DescribeChangeSet", stack, e))?;
            let set = result.get_or_insert_with(|| ChangeSet {
                id: output.change_set_id().unwrap_or(change_set).to_owned(),
                status: output
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                status_reason: output.status_reason().map(str::to_owned),
                changes: Vec::new(),
            });
            for change in output.changes() {
                let Some(rc) = change.resource_change() else {
                    continue;
                };
                let causes = rc
                    .details()
                    .iter()
                    .filter_map(|d| d.target())
                    .filter_map(|t| {
                        let name = t.name().map(str::to_owned).or_else(|| {
                            t.path()
                                .map(|p| p.trim_start_matches('/').replace('/', "."))
                        })?;
                        Some(match t.attribute() {
                            Some(ResourceAttribute::Properties) | None => name,
                            Some(other) => format!("{}.{name}", other.as_str()),
                        })
                    })
                    .collect::<Vec<_>>();
                let mut causes = causes;
                if causes.is_empty() {
                    // Without Details (LocalStack), the scope still says what kind changed.
                    causes = rc.scope().iter().map(|s| s.as_str().to_owned()).collect();
                }
                causes.sort();
                causes.dedup();
                set.changes.push(ResourceChange {
                    action: rc
                        .action()
                        .map(ChangeAction::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    logical_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: rc.resource_type().unwrap_or_default().to_owned(),
                    replacement: rc.replacement().map(|r| Replacement::as_str(r).to_owned()),
                    causes,
                });
            }
            match output.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(result.unwrap_or_else(|| ChangeSet {
            id: change_set.to_owned(),
            status: String::new(),
            status_reason: None,
            changes: Vec::new(),
        }))
    }

    pub async fn execute_change_set(&self, stack: &str, change_set: &str) -> Result<(), CfnError> {
        self.client
            .execute_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .send()
            .await
            .map_err(|e| CfnError::from_sdk("ExecuteChangeSet", stack, e))?;
        Ok(())
    }

    pub async fn delete_change_set(&self, stack: &str, change_set: &str) -> Result<(), CfnError> {
        self.client
            .delete_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .send()
            .await
            .map_err(|e| CfnError::from_sdk("DeleteChangeSet", stack, e))?;
        Ok(())
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

fn sdk_parameters(parameters: &BTreeMap<String, ParamValue>) -> Vec<Parameter> {
    parameters
        .iter()
        .map(|(key, value)| match value {
            ParamValue::Value(v) => Parameter::builder()
                .parameter_key(key)
                .parameter_value(v)
                .build(),
            ParamValue::UsePrevious => Parameter::builder()
                .parameter_key(key)
                .use_previous_value(true)
                .build(),
        })
        .collect()
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}
