//! A thin CloudFormation wrapper: each method is one API call (or one paginated listing)
//! and returns irisctl's own plain types ([`Stack`], [`StackEvent`], [`ChangeSet`]), so
//! the decisions above it are pure functions over data. Owns the SDK call shapes and the
//! recognition of CloudFormation's "nothing to do" answers. Must not decide what to do
//! with a stack, wait, sleep or retry (the SDK's retry config handles throttling).
//!
//! The calls are grouped by what they act on: `stacks` (whole stacks, including the
//! account-wide listing gc reads), `events` (a stack's history) and `change_sets`.

mod change_sets;
mod events;
mod stacks;

pub use change_sets::{ChangeSet, ResourceChange};
pub use events::StackEvent;
pub use stacks::{Stack, StackSummary};

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::types::{Parameter, Tag};

use super::error::Failure;

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
    fn from_sdk<E>(operation: &'static str, stack: &str, err: SdkError<E, HttpResponse>) -> CfnError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let Failure { code, message, .. } = Failure::from_sdk(&err);
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
