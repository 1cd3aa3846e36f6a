//! Reconcile: plan and apply an env's stacks on CloudFormation. Pure parts (stack-state
//! decisions, plan as data, event handling) are separate from the parts that call AWS
//! (apply, waiter, lock, artifact upload), which go through the thin wrappers in `aws/`.
//! Must not parse command-line arguments or render templates.

pub mod apply;
pub mod artifacts;
pub mod events;
pub mod lock;
pub mod plan;
pub mod progress;
pub mod state;
pub mod waiter;
