//! One training run as data in, data out: split, fit, evaluate, and describe the result
//! (model bytes + manifest). It must not touch files or print; the CLI decides what to
//! write and whether the accuracy gate passed.

use crate::dataset::Dataset;
use crate::forest::{Forest, ForestParams, TrainingSet, default_max_features};
use crate::manifest::{DatasetInfo, FeatureInfo, Manifest, Params, SCHEMA_VERSION};
use crate::metrics::Metrics;
use crate::model::{IsIrisRule, MODEL_FORMAT, Model, ModelData, ModelError};
use crate::split::{Split, SplitError, stratified};
use crate::{FEATURES, UNIT};

/// Defaults of `iris-model train`.
pub const DEFAULT_SEED: u64 = 42;
pub const DEFAULT_TREES: usize = 100;
pub const DEFAULT_TEST_FRACTION: f64 = 0.2;
pub const DEFAULT_MIN_ACCURACY: f64 = 0.90;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    pub seed: u64,
    pub trees: usize,
    pub max_depth: Option<usize>,
    pub test_fraction: f64,
    pub min_accuracy: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            seed: DEFAULT_SEED,
            trees: DEFAULT_TREES,
            max_depth: None,
            test_fraction: DEFAULT_TEST_FRACTION,
            min_accuracy: DEFAULT_MIN_ACCURACY,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Split(#[from] SplitError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("cannot seal the manifest: {0}")]
    Manifest(#[from] crate::manifest::ManifestError),
    /// Options or inputs that cannot be used together (the message says which).
    #[error("{0}")]
    Options(String),
}

/// Everything a training run produced.
#[derive(Debug, Clone)]
pub struct Trained {
    pub model: Model,
    /// The exact bytes of model.bin.
    pub bytes: Vec<u8>,
    pub manifest: Manifest,
    pub split: Split,
    pub metrics: Metrics,
}

impl Trained {
    /// Whether the held-out accuracy passed `min_accuracy`.
    pub fn passed_gate(&self) -> bool {
        self.metrics.accuracy >= self.manifest.params.min_accuracy
    }
}

fn check_options(o: &TrainOptions) -> Result<(), TrainError> {
    if o.trees == 0 {
        return Err(TrainError::Options("--trees must be at least 1".into()));
    }
    if o.max_depth == Some(0) {
        return Err(TrainError::Options("--max-depth must be at least 1".into()));
    }
    if !(0.0..=1.0).contains(&o.min_accuracy) {
        return Err(TrainError::Options(format!(
            "--min-accuracy {} must be between 0 and 1",
            o.min_accuracy
        )));
    }
    Ok(())
}

/// Split `data`, train on the training side, evaluate on the held-out side, and record
/// the held-out answers as the golden set. The result depends on nothing but the
/// arguments (no clock), so the same inputs give byte-identical model.bin and manifest.
pub fn train(data: &Dataset, options: &TrainOptions) -> Result<Trained, TrainError> {
    check_options(options)?;
    let split = stratified(data, options.test_fraction, options.seed)?;
    let rows: Vec<[f64; 4]> = split.train.iter().map(|&i| data.rows[i]).collect();
    let labels: Vec<usize> = split.train.iter().map(|&i| data.labels[i]).collect();
    let params = ForestParams {
        trees: options.trees,
        max_depth: options.max_depth,
        max_features: default_max_features(FEATURES.len()),
        seed: options.seed,
    };
    let forest = Forest::train(
        &TrainingSet {
            rows: &rows,
            labels: &labels,
            n_classes: data.classes.len(),
        },
        params,
    );
    let ranges: Vec<(f64, f64)> = (0..FEATURES.len())
        .map(|f| {
            rows.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
                    (lo.min(r[f]), hi.max(r[f]))
                })
        })
        .collect();
    let importances = forest.importances.clone();
    let is_iris = IsIrisRule::default();
    let model = Model::new(ModelData {
        format: MODEL_FORMAT,
        classes: data.classes.clone(),
        features: FEATURES.iter().map(|f| (*f).to_owned()).collect(),
        ranges: ranges.clone(),
        is_iris,
        forest,
    })?;
    let bytes = model.to_bytes()?;
    let metrics = evaluate(&model, data, &split.test)?;
    let golden = crate::golden::record(&model, data, &split.test);
    let mut manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        sha256: model.sha256().to_owned(),
        created_by: format!("iris-model {}", env!("CARGO_PKG_VERSION")),
        seed: options.seed,
        params: Params {
            trees: options.trees,
            max_depth: options.max_depth,
            max_features: params.max_features,
            test_fraction: options.test_fraction,
            min_accuracy: options.min_accuracy,
        },
        classes: data.classes.clone(),
        features: FEATURES
            .iter()
            .zip(&ranges)
            .map(|(name, &(min, max))| FeatureInfo {
                name: (*name).to_owned(),
                unit: UNIT.to_owned(),
                min,
                max,
            })
            .collect(),
        metrics: metrics.clone(),
        dataset_sha256: data.sha256.clone(),
        dataset: DatasetInfo {
            source: data.source.clone(),
            rows: data.rows.len(),
            train_rows: split.train.len(),
            test_rows: split.test.len(),
        },
        is_iris: Some(is_iris),
        feature_importances: importances,
        golden,
        manifest_sha256: String::new(),
    };
    manifest.seal()?;
    Ok(Trained {
        model,
        bytes,
        manifest,
        split,
        metrics,
    })
}

