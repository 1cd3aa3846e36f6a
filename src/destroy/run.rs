//! The destroy sequence over AWS. Order, and why:
//! 1. Describe the env's three stacks; none left → success ("nothing to destroy").
//! 2. Refuse before changing anything when a stack has termination protection and the
//!    env was not confirmed as protected (the command to lift it is in the message).
//! 3. Take the env lock (it lives in the model bucket), so no deploy runs meanwhile.
//! 4. Delete service, then auth, waiting for each: nothing uses the data any more.
//! 5. Empty the model bucket, the log bucket and the repository, then delete storage.
//!    Emptying comes last so a destroy that fails earlier leaves the data in place.
//!    Retained resources (protected envs: `DeletionPolicy: Retain`) are neither emptied
//!    nor deleted: CloudFormation keeps them by design, and destroy names them.
//!
//! Every step treats "already gone" as done, so a rerun finishes a partial destroy.

use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use super::{bucket, repository};
use crate::aws::cloudformation::{Cfn, Stack};
use crate::aws::s3::Bucket;
use crate::naming::StackKind;
use crate::reconcile::apply::StackFailed;
use crate::reconcile::lock::{self, HeldLock, LockRecord};
use crate::reconcile::progress::Ui;
use crate::reconcile::state::{Operation, Settled};
use crate::reconcile::waiter;
use crate::render::RenderedStack;

/// What destroy needs to know about the env.
#[derive(Debug, Clone)]
pub struct Target {
    pub env: String,
    /// The env's stacks in deployment order (storage, auth, service).
    pub stacks: Vec<RenderedStack>,
    /// Stateful resources are `DeletionPolicy: Retain` (protected envs).
    pub retain: bool,
    /// A person typed the env name back for a protected env: termination protection
    /// may be lifted.
    pub protected_confirmed: bool,
}

/// The AWS side of destroy.
pub struct Destroyer {
    pub cfn: Cfn,
    pub s3: aws_sdk_s3::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub ui: Ui,
    pub owner: String,
    pub timeout: Duration,
    pub lock_timeout: Duration,
}

