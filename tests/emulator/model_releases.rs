//! Model releases end to end on the emulators, checked through the AWS APIs: deploy a real
//! model and package into a fresh `local-<unique>` env, `model push` a second model
//! (a new Lambda version holding its pins, the stack's model pins changed and nothing
//! else, predictions through the API answer with its sha256), `model list`, `model
//! rollback` (the old model's pins and answers back), refusals that change nothing (a
//! tampered model, a rollback to a model no version holds, a promote from an env that runs
//! no model), and `model promote` into a second env (its bucket gets the source's bytes by
//! server-side copy and its function answers with them). The alias is checked to move to
//! the version each change publishes (scripts/emulator.d/lambda_alias_update.py gives
//! LocalStack's CloudFormation the alias update AWS performs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use irisctl::aws::endpoint::{self, Service};
use irisctl::contract;
use serde_json::Value;

use crate::function_runs::{
    assert_ok, cleanup, flower_json, http, iris_model, irisctl, parse, run, service_output,
    storage_bucket,
};
use crate::support;

pub(crate) async fn pins(aws: &support::Aws, env: &str) -> BTreeMap<String, String> {
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
        .flat_map(|s| s.parameters())
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_owned(),
                p.parameter_value()?.to_owned(),
            ))
        })
        .collect()
}

/// (version, MODEL_SHA256 of that version) of every published version, oldest first.
async fn versions(lambda: &aws_sdk_lambda::Client, function: &str) -> Vec<(u32, String)> {
    let out = lambda
        .list_versions_by_function()
        .function_name(function)
        .send()
        .await
        .unwrap_or_else(|e| panic!("ListVersionsByFunction: {e:?}"));
    let mut found: Vec<(u32, String)> = out
        .versions()
        .iter()
        .filter_map(|v| {
            let n = v.version()?.parse().ok()?;
            let sha = v
                .environment()?
                .variables()?
                .get(contract::function_env::MODEL_SHA256)?
                .clone();
            Some((n, sha))
        })
        .collect();
    found.sort();
    found
}

async fn alias_target(lambda: &aws_sdk_lambda::Client, function: &str) -> String {
    lambda
        .get_alias()
        .function_name(function)
        .name(irisctl::release::ALIAS)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetAlias: {e:?}"))
        .function_version()
        .unwrap_or_default()
        .to_owned()
}

pub(crate) fn sha_of(dir: &Path) -> String {
    let manifest = parse(
        "manifest.json",
        &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"),
    );
    manifest["sha256"].as_str().expect("sha256").to_owned()
}

/// POST /predict through LocalStack's API Gateway: the sha256 of the model that answered.
pub(crate) fn predicted_by(base: &str) -> String {
    let (status, head, text) = http(
        "POST",
        &format!("{base}/predict"),
        Some(&flower_json()),
        &["Content-Type: application/json"],
    );
    assert_eq!(status, 200, "{head}\n{text}");
    let answer = parse("POST /predict", &text);
    answer["model"]["sha256"]
        .as_str()
        .unwrap_or_else(|| panic!("no model sha256 in {answer}"))
        .to_owned()
}

