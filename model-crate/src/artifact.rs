//! The artifact directory: model.bin, manifest.json and report.html. Owns reading and
//! writing them and the checks that the manifest is unedited (its `manifest_sha256`) and
//! that model.bin is the one the manifest names; it must not train or evaluate.

use std::path::{Path, PathBuf};

use crate::checksum::ChecksumError;
use crate::golden::GoldenRow;
use crate::manifest::{self, Manifest, ManifestError, SCHEMA_VERSION};
use crate::model::{Model, ModelError};
use crate::{MANIFEST_FILE, MODEL_FILE, REPORT_FILE};

/// A loaded artifact: its manifest and the verified model.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub manifest: Manifest,
    pub model: Model,
}

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error(
        "{file}: cannot read: {source}; pass the directory `iris-model train --out DIR` wrote, or retrain into it"
    )]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not a valid manifest: {message}; retrain with `iris-model train --out DIR`")]
    Manifest { file: PathBuf, message: String },
    #[error(
        "{file}: schema_version {found} is newer than this build understands ({SCHEMA_VERSION}); upgrade iris-model"
    )]
    Schema { file: PathBuf, found: u64 },
    /// Written by an older iris-model (no checksum, no golden set): retrain.
    #[error("{file}: {source}")]
    Older {
        file: PathBuf,
        #[source]
        source: ManifestError,
    },
    /// The manifest's own checksum failed: it was edited, or predates the checksum.
    #[error("{file}: {source}")]
    Edited {
        file: PathBuf,
        #[source]
        source: ChecksumError,
    },
    #[error(
        "{file}: checksum mismatch: manifest says sha256 {expected}, file has {actual}; the model is corrupted or truncated, retrain or re-download it"
    )]
    Checksum {
        file: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{file}: {source}")]
    Model {
        file: PathBuf,
        #[source]
        source: ModelError,
    },
    #[error("{file}: cannot write: {source}")]
    Write {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Artifact {
    /// Read DIR/manifest.json and DIR/model.bin and verify the model's sha256.
    pub fn load(dir: &Path) -> Result<Self, ArtifactError> {
        let manifest_path = dir.join(MANIFEST_FILE);
        let text =
            std::fs::read_to_string(&manifest_path).map_err(|source| ArtifactError::Read {
                file: manifest_path.clone(),
                source,
            })?;
        let manifest = manifest::parse(text.as_bytes()).map_err(|err| match err {
            ManifestError::Newer { found } => ArtifactError::Schema {
                file: manifest_path.clone(),
                found,
            },
            older @ ManifestError::Older { .. } => ArtifactError::Older {
                file: manifest_path.clone(),
                source: older,
            },
            ManifestError::Checksum(source) => ArtifactError::Edited {
                file: manifest_path.clone(),
                source,
            },
            ManifestError::Shape(message) => ArtifactError::Manifest {
                file: manifest_path.clone(),
                message,
            },
            json @ ManifestError::Json(_) => ArtifactError::Manifest {
                file: manifest_path.clone(),
                message: json.to_string(),
            },
        })?;
        let model_path = dir.join(MODEL_FILE);
        let bytes = std::fs::read(&model_path).map_err(|source| ArtifactError::Read {
            file: model_path.clone(),
            source,
        })?;
        let model = Model::from_bytes(&bytes, &manifest.sha256).map_err(|err| match err {
            ModelError::ChecksumMismatch { expected, actual } => ArtifactError::Checksum {
                file: model_path.clone(),
                expected,
                actual,
            },
            source => ArtifactError::Model {
                file: model_path.clone(),
                source,
            },
        })?;
        Ok(Self { manifest, model })
    }

    /// The held-out rows and the answers recorded for them at training time, which every
    /// copy of this model must reproduce exactly (`crate::golden::check`).
    pub fn golden(&self) -> &[GoldenRow] {
        &self.manifest.golden
    }

    /// Write the three files into `dir` (created if missing). Each file is written to a
    /// temporary name and renamed, so a reader never sees half a file; the manifest
    /// goes last, so a crash leaves a model the old manifest rejects by checksum.
    pub fn write(
        dir: &Path,
        manifest: &Manifest,
        model_bytes: &[u8],
        report_html: &str,
    ) -> Result<(), ArtifactError> {
        std::fs::create_dir_all(dir).map_err(|source| ArtifactError::Write {
            file: dir.to_path_buf(),
            source,
        })?;
        let json = manifest.to_json().map_err(|e| ArtifactError::Manifest {
            file: dir.join(MANIFEST_FILE),
            message: e.to_string(),
        })?;
        write_atomic(&dir.join(MODEL_FILE), model_bytes)?;
        write_atomic(&dir.join(REPORT_FILE), report_html.as_bytes())?;
        write_atomic(&dir.join(MANIFEST_FILE), json.as_bytes())
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ArtifactError> {
    let fail = |source| ArtifactError::Write {
        file: path.to_path_buf(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}
