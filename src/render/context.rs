//! Config → the values a template sees. Owns everything computed for the templates
//! (scope, methods, alarms, gateway responses, dashboard and lifecycle JSON); must not
//! format YAML (the templates do).

use serde_json::{Value, json};

use crate::config::{AuthMode, Config};
use crate::naming::short_hash;

/// The OAuth scope every API method requires.
pub fn predict_scope(config: &Config) -> String {
    format!("{}/predict", config.names.resource_server)
}

/// Which of an env's two renderings: what CloudFormation deploys, or the contract
/// `local serve` enforces. They differ only for an emulator env with `auth.mode: cognito`:
/// LocalStack fails a whole stack whose methods use a COGNITO_USER_POOLS authorizer, so the
/// deployed service stack leaves the authorizer out, while local serve enforces it (with
/// its local token issuer) as API Gateway would on AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Deployed,
    LocalContract,
}

/// Whether the methods of `variant` carry the env's Cognito authorizer.
pub fn has_authorizer(config: &Config, variant: Variant) -> bool {
    config.auth.mode.value == AuthMode::Cognito
        && (variant == Variant::LocalContract || !config.emulator.value)
}

pub(crate) fn build(config: &Config, variant: Variant) -> Value {
    let c = config;
    let stage = c.api.stage_name.value.as_str();
    let api_name = c.names.rest_api.as_str();
    let emails: Vec<Value> = c
        .alarms
        .emails
        .value
        .iter()
        .map(|address| {
            json!({
                "id": format!("AlarmEmail{}", short_hash(address, 8)),
                "address": address,
            })
        })
        .collect();
    let function_dim = json!([{"name": "FunctionName", "value": "!Ref Function"}]);
    let api_dims = json!([
        {"name": "ApiName", "value": api_name},
        {"name": "Stage", "value": "!Ref Stage"},
    ]);
    let al = &c.alarms;
    let alarm = |id: &str,
                 description: &str,
                 namespace: &str,
                 metric: &str,
                 statistic: &str,
                 threshold: u32,
                 dimensions: &Value| {
        json!({
            "id": id,
            "description": format!("irisctl {}: {description}", c.env),
            "namespace": namespace,
            "metric": metric,
            "statistic": statistic,
            "extended": statistic.starts_with('p'),
            "threshold": threshold,
            "dimensions": dimensions,
        })
    };
    let metric_alarms = vec![
        alarm(
            "LambdaErrorsAlarm",
            "the inference function returned errors",
            "AWS/Lambda",
            "Errors",
            "Sum",
            al.lambda_errors.value,
            &function_dim,
        ),
        alarm(
            "LambdaThrottlesAlarm",
            "the inference function was throttled",
            "AWS/Lambda",
            "Throttles",
            "Sum",
            al.lambda_throttles.value,
            &function_dim,
        ),
        alarm(
            "LambdaDurationP99Alarm",
            "p99 duration of the inference function is high (ms)",
            "AWS/Lambda",
            "Duration",
            "p99",
            al.lambda_p99_duration_ms.value,
            &function_dim,
        ),
        alarm(
            "Api5xxAlarm",
            "the API returned 5XX errors",
            "AWS/ApiGateway",
            "5XXError",
            "Sum",
            al.api_5xx.value,
            &api_dims,
        ),
        alarm(
            "ApiLatencyP99Alarm",
            "p99 API latency is high (ms)",
            "AWS/ApiGateway",
            "Latency",
            "p99",
            al.api_p99_latency_ms.value,
            &api_dims,
        ),
        alarm(
            "ModelLoadFailuresAlarm",
            "the function failed to load its model (every request answers 500 until it loads)",
            &model_load_namespace(c),
            MODEL_LOAD_FAILURES_METRIC,
            "Sum",
            1,
            &json!([]),
        ),
        alarm(
            "DeadLetterQueueAlarm",
            "failed asynchronous invocations reached the dead-letter queue",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
            al.dlq_messages.value,
            &json!([{"name": "QueueName", "value": "!GetAtt DeadLetterQueue.QueueName"}]),
        ),
    ];
    let mut metric_alarms = metric_alarms;
    if c.is_sagemaker() {
        let endpoint_dims = json!([
            {"name": "EndpointName", "value": "!GetAtt Endpoint.EndpointName"},
            {"name": "VariantName", "value": ENDPOINT_VARIANT},
        ]);
        metric_alarms.extend([
            alarm(
                "Endpoint4xxAlarm",
                "the SageMaker endpoint's container refused requests (4XX)",
                "AWS/SageMaker",
                "Invocation4XXErrors",
                "Sum",
                al.endpoint_4xx.value,
                &endpoint_dims,
            ),
            alarm(
                "Endpoint5xxAlarm",
                "the SageMaker endpoint's container failed requests (5XX)",
                "AWS/SageMaker",
                "Invocation5XXErrors",
                "Sum",
                al.endpoint_5xx.value,
                &endpoint_dims,
            ),
            // ModelLatency is in microseconds.
            alarm(
                "EndpointModelLatencyP99Alarm",
                "p99 model latency of the SageMaker endpoint is high (microseconds)",
                "AWS/SageMaker",
                "ModelLatency",
                "p99",
                al.endpoint_p99_model_latency_ms.value * 1000,
                &endpoint_dims,
            ),
        ]);
    }
    // `POST /predict` goes to the env's backend; `GET /model` always to the function,
    // which a sagemaker env keeps for it and for batch scoring.
    let predict_backend = c.backend.value.as_str();
    let methods = json!([
        {"id": "PredictMethod", "resource": "PredictResource", "verb": "POST", "path": "predict", "validate_body": true, "backend": predict_backend},
        {"id": "ModelMethod", "resource": "ModelResource", "verb": "GET", "path": "model", "validate_body": false, "backend": "lambda"},
    ]);
    let error_template = r#"{"error":{"code":"$context.error.responseType","message":$context.error.messageString},"requestId":"$context.requestId"}"#;
    // Retry-After takes a static value here: a quoted literal in a gateway response header.
    let retry_after = json!([{"name": "Retry-After", "value": format!("'{RETRY_AFTER_S}'")}]);
    let gateway_responses = json!([
        {"id": "Default4xxResponse", "type": "DEFAULT_4XX", "template": error_template, "status": null, "headers": []},
        {"id": "Default5xxResponse", "type": "DEFAULT_5XX", "template": error_template, "status": null, "headers": []},
        // The stage's own throttling: 429, and when to try again.
        {"id": "ThrottledResponse", "type": "THROTTLED", "template": error_template, "status": null, "headers": retry_after},
        // Lambda refusing the invocation (its 429 when the function's concurrency is used
        // up) reaches API Gateway as an integration failure, by default a 500 indistinct
        // from a bug: answer 503 with Retry-After instead.
        {"id": "IntegrationFailureResponse", "type": "INTEGRATION_FAILURE", "template": error_template, "status": "503", "headers": retry_after},
    ]);
    let lambda = json!({
        "memory_mb": c.lambda.memory_mb.value,
        "timeout_s": c.lambda.timeout_s.value,
        "reserved_concurrency": c.lambda.reserved_concurrency.value,
        "model_load_namespace": model_load_namespace(c),
        "model_load_metric": MODEL_LOAD_FAILURES_METRIC,
        "model_load_marker": MODEL_LOAD_FAILED_EVENT,
        "architecture": c.lambda.architecture.value,
        "max_batch": c.lambda.max_batch.value,
        "package": c.lambda.package.value.as_str(),
    });
    let batch = json!({
        "max_rows": c.batch.max_rows.value,
        "max_bytes": c.batch.max_bytes(),
        "input_prefix": BATCH_INPUT_PREFIX,
        "output_prefix": BATCH_OUTPUT_PREFIX,
        "scored_event": BATCH_SCORED_EVENT,
        "failed_event": BATCH_FAILED_EVENT,
        "rows_metric": BATCH_ROWS_METRIC,
        "failures_metric": BATCH_FAILURES_METRIC,
    });
    let release = json!({
        "alias": crate::release::ALIAS,
        "description_prefix": crate::release::DESCRIPTION_PREFIX,
        "config_digest": crate::release::config_digest(&lambda, &batch, &c.names.function),
    });
    let sm = &c.sagemaker;
    let sagemaker = json!({
        "mode": sm.mode.value.as_str(),
        "variant": ENDPOINT_VARIANT,
        "memory_mb": sm.memory_mb.value,
        "max_concurrency": sm.max_concurrency.value,
        "instance_type": sm.instance_type.value,
        "min_instances": sm.min_instances.value,
        "max_instances": sm.max_instances.value,
        "target_invocations_per_instance": sm.target_invocations_per_instance.value,
    });
    let endpoint_error = |code: &str, message: &str| {
        format!(
            r#"{{"error":{{"code":"{code}","message":"{message}"}},"requestId":"$context.requestId"}}"#
        )
    };
    let endpoint_integration = json!({
        // The container's answer as it gave it: its status and its `ApiError` body.
        "model_error_template": "#set($context.responseOverride.status = $input.path('$.OriginalStatusCode'))$input.path('$.OriginalMessage')",
        "unavailable_template": endpoint_error("endpoint_unavailable", "the model endpoint is busy or starting; retry after the Retry-After seconds"),
        "failed_template": endpoint_error("internal_error", "the model endpoint could not be invoked"),
        "retry_after_s": RETRY_AFTER_S,
        // Every 4XX and 5XX status but 424 (the container's own answer), 429 and 503.
        "other_error_pattern": r"4(0\d|1\d|2[0-35-8]|[3-9]\d)|5(0[0-24-9]|[1-9]\d)",
    });
    json!({
        "env": c.env,
        "backend": c.backend.value.as_str(),
        "sagemaker": sagemaker,
        "endpoint_integration": endpoint_integration,
        "project": c.project.value,
        "protected": c.protected.value,
        "emulator": c.emulator.value,
        "predict_scope": predict_scope(c),
        "names": {
            "base": c.names.base,
            "model_bucket_sub": c.names.model_bucket_sub,
            "log_bucket_sub": c.names.log_bucket_sub,
            "function": c.names.function,
            "function_log_group": c.names.function_log_group,
            "access_log_group": c.names.access_log_group,
            "dead_letter_queue": c.names.dead_letter_queue,
            "alarm_topic": c.names.alarm_topic,
            "repository": c.names.repository,
            "user_pool": c.names.user_pool,
            "pool_domain_sub": c.names.pool_domain_sub,
            "resource_server": c.names.resource_server,
            "rest_api": c.names.rest_api,
            "dashboard": c.names.dashboard,
            "endpoint": c.names.endpoint,
            "endpoint_log_group": c.names.endpoint_log_group,
        },
        "lambda": lambda,
        "api": {
            "throttle_rate": c.api.throttle_rate.value,
            "throttle_burst": c.api.throttle_burst.value,
            "stage_name": stage,
            "client_requests_per_5min": c.api.client_requests_per_5min.value,
            "max_body_bytes": max_body_bytes(c.lambda.max_batch.value),
            "body_inspection_kb": body_inspection_kb(max_body_bytes(c.lambda.max_batch.value)),
            "web_acl": !c.emulator.value,
        },
        "auth": {
            "mode": c.auth.mode.value.as_str(),
            "authorizer": has_authorizer(c, variant),
            "access_token_minutes": c.auth.access_token_minutes.value,
        },
        "storage": {
            "noncurrent_version_days": c.storage.noncurrent_version_days.value,
            "keep_noncurrent_versions": c.storage.keep_noncurrent_versions.value,
            "abort_multipart_days": c.storage.abort_multipart_days.value,
            "access_logging": c.storage.access_logging.value,
            "access_logging_exemption": c.storage.access_logging_exemption.value,
            "access_log_days": c.storage.access_log_days.value,
        },
        "logs": {"retention_days": c.logs.retention_days.value},
        "batch": batch,
        "release": release,
        "repository": {
            "keep_images": c.repository.keep_images.value,
            "lifecycle": repository_lifecycle(c.repository.keep_images.value),
        },
        "predict_schema": canonical(predict_schema(c.lambda.max_batch.value)),
        "access_log_format": access_log_format(),
        "methods": methods,
        "gateway_responses": gateway_responses,
        "alarms": {
            "emails": emails,
            "period_s": al.period_s.value,
            "evaluation_periods": al.evaluation_periods.value,
            "metric_alarms": metric_alarms,
        },
        "dashboard_body": dashboard_body(api_name, stage, &model_load_namespace(c)),
    })
}

