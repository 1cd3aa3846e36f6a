//! The destroy sequence over AWS. Order, and why:
//! 1. Describe the env's three stacks; none left → success ("nothing to destroy").
//! 2. Refuse before changing anything when a stack has termination protection and the
//!    env was not confirmed as protected (the command to lift it is in the message).
//! 3. Take the env lock (it lives in the model bucket), so no deploy runs meanwhile, and
//!    renew it while the stack deletions are waited for.
//! 4. Delete service, then auth, waiting for each: nothing uses the data any more.
//! 5. Turn off the model bucket's access logging, empty both buckets (all but the lock
//!    object) and the repository; then the final emptying pass: the lock is released and
//!    every version and delete marker left (its own, a late access-log record) removed,
//!    immediately before DeleteStack, so CloudFormation always meets empty buckets. A
//!    deploy that won the lock in between finds the storage stack being deleted and
//!    stops (deploy::run). A BucketNotEmpty all the same (access-log records S3 delivers
//!    late) is emptied and retried once.
//!    Emptying comes last so a destroy that fails earlier leaves the data in place.
//!    Retained resources (protected envs: `DeletionPolicy: Retain`) are neither emptied
//!    nor deleted: CloudFormation keeps them by design, and destroy names them.
//!
//! Every step treats "already gone" as done, so a rerun finishes a partial destroy.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use super::{bucket, repository};
use crate::aws::cloudformation::Stack;
use crate::aws::s3::{Bucket, VersionRef};
use crate::contract::storage::{KMS_KEY_ARN, LOG_BUCKET_NAME, MODEL_BUCKET_NAME, REPOSITORY_NAME};
use crate::naming::StackKind;
use crate::render::RenderedStack;
use crate::stack::lock::{self, HeldLock, LockSlot};
use crate::stack::{StackFailed, Stacks};

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

/// How many `--timeout`-bounded stack operations the env lock is held for during a
/// destroy (see [`lock::hold_for`]).
const LOCK_OPERATIONS: u32 = 1;

/// The AWS side of destroy: the stack layer for the stacks, S3 and ECR for emptying.
pub struct Destroyer {
    pub stacks: Stacks,
    pub s3: aws_sdk_s3::Client,
    pub ecr: aws_sdk_ecr::Client,
    /// Who the lock names.
    pub owner: String,
    /// How long to wait for the env lock, or for another operation on a stack to settle.
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
    /// What was still there afterwards (`destroy::teardown`); absent when destroy failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<super::receipt::Receipt>,
}

