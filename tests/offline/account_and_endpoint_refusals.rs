//! What a first run against AWS meets before any call: the account pin (missing, empty or
//! an example id is refused, saying how to set it), an env on AWS aimed at this machine,
//! and the errors a person can act on (no credentials; emulators not running). Every run
//! points the SDK at a closed loopback port or at nothing, so a refusal asserted here
//! comes before any call could change anything.

use std::path::Path;
use std::process::Output;

use crate::support::{self, binary::DEAD_ENDPOINT};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The repository's envs plus `<name>.yaml` with `text`.
fn envs_with(name: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("environments");
    for entry in std::fs::read_dir(&repo).expect("environments/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    std::fs::write(dir.path().join(format!("{name}.yaml")), text).expect("write");
    dir
}

fn run_at(args: &[&str], endpoint: &str) -> Output {
    support::irisctl(args).aws_at(endpoint).output()
}

#[test]
fn the_shipped_envs_on_aws_carry_an_example_pin_that_is_refused_until_set() {
    for (command, env) in [
        ("deploy", "dev"),
        ("plan", "staging"),
        ("preflight", "prod"),
        ("status", "dev"),
    ] {
        let out = run_at(&[command, "--env", env], DEAD_ENDPOINT);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{command} {env}: {err}");
        assert!(err.contains("111122223333"), "{command} {env}: {err}");
        assert!(err.contains("an example id"), "{command} {env}: {err}");
        assert!(
            err.contains(&format!("environments/{env}.yaml")),
            "{command} {env}: {err}"
        );
        assert!(
            err.contains("aws sts get-caller-identity"),
            "{command} {env}: {err}"
        );
    }
}

#[test]
fn an_ephemeral_env_is_told_its_pin_comes_from_the_base_file() {
    let out = run_at(&["plan", "--env", "pr-42"], DEAD_ENDPOINT);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("environments/ephemeral.yaml"), "{err}");
    assert!(err.contains("account_id included"), "{err}");
}

#[test]
fn a_missing_or_empty_pin_is_refused_saying_how_to_set_it() {
    for (text, says) in [
        ("region: us-east-1\n", "pins no account"),
        ("account_id: \"\"\n", "has an empty `account_id`"),
    ] {
        let envs = envs_with("qa", text);
        let dir = envs.path().to_string_lossy().into_owned();
        let out = run_at(
            &["deploy", "--env", "qa", "--envs-dir", &dir],
            DEAD_ENDPOINT,
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{text}: {err}");
        assert!(err.contains(says), "{text}: {err}");
        assert!(err.contains("qa.yaml"), "{text}: {err}");
    }
}

#[test]
fn an_env_on_aws_refuses_endpoints_on_this_machine() {
    let envs = envs_with("qa", "account_id: \"210987654321\"\n");
    let dir = envs.path().to_string_lossy().into_owned();
    for endpoint in [DEAD_ENDPOINT, "http://localhost:9"] {
        let out = run_at(&["deploy", "--env", "qa", "--envs-dir", &dir], endpoint);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{endpoint}: {err}");
        assert!(
            err.contains("runs on AWS, but AWS calls would go to this machine"),
            "{err}"
        );
        assert!(err.contains(endpoint), "{err}");
        assert!(err.contains("unset AWS_ENDPOINT_URL"), "{err}");
    }
    // One service's variable is enough (the emulator env sets ECR's and Cognito's apart).
    // Everything else at an unroutable address (TEST-NET-1), so a regression reaches nothing.
    let out = support::irisctl(&["plan", "--env", "qa", "--envs-dir", &dir])
        .aws_at("http://192.0.2.1:9")
        .env("AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:5000")
        .output();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("ECR -> http://127.0.0.1:5000"), "{err}");
}

/// irisctl with an empty environment: no credentials anywhere, the instance metadata
/// service off (it is not on this machine), every endpoint at a closed loopback port.
fn without_credentials(args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("tempdir");
    let mut command = support::irisctl(args).command();
    command
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", DEAD_ENDPOINT);
    command.output().expect("irisctl runs")
}

#[test]
fn no_credentials_names_the_sources_tried_and_how_to_configure_one() {
    let out = without_credentials(&["deploy", "--env", "local"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for needle in [
        "no AWS credentials could be loaded",
        "AWS_ACCESS_KEY_ID",
        "~/.aws/config",
        "instance metadata",
        "aws sso login",
        "AWS_PROFILE",
        "--debug",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(
        !err.contains("DispatchFailure"),
        "no SDK dump without --debug: {err}"
    );
    let debug = stderr(&without_credentials(&[
        "deploy", "--env", "local", "--debug",
    ]));
    assert!(
        debug.contains("SDK error"),
        "--debug shows the SDK's error: {debug}"
    );
}

#[test]
fn stopped_emulators_are_named_with_how_to_start_them() {
    let out = run_at(&["deploy", "--env", "local"], DEAD_ENDPOINT);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("nothing answers at http://127.0.0.1:9"),
        "{err}"
    );
    assert!(err.contains("scripts/emulator start"), "{err}");
    assert!(err.contains("eval \"$(scripts/emulator env)\""), "{err}");
    assert!(!err.contains("dispatch failure"), "{err}");
}