/// The one production variant of a sagemaker env's endpoint (alarm dimensions and the
/// auto scaling resource id name it).
pub const ENDPOINT_VARIANT: &str = "primary";

/// Seconds a client is told to wait (Retry-After) after a 429 or 503.
pub const RETRY_AFTER_S: u32 = 1;

/// The `event` field of the function's log line when its model fails to load
/// (lambda/src/handler.rs logs it): the metric filter counts lines holding it.
pub const MODEL_LOAD_FAILED_EVENT: &str = "model_load_failed";

/// Where batch files go in the env's bucket, and where their results come out
/// (lambda/src/batch/event.rs uses the same prefixes).
pub const BATCH_INPUT_PREFIX: &str = "batch/in/";
pub const BATCH_OUTPUT_PREFIX: &str = "batch/out/";

/// The `event` fields of the function's log lines for a scored and a failed batch file
/// (lambda/src/batch/run.rs logs them); the batch metric filters count them.
pub const BATCH_SCORED_EVENT: &str = "batch_scored";
pub const BATCH_FAILED_EVENT: &str = "batch_failed";
pub const BATCH_ROWS_METRIC: &str = "BatchRowsScored";
pub const BATCH_FAILURES_METRIC: &str = "BatchFileFailures";

/// The metric the model-load metric filter publishes.
pub const MODEL_LOAD_FAILURES_METRIC: &str = "ModelLoadFailures";

