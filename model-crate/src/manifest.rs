//! manifest.json: what a person or a deploy step needs to know about a model without
//! decoding it. Owns the JSON shape (readers ignore unknown fields, so newer writers can
//! add some); it must not decide anything about prediction, which uses model.bin alone.

use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;
use crate::model::IsIrisRule;

/// Version of the manifest shape; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    /// sha256 of model.bin.
    pub sha256: String,
    /// `iris-model <crate version>`.
    pub created_by: String,
    /// RFC 3339 time of training; kept out of model.bin so its bytes are reproducible.
    pub created: String,
    pub seed: u64,
    pub params: Params,
    pub classes: Vec<String>,
    pub features: Vec<FeatureInfo>,
    pub metrics: Metrics,
    pub dataset_sha256: String,
    #[serde(default)]
    pub dataset: DatasetInfo,
    #[serde(default)]
    pub is_iris: Option<IsIrisRule>,
    /// Mean decrease in impurity per feature (sums to 1), in feature order.
    #[serde(default)]
    pub feature_importances: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub trees: usize,
    pub max_depth: Option<usize>,
    pub max_features: usize,
    pub test_fraction: f64,
    pub min_accuracy: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureInfo {
    pub name: String,
    pub unit: String,
    /// Smallest value seen in training.
    pub min: f64,
    /// Largest value seen in training.
    pub max: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// The built-in data set's name or the `--data` path as given.
    pub source: String,
    pub rows: usize,
    pub train_rows: usize,
    pub test_rows: usize,
}
