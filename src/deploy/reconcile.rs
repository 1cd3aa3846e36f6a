//! Bring one stack to its rendered template: decide from its state
//! ([`crate::stack::state::decide`]) whether to create it, delete and recreate a failed
//! first create, wait for somebody else's operation, or update it through a change set,
//! and apply the protected-env gates on the way (confirmation, stateful replacement,
//! termination protection). A no-op is detected without a change set when the template,
//! parameters and tags are provably the stack's.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::inputs::{parameters, same_inputs, update_tags};
use super::{Deployer, StackResult, Target};
use crate::aws::cloudformation::{CfnError, ParamValue, ResourceChange, Stack};
use crate::exit::Refusal;
use crate::render::RenderedStack;
use crate::stack::Prepared;
use crate::stack::changes::{
    change_line, custom_named_replacements, resources_of, stateful_replacements,
};
use crate::stack::state::{Next, decide};
use crate::stack::waiter::WaitError;

impl Deployer<'_> {
    /// Bring one stack to its rendered template.
    pub async fn reconcile_stack(
        &self,
        target: &Target<'_>,
        rendered: &RenderedStack,
        available: &BTreeMap<String, String>,
    ) -> anyhow::Result<(StackResult, Stack)> {
        let current = self.stacks.describe(&rendered.name).await?;
        self.reconcile_stack_from(target, rendered, available, current)
            .await
    }

    /// [`Self::reconcile_stack`] from `first`, a description of the stack taken under the
    /// lock; later rounds describe it again.
    pub(super) async fn reconcile_stack_from(
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
                None => self.stacks.describe(name).await?,
            };
            let situation = self
                .stacks
                .situation(
                    target.env(),
                    target.region(),
                    protected,
                    name,
                    current.as_ref(),
                )
                .await?;
            match decide(&situation) {
                Next::Create => {
                    let params = parameters(rendered, available, None)?;
                    let resources = resources_of(&rendered.body)?.len();
                    if protected {
                        self.approval.approve(&format!(
                            "Create stack {name} ({resources} resources) in protected env `{}`?",
                            target.env()
                        ))?;
                    }
                    self.stacks
                        .ui
                        .say(&format!("{name}: creating ({resources} resources)"));
                    let created = self
                        .stacks
                        .create(name, &rendered.body, &params, &target.tags, resources)
                        .await;
                    if let Err(err) = created {
                        if err
                            .downcast_ref::<CfnError>()
                            .is_some_and(CfnError::is_already_exists)
                        {
                            bail!(
                                "stack {name} was created by someone else a moment ago (another \
                                 deploy of env `{}`?); run deploy again once it has finished",
                                target.env()
                            );
                        }
                        return Err(err);
                    }
                    if protected {
                        self.stacks
                            .cfn
                            .set_termination_protection(name, true)
                            .await?;
                        self.stacks
                            .ui
                            .say(&format!("{name}: termination protection enabled"));
                    }
                    let stack = self.stacks.settled(name).await?;
                    self.stacks.ui.say(&format!("{name}: {}", stack.status));
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
                    self.stacks.ui.say(&format!(
                        "{name}: {why}; env `{}` is not protected, so deleting the stack and \
                         creating it again",
                        target.env()
                    ));
                    self.stacks.delete(&current).await?;
                    recreated = Some(why);
                }
                Next::WaitToSettle => {
                    let current = current.context("internal: waiting without a stack")?;
                    let left = self.opts.lock_timeout.saturating_sub(settle_waited);
                    self.stacks.ui.say(&format!(
                        "{name}: {} (another operation is running); waiting up to {left:?} \
                         (--lock-timeout)",
                        current.status
                    ));
                    let started = Instant::now();
                    let waited = self.stacks.wait_to_settle(&current, left).await;
                    settle_waited += started.elapsed();
                    if let Err(err) = waited {
                        if let Some(WaitError::Timeout { status, .. }) = err.downcast_ref() {
                            return Err(Refusal::LockTimeout(format!(
                                "stack {name} is still {status} after {settle_waited:?}; \
                                 another operation is running on it. Run deploy again later \
                                 or raise --lock-timeout"
                            ))
                            .into());
                        }
                        return Err(err);
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

    async fn update_stack(
        &self,
        target: &Target<'_>,
        rendered: &RenderedStack,
        available: &BTreeMap<String, String>,
        current: Stack,
    ) -> anyhow::Result<(StackResult, Stack)> {
        let name = rendered.name.as_str();
        let ui = &self.stacks.ui;
        if target.protected() && !current.termination_protection {
            self.stacks
                .cfn
                .set_termination_protection(name, true)
                .await?;
            ui.say(&format!("{name}: termination protection enabled"));
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
            ui.say(&format!("{name}: no changes"));
            return Ok((result("no_changes", &current, Vec::new()), current));
        }
        let (change_set, changes) = match self
            .stacks
            .prepare_change_set(name, &rendered.body, &params, &tags)
            .await?
        {
            Prepared::NoChanges => {
                ui.say(&format!("{name}: no changes"));
                return Ok((result("no_changes", &current, Vec::new()), current));
            }
            Prepared::Changes {
                change_set,
                changes,
            } => (change_set, changes),
        };
        ui.say(&format!("{name}: {} changes", changes.len()));
        for c in &changes {
            ui.say(&format!("  {}", change_line(c)));
        }
        let named = crate::render::custom_names::custom_named(&rendered.body)?;
        let same_name = custom_named_replacements(&changes, &named);
        if !same_name.is_empty() {
            let what: Vec<String> = same_name
                .iter()
                .map(|(c, property)| format!("{} ({property})", c.logical_id))
                .collect();
            self.stacks.discard_change_set(name, &change_set).await;
            return Err(Refusal::SafetyGate(format!(
                "the change set for {name} would replace {} in env `{}` under the same \
                 custom name; CloudFormation creates the replacement before deleting the old \
                 resource, so the update would fail and roll back; nothing was changed. \
                 Leave out the change that forces the replacement (the causes listed above), \
                 or change the resource's name with it; --allow-replace cannot help here",
                what.join(", "),
                target.env(),
            ))
            .into());
        }
        if target.protected() {
            let blocked = stateful_replacements(&changes, &self.opts.allow_replace);
            if !blocked.is_empty() {
                let ids: Vec<&str> = blocked.iter().map(|c| c.logical_id.as_str()).collect();
                self.stacks.discard_change_set(name, &change_set).await;
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
            let question = format!(
                "Apply these {} changes to {name} in protected env `{}`?",
                changes.len(),
                target.env()
            );
            if let Err(err) = self.approval.approve(&question) {
                self.stacks.discard_change_set(name, &change_set).await;
                return Err(err);
            }
        }
        self.stacks
            .execute(&current, &change_set, changes.len())
            .await?;
        let stack = self.stacks.settled(name).await?;
        ui.say(&format!("{name}: {}", stack.status));
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
        let deployed = self.stacks.cfn.template(&rendered.name).await?;
        Ok(deployed.as_deref() == Some(rendered.body.as_str()))
    }
}