/// What destroy did, filled as it goes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DestroyReport {
    pub env: String,
    /// `destroyed`, `nothing to destroy`, `failed`, `refused`, `error`.
    pub outcome: String,
    pub stacks: Vec<StackDeleted>,
    pub emptied: Vec<Emptied>,
    /// Resources left in place on purpose (Retain), with what they are.
    pub kept: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<StackFailed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackDeleted {
    pub stack: String,
    /// State before destroy touched it (None: did not exist).
    pub was: Option<String>,
    /// `deleted` or `absent`.
    pub result: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Emptied {
    /// `bucket` or `repository`.
    pub kind: &'static str,
    pub name: String,
    pub deleted: usize,
    /// It did not exist (already deleted, or an emulator placeholder).
    pub missing: bool,
}

impl Destroyer {
    pub async fn destroy(&self, target: &Target, report: &mut DestroyReport) -> anyhow::Result<()> {
        report.env = target.env.clone();
        let mut current: Vec<(&RenderedStack, Option<Stack>)> = Vec::new();
        for rendered in &target.stacks {
            let stack = self.cfn.describe(&rendered.name).await?;
            current.push((rendered, stack));
        }
        if current.iter().all(|(_, s)| s.is_none()) {
            report.outcome = "nothing to destroy".into();
            for (rendered, _) in &current {
                report.stacks.push(StackDeleted {
                    stack: rendered.name.clone(),
                    was: None,
                    result: "absent".into(),
                });
            }
            return Ok(());
        }
        self.check_termination_protection(target, &current).await?;
        let storage_outputs = current
            .iter()
            .find(|(r, _)| r.kind == StackKind::Storage)
            .and_then(|(_, s)| s.as_ref())
            .map(|s| s.outputs.clone())
            .unwrap_or_default();
        let mut held = match storage_outputs.get("ModelBucketName") {
            Some(name) => self.take_lock(name, &target.env).await?,
            None => None,
        };
        let outcome = self.delete_all(target, &current, &mut held, report).await;
        if let Some(held) = held
            && let Err(err) = held.release().await
        {
            self.ui.say(&format!(
                "warning: could not release the lock of env `{}`: {err}",
                target.env
            ));
        }
        outcome?;
        report.outcome = "destroyed".into();
        Ok(())
    }

    async fn delete_all(
        &self,
        target: &Target,
        current: &[(&RenderedStack, Option<Stack>)],
        held: &mut Option<HeldLock>,
        report: &mut DestroyReport,
    ) -> anyhow::Result<()> {
        for (rendered, stack) in current.iter().rev() {
            let Some(stack) = stack else {
                report.stacks.push(StackDeleted {
                    stack: rendered.name.clone(),
                    was: None,
                    result: "absent".into(),
                });
                continue;
            };
            if rendered.kind == StackKind::Storage {
                if target.retain {
                    report.kept.extend(kept(&stack.outputs));
                } else {
                    // Emptying deletes the lock object with everything else; after that
                    // there is no bucket left for a deploy to use.
                    held.take();
                    self.empty_storage(&stack.outputs, report).await?;
                }
            }
            self.delete_stack(stack).await.inspect_err(|err| {
                if let Some(failed) = err.downcast_ref::<StackFailed>() {
                    report.failure = Some(failed.clone());
                }
            })?;
            report.stacks.push(StackDeleted {
                stack: stack.name.clone(),
                was: Some(stack.status.clone()),
                result: "deleted".into(),
            });
        }
        Ok(())
    }

    async fn check_termination_protection(
        &self,
        target: &Target,
        current: &[(&RenderedStack, Option<Stack>)],
    ) -> anyhow::Result<()> {
        for stack in current.iter().filter_map(|(_, s)| s.as_ref()) {
            if !stack.termination_protection {
                continue;
            }
            if !target.protected_confirmed {
                return Err(crate::exit::Refusal::SafetyGate(format!(
                    "stack {} has termination protection on, and env `{}` is not a protected \
                     env whose destruction you confirmed. If it really should go, lift it with \
                     `aws cloudformation update-termination-protection \
                     --no-enable-termination-protection --stack-name {}` and run destroy again",
                    stack.name, target.env, stack.name
                ))
                .into());
            }
            self.ui.say(&format!(
                "{}: turning termination protection off (destruction of protected env `{}` \
                 confirmed)",
                stack.name, target.env
            ));
            self.cfn
                .set_termination_protection(&stack.id, false)
                .await?;
        }
        Ok(())
    }

    /// The env lock, or `None` when the model bucket is already gone (a rerun).
    async fn take_lock(&self, bucket: &str, env: &str) -> anyhow::Result<Option<HeldLock>> {
        let bucket = Bucket::new(self.s3.clone(), bucket);
        let record =
            LockRecord::for_this_process(&self.owner, self.timeout + Duration::from_secs(300));
        let say = |m: &str| self.ui.say(m);
        match lock::acquire(&bucket, env, record, self.lock_timeout, &say).await {
            Ok(held) => Ok(Some(held)),
            Err(err) if is_missing_bucket(&err) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn empty_storage(
        &self,
        outputs: &std::collections::BTreeMap<String, String>,
        report: &mut DestroyReport,
    ) -> anyhow::Result<()> {
        for key in ["ModelBucketName", "LogBucketName"] {
            let Some(name) = outputs.get(key) else {
                continue;
            };
            self.ui.say(&format!(
                "emptying bucket {name} (every version and delete marker)"
            ));
            let done = bucket::empty(&self.s3, name)
                .await
                .with_context(|| format!("emptying bucket {name} ({key})"))?;
            report.emptied.push(Emptied {
                kind: "bucket",
                name: name.clone(),
                deleted: done.deleted,
                missing: done.missing,
            });
        }
        if let Some(name) = outputs.get("RepositoryName") {
            self.ui.say(&format!("emptying repository {name}"));
            let done = repository::empty(&self.ecr, name)
                .await
                .with_context(|| format!("emptying repository {name}"))?;
            report.emptied.push(Emptied {
                kind: "repository",
                name: name.clone(),
                deleted: done.deleted,
                missing: done.missing,
            });
        }
        Ok(())
    }

    /// Delete one stack and wait until it is gone; first let any other operation settle.
    async fn delete_stack(&self, stack: &Stack) -> anyhow::Result<()> {
        let name = &stack.name;
        if stack.status.ends_with("_IN_PROGRESS") && stack.status != "DELETE_IN_PROGRESS" {
            self.ui.say(&format!(
                "{name}: {} (another operation is running); waiting for it to settle",
                stack.status
            ));
            let boundary = self.cfn.newest_event_id(&stack.id).await?;
            let mut progress = self.ui.stack(name, "wait for", 0);
            waiter::wait_stack(
                &self.cfn,
                &stack.id,
                name,
                Operation::Other,
                boundary,
                self.lock_timeout,
                &mut progress,
            )
            .await?;
        }
        let boundary = self.cfn.newest_event_id(&stack.id).await?;
        if stack.status != "DELETE_IN_PROGRESS" {
            self.cfn.delete_stack(&stack.id).await?;
        }
        let mut progress = self.ui.stack(name, "delete", 0);
        let waited = waiter::wait_stack(
            &self.cfn,
            &stack.id,
            name,
            Operation::Delete,
            boundary,
            self.timeout,
            &mut progress,
        )
        .await?;
        match waited.settled {
            Settled::Succeeded => Ok(()),
            Settled::Failed => Err(StackFailed {
                stack: name.clone(),
                status: waited.status,
                status_reason: waited.status_reason,
                root_cause: waited.root_cause,
            })
            .with_context(|| {
                format!("deleting stack {name}; fix the cause and run the same destroy again")
            }),
        }
    }
}

/// The retained resources a storage stack leaves behind, as lines for the person.
fn kept(outputs: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    let mut kept = Vec::new();
    for (key, what) in [
        ("ModelBucketName", "model bucket"),
        ("LogBucketName", "access-log bucket"),
        ("RepositoryName", "ECR repository"),
        ("KmsKeyArn", "KMS key"),
    ] {
        if let Some(name) = outputs.get(key) {
            kept.push(format!("{what} {name}"));
        }
    }
    kept
}

fn is_missing_bucket(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<crate::aws::s3::S3Error>()
            .is_some_and(|s| s.code.as_deref() == Some("NoSuchBucket"))
            || e.downcast_ref::<lock::LockError>().is_some_and(|l| {
                matches!(l, lock::LockError::S3(s) if s.code.as_deref() == Some("NoSuchBucket"))
            })
    })
}
