//! Timings for bench/compare_sklearn.sh, printed as one JSON object: training on a
//! train.csv, single-flower latency, batch throughput and artifact load time, measured
//! the same way the script measures scikit-learn (median of repeated runs, one thread).
//!
//! `cargo run --release -p iris-model --example speed -- MODEL_DIR TRAIN_CSV ROWS`

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use iris_model::artifact::Artifact;
use iris_model::dataset::Dataset;
use iris_model::features::Features;
use iris_model::forest::{Forest, ForestParams, TrainingSet, default_max_features};

/// CPU time of this thread so far (Linux `/proc/thread-self/schedstat`, ns). The machine
/// this runs on is shared, so wall time overstates our cost; the script reports both.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e9)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model_dir, train_csv, rows] = args.as_slice() else {
        anyhow::bail!("usage: speed MODEL_DIR TRAIN_CSV ROWS");
    };
    let rows: usize = rows.parse().context("ROWS must be a number")?;
    let artifact = Artifact::load(&PathBuf::from(model_dir))?;
    let model = &artifact.model;
    let train = Dataset::from_file(&PathBuf::from(train_csv))?;

    let params = ForestParams {
        trees: artifact.manifest.params.trees,
        max_depth: artifact.manifest.params.max_depth,
        max_features: default_max_features(4),
        seed: artifact.manifest.seed,
    };
    let set = TrainingSet {
        rows: &train.rows,
        labels: &train.labels,
        n_classes: 3,
    };
    let train_s = median(
        (0..15)
            .map(|_| {
                let t = Instant::now();
                black_box(Forest::train(&set, params));
                t.elapsed().as_secs_f64()
            })
            .collect(),
    );

    let one = Features::new([6.0, 2.9, 4.8, 1.7])?;
    const CALLS: usize = 200;
    let single_s = median(
        (0..2000)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..CALLS {
                    black_box(model.predict(black_box(&one)));
                }
                t.elapsed().as_secs_f64() / CALLS as f64
            })
            .collect(),
    );

    // Resample the training rows to a large batch (fixed stride: deterministic).
    let batch: Vec<[f64; 4]> = (0..rows)
        .map(|i| train.rows[(i * 7919) % train.rows.len()])
        .collect();
    let mut out = vec![0.0; rows * model.classes().len()];
    let (mut batch_wall, mut batch_cpu) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let (t, c) = (Instant::now(), cpu_s());
        model.predict_proba_into(black_box(&batch), &mut out);
        batch_cpu.push(cpu_s() - c);
        batch_wall.push(t.elapsed().as_secs_f64());
    }
    let (batch_s, batch_cpu_s) = (median(batch_wall), median(batch_cpu));

    let bytes = std::fs::read(PathBuf::from(model_dir).join(iris_model::MODEL_FILE))?;
    let load_s = median(
        (0..200)
            .map(|_| {
                let t = Instant::now();
                black_box(iris_model::Model::from_bytes(&bytes, model.sha256()).ok());
                t.elapsed().as_secs_f64()
            })
            .collect(),
    );

    println!(
        "{{\"train_s\":{train_s},\"single_s\":{single_s},\"batch_rows\":{rows},\"batch_s\":{batch_s},\"batch_cpu_s\":{batch_cpu_s},\
         \"load_s\":{load_s},\"accuracy\":{},\"model_bytes\":{}}}",
        artifact.manifest.metrics.accuracy,
        bytes.len()
    );
    Ok(())
}
