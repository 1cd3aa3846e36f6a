//! Change sets as deploy and plan use them: create one, wait until CloudFormation has
//! computed it, and treat an empty one (however CloudFormation says so) as "no changes",
//! deleting it. A change set irisctl will not execute is deleted again.

use std::collections::BTreeMap;

use anyhow::bail;

use super::ops::Stacks;
use super::waiter;
use crate::aws::cloudformation::{ParamValue, ResourceChange};
use crate::ui::time::now_ms;

/// A computed change set.
pub enum Prepared {
    NoChanges,
    Changes {
        change_set: String,
        changes: Vec<ResourceChange>,
    },
}

impl Stacks {
    /// Create a change set and wait for CloudFormation to compute it. An empty one is
    /// deleted and reported as no changes.
    pub async fn prepare_change_set(
        &self,
        name: &str,
        body: &str,
        params: &BTreeMap<String, ParamValue>,
        tags: &BTreeMap<String, String>,
    ) -> anyhow::Result<Prepared> {
        let change_set = format!("irisctl-{}-{}", now_ms(), std::process::id());
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
            waiter::wait_change_set(&self.cfn, name, &change_set, self.timeout, &note).await?;
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
    pub async fn discard_change_set(&self, name: &str, change_set: &str) {
        if let Err(err) = self.cfn.delete_change_set(name, change_set).await {
            self.ui.say(&format!(
                "warning: could not delete change set {change_set} of {name}: {err}"
            ));
        }
    }
}
