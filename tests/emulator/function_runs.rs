//! The deployed function runs on the emulator: `irisctl package` builds the real bootstrap,
//! `iris-model train` a real model, `irisctl deploy` puts both in a fresh `local-<unique>`
//! env, and LocalStack runs the function as a local process (scripts/emulator.d's
//! `local-process` executor). Then, through LocalStack's own Lambda and API Gateway code:
//! a sync Lambda invoke answers a prediction, `POST /predict` on the path-style API URL
//! (`irisctl::local_api_url`) answers the species `iris-model predict` gives for the same
//! artifact, `GET /model` names the deployed model, and a body the function rejects comes
//! back with the function's status code and JSON body (proxy integration). The env is
//! destroyed with `irisctl destroy`, and its stacks and buckets removed even if the test
//! fails. A second test runs a shell `bootstrap` through the same executor to check the
//! failure paths Lambda defines: a function error, a timeout, a runtime that exits, and
//! the environment answering again after each.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus};
use aws_sdk_s3::primitives::ByteStream;
use irisctl::aws::endpoint::{self, Service};
use irisctl::contract;
use serde_json::{Value, json};

use crate::support;

const FLOWER: [f64; 4] = [6.7, 3.0, 5.2, 2.3];

pub(crate) fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

pub(crate) fn irisctl(args: &[&str]) -> Output {
    support::irisctl(args).output()
}

pub(crate) fn assert_ok(what: &str, out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what} failed\n{}",
        support::describe_output(out)
    );
}

/// `iris-model`, built next to irisctl (same profile). Always asked of cargo (a no-op
/// when it is up to date): a binary merely found there may be older than this checkout.
pub(crate) fn iris_model() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_irisctl")).with_file_name("iris-model");
    let profile_dir = binary.parent().and_then(Path::file_name);
    let mut build = Command::new(env!("CARGO"));
    build.args([
        "build",
        "--locked",
        "-p",
        "iris-model",
        "--bin",
        "iris-model",
    ]);
    if profile_dir.is_some_and(|d| d == "release") {
        build.arg("--release");
    }
    let out = build.output().expect("run cargo build -p iris-model");
    assert_ok("cargo build -p iris-model", &out);
    binary
}

/// One HTTP request with curl (the emulator harness needs it anyway): status, the response
/// headers as received, the body.
pub(crate) fn http(
    method: &str,
    url: &str,
    body: Option<&str>,
    headers: &[&str],
) -> (u16, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (head_file, body_file) = (dir.path().join("head"), dir.path().join("body"));
    let mut args = vec![
        "-sS".to_owned(),
        "--max-time".to_owned(),
        "60".to_owned(),
        "-X".to_owned(),
        method.to_owned(),
        "-D".to_owned(),
        head_file.to_string_lossy().into_owned(),
        "-o".to_owned(),
        body_file.to_string_lossy().into_owned(),
        "-w".to_owned(),
        "%{http_code}".to_owned(),
    ];
    for h in headers {
        args.extend(["-H".to_owned(), (*h).to_owned()]);
    }
    if let Some(body) = body {
        args.extend(["--data-binary".to_owned(), body.to_owned()]);
    }
    args.push(url.to_owned());
    let out = Command::new("curl").args(&args).output().expect("run curl");
    assert_ok(&format!("curl {method} {url}"), &out);
    let status = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("curl printed no status code ({e})"));
    let head = std::fs::read_to_string(&head_file).unwrap_or_default();
    let body = std::fs::read_to_string(&body_file).unwrap_or_default();
    (status, head, body)
}

pub(crate) fn parse(what: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what} is not JSON ({e}): {text}"))
}

