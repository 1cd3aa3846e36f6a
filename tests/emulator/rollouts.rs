//! Rollouts end to end on the emulators, checked through the AWS APIs (the live alias's
//! version and weights, the service stack's rollout parameters, the alarms), never through
//! irisctl's own output alone. One env, deployed with model A; then:
//! - `deploy --strategy canary:50,3s` of model B: the alias is seen at 50% to B's version
//!   mid-way and ends on it alone, with the rollout parameters cleared;
//! - `model push` of a model trained on rotated labels (it passes its own gate and golden
//!   set but answers another species everywhere): rolled back before any traffic moves,
//!   the API still answering with B;
//! - a push of A whose canary an alarm forced into ALARM (SetAlarmState) stops: weight 0;
//! - a push of A interrupted by SIGINT during its bake: weight back to 0;
//! - a push of A killed (SIGKILL) during its bake: the stack still records the running
//!   rollout, `rollout status` says so, `rollout resume` completes it;
//! - another push killed the same way, then `rollout abort`: weight 0, and resume refused.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use irisctl::aws::endpoint::{self, Service};
use irisctl::contract;

use crate::function_runs::{assert_ok, cleanup, iris_model, irisctl, run, service_output};
use crate::model_releases::{json_of, pins, predicted_by, sha_of, two_models_and_a_package};
use crate::support;

/// The live alias: its primary version and its extra weights.
async fn alias(lambda: &aws_sdk_lambda::Client, function: &str) -> (String, BTreeMap<String, f64>) {
    let out = lambda
        .get_alias()
        .function_name(function)
        .name(irisctl::release::ALIAS)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetAlias: {e:?}"));
    let weights = out
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default();
    (
        out.function_version().unwrap_or_default().to_owned(),
        weights,
    )
}

/// The version whose MODEL_SHA256 is `sha`, newest first.
async fn version_of(lambda: &aws_sdk_lambda::Client, function: &str, sha: &str) -> String {
    let out = lambda
        .list_versions_by_function()
        .function_name(function)
        .send()
        .await
        .unwrap_or_else(|e| panic!("ListVersionsByFunction: {e:?}"));
    let mut found: Vec<u32> = out
        .versions()
        .iter()
        .filter(|v| {
            v.environment()
                .and_then(|e| e.variables())
                .and_then(|vars| vars.get(contract::function_env::MODEL_SHA256))
                .is_some_and(|s| s == sha)
        })
        .filter_map(|v| v.version()?.parse().ok())
        .collect();
    found.sort_unstable();
    found
        .last()
        .unwrap_or_else(|| panic!("no version holds model {sha}"))
        .to_string()
}

fn rollout_params(p: &BTreeMap<String, String>) -> (String, String, String) {
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    (
        get(contract::rollout::FROM),
        get(contract::rollout::WEIGHT),
        get(contract::rollout::STRATEGY),
    )
}

