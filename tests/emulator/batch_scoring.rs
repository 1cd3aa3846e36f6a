//! Batch scoring end to end on the emulator: the real model and package deployed to a
//! fresh `local-<unique>` env, a 10,000-row CSV put under `batch/in/` by `irisctl batch
//! submit --wait` reaches the function through S3 → EventBridge → Lambda (an
//! asynchronous invocation), and `irisctl batch get` returns one line per row that
//! matches, row by row, the model crate's prediction on the same artifact (and
//! `iris-model predict` on a sample). Then a corrupt file: the invocation fails, Lambda
//! retries it twice (three error reports, one object version per attempt), and the event
//! lands in the dead-letter queue with the documented attributes, which `irisctl dlq
//! list` shows. After the file is replaced, `irisctl dlq redrive --all` succeeds and
//! empties the queue.

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use iris_model::{Artifact, Features};
use serde_json::Value;

use crate::function_runs::{assert_ok, cleanup, iris_model, irisctl, parse, run};
use crate::support;

const ROWS: usize = 10_000;

/// `ROWS` flowers spread over (and a little beyond) the Iris ranges, deterministic.
fn flowers_csv() -> String {
    let mut rng = fastrand::Rng::with_seed(12);
    let mut out = String::from("sepal_length,sepal_width,petal_length,petal_width\n");
    for _ in 0..ROWS {
        let v = [
            4.0 + rng.f64() * 4.5,
            1.8 + rng.f64() * 2.8,
            0.8 + rng.f64() * 6.5,
            0.1 + rng.f64() * 2.6,
        ];
        out.push_str(&format!(
            "{:.2},{:.2},{:.2},{:.2}\n",
            v[0], v[1], v[2], v[3]
        ));
    }
    out
}

