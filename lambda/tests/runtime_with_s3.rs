//! The real `bootstrap` under irisctl's local runtime, loading its model from S3 on an
//! emulator (AWS_ENDPOINT_URL, loopback only): valid requests are answered by the
//! uploaded model, a pinned object version is honoured, a corrupted model.bin is refused
//! with a generic 500 (never served) and the load is retried once the object is fixed.

mod common;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::model::trained;
use common::{GOOD, fake_aws_env, http, start};
use iris_model::Artifact;
use irisctl::aws::endpoint::is_loopback;
use irisctl::local::model_upload::{ModelLocation, emulator_client, upload};

fn endpoint() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        is_loopback(&endpoint),
        "needs an S3 emulator on loopback: run scripts/test (starts the emulators), or start one and \
         set AWS_ENDPOINT_URL=http://127.0.0.1:PORT (got {endpoint:?})"
    );
    endpoint
}

fn function_env(endpoint: &str, loc: &ModelLocation) -> Vec<(String, String)> {
    let mut env = fake_aws_env(endpoint);
    env.extend(loc.env());
    env.push(("AWS_MAX_ATTEMPTS".into(), "1".into()));
    env
}

async fn uploaded(bucket: &str) -> (aws_sdk_s3::Client, ModelLocation) {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = trained();
    Artifact::write(dir.path(), &t.manifest, &t.bytes, "<html></html>").expect("write artifact");
    let client = emulator_client().await.expect("emulator client");
    let loc = upload(&client, bucket, dir.path())
        .await
        .expect("upload artifact");
    (client, loc)
}

fn unique_bucket(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn serves_the_uploaded_model_from_s3() {
    let endpoint = endpoint();
    let (_client, loc) = uploaded(&unique_bucket("iris-serve")).await;
    let addr = start(
        env!("CARGO_BIN_EXE_bootstrap"),
        &[],
        function_env(&endpoint, &loc),
        Duration::from_secs(20),
    )
    .await;

    let r = http(addr, "POST", "/predict", GOOD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let json = r.json();
    assert_eq!(json["species"], "setosa");
    assert_eq!(json["model"]["sha256"], loc.model_sha256);
    // The upload turns versioning on: an empty version id would mean the pin is untested.
    assert!(
        !loc.model_version_id.is_empty(),
        "the upload returned no version id"
    );
    assert_eq!(json["model"]["version_id"], loc.model_version_id);

    let batch = format!(
        r#"{{"instances":[{GOOD},{{"sepal_length":6.7,"sepal_width":3.0,"petal_length":5.2,"petal_width":2.3}}]}}"#
    );
    let r = http(addr, "POST", "/predict", &batch).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let species: Vec<_> = r.json()["predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .map(|p| p["species"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(species, ["setosa", "virginica"]);

    let r = http(addr, "GET", "/model", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["sha256"], loc.model_sha256);

    let r = http(addr, "POST", "/predict", r#"{"sepal_length":"NaN"}"#).await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn corrupt_model_is_refused_then_retried_after_repair() {
    let endpoint = endpoint();
    let (client, mut loc) = uploaded(&unique_bucket("iris-corrupt")).await;
    let good = trained().bytes.clone();
    let mut corrupt = good.clone();
    corrupt[0] ^= 0xff;
    let put = |bytes: Vec<u8>| {
        client
            .put_object()
            .bucket(&loc.bucket)
            .key(&loc.model_key)
            .body(ByteStream::from(bytes))
            .send()
    };
    put(corrupt)
        .await
        .expect("overwrite model.bin with corrupt bytes");

    // Pinned to the original version: the corrupt latest version does not matter.
    assert!(
        !loc.model_version_id.is_empty(),
        "the upload returned no version id"
    );
    {
        let addr = start(
            env!("CARGO_BIN_EXE_bootstrap"),
            &[],
            function_env(&endpoint, &loc),
            Duration::from_secs(20),
        )
        .await;
        let r = http(addr, "POST", "/predict", GOOD).await;
        assert_eq!(r.status, 200, "pinned version must be served: {}", r.body);
    }

    // Following "latest": refused, generic 500, nothing about S3 or the checksum leaks.
    loc.model_version_id.clear();
    let addr = start(
        env!("CARGO_BIN_EXE_bootstrap"),
        &[],
        function_env(&endpoint, &loc),
        Duration::from_secs(20),
    )
    .await;
    for _ in 0..2 {
        let r = http(addr, "POST", "/predict", GOOD).await;
        assert_eq!(r.status, 500, "{}", r.body);
        assert_eq!(r.json()["error"]["code"], "internal_error");
        assert!(r.json().get("species").is_none());
        let lower = r.body.to_lowercase();
        assert!(
            !lower.contains("sha") && !lower.contains("checksum") && !lower.contains(&loc.bucket),
            "{}",
            r.body
        );
    }

    // Repaired in S3: the same process loads it on the next invocation.
    put(good).await.expect("restore model.bin");
    let r = http(addr, "POST", "/predict", GOOD).await;
    assert_eq!(r.status, 200, "after repair: {}", r.body);
    assert_eq!(r.json()["model"]["sha256"], loc.model_sha256);

    // A missing object is a 500 too.
    let mut missing = loc.clone();
    missing.model_key = "models/none/model.bin".into();
    let addr = start(
        env!("CARGO_BIN_EXE_bootstrap"),
        &[],
        function_env(&endpoint, &missing),
        Duration::from_secs(20),
    )
    .await;
    let r = http(addr, "POST", "/predict", GOOD).await;
    assert_eq!(r.status, 500, "{}", r.body);
}