/// Wait until the alias gives some version `weight` (a rollout mid-way), while `child`
/// runs; panics if the child ends first or nothing is seen within a minute.
async fn until_weight(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    weight: f64,
    child: &mut Child,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (_, weights) = alias(lambda, function).await;
        if let Some((v, _)) = weights.iter().find(|(_, w)| (**w - weight).abs() < 1e-9) {
            return v.clone();
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut out = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut out);
            }
            panic!("the rollout ended ({status}) before the alias showed weight {weight}: {out}");
        }
        assert!(
            Instant::now() < deadline,
            "the alias never showed weight {weight}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Start `child`'s rollout, wait until the alias shows its 50% step, kill the process
/// (SIGKILL: nothing can clean up) and take the lock it leaves; returns the new version.
async fn killed_at_half(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    mut child: Child,
    env: &str,
    envs: &str,
) -> String {
    let version = until_weight(lambda, function, 0.5, &mut child).await;
    signal(&child, "-KILL");
    let _ = finished(child);
    let unlocked = support::irisctl(&["unlock", "--env", env, "--envs-dir", envs]).output();
    assert_eq!(
        unlocked.status.code(),
        Some(0),
        "{}",
        support::describe_output(&unlocked)
    );
    version
}

/// The alias gives all traffic to `primary` and none to any other version (held back).
async fn held_back_on(lambda: &aws_sdk_lambda::Client, function: &str, primary: &str) {
    let (now, weights) = alias(lambda, function).await;
    assert_eq!(now, primary, "the alias's primary version");
    assert!(weights.values().all(|w| *w == 0.0), "{weights:?}");
}

fn finished(mut child: Child) -> std::process::Output {
    let deadline = Instant::now() + Duration::from_secs(180);
    while child.try_wait().expect("try_wait").is_none() {
        assert!(Instant::now() < deadline, "the command did not end");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("output")
}

fn signal(child: &Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {sig}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn canaries_complete_roll_back_resume_and_abort() {
    let aws = support::emulators().await;
    let env = support::unique_env("ro");
    let envs = support::envs_dir_with_emulator_env(&env);
    let work = tempfile::tempdir().expect("tempdir");
    let endpoint = endpoint::resolved(&aws.config, Service::CloudFormation)
        .expect("the emulator endpoint (AWS_ENDPOINT_URL)");
    let body = {
        let env = env.clone();
        let envs = envs.path().to_string_lossy().into_owned();
        let work = work.path().to_owned();
        async move { exercise(&env, &envs, &work, &endpoint).await }
    };
    let outcome = tokio::spawn(body).await;
    cleanup(&aws, &env).await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

/// The built-in data set with every species renamed to the next one: a model trained on it
/// passes its gate and answers its own golden set, but never the species the data names.
fn rotated_labels(dir: &Path) -> std::path::PathBuf {
    let data = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("model-crate/data/iris.csv"),
    )
    .expect("iris.csv");
    let rotate = |line: &str| {
        let (features, species) = line.rsplit_once(',').expect("a species column");
        let next = match species.trim() {
            "setosa" => "versicolor",
            "versicolor" => "virginica",
            "virginica" => "setosa",
            other => other,
        };
        format!("{features},{next}")
    };
    let text: Vec<String> = data.lines().map(rotate).collect();
    let path = dir.join("rotated.csv");
    std::fs::write(&path, text.join("\n") + "\n").expect("write");
    path
}

async fn exercise(env: &str, envs: &str, work: &Path, endpoint: &str) {
    let aws = support::emulators().await;
    let lambda = aws_sdk_lambda::Client::new(&aws.config);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&aws.config);
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let (a, b, package) = two_models_and_a_package(work);
    let r = work.join("r");
    let rotated = rotated_labels(work);
    assert_ok(
        "train r",
        &run(
            &iris_model(),
            &["train", "--out", &s(&r), "--data", &s(&rotated)],
        ),
    );
    let (sha_a, sha_b, sha_r) = (sha_of(&a), sha_of(&b), sha_of(&r));
    let deploy = |model: &Path, strategy: &str| {
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
            "--strategy",
            strategy,
            "--output",
            "json",
        ])
    };
    let push_args = |model: &Path, strategy: &str| -> Vec<String> {
        [
            "model",
            "push",
            "--env",
            env,
            "--envs-dir",
            envs,
            "--model",
            &s(model),
            "--strategy",
            strategy,
            "--output",
            "json",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect()
    };
    let rollout = |verb: &str| {
        irisctl(&[
            "rollout",
            verb,
            "--env",
            env,
            "--envs-dir",
            envs,
            "--output",
            "json",
        ])
    };
    let spawn = |args: &[String]| -> Child {
        let mut cmd = support::irisctl(args).command();
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().expect("spawn irisctl")
    };

    // A first deploy: nothing to roll out from, so all at once whatever the strategy.
    let first = deploy(&a, "canary:50,3s");
    assert_ok("deploy a", &first);
    assert!(json_of("deploy a", &first).get("rollout").is_none());
    let function = service_output(&aws, env, contract::service::FUNCTION_NAME).await;
    let api_url = service_output(&aws, env, contract::service::API_URL).await;
    let base =
        irisctl::local_api_url::local_api_url(&api_url, endpoint).unwrap_or_else(|e| panic!("{e}"));
    let v_a = version_of(&lambda, &function, &sha_a).await;
    assert_eq!(
        alias(&lambda, &function).await,
        (v_a.clone(), BTreeMap::new())
    );

    // deploy B with a canary: seen at 50% mid-way, then B alone.
    let mut child = spawn(
        &[
            "deploy",
            "--env",
            env,
            "--envs-dir",
            envs,
            "--model",
            &s(&b),
            "--package",
            &s(&package),
            "--strategy",
            "canary:50,3s",
            "--output",
            "json",
        ]
        .map(str::to_owned),
    );
    let v_b = until_weight(&lambda, &function, 0.5, &mut child).await;
    assert_eq!(
        alias(&lambda, &function).await.0,
        v_a,
        "the primary stays A during the canary"
    );
    let mid = pins(&aws, env).await;
    assert_eq!(
        rollout_params(&mid),
        (v_a.clone(), "0.5".into(), "canary:50,3s".into())
    );
    let out = finished(child);
    assert_ok("deploy b with a canary", &out);
    let report = json_of("deploy b", &out);
    assert_eq!(report["rollout"]["outcome"], "completed", "{report}");
    let weights: Vec<f64> = report["rollout"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["weight"].as_f64().expect("w"))
        .collect();
    assert_eq!(weights, [0.5, 1.0]);
    assert_eq!(v_b, version_of(&lambda, &function, &sha_b).await);
    assert_eq!(
        alias(&lambda, &function).await,
        (v_b.clone(), BTreeMap::new())
    );
    assert_eq!(
        rollout_params(&pins(&aws, env).await),
        (String::new(), "0".into(), String::new())
    );
    assert_eq!(predicted_by(&base), sha_b);

    // The rotated-labels model: refused by the check before any traffic moves.
    let out = finished(spawn(&push_args(&r, "canary:50,3s")));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        support::describe_output(&out)
    );
    let report = json_of("push r", &out);
    assert_eq!(report["outcome"], "rolled_back", "{report}");
    assert_eq!(report["rollout"]["stopped_by"], "disagreement", "{report}");
    assert_eq!(
        report["rollout"]["steps"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    let v_r = version_of(&lambda, &function, &sha_r).await;
    assert_ne!(
        v_r, v_b,
        "the rotated model was published as its own version"
    );
    held_back_on(&lambda, &function, &v_b).await;
    assert_eq!(
        rollout_params(&pins(&aws, env).await),
        (v_b.clone(), "0".into(), String::new())
    );
    assert_eq!(predicted_by(&base), sha_b);

    // An alarm forced into ALARM during the bake: back to B.
    let mut child = spawn(&push_args(&a, "canary:50,60s"));
    until_weight(&lambda, &function, 0.5, &mut child).await;
    let service = format!("iris-{env}-service");
    let resources = aws
        .cfn
        .describe_stack_resources()
        .stack_name(&service)
        .send()
        .await
        .expect("resources");
    let alarm = resources
        .stack_resources()
        .iter()
        .find(|r| r.resource_type() == Some("AWS::CloudWatch::Alarm"))
        .and_then(|r| r.physical_resource_id())
        .expect("an alarm in the service stack")
        .to_owned();
    cloudwatch
        .set_alarm_state()
        .alarm_name(&alarm)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("forced by the rollout test")
        .send()
        .await
        .expect("SetAlarmState");
    let out = finished(child);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        support::describe_output(&out)
    );
    let report = json_of("push a (alarm)", &out);
    assert_eq!(report["rollout"]["stopped_by"], "alarm", "{report}");
    assert!(
        report["rollout"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains(&alarm)),
        "{report}"
    );
    held_back_on(&lambda, &function, &v_b).await;
    cloudwatch
        .set_alarm_state()
        .alarm_name(&alarm)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Ok)
        .state_reason("reset by the rollout test")
        .send()
        .await
        .expect("SetAlarmState OK");

    // Ctrl-C during the bake: back to B.
    let mut child = spawn(&push_args(&a, "canary:50,60s"));
    until_weight(&lambda, &function, 0.5, &mut child).await;
    signal(&child, "-INT");
    let out = finished(child);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        support::describe_output(&out)
    );
    assert_eq!(
        json_of("push a (ctrl-c)", &out)["rollout"]["stopped_by"],
        "interrupt"
    );
    held_back_on(&lambda, &function, &v_b).await;

    // Killed during the bake: the stack records the running rollout; resume completes it.
    let v_a2 = killed_at_half(
        &lambda,
        &function,
        spawn(&push_args(&a, "canary:50,60s")),
        env,
        envs,
    )
    .await;
    assert_eq!(
        rollout_params(&pins(&aws, env).await),
        (v_b.clone(), "0.5".into(), "canary:50,1m".into())
    );
    let status = rollout("status");
    assert_ok("rollout status", &status);
    let state = json_of("rollout status", &status);
    assert_eq!(state["state"]["phase"], "running", "{state}");
    assert_eq!(
        state["state"]["to"].as_u64().map(|v| v.to_string()),
        Some(v_a2.clone()),
        "{state}"
    );
    let refused = irisctl(
        &push_args(&b, "all-at-once")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        refused.status.code(),
        Some(3),
        "{}",
        support::describe_output(&refused)
    );
    // A deploy is refused too, and the service stack keeps the running rollout's record.
    let before = pins(&aws, env).await;
    let refused = deploy(&b, "all-at-once");
    assert_eq!(
        refused.status.code(),
        Some(3),
        "{}",
        support::describe_output(&refused)
    );
    let said = support::describe_output(&refused);
    assert!(said.contains("irisctl rollout resume"), "{said}");
    assert_eq!(
        pins(&aws, env).await,
        before,
        "a refused deploy changed the service stack"
    );
    let resumed = rollout("resume");
    assert_ok("rollout resume", &resumed);
    assert_eq!(
        json_of("resume", &resumed)["rollout"]["outcome"],
        "completed"
    );
    assert_eq!(
        alias(&lambda, &function).await,
        (v_a2.clone(), BTreeMap::new())
    );
    assert_eq!(predicted_by(&base), sha_a);

    // Killed again (pushing B), then aborted: A takes all traffic, resume is refused.
    killed_at_half(
        &lambda,
        &function,
        spawn(&push_args(&b, "canary:50,60s")),
        env,
        envs,
    )
    .await;
    let aborted = rollout("abort");
    assert_ok("rollout abort", &aborted);
    held_back_on(&lambda, &function, &v_a2).await;
    let (from, _, strategy) = rollout_params(&pins(&aws, env).await);
    assert_eq!((from.as_str(), strategy.as_str()), (v_a2.as_str(), ""));
    let again = irisctl(&["rollout", "resume", "--env", env, "--envs-dir", envs]);
    assert_eq!(
        again.status.code(),
        Some(3),
        "{}",
        support::describe_output(&again)
    );
    assert_eq!(predicted_by(&base), sha_a);
}