impl DestroyReport {
    /// Count what one emptying pass deleted; passes over the same bucket or repository add
    /// up in one row.
    fn add_emptied(&mut self, kind: &'static str, name: &str, deleted: usize, missing: bool) {
        match self
            .emptied
            .iter_mut()
            .find(|e| e.kind == kind && e.name == name)
        {
            Some(row) => {
                row.deleted += deleted;
                row.missing &= missing;
            }
            None => self.emptied.push(Emptied {
                kind,
                name: name.to_owned(),
                deleted,
                missing,
            }),
        }
    }
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
            let stack = self.stacks.describe(&rendered.name).await?;
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
        let lock_bucket = current
            .iter()
            .find(|(r, _)| r.kind == StackKind::Storage)
            .and_then(|(_, s)| s.as_ref())
            .and_then(lock::bucket_of);
        let slot = LockSlot::default();
        if let Some(name) = lock_bucket
            && let Some(held) = self.take_lock(name, &target.env).await?
        {
            lock::keep(&slot, held)?;
        }
        // The lock is renewed while the deletions are waited for; a renewal that finds
        // another holder stops the destroy before it starts another stack operation.
        let outcome = lock::renewing(
            &slot,
            &target.env,
            lock::RENEW_EVERY,
            self.delete_all(target, &current, &slot, report),
        )
        .await;
        if let Err(err) = lock::release(&slot).await {
            self.stacks.ui.say(&format!(
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
        slot: &LockSlot,
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
                    self.delete_storage(stack, slot, report).await?;
                    report.stacks.push(StackDeleted {
                        stack: stack.name.clone(),
                        was: Some(stack.status.clone()),
                        result: "deleted".into(),
                    });
                    continue;
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
            self.stacks.ui.say(&format!(
                "{}: turning termination protection off (destruction of protected env `{}` \
                 confirmed)",
                stack.name, target.env
            ));
            self.stacks
                .cfn
                .set_termination_protection(&stack.id, false)
                .await?;
        }
        Ok(())
    }

    /// The env lock, or `None` when the model bucket is already gone (a rerun).
    async fn take_lock(&self, bucket: &str, env: &str) -> anyhow::Result<Option<HeldLock>> {
        let bucket = Bucket::new(self.s3.clone(), bucket);
        let hold = lock::hold_for(LOCK_OPERATIONS, self.stacks.timeout);
        match lock::take(
            &bucket,
            env,
            &self.owner,
            hold,
            self.lock_timeout,
            &self.stacks.ui,
        )
        .await
        {
            Ok(held) => Ok(Some(held)),
            Err(err) if is_missing_bucket(&err) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Empty and delete the storage stack. Access logging off first (emptying must not
    /// write new records into the log bucket), every object but the lock removed while the
    /// lock is held, then the final emptying pass: the lock released and whatever is left
    /// removed (the lock's own versions and delete markers, anything written meanwhile),
    /// and DeleteStack right after it. The lock must be gone before CloudFormation deletes
    /// the bucket: AWS refuses a bucket that holds any version or delete marker
    /// (BucketNotEmpty), and LocalStack then leaves it behind and reports the stack
    /// deleted. S3 delivers access-log records late (best effort), so a bucket can still
    /// be refused with BucketNotEmpty (stack DELETE_FAILED): then both buckets are emptied
    /// again and the delete retried once.
    async fn delete_storage(
        &self,
        stack: &Stack,
        slot: &LockSlot,
        report: &mut DestroyReport,
    ) -> anyhow::Result<()> {
        self.stop_access_logging(&stack.outputs).await;
        // Every version of the lock's key is kept: a renewal during the emptying writes a
        // new one.
        let keep = slot
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(HeldLock::key).map(str::to_owned))
            .map(|key| VersionRef {
                key,
                version_id: None,
            });
        self.empty_storage(&stack.outputs, keep.as_ref(), report)
            .await?;
        if let Err(err) = lock::release(slot).await {
            self.stacks.ui.say(&format!(
                "warning: could not release the env lock before deleting {} ({err}); the \
                 final emptying pass removes it",
                stack.name
            ));
        }
        self.empty_buckets(&stack.outputs, None, report).await?;
        let first = self.delete_stack(stack).await;
        let Err(err) = first else {
            return Ok(());
        };
        if !is_bucket_not_empty(&err) {
            return Err(self.record_failure(err, report));
        }
        self.stacks.ui.say(&format!(
            "{}: a bucket was not empty when CloudFormation deleted it (late access-log \
             records, or an object written meanwhile); emptying again and retrying once",
            stack.name
        ));
        let again = self
            .stacks
            .describe(&stack.id)
            .await?
            .unwrap_or_else(|| stack.clone());
        self.empty_buckets(&stack.outputs, None, report).await?;
        let first_cause = err
            .chain()
            .find_map(|e| e.downcast_ref::<StackFailed>())
            .and_then(|f| f.root_cause.as_ref())
            .map(ToString::to_string)
            .unwrap_or_default();
        self.delete_stack(&again).await.map_err(|retry| {
            self.record_failure(retry, report).context(format!(
                "retried once after emptying the buckets again; the first attempt failed \
                 with {first_cause}"
            ))
        })
    }

    /// Turn off server access logging on the model bucket (the bucket whose emptying
    /// would be logged). A failure only warns: the BucketNotEmpty retry still covers it.
    async fn stop_access_logging(&self, outputs: &BTreeMap<String, String>) {
        let Some(name) = outputs.get(MODEL_BUCKET_NAME) else {
            return;
        };
        let bucket = Bucket::new(self.s3.clone(), name);
        match bucket.disable_access_logging().await {
            Ok(()) => self.stacks.ui.say(&format!(
                "bucket {name}: access logging off before emptying"
            )),
            Err(err) if err.is_missing_bucket() => {}
            Err(err) => self.stacks.ui.say(&format!(
                "warning: could not turn off access logging on bucket {name} ({err}); \
                 late log records may need the retry"
            )),
        }
    }

    fn record_failure(&self, err: anyhow::Error, report: &mut DestroyReport) -> anyhow::Error {
        if let Some(failed) = err.downcast_ref::<StackFailed>() {
            report.failure = Some(failed.clone());
        }
        err
    }

    /// Empty both buckets (keeping `keep` in the model bucket) and the repository.
    async fn empty_storage(
        &self,
        outputs: &BTreeMap<String, String>,
        keep: Option<&VersionRef>,
        report: &mut DestroyReport,
    ) -> anyhow::Result<()> {
        self.empty_buckets(outputs, keep, report).await?;
        if let Some(name) = outputs.get(REPOSITORY_NAME) {
            self.stacks.ui.say(&format!("emptying repository {name}"));
            let done = repository::empty(&self.ecr, name)
                .await
                .with_context(|| format!("emptying repository {name}"))?;
            report.add_emptied("repository", name, done.deleted, done.missing);
        }
        Ok(())
    }

    /// Empty the model and log buckets, every version and delete marker but `keep`.
    async fn empty_buckets(
        &self,
        outputs: &BTreeMap<String, String>,
        keep: Option<&VersionRef>,
        report: &mut DestroyReport,
    ) -> anyhow::Result<()> {
        for key in [MODEL_BUCKET_NAME, LOG_BUCKET_NAME] {
            let Some(name) = outputs.get(key) else {
                continue;
            };
            self.stacks.ui.say(&format!(
                "emptying bucket {name} (every version and delete marker)"
            ));
            // The lock lives in the model bucket only.
            let keep = keep.filter(|_| key == MODEL_BUCKET_NAME);
            let done = bucket::empty_keeping(&self.s3, name, keep)
                .await
                .with_context(|| format!("emptying bucket {name} ({key})"))?;
            report.add_emptied("bucket", name, done.deleted, done.missing);
        }
        Ok(())
    }

    /// Delete one stack and wait until it is gone; first let any other operation settle.
    async fn delete_stack(&self, stack: &Stack) -> anyhow::Result<()> {
        let name = &stack.name;
        if stack.status.ends_with("_IN_PROGRESS") && stack.status != "DELETE_IN_PROGRESS" {
            self.stacks.ui.say(&format!(
                "{name}: {} (another operation is running); waiting for it to settle",
                stack.status
            ));
            self.stacks.wait_to_settle(stack, self.lock_timeout).await?;
        }
        // A failed delete says what to do next; other errors already say what failed.
        self.stacks.delete(stack).await.map_err(|err| {
            if err.is::<StackFailed>() {
                err.context(format!(
                    "deleting stack {name}; fix the cause and run the same destroy again"
                ))
            } else {
                err
            }
        })
    }
}

/// The retained resources a storage stack leaves behind, as lines for the person.
fn kept(outputs: &BTreeMap<String, String>) -> Vec<String> {
    let mut kept = Vec::new();
    for (key, what) in [
        (MODEL_BUCKET_NAME, "model bucket"),
        (LOG_BUCKET_NAME, "access-log bucket"),
        (REPOSITORY_NAME, "ECR repository"),
        (KMS_KEY_ARN, "KMS key"),
    ] {
        if let Some(name) = outputs.get(key) {
            kept.push(format!("{what} {name}"));
        }
    }
    kept
}

/// The stack's delete failed because S3 refused a non-empty bucket. CloudFormation's
/// resource event then reads "The bucket you tried to delete is not empty (Service: S3,
/// Status Code: 409 ...)", S3's BucketNotEmpty (409) answer to DeleteBucket.
fn is_bucket_not_empty(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<StackFailed>()
            .and_then(|f| f.root_cause.as_ref())
            .is_some_and(|c| {
                c.resource_type == "AWS::S3::Bucket"
                    && (c.reason.contains("BucketNotEmpty") || c.reason.contains("is not empty"))
            })
    })
}

fn is_missing_bucket(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<crate::aws::s3::S3Error>()
            .is_some_and(|s| s.is_missing_bucket())
            || e.downcast_ref::<lock::LockError>()
                .is_some_and(|l| matches!(l, lock::LockError::S3(s) if s.is_missing_bucket()))
    })
}
