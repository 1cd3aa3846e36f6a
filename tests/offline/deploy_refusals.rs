//! deploy/plan refusals that must happen before any AWS call: every test points the SDK at
//! a loopback port nothing listens on, so reaching AWS would fail with exit 1, not the
//! exit code asserted.

use std::path::Path;
use std::process::Output;

use crate::support::{self, binary::DEAD_ENDPOINT};

/// irisctl with only the AWS this test sets: everything at `endpoint`.
fn irisctl(args: &[&str], endpoint: &str) -> Output {
    support::irisctl(args).aws_at(endpoint).output()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn envs_with(extra_name: &str, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("environments");
    for entry in std::fs::read_dir(&repo).expect("environments/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    std::fs::write(dir.path().join(format!("{extra_name}.yaml")), extra).expect("write");
    dir
}

#[test]
fn an_emulator_env_pointed_off_this_machine_is_refused() {
    // Off this machine, yet unroutable (TEST-NET-1, RFC 5737): should the refusal ever
    // regress, the calls go nowhere instead of to a real account.
    let out = irisctl(&["deploy", "--env", "local"], "http://192.0.2.1:9");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("is an emulator env"), "{err}");
    assert!(err.contains("192.0.2.1"), "{err}");
}

#[test]
fn a_protected_env_without_a_terminal_or_yes_is_refused_before_any_call() {
    let envs = envs_with("staging", "region: us-east-1\nprotected: true\n");
    let dir = envs.path().to_string_lossy().into_owned();
    let out = irisctl(
        &["deploy", "--env", "staging", "--envs-dir", &dir],
        DEAD_ENDPOINT,
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
    // With --yes that gate is passed, and the next one (this env pins no account) refuses,
    // still before any call.
    let out = irisctl(
        &["deploy", "--env", "staging", "--envs-dir", &dir, "--yes"],
        DEAD_ENDPOINT,
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("pins no account"), "{}", stderr(&out));
}

#[test]
fn corrupt_artifacts_are_rejected_before_any_call() {
    let work = tempfile::tempdir().expect("tempdir");
    let model = work.path().join("model");
    let package = work.path().join("package");
    std::fs::create_dir_all(&model).expect("mkdir");
    std::fs::create_dir_all(&package).expect("mkdir");
    std::fs::write(model.join("model.bin"), b"bytes").expect("write");
    std::fs::write(
        model.join("manifest.json"),
        format!("{{\"sha256\":\"{}\"}}", "0".repeat(64)),
    )
    .expect("write");
    std::fs::write(package.join("lambda.zip"), b"PK\x05\x06 and not much else").expect("write");
    let out = irisctl(
        &[
            "deploy",
            "--env",
            "local",
            "--model",
            &model.to_string_lossy(),
            "--package",
            &package.to_string_lossy(),
        ],
        DEAD_ENDPOINT,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("the artifacts to deploy are not usable"),
        "{err}"
    );
    assert!(err.contains("corrupt or mixed"), "{err}");
    assert!(
        !err.contains("127.0.0.1:9"),
        "no AWS call was attempted: {err}"
    );
}

#[test]
fn an_invalid_env_is_an_error_naming_the_file() {
    let envs = envs_with("local-bad", "emulator: true\nlambda:\n  memory_mb: nope\n");
    let dir = envs.path().to_string_lossy().into_owned();
    let out = irisctl(
        &["plan", "--env", "local-bad", "--envs-dir", &dir],
        DEAD_ENDPOINT,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("local-bad.yaml"), "{}", stderr(&out));
}

#[test]
fn output_formats_are_only_those_the_command_prints() {
    // Markdown is plan's (a pull-request comment); deploy refuses it as a usage error
    // (exit 1, never plan's "changes pending" 2) instead of printing text silently.
    let out = irisctl(
        &["deploy", "--env", "dev", "--output", "markdown"],
        DEAD_ENDPOINT,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("markdown"), "{}", stderr(&out));
    assert!(stderr(&out).contains("text, json"), "{}", stderr(&out));
    // recover and unlock print text only, so they take no --output at all.
    for cmd in ["recover", "unlock"] {
        let out = irisctl(&[cmd, "--env", "dev", "--output", "json"], DEAD_ENDPOINT);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {}", stderr(&out));
        assert!(stderr(&out).contains("--output"), "{cmd}: {}", stderr(&out));
    }
}
