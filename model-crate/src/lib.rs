//! The Iris model: data set, training, evaluation, artifact and prediction.
//!
//! The modules read like the pipeline: [`dataset`] (the shipped CSV or the user's) →
//! [`split`] (stratified train/test) → [`forest`] (bagged CART trees in a flat layout) →
//! [`metrics`] (held-out evaluation) → [`model`] (what predicts, and its bytes) →
//! [`artifact`] (model.bin + manifest.json + report.html on disk; [`checksum`] seals the
//! manifest, [`golden`] records the held-out answers in it). Prediction needs only
//! [`Model`] and [`Features`]; the Lambda uses exactly that surface.
//!
//! This crate does no network I/O and keeps no global state: every function is over plain
//! data, so the same seed and data always give the same bytes.

pub mod artifact;
pub mod cells;
pub mod checksum;
pub mod compiled;
pub mod dataset;
pub mod features;
pub mod forest;
pub mod golden;
pub mod manifest;
pub mod metrics;
pub mod model;
pub mod report;
pub mod rng;
pub mod split;
pub mod train;

pub use artifact::{Artifact, ArtifactError};
pub use cells::BatchScorer;
pub use dataset::{DataError, Dataset};
pub use features::{FeatureError, Features};
pub use golden::{GoldenMismatch, GoldenRow};
pub use manifest::{Manifest, ManifestError};
pub use model::{IsIrisRule, Model, ModelError, Prediction};

/// The four measurements, in the column order of the CSV and of [`Features`] (all cm).
pub const FEATURES: [&str; 4] = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
/// The unit of every feature.
pub const UNIT: &str = "cm";
/// The species the shipped data set and `--data` files may name, in class-index order.
pub const SPECIES: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// File names inside an artifact directory (and under `models/<sha256>/` in S3).
pub const MODEL_FILE: &str = "model.bin";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const REPORT_FILE: &str = "report.html";
