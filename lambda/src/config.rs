//! The function's configuration, read once at cold start from the environment variables
//! the service template sets (`irisctl::contract::function_env`): where the model artifact lives in S3 and
//! what its checksum must be. Owns parsing and validating those values; must not touch
//! AWS or the network.

use std::fmt;

/// Batch size used when `MAX_BATCH` is not set.
pub const DEFAULT_MAX_BATCH: usize = 100;
/// Upper bound for `MAX_BATCH`: keeps one request's body and work bounded (a batch of
/// 1000 flowers is ~100 KB of JSON, far below API Gateway's 10 MB and Lambda's 6 MB).
pub const MAX_BATCH_CEILING: usize = 1000;

pub const ENV_BUCKET: &str = "MODEL_BUCKET";
pub const ENV_MODEL_KEY: &str = "MODEL_KEY";
pub const ENV_MODEL_VERSION_ID: &str = "MODEL_VERSION_ID";
pub const ENV_MODEL_SHA256: &str = "MODEL_SHA256";
pub const ENV_MANIFEST_KEY: &str = "MANIFEST_KEY";
pub const ENV_MANIFEST_VERSION_ID: &str = "MANIFEST_VERSION_ID";
pub const ENV_MAX_BATCH: &str = "MAX_BATCH";
pub const ENV_BATCH_MAX_ROWS: &str = "BATCH_MAX_ROWS";
pub const ENV_BATCH_MAX_BYTES: &str = "BATCH_MAX_BYTES";
/// Every variable the function reads: the service template sets exactly these, and
/// `irisctl local serve` all but the optional limits `MAX_BATCH`, `BATCH_MAX_ROWS` and
/// `BATCH_MAX_BYTES` (lambda/tests/contract_with_irisctl.rs).
pub const ENV_VARS: [&str; 9] = [
    ENV_BUCKET,
    ENV_MODEL_KEY,
    ENV_MODEL_VERSION_ID,
    ENV_MODEL_SHA256,
    ENV_MANIFEST_KEY,
    ENV_MANIFEST_VERSION_ID,
    ENV_MAX_BATCH,
    ENV_BATCH_MAX_ROWS,
    ENV_BATCH_MAX_BYTES,
];

/// Rows per batch file when `BATCH_MAX_ROWS` is not set (irisctl's `batch.max_rows`
/// default, which irisctl checks against the function's memory and timeout).
pub const DEFAULT_BATCH_MAX_ROWS: usize = 100_000;
/// Bytes per batch file when `BATCH_MAX_BYTES` is not set.
pub const DEFAULT_BATCH_MAX_BYTES: u64 = 16 << 20;
/// Upper bounds the function accepts (irisctl's config refuses larger values first).
pub const BATCH_MAX_ROWS_CEILING: usize = 1_000_000;
pub const BATCH_MAX_BYTES_CEILING: u64 = 256 << 20;

/// The limits of one batch file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    pub max_rows: usize,
    pub max_bytes: u64,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_rows: DEFAULT_BATCH_MAX_ROWS,
            max_bytes: DEFAULT_BATCH_MAX_BYTES,
        }
    }
}

/// One S3 object: a key and, when pinned, its version id (`None` = latest, used on
/// unversioned emulator buckets where the template passes an empty string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub key: String,
    pub version_id: Option<String>,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version_id {
            Some(v) => write!(f, "{} (version {v})", self.key),
            None => write!(f, "{} (latest version)", self.key),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub bucket: String,
    pub model: ObjectRef,
    /// Lowercase hex sha256 that model.bin must have.
    pub model_sha256: String,
    pub manifest: ObjectRef,
    pub max_batch: usize,
    pub batch: BatchLimits,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "environment variable {0} is not set (the service template sets it; deploy the function with irisctl)"
    )]
    Missing(&'static str),
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
}

