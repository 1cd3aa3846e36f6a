//! The function's answers with a real (small) model, through the pure route/respond
//! functions and the handler's cache, without AWS: what serving returns must be exactly
//! what iris_model predicts, and a failed model load must never be cached.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use common::model::{manifest_json, trained};
use http::Method;
use iris_lambda::config::{Config, ObjectRef};
use iris_lambda::handler::{App, LoadFuture, Loader};
use iris_lambda::loaded::{LoadedModel, VerifyError};
use iris_lambda::routes::{respond, route};
use iris_lambda::s3::LoadError;
use iris_model::checksum::ChecksumError;
use iris_model::{Features, ManifestError, ModelError};
use serde_json::Value;

const GOOD: &str = r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#;

fn loaded() -> LoadedModel {
    let t = trained();
    LoadedModel::verify(
        &t.bytes,
        &manifest_json(),
        t.model.sha256(),
        Some("v1".into()),
        None,
    )
    .expect("verifies")
}

fn request(method: Method, path: &str, body: Option<&str>) -> ApiGatewayProxyRequest {
    let mut req = ApiGatewayProxyRequest::default();
    req.http_method = method;
    req.path = Some(path.into());
    req.body = body.map(Into::into);
    req
}

fn body_json(resp: &ApiGatewayProxyResponse) -> Value {
    match &resp.body {
        Some(Body::Text(text)) => serde_json::from_str(text).expect("JSON body"),
        other => panic!("expected a text body, got {other:?}"),
    }
}

#[test]
fn single_prediction_is_exactly_what_the_model_predicts() {
    let loaded = loaded();
    let route = route(&request(Method::POST, "/predict", Some(GOOD)), 100).expect("valid");
    let resp = respond(&route, &loaded);
    assert_eq!(resp.status_code, 200);
    let json = body_json(&resp);

    let expected = trained()
        .model
        .predict(&Features::new([5.1, 3.5, 1.4, 0.2]).expect("features"));
    assert_eq!(json["species"], expected.species);
    assert_eq!(json["species"], "setosa");
    assert_eq!(json["is_iris"], expected.is_iris);
    for (class, p) in &expected.probabilities {
        assert_eq!(json["probabilities"][class].as_f64(), Some(*p), "{class}");
    }
    assert_eq!(json["probabilities"].as_object().map(|m| m.len()), Some(3));
    assert_eq!(json["model"]["sha256"], trained().model.sha256());
    assert_eq!(json["model"]["version_id"], "v1");
}

