//! `config show` as data: every resolved value of a [`Config`] as one row with its
//! source. Must not print (the command does).

use super::{Config, Source, Sourced};

/// One resolved setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub source: Source,
}

fn row<T: std::fmt::Display>(out: &mut Vec<Entry>, key: &str, v: &Sourced<T>) {
    out.push(Entry {
        key: key.to_string(),
        value: v.value.to_string(),
        source: v.source.clone(),
    });
}

fn derived(out: &mut Vec<Entry>, key: &str, value: impl Into<String>, why: &str) {
    out.push(Entry {
        key: key.to_string(),
        value: value.into(),
        source: Source::Derived(why.to_string()),
    });
}

fn text<T, F: Fn(&T) -> String>(v: &Sourced<T>, f: F) -> Sourced<String> {
    Sourced::new(f(&v.value), v.source.clone())
}

pub(crate) fn entries(c: &Config) -> Vec<Entry> {
    let mut out = Vec::new();
    let kind = match &c.kind {
        super::EnvKind::Named => format!("named ({})", c.file.display()),
        super::EnvKind::Ephemeral { pattern } => {
            format!("ephemeral ({pattern}, from {})", c.file.display())
        }
    };
    derived(&mut out, "env", c.env.clone(), "--env");
    derived(&mut out, "kind", kind, "env name");
    row(&mut out, "project", &c.project);
    row(&mut out, "region", &c.region);
    row(
        &mut out,
        "account_id",
        &text(&c.account_id, |v| match v.as_deref() {
            None => "(none)".into(),
            Some("") => "(empty: not set yet)".into(),
            Some(id) => id.to_owned(),
        }),
    );
    row(&mut out, "emulator", &c.emulator);
    row(&mut out, "protected", &c.protected);
    row(
        &mut out,
        "ttl_hours",
        &text(&c.ttl_hours, |v| {
            v.map_or("(none)".into(), |h| h.to_string())
        }),
    );
    if c.tags.is_empty() {
        row(&mut out, "tags", &Sourced::new("{}", Source::Default));
    }
    for (key, value) in &c.tags {
        row(&mut out, &format!("tags.{key}"), value);
    }
    let l = &c.lambda;
    row(&mut out, "lambda.memory_mb", &l.memory_mb);
    row(&mut out, "lambda.timeout_s", &l.timeout_s);
    row(
        &mut out,
        "lambda.reserved_concurrency",
        &text(&l.reserved_concurrency, |v| {
            v.map_or("(none)".into(), |n| n.to_string())
        }),
    );
    row(&mut out, "lambda.architecture", &l.architecture);
    row(&mut out, "lambda.max_batch", &l.max_batch);
    row(&mut out, "lambda.package", &l.package);
    let a = &c.api;
    row(&mut out, "api.throttle_rate", &a.throttle_rate);
    row(&mut out, "api.throttle_burst", &a.throttle_burst);
    row(&mut out, "api.stage_name", &a.stage_name);
    row(
        &mut out,
        "api.client_requests_per_5min",
        &a.client_requests_per_5min,
    );
    row(
        &mut out,
        "auth.mode",
        &text(&c.auth.mode, |m| m.as_str().to_string()),
    );
    row(
        &mut out,
        "auth.access_token_minutes",
        &c.auth.access_token_minutes,
    );
    let al = &c.alarms;
    row(
        &mut out,
        "alarms.emails",
        &text(&al.emails, |e| {
            if e.is_empty() {
                "(none)".into()
            } else {
                e.join(", ")
            }
        }),
    );
    row(&mut out, "alarms.period_s", &al.period_s);
    row(
        &mut out,
        "alarms.evaluation_periods",
        &al.evaluation_periods,
    );
    row(&mut out, "alarms.lambda_errors", &al.lambda_errors);
    row(&mut out, "alarms.lambda_throttles", &al.lambda_throttles);
    row(
        &mut out,
        "alarms.lambda_p99_duration_ms",
        &al.lambda_p99_duration_ms,
    );
    row(&mut out, "alarms.api_5xx", &al.api_5xx);
    row(
        &mut out,
        "alarms.api_p99_latency_ms",
        &al.api_p99_latency_ms,
    );
    row(&mut out, "alarms.dlq_messages", &al.dlq_messages);
    if c.is_sagemaker() {
        row(&mut out, "alarms.endpoint_4xx", &al.endpoint_4xx);
        row(&mut out, "alarms.endpoint_5xx", &al.endpoint_5xx);
        row(
            &mut out,
            "alarms.endpoint_p99_model_latency_ms",
            &al.endpoint_p99_model_latency_ms,
        );
    }
    row(&mut out, "logs.retention_days", &c.logs.retention_days);
    let s = &c.storage;
    row(
        &mut out,
        "storage.noncurrent_version_days",
        &s.noncurrent_version_days,
    );
    row(
        &mut out,
        "storage.keep_noncurrent_versions",
        &s.keep_noncurrent_versions,
    );
    row(
        &mut out,
        "storage.abort_multipart_days",
        &s.abort_multipart_days,
    );
    row(&mut out, "storage.access_logging", &s.access_logging);
    row(
        &mut out,
        "storage.access_logging_exemption",
        &text(&s.access_logging_exemption, |v| {
            v.clone().unwrap_or_else(|| "(none)".into())
        }),
    );
    row(&mut out, "storage.access_log_days", &s.access_log_days);
    row(
        &mut out,
        "repository.keep_images",
        &c.repository.keep_images,
    );
    row(&mut out, "batch.max_rows", &c.batch.max_rows);
    row(&mut out, "batch.max_mb", &c.batch.max_mb);
    row(
        &mut out,
        "rollout.strategy",
        &text(&c.rollout.strategy, |s| s.to_string()),
    );
    row(
        &mut out,
        "rollout.max_disagreement_pct",
        &c.rollout.max_disagreement_pct,
    );
    row(&mut out, "rollout.samples", &c.rollout.samples);
    row(&mut out, "backend", &c.backend);
    if c.is_sagemaker() {
        let sm = &c.sagemaker;
        row(&mut out, "sagemaker.mode", &sm.mode);
        match sm.mode.value {
            super::SagemakerMode::Serverless => {
                row(&mut out, "sagemaker.memory_mb", &sm.memory_mb);
                row(&mut out, "sagemaker.max_concurrency", &sm.max_concurrency);
            }
            super::SagemakerMode::Instance => {
                row(&mut out, "sagemaker.instance_type", &sm.instance_type);
                row(&mut out, "sagemaker.min_instances", &sm.min_instances);
                row(&mut out, "sagemaker.max_instances", &sm.max_instances);
                row(
                    &mut out,
                    "sagemaker.target_invocations_per_instance",
                    &sm.target_invocations_per_instance,
                );
            }
        }
    }
    let n = &c.names;
    let why = "project + env";
    derived(
        &mut out,
        "names.storage_stack",
        n.storage_stack.clone(),
        why,
    );
    derived(&mut out, "names.auth_stack", n.auth_stack.clone(), why);
    derived(
        &mut out,
        "names.service_stack",
        n.service_stack.clone(),
        why,
    );
    derived(
        &mut out,
        "names.model_bucket",
        n.model_bucket_sub.clone(),
        "project + env + account + region",
    );
    if s.access_logging.value {
        derived(
            &mut out,
            "names.log_bucket",
            n.log_bucket_sub.clone(),
            "project + env + account + region",
        );
    }
    derived(&mut out, "names.function", n.function.clone(), why);
    derived(&mut out, "names.repository", n.repository.clone(), why);
    if c.is_sagemaker() {
        derived(&mut out, "names.endpoint", n.endpoint.clone(), why);
    }
    derived(
        &mut out,
        "names.dead_letter_queue",
        n.dead_letter_queue.clone(),
        why,
    );
    derived(&mut out, "names.alarm_topic", n.alarm_topic.clone(), why);
    derived(
        &mut out,
        "names.pool_domain",
        n.pool_domain_sub.clone(),
        "project + env + account",
    );
    out
}