pub(crate) fn json_of(what: &str, out: &std::process::Output) -> Value {
    parse(what, &String::from_utf8_lossy(&out.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn push_list_rollback_and_promote_change_only_the_model() {
    let aws = support::emulators().await;
    let env = support::unique_env("mr");
    let other = support::unique_env("mp");
    let envs = support::envs_dir_with_emulator_env(&env);
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("environments/local.yaml"),
        envs.path().join(format!("{other}.yaml")),
    )
    .expect("second env");
    let work = tempfile::tempdir().expect("tempdir");
    let endpoint = endpoint::resolved(&aws.config, Service::CloudFormation)
        .expect("the emulator endpoint (AWS_ENDPOINT_URL)");
    let body = {
        let (env, other) = (env.clone(), other.clone());
        let envs = envs.path().to_string_lossy().into_owned();
        let work = work.path().to_owned();
        async move { exercise(&env, &other, &envs, &work, &endpoint).await }
    };
    let outcome = tokio::spawn(body).await;
    cleanup(&aws, &env).await;
    cleanup(&aws, &other).await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

/// In `work`: two real models that differ (`a`: the defaults, `b`: 10 trees) and the
/// packaged function (`package`). Returns their directories.
pub(crate) fn two_models_and_a_package(work: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let iris_model = iris_model();
    let (a, b) = (work.join("a"), work.join("b"));
    let package = work.join("package");
    let s = |p: &Path| p.to_string_lossy().into_owned();
    assert_ok("train a", &run(&iris_model, &["train", "--out", &s(&a)]));
    assert_ok(
        "train b",
        &run(&iris_model, &["train", "--out", &s(&b), "--trees", "10"]),
    );
    assert_ne!(sha_of(&a), sha_of(&b));
    assert_ok("package", &irisctl(&["package", "--out", &s(&package)]));
    (a, b, package)
}

async fn exercise(env: &str, other: &str, envs: &str, work: &Path, endpoint: &str) {
    let aws = support::emulators().await;
    let lambda = aws_sdk_lambda::Client::new(&aws.config);
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let (a, b, package) = two_models_and_a_package(work);
    let (sha_a, sha_b) = (sha_of(&a), sha_of(&b));
    let deploy = |env: &str, model: &Path| {
        irisctl(&[
            "deploy",
            "--env",
            env,
            "--envs-dir",
            envs,
            "--model",
            &s(model),
            "--package",
            &s(&package),
        ])
    };
    assert_ok("deploy a", &deploy(env, &a));
    let function = service_output(&aws, env, contract::service::FUNCTION_NAME).await;
    let api_url = service_output(&aws, env, contract::service::API_URL).await;
    let base =
        irisctl::local_api_url::local_api_url(&api_url, endpoint).unwrap_or_else(|e| panic!("{e}"));
    let first = versions(&lambda, &function).await;
    assert_eq!(first.last().map(|v| v.1.as_str()), Some(sha_a.as_str()));
    assert_eq!(predicted_by(&base), sha_a);

    // push b: a new version with b's pins; only the model pins changed.
    let before = pins(&aws, env).await;
    let pushed = irisctl(&[
        "model",
        "push",
        "--env",
        env,
        "--envs-dir",
        envs,
        "--model",
        &s(&b),
        "--output",
        "json",
    ]);
    assert_ok("model push b", &pushed);
    let report = json_of("model push", &pushed);
    assert_eq!(report["outcome"], "succeeded", "{report}");
    let after = pins(&aws, env).await;
    for (k, v) in &before {
        let model_pin = contract::pins::ALL.contains(&k.as_str()) && !k.starts_with("LambdaCode");
        if !model_pin {
            assert_eq!(after.get(k), Some(v), "{k} changed");
        }
    }
    assert_eq!(after[contract::pins::MODEL_SHA256], sha_b);
    let second = versions(&lambda, &function).await;
    assert_eq!(second.len(), first.len() + 1, "{second:?}");
    assert_eq!(second.last().map(|v| v.1.as_str()), Some(sha_b.as_str()));
    assert_eq!(
        alias_target(&lambda, &function).await,
        second.last().map(|v| v.0.to_string()).unwrap_or_default()
    );
    assert_eq!(predicted_by(&base), sha_b);

    // list: both, b live, a previous, newest first.
    let listed = irisctl(&[
        "model",
        "list",
        "--env",
        env,
        "--envs-dir",
        envs,
        "--output",
        "json",
    ]);
    assert_ok("model list", &listed);
    let rows = json_of("model list", &listed);
    let row = |sha: &str| {
        rows.as_array()
            .expect("rows")
            .iter()
            .find(|r| r["sha256"] == sha)
            .cloned()
            .unwrap_or_else(|| panic!("{sha} not listed: {rows}"))
    };
    assert_eq!(row(&sha_b)["live"], true, "{rows}");
    assert_eq!(row(&sha_a)["previous"], true, "{rows}");
    assert!(row(&sha_a)["accuracy"].as_f64().is_some(), "{rows}");

    // Refusals change nothing: a tampered model, a rollback to a model no version holds.
    let tampered = work.join("tampered");
    std::fs::create_dir_all(&tampered).expect("mkdir");
    std::fs::copy(b.join("manifest.json"), tampered.join("manifest.json")).expect("copy");
    let mut bytes = std::fs::read(b.join("model.bin")).expect("model");
    bytes[0] ^= 0xff;
    std::fs::write(tampered.join("model.bin"), bytes).expect("write");
    let refused = irisctl(&[
        "model",
        "push",
        "--env",
        env,
        "--envs-dir",
        envs,
        "--model",
        &s(&tampered),
    ]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        support::describe_output(&refused)
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("corrupt or mixed"),
        "{}",
        support::describe_output(&refused)
    );
    let gone = irisctl(&[
        "model",
        "rollback",
        "--env",
        env,
        "--envs-dir",
        envs,
        "--to",
        "ffffffff",
    ]);
    assert_eq!(
        gone.status.code(),
        Some(3),
        "{}",
        support::describe_output(&gone)
    );
    assert_eq!(pins(&aws, env).await, after, "a refusal changed the pins");
    assert_eq!(versions(&lambda, &function).await, second);

    // rollback: a's pins again, answered by a.
    let back = irisctl(&[
        "model",
        "rollback",
        "--env",
        env,
        "--envs-dir",
        envs,
        "--output",
        "json",
    ]);
    assert_ok("model rollback", &back);
    let pinned = pins(&aws, env).await;
    assert_eq!(pinned[contract::pins::MODEL_SHA256], sha_a);
    assert_eq!(
        pinned[contract::pins::MODEL_VERSION_ID],
        before[contract::pins::MODEL_VERSION_ID]
    );
    let third = versions(&lambda, &function).await;
    assert_eq!(third.last().map(|v| v.1.as_str()), Some(sha_a.as_str()));
    assert_eq!(
        alias_target(&lambda, &function).await,
        third.last().map(|v| v.0.to_string()).unwrap_or_default()
    );
    assert_eq!(predicted_by(&base), sha_a);

    // promote: from an env that runs no model, refused; then env (a live) -> other (b).
    let never = support::unique_env("mn");
    std::fs::copy(
        Path::new(envs).join("local.yaml"),
        Path::new(envs).join(format!("{never}.yaml")),
    )
    .expect("copy");
    assert_ok("deploy other b", &deploy(other, &b));
    let other_before = pins(&aws, other).await;
    let refused = irisctl(&[
        "model",
        "promote",
        "--from",
        &never,
        "--to",
        other,
        "--envs-dir",
        envs,
    ]);
    assert_ne!(
        refused.status.code(),
        Some(0),
        "{}",
        support::describe_output(&refused)
    );
    assert_eq!(pins(&aws, other).await, other_before);
    let promoted = irisctl(&[
        "model",
        "promote",
        "--from",
        env,
        "--to",
        other,
        "--envs-dir",
        envs,
        "--output",
        "json",
    ]);
    assert_ok("model promote", &promoted);
    let other_pins = pins(&aws, other).await;
    assert_eq!(other_pins[contract::pins::MODEL_SHA256], sha_a);
    let other_bucket = storage_bucket(&aws, other).await;
    let copied = aws
        .s3
        .head_object()
        .bucket(&other_bucket)
        .key(format!("models/{sha_a}/model.bin"))
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .expect("the promoted model is in the target bucket");
    assert_eq!(
        copied.checksum_sha256(),
        irisctl::digest::hex_to_b64(&sha_a).as_deref()
    );
    let other_url = service_output(&aws, other, contract::service::API_URL).await;
    let other_base = irisctl::local_api_url::local_api_url(&other_url, endpoint)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(predicted_by(&other_base), sha_a);
}