/// Metrics of `model` on the given rows of `data` (class names matched by name).
/// Fails when the data names a class the model does not know.
pub fn evaluate(model: &Model, data: &Dataset, rows: &[usize]) -> Result<Metrics, TrainError> {
    let batch: Vec<[f64; 4]> = rows.iter().map(|&i| data.rows[i]).collect();
    let nc = model.classes().len();
    let mut proba = vec![0.0; batch.len() * nc];
    model.predict_proba_into(&batch, &mut proba);
    let predicted: Vec<usize> = proba
        .chunks_exact(nc)
        .map(|p| (0..nc).fold(0, |best, c| if p[c] > p[best] { c } else { best }))
        .collect();
    let actual = rows
        .iter()
        .map(|&i| {
            let name = &data.classes[data.labels[i]];
            model
                .classes()
                .iter()
                .position(|c| c == name)
                .ok_or_else(|| {
                    TrainError::Options(format!(
                        "{}: class {name:?} is not one of the model's classes {:?}",
                        data.source,
                        model.classes()
                    ))
                })
        })
        .collect::<Result<Vec<usize>, _>>()?;
    Ok(Metrics::compute(model.classes(), &actual, &predicted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_run_passes_the_gate_and_is_reproducible() {
        let data = Dataset::builtin().expect("builtin");
        let a = train(&data, &TrainOptions::default()).expect("train");
        assert!(a.passed_gate(), "accuracy {}", a.metrics.accuracy);
        let b = train(&data, &TrainOptions::default()).expect("train");
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.manifest.sha256, b.manifest.sha256);
        assert_eq!(
            a.manifest.to_json().expect("json"),
            b.manifest.to_json().expect("json")
        );
        assert_eq!(a.manifest.manifest_sha256.len(), 64);
        let other = TrainOptions {
            seed: 7,
            ..TrainOptions::default()
        };
        assert_ne!(train(&data, &other).expect("train").bytes, a.bytes);
    }

    #[test]
    fn manifest_describes_the_run() {
        let data = Dataset::builtin().expect("builtin");
        let t = train(&data, &TrainOptions::default()).expect("train");
        let m = &t.manifest;
        assert_eq!(m.classes, ["setosa", "versicolor", "virginica"]);
        assert_eq!(m.features[2].name, "petal_length");
        assert_eq!((m.dataset.train_rows, m.dataset.test_rows), (120, 30));
        assert!(m.features.iter().all(|f| f.min < f.max && f.unit == "cm"));
        assert!((m.feature_importances.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(m.golden.len(), 30);
        assert!(m.golden.iter().all(|g| g.probabilities.len() == 3));
        let model = Model::from_bytes(&t.bytes, &m.sha256).expect("round trip");
        assert_eq!(model.sha256(), m.sha256);
    }

    #[test]
    fn evaluating_data_with_a_class_the_model_lacks_is_an_error_not_a_panic() {
        let mut data = Dataset::builtin().expect("builtin");
        let t = train(&data, &TrainOptions::default()).expect("train");
        data.classes[2] = "rose".into();
        let err = evaluate(&t.model, &data, &[0, 149]).expect_err("unknown class");
        assert!(
            err.to_string()
                .contains("class \"rose\" is not one of the model's classes")
        );
    }

    #[test]
    fn rejects_nonsense_options() {
        let data = Dataset::builtin().expect("builtin");
        for o in [
            TrainOptions {
                trees: 0,
                ..TrainOptions::default()
            },
            TrainOptions {
                max_depth: Some(0),
                ..TrainOptions::default()
            },
            TrainOptions {
                min_accuracy: 1.5,
                ..TrainOptions::default()
            },
            TrainOptions {
                test_fraction: 1.0,
                ..TrainOptions::default()
            },
        ] {
            assert!(train(&data, &o).is_err(), "{o:?}");
        }
    }
}
