//! Environments: `environments/<env>.yaml` (or `ephemeral.yaml` for `pr-<n>` /
//! `feature-<slug>`) → a validated [`Config`] in which every value knows its source
//! (default, file:line:column, or derived). Owns parsing, defaults, ranges and the
//! cross-field rules (auth can only be off in an env marked `emulator: true`). Must not
//! render templates or talk to AWS.

mod checks;
mod envname;
mod error;
mod pin;
mod raw;
mod resolve;
mod show;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use checks::{is_project, is_region};
pub use envname::{EPHEMERAL_BASE, EnvKind, check_name, ephemeral_pattern, named_envs};
pub use error::ConfigError;
pub use pin::PLACEHOLDER_ACCOUNTS;
pub use show::Entry;

use crate::naming::Names;

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// irisctl's built-in default.
    Default,
    /// Written in an env file.
    File {
        path: PathBuf,
        line: u64,
        column: u64,
    },
    /// Computed from other values (the reason says from what).
    Derived(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File { path, line, column } => {
                write!(f, "{}:{line}:{column}", path.display())
            }
            Source::Derived(why) => write!(f, "derived ({why})"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Sourced<T> {
    pub fn new(value: T, source: Source) -> Self {
        Sourced { value, source }
    }
}

/// How API callers authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Cognito user pool authorizer with the `predict` scope (every real env).
    Cognito,
    /// No authorizer: only allowed in an env marked `emulator: true`, because the
    /// emulators cannot run Cognito authorizers (docs/emulator-gaps.md).
    None,
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Cognito => "cognito",
            AuthMode::None => "none",
        }
    }
}

/// How the function's code reaches Lambda.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Package {
    /// `lambda.zip` in the env's bucket, on the `provided.al2023` runtime (the default).
    Zip,
    /// The OCI image in the env's ECR repository, pinned by digest (`PackageType: Image`).
    Image,
}

impl Package {
    /// Every value `lambda.package` takes, as written in env files.
    pub const ALL: [&'static str; 2] = ["zip", "image"];

    pub fn as_str(self) -> &'static str {
        match self {
            Package::Zip => "zip",
            Package::Image => "image",
        }
    }
}

