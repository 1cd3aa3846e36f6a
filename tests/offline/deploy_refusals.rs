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
    // A sealed manifest (unedited) that names another model.bin.
    let mut manifest = serde_json::json!({"schema_version": 2, "sha256": "0".repeat(64)});
    iris_model::checksum::seal(&mut manifest);
    std::fs::write(model.join("manifest.json"), manifest.to_string()).expect("write");
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

/// Each bad model directory deploy must refuse before any call: (what, the file the error
/// names, how to spoil a freshly trained artifact).
type Spoil = fn(&Path);
const BAD_MODELS: [(&str, &str, Spoil); 7] = [
    ("edited trees", "manifest.json", |d| {
        edit_manifest(d, |m| m["params"]["trees"] = 3.into())
    }),
    ("edited accuracy", "manifest.json", |d| {
        edit_manifest(d, |m| m["metrics"]["accuracy"] = 1.0.into())
    }),
    ("edited golden set", "manifest.json", |d| {
        edit_manifest(d, |m| {
            m["golden"][0]["probabilities"]["setosa"] = 0.5.into()
        })
    }),
    ("older schema", "manifest.json", |d| {
        // As iris-model 1 wrote it: a wall-clock time, no checksum, no golden set.
        edit_manifest(d, |m| {
            if let Some(o) = m.as_object_mut() {
                o.remove("manifest_sha256");
                o.remove("golden");
                o.insert("schema_version".into(), 1.into());
                o.insert("created".into(), "2026-01-01T00:00:00Z".into());
            }
        })
    }),
    ("missing manifest", "manifest.json", |d| {
        std::fs::remove_file(d.join("manifest.json")).expect("rm")
    }),
    ("missing model", "model.bin", |d| {
        std::fs::remove_file(d.join("model.bin")).expect("rm")
    }),
    ("corrupt model", "model.bin", |d| {
        let mut bytes = std::fs::read(d.join("model.bin")).expect("read");
        bytes[10] ^= 0xff;
        std::fs::write(d.join("model.bin"), bytes).expect("write")
    }),
];

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    edit(&mut m);
    std::fs::write(&path, serde_json::to_string_pretty(&m).expect("json")).expect("write");
}

/// Every file under `dir` with its bytes, to prove a refusal left them as they were.
fn files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| {
            let p = e.expect("entry").path();
            let bytes = std::fs::read(&p).expect("read");
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn an_edited_older_missing_or_corrupt_model_is_refused_naming_the_file_before_any_call() {
    let work = tempfile::tempdir().expect("tempdir");
    let (_, package) = support::fake_artifacts(work.path(), b"unused");
    let data = iris_model::Dataset::builtin().expect("built-in data");
    let options = iris_model::train::TrainOptions {
        trees: 5,
        ..iris_model::train::TrainOptions::default()
    };
    let trained = iris_model::train::train(&data, &options).expect("train");
    for (what, file, spoil) in BAD_MODELS {
        let model = work.path().join(what.replace(' ', "-"));
        iris_model::Artifact::write(&model, &trained.manifest, &trained.bytes, "<html></html>")
            .expect("write artifact");
        spoil(&model);
        let before = files(&model);
        for command in ["deploy", "plan"] {
            let out = irisctl(
                &[
                    command,
                    "--env",
                    "local",
                    "--model",
                    &model.to_string_lossy(),
                    "--package",
                    &package.to_string_lossy(),
                ],
                DEAD_ENDPOINT,
            );
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{what}, {command}: {err}");
            assert!(
                err.contains(&model.join(file).display().to_string()),
                "{what}, {command}: names the file: {err}"
            );
            assert!(
                err.contains("iris-model train --out DIR"),
                "{what}, {command}: says to retrain: {err}"
            );
            assert!(
                !err.contains("127.0.0.1:9"),
                "{what}, {command}: no AWS call was attempted: {err}"
            );
        }
        assert_eq!(
            files(&model),
            before,
            "{what}: the model directory is left as is"
        );
    }
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
