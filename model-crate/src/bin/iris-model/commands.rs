//! The four subcommands over the library: load, call, print. Each returns
//! `anyhow::Result` with context saying which file or step failed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use iris_model::artifact::Artifact;
use iris_model::dataset::{Dataset, header};
use iris_model::features::Features;
use iris_model::golden;
use iris_model::split::stratified;
use iris_model::train::{TrainOptions, evaluate as eval_rows, train as fit};
use iris_model::{FEATURES, MANIFEST_FILE, MODEL_FILE, REPORT_FILE, report};

/// Exit code when accuracy is below the gate.
pub const GATE_FAILED: u8 = 3;

/// Accuracy below the requested minimum (exit code [`GATE_FAILED`]).
#[derive(Debug, thiserror::Error)]
#[error("accuracy {accuracy:.4} is below --min-accuracy {min}: {what}")]
pub struct GateFailed {
    pub accuracy: f64,
    pub min: f64,
    pub what: String,
}

pub struct TrainRequest {
    pub out: PathBuf,
    pub data: Option<PathBuf>,
    pub options: TrainOptions,
}

pub fn train(req: TrainRequest) -> Result<()> {
    let data = Dataset::load(req.data.as_ref()).context("cannot load the training data")?;
    let started = Instant::now();
    let trained = fit(&data, &req.options).context("training failed")?;
    let elapsed = started.elapsed();
    let m = &trained.manifest;
    println!(
        "trained {} trees on {} rows of {} (seed {}) in {:.1} ms; evaluated on {} held-out rows\n",
        m.params.trees,
        m.dataset.train_rows,
        data.source,
        m.seed,
        elapsed.as_secs_f64() * 1e3,
        m.dataset.test_rows
    );
    print!("{}", trained.metrics.table());
    if !trained.passed_gate() {
        return Err(GateFailed {
            accuracy: trained.metrics.accuracy,
            min: req.options.min_accuracy,
            what: format!(
                "nothing was written to {}. Inspect the data, or retrain with other \
                 --seed/--trees/--max-depth (or a lower --min-accuracy to look at the report)",
                req.out.display()
            ),
        }
        .into());
    }
    let html = report::render(&report::ReportInput {
        manifest: &trained.manifest,
        data: &data,
        split: &trained.split,
    });
    Artifact::write(&req.out, &trained.manifest, &trained.bytes, &html)
        .context("cannot write the artifact")?;
    println!(
        "\nwrote {dir}/{MODEL_FILE} ({} bytes), {dir}/{MANIFEST_FILE}, {dir}/{REPORT_FILE}\nsha256 {}",
        trained.bytes.len(),
        trained.manifest.sha256,
        dir = req.out.display(),
    );
    Ok(())
}

pub fn evaluate(dir: &Path, data: Option<&PathBuf>, min_accuracy: Option<f64>) -> Result<()> {
    let artifact = Artifact::load(dir).context("cannot load the model")?;
    let data = Dataset::load(data).context("cannot load the evaluation data")?;
    let m = &artifact.manifest;
    let (rows, what) = if data.sha256 == m.dataset_sha256 {
        let split = stratified(&data, m.params.test_fraction, m.seed)
            .context("cannot recreate the training split")?;
        (
            split.test,
            "its held-out split (the rows it was not trained on)",
        )
    } else {
        (
            (0..data.rows.len()).collect(),
            "every row (not the data it was trained on)",
        )
    };
    let metrics = eval_rows(&artifact.model, &data, &rows).context("cannot evaluate")?;
    println!("model {} on {} of {}\n", m.sha256, what, data.source);
    print!("{}", metrics.table());
    let mismatches = golden::check(&artifact.model, artifact.golden());
    if let Some(first) = mismatches.first() {
        bail!(
            "{}: {} of {} golden rows are not answered as recorded (first: {first}); the model \
             is not the one this manifest was sealed with: rebuild the artifact with \
             `iris-model train --out DIR`",
            dir.display(),
            mismatches.len(),
            artifact.golden().len()
        );
    }
    println!(
        "\ngolden set: all {} recorded answers reproduced exactly",
        artifact.golden().len()
    );
    if let Some(min) = min_accuracy
        && metrics.accuracy < min
    {
        return Err(GateFailed {
            accuracy: metrics.accuracy,
            min,
            what: format!("model {} does not pass on {}", m.sha256, data.source),
        }
        .into());
    }
    Ok(())
}

pub fn predict(dir: &Path, values: &[f64], json: bool) -> Result<()> {
    let values: [f64; 4] = values
        .try_into()
        .with_context(|| format!("expected 4 measurements ({})", FEATURES.join(" ")))?;
    let features = Features::new(values).context("invalid measurement")?;
    let artifact = Artifact::load(dir).context("cannot load the model")?;
    let p = artifact.model.predict(&features);
    if json {
        println!("{}", serde_json::to_string(&p)?);
        return Ok(());
    }
    let mut out = format!("species: {}\nprobabilities:\n", p.species);
    for (class, probability) in &p.probabilities {
        let _ = writeln!(out, "  {class:<12} {probability:.3}");
    }
    let _ = writeln!(out, "is_iris: {}", p.is_iris);
    print!("{out}");
    Ok(())
}

pub fn export_split(out: &Path, data: Option<&PathBuf>, seed: u64, fraction: f64) -> Result<()> {
    let data = Dataset::load(data).context("cannot load the data")?;
    let split = stratified(&data, fraction, seed).context("cannot split the data")?;
    if data.classes.iter().any(|c| c.contains([',', '"', '\n'])) {
        bail!("a class name contains a CSV delimiter");
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for (name, rows) in [("train.csv", &split.train), ("test.csv", &split.test)] {
        let mut text = header();
        text.push('\n');
        for &i in rows {
            let r = data.rows[i];
            let _ = writeln!(
                text,
                "{},{},{},{},{}",
                r[0], r[1], r[2], r[3], data.classes[data.labels[i]]
            );
        }
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "wrote {} training and {} test rows to {}",
        split.train.len(),
        split.test.len(),
        out.display()
    );
    Ok(())
}
