//! What `plan`, `deploy` and `status` print on stdout, pinned line for line as insta
//! snapshots (tests/snapshots/cli_output__*.snap), text and JSON, on the emulators: one
//! env taken from nothing to deployed, deployed again unchanged, then changed by one
//! setting. Scripts and people read these outputs, so a change to them must be a decision
//! (`cargo insta review`), not a side effect.
//!
//! Volatile values are replaced by placeholders before comparing: the env name (unique
//! per run; replaced by a placeholder of the same length so column alignment stays
//! pinned), the emulator's address, ids the emulator invents (API id, KMS key id, S3
//! version id), the API Deployment's logical id (a hash over a rendering that names the
//! env), the rendered templates' sha256 (they contain the env name), the zip's
//! sha256 (the fixture's bytes are the support module's business) and durations. The
//! progress lines on stderr are not pinned: they carry timestamps and depend on the
//! terminal.

use std::path::Path;
use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::support;

/// What the env name becomes in the snapshots: as long as every name [`fixed_width_env`]
/// makes.
const ENV_PLACEHOLDER: &str = "local-[redacted]";

/// A `local-*` env no other run uses, always 16 characters long (like
/// [`ENV_PLACEHOLDER`]) so padded columns line up the same in every run.
/// `support::unique_env` names vary in length with the process id.
fn fixed_width_env() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 24);
    let env = format!("local-o{:09x}", mixed & 0xf_ffff_ffff);
    assert_eq!(env.len(), ENV_PLACEHOLDER.len());
    env
}

fn irisctl(args: &[&str]) -> Output {
    support::irisctl(args).output()
}

