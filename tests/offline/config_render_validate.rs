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
        stderr(&o).contains("known envs: dev, dev-sagemaker, local, prod, staging"),
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
        &["config", "show", "--env", "pr-42", "--output", "json"],
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
            .ends_with("ephemeral.yaml:15:14")
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

#[test]
fn config_show_json_is_the_hidden_old_spelling_of_output_json() {
    let new = irisctl(
        &["config", "show", "--env", "dev", "--output", "json"],
        &repo_envs(),
    );
    let old = irisctl(&["config", "show", "--env", "dev", "--json"], &repo_envs());
    assert!(new.status.success(), "{}", stderr(&new));
    assert!(old.status.success(), "{}", stderr(&old));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&new.stdout).expect("json");
    assert!(rows.iter().any(|r| r["key"] == "region"), "{rows:?}");
    assert_eq!(
        new.stdout, old.stdout,
        "--json prints what --output json prints"
    );
    let help = irisctl(&["config", "show", "--help"], &repo_envs());
    assert!(!stdout(&help).contains("--json"), "{}", stdout(&help));
    let both = irisctl(
        &[
            "config", "show", "--env", "dev", "--json", "--output", "text",
        ],
        &repo_envs(),
    );
    assert_eq!(both.status.code(), Some(1), "{}", stderr(&both));
}

/// The subcommands `irisctl --help` lists (without `help`), so the tests below cover a
/// command as soon as it exists.
fn subcommands() -> Vec<String> {
    let o = irisctl(&["--help"], &repo_envs());
    let help = stdout(&o);
    let listed: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // Wrapped descriptions are indented further than the names.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    for expected in ["deploy", "plan", "status", "completions", "man", "version"] {
        assert!(listed.iter().any(|n| n == expected), "{expected}: {help}");
    }
    listed
}

#[test]
fn every_command_help_has_an_examples_section_with_real_command_lines() {
    let mut commands: Vec<Vec<String>> = subcommands().into_iter().map(|c| vec![c]).collect();
    commands.push(vec!["config".into(), "show".into()]);
    commands.push(vec!["local".into(), "serve".into()]);
    commands.push(vec!["pipeline".into(), "render".into()]);
    commands.push(vec!["pipeline".into(), "deploy".into()]);
    for command in &commands {
        for flag in ["-h", "--help"] {
            let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
            args.push(flag);
            let o = irisctl(&args, &repo_envs());
            assert!(o.status.success(), "{args:?}: {}", stderr(&o));
            let help = stdout(&o);
            let examples: Vec<&str> = help
                .lines()
                .skip_while(|l| *l != "Examples:")
                .skip(1)
                .take_while(|l| !l.trim().is_empty())
                .collect();
            let prefix = format!("  irisctl {}", command.join(" "));
            assert!(
                (1..=3).contains(&examples.len())
                    && examples.iter().all(|l| l.starts_with(&prefix)),
                "{args:?}: 1-3 example lines starting with `{prefix}`:\n{help}"
            );
        }
    }
}

