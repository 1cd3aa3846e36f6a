//! Raw env file → [`Config`]: applies defaults, checks every range and the cross-field
//! rules, and records each value's source. Must not read files (mod.rs does).

use std::collections::BTreeMap;
use std::path::Path;

use serde_saphyr::Spanned;

use super::checks::{is_account_id, is_email, is_project, is_region, tag_problem};
use super::error::ConfigError;
use super::raw::{Field, RETIRED_KEYS, RawEnv};
use super::{
    AlarmSettings, ApiSettings, AuthMode, AuthSettings, Backend, BatchSettings, Config, EnvKind,
    LambdaSettings, LogSettings, Package, RepositorySettings, RolloutSettings, SagemakerMode,
    SagemakerSettings, Source, Sourced, StorageSettings,
};
use crate::naming::Names;

/// CloudWatch Logs accepts only these retention periods (days).
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
/// Lambda behind API Gateway: the integration times out at 29 s.
const MAX_LAMBDA_TIMEOUT_S: u32 = 29;
const DEFAULT_TTL_HOURS: u32 = 72;

struct Ctx<'a> {
    file: &'a Path,
}

impl Ctx<'_> {
    fn source<T>(&self, spanned: &Spanned<T>) -> Source {
        Source::File {
            path: self.file.to_path_buf(),
            line: spanned.referenced.line(),
            column: spanned.referenced.column(),
        }
    }

    fn error<T>(&self, spanned: &Spanned<T>, message: impl Into<String>) -> ConfigError {
        ConfigError::at(
            self.file,
            spanned.referenced.line(),
            spanned.referenced.column(),
            message,
        )
    }

    fn value<T>(&self, field: Field<T>, default: T) -> Sourced<T> {
        match field {
            Some(spanned) => Sourced::new(spanned.value, self.source_of(&spanned.referenced)),
            None => Sourced::new(default, Source::Default),
        }
    }

    fn source_of(&self, loc: &serde_saphyr::Location) -> Source {
        Source::File {
            path: self.file.to_path_buf(),
            line: loc.line(),
            column: loc.column(),
        }
    }

    fn number(
        &self,
        field: Field<u32>,
        default: u32,
        key: &str,
        range: std::ops::RangeInclusive<u32>,
    ) -> Result<Sourced<u32>, ConfigError> {
        if let Some(spanned) = &field
            && !range.contains(&spanned.value)
        {
            return Err(self.error(
                spanned,
                format!(
                    "`{key}` is {}, out of range: allowed {}..={}",
                    spanned.value,
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(self.value(field, default))
    }

    fn one_of(
        &self,
        field: Field<String>,
        default: &str,
        key: &str,
        allowed: &[&str],
    ) -> Result<Sourced<String>, ConfigError> {
        if let Some(spanned) = &field
            && !allowed.contains(&spanned.value.as_str())
        {
            return Err(self.error(
                spanned,
                format!(
                    "`{key}` is `{}`; allowed: {}",
                    spanned.value,
                    allowed.join(", ")
                ),
            ));
        }
        Ok(self.value(field, default.to_string()))
    }

    fn checked(
        &self,
        field: Field<String>,
        default: &str,
        key: &str,
        rule: &str,
        ok: impl Fn(&str) -> bool,
    ) -> Result<Sourced<String>, ConfigError> {
        if let Some(spanned) = &field
            && !ok(&spanned.value)
        {
            return Err(self.error(spanned, format!("`{key}` is `{}`: {rule}", spanned.value)));
        }
        Ok(self.value(field, default.to_string()))
    }
}

pub(crate) fn resolve(
    env: &str,
    kind: EnvKind,
    file: &Path,
    text: &str,
) -> Result<Config, ConfigError> {
    let raw: RawEnv = if text.trim().is_empty() {
        RawEnv::default()
    } else {
        serde_saphyr::from_str(text).map_err(|err| ConfigError::from_yaml(file, &err))?
    };
    let cx = Ctx { file };
    let ephemeral = matches!(kind, EnvKind::Ephemeral { .. });

    let project = cx.checked(
        raw.project,
        "iris",
        "project",
        "use 2-16 lowercase letters or digits, starting with a letter",
        is_project,
    )?;
    let region = cx.checked(
        raw.region,
        "us-east-1",
        "region",
        "not an AWS region name (e.g. us-east-1, eu-west-2)",
        is_region,
    )?;
    let account_id = match raw.account_id {
        // Empty: the shipped files' "set me" value; refused when the env reaches AWS
        // (Config::account_pin), so render and validate still work on it.
        Some(spanned) if !spanned.value.is_empty() && !is_account_id(&spanned.value) => {
            return Err(cx.error(&spanned, format!(
                "`account_id` is `{}`: an account id is 12 digits, written in quotes (\"012345678901\")",
                spanned.value
            )));
        }
        Some(spanned) => Sourced::new(Some(spanned.value.clone()), cx.source(&spanned)),
        None => Sourced::new(None, Source::Default),
    };

    let emulator = cx.value(raw.emulator.clone(), false);
    let protected = cx.value(raw.protected.clone(), false);
    if let Some(spanned) = raw.emulator.as_ref().filter(|s| s.value) {
        if ephemeral {
            return Err(cx.error(spanned, "ephemeral envs run on real AWS; `emulator: true` is only for an env of its own (like local)"));
        }
        if protected.value {
            return Err(cx.error(spanned, "an emulator env cannot be `protected: true`"));
        }
        // The name says it too, so no real env is one line away from running without auth.
        if !is_emulator_name(env) {
            return Err(cx.error(spanned, format!("`emulator: true` is only allowed in envs named `local` or `local-<name>`, not `{env}`")));
        }
    }
    if let Some(spanned) = raw.protected.as_ref().filter(|s| s.value && ephemeral) {
        return Err(cx.error(
            spanned,
            "ephemeral envs are short-lived and cannot be `protected: true`",
        ));
    }

    let ttl_hours = match raw.ttl_hours {
        Some(spanned) if !ephemeral => {
            return Err(cx.error(
                &spanned,
                "`ttl_hours` only applies to ephemeral envs (ephemeral.yaml); remove it here",
            ));
        }
        Some(spanned) if !(1..=24 * 30).contains(&spanned.value) => {
            return Err(cx.error(
                &spanned,
                format!(
                    "`ttl_hours` is {}, out of range: allowed 1..=720",
                    spanned.value
                ),
            ));
        }
        Some(spanned) => Sourced::new(Some(spanned.value), cx.source(&spanned)),
        None if ephemeral => Sourced::new(Some(DEFAULT_TTL_HOURS), Source::Default),
        None => Sourced::new(None, Source::Derived("not an ephemeral env".into())),
    };

    let raw_tags = raw.tags.unwrap_or_default();
    if raw_tags.len() > 40 {
        let first = raw_tags.values().next().expect("more than 40 tags");
        return Err(cx.error(
            first,
            "`tags` has more than 40 entries (AWS allows 50; irisctl adds its own)",
        ));
    }
    let mut tags = BTreeMap::new();
    for (key, value) in raw_tags {
        if let Some(message) = tag_problem(&key, &value.value) {
            return Err(cx.error(&value, message));
        }
        let source = cx.source(&value);
        tags.insert(key, Sourced::new(value.value, source));
    }

    let l = raw.lambda.unwrap_or_default();
    let lambda = LambdaSettings {
        memory_mb: cx.number(l.memory_mb, 512, "lambda.memory_mb", 128..=10240)?,
        timeout_s: cx.number(
            l.timeout_s,
            10,
            "lambda.timeout_s",
            1..=MAX_LAMBDA_TIMEOUT_S,
        )?,
        reserved_concurrency: match l.reserved_concurrency {
            Some(spanned) => {
                let checked =
                    cx.number(Some(spanned), 0, "lambda.reserved_concurrency", 1..=1000)?;
                Sourced::new(Some(checked.value), checked.source)
            }
            None => Sourced::new(None, Source::Default),
        },
        architecture: cx.one_of(
            l.architecture,
            "x86_64",
            "lambda.architecture",
            // `irisctl package` builds x86_64 only; an arm64 function would be handed a
            // bootstrap it cannot start.
            &["x86_64"],
        )?,
        // The function refuses MAX_BATCH above 1000 (lambda/src/config.rs,
        // MAX_BATCH_CEILING): a larger value here would deploy and then fail every call.
        max_batch: cx.number(l.max_batch, 100, "lambda.max_batch", 1..=1_000)?,
        package: {
            let chosen = cx.one_of(l.package, "zip", "lambda.package", &Package::ALL)?;
            let value = if chosen.value == "image" {
                Package::Image
            } else {
                Package::Zip
            };
            Sourced::new(value, chosen.source)
        },
    };

    let a = raw.api.unwrap_or_default();
    for (retired, field) in [
        (RETIRED_KEYS[0], &a.manage_account_log_role),
        (RETIRED_KEYS[1], &a.quota_limit),
        (RETIRED_KEYS[2], &a.quota_period),
    ] {
        if let Some(spanned) = field {
            return Err(cx.error(spanned, retired.1));
        }
    }
    let throttle_rate = cx.number(a.throttle_rate, 10, "api.throttle_rate", 1..=10_000)?;
    let client_requests_per_5min = match a.client_requests_per_5min {
        Some(spanned) => cx.number(
            Some(spanned),
            0,
            "api.client_requests_per_5min",
            // WAFv2 rate-based rules take 10..=2,000,000,000 requests per window.
            10..=2_000_000_000,
        )?,
        // A tenth of what the stage serves in 5 minutes, so one client cannot take it all.
        None => Sourced::new(
            (throttle_rate.value * 300 / 10).max(100),
            Source::Derived("30 x api.throttle_rate, at least 100".into()),
        ),
    };
    let api = ApiSettings {
        throttle_rate,
        throttle_burst: cx.number(a.throttle_burst, 20, "api.throttle_burst", 1..=5_000)?,
        stage_name: cx.checked(
            a.stage_name,
            "v1",
            "api.stage_name",
            "use 1-16 lowercase letters or digits, starting with a letter",
            is_project,
        )?,
        client_requests_per_5min,
    };

    let au = raw.auth.unwrap_or_default();
    let mode = match au.mode {
        Some(spanned) => {
            let mode = match spanned.value.as_str() {
                "cognito" => AuthMode::Cognito,
                "none" => AuthMode::None,
                other => {
                    return Err(cx.error(
                        &spanned,
                        format!(
                            "`auth.mode` is `{other}`; allowed: cognito, none (emulator envs only)"
                        ),
                    ));
                }
            };
            if mode == AuthMode::None && !emulator.value {
                return Err(cx.error(&spanned, "`auth.mode: none` is only allowed in an env marked `emulator: true` (the emulators cannot run Cognito authorizers); every real env uses `cognito`"));
            }
            Sourced::new(mode, cx.source(&spanned))
        }
        None => Sourced::new(AuthMode::Cognito, Source::Default),
    };
    let auth = AuthSettings {
        mode,
        access_token_minutes: cx.number(
            au.access_token_minutes,
            60,
            "auth.access_token_minutes",
            5..=1440,
        )?,
    };

    let al = raw.alarms.unwrap_or_default();
    let emails = match al.emails {
        Some(spanned) => {
            if spanned.value.len() > 10 {
                return Err(cx.error(
                    &spanned,
                    "`alarms.emails` lists more than 10 addresses; use a mailing list",
                ));
            }
            if let Some(bad) = spanned.value.iter().find(|e| !is_email(e)) {
                return Err(cx.error(
                    &spanned,
                    format!("`alarms.emails` has `{bad}`, which is not an email address"),
                ));
            }
            Sourced::new(spanned.value.clone(), cx.source(&spanned))
        }
        None => Sourced::new(Vec::new(), Source::Default),
    };
    let timeout_ms = lambda.timeout_s.value * 1000;
    let p99_field = al.lambda_p99_duration_ms;
    if let Some(spanned) = p99_field.as_ref().filter(|s| s.value >= timeout_ms) {
        return Err(cx.error(spanned, format!("`alarms.lambda_p99_duration_ms` is {}, but the Lambda times out at {timeout_ms} ms, so the alarm could never fire", spanned.value)));
    }
    let endpoint_alarm_keys = [
        (
            "alarms.endpoint_4xx",
            al.endpoint_4xx.as_ref().map(|s| s.referenced),
        ),
        (
            "alarms.endpoint_5xx",
            al.endpoint_5xx.as_ref().map(|s| s.referenced),
        ),
        (
            "alarms.endpoint_p99_model_latency_ms",
            al.endpoint_p99_model_latency_ms
                .as_ref()
                .map(|s| s.referenced),
        ),
    ];
    let alarms = AlarmSettings {
        emails,
        period_s: cx.number(al.period_s, 60, "alarms.period_s", 10..=86_400)?,
        evaluation_periods: cx.number(
            al.evaluation_periods,
            1,
            "alarms.evaluation_periods",
            1..=100,
        )?,
        lambda_errors: cx.number(al.lambda_errors, 1, "alarms.lambda_errors", 1..=100_000)?,
        lambda_throttles: cx.number(
            al.lambda_throttles,
            1,
            "alarms.lambda_throttles",
            1..=100_000,
        )?,
        lambda_p99_duration_ms: match p99_field {
            Some(spanned) => cx.number(
                Some(spanned),
                0,
                "alarms.lambda_p99_duration_ms",
                1..=900_000,
            )?,
            None => Sourced::new(
                timeout_ms * 8 / 10,
                Source::Derived("80% of lambda.timeout_s".into()),
            ),
        },
        api_5xx: cx.number(al.api_5xx, 1, "alarms.api_5xx", 1..=100_000)?,
        api_p99_latency_ms: cx.number(
            al.api_p99_latency_ms,
            3000,
            "alarms.api_p99_latency_ms",
            1..=29_000,
        )?,
        dlq_messages: cx.number(al.dlq_messages, 1, "alarms.dlq_messages", 1..=100_000)?,
        endpoint_4xx: cx.number(al.endpoint_4xx, 10, "alarms.endpoint_4xx", 1..=100_000)?,
        endpoint_5xx: cx.number(al.endpoint_5xx, 1, "alarms.endpoint_5xx", 1..=100_000)?,
        endpoint_p99_model_latency_ms: cx.number(
            al.endpoint_p99_model_latency_ms,
            1000,
            "alarms.endpoint_p99_model_latency_ms",
            // InvokeEndpoint gives the container 60 s to answer.
            1..=60_000,
        )?,
    };

    let retention_days = match raw.logs.and_then(|l| l.retention_days) {
        Some(spanned) if !LOG_RETENTION_DAYS.contains(&spanned.value) => {
            return Err(cx.error(
                &spanned,
                format!(
                    "`logs.retention_days` is {}; CloudWatch accepts only {:?}",
                    spanned.value, LOG_RETENTION_DAYS
                ),
            ));
        }
        field => cx.value(field, 30),
    };

    let s = raw.storage.unwrap_or_default();
    let access_logging = cx.value(s.access_logging.clone(), true);
    let exemption = match (s.access_logging_exemption, &s.access_logging) {
        (Some(reason), _) if access_logging.value => {
            return Err(cx.error(&reason, "`storage.access_logging_exemption` is only meaningful with `storage.access_logging: false`"));
        }
        (Some(reason), _) if reason.value.trim().len() < 10 => {
            return Err(cx.error(&reason, "`storage.access_logging_exemption` must say why access logging is off (at least 10 characters)"));
        }
        (Some(reason), _) => {
            Sourced::new(Some(reason.value.trim().to_string()), cx.source(&reason))
        }
        (None, Some(off)) if !off.value => {
            return Err(cx.error(
                off,
                "`storage.access_logging: false` needs `storage.access_logging_exemption: <why>`",
            ));
        }
        (None, _) => Sourced::new(None, Source::Default),
    };
    let storage = StorageSettings {
        noncurrent_version_days: cx.number(
            s.noncurrent_version_days,
            30,
            "storage.noncurrent_version_days",
            1..=3650,
        )?,
        keep_noncurrent_versions: cx.number(
            s.keep_noncurrent_versions,
            10,
            "storage.keep_noncurrent_versions",
            1..=100,
        )?,
        abort_multipart_days: cx.number(
            s.abort_multipart_days,
            7,
            "storage.abort_multipart_days",
            1..=365,
        )?,
        access_logging,
        access_logging_exemption: exemption,
        access_log_days: cx.number(s.access_log_days, 90, "storage.access_log_days", 1..=3650)?,
    };

    let keep_images = cx.number(
        raw.repository.and_then(|r| r.keep_images),
        10,
        "repository.keep_images",
        1..=1000,
    )?;

    let batch = resolve_batch(&cx, raw.batch.unwrap_or_default(), &lambda)?;

    let (backend, sagemaker) = resolve_backend(
        &cx,
        raw.backend,
        raw.sagemaker,
        &lambda,
        &emulator,
        &endpoint_alarm_keys,
    )?;
    let rollout = resolve_rollout(
        &cx,
        raw.rollout.unwrap_or_default(),
        protected.value,
        backend.value == Backend::Sagemaker,
    )?;

    let names = Names::derive(&project.value, env, &region.value);
    Ok(Config {
        env: env.to_string(),
        kind,
        file: file.to_path_buf(),
        project,
        region,
        account_id,
        emulator,
        protected,
        ttl_hours,
        tags,
        lambda,
        api,
        auth,
        alarms,
        logs: LogSettings { retention_days },
        storage,
        repository: RepositorySettings { keep_images },
        batch,
        rollout,
        backend,
        sagemaker,
        names,
    })
}

/// `rollout.*`: the strategy as `--strategy` takes it (default by `protected`), the
/// tolerance in whole percent and the sample size. A sagemaker env rolls out all at once:
/// its `POST /predict` is the endpoint's, which SageMaker itself updates blue/green, so a
/// canary of the function's alias would not move the traffic it claims to.
fn resolve_rollout(
    cx: &Ctx<'_>,
    r: super::raw::RawRollout,
    protected: bool,
    sagemaker: bool,
) -> Result<RolloutSettings, ConfigError> {
    let strategy = match r.strategy {
        Some(spanned) => {
            let parsed = crate::rollout::Strategy::parse(&spanned.value)
                .map_err(|why| cx.error(&spanned, format!("`rollout.strategy`: {why}")))?;
            if sagemaker && parsed.is_gradual() {
                return Err(cx.error(&spanned, crate::rollout::SAGEMAKER_ALL_AT_ONCE));
            }
            Sourced::new(parsed, cx.source(&spanned))
        }
        None => Sourced::new(
            crate::rollout::Strategy::default_for(protected && !sagemaker),
            Source::Default,
        ),
    };
    Ok(RolloutSettings {
        strategy,
        max_disagreement_pct: cx.number(
            r.max_disagreement_pct,
            5,
            "rollout.max_disagreement_pct",
            0..=100,
        )?,
        samples: cx.number(r.samples, 200, "rollout.samples", 1..=5000)?,
    })
}

/// ServerlessConfig.MemorySizeInMB takes 1024, 2048, ... 6144 (CreateEndpointConfig,
/// ProductionVariantServerlessConfig).
const SERVERLESS_MEMORY_MB: [u32; 6] = [1024, 2048, 3072, 4096, 5120, 6144];
/// ProductionVariantServerlessConfig.MaxConcurrency: 1..=200.
const SERVERLESS_MAX_CONCURRENCY: u32 = 200;

/// `backend` and `sagemaker.*`. A sagemaker env serves the function's image, so it needs
/// `lambda.package: image`; it cannot be an emulator env (LocalStack's CloudFormation has
/// no SageMaker). The `sagemaker:` block, and the endpoint's alarm thresholds, only apply
/// to a sagemaker env, and each mode's keys only to that mode.
fn resolve_backend(
    cx: &Ctx<'_>,
    field: Field<String>,
    block: Option<Spanned<super::raw::RawSagemaker>>,
    lambda: &LambdaSettings,
    emulator: &Sourced<bool>,
    endpoint_alarm_keys: &[(&str, Option<serde_saphyr::Location>)],
) -> Result<(Sourced<Backend>, SagemakerSettings), ConfigError> {
    let at = |loc: &serde_saphyr::Location, message: String| {
        ConfigError::at(cx.file, loc.line(), loc.column(), message)
    };
    let chosen = cx.one_of(field.clone(), "lambda", "backend", &Backend::ALL)?;
    let backend = Sourced::new(
        if chosen.value == "sagemaker" {
            Backend::Sagemaker
        } else {
            Backend::Lambda
        },
        chosen.source,
    );
    if backend.value == Backend::Lambda {
        if let Some(spanned) = &block {
            return Err(at(
                &spanned.referenced,
                "`sagemaker:` only applies with `backend: sagemaker`; set that, or remove the block"
                    .into(),
            ));
        }
        if let Some((key, Some(loc))) = endpoint_alarm_keys.iter().find(|(_, l)| l.is_some()) {
            return Err(at(
                loc,
                format!("`{key}` only applies with `backend: sagemaker`; remove it"),
            ));
        }
    }
    if let Some(spanned) = field
        .as_ref()
        .filter(|_| backend.value == Backend::Sagemaker)
    {
        if emulator.value {
            return Err(cx.error(spanned, "`backend: sagemaker` cannot run on the emulators: LocalStack's CloudFormation has no SageMaker (docs/emulator-gaps.md); use it in a real env"));
        }
        if lambda.package.value != Package::Image {
            return Err(cx.error(spanned, "`backend: sagemaker` serves the function's image (`bootstrap serve`), so it needs `lambda.package: image` in the `lambda:` block"));
        }
    }
    let raw = block.map(|b| b.value).unwrap_or_default();
    let mode = {
        let chosen = cx.one_of(
            raw.mode,
            "serverless",
            "sagemaker.mode",
            &SagemakerMode::ALL,
        )?;
        let value = if chosen.value == "instance" {
            SagemakerMode::Instance
        } else {
            SagemakerMode::Serverless
        };
        Sourced::new(value, chosen.source)
    };
    let wrong_mode = |key: &str, loc: Option<serde_saphyr::Location>, only: SagemakerMode| match loc
    {
        Some(loc) if mode.value != only => Err(at(
            &loc,
            format!(
                "`sagemaker.{key}` only applies with `sagemaker.mode: {only}` (this env's mode is {}); remove it",
                mode.value
            ),
        )),
        _ => Ok(()),
    };
    let loc = |f: &Field<u32>| f.as_ref().map(|s| s.referenced);
    wrong_mode("memory_mb", loc(&raw.memory_mb), SagemakerMode::Serverless)?;
    wrong_mode(
        "max_concurrency",
        loc(&raw.max_concurrency),
        SagemakerMode::Serverless,
    )?;
    wrong_mode(
        "instance_type",
        raw.instance_type.as_ref().map(|s| s.referenced),
        SagemakerMode::Instance,
    )?;
    wrong_mode(
        "min_instances",
        loc(&raw.min_instances),
        SagemakerMode::Instance,
    )?;
    wrong_mode(
        "max_instances",
        loc(&raw.max_instances),
        SagemakerMode::Instance,
    )?;
    wrong_mode(
        "target_invocations_per_instance",
        loc(&raw.target_invocations_per_instance),
        SagemakerMode::Instance,
    )?;

    if let Some(spanned) = raw
        .memory_mb
        .as_ref()
        .filter(|s| !SERVERLESS_MEMORY_MB.contains(&s.value))
    {
        return Err(cx.error(
            spanned,
            format!(
                "`sagemaker.memory_mb` is {}; serverless inference takes {:?} (1024 MB steps)",
                spanned.value, SERVERLESS_MEMORY_MB
            ),
        ));
    }
    let memory_mb = cx.value(raw.memory_mb, SERVERLESS_MEMORY_MB[0]);
    let max_concurrency = cx.number(
        raw.max_concurrency,
        10,
        "sagemaker.max_concurrency",
        1..=SERVERLESS_MAX_CONCURRENCY,
    )?;
    let instance_type = cx.checked(
        raw.instance_type,
        "ml.c5.large",
        "sagemaker.instance_type",
        "use a CPU SageMaker hosting type `ml.<c|m|r|t><generation>.<size>` (e.g. \
         ml.c5.large, ml.m5.xlarge): the image computes on CPU, its bootstrap is x86_64 (no \
         Graviton `g` family), and the endpoint's volume is encrypted with the env's key, \
         which AWS refuses for types with local NVMe storage (no `d` family)",
        is_endpoint_instance_type,
    )?;
    let min_field = raw.min_instances.clone();
    let max_field = raw.max_instances.clone();
    let min_instances = cx.number(raw.min_instances, 1, "sagemaker.min_instances", 1..=100)?;
    let max_instances = cx.number(raw.max_instances, 2, "sagemaker.max_instances", 1..=100)?;
    if min_instances.value > max_instances.value {
        let message = format!(
            "`sagemaker.min_instances` {} is more than `sagemaker.max_instances` {}",
            min_instances.value, max_instances.value
        );
        return Err(match (min_field.as_ref(), max_field.as_ref()) {
            (Some(spanned), _) => cx.error(spanned, message),
            (None, Some(spanned)) => cx.error(spanned, message),
            (None, None) => unreachable!("the defaults are in order"),
        });
    }
    let target_invocations_per_instance = cx.number(
        raw.target_invocations_per_instance,
        1000,
        "sagemaker.target_invocations_per_instance",
        1..=1_000_000,
    )?;
    Ok((
        backend,
        SagemakerSettings {
            mode,
            memory_mb,
            max_concurrency,
            instance_type,
            min_instances,
            max_instances,
            target_invocations_per_instance,
        },
    ))
}

/// `ml.<family>.<size>` of a CPU family (`c`, `m`, `r`, `t`: the image computes on CPU, so
/// GPU and accelerator families would only cost) whose attributes after the generation
/// digit have no `g` (Graviton: arm64) and no `d` (local NVMe storage, where
/// CreateEndpointConfig refuses `KmsKeyId`): `ml.c5.large`, `ml.m6i.xlarge`, `ml.t2.medium`.
pub(crate) fn is_endpoint_instance_type(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    let [ml, family, size] = parts.as_slice() else {
        return false;
    };
    let mut chars = family.chars();
    let (Some(class), Some(generation)) = (chars.next(), chars.next()) else {
        return false;
    };
    let attributes: String = chars.skip_while(char::is_ascii_digit).collect();
    let lower_alnum = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    *ml == "ml"
        && "cmrt".contains(class)
        && generation.is_ascii_digit()
        && lower_alnum(family)
        && lower_alnum(size)
        && !attributes.contains('g')
        && !attributes.contains('d')
}

/// Bytes of memory one batch row can take in the function: the parsed row and its output
/// line (about 200 bytes) with room for the vectors' growth.
pub(crate) const BATCH_BYTES_PER_ROW: u64 = 400;
/// Rows per second of function time a batch file is budgeted at: well under the measured
/// scoring speed (docs/benchmarks.md), leaving the rest of the timeout to S3 transfers.
pub(crate) const BATCH_ROWS_PER_S: u32 = 50_000;

/// `batch.*`, checked against the function: the file plus its rows must fit in three
/// quarters of `lambda.memory_mb`, and the rows in `lambda.timeout_s` at
/// [`BATCH_ROWS_PER_S`].
fn resolve_batch(
    cx: &Ctx<'_>,
    b: super::raw::RawBatch,
    lambda: &LambdaSettings,
) -> Result<BatchSettings, ConfigError> {
    let rows_field = b.max_rows.clone();
    let mb_field = b.max_mb.clone();
    let batch = BatchSettings {
        max_rows: cx.number(b.max_rows, 100_000, "batch.max_rows", 1..=1_000_000)?,
        max_mb: cx.number(b.max_mb, 16, "batch.max_mb", 1..=256)?,
    };
    let memory = u64::from(lambda.memory_mb.value) << 20;
    let needed = batch.max_bytes() + u64::from(batch.max_rows.value) * BATCH_BYTES_PER_ROW;
    if needed > memory / 4 * 3 {
        let message = format!(
            "`batch.max_rows` {} and `batch.max_mb` {} need about {} MB of the function's memory, more than 3/4 of `lambda.memory_mb` {}; lower them or raise `lambda.memory_mb`",
            batch.max_rows.value,
            batch.max_mb.value,
            needed.div_ceil(1 << 20),
            lambda.memory_mb.value
        );
        return Err(match (rows_field.as_ref(), mb_field.as_ref()) {
            (Some(spanned), _) => cx.error(spanned, message),
            (None, Some(spanned)) => cx.error(spanned, message),
            (None, None) => ConfigError::File {
                file: cx.file.display().to_string(),
                message,
            },
        });
    }
    let budget = lambda.timeout_s.value * BATCH_ROWS_PER_S;
    if batch.max_rows.value > budget {
        let message = format!(
            "`batch.max_rows` is {}, more than the function can score within `lambda.timeout_s` {} at {BATCH_ROWS_PER_S} rows/s ({budget}); lower it or raise `lambda.timeout_s`",
            batch.max_rows.value, lambda.timeout_s.value
        );
        return Err(match rows_field.as_ref() {
            Some(spanned) => cx.error(spanned, message),
            None => ConfigError::File {
                file: cx.file.display().to_string(),
                message,
            },
        });
    }
    Ok(batch)
}

/// Names an emulator env may have.
pub(crate) fn is_emulator_name(env: &str) -> bool {
    env == "local" || env.starts_with("local-")
}
