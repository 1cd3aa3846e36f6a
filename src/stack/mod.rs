//! The one stack layer under deploy, plan, recover and destroy. Every CloudFormation stack
//! operation irisctl runs (create, update through a change set, delete, continue a rollback,
//! wait for somebody else's) is started, watched and judged here ([`Stacks`]), so each
//! command shows the same progress, bounds it by the same `--timeout` and reports a failure
//! the same way ([`StackFailed`], with its root cause). Around it: what a stack's status
//! means ([`state`], pure), its events ([`events`], pure), what a change set or template
//! says ([`changes`], pure), the waiter and the env lock. Must not decide which operation
//! to run (the commands' modules do), parse arguments or render templates.

mod change_set;
pub mod changes;
pub mod events;
pub mod lock;
mod ops;
pub mod state;
pub mod waiter;

pub use change_set::Prepared;
pub use ops::{StackFailed, Stacks};
