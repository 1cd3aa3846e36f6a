//! moto's SageMaker control plane takes the model, endpoint config and endpoint a
//! `backend: sagemaker` env renders, in both modes: the rendered Properties, with the
//! intrinsics resolved the way CloudFormation would (the image by digest, the pinned model
//! objects, the role's ARN, the generated names), go to CreateModel, CreateEndpointConfig
//! and CreateEndpoint unchanged, and moto's Describe* answers hold them.
//!
//! No SageMaker SDK crate is linked for this: tests/emulator/scripts/sagemaker_control_plane.py
//! makes the calls with boto3 from moto's own venv (`scripts/emulator python`), against
//! `AWS_ENDPOINT_URL_SAGEMAKER` (moto, set by `scripts/emulator env`). LocalStack's
//! CloudFormation has no SageMaker, so the stack itself is not deployed anywhere here
//! (docs/emulator-gaps.md).
//!
//! Run with the emulators: `scripts/test`, or `scripts/emulator start && eval
//! "$(scripts/emulator env)" && cargo test --test emulator -- --include-ignored sagemaker`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use irisctl::config::Config;
use irisctl::render::{self, cfn};
use serde_json::{Value, json};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const MODEL_SHA: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

/// What CloudFormation would substitute: parameters, and the attributes of the resources
/// created before (names CloudFormation generates, the role's ARN).
fn values(tag: &str) -> BTreeMap<String, String> {
    let account = "123456789012";
    [
        ("AWS::Partition", "aws".to_string()),
        ("AWS::Region", "us-east-1".to_string()),
        ("AWS::AccountId", account.to_string()),
        (
            "ImageUri",
            format!("{account}.dkr.ecr.us-east-1.amazonaws.com/iris-qa@{DIGEST}"),
        ),
        (
            "ModelBucketName",
            "iris-qa-models-123456789012-us-east-1".to_string(),
        ),
        ("ModelKey", format!("models/{MODEL_SHA}/model.bin")),
        ("ModelVersionId", "v-model".to_string()),
        ("ModelSha256", MODEL_SHA.to_string()),
        ("ManifestKey", format!("models/{MODEL_SHA}/manifest.json")),
        ("ManifestVersionId", "v-manifest".to_string()),
        (
            "KmsKeyArn",
            format!("arn:aws:kms:us-east-1:{account}:key/11111111-2222-3333-4444-555555555555"),
        ),
        (
            "EndpointRole.Arn",
            format!("arn:aws:iam::{account}:role/iris-qa-service-EndpointRole-{tag}"),
        ),
        ("Model.ModelName", format!("Model-{tag}")),
        (
            "EndpointConfig.EndpointConfigName",
            format!("EndpointConfig-{tag}"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Resolve `Ref`, `Fn::GetAtt` and `Fn::Sub` (string form) against `values`; a name with
/// no value is a test bug and panics.
fn resolve(v: &Value, values: &BTreeMap<String, String>) -> Value {
    let get = |name: &str| {
        values
            .get(name)
            .unwrap_or_else(|| panic!("no value for {name}"))
            .clone()
    };
    match v {
        Value::Object(map) if map.len() == 1 && map.contains_key("Ref") => {
            json!(get(map["Ref"].as_str().expect("Ref names a string")))
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::GetAtt") => {
            let parts: Vec<&str> = map["Fn::GetAtt"]
                .as_array()
                .expect("GetAtt list")
                .iter()
                .map(|p| p.as_str().expect("GetAtt part"))
                .collect();
            json!(get(&parts.join(".")))
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::Sub") => {
            let mut s = map["Fn::Sub"].as_str().expect("Sub string").to_string();
            while let Some(start) = s.find("${") {
                let end = start + s[start..].find('}').expect("closing brace");
                s.replace_range(start..=end, &get(&s[start + 2..end]));
            }
            json!(s)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve(v, values)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|i| resolve(i, values)).collect()),
        other => other.clone(),
    }
}

fn python() -> String {
    let out = Command::new(format!("{REPO}/scripts/emulator"))
        .arg("python")
        .output()
        .expect("scripts/emulator python");
    assert!(
        out.status.success(),
        "scripts/emulator python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

fn sagemaker_endpoint() -> String {
    let url = std::env::var("AWS_ENDPOINT_URL_SAGEMAKER").unwrap_or_default();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "AWS_ENDPOINT_URL_SAGEMAKER is `{url}`, not moto on this machine; run `eval \"$(scripts/emulator env)\"`"
    );
    url
}

fn rendered_resources(text: &str) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("qa.yaml"), text).expect("write");
    let config = Config::load(dir.path(), "qa").expect("loads");
    let stacks = render::render_env(&config).expect("renders");
    cfn::parse(&stacks[2].body).expect("parses")["Resources"].clone()
}

/// Send the rendered trio through the script; moto's Describe* answers.
fn through_moto(resources: &Value, tag: &str) -> Value {
    let values = values(tag);
    let props = |id: &str| resolve(&resources[id]["Properties"], &values);
    let mut model = props("Model");
    model["ModelName"] = json!(values["Model.ModelName"]);
    let mut config = props("EndpointConfig");
    config["EndpointConfigName"] = json!(values["EndpointConfig.EndpointConfigName"]);
    let mut endpoint = props("Endpoint");
    // One endpoint per run: the rendered name plus the tag.
    endpoint["EndpointName"] = json!(format!(
        "{}-{tag}",
        endpoint["EndpointName"].as_str().expect("name")
    ));
    let spec = json!({
        "endpoint_url": sagemaker_endpoint(),
        "region": "us-east-1",
        "model": model,
        "endpoint_config": config,
        "endpoint": endpoint,
    });
    let script = Path::new(REPO).join("tests/emulator/scripts/sagemaker_control_plane.py");
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the script");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(spec.to_string().as_bytes())
        .expect("write spec");
    let out = child.wait_with_output().expect("script ends");
    assert!(
        out.status.success(),
        "the script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut answers: Value = serde_json::from_slice(&out.stdout).expect("JSON answers");
    answers["sent"] = spec;
    answers
}

fn tag() -> String {
    crate::support::unique_name("sm")
        .chars()
        .rev()
        .take(12)
        .collect::<String>()
        .chars()
        .rev()
        .collect::<String>()
        .trim_start_matches('-')
        .to_string()
}

#[test]
#[ignore = "needs moto (scripts/test or scripts/emulator start)"]
fn moto_takes_the_serverless_model_endpoint_config_and_endpoint() {
    let resources = rendered_resources(
        "region: us-east-1\nlambda:\n  package: image\nbackend: sagemaker\nsagemaker:\n  memory_mb: 2048\n  max_concurrency: 7\n",
    );
    let tag = tag();
    let got = through_moto(&resources, &tag);
    let values = values(&tag);

    let model = &got["model"];
    assert_eq!(model["ModelName"], values["Model.ModelName"].as_str());
    assert_eq!(
        model["ExecutionRoleArn"],
        values["EndpointRole.Arn"].as_str()
    );
    let container = &model["PrimaryContainer"];
    assert_eq!(
        container["Image"],
        values["ImageUri"].as_str(),
        "the image by digest"
    );
    assert!(
        container["Image"]
            .as_str()
            .expect("image")
            .ends_with(DIGEST)
    );
    assert_eq!(
        container["Environment"]["MODEL_KEY"],
        values["ModelKey"].as_str()
    );
    assert_eq!(container["Environment"]["MODEL_SHA256"], MODEL_SHA);
    assert_eq!(container["Environment"]["MODEL_VERSION_ID"], "v-model");
    assert_eq!(
        container["Environment"]["MANIFEST_VERSION_ID"],
        "v-manifest"
    );

    let config = &got["endpoint_config"];
    let variant = &config["ProductionVariants"][0];
    assert_eq!(variant["VariantName"], "primary");
    assert_eq!(variant["ModelName"], values["Model.ModelName"].as_str());
    assert_eq!(
        variant["ServerlessConfig"],
        json!({"MemorySizeInMB": 2048, "MaxConcurrency": 7})
    );
    assert!(
        config.get("KmsKeyId").is_none_or(Value::is_null),
        "{config}"
    );

    let endpoint = &got["endpoint"];
    assert_eq!(
        endpoint["EndpointName"],
        got["sent"]["endpoint"]["EndpointName"]
    );
    assert_eq!(
        endpoint["EndpointConfigName"],
        values["EndpointConfig.EndpointConfigName"].as_str()
    );
    assert!(
        endpoint["EndpointArn"]
            .as_str()
            .expect("arn")
            .ends_with(&format!(":endpoint/iris-qa-endpoint-{tag}")),
        "{endpoint}"
    );
    assert_eq!(endpoint["EndpointStatus"], "InService", "{endpoint}");
}

#[test]
#[ignore = "needs moto (scripts/test or scripts/emulator start)"]
fn moto_takes_the_instance_mode_endpoint_config_with_the_env_key() {
    let resources = rendered_resources(
        "region: us-east-1\nlambda:\n  package: image\nbackend: sagemaker\nsagemaker:\n  mode: instance\n  instance_type: ml.c5.large\n  min_instances: 2\n  max_instances: 4\n",
    );
    let tag = tag();
    let got = through_moto(&resources, &tag);
    let values = values(&tag);
    let config = &got["endpoint_config"];
    assert_eq!(config["KmsKeyId"], values["KmsKeyArn"].as_str());
    let variant = &config["ProductionVariants"][0];
    assert_eq!(variant["InstanceType"], "ml.c5.large");
    assert_eq!(variant["InitialInstanceCount"], 2);
    assert_eq!(got["endpoint"]["EndpointStatus"], "InService");
}