/// Delete the env's stacks in reverse order, emptying its buckets first.
pub(crate) async fn cleanup(aws: &support::Aws, env: &str) {
    for kind in ["service", "auth", "storage"] {
        let name = format!("iris-{env}-{kind}");
        if let Ok(out) = aws.cfn.describe_stacks().stack_name(&name).send().await {
            for o in out.stacks().iter().flat_map(|s| s.outputs()) {
                let bucket_output = [
                    contract::storage::MODEL_BUCKET_NAME,
                    contract::storage::LOG_BUCKET_NAME,
                ]
                .contains(&o.output_key().unwrap_or_default());
                if bucket_output
                    && let Some(bucket) = o.output_value()
                    && let Err(err) = support::empty_and_delete_bucket(&aws.s3, bucket).await
                {
                    eprintln!("cleanup: {err}");
                }
            }
        }
        if let Err(err) = support::delete_stack(&aws.cfn, &name).await {
            eprintln!("cleanup: {err}");
        }
    }
}

pub(crate) async fn service_output(aws: &support::Aws, env: &str, key: &str) -> String {
    let stack = format!("iris-{env}-service");
    let out = aws
        .cfn
        .describe_stacks()
        .stack_name(&stack)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describing {stack}: {e:?}"));
    out.stacks()
        .iter()
        .flat_map(|s| s.outputs())
        .find(|o| o.output_key() == Some(key))
        .and_then(|o| o.output_value())
        .unwrap_or_else(|| panic!("{stack} has no output {key}"))
        .to_owned()
}

/// The env's model bucket (the storage stack's output).
pub(crate) async fn storage_bucket(aws: &support::Aws, env: &str) -> String {
    let stack = format!("iris-{env}-storage");
    let out = aws
        .cfn
        .describe_stacks()
        .stack_name(&stack)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describing {stack}: {e:?}"));
    out.stacks()
        .iter()
        .flat_map(|s| s.outputs())
        .find(|o| o.output_key() == Some(contract::storage::MODEL_BUCKET_NAME))
        .and_then(|o| o.output_value())
        .unwrap_or_else(|| panic!("{stack} has no bucket output"))
        .to_owned()
}

/// An API Gateway REST proxy event, as LocalStack's API Gateway would send it.
fn proxy_event(method: &str, path: &str, body: Option<&str>) -> String {
    json!({
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": format!("/v1{path}"),
            "stage": "v1",
            "requestId": "emulator-function-runs",
        },
        "body": body,
        "isBase64Encoded": false,
    })
    .to_string()
}

