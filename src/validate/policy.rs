//! Our own policy rules for rendered templates, the ones public rule sets lack:
//! stage throttling present, tracing active, an authorizer on every non-OPTIONS method,
//! the stage burst within the function's reserved concurrency, no `*` action in any Allow statement, every alarm has an action, every log group has
//! retention, every bucket is versioned, encrypted and TLS-only, and every linter
//! suppression carries its reason.

use serde_json::Value;

use super::Allowances;

type Report<'a> = dyn FnMut(String, &'static str, String) + 'a;

fn resources_of<'a>(
    doc: &'a Value,
    ty: &'a str,
) -> impl Iterator<Item = (&'a String, &'a Value)> + 'a {
    doc.get("Resources")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
}

fn prop<'a>(resource: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut v = resource.get("Properties")?;
    for p in path {
        v = v.get(*p)?;
    }
    Some(v)
}

pub(crate) fn check(doc: &Value, allow: Allowances, report: &mut Report<'_>) {
    stage_throttling_and_tracing(doc, report);
    burst_fits_reserved_concurrency(doc, report);
    function_tracing(doc, report);
    method_authorizers(doc, allow, report);
    no_star_actions("", doc, report);
    alarm_actions(doc, report);
    log_retention(doc, report);
    buckets(doc, report);
    suppression_reasons(doc, report);
}

/// A linter suppression is allowed only inline and with its reason next to it.
fn suppression_reasons(doc: &Value, report: &mut Report<'_>) {
    let Some(resources) = doc.get("Resources").and_then(Value::as_object) else {
        return;
    };
    for (id, r) in resources {
        let path = format!("Resources.{id}.Metadata");
        if let Some(skips) = r
            .pointer("/Metadata/checkov/skip")
            .and_then(Value::as_array)
        {
            for skip in skips {
                let check = skip.get("id").and_then(Value::as_str).unwrap_or("?");
                let reason = skip.get("comment").and_then(Value::as_str).unwrap_or("");
                if reason.trim().len() < 10 {
                    report(
                        path.clone(),
                        "suppression-reason",
                        format!("checkov skip {check} has no reason (comment)"),
                    );
                }
            }
        }
        if r.pointer("/Metadata/cfn-lint/config/ignore_checks")
            .is_some()
            && r.pointer("/Metadata/cfn-lint-reason")
                .and_then(Value::as_str)
                .is_none_or(|s| s.trim().len() < 10)
        {
            report(
                path,
                "suppression-reason",
                "cfn-lint ignore_checks needs a `cfn-lint-reason` next to it".into(),
            );
        }
    }
}

fn stage_throttling_and_tracing(doc: &Value, report: &mut Report<'_>) {
    for (id, stage) in resources_of(doc, "AWS::ApiGateway::Stage") {
        let path = format!("Resources.{id}");
        let settings = prop(stage, &["MethodSettings"]).and_then(Value::as_array);
        let throttled = settings.is_some_and(|s| {
            s.iter().any(|m| {
                m.get("ThrottlingRateLimit").is_some() && m.get("ThrottlingBurstLimit").is_some()
            })
        });
        if !throttled {
            report(
                format!("{path}.Properties.MethodSettings"),
                "stage-throttling",
                "stage has no method throttling (ThrottlingRateLimit and ThrottlingBurstLimit)"
                    .into(),
            );
        }
        if prop(stage, &["TracingEnabled"]) != Some(&Value::Bool(true)) {
            report(
                format!("{path}.Properties.TracingEnabled"),
                "tracing",
                "stage tracing is not enabled".into(),
            );
        }
        if prop(stage, &["AccessLogSetting", "DestinationArn"]).is_none() {
            report(
                format!("{path}.Properties.AccessLogSetting"),
                "access-logs",
                "stage has no access log destination".into(),
            );
        }
    }
}

/// A stage burst above the function's reserved concurrency lets through requests the
/// function cannot run: Lambda throttles them and the client gets a 503. No reservation
/// means the account's unreserved pool serves them, so there is nothing to compare.
fn burst_fits_reserved_concurrency(doc: &Value, report: &mut Report<'_>) {
    let reserved = resources_of(doc, "AWS::Lambda::Function")
        .filter_map(|(_, f)| prop(f, &["ReservedConcurrentExecutions"]).and_then(Value::as_u64))
        .min();
    let Some(reserved) = reserved else { return };
    for (id, stage) in resources_of(doc, "AWS::ApiGateway::Stage") {
        let settings = prop(stage, &["MethodSettings"]).and_then(Value::as_array);
        for (i, m) in settings.into_iter().flatten().enumerate() {
            let Some(burst) = m.get("ThrottlingBurstLimit").and_then(Value::as_u64) else {
                continue;
            };
            if burst > reserved {
                report(
                    format!("Resources.{id}.Properties.MethodSettings[{i}].ThrottlingBurstLimit"),
                    "burst-concurrency",
                    format!(
                        "the stage lets {burst} requests through at once (api.throttle_burst) \
                         but the function may run only {reserved} at a time \
                         (lambda.reserved_concurrency), so up to {} of them would be throttled \
                         and answered 503; set lambda.reserved_concurrency to at least {burst}, \
                         lower api.throttle_burst to at most {reserved}, or remove \
                         lambda.reserved_concurrency",
                        burst - reserved
                    ),
                );
            }
        }
    }
}

