//! A model ready to serve: the verified `iris_model::Model`, its manifest and the S3
//! object versions they came from. Owns turning downloaded bytes into that (checksum
//! first, then decode, then the manifest must be unedited (its own `manifest_sha256`) and
//! describe the same bytes). Must not fetch.

use iris_model::{Manifest, ManifestError, Model, ModelError};
use serde_json::{Map, Value};

#[derive(Debug)]
pub struct LoadedModel {
    pub model: Model,
    /// The manifest as JSON: `GET /model` shows a summary of it.
    pub manifest: Value,
    pub model_version_id: Option<String>,
    pub manifest_version_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("model.bin failed verification: {0}")]
    Model(#[from] ModelError),
    #[error("manifest.json is not a valid manifest: {0}")]
    Manifest(serde_json::Error),
    /// Not JSON, newer than this build, edited after training, or missing fields.
    #[error("manifest.json refused: {0}")]
    Refused(#[from] ManifestError),
    #[error(
        "manifest.json describes model sha256 {manifest} but the function is pinned to {expected}"
    )]
    ManifestMismatch { manifest: String, expected: String },
}

/// Manifest keys `GET /model` returns (the rest, e.g. training params, stays internal).
const SUMMARY_KEYS: [&str; 9] = [
    "schema_version",
    "sha256",
    "manifest_sha256",
    "created_by",
    "classes",
    "features",
    "metrics",
    "dataset_sha256",
    "dataset",
];

impl LoadedModel {
    /// Verifies `model_bytes` against `expected_sha256` (before decoding anything), the
    /// manifest against its own checksum, and that the manifest names the same sha256.
    pub fn verify(
        model_bytes: &[u8],
        manifest_bytes: &[u8],
        expected_sha256: &str,
        model_version_id: Option<String>,
        manifest_version_id: Option<String>,
    ) -> Result<LoadedModel, VerifyError> {
        let model = Model::from_bytes(model_bytes, expected_sha256)?;
        let manifest: Manifest = iris_model::manifest::parse(manifest_bytes)?;
        if manifest.sha256 != expected_sha256 {
            return Err(VerifyError::ManifestMismatch {
                manifest: manifest.sha256,
                expected: expected_sha256.to_owned(),
            });
        }
        let manifest = serde_json::to_value(&manifest).map_err(VerifyError::Manifest)?;
        Ok(LoadedModel {
            model,
            manifest,
            model_version_id,
            manifest_version_id,
        })
    }

    pub fn sha256(&self) -> &str {
        self.model.sha256()
    }

    /// `{"sha256","version_id"}`: which model answered, in every prediction.
    pub fn identity(&self) -> Value {
        serde_json::json!({ "sha256": self.sha256(), "version_id": self.model_version_id })
    }

    /// The body of `GET /model`.
    pub fn summary(&self) -> Value {
        let mut out = Map::new();
        for key in SUMMARY_KEYS {
            if let Some(v) = self.manifest.get(key) {
                out.insert(key.to_owned(), v.clone());
            }
        }
        out.insert(
            "model_version_id".into(),
            self.model_version_id.clone().into(),
        );
        out.insert(
            "manifest_version_id".into(),
            self.manifest_version_id.clone().into(),
        );
        Value::Object(out)
    }
}