pub(crate) fn flower_json() -> String {
    json!({
        "sepal_length": FLOWER[0],
        "sepal_width": FLOWER[1],
        "petal_length": FLOWER[2],
        "petal_width": FLOWER[3],
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn the_deployed_function_answers_through_lambda_and_api_gateway() {
    let aws = support::emulators().await;
    let env = support::unique_env("fn");
    let envs = support::envs_dir_with_emulator_env(&env);
    let work = tempfile::tempdir().expect("tempdir");
    let endpoint = endpoint::resolved(&aws.config, Service::CloudFormation)
        .expect("the emulator endpoint (AWS_ENDPOINT_URL)");
    let envs_s = envs.path().to_string_lossy().into_owned();
    let body = {
        let env = env.clone();
        let work = work.path().to_owned();
        let endpoint = endpoint.clone();
        async move { exercise(&env, &envs_s, &work, &endpoint).await }
    };
    let outcome = tokio::spawn(body).await;
    cleanup(&aws, &env).await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

async fn exercise(env: &str, envs: &str, work: &Path, endpoint: &str) {
    let aws = support::emulators().await;
    let model_dir = work.join("model");
    let package_dir = work.join("package");
    let (model_s, package_s) = (
        model_dir.to_string_lossy().into_owned(),
        package_dir.to_string_lossy().into_owned(),
    );
    let iris_model = iris_model();
    assert_ok(
        "iris-model train",
        &run(&iris_model, &["train", "--out", &model_s]),
    );
    assert_ok(
        "irisctl package",
        &irisctl(&["package", "--out", &package_s]),
    );
    let values: Vec<String> = FLOWER.iter().map(f64::to_string).collect();
    let mut predict_args = vec!["predict", "--json", "--model", model_s.as_str()];
    predict_args.extend(values.iter().map(String::as_str));
    let local = run(&iris_model, &predict_args);
    assert_ok("iris-model predict", &local);
    let expected = parse(
        "iris-model predict --json",
        &String::from_utf8_lossy(&local.stdout),
    );
    let expected_species = expected["species"].as_str().expect("species").to_owned();

    let deployed = irisctl(&[
        "deploy",
        "--env",
        env,
        "--envs-dir",
        envs,
        "--model",
        &model_s,
        "--package",
        &package_s,
        "--output",
        "json",
    ]);
    assert_ok("irisctl deploy", &deployed);
    let report = parse(
        "deploy --output json",
        &String::from_utf8_lossy(&deployed.stdout),
    );
    assert_eq!(report["outcome"], "succeeded", "{report}");
    let api_url = service_output(&aws, env, contract::service::API_URL).await;
    assert_eq!(report["api_url"], api_url.as_str(), "{report}");
    let function = service_output(&aws, env, contract::service::FUNCTION_NAME).await;
    let base =
        irisctl::local_api_url::local_api_url(&api_url, endpoint).unwrap_or_else(|e| panic!("{e}"));
    let endpoint = endpoint.trim_end_matches('/');

    // (a) Sync invoke through LocalStack's Lambda API: the first one is the cold start.
    let invoke_url = format!("{endpoint}/2015-03-31/functions/{function}/invocations");
    let auth = "Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0";
    let started = Instant::now();
    let event = proxy_event("POST", "/predict", Some(&flower_json()));
    let (status, head, payload) = http("POST", &invoke_url, Some(&event), &[auth]);
    eprintln!(
        "cold start (first sync invoke through LocalStack): {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(status, 200, "{head}\n{payload}");
    assert!(
        !head.to_ascii_lowercase().contains("x-amz-function-error"),
        "{head}\n{payload}"
    );
    let proxy = parse("invoke payload", &payload);
    assert_eq!(proxy["statusCode"], 200, "{proxy}");
    let answer = parse("proxy body", proxy["body"].as_str().expect("body"));
    assert_eq!(answer["species"], expected_species.as_str(), "{answer}");
    let model_sha = answer["model"]["sha256"].as_str().map(str::to_owned);

    // (b) POST /predict through LocalStack's API Gateway (proxy integration).
    let (status, head, text) = http(
        "POST",
        &format!("{base}/predict"),
        Some(&flower_json()),
        &["Content-Type: application/json"],
    );
    assert_eq!(status, 200, "{head}\n{text}");
    let answer = parse("POST /predict", &text);
    assert_eq!(answer["species"], expected_species.as_str(), "{answer}");
    assert_eq!(
        answer["probabilities"], expected["probabilities"],
        "{answer}"
    );
    assert_eq!(answer["model"]["sha256"].as_str(), model_sha.as_deref());

    // (c) GET /model names the deployed model.
    let (status, head, text) = http("GET", &format!("{base}/model"), None, &[]);
    assert_eq!(status, 200, "{head}\n{text}");
    let model = parse("GET /model", &text);
    let manifest = parse(
        "manifest.json",
        &std::fs::read_to_string(model_dir.join("manifest.json")).expect("manifest"),
    );
    assert!(
        model
            .to_string()
            .contains(manifest["sha256"].as_str().expect("sha256")),
        "GET /model does not name the deployed model {}: {model}",
        manifest["sha256"]
    );

    // A body the request model refuses (three of the four measurements) never reaches
    // the function: API Gateway's validator answers 400.
    let partial =
        json!({"sepal_length": FLOWER[0], "sepal_width": FLOWER[1], "petal_length": FLOWER[2]});
    let (status, head, text) = http(
        "POST",
        &format!("{base}/predict"),
        Some(&partial.to_string()),
        &["Content-Type: application/json"],
    );
    assert_eq!(status, 400, "{head}\n{text}");

    // A body the validator accepts (every field a number) but the function refuses (a
    // negative measurement): the function's own status code and JSON error body come back.
    let negative = json!({"sepal_length": FLOWER[0], "sepal_width": FLOWER[1],
        "petal_length": FLOWER[2], "petal_width": -1.0});
    let (status, head, text) = http(
        "POST",
        &format!("{base}/predict"),
        Some(&negative.to_string()),
        &["Content-Type: application/json"],
    );
    assert_eq!(status, 400, "{head}\n{text}");
    let refused = parse("refused POST /predict", &text);
    assert_eq!(refused["error"]["field"], "petal_width", "{refused}");
    assert!(
        refused["error"]["code"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{refused}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );

    // Warm: ten more through the API, each the same species.
    for _ in 0..10 {
        let (status, _, text) = http(
            "POST",
            &format!("{base}/predict"),
            Some(&flower_json()),
            &["Content-Type: application/json"],
        );
        assert_eq!(status, 200, "{text}");
        assert_eq!(
            parse("POST /predict", &text)["species"],
            expected_species.as_str()
        );
    }

    let destroyed = irisctl(&["destroy", "--env", env, "--envs-dir", envs, "--yes"]);
    assert_ok("irisctl destroy", &destroyed);
    let (status, _, text) = http("GET", &format!("{base}/model"), None, &[]);
    assert_ne!(status, 200, "the API still answers after destroy: {text}");
}

/// A custom runtime in shell (bash + curl): answers `{"echo": <event>}`, and on request
/// fails (`/error`), hangs past the timeout, or exits mid-invocation.
const SHELL_BOOTSTRAP: &str = r#"#!/bin/bash
set -euo pipefail
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
echo "shell runtime init"
while true; do
  headers="$(mktemp)"
  event="$(curl -sS -D "$headers" "$api/invocation/next")"
  id="$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | cut -d: -f2 | tr -d '[:space:]')"
  echo "event $event"
  case "$event" in
    *hang*) sleep 30 ;;
    *crash*) exit 3 ;;
    *fail*) curl -sS -X POST "$api/invocation/$id/error" \
              -d '{"errorType":"Shell.Asked","errorMessage":"asked to fail"}' >/dev/null ;;
    *) curl -sS -X POST "$api/invocation/$id/response" -d "{\"echo\": $event}" >/dev/null ;;
  esac
done
"#;

const SHELL_FUNCTION_TEMPLATE: &str = r#"{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Parameters": { "CodeBucket": { "Type": "String" }, "CodeKey": { "Type": "String" } },
  "Resources": {
    "Role": {
      "Type": "AWS::IAM::Role",
      "Properties": {
        "AssumeRolePolicyDocument": {
          "Version": "2012-10-17",
          "Statement": [{ "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" }, "Action": "sts:AssumeRole" }]
        }
      }
    },
    "Function": {
      "Type": "AWS::Lambda::Function",
      "Properties": {
        "Runtime": "provided.al2023",
        "Handler": "bootstrap",
        "Timeout": 2,
        "Role": { "Fn::GetAtt": ["Role", "Arn"] },
        "Code": { "S3Bucket": { "Ref": "CodeBucket" }, "S3Key": { "Ref": "CodeKey" } }
      }
    }
  },
  "Outputs": { "FunctionName": { "Value": { "Ref": "Function" } } }
}"#;