/// Run irisctl, insist on the exit code, return stdout.
fn stdout_of(args: &[&str], code: i32) -> String {
    let out = irisctl(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "irisctl {args:?}\n{}",
        support::describe_output(&out)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Literal replacements, longest first (an env name inside a bucket name, ...).
#[derive(Default)]
struct Redactions {
    pairs: Vec<(String, String)>,
}

impl Redactions {
    fn add(&mut self, actual: &str, placeholder: &str) {
        assert!(!actual.is_empty(), "nothing to redact for {placeholder}");
        self.pairs.push((actual.to_owned(), placeholder.to_owned()));
        self.pairs
            .sort_by_key(|(actual, _)| std::cmp::Reverse(actual.len()));
    }

    fn apply(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (actual, placeholder) in &self.pairs {
            text = text.replace(actual, placeholder);
        }
        redact_durations(&text)
    }

    /// Pretty JSON as irisctl printed it, redacted; the template hashes of status are
    /// checked equal (deployed = rendered) before they are replaced.
    fn apply_json(&self, json: &str) -> String {
        let mut value: Value = serde_json::from_str(json).expect("JSON on stdout");
        assert_eq!(
            serde_json::to_string_pretty(&value).expect("JSON"),
            json.trim_end(),
            "irisctl prints serde_json's pretty form, so re-printing it changes nothing"
        );
        if let Some(stacks) = value["stacks"].as_array_mut() {
            for stack in stacks {
                if let Some(rendered) = stack.get("rendered_sha256").cloned() {
                    assert_eq!(stack.get("deployed_sha256"), Some(&rendered), "{stack}");
                    stack["rendered_sha256"] = "[sha256 of the rendered template]".into();
                    stack["deployed_sha256"] = "[sha256 of the rendered template]".into();
                }
            }
        }
        self.apply(&serde_json::to_string_pretty(&value).expect("JSON"))
    }
}

/// `deployed in 1.7s` -> `deployed in [duration]`.
fn redact_durations(text: &str) -> String {
    text.lines()
        .map(|line| match line.split_once(" deployed in ") {
            Some((head, tail)) if tail.ends_with('s') => format!("{head} deployed in [duration]"),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if text.ends_with('\n') { "\n" } else { "" }
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).expect("read")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn plan_deploy_and_status_print_what_the_snapshots_show() {
    let _aws = support::emulators().await;
    let env = fixed_width_env();
    let envs = support::envs_dir_with_emulator_env(&env);
    let work = tempfile::tempdir().expect("tempdir");
    let (model, package) = support::fake_artifacts(work.path(), b"model for the snapshots");
    let envs_s = envs.path().to_string_lossy().into_owned();
    let outcome = tokio::task::spawn_blocking({
        let env = env.clone();
        let envs_s = envs_s.clone();
        move || snapshot_the_lifecycle(&env, &envs_s, &model, &package)
    })
    .await;
    // Whatever happened, take the env down again (destroy is idempotent).
    let destroyed = irisctl(&["destroy", "--env", &env, "--envs-dir", &envs_s, "--yes"]);
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
    assert!(
        destroyed.status.success(),
        "cleanup: {}",
        support::describe_output(&destroyed)
    );
}

fn snapshot_the_lifecycle(env: &str, envs: &str, model: &Path, package: &Path) {
    let (model_s, package_s) = (model.to_string_lossy(), package.to_string_lossy());
    let base = ["--env", env, "--envs-dir", envs];
    let with = |command: &str, extra: &[&str]| -> Vec<String> {
        let mut args = vec![command.to_owned()];
        args.extend(base.iter().map(|s| s.to_string()));
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let run = |args: Vec<String>, code: i32| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        stdout_of(&args, code)
    };
    let artifacts = ["--model", &*model_s, "--package", &*package_s];

    let mut redact = Redactions::default();
    redact.add(env, ENV_PLACEHOLDER);
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL (emulators)");
    let authority = endpoint
        .split_once("://")
        .map_or(endpoint.as_str(), |(_, rest)| rest)
        .trim_end_matches('/');
    redact.add(authority, "[emulator]");
    if let Some((_, port)) = authority.rsplit_once(':') {
        redact.add(&format!("localhost:{port}"), "[emulator]");
    }
    // LocalStack's ECR placeholder names its default port whatever port it listens on.
    redact.add("localhost:4566", "[emulator]");
    redact.add(
        &sha256_hex(&package.join("lambda.zip")),
        "[sha256 of lambda.zip]",
    );

    // From nothing: what plan shows before the first deploy, in every format.
    let plan_args = |extra: &[&str]| {
        let mut all = vec!["--detailed-exitcode"];
        all.extend_from_slice(&artifacts);
        all.extend_from_slice(extra);
        with("plan", &all)
    };
    let plan_text = run(plan_args(&[]), 2);
    let plan_json = run(plan_args(&["--output", "json"]), 2);
    let plan_markdown = run(plan_args(&["--output", "markdown"]), 2);
    // The API Deployment's logical id carries a hash of the API's rendering, which names
    // the env.
    let planned: Value = serde_json::from_str(&plan_json).expect("plan JSON");
    let deployment = planned["stacks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|stack| stack["resources"].as_array().into_iter().flatten())
        .filter_map(|resource| resource["logical_id"].as_str())
        .find(|id| id.starts_with("ApiDeployment"))
        .expect("an ApiDeployment<hash> resource in the plan");
    redact.add(deployment, "ApiDeployment[hash]");
    insta::assert_snapshot!("plan_create_text", redact.apply(&plan_text));
    insta::assert_snapshot!("plan_create_json", redact.apply_json(&plan_json));
    insta::assert_snapshot!("plan_create_markdown", redact.apply(&plan_markdown));

    // The first deploy, as JSON; it names the ids the emulator made up.
    let mut deploy_args = artifacts.to_vec();
    deploy_args.extend(["--output", "json"]);
    let deploy_json = run(with("deploy", &deploy_args), 0);
    let report: Value = serde_json::from_str(&deploy_json).expect("deploy JSON");
    let api_url = report["api_url"].as_str().expect("api_url");
    let api_id = api_url
        .trim_start_matches("https://")
        .split('.')
        .next()
        .expect("API id");
    redact.add(api_id, "[api-id]");
    if let Some(version) = report["model_version_id"]
        .as_str()
        .filter(|v| !v.is_empty())
    {
        redact.add(version, "[s3-version-id]");
    }
    let kms = report["stacks"][0]["outputs"]["KmsKeyArn"]
        .as_str()
        .expect("KmsKeyArn");
    redact.add(kms.rsplit('/').next().expect("key id"), "[kms-key-id]");
    insta::assert_snapshot!("deploy_create_json", redact.apply_json(&deploy_json));

    // Deployed: status, plan and a second deploy have nothing to do.
    let status_text = run(with("status", &[]), 0);
    let status_json = run(with("status", &["--output", "json"]), 0);
    // The release names the env (in its settings digest) and S3 versions: redacted.
    let status: serde_json::Value = serde_json::from_str(&status_json).expect("status JSON");
    let live = &status["releases"]["live"];
    for (field, placeholder) in [
        ("manifest_version_id", "[s3-version-id]"),
        ("model_version_id", "[s3-version-id]"),
    ] {
        if let Some(v) = live[field].as_str().filter(|v| !v.is_empty()) {
            redact.add(v, placeholder);
        }
    }
    if let Some(digest) = live["release"]["config_digest"].as_str() {
        redact.add(digest, "[config digest]");
    }
    let code = sha256_hex(&package.join("lambda.zip"));
    redact.add(&code[..12], "[code sha256]");
    insta::assert_snapshot!("status_deployed_text", redact.apply(&status_text));
    insta::assert_snapshot!("status_deployed_json", redact.apply_json(&status_json));
    let plan_none = run(with("plan", &["--detailed-exitcode"]), 0);
    let plan_none_json = run(with("plan", &["--output", "json"]), 0);
    insta::assert_snapshot!("plan_no_changes_text", redact.apply(&plan_none));
    insta::assert_snapshot!("plan_no_changes_json", redact.apply_json(&plan_none_json));
    let deploy_again = run(with("deploy", &artifacts), 0);
    insta::assert_snapshot!("deploy_no_changes_text", redact.apply(&deploy_again));

    // One setting changed: exactly that change planned, then applied.
    let file = Path::new(envs).join(format!("{env}.yaml"));
    let yaml = std::fs::read_to_string(&file).expect("env file");
    assert!(yaml.contains("memory_mb: 256"), "{yaml}");
    std::fs::write(&file, yaml.replace("memory_mb: 256", "memory_mb: 512")).expect("write");
    let plan_update = run(with("plan", &["--detailed-exitcode"]), 2);
    let plan_update_json = run(with("plan", &["--output", "json"]), 0);
    let plan_update_markdown = run(with("plan", &["--output", "markdown"]), 0);
    insta::assert_snapshot!("plan_update_text", redact.apply(&plan_update));
    insta::assert_snapshot!("plan_update_json", redact.apply_json(&plan_update_json));
    insta::assert_snapshot!("plan_update_markdown", redact.apply(&plan_update_markdown));
    let deploy_update = run(with("deploy", &[]), 0);
    insta::assert_snapshot!("deploy_update_text", redact.apply(&deploy_update));
    let deploy_update_json = run(with("deploy", &["--output", "json"]), 0);
    insta::assert_snapshot!(
        "deploy_unchanged_after_update_json",
        redact.apply_json(&deploy_update_json)
    );
    let status_updated = run(with("status", &[]), 0);
    insta::assert_snapshot!("status_updated_text", redact.apply(&status_updated));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn gc_dry_run_prints_one_json_report_and_changes_nothing() {
    let _aws = support::emulators().await;
    let out = irisctl(&["gc", "--dry-run", "--output", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        support::describe_output(&out)
    );
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", support::describe_output(&out)));
    assert_eq!(report["dry_run"], true, "{report}");
    // Other runs may have ephemeral envs due on the shared emulators: only the shape is
    // this test's business.
    for due in report["due"].as_array().expect("due") {
        assert!(due["env"].is_string() && due["reason"].is_string(), "{due}");
        assert!(due["stacks"].is_array(), "{due}");
    }
    assert_eq!(report["destroyed"], serde_json::json!([]), "{report}");
    assert_eq!(report["failed"], serde_json::json!([]), "{report}");
}
