//! Fetching the model artifact from S3: the only AWS code in the function. Owns the
//! GetObject calls (pinned to an object version when one is configured) and a size bound;
//! must not verify or interpret the bytes (that is `loaded`).

use aws_sdk_s3::Client;

use crate::config::{Config, ObjectRef};
use crate::loaded::{LoadedModel, VerifyError};

/// Refuse objects larger than this: the Iris model is kilobytes; a wrong key pointing at
/// something huge must not exhaust the function's memory.
pub const MAX_OBJECT_BYTES: i64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("s3://{bucket}/{object}: GetObject failed")]
    Get {
        bucket: String,
        object: ObjectRef,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "s3://{bucket}/{object}: object is {size} bytes, over the {MAX_OBJECT_BYTES}-byte bound"
    )]
    TooLarge {
        bucket: String,
        object: ObjectRef,
        size: i64,
    },
    #[error("s3://{bucket}/{model} with manifest {manifest}: the artifact failed verification")]
    Verify {
        bucket: String,
        model: ObjectRef,
        manifest: ObjectRef,
        #[source]
        source: VerifyError,
    },
}

/// An S3 client from the standard AWS environment (credentials, region, and
/// `AWS_ENDPOINT_URL[_S3]` for the emulators, which need path-style addressing).
pub async fn client() -> Client {
    let shared = aws_config::load_from_env().await;
    let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let conf = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(custom_endpoint)
        .build();
    Client::from_conf(conf)
}

/// Downloads model.bin and manifest.json concurrently, then verifies them.
pub async fn load(client: &Client, cfg: &Config) -> Result<LoadedModel, LoadError> {
    let (model, manifest) = tokio::try_join!(
        get(client, &cfg.bucket, &cfg.model),
        get(client, &cfg.bucket, &cfg.manifest)
    )?;
    LoadedModel::verify(
        &model.0,
        &manifest.0,
        &cfg.model_sha256,
        model.1,
        manifest.1,
    )
    .map_err(|source| LoadError::Verify {
        bucket: cfg.bucket.clone(),
        model: cfg.model.clone(),
        manifest: cfg.manifest.clone(),
        source,
    })
}

/// The object's bytes and the version id S3 actually served.
async fn get(
    client: &Client,
    bucket: &str,
    object: &ObjectRef,
) -> Result<(Vec<u8>, Option<String>), LoadError> {
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| LoadError::Get {
        bucket: bucket.to_owned(),
        object: object.clone(),
        source,
    };
    let out = client
        .get_object()
        .bucket(bucket)
        .key(&object.key)
        .set_version_id(object.version_id.clone())
        .send()
        .await
        // DisplayErrorContext keeps the service's error code (NoSuchKey, AccessDenied) in the log.
        .map_err(|e| {
            fail(
                aws_sdk_s3::error::DisplayErrorContext(&e)
                    .to_string()
                    .into(),
            )
        })?;
    let size = out.content_length().unwrap_or(0);
    if size > MAX_OBJECT_BYTES {
        return Err(LoadError::TooLarge {
            bucket: bucket.to_owned(),
            object: object.clone(),
            size,
        });
    }
    // "null" is what S3 reports for objects written before versioning was enabled.
    let version = out
        .version_id()
        .filter(|v| !v.is_empty() && *v != "null")
        .map(str::to_owned);
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| fail(Box::new(e)))?
        .into_bytes()
        .to_vec();
    Ok((bytes, version))
}