#[test]
fn batch_predictions_keep_order_and_match_single_predictions() {
    let loaded = loaded();
    let flowers = [
        [5.1, 3.5, 1.4, 0.2],
        [6.7, 3.0, 5.2, 2.3],
        [5.9, 3.0, 4.2, 1.5],
    ];
    let instances: Vec<String> = flowers
        .iter()
        .map(|f| {
            format!(
                r#"{{"sepal_length":{},"sepal_width":{},"petal_length":{},"petal_width":{}}}"#,
                f[0], f[1], f[2], f[3]
            )
        })
        .collect();
    let body = format!(r#"{{"instances":[{}]}}"#, instances.join(","));
    let resp = respond(
        &route(&request(Method::POST, "/predict", Some(&body)), 100).expect("valid"),
        &loaded,
    );
    assert_eq!(resp.status_code, 200);
    let json = body_json(&resp);
    let predictions = json["predictions"].as_array().expect("predictions array");
    assert_eq!(predictions.len(), 3);
    for (flower, got) in flowers.iter().zip(predictions) {
        let expected = trained()
            .model
            .predict(&Features::new(*flower).expect("features"));
        assert_eq!(got["species"], expected.species);
    }
    assert_eq!(predictions[1]["species"], "virginica");
    assert_eq!(json["model"]["sha256"], trained().model.sha256());
}

#[test]
fn model_route_returns_the_manifest_summary() {
    let resp = respond(
        &route(&request(Method::GET, "/model", None), 100).expect("valid"),
        &loaded(),
    );
    let json = body_json(&resp);
    assert_eq!(json["sha256"], trained().model.sha256());
    assert_eq!(
        json["manifest_sha256"].as_str(),
        Some(trained().manifest.manifest_sha256.as_str())
    );
    assert!(json.get("created").is_none(), "no wall-clock time");
    assert_eq!(
        json["classes"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );
    assert!(
        json["metrics"]["accuracy"]
            .as_f64()
            .is_some_and(|a| a > 0.8),
        "{json}"
    );
    assert_eq!(json["model_version_id"], "v1");
    assert_eq!(json["manifest_version_id"], Value::Null);
}

#[test]
fn a_wrong_model_is_never_loaded() {
    let t = trained();
    let sha = t.model.sha256();
    let manifest = manifest_json();

    let mut corrupt = t.bytes.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x01;
    let err = LoadedModel::verify(&corrupt, &manifest, sha, None, None).expect_err("corrupt bytes");
    assert!(
        matches!(err, VerifyError::Model(ModelError::ChecksumMismatch { .. })),
        "{err}"
    );

    let other_sha = "f".repeat(64);
    let err = LoadedModel::verify(&t.bytes, &manifest, &other_sha, None, None)
        .expect_err("pinned to another sha");
    assert!(
        matches!(err, VerifyError::Model(ModelError::ChecksumMismatch { .. })),
        "{err}"
    );

    // A manifest for another model, sealed as training would have sealed it.
    let mut other_manifest: Value = serde_json::from_slice(&manifest).expect("json");
    other_manifest["sha256"] = Value::String(other_sha);
    iris_model::checksum::seal(&mut other_manifest);
    let other_manifest = serde_json::to_vec(&other_manifest).expect("json");
    let err = LoadedModel::verify(&t.bytes, &other_manifest, sha, None, None)
        .expect_err("manifest for another model");
    assert!(matches!(err, VerifyError::ManifestMismatch { .. }), "{err}");

    let err =
        LoadedModel::verify(&t.bytes, b"{not json", sha, None, None).expect_err("bad manifest");
    assert!(
        matches!(err, VerifyError::Refused(ManifestError::Json(_))),
        "{err}"
    );
}

#[test]
fn an_edited_manifest_is_never_loaded_and_the_error_says_how_to_rebuild() {
    let t = trained();
    let sha = t.model.sha256();
    let edits: [fn(&mut Value); 3] = [
        |m| m["params"]["trees"] = 3.into(),
        |m| m["metrics"]["accuracy"] = 1.0.into(),
        |m| m["golden"][0]["species"] = "virginica".into(),
    ];
    for edit in edits {
        let mut edited: Value = serde_json::from_slice(&manifest_json()).expect("json");
        edit(&mut edited);
        let edited = serde_json::to_vec(&edited).expect("json");
        let err = LoadedModel::verify(&t.bytes, &edited, sha, None, None).expect_err("edited");
        assert!(
            matches!(
                err,
                VerifyError::Refused(ManifestError::Checksum(ChecksumError::Mismatch { .. }))
            ),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains("manifest.json"), "{text}");
        assert!(text.contains("iris-model train --out DIR"), "{text}");
    }
}

#[test]
fn a_manifest_of_an_older_schema_is_never_loaded_and_the_error_says_to_retrain() {
    let t = trained();
    let sha = t.model.sha256();
    // As iris-model 1 wrote it: a wall-clock time, no checksum, no golden set.
    let mut old: Value = serde_json::from_slice(&manifest_json()).expect("json");
    if let Some(o) = old.as_object_mut() {
        o.remove("manifest_sha256");
        o.remove("golden");
        o.insert("schema_version".into(), 1.into());
        o.insert("created".into(), "2026-01-01T00:00:00Z".into());
    }
    let old = serde_json::to_vec(&old).expect("json");
    let err = LoadedModel::verify(&t.bytes, &old, sha, None, None).expect_err("older schema");
    assert!(
        matches!(err, VerifyError::Refused(ManifestError::Older { found: 1 })),
        "{err}"
    );
    let text = err.to_string();
    assert!(text.contains("manifest.json"), "{text}");
    assert!(
        text.contains("retrain with `iris-model train --out DIR`"),
        "{text}"
    );
}

/// Fails the first `failures` loads, then serves the model; counts every load.
struct FlakyLoader {
    failures: usize,
    calls: Arc<AtomicUsize>,
}

impl Loader for FlakyLoader {
    fn load<'a>(&'a self, config: &'a Config) -> LoadFuture<'a> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let fail = call < self.failures;
        Box::pin(async move {
            if fail {
                Err(LoadError::Get {
                    bucket: config.bucket.clone(),
                    object: config.model.clone(),
                    source: "NoSuchKey: the object does not exist (secret-internal-detail)".into(),
                })
            } else {
                Ok(loaded())
            }
        })
    }
}

fn config() -> Config {
    Config {
        bucket: "b".into(),
        model: ObjectRef {
            key: "models/s/model.bin".into(),
            version_id: Some("v1".into()),
        },
        model_sha256: trained().model.sha256().into(),
        manifest: ObjectRef {
            key: "models/s/manifest.json".into(),
            version_id: None,
        },
        max_batch: 100,
    }
}

#[tokio::test]
async fn a_failed_load_is_retried_and_a_good_one_is_kept() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = App::new(
        config(),
        FlakyLoader {
            failures: 2,
            calls: Arc::clone(&calls),
        },
    );
    let predict = request(Method::POST, "/predict", Some(GOOD));

    // Bad requests are answered without touching the model.
    let resp = app.handle(&request(Method::GET, "/nope", None), "r0").await;
    assert_eq!(resp.status_code, 404);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    for attempt in 1..=2 {
        let resp = app.handle(&predict, "req-fail").await;
        assert_eq!(resp.status_code, 500, "attempt {attempt}");
        let json = body_json(&resp);
        assert_eq!(json["error"]["code"], "internal_error");
        let text = json.to_string();
        assert!(
            !text.contains("secret-internal-detail") && !text.contains("NoSuchKey"),
            "{text}"
        );
        assert!(text.contains("req-fail"));
        assert_eq!(calls.load(Ordering::SeqCst), attempt);
    }
    for _ in 0..3 {
        let resp = app.handle(&predict, "req-ok").await;
        assert_eq!(resp.status_code, 200);
        assert_eq!(body_json(&resp)["species"], "setosa");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "a loaded model is kept, not reloaded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cold_requests_share_one_load() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = Arc::new(App::new(
        config(),
        FlakyLoader {
            failures: 0,
            calls: Arc::clone(&calls),
        },
    ));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let app = Arc::clone(&app);
        tasks.push(tokio::spawn(async move {
            app.handle(&request(Method::POST, "/predict", Some(GOOD)), "r")
                .await
                .status_code
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("task"), 200);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
