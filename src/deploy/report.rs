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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<StackFailed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
