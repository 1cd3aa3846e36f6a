//! The real `bootstrap` under irisctl's local runtime, with an S3 endpoint that refuses
//! connections: every bad request is still answered with the right 4xx (routing and
//! validation need no model), and a valid request gets a generic 500, never a prediction.

mod common;

use std::time::Duration;

use common::{GOOD, fake_aws_env, http, start};

const SHA: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn env() -> Vec<(String, String)> {
    let mut env = fake_aws_env("http://127.0.0.1:9");
    for (k, v) in [
        ("MODEL_BUCKET", "missing-bucket"),
        ("MODEL_KEY", "models/x/model.bin"),
        ("MODEL_VERSION_ID", ""),
        ("MODEL_SHA256", SHA),
        ("MANIFEST_KEY", "models/x/manifest.json"),
        ("MANIFEST_VERSION_ID", ""),
        ("MAX_BATCH", "3"),
        // The SDK's retries only slow this test down; one attempt shows the behaviour.
        ("AWS_MAX_ATTEMPTS", "1"),
    ] {
        env.push((k.to_owned(), v.to_owned()));
    }
    env
}

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_answers_every_bad_request_and_fails_closed_without_model() {
    let addr = start(
        env!("CARGO_BIN_EXE_bootstrap"),
        &[],
        env(),
        Duration::from_secs(20),
    )
    .await;

    let r = http(addr, "GET", "/nope", "").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "not_found");

    let r = http(addr, "GET", "/predict", "").await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.headers.get("allow").map(String::as_str), Some("POST"));
    let r = http(addr, "DELETE", "/model", "").await;
    assert_eq!(
        (r.status, r.headers.get("allow").map(String::as_str)),
        (405, Some("GET"))
    );

    let cases = [
        ("{", 400, "malformed_json", None),
        ("[1,2]", 400, "invalid_body", None),
        (
            r#"{"sepal_length":5.1}"#,
            400,
            "missing_field",
            Some("sepal_width"),
        ),
        (
            r#"{"sepal_length":"NaN","sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#,
            400,
            "wrong_type",
            Some("sepal_length"),
        ),
        (
            r#"{"sepal_length":1e999,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#,
            400,
            "invalid_value",
            Some("sepal_length"),
        ),
        (
            r#"{"sepal_length":5.1,"sepal_width":-1,"petal_length":1.4,"petal_width":0.2}"#,
            400,
            "invalid_value",
            Some("sepal_width"),
        ),
        (
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":0,"petal_width":0.2}"#,
            400,
            "invalid_value",
            Some("petal_length"),
        ),
        (
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":1000}"#,
            400,
            "invalid_value",
            Some("petal_width"),
        ),
        (
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2,"x":1}"#,
            400,
            "unknown_field",
            Some("x"),
        ),
        (r#"{"instances":[]}"#, 400, "empty_batch", Some("instances")),
    ];
    for (body, status, code, field) in cases {
        let r = http(addr, "POST", "/predict", body).await;
        assert_eq!(r.status, status, "{body} -> {}", r.body);
        let json = r.json();
        assert_eq!(json["error"]["code"], code, "{body}");
        assert_eq!(json["error"]["field"].as_str(), field, "{body}");
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
    }
    let four = format!(r#"{{"instances":[{GOOD},{GOOD},{GOOD},{GOOD}]}}"#);
    let r = http(addr, "POST", "/predict", &four).await;
    assert_eq!(
        (r.status, r.json()["error"]["code"].as_str()),
        (413, Some("batch_too_large"))
    );

    // A valid request needs the model, which cannot be fetched: a generic 500.
    for _ in 0..2 {
        let r = http(addr, "POST", "/predict", GOOD).await;
        assert_eq!(r.status, 500, "{}", r.body);
        let json = r.json();
        assert_eq!(json["error"]["code"], "internal_error");
        assert!(json.get("species").is_none());
        let lower = r.body.to_lowercase();
        for leak in [
            "s3",
            "bucket",
            "models/x",
            "127.0.0.1",
            "dispatch",
            "connect",
        ] {
            assert!(!lower.contains(leak), "500 body leaks {leak:?}: {}", r.body);
        }
    }
    let r = http(addr, "GET", "/model", "").await;
    assert_eq!(r.status, 500, "{}", r.body);
}

/// A function whose settings are broken fails its init through the Runtime API's
/// `/runtime/init/error` (what Lambda shows as the error), naming the setting, and exits.
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_setting_is_reported_as_an_init_error_naming_it() {
    use irisctl::local::runtime_api::RuntimeApi;

    let (api, mut signals) =
        RuntimeApi::new("arn:aws:lambda:us-east-1:000000000000:function:test".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, api.router()).await });

    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .env_clear()
        .envs(env().into_iter().filter(|(k, _)| k != "MODEL_SHA256"))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .stdout(std::process::Stdio::null())
        // Its error line is expected: kept, and shown only if the exit check fails.
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start bootstrap");
    let body = tokio::time::timeout(Duration::from_secs(20), signals.init_errors.recv())
        .await
        .expect("an init error within 20 s")
        .expect("init error body");
    let body: serde_json::Value = serde_json::from_slice(&body).expect("init error is JSON");
    assert_eq!(body["errorType"], "Runtime.InitError.Config", "{body}");
    let message = body["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("MODEL_SHA256"), "{body}");
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("the process exits after reporting")
        .expect("wait");
    assert!(
        !out.status.success(),
        "init failure must not exit 0: {}; stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        signals.next_polled.try_recv().is_err(),
        "a function whose init failed must not ask for invocations"
    );
}

/// Outside Lambda (no Runtime API to report to), a broken setting still ends in a logged
/// error naming it and a failed exit, never a panic.
#[test]
fn without_a_runtime_api_a_broken_setting_exits_with_the_error_not_a_panic() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .env_clear()
        .output()
        .expect("run bootstrap");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("config_invalid") && all.contains("MODEL_"),
        "{all}"
    );
    assert!(all.contains("init_error_not_reported"), "{all}");
    assert!(!all.contains("panicked"), "{all}");
}
