//! Drives the real `iris-model` binary: the artifact, the accuracy gate, determinism,
//! corruption, and every bad input (each must fail clearly and change nothing).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

const HEADER: &str = "sepal_length,sepal_width,petal_length,petal_width,species";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iris-model"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// Train the default model into `tmp/name` and return its directory.
fn train_into(tmp: &TempDir, name: &str, extra: &[&str]) -> PathBuf {
    let dir = tmp.path().join(name);
    let mut args = vec!["train", "--out", path(&dir)];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(out.status.success(), "train failed: {}", text(&out.stderr));
    dir
}

fn manifest(dir: &Path) -> serde_json::Value {
    let raw = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest");
    serde_json::from_str(&raw).expect("manifest is JSON")
}

/// Every file in `dir` with its bytes, to prove a failed command changed nothing.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| {
            let p = e.expect("entry").path();
            let bytes = std::fs::read(&p).expect("file");
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn train_writes_an_artifact_that_passes_the_gate_and_predicts() {
    let tmp = TempDir::new().expect("tmp");
    let dir = train_into(&tmp, "m", &[]);
    for f in ["model.bin", "manifest.json", "report.html"] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let m = manifest(&dir);
    assert!(m["metrics"]["accuracy"].as_f64().expect("accuracy") >= 0.90);
    assert_eq!(m["schema_version"], 2);
    assert!(
        m.get("created").is_none(),
        "no wall-clock time in the manifest"
    );
    assert_eq!(m["golden"].as_array().map(Vec::len), Some(30));
    assert_eq!(
        m["classes"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );
    assert_eq!(m["features"][0]["unit"], "cm");
    let bytes = std::fs::read(dir.join("model.bin")).expect("model");
    assert_eq!(m["sha256"], iris_model::dataset::sha256_hex(&bytes));

    let out = run(&["predict", "--model", path(&dir), "5.1", "3.5", "1.4", "0.2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("species: setosa"), "{stdout}");
    assert!(stdout.contains("is_iris: true"), "{stdout}");

    let out = run(&[
        "predict",
        "--model",
        path(&dir),
        "--json",
        "6.3",
        "3.3",
        "6.0",
        "2.5",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["species"], "virginica");
    assert_eq!(json["is_iris"], true);
    assert!(json["probabilities"]["virginica"].as_f64().expect("p") > 0.5);

    let out = run(&["evaluate", "--model", path(&dir)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("held-out split"));
}

#[test]
fn same_seed_and_data_give_byte_identical_models() {
    let tmp = TempDir::new().expect("tmp");
    let a = train_into(&tmp, "a", &["--seed", "11"]);
    let b = train_into(&tmp, "b", &["--seed", "11"]);
    let c = train_into(&tmp, "c", &["--seed", "12"]);
    let bytes = |d: &Path| std::fs::read(d.join("model.bin")).expect("model");
    assert_eq!(bytes(&a), bytes(&b));
    assert_eq!(manifest(&a)["sha256"], manifest(&b)["sha256"]);
    assert_ne!(bytes(&a), bytes(&c));
}

#[test]
fn retraining_with_the_same_inputs_gives_byte_identical_files() {
    let tmp = TempDir::new().expect("tmp");
    let a = train_into(&tmp, "a", &["--seed", "5", "--trees", "20"]);
    let b = train_into(&tmp, "b", &["--seed", "5", "--trees", "20"]);
    for file in ["model.bin", "manifest.json", "report.html"] {
        let read = |d: &Path| std::fs::read(d.join(file)).expect("file");
        assert!(
            read(&a) == read(&b),
            "{file} differs between two identical runs"
        );
    }
}

/// One edit of a manifest, as a test applies it.
type Edit = fn(&mut serde_json::Value);

/// Rewrites one field of DIR/manifest.json, keeping everything else (the checksum too).
fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut m = manifest(dir);
    edit(&mut m);
    let text = serde_json::to_string_pretty(&m).expect("json");
    std::fs::write(dir.join("manifest.json"), text).expect("write");
}

#[test]
fn an_edited_manifest_is_refused_naming_the_file_and_how_to_rebuild() {
    let tmp = TempDir::new().expect("tmp");
    let dir = train_into(&tmp, "m", &[]);
    let manifest_path = dir.join("manifest.json");
    let edits: [(&str, Edit); 4] = [
        ("trees", |m| m["params"]["trees"] = 7.into()),
        ("accuracy", |m| m["metrics"]["accuracy"] = 1.0.into()),
        ("golden", |m| m["golden"][0]["species"] = "virginica".into()),
        ("checksum removed", |m| {
            if let Some(o) = m.as_object_mut() {
                o.remove("manifest_sha256");
            }
        }),
    ];
    let good = std::fs::read(&manifest_path).expect("manifest");
    for (what, edit) in edits {
        edit_manifest(&dir, edit);
        let edited = std::fs::read(&manifest_path).expect("manifest");
        for args in [
            vec!["evaluate", "--model", path(&dir)],
            vec!["predict", "--model", path(&dir), "5.1", "3.5", "1.4", "0.2"],
        ] {
            let out = run(&args);
            assert_eq!(out.status.code(), Some(1), "{what}");
            let stderr = text(&out.stderr);
            assert!(stderr.contains(path(&manifest_path)), "{what}: {stderr}");
            assert!(
                stderr.contains("iris-model train --out DIR"),
                "{what}: {stderr}"
            );
            assert!(
                out.stdout.is_empty(),
                "{what}: nothing from an edited manifest"
            );
        }
        assert_eq!(
            std::fs::read(&manifest_path).expect("manifest"),
            edited,
            "left as is"
        );
        std::fs::write(&manifest_path, &good).expect("restore");
    }
    // Only the layout changed (reformatted): still the same manifest.
    edit_manifest(&dir, |_| {});
    let out = run(&["evaluate", "--model", path(&dir)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("golden set: all 30 recorded answers reproduced exactly"));
}

#[test]
fn a_manifest_of_an_older_schema_is_refused_saying_to_retrain() {
    let tmp = TempDir::new().expect("tmp");
    let dir = train_into(&tmp, "m", &[]);
    let manifest_path = dir.join("manifest.json");
    // As iris-model 1 wrote it: a wall-clock time, no checksum, no golden set.
    edit_manifest(&dir, |m| {
        if let Some(o) = m.as_object_mut() {
            o.remove("manifest_sha256");
            o.remove("golden");
            o.insert("schema_version".into(), 1.into());
            o.insert("created".into(), "2026-01-01T00:00:00Z".into());
        }
    });
    let before = std::fs::read(&manifest_path).expect("manifest");
    for args in [
        vec!["evaluate", "--model", path(&dir)],
        vec!["predict", "--model", path(&dir), "5.1", "3.5", "1.4", "0.2"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert!(stderr.contains(path(&manifest_path)), "{stderr}");
        assert!(stderr.contains("schema_version 1"), "{stderr}");
        assert!(
            stderr.contains("retrain with `iris-model train --out DIR`"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "nothing from an older manifest");
    }
    assert_eq!(std::fs::read(&manifest_path).expect("manifest"), before);
}

#[test]
fn the_golden_set_is_readable_through_the_library() {
    let tmp = TempDir::new().expect("tmp");
    let dir = train_into(&tmp, "m", &[]);
    let artifact = iris_model::Artifact::load(&dir).expect("loads");
    let golden = artifact.golden();
    assert_eq!(golden.len(), 30);
    assert!(iris_model::golden::check(&artifact.model, golden).is_empty());
    let first = &golden[0];
    let answer = artifact
        .model
        .predict(&iris_model::Features::new(first.features).expect("features"));
    assert_eq!(answer.species, first.species);
}

#[test]
fn failing_the_gate_exits_3_and_writes_nothing() {
    let tmp = TempDir::new().expect("tmp");
    let fresh = tmp.path().join("fresh");
    let out = run(&[
        "train",
        "--out",
        path(&fresh),
        "--min-accuracy",
        "1.0",
        "--seed",
        "42",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("below --min-accuracy 1"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(
        text(&out.stdout).contains("confusion matrix"),
        "metrics still shown"
    );
    assert!(!fresh.exists());

    // An earlier good artifact in DIR survives a failed run untouched.
    let dir = train_into(&tmp, "kept", &[]);
    let before = snapshot(&dir);
    let out = run(&[
        "train",
        "--out",
        path(&dir),
        "--seed",
        "5",
        "--min-accuracy",
        "1.0",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(snapshot(&dir), before);
}

/// Bad `--data` files: each error names the file and line, and nothing is written.
#[test]
fn bad_data_files_fail_with_file_and_line_and_write_nothing() {
    let tmp = TempDir::new().expect("tmp");
    let good_rows = iris_model::dataset::IRIS_CSV
        .lines()
        .skip(1)
        .collect::<Vec<_>>()
        .join("\n");
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty.csv", String::new(), "empty.csv: the file is empty"),
        (
            "header-only.csv",
            format!("{HEADER}\n"),
            "header-only.csv: the file is empty",
        ),
        (
            "bad-header.csv",
            format!("a,b,c,d,species\n{good_rows}\n"),
            "bad-header.csv:1: header",
        ),
        (
            "missing-column.csv",
            format!("{HEADER}\n{good_rows}\n5.1,3.5,1.4,setosa\n"),
            "missing-column.csv:152: 4 columns; expected 5",
        ),
        (
            "extra-column.csv",
            format!("{HEADER}\n5.1,3.5,1.4,0.2,0.1,setosa\n{good_rows}\n"),
            "extra-column.csv:2: 6 columns; expected 5",
        ),
        (
            "not-a-number.csv",
            format!("{HEADER}\n{good_rows}\n5.1,three,1.4,0.2,setosa\n"),
            "not-a-number.csv:152: sepal_width = \"three\" is not a number",
        ),
        (
            "nan.csv",
            format!("{HEADER}\n5.1,3.5,NaN,0.2,setosa\n{good_rows}\n"),
            "nan.csv:2: petal_length = NaN: must be a finite number",
        ),
        (
            "negative.csv",
            format!("{HEADER}\n5.1,3.5,1.4,-0.2,setosa\n{good_rows}\n"),
            "negative.csv:2: petal_width = -0.2: must be greater than 0",
        ),
        (
            "unknown-species.csv",
            format!("{HEADER}\n{good_rows}\n5.1,3.5,1.4,0.2,Iris-setosa\n"),
            "unknown-species.csv:152: unknown species \"Iris-setosa\"",
        ),
        (
            "too-few.csv",
            format!(
                "{HEADER}\n5.1,3.5,1.4,0.2,setosa\n4.9,3.0,1.4,0.2,setosa\n4.7,3.2,1.3,0.2,setosa\n\
                     7.0,3.2,4.7,1.4,versicolor\n6.4,3.2,4.5,1.5,versicolor\n\
                     6.3,3.3,6.0,2.5,virginica\n5.8,2.7,5.1,1.9,virginica\n7.1,3.0,5.9,2.1,virginica\n"
            ),
            "class \"versicolor\" has 2 rows",
        ),
    ];
    let existing = train_into(&tmp, "existing", &[]);
    let before = snapshot(&existing);
    for (name, body, expected) in cases {
        let file = tmp.path().join(name);
        std::fs::write(&file, body).expect("write case");
        let out_dir = tmp.path().join(format!("out-{name}"));
        for dir in [&out_dir, &existing] {
            let out = run(&["train", "--out", path(dir), "--data", path(&file)]);
            assert_eq!(out.status.code(), Some(1), "{name}");
            let stderr = text(&out.stderr);
            assert!(stderr.contains(expected), "{name}: {stderr}");
            assert!(
                stderr.contains(name),
                "{name}: error must name the file: {stderr}"
            );
        }
        assert!(!out_dir.exists(), "{name}: nothing may be written");
        assert_eq!(
            snapshot(&existing),
            before,
            "{name}: existing artifact changed"
        );
    }
    let out = run(&[
        "train",
        "--out",
        path(&tmp.path().join("x")),
        "--data",
        "/no/such/file.csv",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/no/such/file.csv: cannot read"));
}

#[test]
fn user_data_in_any_row_order_trains() {
    let tmp = TempDir::new().expect("tmp");
    let mut lines: Vec<&str> = iris_model::dataset::IRIS_CSV.lines().skip(1).collect();
    lines.reverse();
    let file = tmp.path().join("reversed.csv");
    std::fs::write(&file, format!("{HEADER}\n{}\n", lines.join("\n"))).expect("write");
    let dir = train_into(&tmp, "m", &["--data", path(&file)]);
    let m = manifest(&dir);
    assert_eq!(m["dataset"]["rows"], 150);
    assert_ne!(m["dataset_sha256"], iris_model::dataset::IRIS_CSV_SHA256);

    // Evaluating on other data uses every row of it.
    let out = run(&["evaluate", "--model", path(&dir)]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("every row"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_flipped_or_truncated_model_fails_with_a_checksum_error_naming_the_file() {
    let tmp = TempDir::new().expect("tmp");
    let dir = train_into(&tmp, "m", &[]);
    let model = dir.join("model.bin");
    let good = std::fs::read(&model).expect("model");
    let mut flipped = good.clone();
    flipped[good.len() / 3] ^= 0x40;
    for bad in [flipped, good[..good.len() - 7].to_vec()] {
        std::fs::write(&model, &bad).expect("corrupt");
        for args in [
            vec!["evaluate", "--model", path(&dir)],
            vec!["predict", "--model", path(&dir), "5.1", "3.5", "1.4", "0.2"],
        ] {
            let out = run(&args);
            assert_eq!(out.status.code(), Some(1));
            let stderr = text(&out.stderr);
            assert!(stderr.contains("checksum mismatch"), "{stderr}");
            assert!(
                stderr.contains(path(&model)),
                "must name the file: {stderr}"
            );
            assert!(out.stdout.is_empty(), "no prediction from a corrupt model");
        }
    }
    assert_eq!(
        std::fs::read(&model).expect("model").len(),
        good.len() - 7,
        "left as is"
    );
}

#[test]
fn missing_or_broken_manifest_is_named() {
    let tmp = TempDir::new().expect("tmp");
    let dir = train_into(&tmp, "m", &[]);
    let manifest = dir.join("manifest.json");
    std::fs::write(&manifest, "{ not json").expect("write");
    let out = run(&["evaluate", "--model", path(&dir)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(&format!("{}: not a valid manifest", path(&manifest))));
    std::fs::remove_file(&manifest).expect("rm");
    let out = run(&["predict", "--model", path(&dir), "5.1", "3.5", "1.4", "0.2"]);
    assert!(text(&out.stderr).contains(&format!("{}: cannot read", path(&manifest))));
}

#[test]
fn predict_rejects_invalid_measurements_naming_feature_and_rule() {
    let tmp = TempDir::new().expect("tmp");
    let dir = train_into(&tmp, "m", &[]);
    let cases = [
        (
            ["NaN", "3.5", "1.4", "0.2"],
            "sepal_length = NaN: must be a finite number",
        ),
        (
            ["5.1", "inf", "1.4", "0.2"],
            "sepal_width = inf: must be a finite number",
        ),
        (
            ["5.1", "3.5", "-1.4", "0.2"],
            "petal_length = -1.4: must be greater than 0",
        ),
        (
            ["5.1", "3.5", "1.4", "0"],
            "petal_width = 0: must be greater than 0",
        ),
        (
            ["5.1", "3.5", "100.5", "0.2"],
            "petal_length = 100.5: must be at most 100",
        ),
    ];
    for (values, expected) in cases {
        let mut args = vec!["predict", "--model", path(&dir)];
        args.extend_from_slice(&values);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{values:?}");
        assert!(
            text(&out.stderr).contains(expected),
            "{}",
            text(&out.stderr)
        );
    }
    let out = run(&["predict", "--model", path(&dir), "5.1", "abc", "1.4", "0.2"]);
    assert_eq!(out.status.code(), Some(2), "not a number is a usage error");
    let out = run(&["predict", "--model", path(&dir), "5.1", "3.5", "1.4"]);
    assert_eq!(out.status.code(), Some(2), "three values is a usage error");

    // Valid input but far outside anything seen in training: not an Iris.
    let out = run(&[
        "predict",
        "--model",
        path(&dir),
        "--json",
        "60",
        "30",
        "40",
        "20",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["is_iris"], false);
}

#[test]
fn export_split_writes_the_rows_train_uses() {
    let tmp = TempDir::new().expect("tmp");
    let out_dir = tmp.path().join("split");
    let out = run(&["export-split", "--out", path(&out_dir), "--seed", "42"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let train = std::fs::read_to_string(out_dir.join("train.csv")).expect("train");
    let test = std::fs::read_to_string(out_dir.join("test.csv")).expect("test");
    assert_eq!((train.lines().count(), test.lines().count()), (121, 31));
    assert!(train.starts_with(HEADER) && test.starts_with(HEADER));

    // test.csv holds exactly the rows `train` held out with the same seed: evaluating
    // the model on that file reproduces the accuracy in its manifest.
    let dir = train_into(&tmp, "m", &["--seed", "42"]);
    let out = run(&[
        "evaluate",
        "--model",
        path(&dir),
        "--data",
        path(&out_dir.join("test.csv")),
    ]);
    let accuracy = format!(
        "accuracy: {:.4}",
        manifest(&dir)["metrics"]["accuracy"].as_f64().expect("acc")
    );
    assert!(
        text(&out.stdout).contains(&accuracy),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn evaluate_can_gate_too_and_nonsense_options_are_refused() {
    let tmp = TempDir::new().expect("tmp");
    let dir = train_into(&tmp, "m", &[]);
    let out = run(&["evaluate", "--model", path(&dir), "--min-accuracy", "0.99"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("below --min-accuracy 0.99"));
    assert!(
        run(&["evaluate", "--model", path(&dir), "--min-accuracy", "0.9"])
            .status
            .success()
    );

    let nowhere = tmp.path().join("never");
    for (args, expected) in [
        (
            vec!["--test-fraction", "1.5"],
            "--test-fraction 1.5 must be greater than 0 and less than 1",
        ),
        (
            vec!["--min-accuracy", "2"],
            "--min-accuracy 2 must be between 0 and 1",
        ),
    ] {
        let mut all = vec!["train", "--out", path(&nowhere)];
        all.extend_from_slice(&args);
        let out = run(&all);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains(expected),
            "{}",
            text(&out.stderr)
        );
    }
    for args in [["--trees", "0"], ["--max-depth", "0"]] {
        let out = run(&["train", "--out", path(&nowhere), args[0], args[1]]);
        assert_eq!(out.status.code(), Some(2), "clap rejects {args:?}");
    }
    assert!(!nowhere.exists());
}
