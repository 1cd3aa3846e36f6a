//! Putting a model artifact directory into an emulator bucket for `local serve --model`,
//! and the S3 location the function then reads (the same env vars the service template
//! sets). Refuses any endpoint that is not loopback: `local serve` creates buckets, and
//! must never do so in a real account.

use std::path::Path;

use anyhow::{Context as _, bail};
use aws_sdk_s3::Client;
use iris_model::{Artifact, MANIFEST_FILE, MODEL_FILE};

use crate::aws::s3::Bucket;
use crate::aws::{self, endpoint, endpoint::Service};
use crate::contract::function_env;
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
            (function_env::MODEL_BUCKET, &self.bucket),
            (function_env::MODEL_KEY, &self.model_key),
            (function_env::MODEL_VERSION_ID, &self.model_version_id),
            (function_env::MODEL_SHA256, &self.model_sha256),
            (function_env::MANIFEST_KEY, &self.manifest_key),
            (function_env::MANIFEST_VERSION_ID, &self.manifest_version_id),
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
    let bucket = Bucket::new(client.clone(), bucket);
    ensure_versioned_bucket(&bucket).await?;
    let model_key = artifacts::model_key(&sha);
    let manifest_key = artifacts::manifest_key(&sha);
    let model_version_id = put(&bucket, &model_key, &dir.join(MODEL_FILE)).await?;
    let manifest_version_id = put(&bucket, &manifest_key, &dir.join(MANIFEST_FILE)).await?;
    Ok(ModelLocation {
        bucket: bucket.name().to_owned(),
        model_key,
        model_version_id,
        model_sha256: sha,
        manifest_key,
        manifest_version_id,
    })
}

/// Creates the bucket when it is missing and turns versioning on: the function reads the
/// model by version id, as it does from a deployed env's bucket.
async fn ensure_versioned_bucket(bucket: &Bucket) -> anyhow::Result<()> {
    let name = bucket.name();
    let exists = bucket
        .exists()
        .await
        .with_context(|| format!("checking whether bucket {name} exists on the emulator"))?;
    if !exists {
        bucket
            .create()
            .await
            .with_context(|| format!("creating bucket {name} on the emulator"))?;
    }
    bucket
        .enable_versioning()
        .await
        .with_context(|| format!("enabling versioning on bucket {name}"))?;
    Ok(())
}

/// Uploads one file with the checksum S3 verifies before storing it; returns its version.
async fn put(bucket: &Bucket, key: &str, file: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let checksum = crate::digest::sha256_b64(&bytes);
    bucket
        .put_checked(key, bytes, &checksum)
        .await
        .with_context(|| {
            format!(
                "uploading {} to s3://{}/{key}",
                file.display(),
                bucket.name()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::create_bucket::CreateBucketOutput;
    use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
    use aws_sdk_s3::operation::put_bucket_versioning::PutBucketVersioningOutput;
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_sdk_s3::types::{BucketVersioningStatus, ChecksumAlgorithm};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[tokio::test]
    async fn a_missing_bucket_is_created_versioned_and_the_file_uploaded_with_its_checksum() {
        let head = mock!(aws_sdk_s3::Client::head_bucket)
            .sequence()
            .http_status(404, None)
            .build();
        let create = mock!(aws_sdk_s3::Client::create_bucket)
            .match_requests(|req| req.bucket() == Some("iris-local-models"))
            .then_output(|| CreateBucketOutput::builder().build());
        let versioning = mock!(aws_sdk_s3::Client::put_bucket_versioning)
            .match_requests(|req| {
                req.versioning_configuration()
                    .and_then(|c| c.status())
                    .is_some_and(|s| *s == BucketVersioningStatus::Enabled)
            })
            .then_output(|| PutBucketVersioningOutput::builder().build());
        let expected = crate::digest::sha256_b64(b"model bytes");
        let put_object = mock!(aws_sdk_s3::Client::put_object)
            .match_requests(move |req| {
                req.key() == Some("models/s/model.bin")
                    && req.checksum_sha256() == Some(expected.as_str())
                    && req.checksum_algorithm() == Some(&ChecksumAlgorithm::Sha256)
            })
            .then_output(|| PutObjectOutput::builder().version_id("v1").build());
        let s3 = mock_client!(
            aws_sdk_s3,
            RuleMode::Sequential,
            [&head, &create, &versioning, &put_object]
        );
        let bucket = Bucket::new(s3, "iris-local-models");
        ensure_versioned_bucket(&bucket)
            .await
            .expect("bucket set up");
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("model.bin");
        std::fs::write(&file, b"model bytes").expect("write");
        let version = put(&bucket, "models/s/model.bin", &file)
            .await
            .expect("uploaded");
        assert_eq!(version, "v1");
        assert_eq!(create.num_calls(), 1);
        assert_eq!(put_object.num_calls(), 1);
    }

    #[tokio::test]
    async fn an_existing_bucket_is_not_created_again_and_a_refusal_is_reported() {
        let head = mock!(aws_sdk_s3::Client::head_bucket)
            .then_output(|| HeadBucketOutput::builder().build());
        let create = mock!(aws_sdk_s3::Client::create_bucket)
            .then_output(|| CreateBucketOutput::builder().build());
        let versioning = mock!(aws_sdk_s3::Client::put_bucket_versioning)
            .then_output(|| PutBucketVersioningOutput::builder().build());
        let s3 = mock_client!(
            aws_sdk_s3,
            RuleMode::MatchAny,
            [&head, &create, &versioning]
        );
        ensure_versioned_bucket(&Bucket::new(s3, "b"))
            .await
            .expect("bucket set up");
        assert_eq!(create.num_calls(), 0);
        assert_eq!(versioning.num_calls(), 1);

        let denied = mock!(aws_sdk_s3::Client::head_bucket)
            .sequence()
            .http_status(403, None)
            .build();
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&denied, &create]);
        let err = ensure_versioned_bucket(&Bucket::new(s3, "b"))
            .await
            .expect_err("403 is not 'missing'");
        assert!(
            format!("{err:#}").contains("checking whether bucket b exists"),
            "{err:#}"
        );
        assert_eq!(create.num_calls(), 0);
    }

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
