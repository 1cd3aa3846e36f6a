//! The artifact is a function of its inputs, end to end: deploy a trained model, train
//! again with the same data, seed and parameters into another directory, and `plan
//! --detailed-exitcode` with the retrained artifact finds nothing to change (exit 0).

use std::path::Path;

use iris_model::Artifact;
use iris_model::train::{TrainOptions, train};

use crate::deploy::with_env;
use crate::support;

/// Train a small model into `dir` exactly as `iris-model train` does.
fn train_into(dir: &Path) {
    let data = iris_model::Dataset::builtin().expect("built-in data set");
    let options = TrainOptions {
        trees: 10,
        ..TrainOptions::default()
    };
    let t = train(&data, &options).expect("training");
    Artifact::write(dir, &t.manifest, &t.bytes, "<html></html>").expect("write artifact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn a_retrained_artifact_with_the_same_inputs_is_no_change() {
    with_env(|env, envs, work| async move {
        let envs_s = envs.to_string_lossy().into_owned();
        let (_, package) = support::fake_artifacts(&work, b"unused");
        let package_s = package.to_string_lossy().into_owned();
        let first = work.join("first");
        let second = work.join("second");
        train_into(&first);
        let first_s = first.to_string_lossy().into_owned();
        let out = support::irisctl(&[
            "deploy",
            "--env",
            &env,
            "--envs-dir",
            &envs_s,
            "--model",
            &first_s,
            "--package",
            &package_s,
        ])
        .output();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            support::describe_output(&out)
        );

        train_into(&second);
        for file in ["model.bin", "manifest.json"] {
            assert_eq!(
                std::fs::read(first.join(file)).expect("first"),
                std::fs::read(second.join(file)).expect("second"),
                "{file}"
            );
        }
        let second_s = second.to_string_lossy().into_owned();
        let out = support::irisctl(&[
            "plan",
            "--detailed-exitcode",
            "--env",
            &env,
            "--envs-dir",
            &envs_s,
            "--model",
            &second_s,
            "--package",
            &package_s,
        ])
        .output();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            support::describe_output(&out)
        );
    })
    .await;
}