/// The env's own metric namespace (one per env, so alarms of two envs never mix).
fn model_load_namespace(config: &Config) -> String {
    format!("irisctl/{}", config.names.base)
}

/// The largest body a valid request can have: the batch of `max_batch` flowers, each an
/// object of four numbers (up to 256 bytes written out generously), plus the envelope.
/// The web ACL refuses larger bodies; API Gateway inspects at most 64 KiB of a body, so
/// the limit never exceeds that.
pub fn max_body_bytes(max_batch: u32) -> u32 {
    (1024 + 256 * max_batch).min(64 * 1024)
}

/// The WAF body inspection size (KB) for API Gateway that covers `bytes`: 16, 32, 48 or 64.
fn body_inspection_kb(bytes: u32) -> u32 {
    let kb = bytes.div_ceil(1024);
    [16, 32, 48, 64]
        .into_iter()
        .find(|&s| s >= kb)
        .unwrap_or(64)
}

fn repository_lifecycle(keep: u32) -> String {
    canonical(json!({
        "rules": [{
            "rulePriority": 1,
            "description": format!("keep the newest {keep} images"),
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
            "action": {"type": "expire"},
        }]
    }))
}

/// The body API Gateway checks before invoking the function: one flower or a batch under
/// `instances`. The function still checks every value (ranges, NaN) and names the field.
/// The body is exactly one of the two shapes: no other key, every feature present, each
/// batch item a flower of the same shape.
fn predict_schema(max_batch: u32) -> Value {
    let features = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
    let mut props = serde_json::Map::new();
    for f in features {
        props.insert(f.to_string(), json!({"type": "number"}));
    }
    let flower = json!({
        "type": "object",
        "properties": props,
        "required": features,
        "additionalProperties": false,
    });
    let batch = json!({
        "type": "object",
        "properties": {
            "instances": {"type": "array", "minItems": 1, "maxItems": max_batch, "items": flower},
        },
        "required": ["instances"],
        "additionalProperties": false,
    });
    json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "PredictRequest",
        "oneOf": [flower, batch],
    })
}