fn shell_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options).expect("zip entry");
    std::io::Write::write_all(&mut zip, SHELL_BOOTSTRAP.as_bytes()).expect("zip write");
    zip.finish().expect("zip finish").into_inner()
}

/// Sync invoke through LocalStack's Lambda API: (X-Amz-Function-Error if any, payload).
fn invoke(endpoint: &str, function: &str, payload: &str) -> (Option<String>, Value) {
    let url = format!(
        "{}/2015-03-31/functions/{function}/invocations",
        endpoint.trim_end_matches('/')
    );
    let (status, head, body) = http("POST", &url, Some(payload), &[]);
    assert_eq!(status, 200, "{head}\n{body}");
    let error = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("x-amz-function-error")
            .then(|| value.trim().to_owned())
    });
    (error, parse("invoke payload", &body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn function_errors_timeouts_and_crashes_come_back_as_lambda_reports_them() {
    let aws = support::emulators().await;
    let endpoint = endpoint::resolved(&aws.config, Service::CloudFormation)
        .expect("the emulator endpoint (AWS_ENDPOINT_URL)");
    let mut cleanup = support::Cleanup::new();
    let bucket = support::unique_name("shell-fn");
    cleanup.add(support::Resource::Bucket(bucket.clone()));
    aws.s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    aws.s3
        .put_object()
        .bucket(&bucket)
        .key("bootstrap.zip")
        .body(ByteStream::from(shell_zip()))
        .send()
        .await
        .expect("upload code");
    let stack = support::unique_name("shell-fn");
    cleanup.add(support::Resource::Stack(stack.clone()));
    let param = |k: &str, v: &str| {
        Parameter::builder()
            .parameter_key(k)
            .parameter_value(v)
            .build()
    };
    aws.cfn
        .create_stack()
        .stack_name(&stack)
        .template_body(SHELL_FUNCTION_TEMPLATE)
        .capabilities(Capability::CapabilityIam)
        .parameters(param("CodeBucket", &bucket))
        .parameters(param("CodeKey", "bootstrap.zip"))
        .send()
        .await
        .expect("create stack");
    let created = support::settled_stack(&aws.cfn, &stack, std::time::Duration::from_secs(120))
        .await
        .expect("the stack settles");
    assert_eq!(
        created.stack_status(),
        Some(&StackStatus::CreateComplete),
        "{created:?}"
    );
    let function = created
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some("FunctionName"))
        .and_then(|o| o.output_value())
        .expect("FunctionName output")
        .to_owned();

    let (error, answer) = invoke(&endpoint, &function, r#"{"n":1}"#);
    assert_eq!((error, answer), (None, json!({"echo": {"n": 1}})));

    let (error, answer) = invoke(&endpoint, &function, r#"{"fail":1}"#);
    assert_eq!(error.as_deref(), Some("Unhandled"), "{answer}");
    assert_eq!(
        answer,
        json!({"errorType": "Shell.Asked", "errorMessage": "asked to fail"})
    );

    let started = Instant::now();
    let (error, answer) = invoke(&endpoint, &function, r#"{"hang":1}"#);
    assert_eq!(error.as_deref(), Some("Unhandled"), "{answer}");
    assert!(
        answer["errorMessage"]
            .as_str()
            .is_some_and(|m| m.ends_with("Task timed out after 2.00 seconds")),
        "{answer}"
    );
    let waited = started.elapsed().as_secs_f64();
    assert!((2.0..10.0).contains(&waited), "timed out after {waited} s");
    // The hung runtime was replaced: the next invocation runs on a fresh one.
    let (error, answer) = invoke(&endpoint, &function, r#"{"n":2}"#);
    assert_eq!((error, answer), (None, json!({"echo": {"n": 2}})));

    let (error, answer) = invoke(&endpoint, &function, r#"{"crash":1}"#);
    assert_eq!(error.as_deref(), Some("Unhandled"), "{answer}");
    assert_eq!(answer["errorType"], "Runtime.ExitError", "{answer}");
    assert!(
        answer["errorMessage"]
            .as_str()
            .is_some_and(|m| m.ends_with("Runtime exited with error: exit status 3")),
        "{answer}"
    );
    let (error, answer) = invoke(&endpoint, &function, r#"{"n":3}"#);
    assert_eq!((error, answer), (None, json!({"echo": {"n": 3}})));

    cleanup.run(&aws).await.expect("cleanup");
}
