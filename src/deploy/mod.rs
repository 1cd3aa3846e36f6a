//! Deploy: bring an env's stacks (storage → auth → service) to their rendered templates,
//! passing each stack's outputs to later stacks as same-named parameters and the artifact
//! pins to the service stack. Owns the order, the lock's place in it (`run.rs`), what to do
//! with each stack given its state, and the safety gates (protected confirmation, stateful
//! replacement) (`reconcile.rs`). Every stack operation goes through the stack layer
//! ([`crate::stack::Stacks`]). Must not parse arguments or print results (cmd/ does).

pub mod artifacts;
pub mod inputs;
pub mod pins;
mod reconcile;
pub mod report;
mod run;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;

pub use report::{DeployReport, StackResult};

use crate::config::Config;
use crate::naming::StackKind;
use crate::render::RenderedStack;
use crate::stack::Stacks;
use crate::ui::Approval;

/// How many `--timeout`-bounded stack operations one deploy may run at most: three
/// stacks, each possibly deleted and recreated, plus a settle wait. The env lock is held
/// for that long (see [`crate::stack::lock::hold_for`]).
pub const LOCK_OPERATIONS: u32 = 7;

/// How deploy may act, besides asking ([`Approval`]).
#[derive(Debug, Clone)]
pub struct Options {
    /// Stateful resources (logical ids) a protected env may replace (`--allow-replace`).
    pub allow_replace: Vec<String>,
    /// How long to wait for the env lock, or for another operation on a stack to settle.
    pub lock_timeout: Duration,
    /// Who the lock names.
    pub owner: String,
    /// How a new release takes traffic (`--strategy`, else `rollout.strategy`).
    pub strategy: crate::rollout::Strategy,
}

/// The env being deployed (or planned, or recovered).
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub config: &'a Config,
    pub stacks: Vec<RenderedStack>,
    /// Tags for new stacks (config tags + run-time tags).
    pub tags: BTreeMap<String, String>,
}

impl Target<'_> {
    pub fn stack(&self, kind: StackKind) -> anyhow::Result<&RenderedStack> {
        self.stacks
            .iter()
            .find(|s| s.kind == kind)
            .with_context(|| format!("internal: no rendered {kind} stack"))
    }

    pub fn env(&self) -> &str {
        &self.config.env
    }

    pub fn region(&self) -> &str {
        &self.config.region.value
    }

    pub fn protected(&self) -> bool {
        self.config.protected.value
    }
}

/// Deploy's side of AWS: the stack layer, S3 for the lock and the artifacts, ECR for an
/// image function's code, Lambda for the live release a rollout starts from, how to get a
/// yes, and the options.
pub struct Deployer<'a> {
    pub stacks: Stacks,
    pub s3: aws_sdk_s3::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub approval: Approval<'a>,
    pub opts: Options,
}
