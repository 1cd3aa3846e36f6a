//! `irisctl openapi`: the document rendered from the env's service template with no AWS
//! call (every call would hit a closed port), bad input refused with nothing written, and
//! the `--compare` step against a scripted GetExport answer in the shape API Gateway
//! documents for `oas30` (models under `components.schemas`, a `servers` entry, its own
//! `info`, integration extensions): equal apart from those is no difference, a changed
//! model is.

use std::process::Output;

use aws_sdk_apigateway::operation::get_export::GetExportOutput;
use aws_sdk_apigateway::primitives::Blob;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use irisctl::cmd::openapi;
use irisctl::config::Config;
use irisctl::render::Variant;
use serde_json::{Value, json};

use crate::support;

fn irisctl(args: &[&str]) -> Output {
    support::irisctl(args).without_aws().output()
}

#[test]
fn the_document_renders_without_aws_with_methods_scopes_and_schemas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("openapi.json");
    let file_s = file.to_string_lossy().into_owned();
    let out = irisctl(&["openapi", "--env", "dev", "--out", &file_s]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        support::describe_output(&out)
    );
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("written")).expect("JSON");
    assert_eq!(doc["openapi"], "3.0.1");
    assert_eq!(doc["info"]["title"], "iris-dev-api");
    assert_eq!(
        doc["paths"]["/predict"]["post"]["security"],
        json!([{ "cognito": ["iris-dev-api/predict"] }])
    );
    assert_eq!(
        doc["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
            [0]["additionalProperties"],
        false,
        "{doc:#}"
    );
    assert!(doc["paths"]["/model"].get("get").is_some(), "{doc:#}");

    // To stdout, the emulator env: the contract local serve enforces, with its authorizer
    // (the API deployed to LocalStack has none; `--compare` compares that one).
    let out = irisctl(&["openapi", "--env", "local"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        support::describe_output(&out)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(
        doc["paths"]["/predict"]["post"]["security"],
        json!([{ "cognito": ["iris-local-api/predict"] }]),
        "{doc:#}"
    );
    let deployed = openapi::rendered(&local(), Variant::Deployed).expect("renders");
    assert_eq!(
        deployed["paths"]["/predict"]["post"]["security"],
        json!([]),
        "{deployed:#}"
    );
}

#[test]
fn an_unknown_env_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("openapi.json");
    let file_s = file.to_string_lossy().into_owned();
    let out = irisctl(&["openapi", "--env", "nosuchenv", "--out", &file_s]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        support::describe_output(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nosuchenv"), "{stderr}");
    assert!(!file.exists(), "a refused run wrote {}", file.display());
}

#[test]
fn compare_goes_through_the_env_s_gates_before_any_aws_call() {
    // dev ships with an example account pin: comparing (an AWS read) is refused, exit 3,
    // before any call; the document itself was rendered to stdout all the same.
    let out = irisctl(&["openapi", "--env", "dev", "--compare"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        support::describe_output(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("account_id"),
        "{}",
        support::describe_output(&out)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("document on stdout");
    assert_eq!(doc["openapi"], "3.0.1");
}

fn dev() -> Config {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("environments");
    Config::load(&dir, "dev").expect("environments/dev.yaml is valid")
}

fn local() -> Config {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("environments");
    Config::load(&dir, "local").expect("environments/local.yaml is valid")
}

/// API Gateway's export of the rendered document: models by name, a server, its own info.
fn export_of(doc: &Value, change: impl Fn(&mut Value)) -> Vec<u8> {
    let mut e = doc.clone();
    let schema =
        e["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            .clone();
    e["components"]["schemas"]["PredictRequest"] = schema;
    for ct in ["application/json", "*/*"] {
        e["paths"]["/predict"]["post"]["requestBody"]["content"][ct]["schema"] =
            json!({ "$ref": "#/components/schemas/PredictRequest" });
    }
    e["servers"] = json!([{
        "url": "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/{basePath}",
        "variables": { "basePath": { "default": "v1" } }
    }]);
    e["info"] = json!({ "title": "iris-dev-api", "version": "2026-12-02T04:12:09Z" });
    e["paths"]["/predict"]["post"]["x-amazon-apigateway-integration"] =
        json!({ "type": "aws_proxy", "httpMethod": "POST" });
    change(&mut e);
    serde_json::to_vec(&e).expect("JSON")
}

async fn compared(body: Vec<u8>) -> anyhow::Result<irisctl::exit::Status> {
    let export = mock!(aws_sdk_apigateway::Client::get_export)
        .match_requests(|r| {
            r.export_type() == Some("oas30")
                && r.rest_api_id() == Some("a1b2c3d4e5")
                && r.stage_name() == Some("v1")
        })
        .then_output(move || {
            GetExportOutput::builder()
                .content_type("application/json")
                .body(Blob::new(body.clone()))
                .build()
        });
    let client = mock_client!(aws_sdk_apigateway, RuleMode::MatchAny, [&export]);
    let exported = irisctl::aws::apigateway::export_oas30(&client, "a1b2c3d4e5", "v1")
        .await
        .expect("export");
    let exported: Value = serde_json::from_slice(&exported).expect("JSON");
    let doc = openapi::rendered(&dev(), Variant::Deployed).expect("renders");
    openapi::compare_with("dev", &doc, &exported)
}

#[tokio::test]
async fn the_export_of_an_unchanged_stage_is_no_difference() {
    let doc = openapi::rendered(&dev(), Variant::Deployed).expect("renders");
    let status = compared(export_of(&doc, |_| {}))
        .await
        .expect("no difference");
    assert!(matches!(status, irisctl::exit::Status::Success));
}

#[tokio::test]
async fn a_stage_whose_model_was_changed_by_hand_is_a_difference() {
    let doc = openapi::rendered(&dev(), Variant::Deployed).expect("renders");
    let err = compared(export_of(&doc, |e| {
        e["components"]["schemas"]["PredictRequest"]["additionalProperties"] = json!(true);
    }))
    .await
    .expect_err("differs");
    let text = format!("{err:#}");
    assert!(
        text.contains("POST /predict: request schema for application/json differs"),
        "{text}"
    );
    assert!(text.contains("irisctl deploy --env dev"), "{text}");
}