fn access_log_format() -> String {
    canonical(json!({
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
        "integrationLatencyMs": "$context.integrationLatency",
        "errorType": "$context.error.responseType",
        "clientId": "$context.authorizer.claims.client_id",
    }))
}

/// The dashboard JSON as a `!Sub` pattern (`${Function}` etc. filled in by CloudFormation).
fn dashboard_body(api_name: &str, stage: &str, namespace: &str) -> String {
    let lambda = |metric: &str, stat: &str| json!(["AWS/Lambda", metric, "FunctionName", "${Function}", {"stat": stat}]);
    let api = |metric: &str, stat: &str| json!(["AWS/ApiGateway", metric, "ApiName", api_name, "Stage", stage, {"stat": stat}]);
    let widget = |x: u32, y: u32, title: &str, metrics: Vec<Value>| {
        json!({
            "type": "metric", "x": x, "y": y, "width": 12, "height": 6,
            "properties": {"title": title, "region": "${AWS::Region}", "view": "timeSeries", "period": 60, "metrics": metrics},
        })
    };
    canonical(json!({
        "widgets": [
            widget(0, 0, "Lambda errors and throttles", vec![lambda("Errors", "Sum"), lambda("Throttles", "Sum"), lambda("Invocations", "Sum")]),
            widget(12, 0, "Lambda duration p99 (ms)", vec![lambda("Duration", "p99")]),
            widget(0, 6, "API requests and 5XX", vec![api("Count", "Sum"), api("5XXError", "Sum"), api("4XXError", "Sum")]),
            widget(12, 6, "API latency p99 (ms)", vec![api("Latency", "p99")]),
            widget(0, 12, "Dead-letter queue messages", vec![json!(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${DeadLetterQueue.QueueName}", {"stat": "Maximum"}])]),
            widget(12, 12, "Batch rows scored, failed file attempts, dropped events", vec![
                json!([namespace, BATCH_ROWS_METRIC, {"stat": "Sum"}]),
                json!([namespace, BATCH_FAILURES_METRIC, {"stat": "Sum"}]),
                lambda("AsyncEventsDropped", "Sum"),
                lambda("DeadLetterErrors", "Sum"),
            ]),
        ]
    }))
}

/// Compact JSON with every object's keys sorted, whatever serde_json's `preserve_order`
/// feature (which another crate in the build may switch on): rendered bytes must not
/// depend on feature unification.
pub(crate) fn canonical(value: Value) -> String {
    fn sort(value: Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(String, Value)> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Object(entries.into_iter().map(|(k, v)| (k, sort(v))).collect())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(sort).collect()),
            other => other,
        }
    }
    sort(value).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v = json!({"b": 1, "a": {"d": [{"z": 0, "y": 1}], "c": 2}});
        assert_eq!(canonical(v), r#"{"a":{"c":2,"d":[{"y":1,"z":0}]},"b":1}"#);
    }
}
