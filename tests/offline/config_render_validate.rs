//! The commands end to end through the real binary: exit codes, messages, files.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support;

fn irisctl(args: &[&str], envs_dir: &Path) -> Output {
    support::irisctl(args)
        .env("IRISCTL_ENVS_DIR", envs_dir)
        .output()
}

fn repo_envs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("environments")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn render_writes_identical_bytes_twice() {
    let out = tempfile::tempdir().expect("tempdir");
    let a = out.path().join("a");
    let b = out.path().join("b");
    for dir in [&a, &b] {
        let o = irisctl(
            &[
                "render",
                "--env",
                "prod",
                "--out",
                dir.to_str().expect("utf8"),
            ],
            &repo_envs(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    for name in [
        "iris-prod-storage.yaml",
        "iris-prod-auth.yaml",
        "iris-prod-service.yaml",
    ] {
        let x = std::fs::read(a.join(name)).expect("first render");
        let y = std::fs::read(b.join(name)).expect("second render");
        assert_eq!(x, y, "{name}");
    }
}

#[test]
fn validate_all_envs_passes() {
    let o = irisctl(&["validate", "--all-envs"], &repo_envs());
    assert!(o.status.success(), "{}", stderr(&o));
    for env in [
        "dev",
        "staging",
        "prod",
        "local",
        "pr-123",
        "feature-sample",
    ] {
        assert!(
            stdout(&o).contains(&format!("ok: {env} ")),
            "{env}: {}",
            stdout(&o)
        );
    }
}

#[test]
fn typo_in_env_file_gives_one_error_with_file_line_and_suggestion() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("qa.yaml"),
        "region: us-east-1\napi:\n  throtle_rate: 5\n",
    )
    .expect("write");
    let out = dir.path().join("out");
    for args in [
        vec!["validate", "--env", "qa"],
        vec![
            "render",
            "--env",
            "qa",
            "--out",
            out.to_str().expect("utf8"),
        ],
        vec!["config", "show", "--env", "qa"],
    ] {
        let o = irisctl(&args, dir.path());
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains("qa.yaml:3:3: unknown key `throtle_rate`; did you mean `throttle_rate`?"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "one clear error: {err}");
    }
    assert!(!out.exists(), "nothing is written when the env is invalid");
}

#[test]
fn auth_none_outside_emulator_env_exits_non_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("qa.yaml"), "auth:\n  mode: none\n").expect("write");
    let o = irisctl(&["validate", "--env", "qa"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("qa.yaml:2:9"), "{}", stderr(&o));
}

#[test]
fn unknown_and_invalid_env_names_exit_non_zero() {
    let o = irisctl(&["validate", "--env", "qa"], &repo_envs());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("known envs: dev, local, prod, staging"),
        "{}",
        stderr(&o)
    );
    let o = irisctl(&["validate", "--env", "Prod"], &repo_envs());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("invalid env name `Prod`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn config_show_explains_every_value() {
    let o = irisctl(
        &["config", "show", "--env", "pr-42", "--json"],
        &repo_envs(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).expect("json");
    let get = |key: &str| {
        rows.iter()
            .find(|r| r["key"] == key)
            .unwrap_or_else(|| panic!("{key} missing"))
    };
    assert!(
        get("lambda.memory_mb")["source"]
            .as_str()
            .expect("source")
            .ends_with("ephemeral.yaml:10:14")
    );
    assert_eq!(get("lambda.max_batch")["source"], "default");
    assert_eq!(get("ttl_hours")["value"], "72");
    assert!(
        get("names.service_stack")["source"]
            .as_str()
            .expect("source")
            .starts_with("derived")
    );
    for row in &rows {
        assert!(!row["source"].as_str().expect("source").is_empty(), "{row}");
    }
    let o = irisctl(&["config", "show", "--env", "prod"], &repo_envs());
    assert!(o.status.success());
    assert!(stdout(&o).contains("protected"), "{}", stdout(&o));
}

#[test]
fn wrong_type_out_of_range_and_missing_file_exit_non_zero_with_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (text, needle) in [
        ("lambda:\n  memory_mb: lots\n", "qa.yaml:2:14"),
        (
            "lambda:\n  memory_mb: 64\n",
            "qa.yaml:2:14: `lambda.memory_mb` is 64, out of range: allowed 128..=10240",
        ),
        ("storage:\n  keep_noncurrent_versions: 0\n", "qa.yaml:2:29"),
        // Above the function's own MAX_BATCH ceiling: it would deploy, then fail every call.
        (
            "lambda:\n  max_batch: 1001\n",
            "`lambda.max_batch` is 1001, out of range: allowed 1..=1000",
        ),
        // `irisctl package` builds x86_64 only.
        ("lambda:\n  architecture: arm64\n", "qa.yaml:2:17"),
    ] {
        std::fs::write(dir.path().join("qa.yaml"), text).expect("write");
        let o = irisctl(&["validate", "--env", "qa"], dir.path());
        assert_eq!(o.status.code(), Some(1), "{text}");
        assert!(stderr(&o).contains(needle), "{text}: {}", stderr(&o));
    }
    let empty = tempfile::tempdir().expect("tempdir");
    let o = irisctl(&["config", "show", "--env", "dev"], empty.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("dev.yaml does not exist"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn all_envs_reports_every_broken_env_and_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("aa.yaml"), "lambda:\n  timeout_s: 99\n").expect("write");
    std::fs::write(dir.path().join("bb.yaml"), "regoin: us-east-1\n").expect("write");
    std::fs::write(dir.path().join("cc.yaml"), "region: eu-west-1\n").expect("write");
    std::fs::write(dir.path().join("ephemeral.yaml"), "ttl_hours: 24\n").expect("write");
    let o = irisctl(&["validate", "--all-envs"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("aa.yaml:2:14"), "{err}");
    assert!(err.contains("bb.yaml:1:1: unknown key `regoin`"), "{err}");
    assert!(stdout(&o).contains("ok: cc "), "{}", stdout(&o));
    assert!(stdout(&o).contains("ok: pr-123 "), "{}", stdout(&o));
}

#[test]
fn usage_errors_exit_1_never_the_changes_pending_code() {
    // `plan --detailed-exitcode` reserves 2 for "changes pending": a mistyped flag in a CI
    // script must not look like that.
    let o = irisctl(
        &["plan", "--env", "dev", "--detailed-exitcod"],
        &repo_envs(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--detailed-exitcod"), "{}", stderr(&o));

    let o = irisctl(&["no-such-command"], &repo_envs());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));

    let o = irisctl(&["--help"], &repo_envs());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("Usage"), "{}", stdout(&o));
}
