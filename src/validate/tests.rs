//! Each rule both ways: the rendered templates pass, and a template mutated to break the
//! rule fails with that rule's finding.

use std::path::Path;

use super::*;
use crate::naming::StackKind;

fn envs_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/environments"))
}

fn stack(env: &str, kind: StackKind) -> (RenderedStack, Allowances) {
    let config = Config::load(envs_dir(), env).expect("env loads");
    let stacks = render::render_env(&config).expect("renders");
    let stack = stacks
        .into_iter()
        .find(|s| s.kind == kind)
        .expect("stack kind present");
    (stack, Allowances::for_config(&config))
}

/// Replace `from` (which must occur) with `to` and return the rules that fire.
fn rules_after(env: &str, kind: StackKind, from: &str, to: &str) -> Vec<Finding> {
    let (mut s, allow) = stack(env, kind);
    assert!(
        s.body.contains(from),
        "mutation target `{from}` not in {}",
        s.name
    );
    s.body = s.body.replacen(from, to, 1);
    validate_stack(&s, allow)
}

fn assert_rule(findings: &[Finding], rule: &str, needle: &str) {
    assert!(
        findings
            .iter()
            .any(|f| f.rule == rule && f.to_string().contains(needle)),
        "expected [{rule}] containing `{needle}`, got: {findings:#?}"
    );
}

#[test]
fn every_env_renders_clean() {
    let mut envs = crate::config::named_envs(envs_dir());
    envs.extend(["pr-123".to_string(), "feature-sample".to_string()]);
    for env in envs {
        let config = Config::load(envs_dir(), &env).expect("env loads");
        let findings = validate_env(&config).expect("renders");
        assert!(findings.is_empty(), "{env}: {findings:#?}");
    }
}

#[test]
fn stage_without_throttling_fails() {
    let f = rules_after(
        "dev",
        StackKind::Service,
        "          ThrottlingRateLimit: 10\n",
        "",
    );
    assert_rule(&f, "stage-throttling", "Resources.Stage");
}

#[test]
fn tracing_off_fails() {
    let f = rules_after(
        "dev",
        StackKind::Service,
        "TracingEnabled: true",
        "TracingEnabled: false",
    );
    assert_rule(&f, "tracing", "stage tracing");
    let f = rules_after(
        "dev",
        StackKind::Service,
        "Mode: Active",
        "Mode: PassThrough",
    );
    assert_rule(&f, "tracing", "Resources.Function");
}

#[test]
fn method_without_authorizer_fails_outside_emulator_envs() {
    let f = rules_after(
        "dev",
        StackKind::Service,
        "AuthorizationType: COGNITO_USER_POOLS",
        "AuthorizationType: NONE",
    );
    assert_rule(&f, "authorizer", "Resources.PredictMethod");
    let f = rules_after(
        "dev",
        StackKind::Service,
        "        - !Ref PredictScope\n",
        "",
    );
    assert_rule(&f, "authorizer", "requires no scope");
}

#[test]
fn emulator_env_may_have_open_methods_but_a_real_env_may_not() {
    let (local, allow) = stack("local", StackKind::Service);
    assert!(allow.open_methods);
    assert!(validate_stack(&local, allow).is_empty());
    let strict = Allowances {
        open_methods: false,
    };
    assert_rule(
        &validate_stack(&local, strict),
        "authorizer",
        "PredictMethod",
    );
}

#[test]
fn star_action_fails() {
    let f = rules_after(
        "dev",
        StackKind::Service,
        "Action: sqs:SendMessage\n                Resource",
        "Action: sqs:*\n                Resource",
    );
    assert_rule(&f, "star-action", "sqs:*");
    let f = rules_after("prod", StackKind::Storage, "- kms:TagResource", "- \"*\"");
    assert_rule(&f, "star-action", "`*`");
}

#[test]
fn alarm_without_action_fails() {
    let f = rules_after(
        "dev",
        StackKind::Service,
        "      AlarmActions:\n        - !Ref AlarmTopic\n",
        "",
    );
    assert_rule(&f, "alarm-action", "LambdaErrorsAlarm");
}

#[test]
fn log_group_without_retention_fails() {
    let f = rules_after("dev", StackKind::Service, "      RetentionInDays: 14\n", "");
    assert_rule(&f, "log-retention", "FunctionLogGroup");
}

