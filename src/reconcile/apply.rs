//! Apply and plan: bring an env's stacks (storage → auth → service) to their rendered
//! templates, passing each stack's outputs to later stacks as same-named parameters and
//! the artifact pins to the service stack. Owns the order, the lock's place in it, the
//! safety gates (protected confirmation, stateful replacement) and the reactions to stack
//! states. Must not parse arguments or print results (cmd/ does).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

use super::artifacts::{self, Artifacts, Pins, UploadReport};
use super::events::{RootCause, rollback_failures};
use super::lock::{self, HeldLock, LockRecord};
use super::plan::{Plan, StackAction, StackPlan, change_line, resources_of, stateful_replacements};
use super::progress::Ui;
use super::state::{Next, Operation, Settled, Situation, decide};
use super::waiter::{self, WaitError, Waited};
use crate::aws::cloudformation::{Cfn, ParamValue, ResourceChange, Stack};
use crate::aws::s3::Bucket;
use crate::config::Config;
use crate::exit::Refusal;
use crate::naming::StackKind;
use crate::render::{RenderedStack, cfn};

/// How many `--timeout`-bounded stack operations one deploy may run at most (see
/// `take_lock`).
const LOCK_OPERATIONS: u32 = 7;

/// Stack tags irisctl sets at run time and keeps as they are on an update, so a deploy that
/// changes nothing else stays a no-op (see docs/decisions.md).
pub const RUNTIME_TAGS: [&str; 3] = ["irisctl:version", "irisctl:commit", "irisctl:owner"];

/// How deploy may act.
#[derive(Debug, Clone)]
pub struct Options {
    pub yes: bool,
    pub allow_replace: Vec<String>,
    pub timeout: Duration,
    pub lock_timeout: Duration,
    /// A person can answer a prompt (stdin and stderr are terminals).
    pub can_prompt: bool,
    /// Who the lock names.
    pub owner: String,
}

/// The env being reconciled.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub config: &'a Config,
    pub stacks: Vec<RenderedStack>,
    /// Tags for new stacks (config tags + run-time tags).
    pub tags: BTreeMap<String, String>,
}

impl Target<'_> {
    fn stack(&self, kind: StackKind) -> anyhow::Result<&RenderedStack> {
        self.stacks
            .iter()
            .find(|s| s.kind == kind)
            .with_context(|| format!("internal: no rendered {kind} stack"))
    }

    fn env(&self) -> &str {
        &self.config.env
    }

    fn protected(&self) -> bool {
        self.config.protected.value
    }
}

/// What happened to one stack.
#[derive(Debug, Clone, Serialize)]
pub struct StackResult {
    pub stack: String,
    pub kind: String,
    /// `created`, `recreated`, `updated` or `no_changes`.
    pub result: &'static str,
    pub status: String,
    pub outputs: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ResourceChange>,
}

/// A stack operation that ended badly.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("stack {stack} failed: final state {status}{}{}",
    .root_cause.as_ref().map(|c| format!("; root cause: {c}")).unwrap_or_default(),
    .status_reason.as_ref().filter(|_| .root_cause.is_none()).map(|r| format!("; {r}")).unwrap_or_default())]
pub struct StackFailed {
    pub stack: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub root_cause: Option<RootCause>,
}

/// Everything deploy did, filled as it goes (so a failure still reports what came before).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeployReport {
    pub env: String,
    /// `succeeded`, `failed` (a stack operation failed), `refused` (safety gate or lock),
    /// `error`.
    pub outcome: String,
    pub stacks: Vec<StackResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploads: Option<UploadReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<StackFailed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where the env lock is kept while deploy runs, so an interrupted run can release it.
pub type LockSlot = std::sync::Arc<std::sync::Mutex<Option<HeldLock>>>;

/// Release whatever lock `slot` holds.
pub async fn release(slot: &LockSlot) -> anyhow::Result<()> {
    let held = slot
        .lock()
        .map_err(|_| anyhow::anyhow!("lock slot poisoned"))?
        .take();
    if let Some(held) = held {
        held.release().await?;
    }
    Ok(())
}

/// Asks a person to confirm; `true` only for an explicit yes.
pub type Confirm<'a> = &'a (dyn Fn(&str) -> bool + Sync);

enum Prepared {
    NoChanges,
    Changes {
        change_set: String,
        changes: Vec<ResourceChange>,
    },
}