/// `MODEL_SHA256`, required and 64 lowercase hex digits: the pin every reader of the
/// model checks. `serve --model DIR` reads only this one setting, by this same rule.
pub fn model_sha256(lookup: impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let sha = match lookup(ENV_MODEL_SHA256) {
        Some(v) if !v.trim().is_empty() => v.trim().to_owned(),
        _ => return Err(ConfigError::Missing(ENV_MODEL_SHA256)),
    };
    if sha.len() != 64
        || !sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(ConfigError::Invalid {
            name: ENV_MODEL_SHA256,
            value: sha,
            reason: "expected 64 lowercase hex digits",
        });
    }
    Ok(sha)
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup`, so tests need not mutate the process env.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let required = |name: &'static str| -> Result<String, ConfigError> {
            match lookup(name) {
                Some(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
                _ => Err(ConfigError::Missing(name)),
            }
        };
        let optional = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let model_sha256 = model_sha256(&lookup)?;
        let max_batch = match optional(ENV_MAX_BATCH) {
            None => DEFAULT_MAX_BATCH,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=MAX_BATCH_CEILING).contains(&n) => n,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: ENV_MAX_BATCH,
                        value: raw,
                        reason: "expected a whole number from 1 to 1000",
                    });
                }
            },
        };
        let bounded =
            |name: &'static str, default: u64, ceiling: u64, reason: &'static str| match optional(
                name,
            ) {
                None => Ok(default),
                Some(raw) => match raw.parse::<u64>() {
                    Ok(n) if (1..=ceiling).contains(&n) => Ok(n),
                    _ => Err(ConfigError::Invalid {
                        name,
                        value: raw,
                        reason,
                    }),
                },
            };
        let batch = BatchLimits {
            max_rows: bounded(
                ENV_BATCH_MAX_ROWS,
                DEFAULT_BATCH_MAX_ROWS as u64,
                BATCH_MAX_ROWS_CEILING as u64,
                "expected a whole number from 1 to 1000000",
            )? as usize,
            max_bytes: bounded(
                ENV_BATCH_MAX_BYTES,
                DEFAULT_BATCH_MAX_BYTES,
                BATCH_MAX_BYTES_CEILING,
                "expected a whole number of bytes from 1 to 268435456",
            )?,
        };
        Ok(Config {
            bucket: required(ENV_BUCKET)?,
            model: ObjectRef {
                key: required(ENV_MODEL_KEY)?,
                version_id: optional(ENV_MODEL_VERSION_ID),
            },
            model_sha256,
            manifest: ObjectRef {
                key: required(ENV_MANIFEST_KEY)?,
                version_id: optional(ENV_MANIFEST_VERSION_ID),
            },
            max_batch,
            batch,
        })
    }
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

    fn full() -> Vec<(&'static str, &'static str)> {
        vec![
            (ENV_BUCKET, "bucket"),
            (ENV_MODEL_KEY, "models/x/model.bin"),
            (ENV_MODEL_VERSION_ID, "v1"),
            (ENV_MODEL_SHA256, SHA),
            (ENV_MANIFEST_KEY, "models/x/manifest.json"),
            (ENV_MANIFEST_VERSION_ID, ""),
        ]
    }

    #[test]
    fn reads_every_variable_and_treats_empty_version_as_latest() {
        let cfg = Config::from_lookup(env(&full())).expect("valid env");
        assert_eq!(cfg.bucket, "bucket");
        assert_eq!(cfg.model.version_id.as_deref(), Some("v1"));
        assert_eq!(cfg.manifest.version_id, None);
        assert_eq!(cfg.max_batch, DEFAULT_MAX_BATCH);
        assert_eq!(cfg.model_sha256, SHA);
    }

    #[test]
    fn missing_variable_is_named() {
        for name in [
            ENV_BUCKET,
            ENV_MODEL_KEY,
            ENV_MODEL_SHA256,
            ENV_MANIFEST_KEY,
        ] {
            let vars: Vec<_> = full().into_iter().filter(|(k, _)| *k != name).collect();
            assert_eq!(
                Config::from_lookup(env(&vars)),
                Err(ConfigError::Missing(name))
            );
        }
    }

    /// The full valid env with one variable set to `value`.
    fn with(name: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
        let mut vars: Vec<_> = full().into_iter().filter(|(k, _)| *k != name).collect();
        vars.push((name, value));
        vars
    }

    #[test]
    fn rejects_bad_sha_and_bad_max_batch() {
        for bad in ["ABC", &SHA.to_uppercase().leak()[..], "zz"] {
            let err = Config::from_lookup(env(&with(ENV_MODEL_SHA256, bad))).expect_err(bad);
            assert!(err.to_string().contains("MODEL_SHA256"), "{err}");
        }
        for bad in ["0", "1001", "-3", "ten", "1.5"] {
            let err = Config::from_lookup(env(&with(ENV_MAX_BATCH, bad))).expect_err(bad);
            assert!(err.to_string().contains("MAX_BATCH"), "{err}");
        }
        let cfg = Config::from_lookup(env(&with(ENV_MAX_BATCH, "7"))).expect("valid");
        assert_eq!(cfg.max_batch, 7);
    }

    #[test]
    fn batch_limits_default_and_refuse_bad_values() {
        let cfg = Config::from_lookup(env(&full())).expect("valid");
        assert_eq!(cfg.batch, BatchLimits::default());
        for (name, bad) in [
            (ENV_BATCH_MAX_ROWS, "0"),
            (ENV_BATCH_MAX_ROWS, "1000001"),
            (ENV_BATCH_MAX_ROWS, "many"),
            (ENV_BATCH_MAX_BYTES, "-1"),
            (ENV_BATCH_MAX_BYTES, "268435457"),
        ] {
            let err = Config::from_lookup(env(&with(name, bad))).expect_err(bad);
            assert!(err.to_string().contains(name), "{err}");
        }
        let cfg = Config::from_lookup(env(&with(ENV_BATCH_MAX_ROWS, "10"))).expect("valid");
        assert_eq!(cfg.batch.max_rows, 10);
    }
}
