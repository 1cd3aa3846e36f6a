//! Putting a model artifact directory into an emulator bucket for `local serve --model`,
//! and the S3 location the function then reads (the same env vars the service template
//! sets). Refuses any endpoint that is not loopback: `local serve` creates buckets, and
//! must never do so in a real account.

use std::path::Path;

use anyhow::{Context as _, bail};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use iris_model::{Artifact, MANIFEST_FILE, MODEL_FILE};

use crate::aws::{self, endpoint, endpoint::Service};
use crate::deploy::artifacts;

/// Where the function finds its model: exactly the service template's env vars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelLocation {
    pub bucket: String,
    pub model_key: String,
    pub model_version_id: String,
    pub model_sha256: String,
    pub manifest_key: String,
    pub manifest_version_id: String,
}

impl ModelLocation {
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("MODEL_BUCKET", &self.bucket),
            ("MODEL_KEY", &self.model_key),
            ("MODEL_VERSION_ID", &self.model_version_id),
            ("MODEL_SHA256", &self.model_sha256),
            ("MANIFEST_KEY", &self.manifest_key),
            ("MANIFEST_VERSION_ID", &self.manifest_version_id),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect()
    }
}

/// An S3 client for the emulator, built like every other irisctl client
/// (`aws::sdk_config`, so profiles' `endpoint_url` count too), and refused unless S3 is
/// served from this machine.
pub async fn emulator_client() -> anyhow::Result<Client> {
    let sdk = aws::sdk_config().await;
    if let Some((_, url)) = endpoint::off_machine(&sdk, &[Service::S3])
        .into_iter()
        .next()
    {
        bail!(
            "refusing to upload to {}: `local serve --model` only talks to an emulator on \
             loopback; point AWS_ENDPOINT_URL at it (`eval \"$(scripts/emulator env)\"`)",
            url.as_deref().unwrap_or("real AWS (no endpoint override)")
        );
    }
    Ok(aws::s3(&sdk))
}

/// Verifies the artifact in `dir`, makes sure `bucket` exists with versioning on, and
/// uploads it under `models/<sha256>/` with S3 SHA-256 checksums.
pub async fn upload(client: &Client, bucket: &str, dir: &Path) -> anyhow::Result<ModelLocation> {
    let artifact = Artifact::load(dir)
        .with_context(|| format!("loading the model artifact in {}", dir.display()))?;
    let sha = artifact.manifest.sha256.clone();
    ensure_bucket(client, bucket).await?;
    let model_key = artifacts::model_key(&sha);
    let manifest_key = artifacts::manifest_key(&sha);
    let model_version_id = put(client, bucket, &model_key, &dir.join(MODEL_FILE)).await?;
    let manifest_version_id = put(client, bucket, &manifest_key, &dir.join(MANIFEST_FILE)).await?;
    Ok(ModelLocation {
        bucket: bucket.to_owned(),
        model_key,
        model_version_id,
        model_sha256: sha,
        manifest_key,
        manifest_version_id,
    })
}

async fn ensure_bucket(client: &Client, bucket: &str) -> anyhow::Result<()> {
    if client.head_bucket().bucket(bucket).send().await.is_err() {
        client
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))
            .with_context(|| format!("creating bucket {bucket} on the emulator"))?;
    }
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))
        .with_context(|| format!("enabling versioning on bucket {bucket}"))?;
    Ok(())
}

async fn put(client: &Client, bucket: &str, key: &str, file: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let checksum = crate::digest::sha256_b64(&bytes);
    let out = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .checksum_sha256(checksum)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))
        .with_context(|| format!("uploading {} to s3://{bucket}/{key}", file.display()))?;
    Ok(out.version_id().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_uses_the_template_variable_names() {
        let loc = ModelLocation {
            bucket: "b".into(),
            model_key: "models/s/model.bin".into(),
            model_version_id: "v1".into(),
            model_sha256: "s".into(),
            manifest_key: "models/s/manifest.json".into(),
            manifest_version_id: String::new(),
        };
        let env = loc.env();
        assert!(env.contains(&("MODEL_BUCKET".into(), "b".into())));
        assert!(env.contains(&("MANIFEST_VERSION_ID".into(), String::new())));
        assert_eq!(env.len(), 6);
    }
}
