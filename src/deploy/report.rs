//! What deploy did, as data: one [`StackResult`] per stack and the [`DeployReport`] the
//! command prints as text or JSON (`--output json`, which scripts read instead of text).

use std::collections::BTreeMap;

use serde::Serialize;

use super::artifacts::UploadReport;
use crate::aws::cloudformation::ResourceChange;
use crate::stack::StackFailed;

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
    /// `lambda.package: image`: what the push to the env's repository did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<crate::image::push::Pushed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Emulator envs: where `api_url` answers on this machine (set by the command, which
    /// knows the endpoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_api_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_version_id: Option<String>,
    /// A gradual rollout the service update started: the version it starts from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_start: Option<RolloutStart>,
    /// What the rollout did (set by the command, which runs it after the update).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<crate::rollout::RolloutReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<StackFailed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A rollout the service update started: the live version kept as primary, the strategy.
#[derive(Debug, Clone, Serialize)]
pub struct RolloutStart {
    pub from: u32,
    pub strategy: String,
}
