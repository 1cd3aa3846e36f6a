//! The deploy sequence: refuse what cannot work before changing anything, take the env
//! lock (before touching anything when the storage stack's bucket exists, otherwise right
//! after the storage stack has created it), reconcile storage, then auth while the
//! artifacts are uploaded, then service with the artifact pins.

use std::collections::BTreeMap;

use anyhow::{Context, bail};

use super::artifacts::{self, Artifacts, Code, Pins, UploadReport};
use super::report::RolloutStart;
use super::{DeployReport, Deployer, LOCK_OPERATIONS, Target};
use crate::aws::cloudformation::Stack;
use crate::aws::ecr::Ecr;
use crate::aws::s3::Bucket;
use crate::contract;
use crate::exit::Refusal;
use crate::image::push::Pushed;
use crate::naming::StackKind;
use crate::rollout;
use crate::stack::lock::{self, LockSlot};
use crate::stack::state::settled_healthy;

/// What the service stack's artifacts came to: their pins, the S3 uploads, the image push.
type Prepared = (Pins, UploadReport, Option<Pushed>);

impl Deployer<'_> {
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
        if target.protected() && !self.approval.yes && !self.approval.can_prompt {
            return Err(Refusal::SafetyGate(format!(
                "env `{}` is protected and there is no terminal to confirm on; pass --yes to \
                 deploy without confirmation",
                target.env()
            ))
            .into());
        }
        if artifacts.is_none() && self.stacks.describe(&service.name).await?.is_none() {
            bail!(
                "stack {} does not exist yet, so deploy needs the artifacts it runs: pass \
                 --model DIR (model.bin + manifest.json) and --package DIR (lambda.zip)",
                service.name
            );
        }

        let mut available: BTreeMap<String, String> = BTreeMap::new();
        // The lock lives in the storage stack's bucket: lock first when the bucket exists,
        // otherwise right after the storage stack has created it.
        let before_lock = self.stacks.describe(&storage.name).await?;
        let mut storage_now = None;
        if let Some(current) = before_lock
            && !current.status.ends_with("_FAILED")
            && current.status != "ROLLBACK_COMPLETE"
            && let Some(bucket) = lock::bucket_of(&current)
        {
            let contended = self.take_lock(bucket, target.env(), slot).await?;
            // Won at the first try: nobody held the lock, so no irisctl run changed the
            // stack between that description and now (a stack change takes far longer
            // than one round trip, and runs under the lock). Otherwise describe again.
            if contended {
                let now = self.stacks.describe(&storage.name).await?;
                self.refuse_if_destroyed(target.env(), &storage.name, now.as_ref(), slot)
                    .await?;
                storage_now = Some(now);
            } else {
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
            .get(contract::storage::MODEL_BUCKET_NAME)
            .cloned()
            .with_context(|| {
                format!(
                    "stack {} has no {} output",
                    storage.name,
                    contract::storage::MODEL_BUCKET_NAME
                )
            })?;
        if !lock::holds(slot) {
            self.take_lock(&bucket_name, target.env(), slot).await?;
        }

        // The auth stack and the artifacts do not depend on each other: reconcile the one
        // while the other is described and uploaded (on AWS, Cognito takes seconds and so
        // can a zip upload).
        let (auth_done, artifacts_done) = tokio::join!(
            self.reconcile_stack(target, auth, &available),
            self.prepare_service(&service.name, &bucket_name, artifacts, &available)
        );
        let (result, _) = auth_done?;
        available.extend(result.outputs.clone());
        report.stacks.push(result);
        let (service_now, synced) = artifacts_done?;
        if let Some((pins, uploads, pushed)) = synced {
            available.extend(pins.parameters());
            report.uploads = Some(uploads);
            report.image = pushed;
        }

        // Decided against the live release, before the update that may publish another.
        let (rollout, start) = self
            .rollout_parameters(target, service, &available, service_now.as_ref())
            .await?;
        available.extend(rollout);
        report.rollout_start = start;

        // The Deployment's name covers the authorizer's values, known only now.
        let service = &crate::render::api_definition::bind_parameters(service, &available)?;
        let (result, stack) = self
            .reconcile_stack_from(target, service, &available, service_now)
            .await?;
        report.api_url = result.outputs.get(contract::service::API_URL).cloned();
        report.model_sha256 = stack.parameters.get(contract::pins::MODEL_SHA256).cloned();
        report.model_version_id = stack
            .parameters
            .get(contract::pins::MODEL_VERSION_ID)
            .cloned();
        report.stacks.push(result);
        Ok(())
    }

    /// The rollout parameters for the service update: a gradual strategy starts a rollout
    /// when the update publishes another release than the live one (the release version's
    /// description after the update differs); otherwise none. Refused while a rollout runs.
    async fn rollout_parameters(
        &self,
        target: &Target<'_>,
        service: &crate::render::RenderedStack,
        available: &BTreeMap<String, String>,
        current: Option<&Stack>,
    ) -> anyhow::Result<(BTreeMap<String, String>, Option<RolloutStart>)> {
        let Some(current) = current else {
            return Ok((rollout::none_parameters(), None));
        };
        // Found under the lock, after storage and auth: those may have been updated (they
        // hold nothing a rollout moves); the service stack is not touched.
        rollout::refuse_if_running(
            target.env(),
            &current.parameters,
            "the service stack was not changed",
        )?;
        if !self.opts.strategy.is_gradual() {
            return Ok((rollout::none_parameters(), None));
        }
        let (_, facts) = crate::release::release_facts(&self.lambda, &target.config.names.function)
            .await
            .context("reading the live release")?;
        let mut values = current.parameters.clone();
        values.extend(available.iter().map(|(k, v)| (k.clone(), v.clone())));
        let doc = crate::render::cfn::parse(&service.body)?;
        let new = rollout::release_description(&doc, &values);
        let (parameters, starts) =
            rollout::start_parameters(&self.opts.strategy, facts.live.as_ref(), new.as_deref());
        let start = match (&facts.live, starts) {
            (Some(live), true) => Some(RolloutStart {
                from: live.version,
                strategy: self.opts.strategy.to_string(),
            }),
            _ => None,
        };
        Ok((parameters, start))
    }

    /// Describe the service stack (once, under the lock: its parameters say which artifacts
    /// already run, and the same description starts its reconcile) and upload what it
    /// does not run yet; an image goes to the repository the storage stack's outputs
    /// (`storage`) name, and its pin is ECR's digest of the pushed manifest.
    async fn prepare_service(
        &self,
        service: &str,
        bucket_name: &str,
        artifacts: Option<&Artifacts>,
        storage: &BTreeMap<String, String>,
    ) -> anyhow::Result<(Option<Stack>, Option<Prepared>)> {
        let service_now = self.stacks.describe(service).await?;
        let Some(artifacts) = artifacts else {
            return Ok((service_now, None));
        };
        let bucket = Bucket::new(self.s3.clone(), bucket_name);
        let deployed = service_now
            .as_ref()
            .filter(|s| settled_healthy(&s.status))
            .map(|s| &s.parameters);
        let (mut pins, uploads) = artifacts::sync(&bucket, artifacts, true, deployed)
            .await
            .context("uploading the artifacts")?;
        let pushed = match &artifacts.code {
            Code::Zip(_) => None,
            Code::Image(image) => {
                let pushed = self.push_image(storage, &image.layout).await?;
                pins.image_uri = Some(pushed.image_uri.clone());
                Some(pushed)
            }
        };
        for key in &uploads.uploaded {
            self.stacks
                .ui
                .say(&format!("uploaded s3://{bucket_name}/{key}"));
        }
        for key in &uploads.skipped {
            self.stacks.ui.say(&format!(
                "s3://{bucket_name}/{key} already there (same sha256), not uploaded"
            ));
        }
        Ok((service_now, Some((pins, uploads, pushed))))
    }

    /// Push the image into the repository the storage stack names (see `image::push`).
    async fn push_image(
        &self,
        storage: &BTreeMap<String, String>,
        layout: &crate::image::layout::Layout,
    ) -> anyhow::Result<Pushed> {
        let output = |name: &str| {
            storage
                .get(name)
                .cloned()
                .with_context(|| format!("the storage stack has no {name} output"))
        };
        let repository = output(contract::storage::REPOSITORY_NAME)?;
        let uri = output(contract::storage::REPOSITORY_URI)?;
        let ecr = Ecr::new(self.ecr.clone());
        let ui = &self.stacks.ui;
        crate::image::push::push(&ecr, &repository, &uri, layout, &|line| ui.say(line))
            .await
            .with_context(|| format!("pushing the function's image to repository {repository}"))
    }

    /// After waiting for the lock: a destroy released it to delete the storage stack (it
    /// removes the lock in its final emptying pass, just before DeleteStack), so the
    /// stack is being deleted or gone. Give the lock back (its object would keep the
    /// bucket from being deleted; a bucket already gone is fine) and stop before
    /// changing anything.
    async fn refuse_if_destroyed(
        &self,
        env: &str,
        storage: &str,
        now: Option<&Stack>,
        slot: &LockSlot,
    ) -> anyhow::Result<()> {
        let status = match now {
            None => "gone",
            Some(s) if matches!(s.status.as_str(), "DELETE_IN_PROGRESS" | "DELETE_COMPLETE") => {
                s.status.as_str()
            }
            Some(_) => return Ok(()),
        };
        if let Err(err) = lock::release(slot).await {
            let gone = err.chain().any(|e| {
                e.downcast_ref::<crate::aws::s3::S3Error>()
                    .is_some_and(crate::aws::s3::S3Error::is_missing_bucket)
            });
            if !gone {
                self.stacks.ui.say(&format!(
                    "warning: could not give back the lock of env `{env}`: {err}"
                ));
            }
        }
        bail!(
            "env `{env}` was destroyed while this deploy waited for its lock (stack {storage} \
             is {status}); nothing was changed. Run the same deploy again once the destroy \
             has finished: it creates the env anew"
        )
    }

    /// Take the env lock when the env's bucket exists (recover and other commands that
    /// change existing stacks). Returns whether a lock was taken.
    pub async fn lock_existing(
        &self,
        target: &Target<'_>,
        slot: &LockSlot,
    ) -> anyhow::Result<bool> {
        let storage = target.stack(StackKind::Storage)?;
        let described = self.stacks.describe(&storage.name).await?;
        match described.as_ref().and_then(lock::bucket_of) {
            Some(bucket) => {
                self.take_lock(bucket, target.env(), slot).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Take the env lock into `slot`, held for as long as a whole deploy may run. Returns
    /// whether it was contended (see [`lock::HeldLock::contended`]).
    async fn take_lock(&self, bucket: &str, env: &str, slot: &LockSlot) -> anyhow::Result<bool> {
        let bucket = Bucket::new(self.s3.clone(), bucket);
        let held = lock::take(
            &bucket,
            env,
            &self.opts.owner,
            lock::hold_for(LOCK_OPERATIONS, self.stacks.timeout),
            self.opts.lock_timeout,
            &self.stacks.ui,
        )
        .await?;
        let contended = held.contended;
        lock::keep(slot, held)?;
        Ok(contended)
    }
}
