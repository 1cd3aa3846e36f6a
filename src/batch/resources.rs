//! The deployed resources batch scoring and the dead-letter queue commands act on, read
//! from the env's stack outputs: the bucket (storage stack), the function and the queue
//! (service stack). A missing stack or output is an error that says to deploy first.

use anyhow::{Context, bail};

use crate::aws::cloudformation::Cfn;
use crate::contract::{service, storage};
use crate::naming::StackKind;

/// Where an env's batch scoring runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub bucket: String,
    pub function: String,
    pub dead_letter_queue_url: String,
}

/// Reads the outputs of the env's storage and service stacks.
pub async fn find(cfn: &Cfn, config: &crate::config::Config) -> anyhow::Result<Resources> {
    let output = |kind: StackKind, name: &'static str| {
        let stack = config.names.stack(kind).to_owned();
        async move {
            let found = cfn
                .describe(&stack)
                .await
                .with_context(|| format!("reading stack {stack}"))?;
            let Some(found) = found else {
                bail!(
                    "env `{}` has no stack {stack}; deploy it first (`irisctl deploy --env {}`)",
                    config.env,
                    config.env
                );
            };
            match found.outputs.get(name) {
                Some(value) if !value.is_empty() => Ok(value.clone()),
                _ => bail!(
                    "stack {stack} ({}) has no {name} output; deploy the env again (`irisctl deploy --env {}`)",
                    found.status,
                    config.env
                ),
            }
        }
    };
    Ok(Resources {
        bucket: output(StackKind::Storage, storage::MODEL_BUCKET_NAME).await?,
        function: output(StackKind::Service, service::FUNCTION_NAME).await?,
        dead_letter_queue_url: output(StackKind::Service, service::DEAD_LETTER_QUEUE_URL).await?,
    })
}
