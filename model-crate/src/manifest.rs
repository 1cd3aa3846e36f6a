//! manifest.json: what a person or a deploy step needs to know about a model without
//! decoding it. Owns the JSON shape (readers ignore unknown fields, so newer writers can
//! add some, and the checksum covers them); it must not decide anything about
//! prediction, which uses model.bin alone.
//!
//! The manifest is a function of the training inputs (data, seed, parameters, crate
//! version): it holds no wall-clock time, so retraining gives the same bytes and a deploy
//! of the retrained artifact changes nothing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checksum::{self, CHECKSUM_FIELD, ChecksumError};
use crate::golden::GoldenRow;
use crate::metrics::Metrics;
use crate::model::IsIrisRule;

/// Version of the manifest shape; bumped on incompatible changes. 2 (from 1): no
/// `created` time, `manifest_sha256` over the other fields, the `golden` set. Older
/// manifests carry no checksum and are refused with [`ManifestError::Older`] (retrain).
pub const SCHEMA_VERSION: u32 = 2;

/// Why manifest bytes were refused (the caller names the file).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ManifestError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error(
        "schema_version {found} is newer than this build understands ({SCHEMA_VERSION}); upgrade iris-model"
    )]
    Newer { found: u64 },
    #[error(
        "schema_version {found} was written by an older iris-model; this build reads only \
         {SCHEMA_VERSION} (no `created` time, a `manifest_sha256` checksum and the golden set): \
         retrain with `iris-model train --out DIR`"
    )]
    Older { found: u64 },
    #[error(transparent)]
    Checksum(#[from] ChecksumError),
    #[error("not a valid manifest: {0}")]
    Shape(String),
}

/// Parse manifest bytes and verify their checksum, without requiring every field (deploy
/// needs only `sha256`; fields a newer writer adds are covered by the checksum too).
pub fn check_json(bytes: &[u8]) -> Result<Value, ManifestError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
    let Some(found) = value.get("schema_version").and_then(Value::as_u64) else {
        return Err(ManifestError::Shape(
            "no numeric `schema_version`; retrain with `iris-model train --out DIR`".into(),
        ));
    };
    if found > u64::from(SCHEMA_VERSION) {
        return Err(ManifestError::Newer { found });
    }
    if found < u64::from(SCHEMA_VERSION) {
        return Err(ManifestError::Older { found });
    }
    checksum::verify(&value)?;
    Ok(value)
}

/// [`check_json`], then the typed manifest.
pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let value = check_json(bytes)?;
    serde_json::from_value(value).map_err(|e| ManifestError::Shape(e.to_string()))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    /// sha256 of model.bin.
    pub sha256: String,
    /// `iris-model <crate version>`.
    pub created_by: String,
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
    /// The held-out rows with the model's answers (see [`crate::golden`]).
    pub golden: Vec<GoldenRow>,
    /// sha256 of the canonical JSON of every other field ([`crate::checksum`]); set by
    /// [`Manifest::seal`].
    #[serde(rename = "manifest_sha256")]
    pub manifest_sha256: String,
}

impl Manifest {
    /// Compute and set `manifest_sha256` over the other fields.
    pub fn seal(&mut self) -> Result<(), ManifestError> {
        let mut value =
            serde_json::to_value(&*self).map_err(|e| ManifestError::Shape(e.to_string()))?;
        checksum::seal(&mut value);
        self.manifest_sha256 = value
            .get(CHECKSUM_FIELD)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok(())
    }

    /// The pretty JSON written to manifest.json (newline-terminated).
    pub fn to_json(&self) -> Result<String, ManifestError> {
        let mut json =
            serde_json::to_string_pretty(self).map_err(|e| ManifestError::Shape(e.to_string()))?;
        json.push('\n');
        Ok(json)
    }
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
