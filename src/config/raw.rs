//! The env file as written: every key optional, every value with its position, unknown
//! keys refused. Owns the shape of `environments/*.yaml`; must not apply defaults or
//! range checks (resolve.rs does that, so each value can say where it came from).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

pub(crate) type Field<T> = Option<Spanned<T>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEnv {
    pub project: Field<String>,
    pub region: Field<String>,
    pub account_id: Field<String>,
    pub emulator: Field<bool>,
    pub protected: Field<bool>,
    pub ttl_hours: Field<u32>,
    pub tags: Option<BTreeMap<String, Spanned<String>>>,
    pub lambda: Option<RawLambda>,
    pub api: Option<RawApi>,
    pub auth: Option<RawAuth>,
    pub alarms: Option<RawAlarms>,
    pub logs: Option<RawLogs>,
    pub storage: Option<RawStorage>,
    pub repository: Option<RawRepository>,
    pub batch: Option<RawBatch>,
    pub rollout: Option<RawRollout>,
    pub backend: Field<String>,
    pub sagemaker: Option<Spanned<RawSagemaker>>,
}

/// `sagemaker:`: the endpoint of a `backend: sagemaker` env.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSagemaker {
    pub mode: Field<String>,
    pub memory_mb: Field<u32>,
    pub max_concurrency: Field<u32>,
    pub instance_type: Field<String>,
    pub min_instances: Field<u32>,
    pub max_instances: Field<u32>,
    pub target_invocations_per_instance: Field<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBatch {
    pub max_rows: Field<u32>,
    pub max_mb: Field<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLambda {
    pub memory_mb: Field<u32>,
    pub timeout_s: Field<u32>,
    pub reserved_concurrency: Field<u32>,
    pub architecture: Field<String>,
    pub max_batch: Field<u32>,
    pub package: Field<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApi {
    pub throttle_rate: Field<u32>,
    pub throttle_burst: Field<u32>,
    pub stage_name: Field<String>,
    pub client_requests_per_5min: Field<u32>,
    /// Retired keys: accepted by the parser only so that resolve.rs can say, at their
    /// position, what replaced them (see [`RETIRED_KEYS`]).
    pub manage_account_log_role: Field<serde_json::Value>,
    pub quota_limit: Field<serde_json::Value>,
    pub quota_period: Field<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuth {
    pub mode: Field<String>,
    pub access_token_minutes: Field<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlarms {
    pub emails: Field<Vec<String>>,
    pub period_s: Field<u32>,
    pub evaluation_periods: Field<u32>,
    pub lambda_errors: Field<u32>,
    pub lambda_throttles: Field<u32>,
    pub lambda_p99_duration_ms: Field<u32>,
    pub api_5xx: Field<u32>,
    pub api_p99_latency_ms: Field<u32>,
    pub dlq_messages: Field<u32>,
    pub endpoint_4xx: Field<u32>,
    pub endpoint_5xx: Field<u32>,
    pub endpoint_p99_model_latency_ms: Field<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogs {
    pub retention_days: Field<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStorage {
    pub noncurrent_version_days: Field<u32>,
    pub keep_noncurrent_versions: Field<u32>,
    pub abort_multipart_days: Field<u32>,
    pub access_logging: Field<bool>,
    pub access_logging_exemption: Field<String>,
    pub access_log_days: Field<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRollout {
    pub strategy: Field<String>,
    pub max_disagreement_pct: Field<u32>,
    pub samples: Field<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRepository {
    pub keep_images: Field<u32>,
}

/// Every key the env file accepts, by section (`""` is the top level): the did-you-mean
/// suggestions and the error's list of valid keys come from here.
pub(crate) const KNOWN_KEYS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "project",
            "region",
            "account_id",
            "emulator",
            "protected",
            "ttl_hours",
            "tags",
            "lambda",
            "api",
            "auth",
            "alarms",
            "logs",
            "storage",
            "repository",
            "batch",
            "rollout",
            "backend",
            "sagemaker",
        ],
    ),
    (
        "lambda",
        &[
            "memory_mb",
            "timeout_s",
            "reserved_concurrency",
            "architecture",
            "max_batch",
            "package",
        ],
    ),
    (
        "api",
        &[
            "throttle_rate",
            "throttle_burst",
            "stage_name",
            "client_requests_per_5min",
        ],
    ),
    ("auth", &["mode", "access_token_minutes"]),
    (
        "alarms",
        &[
            "emails",
            "period_s",
            "evaluation_periods",
            "lambda_errors",
            "lambda_throttles",
            "lambda_p99_duration_ms",
            "api_5xx",
            "api_p99_latency_ms",
            "dlq_messages",
            "endpoint_4xx",
            "endpoint_5xx",
            "endpoint_p99_model_latency_ms",
        ],
    ),
    ("logs", &["retention_days"]),
    (
        "storage",
        &[
            "noncurrent_version_days",
            "keep_noncurrent_versions",
            "abort_multipart_days",
            "access_logging",
            "access_logging_exemption",
            "access_log_days",
        ],
    ),
    ("repository", &["keep_images"]),
    ("batch", &["max_rows", "max_mb"]),
    ("rollout", &["strategy", "max_disagreement_pct", "samples"]),
    (
        "sagemaker",
        &[
            "mode",
            "memory_mb",
            "max_concurrency",
            "instance_type",
            "min_instances",
            "max_instances",
            "target_invocations_per_instance",
        ],
    ),
];

/// Keys env files used to take, with what replaced each: a file that still sets one gets
/// this message at the key's position instead of a silent no-op.
pub(crate) const RETIRED_KEYS: &[(&str, &str)] = &[
    (
        "api.manage_account_log_role",
        "`api.manage_account_log_role` is no longer a setting: the account-wide API Gateway \
         logging role belongs to the account, not to an env. Run `irisctl bootstrap --region \
         <region>` once per account and region, and remove this line",
    ),
    (
        "api.quota_limit",
        "`api.quota_limit` is no longer a setting: API Gateway enforces usage-plan quotas only \
         per API key, which no method takes; per-client limits are the web ACL's \
         (`api.client_requests_per_5min`). Remove this line",
    ),
    (
        "api.quota_period",
        "`api.quota_period` is no longer a setting: API Gateway enforces usage-plan quotas only \
         per API key, which no method takes; per-client limits are the web ACL's \
         (`api.client_requests_per_5min`). Remove this line",
    ),
];