impl std::fmt::Display for Package {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What answers `POST /predict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The function's `live` alias (the default).
    Lambda,
    /// A SageMaker endpoint serving the same image (`bootstrap serve`); the function stays
    /// for `GET /model` and batch scoring (docs/decisions.md).
    Sagemaker,
}

impl Backend {
    /// Every value `backend` takes, as written in env files.
    pub const ALL: [&'static str; 2] = ["lambda", "sagemaker"];

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Lambda => "lambda",
            Backend::Sagemaker => "sagemaker",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a SageMaker endpoint gets its compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SagemakerMode {
    /// Serverless inference: memory and a concurrency cap, billed per request (the default).
    Serverless,
    /// Instances of one type, scaled by Application Auto Scaling on invocations per instance.
    Instance,
}

impl SagemakerMode {
    pub const ALL: [&'static str; 2] = ["serverless", "instance"];

    pub fn as_str(self) -> &'static str {
        match self {
            SagemakerMode::Serverless => "serverless",
            SagemakerMode::Instance => "instance",
        }
    }
}

impl std::fmt::Display for SagemakerMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `sagemaker.*`: the endpoint of a `backend: sagemaker` env. Only the keys of the chosen
/// mode may be written; the others keep their defaults and are not rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SagemakerSettings {
    pub mode: Sourced<SagemakerMode>,
    /// Serverless: 1024..=6144 in steps of 1024 (ServerlessConfig.MemorySizeInMB).
    pub memory_mb: Sourced<u32>,
    /// Serverless: 1..=200 (ServerlessConfig.MaxConcurrency).
    pub max_concurrency: Sourced<u32>,
    /// Instance: `ml.<family>.<size>`, x86_64 without local instance storage.
    pub instance_type: Sourced<String>,
    pub min_instances: Sourced<u32>,
    pub max_instances: Sourced<u32>,
    /// Instance: the target of the TargetTracking policy on
    /// `SageMakerVariantInvocationsPerInstance` (invocations per instance per minute).
    pub target_invocations_per_instance: Sourced<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaSettings {
    pub memory_mb: Sourced<u32>,
    pub timeout_s: Sourced<u32>,
    /// Executions reserved for the function, or none (the default). Lambda refuses a
    /// reservation that leaves the account fewer than 100 unreserved executions, and new
    /// accounts often have a limit of 10, so only envs that need a guaranteed share set it.
    pub reserved_concurrency: Sourced<Option<u32>>,
    /// `x86_64` (the only architecture `irisctl package` builds).
    pub architecture: Sourced<String>,
    pub max_batch: Sourced<u32>,
    /// `zip` (default) or `image`: the same function either way, only the code's form
    /// and where Lambda fetches it from differ.
    pub package: Sourced<Package>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// Steady-state requests per second, per stage method.
    pub throttle_rate: Sourced<u32>,
    pub throttle_burst: Sourced<u32>,
    pub stage_name: Sourced<String>,
    /// Requests one client IP may send in any 5 minutes before the web ACL blocks it
    /// (WAFv2 rate-based rule; non-emulator envs only).
    pub client_requests_per_5min: Sourced<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    pub mode: Sourced<AuthMode>,
    pub access_token_minutes: Sourced<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmSettings {
    pub emails: Sourced<Vec<String>>,
    pub period_s: Sourced<u32>,
    pub evaluation_periods: Sourced<u32>,
    pub lambda_errors: Sourced<u32>,
    pub lambda_throttles: Sourced<u32>,
    pub lambda_p99_duration_ms: Sourced<u32>,
    pub api_5xx: Sourced<u32>,
    pub api_p99_latency_ms: Sourced<u32>,
    pub dlq_messages: Sourced<u32>,
    /// SageMaker envs: the endpoint's Invocation4XXErrors per period (bad input the
    /// container refused).
    pub endpoint_4xx: Sourced<u32>,
    /// SageMaker envs: the endpoint's Invocation5XXErrors per period.
    pub endpoint_5xx: Sourced<u32>,
    /// SageMaker envs: p99 of the endpoint's ModelLatency, in ms (the metric is in µs).
    pub endpoint_p99_model_latency_ms: Sourced<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Days CloudWatch keeps the function's and the API's logs.
    pub retention_days: Sourced<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSettings {
    pub noncurrent_version_days: Sourced<u32>,
    /// Noncurrent versions that never expire: the rollback targets.
    pub keep_noncurrent_versions: Sourced<u32>,
    pub abort_multipart_days: Sourced<u32>,
    pub access_logging: Sourced<bool>,
    /// Why access logging is off (required when it is).
    pub access_logging_exemption: Sourced<Option<String>>,
    pub access_log_days: Sourced<u32>,
}

/// Limits of one batch file (`batch/in/` in the env's bucket): the function refuses a
/// larger file with a clear error, after checking them against its memory and timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSettings {
    pub max_rows: Sourced<u32>,
    /// File size limit in MiB.
    pub max_mb: Sourced<u32>,
}

impl BatchSettings {
    pub fn max_bytes(&self) -> u64 {
        u64::from(self.max_mb.value) << 20
    }
}

/// How a new release takes traffic (`deploy`, `model push` and `model promote`; a
/// `--strategy` overrides the strategy) and what its checks allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutSettings {
    /// Default: a canary for protected envs, all at once otherwise.
    pub strategy: Sourced<crate::rollout::Strategy>,
    /// The share (percent) of sampled inputs the new release may answer another species
    /// for than the live one.
    pub max_disagreement_pct: Sourced<u32>,
    /// Inputs near the golden flowers compared with the live release at every check.
    pub samples: Sourced<u32>,
}

impl RolloutSettings {
    pub fn tolerance(&self) -> f64 {
        f64::from(self.max_disagreement_pct.value) / 100.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositorySettings {
    /// Images the container repository keeps; older ones expire.
    pub keep_images: Sourced<u32>,
}

/// A validated environment. Each setting is named as in the env file (`lambda.memory_mb`
/// is `config.lambda.memory_mb`), and the template context uses the same path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub env: String,
    pub kind: EnvKind,
    /// The file the settings were read from.
    pub file: PathBuf,
    pub project: Sourced<String>,
    pub region: Sourced<String>,
    /// irisctl refuses to act when the caller's account differs.
    pub account_id: Sourced<Option<String>>,
    /// Marks an env that runs on the AWS emulators (LocalStack / moto).
    pub emulator: Sourced<bool>,
    /// Protected envs need confirmation and keep their data on delete.
    pub protected: Sourced<bool>,
    /// Ephemeral envs only: hours after a deploy when gc may destroy the env.
    pub ttl_hours: Sourced<Option<u32>>,
    /// User tags, each with its own source.
    pub tags: BTreeMap<String, Sourced<String>>,
    pub lambda: LambdaSettings,
    pub api: ApiSettings,
    pub auth: AuthSettings,
    pub alarms: AlarmSettings,
    pub logs: LogSettings,
    pub storage: StorageSettings,
    pub repository: RepositorySettings,
    pub batch: BatchSettings,
    pub rollout: RolloutSettings,
    /// `lambda` (default) or `sagemaker`: what answers `POST /predict`.
    pub backend: Sourced<Backend>,
    pub sagemaker: SagemakerSettings,
    pub names: Names,
}

impl Config {
    /// Load env `env` from the `environments/` directory `dir`.
    pub fn load(dir: &Path, env: &str) -> Result<Config, ConfigError> {
        let (kind, file) = envname::locate(dir, env)?;
        let text = std::fs::read_to_string(&file).map_err(|err| ConfigError::File {
            file: file.display().to_string(),
            message: format!("cannot read: {err}"),
        })?;
        resolve::resolve(env, kind, &file, &text)
    }

    /// Parse env `env` from `text` as if read from `file` (tests and tools).
    pub fn from_text(
        env: &str,
        kind: EnvKind,
        file: &Path,
        text: &str,
    ) -> Result<Config, ConfigError> {
        envname::check_name(env)?;
        resolve::resolve(env, kind, file, text)
    }

    pub fn is_sagemaker(&self) -> bool {
        self.backend.value == Backend::Sagemaker
    }

    pub fn is_ephemeral(&self) -> bool {
        matches!(self.kind, EnvKind::Ephemeral { .. })
    }

    /// Tags every stack of this env carries (CloudFormation copies them to resources).
    /// irisctl adds the run-time ones (version, commit, owner, expiry) when deploying.
    pub fn stack_tags(&self) -> BTreeMap<String, String> {
        let mut tags: BTreeMap<String, String> = self
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect();
        tags.insert("irisctl:project".into(), self.project.value.clone());
        tags.insert("irisctl:env".into(), self.env.clone());
        tags
    }

    /// Every resolved value with its source, in file order (what `config show` prints).
    pub fn entries(&self) -> Vec<Entry> {
        show::entries(self)
    }
}

#[cfg(test)]
mod tests;
