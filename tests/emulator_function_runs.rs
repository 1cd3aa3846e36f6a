//! The deployed function runs on the emulator: `irisctl package` builds the real bootstrap,
//! `iris-model train` a real model, `irisctl deploy` puts both in a fresh `local-<unique>`
//! env, and LocalStack runs the function as a local process (scripts/emulator.d's
//! `local-process` executor). Then, through LocalStack's own Lambda and API Gateway code:
//! a sync Lambda invoke answers a prediction, `POST /predict` on the path-style API URL
//! (`irisctl::local_api_url`) answers the species `iris-model predict` gives for the same
//! artifact, `GET /model` names the deployed model, and a body the function rejects comes
//! back with the function's status code and JSON body (proxy integration). The env is
//! destroyed with `irisctl destroy`, and its stacks and buckets removed even if the test
//! fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use irisctl::aws::endpoint::{self, Service};
use irisctl::contract;
use serde_json::{Value, json};

mod support;

const FLOWER: [f64; 4] = [6.7, 3.0, 5.2, 2.3];

fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

fn irisctl(args: &[&str]) -> Output {
    run(Path::new(env!("CARGO_BIN_EXE_irisctl")), args)
}

fn assert_ok(what: &str, out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what} failed\n{}",
        support::describe_output(out)
    );
}

/// `iris-model`, built next to irisctl (same profile) when it is not there yet.
fn iris_model() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_irisctl")).with_file_name("iris-model");
    if !binary.exists() {
        let profile_dir = binary.parent().and_then(Path::file_name);
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "-p", "iris-model", "--bin", "iris-model"]);
        if profile_dir.is_some_and(|d| d == "release") {
            build.arg("--release");
        }
        let out = build.output().expect("run cargo build -p iris-model");
        assert_ok("cargo build -p iris-model", &out);
    }
    binary
}

/// One HTTP request with curl (the emulator harness needs it anyway): status, the response
/// headers as received, the body.
fn http(method: &str, url: &str, body: Option<&str>, headers: &[&str]) -> (u16, String, String) {
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
    let out = Command::new("curl")
        .args(&args)
        .output()
        .expect("run curl");
    assert_ok(&format!("curl {method} {url}"), &out);
    let status = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("curl printed no status code ({e})"));
    let head = std::fs::read_to_string(&head_file).unwrap_or_default();
    let body = std::fs::read_to_string(&body_file).unwrap_or_default();
    (status, head, body)
}

fn parse(what: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what} is not JSON ({e}): {text}"))
}

/// Delete the env's stacks in reverse order, emptying its buckets first.
async fn cleanup(aws: &support::Aws, env: &str) {
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

async fn service_output(aws: &support::Aws, env: &str, key: &str) -> String {
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

fn flower_json() -> String {
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
    let report = parse("deploy --output json", &String::from_utf8_lossy(&deployed.stdout));
    assert_eq!(report["outcome"], "succeeded", "{report}");
    let api_url = service_output(&aws, env, contract::service::API_URL).await;
    assert_eq!(report["api_url"], api_url.as_str(), "{report}");
    let function = service_output(&aws, env, contract::service::FUNCTION_NAME).await;
    let base = irisctl::local_api_url::local_api_url(&api_url, endpoint)
        .unwrap_or_else(|e| panic!("{e}"));
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
    assert_eq!(answer["probabilities"], expected["probabilities"], "{answer}");
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
        model.to_string().contains(manifest["sha256"].as_str().expect("sha256")),
        "GET /model does not name the deployed model {}: {model}",
        manifest["sha256"]
    );

    // A body API Gateway's validator accepts but the function refuses (three of the four
    // measurements): the function's own status code and JSON error body come back.
    let partial = json!({"sepal_length": FLOWER[0], "sepal_width": FLOWER[1], "petal_length": FLOWER[2]});
    let (status, head, text) = http(
        "POST",
        &format!("{base}/predict"),
        Some(&partial.to_string()),
        &["Content-Type: application/json"],
    );
    assert_eq!(status, 400, "{head}\n{text}");
    let refused = parse("refused POST /predict", &text);
    assert_eq!(refused["error"]["field"], "petal_width", "{refused}");
    assert!(
        refused["error"]["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{refused}"
    );
    assert!(
        head.to_ascii_lowercase().contains("content-type: application/json"),
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
        assert_eq!(parse("POST /predict", &text)["species"], expected_species.as_str());
    }

    let destroyed = irisctl(&["destroy", "--env", env, "--envs-dir", envs, "--yes"]);
    assert_ok("irisctl destroy", &destroyed);
    let (status, _, text) = http("GET", &format!("{base}/model"), None, &[]);
    assert_ne!(status, 200, "the API still answers after destroy: {text}");
}
