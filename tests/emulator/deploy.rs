//! End to end on the emulators: `irisctl deploy` of a fresh emulator env from nothing,
//! again (no changes), after a setting changed (exactly that change planned and applied),
//! plan exit codes, and lock contention with a second process. Each test uses its own
//! `local-<unique>` env in a temporary envs dir and deletes its stacks (emptying the
//! buckets first) even when it fails.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use irisctl::aws::s3::Bucket;
use irisctl::stack::lock::{self, LockRecord};
use serde_json::Value;

use crate::support;

/// irisctl with the caller's environment: the emulators' endpoints.
fn irisctl(args: &[&str]) -> Output {
    support::irisctl(args).output()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", support::describe_output(out)))
}

/// Delete the env's stacks in reverse order, emptying its buckets first.
pub(crate) async fn cleanup(aws: &support::Aws, env: &str) {
    for kind in ["service", "auth", "storage"] {
        let name = format!("iris-{env}-{kind}");
        if let Ok(out) = aws.cfn.describe_stacks().stack_name(&name).send().await {
            for o in out.stacks().iter().flat_map(|s| s.outputs()) {
                if matches!(o.output_key(), Some("ModelBucketName" | "LogBucketName"))
                    && let Some(bucket) = o.output_value()
                    && let Err(err) = support::empty_and_delete_bucket(&aws.s3, bucket).await
                {
                    eprintln!("cleanup: {err}");
                }
            }
        }
        if let Err(err) = support::delete_stack(&aws.cfn, &name).await {
            eprintln!("cleanup: {err}");
        }
    }
}

