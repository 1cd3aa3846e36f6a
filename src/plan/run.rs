//! Compute a [`Plan`]: per stack, in deploy's order, the same decision deploy would take
//! ([`crate::stack::state::decide`]) and, for an existing stack, the change set of the
//! same inputs deploy would send ([`crate::deploy::inputs`]), deleted once read.

use std::collections::BTreeMap;

use anyhow::Context;

use super::report::{Plan, StackAction, StackPlan};
use crate::aws::s3::Bucket;
use crate::contract;
use crate::deploy::Target;
use crate::deploy::artifacts::{self, Artifacts};
use crate::deploy::inputs::{parameters, update_tags};
use crate::naming::StackKind;
use crate::stack::changes::resources_of;
use crate::stack::state::{Next, decide, settled_healthy};
use crate::stack::{Prepared, Stacks};

/// What deploy would do to `target`, with `artifacts` when given (otherwise the deployed
/// ones are kept), changing nothing.
pub async fn plan(
    stacks: &Stacks,
    s3: &aws_sdk_s3::Client,
    target: &Target<'_>,
    artifacts: Option<&Artifacts>,
) -> anyhow::Result<Plan> {
    let mut available: BTreeMap<String, String> = BTreeMap::new();
    let mut planned = Vec::new();
    for rendered in &target.stacks {
        // As deploy does: the Deployment's name covers the earlier stacks' output values.
        let rendered = &crate::render::api_definition::bind_parameters(rendered, &available)?;
        let name = rendered.name.as_str();
        let current = stacks.describe(name).await?;
        if rendered.kind == StackKind::Service
            && let (Some(artifacts), Some(bucket)) = (
                artifacts,
                available.get(contract::storage::MODEL_BUCKET_NAME),
            )
        {
            let bucket = Bucket::new(s3.clone(), bucket);
            let deployed = current
                .as_ref()
                .filter(|s| settled_healthy(&s.status))
                .map(|s| &s.parameters);
            let (mut pins, _) = artifacts::sync(&bucket, artifacts, false, deployed).await?;
            // Plan pushes nothing: an image is pinned by the layout's digest, which is
            // ECR's digest of the same manifest bytes.
            if let (artifacts::Code::Image(image), Some(uri)) = (
                &artifacts.code,
                available.get(contract::storage::REPOSITORY_URI),
            ) {
                pins.image_uri = Some(crate::image::push::image_uri(
                    uri,
                    &image.layout.manifest_digest,
                ));
            }
            available.extend(pins.parameters());
        }
        let situation = stacks
            .situation(
                target.env(),
                target.region(),
                target.protected(),
                name,
                current.as_ref(),
            )
            .await?;
        let action = match decide(&situation) {
            Next::Create => StackAction::Create {
                resources: resources_of(&rendered.body)?,
                recreate: None,
            },
            Next::Recreate { why } => StackAction::Create {
                resources: resources_of(&rendered.body)?,
                recreate: Some(why),
            },
            Next::WaitToSettle => StackAction::Blocked {
                message: format!(
                    "{} (another operation is running); deploy would wait for it",
                    situation.status.unwrap_or_default()
                ),
            },
            Next::Refuse { message } | Next::Stuck { message } => StackAction::Blocked { message },
            Next::Update => {
                let current = current
                    .as_ref()
                    .context("internal: update without a stack")?;
                match parameters(rendered, &available, Some(current)) {
                    Err(err) => StackAction::Blocked {
                        message: format!("{err:#}"),
                    },
                    Ok(params) => {
                        let tags = update_tags(&target.tags, &current.tags);
                        match stacks
                            .prepare_change_set(name, &rendered.body, &params, &tags)
                            .await?
                        {
                            Prepared::NoChanges => StackAction::NoChanges,
                            Prepared::Changes {
                                change_set,
                                changes,
                            } => {
                                stacks.discard_change_set(name, &change_set).await;
                                StackAction::Update { changes }
                            }
                        }
                    }
                }
            }
        };
        if let Some(current) = &current {
            available.extend(current.outputs.clone());
        }
        planned.push(StackPlan {
            stack: name.to_owned(),
            kind: rendered.kind.to_string(),
            action,
        });
    }
    Ok(Plan {
        env: target.env().to_owned(),
        stacks: planned,
    })
}
