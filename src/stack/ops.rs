//! [`Stacks`]: start one stack operation, show its events from the moment it started, wait
//! until it settles (or `--timeout` passes) and turn a failure into [`StackFailed`]. The
//! boundary is the newest event before the operation, so a rerun never shows an older
//! operation's events as this one's.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::events::RootCause;
use super::state::{Operation, Settled, Situation};
use super::waiter::{self, Waited};
use crate::aws::cloudformation::{Cfn, ParamValue, Stack};
use crate::ui::Ui;

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

/// The stack operations of one run, over one CloudFormation client.
pub struct Stacks {
    pub cfn: Cfn,
    pub ui: Ui,
    /// Bounds each stack operation (`--timeout`).
    pub timeout: Duration,
}

impl Stacks {
    /// The stack by name or id; `None` when there is none.
    pub async fn describe(&self, name: &str) -> anyhow::Result<Option<Stack>> {
        Ok(self.cfn.describe(name).await?)
    }

    /// The stack right after an operation settled (it must still be there).
    pub async fn settled(&self, name: &str) -> anyhow::Result<Stack> {
        self.describe(name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("stack {name} vanished right after it settled"))
    }

    /// Everything [`super::state::decide`] needs about `current`; counts the resources
    /// only of a REVIEW_IN_PROGRESS stack (the one state where the count decides).
    pub async fn situation<'s>(
        &self,
        env: &'s str,
        region: &'s str,
        protected: bool,
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
            env,
            stack: name,
            region,
            status: current.map(|s| s.status.as_str()),
            resources,
            protected,
            termination_protection: current.is_some_and(|s| s.termination_protection),
        })
    }

    /// Create the stack and wait until it is CREATE_COMPLETE. A name taken meanwhile comes
    /// back as the [`crate::aws::cloudformation::CfnError`] saying so (the caller knows
    /// what to tell the person).
    pub async fn create(
        &self,
        name: &str,
        body: &str,
        params: &BTreeMap<String, ParamValue>,
        tags: &BTreeMap<String, String>,
        resources: usize,
    ) -> anyhow::Result<()> {
        let id = self.cfn.create_stack(name, body, params, tags).await?;
        // A new stack has no older events: no boundary.
        self.watch(&id, name, Operation::Create, None, "create", resources)
            .await
    }

    /// Execute a computed change set of `stack` and wait until it is UPDATE_COMPLETE.
    pub async fn execute(
        &self,
        stack: &Stack,
        change_set: &str,
        changes: usize,
    ) -> anyhow::Result<()> {
        let boundary = self.cfn.newest_event_id(&stack.id).await?;
        self.cfn.execute_change_set(&stack.name, change_set).await?;
        self.watch(
            &stack.id,
            &stack.name,
            Operation::Update,
            boundary,
            "update",
            changes,
        )
        .await
    }

    /// Delete `stack` (by id, so its events stay readable) and wait until it is gone. A
    /// delete already running is waited for, not started again.
    pub async fn delete(&self, stack: &Stack) -> anyhow::Result<()> {
        let boundary = self.cfn.newest_event_id(&stack.id).await?;
        if stack.status != "DELETE_IN_PROGRESS" {
            self.cfn.delete_stack(&stack.id).await?;
        }
        self.watch(
            &stack.id,
            &stack.name,
            Operation::Delete,
            boundary,
            "delete",
            0,
        )
        .await
    }

    /// Continue the rollback of an UPDATE_ROLLBACK_FAILED stack, skipping `skip` (logical
    /// ids), and wait until it is UPDATE_ROLLBACK_COMPLETE.
    pub async fn continue_rollback(&self, stack: &Stack, skip: &[String]) -> anyhow::Result<()> {
        let boundary = self.cfn.newest_event_id(&stack.id).await?;
        self.cfn.continue_update_rollback(&stack.name, skip).await?;
        self.watch(
            &stack.id,
            &stack.name,
            Operation::Rollback,
            boundary,
            "roll back",
            0,
        )
        .await
    }

    /// Wait up to `limit` for somebody else's operation on `stack` to settle, whatever its
    /// outcome. Not settled in time → [`waiter::WaitError::Timeout`] (the caller decides
    /// whether that is a lock timeout or an error).
    pub async fn wait_to_settle(&self, stack: &Stack, limit: Duration) -> anyhow::Result<Waited> {
        let boundary = self.cfn.newest_event_id(&stack.id).await?;
        let mut progress = self.ui.stack(&stack.name, "wait for", 0);
        Ok(waiter::wait_stack(
            &self.cfn,
            &stack.id,
            &stack.name,
            Operation::Other,
            boundary,
            limit,
            &mut progress,
        )
        .await?)
    }

    /// Wait for `op` on `id` with a progress bar of `total` steps; a failure →
    /// [`StackFailed`].
    async fn watch(
        &self,
        id: &str,
        name: &str,
        op: Operation,
        boundary: Option<String>,
        verb: &str,
        total: usize,
    ) -> anyhow::Result<()> {
        let mut progress = self.ui.stack(name, verb, total);
        let waited = waiter::wait_stack(
            &self.cfn,
            id,
            name,
            op,
            boundary,
            self.timeout,
            &mut progress,
        )
        .await?;
        check(waited, name)
    }
}

/// A failed operation → [`StackFailed`] with its root cause.
fn check(waited: Waited, stack: &str) -> anyhow::Result<()> {
    match waited.settled {
        Settled::Succeeded => Ok(()),
        Settled::Failed => Err(StackFailed {
            stack: stack.to_owned(),
            status: waited.status,
            status_reason: waited.status_reason,
            root_cause: waited.root_cause,
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn stack_failed_without_root_cause_carries_the_status_reason() {
        let failed = StackFailed {
            stack: "iris-dev-storage".into(),
            status: "DELETE_FAILED".into(),
            status_reason: Some("The following resource(s) failed to delete".into()),
            root_cause: None,
        };
        assert_eq!(
            failed.to_string(),
            "stack iris-dev-storage failed: final state DELETE_FAILED; The following resource(s) failed to delete"
        );
    }
}