fn stdout_json(what: &str, out: &std::process::Output) -> Value {
    parse(what, &String::from_utf8_lossy(&out.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn a_batch_is_scored_row_by_row_and_a_corrupt_file_reaches_the_dlq_and_redrives() {
    let aws = support::emulators().await;
    let env = support::unique_env("batch");
    let envs = support::envs_dir_with_emulator_env(&env);
    let work = tempfile::tempdir().expect("tempdir");
    let envs_s = envs.path().to_string_lossy().into_owned();
    let body = {
        let env = env.clone();
        let work = work.path().to_owned();
        async move { exercise(&env, &envs_s, &work).await }
    };
    let outcome = tokio::spawn(body).await;
    cleanup(&aws, &env).await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

async fn exercise(env: &str, envs: &str, work: &Path) {
    let aws = support::emulators().await;
    let model_dir = work.join("model");
    let package_dir = work.join("package");
    let (model_s, package_s) = (
        model_dir.to_string_lossy().into_owned(),
        package_dir.to_string_lossy().into_owned(),
    );
    let iris_model = iris_model();
    assert_ok(
        "iris-model train",
        &run(&iris_model, &["train", "--out", &model_s]),
    );
    assert_ok(
        "irisctl package",
        &irisctl(&["package", "--out", &package_s]),
    );
    let deployed = irisctl(&[
        "deploy",
        "--env",
        env,
        "--envs-dir",
        envs,
        "--model",
        &model_s,
        "--package",
        &package_s,
    ]);
    assert_ok("irisctl deploy", &deployed);
    let artifact = Artifact::load(&model_dir).expect("the trained artifact loads");
    let target = ["--env", env, "--envs-dir", envs];

    // 10,000 rows through S3 -> EventBridge -> Lambda.
    let csv = work.join("flowers.csv");
    std::fs::write(&csv, flowers_csv()).expect("write csv");
    let csv_s = csv.to_string_lossy().into_owned();
    let started = Instant::now();
    let mut args = vec!["batch", "submit"];
    args.extend(target);
    args.extend([
        csv_s.as_str(),
        "--wait",
        "--wait-timeout",
        "3m",
        "--output",
        "json",
    ]);
    let submitted = irisctl(&args);
    assert_ok("irisctl batch submit --wait", &submitted);
    let elapsed = started.elapsed().as_secs_f64();
    let report = stdout_json("batch submit --output json", &submitted);
    let summary = &report["summary"];
    assert_eq!(summary["rows"], ROWS, "{report}");
    assert_eq!(summary["ok"], ROWS, "{report}");
    assert_eq!(summary["bad"], 0, "{report}");
    assert_eq!(summary["model_sha256"], artifact.model.sha256(), "{report}");
    eprintln!(
        "batch of {ROWS} rows through the emulated path: {elapsed:.2} s submit-to-summary ({:.0} rows/s), {:.1} ms in the function",
        ROWS as f64 / elapsed,
        summary["duration_ms"].as_f64().unwrap_or(0.0)
    );

    let mut args = vec!["batch", "get"];
    args.extend(target);
    args.push("flowers.csv");
    let got = irisctl(&args);
    assert_ok("irisctl batch get", &got);
    let text = String::from_utf8_lossy(&got.stdout);
    let lines: Vec<Value> = text.lines().map(|l| parse("an output line", l)).collect();
    assert_eq!(lines.len(), ROWS);
    let input = flowers_csv();
    for (i, (line, row)) in lines.iter().zip(input.lines().skip(1)).enumerate() {
        let values: Vec<f64> = row
            .split(',')
            .map(|v| v.parse().expect("a number"))
            .collect();
        let features = Features::new([values[0], values[1], values[2], values[3]]).expect("valid");
        let expected = artifact.model.predict(&features);
        assert_eq!(line["row"], i + 1, "{line}");
        assert_eq!(
            line["species"],
            expected.species.as_str(),
            "row {}: {line}",
            i + 1
        );
        assert_eq!(line["is_iris"], expected.is_iris, "row {}: {line}", i + 1);
        assert_eq!(line["model_sha256"], artifact.model.sha256(), "{line}");
        for (class, p) in &expected.probabilities {
            assert_eq!(
                line["probabilities"][class].as_f64(),
                Some(*p),
                "row {}: {line}",
                i + 1
            );
        }
        // The CLI on a sample of rows: the same species.
        if i % 2000 == 0 {
            let mut predict = vec!["predict", "--json", "--model", model_s.as_str()];
            let raw: Vec<&str> = row.split(',').collect();
            predict.extend(raw);
            let cli = run(&iris_model, &predict);
            assert_ok("iris-model predict", &cli);
            assert_eq!(
                stdout_json("iris-model predict", &cli)["species"],
                line["species"]
            );
        }
    }

    // A corrupt file: wrong header. The invocation fails; Lambda retries it twice.
    let broken = work.join("broken.csv");
    std::fs::write(&broken, "a,b,c,d\n1,2,3,4\n").expect("write");
    let broken_s = broken.to_string_lossy().into_owned();
    let mut args = vec!["batch", "submit"];
    args.extend(target);
    args.extend([broken_s.as_str(), "--wait", "--wait-timeout", "2m"]);
    let refused = irisctl(&args);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        support::describe_output(&refused)
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is not the CSV header"), "{stderr}");
    assert!(stderr.contains("irisctl dlq list"), "{stderr}");

    let mut list_args = vec!["dlq", "list"];
    list_args.extend(target);
    list_args.extend(["--output", "json"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let queued = loop {
        let listed = irisctl(&list_args);
        assert_ok("irisctl dlq list", &listed);
        let list = stdout_json("dlq list --output json", &listed);
        if let Some(first) = list.as_array().and_then(|l| l.first()) {
            break list
                .clone()
                .as_array()
                .map(|l| l.len())
                .map(|n| (n, first.clone()))
                .expect("list");
        }
        assert!(
            Instant::now() < deadline,
            "no message reached the dead-letter queue in 2 min"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let (count, message) = queued;
    assert_eq!(count, 1, "one failed event, one message: {message}");
    assert_eq!(message["object"]["key"], "batch/in/broken.csv", "{message}");
    assert!(message["object"]["version_id"].is_string(), "{message}");
    assert!(
        message["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("wrong_header")),
        "{message}"
    );
    assert!(message["request_id"].is_string(), "{message}");

    // Attempts counted: one error report version per attempt (first try + 2 retries).
    let bucket = crate::function_runs::storage_bucket(&aws, env).await;
    let versions = aws
        .s3
        .list_object_versions()
        .bucket(&bucket)
        .prefix("batch/out/broken.csv.error.json")
        .send()
        .await
        .expect("list versions");
    assert_eq!(versions.versions().len(), 3, "{versions:?}");

    // Redrive before the fix: still failing, kept.
    let mut redrive_args = vec!["dlq", "redrive"];
    redrive_args.extend(target);
    redrive_args.push("--all");
    let again = irisctl(&redrive_args);
    assert_eq!(
        again.status.code(),
        Some(1),
        "{}",
        support::describe_output(&again)
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("still failing"));
    let listed = irisctl(&list_args);
    assert_eq!(
        stdout_json("dlq list", &listed).as_array().map(Vec::len),
        Some(1)
    );

    // Replace the file, then redrive: succeeds and empties the queue.
    aws.s3
        .put_object()
        .bucket(&bucket)
        .key("batch/in/broken.csv")
        .body(ByteStream::from(
            flowers_csv()
                .lines()
                .take(11)
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes(),
        ))
        .send()
        .await
        .expect("replace the file");
    let redriven = irisctl(&redrive_args);
    assert_ok("irisctl dlq redrive --all", &redriven);
    assert!(String::from_utf8_lossy(&redriven.stdout).contains("redriven, removed from the queue"));
    let listed = irisctl(&list_args);
    assert_eq!(stdout_json("dlq list", &listed), Value::Array(vec![]));
    let mut args = vec!["batch", "get"];
    args.extend(target);
    args.push("broken.csv");
    let got = irisctl(&args);
    assert_ok("irisctl batch get broken.csv", &got);
    assert_eq!(String::from_utf8_lossy(&got.stdout).lines().count(), 10);
}