/// The AWS side of a reconcile.
pub struct Reconciler<'a> {
    pub cfn: Cfn,
    pub s3: aws_sdk_s3::Client,
    pub ui: Ui,
    pub opts: Options,
    pub confirm: Confirm<'a>,
}

impl Reconciler<'_> {
    /// Deploy `target`. `report` records progress even when this returns an error.
    pub async fn deploy(
        &self,
        target: &Target<'_>,
        artifacts: Option<&Artifacts>,
        slot: &LockSlot,
        report: &mut DeployReport,
    ) -> anyhow::Result<()> {
        report.env = target.env().to_owned();
        let storage = target.stack(StackKind::Storage)?;
        let auth = target.stack(StackKind::Auth)?;
        let service = target.stack(StackKind::Service)?;

        // Refuse what cannot work before changing anything.
        if target.protected() && !self.opts.yes && !self.opts.can_prompt {
            return Err(Refusal::SafetyGate(format!(
                "env `{}` is protected and there is no terminal to confirm on; pass --yes to \
                 deploy without confirmation",
                target.env()
            ))
            .into());
        }
        if artifacts.is_none() && self.cfn.describe(&service.name).await?.is_none() {
            bail!(
                "stack {} does not exist yet, so deploy needs the artifacts it runs: pass \
                 --model DIR (model.bin + manifest.json) and --package DIR (lambda.zip)",
                service.name
            );
        }

        let mut available: BTreeMap<String, String> = BTreeMap::new();
        // The lock lives in the storage stack's bucket: lock first when the bucket exists,
        // otherwise right after the storage stack has created it.
        let before_lock = self.cfn.describe(&storage.name).await?;
        let mut storage_now = None;
        if let Some(current) = before_lock
            && !current.status.ends_with("_FAILED")
            && current.status != "ROLLBACK_COMPLETE"
            && let Some(bucket) = current.outputs.get("ModelBucketName")
        {
            let contended = self.take_lock(bucket, target.env(), slot).await?;
            // Won at the first try: nobody held the lock, so no irisctl run changed the
            // stack between that description and now (a stack change takes far longer
            // than one round trip, and runs under the lock). Otherwise describe again.
            if !contended {
                storage_now = Some(Some(current));
            }
        }
        let (result, _) = match storage_now {
            Some(described) => {
                self.reconcile_stack_from(target, storage, &available, described)
                    .await?
            }
            None => self.reconcile_stack(target, storage, &available).await?,
        };
        available.extend(result.outputs.clone());
        report.stacks.push(result);
        let bucket_name = available
            .get("ModelBucketName")
            .cloned()
            .with_context(|| format!("stack {} has no ModelBucketName output", storage.name))?;
        if slot.lock().map(|s| s.is_none()).unwrap_or(true) {
            self.take_lock(&bucket_name, target.env(), slot).await?;
        }

        // The auth stack and the artifacts do not depend on each other: reconcile the one
        // while the other is described and uploaded (on AWS, Cognito takes seconds and so
        // can a zip upload).
        let (auth_done, artifacts_done) = tokio::join!(
            self.reconcile_stack(target, auth, &available),
            self.prepare_service(&service.name, &bucket_name, artifacts)
        );
        let (result, _) = auth_done?;
        available.extend(result.outputs.clone());
        report.stacks.push(result);
        let (service_now, synced) = artifacts_done?;
        if let Some((pins, uploads)) = synced {
            available.extend(pins.parameters());
            report.uploads = Some(uploads);
        }

        let (result, stack) = self
            .reconcile_stack_from(target, service, &available, service_now)
            .await?;
        report.api_url = result.outputs.get("ApiUrl").cloned();
        report.model_sha256 = stack.parameters.get("ModelSha256").cloned();
        report.model_version_id = stack.parameters.get("ModelVersionId").cloned();
        report.stacks.push(result);
        Ok(())
    }

    /// Describe the service stack (once, under the lock: its parameters say which artifacts
    /// already run, and the same description starts its reconcile) and upload what it
    /// does not run yet.
    async fn prepare_service(
        &self,
        service: &str,
        bucket_name: &str,
        artifacts: Option<&Artifacts>,
    ) -> anyhow::Result<(Option<Stack>, Option<(Pins, UploadReport)>)> {
        let service_now = self.cfn.describe(service).await?;
        let Some(artifacts) = artifacts else {
            return Ok((service_now, None));
        };
        let bucket = Bucket::new(self.s3.clone(), bucket_name);
        let deployed = service_now
            .as_ref()
            .filter(|s| settled_healthy(&s.status))
            .map(|s| &s.parameters);
        let (pins, uploads) = artifacts::sync(&bucket, artifacts, true, deployed)
            .await
            .context("uploading the artifacts")?;
        for key in &uploads.uploaded {
            self.ui.say(&format!("uploaded s3://{bucket_name}/{key}"));
        }
        for key in &uploads.skipped {
            self.ui.say(&format!(
                "s3://{bucket_name}/{key} already there (same sha256), not uploaded"
            ));
        }
        Ok((service_now, Some((pins, uploads))))
    }

    /// Take the env lock when the env's bucket exists (recover and other commands that
    /// change existing stacks). Returns whether a lock was taken.
    pub async fn lock_existing(
        &self,
        target: &Target<'_>,
        slot: &LockSlot,
    ) -> anyhow::Result<bool> {
        let storage = target.stack(StackKind::Storage)?;
        let bucket = self
            .cfn
            .describe(&storage.name)
            .await?
            .and_then(|s| s.outputs.get("ModelBucketName").cloned());
        match bucket {
            Some(bucket) => {
                self.take_lock(&bucket, target.env(), slot).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Take the env lock into `slot`. Returns whether it was contended (see
    /// [`HeldLock::contended`]).
    async fn take_lock(&self, bucket: &str, env: &str, slot: &LockSlot) -> anyhow::Result<bool> {
        let bucket = Bucket::new(self.s3.clone(), bucket);
        // `--timeout` bounds each stack operation, and one deploy can run seven of them
        // (three stacks, each possibly deleted and recreated, plus the settle wait): the
        // lock must outlive all of them, or a second deploy could take over a healthy one.
        let record = LockRecord::for_this_process(
            &self.opts.owner,
            self.opts.timeout * LOCK_OPERATIONS + Duration::from_secs(300),
        );
        let say = |m: &str| self.ui.say(m);
        let held = lock::acquire(&bucket, env, record, self.opts.lock_timeout, &say).await?;
        let contended = held.contended;
        *slot
            .lock()
            .map_err(|_| anyhow::anyhow!("lock slot poisoned"))? = Some(held);
        Ok(contended)
    }

    /// Bring one stack to its rendered template.
    pub async fn reconcile_stack(
        &self,
        target: &Target<'_>,
        rendered: &RenderedStack,
        available: &BTreeMap<String, String>,
    ) -> anyhow::Result<(StackResult, Stack)> {
        let current = self.cfn.describe(&rendered.name).await?;
        self.reconcile_stack_from(target, rendered, available, current)
            .await
    }

    /// [`Self::reconcile_stack`] from `first`, a description of the stack taken under the
    /// lock; later rounds describe it again.
    async fn reconcile_stack_from(
        &self,
        target: &Target<'_>,
        rendered: &RenderedStack,
        available: &BTreeMap<String, String>,
        first: Option<Stack>,
    ) -> anyhow::Result<(StackResult, Stack)> {
        let name = rendered.name.as_str();
        let protected = target.protected();
        let mut recreated: Option<String> = None;
        let mut settle_waited = Duration::ZERO;
        let mut first = Some(first);
        loop {
            let current = match first.take() {
                Some(described) => described,
                None => self.cfn.describe(name).await?,
            };
            let situation = self.situation(target, name, current.as_ref()).await?;
            match decide(&situation) {
                Next::Create => {
                    let params = parameters(rendered, available, None)?;
                    let resources = resources_of(&rendered.body)?.len();
                    if protected && !self.opts.yes {
                        self.confirm_or_refuse(&format!(
                            "Create stack {name} ({resources} resources) in protected env `{}`?",
                            target.env()
                        ))?;
                    }
                    self.ui
                        .say(&format!("{name}: creating ({resources} resources)"));
                    let id = match self
                        .cfn
                        .create_stack(name, &rendered.body, &params, &target.tags)
                        .await
                    {
                        Err(err) if err.is_already_exists() => bail!(
                            "stack {name} was created by someone else a moment ago (another \
                             deploy of env `{}`?); run deploy again once it has finished",
                            target.env()
                        ),
                        other => other?,
                    };
                    let mut progress = self.ui.stack(name, "create", resources);
                    let waited = waiter::wait_stack(
                        &self.cfn,
                        &id,
                        name,
                        Operation::Create,
                        None,
                        self.opts.timeout,
                        &mut progress,
                    )
                    .await?;
                    check(&waited, name)?;
                    if protected {
                        self.cfn.set_termination_protection(name, true).await?;
                        self.ui
                            .say(&format!("{name}: termination protection enabled"));
                    }
                    let stack = self.settled_stack(name).await?;
                    self.ui.say(&format!("{name}: {}", stack.status));
                    let result = StackResult {
                        stack: name.to_owned(),
                        kind: rendered.kind.to_string(),
                        result: if recreated.is_some() {
                            "recreated"
                        } else {
                            "created"
                        },
                        status: stack.status.clone(),
                        outputs: stack.outputs.clone(),
                        changes: Vec::new(),
                    };
                    return Ok((result, stack));
                }
                Next::Recreate { why } => {
                    let current = current.context("internal: recreate without a stack")?;
                    self.ui.say(&format!(
                        "{name}: {why}; env `{}` is not protected, so deleting the stack and \
                         creating it again",
                        target.env()
                    ));
                    let boundary = self.cfn.newest_event_id(&current.id).await?;
                    self.cfn.delete_stack(&current.id).await?;
                    let mut progress = self.ui.stack(name, "delete", 0);
                    let waited = waiter::wait_stack(
                        &self.cfn,
                        &current.id,
                        name,
                        Operation::Delete,
                        boundary,
                        self.opts.timeout,
                        &mut progress,
                    )
                    .await?;
                    check(&waited, name)?;
                    recreated = Some(why);
                }
                Next::WaitToSettle => {
                    let current = current.context("internal: waiting without a stack")?;
                    let left = self.opts.lock_timeout.saturating_sub(settle_waited);
                    self.ui.say(&format!(
                        "{name}: {} (another operation is running); waiting up to {left:?} \
                         (--lock-timeout)",
                        current.status
                    ));
                    let started = Instant::now();
                    let boundary = self.cfn.newest_event_id(&current.id).await?;
                    let mut progress = self.ui.stack(name, "wait for", 0);
                    let waited = waiter::wait_stack(
                        &self.cfn,
                        &current.id,
                        name,
                        Operation::Other,
                        boundary,
                        left,
                        &mut progress,
                    )
                    .await;
                    settle_waited += started.elapsed();
                    if let Err(WaitError::Timeout { status, .. }) = waited {
                        return Err(Refusal::LockTimeout(format!(
                            "stack {name} is still {status} after {settle_waited:?}; another \
                             operation is running on it. Run deploy again later or raise \
                             --lock-timeout"
                        ))
                        .into());
                    }
                }
                Next::Refuse { message } => return Err(Refusal::SafetyGate(message).into()),
                Next::Stuck { message } => bail!(message),
                Next::Update => {
                    let current = current.context("internal: update without a stack")?;
                    return self
                        .update_stack(target, rendered, available, current)
                        .await;
                }
            }
        }
    }

    async fn situation<'s>(
        &self,
        target: &'s Target<'_>,
        name: &'s str,
        current: Option<&'s Stack>,
    ) -> anyhow::Result<Situation<'s>> {
        let resources = match current {
            Some(s) if s.status == "REVIEW_IN_PROGRESS" => {
                Some(self.cfn.resource_count(&s.id).await?)
            }
            _ => None,
        };
        Ok(Situation {
            env: &target.config.env,
            stack: name,
            region: &target.config.region.value,
            status: current.map(|s| s.status.as_str()),
            resources,
            protected: target.protected(),
            termination_protection: current.is_some_and(|s| s.termination_protection),
        })
    }

    async fn update_stack(
        &self,
        target: &Target<'_>,
        rendered: &RenderedStack,
        available: &BTreeMap<String, String>,
        current: Stack,
    ) -> anyhow::Result<(StackResult, Stack)> {
        let name = rendered.name.as_str();
        if target.protected() && !current.termination_protection {
            self.cfn.set_termination_protection(name, true).await?;
            self.ui
                .say(&format!("{name}: termination protection enabled"));
        }
        let params = parameters(rendered, available, Some(&current))?;
        let tags = update_tags(&target.tags, &current.tags);
        let result =
            |result: &'static str, stack: &Stack, changes: Vec<ResourceChange>| StackResult {
                stack: name.to_owned(),
                kind: rendered.kind.to_string(),
                result,
                status: stack.status.clone(),
                outputs: stack.outputs.clone(),
                changes,
            };
        if self.unchanged(rendered, &current, &params, &tags).await? {
            self.ui.say(&format!("{name}: no changes"));
            return Ok((result("no_changes", &current, Vec::new()), current));
        }
        let (change_set, changes) = match self
            .prepare_change_set(name, &rendered.body, &params, &tags)
            .await?
        {
            Prepared::NoChanges => {
                self.ui.say(&format!("{name}: no changes"));
                return Ok((result("no_changes", &current, Vec::new()), current));
            }
            Prepared::Changes {
                change_set,
                changes,
            } => (change_set, changes),
        };
        self.ui.say(&format!("{name}: {} changes", changes.len()));
        for c in &changes {
            self.ui.say(&format!("  {}", change_line(c)));
        }
        if target.protected() {
            let blocked = stateful_replacements(&changes, &self.opts.allow_replace);
            if !blocked.is_empty() {
                let ids: Vec<&str> = blocked.iter().map(|c| c.logical_id.as_str()).collect();
                self.discard_change_set(name, &change_set).await;
                return Err(Refusal::SafetyGate(format!(
                    "the change set for {name} would replace stateful resource(s) {} in \
                     protected env `{}` (a replacement loses their data); nothing was changed. \
                     If that is intended, deploy again with {}",
                    ids.join(", "),
                    target.env(),
                    ids.iter()
                        .map(|id| format!("--allow-replace {id}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ))
                .into());
            }
            if !self.opts.yes {
                let question = format!(
                    "Apply these {} changes to {name} in protected env `{}`?",
                    changes.len(),
                    target.env()
                );
                if let Err(err) = self.confirm_or_refuse(&question) {
                    self.discard_change_set(name, &change_set).await;
                    return Err(err);
                }
            }
        }
        let boundary = self.cfn.newest_event_id(&current.id).await?;
        self.cfn.execute_change_set(name, &change_set).await?;
        let mut progress = self.ui.stack(name, "update", changes.len());
        let waited = waiter::wait_stack(
            &self.cfn,
            &current.id,
            name,
            Operation::Update,
            boundary,
            self.opts.timeout,
            &mut progress,
        )
        .await?;
        check(&waited, name)?;
        let stack = self.settled_stack(name).await?;
        self.ui.say(&format!("{name}: {}", stack.status));
        Ok((result("updated", &stack, changes), stack))
    }

    /// True when the stack already runs exactly this template with these parameters and
    /// tags: then a change set could only say "no changes", and asking for one costs three
    /// calls and, on AWS, seconds. Anything not provably equal goes to a change set.
    async fn unchanged(
        &self,
        rendered: &RenderedStack,
        current: &Stack,
        params: &BTreeMap<String, ParamValue>,
        tags: &BTreeMap<String, String>,
    ) -> anyhow::Result<bool> {
        if !same_inputs(rendered, current, params, tags) {
            return Ok(false);
        }
        let deployed = self.cfn.template(&rendered.name).await?;
        Ok(deployed.as_deref() == Some(rendered.body.as_str()))
    }

    async fn settled_stack(&self, name: &str) -> anyhow::Result<Stack> {
        self.cfn
            .describe(name)
            .await?
            .with_context(|| format!("stack {name} vanished right after it settled"))
    }

    /// Create a change set and wait for CloudFormation to compute it. An empty one is
    /// deleted and reported as no changes.
    async fn prepare_change_set(
        &self,
        name: &str,
        body: &str,
        params: &BTreeMap<String, ParamValue>,
        tags: &BTreeMap<String, String>,
    ) -> anyhow::Result<Prepared> {
        let change_set = format!("irisctl-{}-{}", lock::now_ms(), std::process::id());
        match self
            .cfn
            .create_change_set(name, &change_set, body, params, tags)
            .await
        {
            Ok(_) => {}
            Err(err) if err.is_no_changes() => return Ok(Prepared::NoChanges),
            Err(err) => return Err(err.into()),
        }
        let note = |m: &str| self.ui.say(m);
        let set =
            waiter::wait_change_set(&self.cfn, name, &change_set, self.opts.timeout, &note).await?;
        if set.is_empty_failure() || (set.status == "CREATE_COMPLETE" && set.changes.is_empty()) {
            self.discard_change_set(name, &change_set).await;
            return Ok(Prepared::NoChanges);
        }
        if set.status != "CREATE_COMPLETE" {
            self.discard_change_set(name, &change_set).await;
            bail!(
                "CloudFormation could not compute the change set for {name}: {} {}",
                set.status,
                set.status_reason.unwrap_or_default()
            );
        }
        Ok(Prepared::Changes {
            change_set,
            changes: set.changes,
        })
    }

    /// Delete a change set irisctl will not execute. A failure only warns: the change set
    /// is inert and CloudFormation lists it for anyone to delete.
    async fn discard_change_set(&self, name: &str, change_set: &str) {
        if let Err(err) = self.cfn.delete_change_set(name, change_set).await {
            self.ui.say(&format!(
                "warning: could not delete change set {change_set} of {name}: {err}"
            ));
        }
    }

    fn confirm_or_refuse(&self, question: &str) -> anyhow::Result<()> {
        if !self.opts.can_prompt {
            return Err(Refusal::SafetyGate(format!(
                "{question} needs confirmation and there is no terminal; pass --yes"
            ))
            .into());
        }
        if (self.confirm)(question) {
            Ok(())
        } else {
            Err(Refusal::SafetyGate("not confirmed; nothing was changed".into()).into())
        }
    }

    /// What deploy would do, without changing anything (change sets are deleted again).
    pub async fn plan(
        &self,
        target: &Target<'_>,
        artifacts: Option<&Artifacts>,
    ) -> anyhow::Result<Plan> {
        let mut available: BTreeMap<String, String> = BTreeMap::new();
        let mut stacks = Vec::new();
        for rendered in &target.stacks {
            let name = rendered.name.as_str();
            let current = self.cfn.describe(name).await?;
            if rendered.kind == StackKind::Service
                && let (Some(artifacts), Some(bucket)) =
                    (artifacts, available.get("ModelBucketName"))
            {
                let bucket = Bucket::new(self.s3.clone(), bucket);
                let deployed = current
                    .as_ref()
                    .filter(|s| settled_healthy(&s.status))
                    .map(|s| &s.parameters);
                let (pins, _) = artifacts::sync(&bucket, artifacts, false, deployed).await?;
                available.extend(pins.parameters());
            }
            let situation = self.situation(target, name, current.as_ref()).await?;
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
                Next::Refuse { message } | Next::Stuck { message } => {
                    StackAction::Blocked { message }
                }
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
                            match self
                                .prepare_change_set(name, &rendered.body, &params, &tags)
                                .await?
                            {
                                Prepared::NoChanges => StackAction::NoChanges,
                                Prepared::Changes {
                                    change_set,
                                    changes,
                                } => {
                                    self.discard_change_set(name, &change_set).await;
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
            stacks.push(StackPlan {
                stack: name.to_owned(),
                kind: rendered.kind.to_string(),
                action,
            });
        }
        Ok(Plan {
            env: target.env().to_owned(),
            stacks,
        })
    }

    /// `irisctl recover`: continue the rollback of every UPDATE_ROLLBACK_FAILED stack,
    /// skipping `skip` (or, when empty, the resources whose rollback failed). Returns the
    /// stacks recovered.
    pub async fn recover(
        &self,
        target: &Target<'_>,
        skip: &[String],
    ) -> anyhow::Result<Vec<String>> {
        let mut recovered = Vec::new();
        for rendered in &target.stacks {
            let name = rendered.name.as_str();
            let Some(current) = self.cfn.describe(name).await? else {
                continue;
            };
            if current.status != "UPDATE_ROLLBACK_FAILED" {
                continue;
            }
            let mut events = self.cfn.events_since(&current.id, None).await?;
            events.reverse();
            let proposed = rollback_failures(&events, name);
            let to_skip = if skip.is_empty() {
                proposed.clone()
            } else {
                skip.to_vec()
            };
            self.ui.say(&format!(
                "{name} is UPDATE_ROLLBACK_FAILED; resources whose rollback failed: {}",
                if proposed.is_empty() {
                    "(none found in the events)".to_owned()
                } else {
                    proposed.join(", ")
                }
            ));
            self.ui.say(&format!(
                "continuing the rollback, skipping: {} (skipped resources are left as they are \
                 and may no longer match the template; fix them by hand afterwards)",
                if to_skip.is_empty() {
                    "nothing".to_owned()
                } else {
                    to_skip.join(", ")
                }
            ));
            if !self.opts.yes {
                self.confirm_or_refuse(&format!("Continue the rollback of {name}?"))?;
            }
            let boundary = self.cfn.newest_event_id(&current.id).await?;
            self.cfn.continue_update_rollback(name, &to_skip).await?;
            let mut progress = self.ui.stack(name, "roll back", 0);
            let waited = waiter::wait_stack(
                &self.cfn,
                &current.id,
                name,
                Operation::Rollback,
                boundary,
                self.opts.timeout,
                &mut progress,
            )
            .await?;
            check(&waited, name)?;
            recovered.push(name.to_owned());
        }
        Ok(recovered)
    }
}

/// A stack whose last operation finished and left it running what its parameters say
/// (not a failed create, not mid-operation), so its artifact pins can be trusted.
fn settled_healthy(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" | "IMPORT_COMPLETE"
    )
}

/// A failed operation → [`StackFailed`] with its root cause.
fn check(waited: &Waited, stack: &str) -> anyhow::Result<()> {
    match waited.settled {
        Settled::Succeeded => Ok(()),
        Settled::Failed => Err(StackFailed {
            stack: stack.to_owned(),
            status: waited.status.clone(),
            status_reason: waited.status_reason.clone(),
            root_cause: waited.root_cause.clone(),
        }
        .into()),
    }
}

/// The parameters to send: every declared one that an earlier stack (or the artifact pins)
/// provides; otherwise the stack's previous value; otherwise the template's default.
pub fn parameters(
    rendered: &RenderedStack,
    available: &BTreeMap<String, String>,
    current: Option<&Stack>,
) -> anyhow::Result<BTreeMap<String, ParamValue>> {
    let doc = cfn::parse(&rendered.body)?;
    let has_default = |name: &str| {
        doc.get("Parameters")
            .and_then(|p| p.get(name))
            .and_then(|p| p.get("Default"))
            .is_some()
    };
    let mut params = BTreeMap::new();
    let mut missing = Vec::new();
    for name in &rendered.parameters_declared {
        if let Some(value) = available.get(name) {
            params.insert(name.clone(), ParamValue::Value(value.clone()));
        } else if current.is_some_and(|s| s.parameters.contains_key(name)) {
            params.insert(name.clone(), ParamValue::UsePrevious);
        } else if !has_default(name) {
            missing.push(name.as_str());
        }
    }
    if !missing.is_empty() {
        let hint = if missing.iter().any(|m| Pins::NAMES.contains(m)) {
            "; the artifact parameters come from --model DIR and --package DIR"
        } else {
            "; they come from the earlier stacks' outputs"
        };
        bail!(
            "stack {} needs parameter(s) {} that nothing provides{hint}",
            rendered.name,
            missing.join(", ")
        );
    }
    Ok(params)
}

/// Whether parameters and tags equal the stack's (every declared parameter sent, with the
/// stack's value or "use previous", and nothing left to a default).
pub fn same_inputs(
    rendered: &RenderedStack,
    current: &Stack,
    params: &BTreeMap<String, ParamValue>,
    tags: &BTreeMap<String, String>,
) -> bool {
    let params_same = rendered.parameters_declared.len() == current.parameters.len()
        && rendered.parameters_declared.iter().all(|name| {
            match (params.get(name), current.parameters.get(name)) {
                (Some(ParamValue::Value(v)), Some(old)) => v == old,
                (Some(ParamValue::UsePrevious), Some(_)) => true,
                _ => false,
            }
        });
    params_same && &current.tags == tags
}

/// Tags for an update: the desired ones, but run-time tags keep the stack's values.
pub fn update_tags(
    desired: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut tags = desired.clone();
    for key in RUNTIME_TAGS {
        match current.get(key) {
            Some(value) => {
                tags.insert(key.to_owned(), value.clone());
            }
            None => {
                tags.remove(key);
            }
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::StackKind;

    fn rendered(body: &str, declared: &[&str]) -> RenderedStack {
        RenderedStack {
            name: "iris-dev-service".into(),
            kind: StackKind::Service,
            body: body.into(),
            parameters_declared: declared.iter().map(|s| s.to_string()).collect(),
        }
    }

    const BODY: &str = "Parameters:\n  ModelBucketName:\n    Type: String\n  ModelVersionId:\n    Type: String\n    Default: \"\"\n  ModelKey:\n    Type: String\nResources:\n  T:\n    Type: AWS::SNS::Topic\n";

    fn stack_with(params: &[&str]) -> Stack {
        Stack {
            name: "iris-dev-service".into(),
            id: "id".into(),
            status: "UPDATE_COMPLETE".into(),
            status_reason: None,
            outputs: BTreeMap::new(),
            parameters: params
                .iter()
                .map(|p| (p.to_string(), "old".into()))
                .collect(),
            tags: BTreeMap::new(),
            termination_protection: false,
        }
    }

    #[test]
    fn parameters_take_outputs_then_previous_values_then_defaults() {
        let r = rendered(BODY, &["ModelBucketName", "ModelKey", "ModelVersionId"]);
        let available: BTreeMap<String, String> = [
            ("ModelBucketName".to_string(), "b".to_string()),
            ("NotDeclared".to_string(), "x".to_string()),
        ]
        .into();
        let current = stack_with(&["ModelKey"]);
        let p = parameters(&r, &available, Some(&current)).expect("params");
        assert_eq!(p["ModelBucketName"], ParamValue::Value("b".into()));
        assert_eq!(p["ModelKey"], ParamValue::UsePrevious);
        assert!(!p.contains_key("ModelVersionId"), "defaulted");
        assert!(
            !p.contains_key("NotDeclared"),
            "only declared ones are passed"
        );
    }

    #[test]
    fn missing_parameters_name_where_they_come_from() {
        let r = rendered(BODY, &["ModelBucketName", "ModelKey", "ModelVersionId"]);
        let err = parameters(&r, &BTreeMap::new(), None).expect_err("missing");
        let text = format!("{err:#}");
        assert!(text.contains("ModelBucketName, ModelKey"), "{text}");
        assert!(text.contains("--model DIR and --package DIR"), "{text}");
    }

    #[test]
    fn same_inputs_only_when_every_parameter_and_tag_matches() {
        let r = rendered(BODY, &["ModelBucketName", "ModelKey"]);
        let mut current = stack_with(&["ModelBucketName", "ModelKey"]);
        current.tags = [("team".to_string(), "a".to_string())].into();
        let tags = current.tags.clone();
        let mut params: BTreeMap<String, ParamValue> = [
            (
                "ModelBucketName".to_string(),
                ParamValue::Value("old".into()),
            ),
            ("ModelKey".to_string(), ParamValue::UsePrevious),
        ]
        .into();
        assert!(same_inputs(&r, &current, &params, &tags));
        params.insert("ModelBucketName".into(), ParamValue::Value("new".into()));
        assert!(
            !same_inputs(&r, &current, &params, &tags),
            "a changed value"
        );
        params.insert("ModelBucketName".into(), ParamValue::Value("old".into()));
        let other_tags: BTreeMap<String, String> = [("team".to_string(), "b".to_string())].into();
        assert!(
            !same_inputs(&r, &current, &params, &other_tags),
            "a changed tag"
        );
        params.remove("ModelKey");
        assert!(
            !same_inputs(&r, &current, &params, &tags),
            "a parameter left to its default"
        );
    }

    #[test]
    fn update_tags_keep_runtime_tags_of_the_stack() {
        let desired: BTreeMap<String, String> = [
            ("irisctl:env".to_string(), "dev".to_string()),
            ("irisctl:version".to_string(), "0.2.0".to_string()),
            ("irisctl:owner".to_string(), "bob".to_string()),
            ("team".to_string(), "new".to_string()),
        ]
        .into();
        let current: BTreeMap<String, String> = [
            ("irisctl:version".to_string(), "0.1.0".to_string()),
            ("team".to_string(), "old".to_string()),
        ]
        .into();
        let tags = update_tags(&desired, &current);
        assert_eq!(tags["irisctl:version"], "0.1.0");
        assert_eq!(tags["team"], "new");
        assert!(!tags.contains_key("irisctl:owner"));
        assert_eq!(tags["irisctl:env"], "dev");
    }

    #[test]
    fn stack_failed_names_state_and_root_cause() {
        let failed = StackFailed {
            stack: "iris-dev-service".into(),
            status: "ROLLBACK_COMPLETE".into(),
            status_reason: Some("summary".into()),
            root_cause: Some(RootCause {
                logical_id: "Function".into(),
                resource_type: "AWS::Lambda::Function".into(),
                status: "CREATE_FAILED".into(),
                reason: "NoSuchBucket".into(),
            }),
        };
        let text = failed.to_string();
        assert_eq!(
            text,
            "stack iris-dev-service failed: final state ROLLBACK_COMPLETE; root cause: Function (AWS::Lambda::Function) CREATE_FAILED: NoSuchBucket"
        );
    }
}
