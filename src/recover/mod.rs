//! Recover: continue the rollback of every stack of an env stuck in
//! UPDATE_ROLLBACK_FAILED, skipping the resources whose rollback failed (read from the
//! stack's events) or the ones the person named. The caller holds the env lock. Must not
//! decide what deploy does afterwards (the person deploys again).

use crate::deploy::Target;
use crate::stack::Stacks;
use crate::stack::events::rollback_failures;
use crate::ui::Approval;

/// Continue the rollback of every UPDATE_ROLLBACK_FAILED stack of `target`, skipping
/// `skip` (or, when empty, the resources whose rollback failed), after `approval`.
/// Returns the stacks recovered.
pub async fn recover(
    stacks: &Stacks,
    approval: &Approval<'_>,
    target: &Target<'_>,
    skip: &[String],
) -> anyhow::Result<Vec<String>> {
    let mut recovered = Vec::new();
    for rendered in &target.stacks {
        let name = rendered.name.as_str();
        let Some(current) = stacks.describe(name).await? else {
            continue;
        };
        if current.status != "UPDATE_ROLLBACK_FAILED" {
            continue;
        }
        let mut events = stacks.cfn.events_since(&current.id, None).await?;
        events.reverse();
        let proposed = rollback_failures(&events, name);
        let to_skip = if skip.is_empty() {
            proposed.clone()
        } else {
            skip.to_vec()
        };
        stacks.ui.say(&format!(
            "{name} is UPDATE_ROLLBACK_FAILED; resources whose rollback failed: {}",
            if proposed.is_empty() {
                "(none found in the events)".to_owned()
            } else {
                proposed.join(", ")
            }
        ));
        stacks.ui.say(&format!(
            "continuing the rollback, skipping: {} (skipped resources are left as they are \
             and may no longer match the template; fix them by hand afterwards)",
            if to_skip.is_empty() {
                "nothing".to_owned()
            } else {
                to_skip.join(", ")
            }
        ));
        approval.approve(&format!("Continue the rollback of {name}?"))?;
        stacks.continue_rollback(&current, &to_skip).await?;
        recovered.push(name.to_owned());
    }
    Ok(recovered)
}