#[test]
fn unversioned_or_plain_http_bucket_fails() {
    let f = rules_after(
        "dev",
        StackKind::Storage,
        "VersioningConfiguration:\n        Status: Enabled\n      BucketEncryption:\n        ServerSideEncryptionConfiguration:\n          - ServerSideEncryptionByDefault:\n              SSEAlgorithm: aws:kms",
        "VersioningConfiguration:\n        Status: Suspended\n      BucketEncryption:\n        ServerSideEncryptionConfiguration:\n          - ServerSideEncryptionByDefault:\n              SSEAlgorithm: aws:kms",
    );
    assert_rule(&f, "bucket-versioning", "ModelBucket");
    let (s, allow) = stack("dev", StackKind::Storage);
    let idx = s
        .body
        .rfind("aws:SecureTransport: \"false\"")
        .expect("model bucket TLS rule");
    let mut broken = s.clone();
    broken.body.replace_range(
        idx..idx + "aws:SecureTransport: \"false\"".len(),
        "aws:SecureTransport: \"true\"",
    );
    assert_rule(
        &validate_stack(&broken, allow),
        "bucket-tls-only",
        "Resources.ModelBucket",
    );
}

#[test]
fn dangling_references_fail() {
    let f = rules_after(
        "dev",
        StackKind::Service,
        "TopicArn: !Ref AlarmTopic",
        "TopicArn: !Ref AlarmTopik",
    );
    assert_rule(&f, "ref", "Ref `AlarmTopik`");
    let f = rules_after(
        "dev",
        StackKind::Service,
        "!GetAtt FunctionRole.Arn",
        "!GetAtt FunctionRol.Arn",
    );
    assert_rule(&f, "ref", "GetAtt `FunctionRol`");
    let f = rules_after(
        "dev",
        StackKind::Service,
        "${ModelBucketArn}/${ModelKey}",
        "${ModelBuckedArn}/${ModelKey}",
    );
    assert_rule(&f, "ref", "${ModelBuckedArn}");
    let f = rules_after(
        "dev",
        StackKind::Service,
        "      - DeadLetterQueuePolicy\n",
        "      - DeadLetterQueuePolicies\n",
    );
    assert_rule(&f, "ref", "DependsOn `DeadLetterQueuePolicies`");
    let f = rules_after(
        "dev",
        StackKind::Service,
        "!If [HasLambdaCodeVersion,",
        "!If [HasCodeVersion,",
    );
    assert_rule(&f, "ref", "`HasCodeVersion`, which is not a condition");
    assert_rule(&f, "unused", "condition `HasLambdaCodeVersion`");
}

#[test]
fn unused_parameter_fails() {
    let f = rules_after(
        "dev",
        StackKind::Service,
        "MANIFEST_VERSION_ID: !Ref ManifestVersionId",
        "MANIFEST_VERSION_ID: fixed",
    );
    assert_rule(&f, "unused", "parameter `ManifestVersionId`");
}

#[test]
fn broken_yaml_is_a_finding_not_a_panic() {
    let (mut s, allow) = stack("dev", StackKind::Auth);
    s.body.push_str("\n  Broken: [unclosed\n");
    assert_rule(&validate_stack(&s, allow), "yaml", "not valid YAML");
}

#[test]
fn suppression_without_reason_fails() {
    let f = rules_after(
        "dev",
        StackKind::Service,
        "comment: The function reaches only S3",
        "comment: \"\"\n            note: The function reaches only S3",
    );
    assert_rule(&f, "suppression-reason", "CKV_AWS_117");
}

#[test]
fn a_stage_burst_above_the_reserved_concurrency_fails_with_the_numbers_and_the_fix() {
    // prod reserves 400 executions for a burst of 400; a burst of 401 no longer fits.
    let f = rules_after(
        "prod",
        StackKind::Service,
        "          ThrottlingBurstLimit: 400\n",
        "          ThrottlingBurstLimit: 401\n",
    );
    assert_rule(&f, "burst-concurrency", "lets 401 requests through at once");
    assert_rule(&f, "burst-concurrency", "run only 400 at a time");
    assert_rule(
        &f,
        "burst-concurrency",
        "set lambda.reserved_concurrency to at least 401",
    );
}

#[test]
fn without_a_reservation_any_burst_is_accepted() {
    // dev reserves nothing: the account's unreserved pool serves its burst.
    let (s, allow) = stack("dev", StackKind::Service);
    assert!(!s.body.contains("ReservedConcurrentExecutions"));
    assert!(
        validate_stack(&s, allow)
            .iter()
            .all(|f| f.rule != "burst-concurrency")
    );
}

#[test]
fn an_env_file_whose_burst_exceeds_its_reservation_is_refused_by_validate() {
    let text = "lambda:\n  reserved_concurrency: 10\napi:\n  throttle_burst: 20\n";
    let config = Config::from_text(
        "dev",
        crate::config::EnvKind::Named,
        Path::new("environments/dev.yaml"),
        text,
    )
    .expect("parses");
    let findings = validate_env(&config).expect("renders");
    assert_rule(&findings, "burst-concurrency", "lets 20 requests through");
    assert_rule(&findings, "burst-concurrency", "run only 10 at a time");
}