/// Run `body` with a fresh env, then clean up whatever happened.
pub(crate) async fn with_env<F, Fut>(body: F)
where
    F: FnOnce(String, PathBuf, PathBuf) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let aws = support::emulators().await;
    let env = support::unique_env("rc");
    let envs = support::envs_dir_with_emulator_env(&env);
    let work = tempfile::tempdir().expect("tempdir");
    let future = body(env.clone(), envs.path().to_owned(), work.path().to_owned());
    let outcome = tokio::spawn(future).await;
    cleanup(&aws, &env).await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn deploy_from_nothing_then_no_changes_then_exactly_the_changed_setting() {
    with_env(|env, envs, work| async move {
        let envs_s = envs.to_string_lossy().into_owned();
        let (model, package) = support::fake_artifacts(&work, b"model version one");
        let (model_s, package_s) = (
            model.to_string_lossy().into_owned(),
            package.to_string_lossy().into_owned(),
        );
        let base = ["--env", env.as_str(), "--envs-dir", envs_s.as_str()];
        let deploy = |extra: &[&str]| {
            let mut args = vec!["deploy"];
            args.extend_from_slice(&base);
            args.extend_from_slice(extra);
            irisctl(&args)
        };
        let plan = |extra: &[&str]| {
            let mut args = vec!["plan", "--detailed-exitcode"];
            args.extend_from_slice(&base);
            args.extend_from_slice(extra);
            irisctl(&args)
        };

        // From nothing.
        let out = deploy(&[
            "--model",
            &model_s,
            "--package",
            &package_s,
            "--output",
            "json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            support::describe_output(&out)
        );
        let report = json(&out);
        assert_eq!(report["outcome"], "succeeded");
        let stacks = report["stacks"].as_array().expect("stacks");
        assert_eq!(stacks.len(), 3);
        for (stack, kind) in stacks.iter().zip(["storage", "auth", "service"]) {
            assert_eq!(stack["stack"], format!("iris-{env}-{kind}"));
            assert_eq!(stack["result"], "created");
            assert_eq!(stack["status"], "CREATE_COMPLETE");
        }
        let api_url = report["api_url"].as_str().expect("api_url");
        assert!(api_url.starts_with("https://") && api_url.contains(".execute-api."));
        assert!(!api_url.ends_with('/'), "{api_url}");
        assert_eq!(
            report["uploads"]["uploaded"].as_array().map(Vec::len),
            Some(3)
        );

        // Nothing to do: plan exit 0, deploy says no changes and uploads nothing.
        let out = plan(&[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            support::describe_output(&out)
        );
        let out = deploy(&[
            "--model",
            &model_s,
            "--package",
            &package_s,
            "--output",
            "json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            support::describe_output(&out)
        );
        let report = json(&out);
        for stack in report["stacks"].as_array().expect("stacks") {
            assert_eq!(stack["result"], "no_changes", "{report}");
        }
        assert_eq!(
            report["uploads"]["skipped"].as_array().map(Vec::len),
            Some(3)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("no changes"));

        // One setting changes: exactly that change is planned (exit 2) and applied.
        let file = envs.join(format!("{env}.yaml"));
        let yaml = std::fs::read_to_string(&file).expect("env file");
        assert!(yaml.contains("memory_mb: 256"));
        std::fs::write(&file, yaml.replace("memory_mb: 256", "memory_mb: 384")).expect("write");
        let out = plan(&["--output", "json"]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            support::describe_output(&out)
        );
        let planned = json(&out);
        let actions: Vec<&str> = planned["stacks"]
            .as_array()
            .expect("stacks")
            .iter()
            .map(|s| s["action"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(actions, ["no_changes", "no_changes", "update"], "{planned}");
        // The setting, and the release version it republishes (a version snapshots the
        // function's settings): nothing else.
        let changes = planned["stacks"][2]["changes"].as_array().expect("changes");
        assert_eq!(changes.len(), 2, "{planned}");
        assert_eq!(changes[0]["logical_id"], "Function");
        assert_eq!(changes[0]["action"], "Modify");
        assert_eq!(changes[1]["logical_id"], "ReleaseVersion", "{planned}");
        assert_eq!(changes[1]["replacement"], "True", "{planned}");

        let out = deploy(&["--output", "json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            support::describe_output(&out)
        );
        let report = json(&out);
        assert_eq!(report["stacks"][2]["result"], "updated");
        assert_eq!(report["stacks"][2]["status"], "UPDATE_COMPLETE");
        let applied = report["stacks"][2]["changes"].as_array().expect("changes");
        assert_eq!(applied.len(), 2, "{report}");
        assert_eq!(applied[0]["logical_id"], "Function");
        assert_eq!(applied[1]["logical_id"], "ReleaseVersion");
        let sdk = irisctl::aws::sdk_config().await;
        let deployed = irisctl::aws::cloudformation(&sdk)
            .get_template()
            .stack_name(format!("iris-{env}-service"))
            .send()
            .await
            .expect("deployed template");
        assert!(
            deployed
                .template_body()
                .unwrap_or_default()
                .contains("MemorySize: 384"),
            "the deployed template has the new memory size"
        );
        let out = plan(&[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            support::describe_output(&out)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn a_held_lock_stops_a_second_process_and_an_expired_one_is_taken_over() {
    with_env(|env, envs, work| async move {
        let envs_s = envs.to_string_lossy().into_owned();
        let (model, package) = support::fake_artifacts(&work, b"model for the lock test");
        let out = irisctl(&[
            "deploy",
            "--env",
            &env,
            "--envs-dir",
            &envs_s,
            "--model",
            &model.to_string_lossy(),
            "--package",
            &package.to_string_lossy(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            support::describe_output(&out)
        );

        let sdk = irisctl::aws::sdk_config().await;
        let bucket = Bucket::new(
            irisctl::aws::s3(&sdk),
            format!("iris-{env}-models-000000000000-us-east-1"),
        );
        // This test process holds the lock; a second process must give up with exit 4.
        let record = LockRecord::for_this_process("lock-test", Duration::from_secs(600));
        let say = |_: &str| {};
        let held = lock::acquire(&bucket, &env, record, Duration::ZERO, &say)
            .await
            .expect("the test takes the lock");
        let out = irisctl(&[
            "deploy",
            "--env",
            &env,
            "--envs-dir",
            &envs_s,
            "--lock-timeout",
            "1s",
        ]);
        assert_eq!(
            out.status.code(),
            Some(4),
            "{}",
            support::describe_output(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("is locked by lock-test@"), "{stderr}");
        assert!(
            stderr.contains(&format!("irisctl unlock --env {env}")),
            "{stderr}"
        );
        held.release().await.expect("release");

        // An expired lock (a run that died) is taken over with a message.
        let mut stale = LockRecord::for_this_process("dead-run", Duration::from_secs(1));
        stale.expires_ms = stale.acquired_ms - 1;
        bucket
            .put_if_absent(
                &lock::lock_key(&env),
                serde_json::to_vec(&stale).expect("json"),
            )
            .await
            .expect("plant a stale lock");
        let out = irisctl(&["deploy", "--env", &env, "--envs-dir", &envs_s]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            support::describe_output(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("taking over the expired lock"), "{stderr}");
        assert!(stderr.contains("dead-run@"), "{stderr}");
        // And the run released it at exit.
        assert!(
            bucket
                .get(&lock::lock_key(&env))
                .await
                .expect("get")
                .is_none(),
            "lock left behind"
        );

        // A run whose lock expired and was taken over must not remove the new holder's
        // lock when it finally releases; the holder's release leaves no version behind.
        let mut slow = LockRecord::for_this_process("slow-run", Duration::from_secs(600));
        slow.expires_ms = slow.acquired_ms - 1;
        let slow = lock::acquire(&bucket, &env, slow, Duration::ZERO, &say)
            .await
            .expect("the slow run takes the lock");
        let taker = LockRecord::for_this_process("taker", Duration::from_secs(600));
        let taker = lock::acquire(&bucket, &env, taker, Duration::ZERO, &say)
            .await
            .expect("the expired lock is taken over");
        slow.release().await.expect("the slow run's release");
        let now = bucket
            .get(&lock::lock_key(&env))
            .await
            .expect("get")
            .expect("the new holder's lock survives the old holder's release");
        let holder: LockRecord = serde_json::from_slice(&now.body).expect("lock json");
        assert_eq!(holder.owner, "taker");
        taker.release().await.expect("release");
        let versions = irisctl::aws::s3(&sdk)
            .list_object_versions()
            .bucket(bucket.name())
            .prefix(lock::lock_key(&env))
            .send()
            .await
            .expect("list versions");
        assert!(
            versions.versions().is_empty(),
            "lock versions left: {:?}",
            versions.versions()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn ctrl_c_during_a_deploy_releases_the_lock() {
    use std::io::BufRead;
    with_env(|env, envs, work| async move {
        let (model, package) = support::fake_artifacts(&work, b"model for the interrupt test");
        let mut child = support::irisctl(&[
            "deploy",
            "--env",
            &env,
            "--envs-dir",
            &envs.to_string_lossy(),
            "--model",
            &model.to_string_lossy(),
            "--package",
            &package.to_string_lossy(),
        ])
        .command()
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn irisctl");
        let stderr = child.stderr.take().expect("stderr");
        let marker = format!("iris-{env}-auth: creating");
        // The lock is taken right after the storage stack exists; interrupt during auth.
        // The reader keeps draining stderr afterwards (a closed pipe would kill irisctl).
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut seen = String::new();
            for line in std::io::BufReader::new(stderr).lines() {
                let line = line.unwrap_or_default();
                if line.contains(&marker) {
                    let _ = tx.send(());
                }
                seen.push_str(&line);
                seen.push('\n');
            }
            seen
        });
        let reached =
            tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(120)))
                .await
                .expect("waiter");
        if reached.is_err() {
            let _ = child.kill();
            panic!(
                "deploy never reached the auth stack:\n{}",
                reader.join().unwrap_or_default()
            );
        }
        let killed = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let status = child.wait().expect("wait");
        let seen = reader.join().unwrap_or_default();
        assert_eq!(
            status.code(),
            Some(1),
            "an interrupted deploy is an error:\n{seen}"
        );
        assert!(seen.contains("interrupted"), "{seen}");

        let sdk = irisctl::aws::sdk_config().await;
        let bucket = Bucket::new(
            irisctl::aws::s3(&sdk),
            format!("iris-{env}-models-000000000000-us-east-1"),
        );
        assert!(
            bucket
                .get(&lock::lock_key(&env))
                .await
                .expect("get")
                .is_none(),
            "the interrupted run left its lock behind"
        );
    })
    .await;
}