#[test]
fn version_reports_the_commit_profile_and_target() {
    let o = irisctl(&["version", "--output", "json"], &repo_envs());
    assert!(o.status.success(), "{}", stderr(&o));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    let commit = info["commit"].as_str().expect("commit");
    // Tests run from a git checkout: a short sha, maybe marked dirty.
    let sha = commit.strip_suffix("+dirty").unwrap_or(commit);
    assert!(
        sha.len() >= 7 && sha.chars().all(|c| c.is_ascii_hexdigit()),
        "{commit}"
    );
    let profile = info["profile"].as_str().expect("profile");
    assert!(!profile.is_empty() && profile != "unknown", "{profile}");
    assert!(
        info["target"].as_str().is_some_and(|t| t.contains('-')),
        "{info}"
    );

    let text = stdout(&irisctl(&["version"], &repo_envs()));
    assert!(
        text.starts_with(&format!("irisctl {}\n", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains(&format!("commit:  {commit}\n")), "{text}");
    assert!(text.contains(&format!("profile: {profile}\n")), "{text}");
    let short = stdout(&irisctl(&["--version"], &repo_envs()));
    assert!(short.contains(commit) && short.contains(profile), "{short}");
}

#[test]
fn read_only_commands_reject_the_timeouts_that_mean_nothing_for_them() {
    for command in ["status", "outputs", "unlock"] {
        for flag in ["--timeout", "--lock-timeout"] {
            let o = irisctl(&[command, "--env", "dev", flag, "5m"], &repo_envs());
            assert_eq!(o.status.code(), Some(1), "{command} {flag}: {}", stderr(&o));
            assert!(
                stderr(&o).contains(&format!("unexpected argument '{flag}'")),
                "{command} {flag}: {}",
                stderr(&o)
            );
        }
    }
    for command in ["deploy", "plan", "recover", "destroy", "gc"] {
        let help = stdout(&irisctl(&[command, "--help"], &repo_envs()));
        assert!(
            help.contains("--timeout <DURATION>") && help.contains("--lock-timeout <DURATION>"),
            "{command}: {help}"
        );
    }
}

#[test]
fn env_always_names_the_env_and_local_serve_sets_function_variables_with_function_env() {
    let o = irisctl(
        &["local", "serve", "--bootstrap", "/bin/true", "--env", "A=1"],
        &repo_envs(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("env `A=1` is not valid"),
        "--env names the env whose contract local serve enforces: {}",
        stderr(&o)
    );
    let help = stdout(&irisctl(&["local", "serve", "--help"], &repo_envs()));
    assert!(help.contains("--function-env <KEY=VALUE>"), "{help}");
    let o = irisctl(
        &[
            "local",
            "serve",
            "--bootstrap",
            "/bin/true",
            "--function-env",
            "novalue",
        ],
        &repo_envs(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("expected KEY=VALUE"), "{}", stderr(&o));
}

#[test]
fn bash_completion_names_every_subcommand() {
    let o = irisctl(&["completions", "bash"], &repo_envs());
    assert!(o.status.success(), "{}", stderr(&o));
    let script = stdout(&o);
    assert!(script.contains("complete -F _irisctl"), "{script}");
    for command in subcommands() {
        // The arm that completes the subcommand's own options.
        assert!(
            script.contains(&format!("irisctl,{command})")),
            "{command} missing"
        );
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let o = irisctl(&["completions", shell], &repo_envs());
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        assert!(stdout(&o).contains("deploy"), "{shell}");
    }
    let o = irisctl(&["completions", "tcsh"], &repo_envs());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn man_page_renders_and_names_every_subcommand() {
    let o = irisctl(&["man"], &repo_envs());
    assert!(o.status.success(), "{}", stderr(&o));
    let page = stdout(&o);
    assert!(page.contains(".TH irisctl 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for command in subcommands() {
        assert!(
            page.contains(&format!("irisctl\\-{command}(1)")),
            "{command} missing from the page"
        );
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("man1");
    let o = irisctl(&["man", "--out", out.to_str().expect("utf8")], &repo_envs());
    assert!(o.status.success(), "{}", stderr(&o));
    let listed = stdout(&o);
    let mut expected: Vec<String> = subcommands()
        .iter()
        .map(|c| format!("irisctl-{c}.1"))
        .collect();
    expected.extend([
        "irisctl.1".into(),
        "irisctl-config-show.1".into(),
        "irisctl-local-serve.1".into(),
    ]);
    for name in &expected {
        let path = out.join(name);
        assert!(
            listed.contains(&path.display().to_string()),
            "{name}: {listed}"
        );
        let roff = std::fs::read_to_string(&path).expect("page");
        assert!(
            roff.starts_with(".ie") && roff.contains(".SH NAME"),
            "{name}: {roff}"
        );
    }
    let deploy = std::fs::read_to_string(out.join("irisctl-deploy.1")).expect("page");
    assert!(
        deploy.contains("lock\\-timeout") && deploy.contains("EXTRA"),
        "{deploy}"
    );
}

#[test]
fn render_and_validate_print_json_with_output_json() {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("t");
    let o = irisctl(
        &[
            "render",
            "--env",
            "dev",
            "--out",
            dir.to_str().expect("utf8"),
            "--output",
            "json",
        ],
        &repo_envs(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(report["env"], "dev");
    let files = report["files"].as_array().expect("files");
    assert_eq!(files.len(), 3, "{report}");
    for file in files {
        assert!(Path::new(file.as_str().expect("path")).is_file(), "{file}");
    }

    let o = irisctl(
        &["validate", "--all-envs", "--output", "json"],
        &repo_envs(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let envs: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).expect("json");
    for env in [
        "dev",
        "staging",
        "prod",
        "local",
        "pr-123",
        "feature-sample",
    ] {
        let row = envs
            .iter()
            .find(|r| r["env"] == env)
            .unwrap_or_else(|| panic!("{env} missing: {envs:?}"));
        assert_eq!(row["ok"], true, "{row}");
        assert_eq!(row["stacks"].as_array().map(Vec::len), Some(3), "{row}");
    }

    let broken = tempfile::tempdir().expect("tempdir");
    std::fs::write(broken.path().join("qa.yaml"), "auth:\n  mode: none\n").expect("write");
    let o = irisctl(
        &["validate", "--env", "qa", "--output", "json"],
        broken.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let envs: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(envs[0]["ok"], false, "{envs:?}");
    assert!(!envs[0]["problems"].as_array().expect("problems").is_empty());
}