fn function_tracing(doc: &Value, report: &mut Report<'_>) {
    for (id, f) in resources_of(doc, "AWS::Lambda::Function") {
        if prop(f, &["TracingConfig", "Mode"]).and_then(Value::as_str) != Some("Active") {
            report(
                format!("Resources.{id}.Properties.TracingConfig"),
                "tracing",
                "function tracing is not Active".into(),
            );
        }
    }
}

fn method_authorizers(doc: &Value, allow: Allowances, report: &mut Report<'_>) {
    for (id, m) in resources_of(doc, "AWS::ApiGateway::Method") {
        if prop(m, &["HttpMethod"]).and_then(Value::as_str) == Some("OPTIONS") {
            continue;
        }
        let kind = prop(m, &["AuthorizationType"])
            .and_then(Value::as_str)
            .unwrap_or("NONE");
        let path = format!("Resources.{id}.Properties.AuthorizationType");
        match kind {
            "COGNITO_USER_POOLS" | "CUSTOM" => {
                if prop(m, &["AuthorizerId"]).is_none() {
                    report(
                        path,
                        "authorizer",
                        format!("method uses {kind} but has no AuthorizerId"),
                    );
                } else if kind == "COGNITO_USER_POOLS"
                    && prop(m, &["AuthorizationScopes"])
                        .and_then(Value::as_array)
                        .is_none_or(|s| s.is_empty())
                {
                    report(
                        path,
                        "authorizer",
                        "Cognito method requires no scope".into(),
                    );
                }
            }
            "AWS_IAM" => {}
            _ if allow.open_methods => {}
            other => report(
                path,
                "authorizer",
                format!(
                    "method has AuthorizationType {other}; every non-OPTIONS method needs an authorizer (only emulator envs may run without)"
                ),
            ),
        }
    }
}

fn is_star_action(action: &str) -> bool {
    action == "*" || action.ends_with(":*")
}

/// Walk the whole document: any `Statement` list anywhere is a policy document.
fn no_star_actions(path: &str, v: &Value, report: &mut Report<'_>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(statements)) = map.get("Statement") {
                for (i, s) in statements.iter().enumerate() {
                    if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
                        continue;
                    }
                    let actions: Vec<&str> = match s.get("Action") {
                        Some(Value::String(a)) => vec![a.as_str()],
                        Some(Value::Array(items)) => {
                            items.iter().filter_map(Value::as_str).collect()
                        }
                        _ => vec![],
                    };
                    if let Some(a) = actions.into_iter().find(|a| is_star_action(a)) {
                        report(
                            format!("{path}.Statement[{i}]"),
                            "star-action",
                            format!("Allow statement grants `{a}`; list the actions it needs"),
                        );
                    }
                    if s.get("NotAction").is_some() {
                        report(
                            format!("{path}.Statement[{i}]"),
                            "star-action",
                            "Allow with NotAction grants everything else".into(),
                        );
                    }
                }
            }
            for (k, child) in map {
                let child_path = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                no_star_actions(&child_path, child, report);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                no_star_actions(&format!("{path}[{i}]"), child, report);
            }
        }
        _ => {}
    }
}

fn alarm_actions(doc: &Value, report: &mut Report<'_>) {
    for (id, a) in resources_of(doc, "AWS::CloudWatch::Alarm") {
        if prop(a, &["AlarmActions"])
            .and_then(Value::as_array)
            .is_none_or(|x| x.is_empty())
        {
            report(
                format!("Resources.{id}.Properties.AlarmActions"),
                "alarm-action",
                "alarm has no action; nobody would hear it".into(),
            );
        }
    }
}

fn log_retention(doc: &Value, report: &mut Report<'_>) {
    for (id, g) in resources_of(doc, "AWS::Logs::LogGroup") {
        if prop(g, &["RetentionInDays"]).is_none() {
            report(
                format!("Resources.{id}.Properties.RetentionInDays"),
                "log-retention",
                "log group keeps logs forever; set RetentionInDays".into(),
            );
        }
    }
}

fn buckets(doc: &Value, report: &mut Report<'_>) {
    for (id, b) in resources_of(doc, "AWS::S3::Bucket") {
        let path = format!("Resources.{id}");
        if prop(b, &["VersioningConfiguration", "Status"]).and_then(Value::as_str)
            != Some("Enabled")
        {
            report(
                format!("{path}.Properties.VersioningConfiguration"),
                "bucket-versioning",
                "bucket is not versioned".into(),
            );
        }
        if prop(b, &["BucketEncryption"]).is_none() {
            report(
                format!("{path}.Properties.BucketEncryption"),
                "bucket-encryption",
                "bucket has no default encryption".into(),
            );
        }
        let tls_only = resources_of(doc, "AWS::S3::BucketPolicy").any(|(_, p)| {
            let targets_bucket =
                prop(p, &["Bucket", "Ref"]).and_then(Value::as_str) == Some(id.as_str());
            let denies_plain = prop(p, &["PolicyDocument", "Statement"])
                .and_then(Value::as_array)
                .is_some_and(|st| {
                    st.iter().any(|s| {
                        s.get("Effect").and_then(Value::as_str) == Some("Deny")
                            && s.pointer("/Condition/Bool/aws:SecureTransport")
                                .is_some_and(|v| v == "false" || v == &Value::Bool(false))
                    })
                });
            targets_bucket && denies_plain
        });
        if !tls_only {
            report(
                path,
                "bucket-tls-only",
                "no bucket policy denies requests without TLS (aws:SecureTransport false)".into(),
            );
        }
    }
}
