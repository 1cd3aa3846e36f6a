//! Where `serve` takes its model from, and loading it: a directory holding `model.bin`
//! and `manifest.json` (verified against the manifest, and against `MODEL_SHA256` too
//! when that is set), or the pinned S3 objects the function itself reads (the same
//! `config` and `s3` code, so the pin and its checks cannot differ).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::{self, Config, ConfigError, DEFAULT_MAX_BATCH};
use crate::loaded::{LoadedModel, VerifyError};
use aws_smithy_http_client::HttpClientError;

use crate::s3::LoadError;

use super::{DEFAULT_MODEL_DIR, ServeArgs};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    Dir {
        path: PathBuf,
        /// `MODEL_SHA256` when set: the directory must hold exactly that model.
        pinned: Option<String>,
    },
    S3(Config),
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("serve: the model settings in the environment are incomplete or invalid: {0}")]
    Config(#[from] ConfigError),
    #[error(
        "serve: cannot read {path}: {source} (pass --model DIR with model.bin and manifest.json)"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("serve: the model in {dir} failed verification: {source}")]
    Verify { dir: PathBuf, source: VerifyError },
    #[error("serve: the manifest {path} names no sha256: {source}")]
    Manifest {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("serve: {0}")]
    HttpClient(#[from] HttpClientError),
    /// Boxed: the S3 failure is large and rare, the other variants small.
    #[error("serve: {0}")]
    S3(Box<LoadError>),
}

impl From<LoadError> for SourceError {
    fn from(err: LoadError) -> SourceError {
        SourceError::S3(Box::new(err))
    }
}

impl ModelSource {
    /// `--model DIR` wins; else the S3 pin when `MODEL_BUCKET` is set (then every
    /// variable the function needs must be valid); else [`DEFAULT_MODEL_DIR`].
    pub fn choose(
        args: &ServeArgs,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ModelSource, SourceError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        if args.model.is_none() && set(config::ENV_BUCKET).is_some() {
            return Ok(ModelSource::S3(Config::from_lookup(lookup)?));
        }
        let pinned = match set(config::ENV_MODEL_SHA256) {
            None => None,
            // The same rule as the function's, by the same code.
            Some(_) => Some(config::model_sha256(&lookup)?),
        };
        Ok(ModelSource::Dir {
            path: args
                .model
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL_DIR)),
            pinned,
        })
    }

    pub fn max_batch(&self) -> usize {
        match self {
            ModelSource::S3(config) => config.max_batch,
            ModelSource::Dir { .. } => DEFAULT_MAX_BATCH,
        }
    }

    pub async fn load(&self) -> Result<LoadedModel, SourceError> {
        match self {
            ModelSource::Dir { path, pinned } => load_dir(path, pinned.as_deref()),
            ModelSource::S3(config) => {
                let client = crate::s3::client().await?;
                Ok(crate::s3::load(&client, config).await?)
            }
        }
    }
}

impl fmt::Display for ModelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelSource::Dir { path, .. } => write!(f, "{}", path.display()),
            ModelSource::S3(c) => write!(f, "s3://{}/{}", c.bucket, c.model),
        }
    }
}

fn load_dir(dir: &Path, pinned: Option<&str>) -> Result<LoadedModel, SourceError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| SourceError::Read { path, source })
    };
    let model = read(iris_model::MODEL_FILE)?;
    let manifest = read(iris_model::MANIFEST_FILE)?;
    let expected = match pinned {
        Some(sha) => sha.to_owned(),
        None => {
            #[derive(serde::Deserialize)]
            struct Named {
                sha256: String,
            }
            serde_json::from_slice::<Named>(&manifest)
                .map_err(|source| SourceError::Manifest {
                    path: dir.join(iris_model::MANIFEST_FILE),
                    source,
                })?
                .sha256
        }
    };
    LoadedModel::verify(&model, &manifest, &expected, None, None).map_err(|source| {
        SourceError::Verify {
            dir: dir.to_owned(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn args(model: Option<&str>) -> ServeArgs {
        ServeArgs {
            port: 8080,
            model: model.map(PathBuf::from),
        }
    }

    #[test]
    fn the_flag_wins_then_the_s3_pin_then_the_sagemaker_dir() {
        let s3 = [
            (config::ENV_BUCKET, "b"),
            (config::ENV_MODEL_KEY, "models/x/model.bin"),
            (config::ENV_MODEL_SHA256, SHA),
            (config::ENV_MANIFEST_KEY, "models/x/manifest.json"),
        ];
        assert!(matches!(
            ModelSource::choose(&args(None), env(&s3)),
            Ok(ModelSource::S3(_))
        ));
        assert_eq!(
            ModelSource::choose(&args(Some("/m")), env(&s3)).expect("dir"),
            ModelSource::Dir {
                path: "/m".into(),
                pinned: Some(SHA.into())
            }
        );
        assert_eq!(
            ModelSource::choose(&args(None), env(&[])).expect("default"),
            ModelSource::Dir {
                path: DEFAULT_MODEL_DIR.into(),
                pinned: None
            }
        );
    }

    #[test]
    fn incomplete_or_invalid_settings_are_refused() {
        let err = ModelSource::choose(&args(None), env(&[(config::ENV_BUCKET, "b")]))
            .expect_err("incomplete");
        assert!(err.to_string().contains("is not set"), "{err}");
        let err = ModelSource::choose(&args(Some("/m")), env(&[(config::ENV_MODEL_SHA256, "abc")]))
            .expect_err("bad pin");
        assert!(err.to_string().contains("MODEL_SHA256"), "{err}");
    }
}
