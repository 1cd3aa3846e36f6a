//! The calls model releases make on a bucket: one object version read or looked up
//! (HeadObject / GetObject with a version id), the keys under a prefix (ListObjectsV2),
//! and a server-side copy from another bucket (CopyObject) asking S3 for a SHA-256
//! checksum of the copy. What to copy and whether the copy is the right one is
//! `cmd::model`'s decision.

use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};

use super::{Bucket, ObjectInfo, S3Error, real_version};

/// One key ListObjectsV2 returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    /// When the current version was written (RFC 3339).
    pub last_modified: Option<String>,
}

/// What CopyObject stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Empty in an unversioned bucket.
    pub version_id: String,
    /// The copy's SHA-256 (base64), as S3 computed it.
    pub sha256_b64: Option<String>,
}

impl Bucket {
    /// HeadObject of one version (the current one when `version_id` is empty); `None` when
    /// that version or the key does not exist.
    pub async fn head_version(
        &self,
        key: &str,
        version_id: &str,
    ) -> Result<Option<ObjectInfo>, S3Error> {
        let version = real_version(Some(version_id));
        match self
            .client
            .head_object()
            .bucket(&self.name)
            .key(key)
            .set_version_id(version)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectInfo {
                sha256_b64: out.checksum_sha256().map(str::to_owned),
                version_id: out.version_id().unwrap_or_default().to_owned(),
            })),
            Err(err) => {
                let err = S3Error::from_sdk("HeadObject", &self.name, key, err);
                // A version id S3 does not know is a 400 or 404, depending on the store.
                if err.is_not_found() || err.status == Some(400) {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// GetObject of one version (the current one when `version_id` is empty); `None`
    /// when it does not exist.
    pub async fn get_version(
        &self,
        key: &str,
        version_id: &str,
    ) -> Result<Option<Vec<u8>>, S3Error> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .set_version_id(real_version(Some(version_id)))
            .send()
            .await
        {
            Ok(out) => out,
            Err(err) => {
                let err = S3Error::from_sdk("GetObject", &self.name, key, err);
                return if err.is_not_found() || err.status == Some(400) {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        let body = out.body.collect().await.map_err(|e| {
            S3Error::local(
                "GetObject",
                &self.name,
                key,
                format!("reading the body: {e}"),
            )
        })?;
        Ok(Some(body.into_bytes().to_vec()))
    }

    /// Every key under `prefix` (all pages of ListObjectsV2).
    pub async fn keys(&self, prefix: &str) -> Result<Vec<Listed>, S3Error> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.name)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| S3Error::from_sdk("ListObjectsV2", &self.name, prefix, e))?;
            keys.extend(page.contents().iter().filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_owned(),
                    last_modified: o
                        .last_modified()
                        .and_then(|t| t.fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime).ok()),
                })
            }));
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => return Ok(keys),
            }
        }
    }

    /// CopyObject of `source`'s `key` at `version_id` into this bucket under the same key,
    /// with S3 computing a SHA-256 checksum of the copy (a copy keeps the source's
    /// checksum algorithm unless the request names one; naming it makes S3 compute it).
    pub async fn copy_from(
        &self,
        source: &Bucket,
        key: &str,
        version_id: &str,
    ) -> Result<Copied, S3Error> {
        let mut from = format!("{}/{}", source.name, key);
        if let Some(v) = real_version(Some(version_id)) {
            from.push_str(&format!("?versionId={v}"));
        }
        let out = self
            .client
            .copy_object()
            .bucket(&self.name)
            .key(key)
            .copy_source(from)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(|e| S3Error::from_sdk("CopyObject", &self.name, key, e))?;
        Ok(Copied {
            version_id: out.version_id().unwrap_or_default().to_owned(),
            sha256_b64: out
                .copy_object_result()
                .and_then(|r| r.checksum_sha256())
                .map(str::to_owned),
        })
    }
}
