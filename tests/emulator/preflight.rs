//! `irisctl bootstrap`, then `deploy` of a fresh emulator env, then `preflight` on the
//! emulators: every check passes or only warns (the names the env creates are now held by
//! its own stacks), and the JSON report lists each check. The env's stacks are destroyed
//! at the end even when the test fails; the account stack stays, as on AWS.

use std::process::Output;

use serde_json::Value;

use crate::support;

fn irisctl(args: &[&str]) -> Output {
    support::irisctl(args).output()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", support::describe_output(out)))
}

/// Destroys the env when dropped (also when the test panicked).
struct Destroy<'a>(&'a [&'a str]);

impl Drop for Destroy<'_> {
    fn drop(&mut self) {
        let mut args = vec!["destroy", "--yes"];
        args.extend_from_slice(self.0);
        let out = irisctl(&args);
        if out.status.code() != Some(0) {
            eprintln!("cleanup: {}", support::describe_output(&out));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn bootstrap_then_deploy_then_preflight_passes() {
    let _aws = support::emulators().await;
    let out = irisctl(&["bootstrap", "--region", "us-east-1"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        support::describe_output(&out)
    );

    let env = support::unique_env("pf");
    let envs = support::envs_dir_with_emulator_env(&env);
    let work = tempfile::tempdir().expect("tempdir");
    let envs_s = envs.path().to_string_lossy().into_owned();
    let base = ["--env", env.as_str(), "--envs-dir", envs_s.as_str()];

    let preflight = || {
        let mut args = vec!["preflight", "--output", "json"];
        args.extend_from_slice(&base);
        irisctl(&args)
    };
    // Before the first deploy: every name is free.
    let out = preflight();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        support::describe_output(&out)
    );
    let report = json(&out);
    assert_ne!(report["result"], "fail", "{report:#}");

    let _destroy = Destroy(&base);
    let (model, package) = support::fake_artifacts(work.path(), b"preflight model");
    let mut args = vec!["deploy", "--yes"];
    args.extend_from_slice(&base);
    let (model_s, package_s) = (
        model.to_string_lossy().into_owned(),
        package.to_string_lossy().into_owned(),
    );
    args.extend_from_slice(&["--model", &model_s, "--package", &package_s]);
    let out = irisctl(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        support::describe_output(&out)
    );

    let out = preflight();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        support::describe_output(&out)
    );
    let report = json(&out);
    assert_ne!(report["result"], "fail", "{report:#}");
    let checks = report["checks"].as_array().expect("checks");
    let names: Vec<&str> = checks.iter().filter_map(|c| c["check"].as_str()).collect();
    for check in [
        "account",
        "logging-role",
        "concurrency",
        "names",
        "throttle",
    ] {
        assert!(names.contains(&check), "{check} missing: {report:#}");
    }
    let held: Vec<&str> = checks
        .iter()
        .filter(|c| c["check"] == "names")
        .filter_map(|c| c["detail"].as_str())
        .collect();
    assert!(
        held.iter()
            .any(|d| d.starts_with("S3 bucket") && d.contains("held by")),
        "the env's own bucket is held by its stack: {held:?}"
    );
}
