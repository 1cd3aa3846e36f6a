//! Plan: what deploy would do to each stack of an env, without changing anything. Change
//! sets are created to compute it and deleted again; artifacts are only looked for, never
//! uploaded; no lock is taken. [`report`] holds the plan as data and its text, JSON and
//! Markdown forms (pure); `run.rs` computes it through the stack layer.

pub mod report;
mod run;

pub use report::{Plan, StackAction, StackPlan};
pub use run::plan;
