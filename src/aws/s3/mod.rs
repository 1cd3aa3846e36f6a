//! A thin S3 wrapper over one bucket: checksummed uploads, checksum look-ups, the
//! conditional writes the env lock is built on, the bucket set-up `local serve` needs, and
//! ([`versions`]) the version listing and batched deletes destroy empties a bucket with,
//! and ([`models`]) the version reads, listing and server-side copy of model releases.
//! Each method is one API call (or the pages of one listing). Must not decide what to upload, what to delete or when to
//! retry (the SDK's retry config handles throttling).

mod models;
mod versions;

pub use models::{Copied, Listed};
pub use versions::{DELETE_OBJECTS_LIMIT, KeyError, VersionMarker, VersionPage, VersionRef};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLoggingStatus, BucketVersioningStatus, ChecksumAlgorithm, ChecksumMode,
    VersioningConfiguration,
};

use super::error::Failure;

/// An S3 error with the operation and object (or, for bucket-level calls, the bucket) it
/// concerned.
#[derive(Debug, thiserror::Error)]
pub struct S3Error {
    pub operation: &'static str,
    pub bucket: String,
    /// Empty for calls on the bucket itself (ListObjectVersions, DeleteObjects, ...).
    pub key: String,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: String,
}

impl std::fmt::Display for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            write!(
                f,
                "S3 {} on bucket {}: {}",
                self.operation, self.bucket, self.message
            )
        } else {
            write!(
                f,
                "S3 {} s3://{}/{}: {}",
                self.operation, self.bucket, self.key, self.message
            )
        }
    }
}

impl S3Error {
    fn from_sdk<E>(
        operation: &'static str,
        bucket: &str,
        key: &str,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let Failure {
            status,
            code,
            message,
        } = Failure::from_sdk(&err);
        S3Error {
            operation,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            status,
            code,
            message,
        }
    }

    /// An error irisctl raised itself about a call (a request it could not build, a body
    /// it could not read), in the same shape as the service's.
    fn local(operation: &'static str, bucket: &str, key: &str, message: String) -> Self {
        S3Error {
            operation,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            status: None,
            code: None,
            message,
        }
    }

    /// The bucket does not exist (already deleted, or never created).
    pub fn is_missing_bucket(&self) -> bool {
        self.code.as_deref() == Some("NoSuchBucket")
    }

    /// A conditional write lost: the object exists (If-None-Match) or changed (If-Match).
    pub fn is_precondition_failed(&self) -> bool {
        self.status == Some(412)
            || self.code.as_deref() == Some("PreconditionFailed")
            // A concurrent conditional write in flight on the same key.
            || self.status == Some(409)
    }

    /// The service does not support a header sent (LocalStack and conditional deletes).
    pub fn is_not_implemented(&self) -> bool {
        self.status == Some(501) || self.code.as_deref() == Some("NotImplemented")
    }

    /// The object is absent. A missing *bucket* is not that: callers would otherwise say
    /// "not locked" or "not uploaded" about an env whose bucket is gone. (HeadObject has no
    /// body, so a HEAD on a missing bucket still reads as a missing object.)
    pub fn is_not_found(&self) -> bool {
        if self.is_missing_bucket() {
            return false;
        }
        self.status == Some(404) || matches!(self.code.as_deref(), Some("NoSuchKey" | "NotFound"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, code: Option<&str>) -> S3Error {
        S3Error {
            operation: "GetObject",
            bucket: "b".into(),
            key: "k".into(),
            status: Some(status),
            code: code.map(str::to_owned),
            message: String::new(),
        }
    }

    #[test]
    fn a_missing_bucket_is_not_a_missing_object() {
        assert!(error(404, Some("NoSuchKey")).is_not_found());
        assert!(error(404, None).is_not_found());
        assert!(!error(404, Some("NoSuchBucket")).is_not_found());
        assert!(!error(403, Some("AccessDenied")).is_not_found());
        assert!(error(404, Some("NoSuchBucket")).is_missing_bucket());
        assert!(!error(404, Some("NoSuchKey")).is_missing_bucket());
    }

    #[test]
    fn a_bucket_level_error_names_the_bucket_without_an_empty_key() {
        let mut err = error(503, Some("SlowDown"));
        err.operation = "ListObjectVersions";
        err.key = String::new();
        err.message = "Please reduce your request rate.".into();
        assert_eq!(
            err.to_string(),
            "S3 ListObjectVersions on bucket b: Please reduce your request rate."
        );
        assert_eq!(error(404, None).to_string(), "S3 GetObject s3://b/k: ");
    }
}

/// What HeadObject says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Base64 SHA-256 the object was uploaded with (`None` when it was uploaded without).
    pub sha256_b64: Option<String>,
    /// Empty in an unversioned bucket.
    pub version_id: String,
}

/// A stored object's body, entity tag and version.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub etag: String,
    /// `None` in an unversioned bucket.
    pub version_id: Option<String>,
}

impl Fetched {
    /// The entity tag and version this object was read at.
    pub fn written(&self) -> Written {
        Written {
            etag: self.etag.clone(),
            version_id: self.version_id.clone(),
        }
    }
}

/// What a conditional write stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub etag: String,
    /// `None` in an unversioned bucket.
    pub version_id: Option<String>,
}

/// The condition a PutObject is sent with (S3 conditional writes).
enum Precondition<'a> {
    /// Replace whatever the key holds.
    None,
    /// `If-None-Match: *`: only when the key does not exist.
    Absent,
    /// `If-Match: <etag>`: only while the key still holds this entity tag.
    Matches(&'a str),
}

/// A version id as S3 reports it: absent, empty and "null" (objects written while the
/// bucket was unversioned) all mean there is no version to address.
fn real_version(version: Option<&str>) -> Option<String> {
    version
        .filter(|v| !v.is_empty() && *v != "null")
        .map(str::to_owned)
}

/// One bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    client: Client,
    name: String,
}

impl Bucket {
    pub fn new(client: Client, name: impl Into<String>) -> Bucket {
        Bucket {
            client,
            name: name.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// HeadObject with checksum mode on; `None` when there is no such object.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, S3Error> {
        match self
            .client
            .head_object()
            .bucket(&self.name)
            .key(key)
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
                if err.is_not_found() {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// PutObject with a SHA-256 checksum S3 verifies before storing. Returns the version id
    /// (empty in an unversioned bucket).
    pub async fn put_checked(
        &self,
        key: &str,
        body: Vec<u8>,
        sha256_b64: &str,
    ) -> Result<String, S3Error> {
        let out = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(sha256_b64)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| S3Error::from_sdk("PutObject", &self.name, key, e))?;
        Ok(out.version_id().unwrap_or_default().to_owned())
    }

    /// PutObject, replacing whatever the key held. Returns the new object's entity tag and
    /// version.
    pub async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<Written, S3Error> {
        self.put_with(key, body, content_type, Precondition::None)
            .await
    }

    /// PutObject with `If-None-Match: *`: fails with a precondition error when the key
    /// exists. Returns the new object's entity tag and version.
    pub async fn put_if_absent(&self, key: &str, body: Vec<u8>) -> Result<Written, S3Error> {
        self.put_with(key, body, "application/json", Precondition::Absent)
            .await
    }

    /// PutObject with `If-Match: <etag>`: replaces the object only while it is still the
    /// one with that entity tag. S3 answers 412 PreconditionFailed when it changed, 404
    /// NoSuchKey when it is gone, 409 ConditionalRequestConflict on a concurrent write.
    pub async fn put_if_match(
        &self,
        key: &str,
        body: Vec<u8>,
        etag: &str,
    ) -> Result<Written, S3Error> {
        self.put_with(key, body, "application/json", Precondition::Matches(etag))
            .await
    }

    /// The one PutObject behind `put`, `put_if_absent` and `put_if_match`.
    async fn put_with(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        precondition: Precondition<'_>,
    ) -> Result<Written, S3Error> {
        let request = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body));
        let request = match precondition {
            Precondition::None => request,
            Precondition::Absent => request.if_none_match("*"),
            Precondition::Matches(etag) => request.if_match(etag),
        };
        let out = request
            .send()
            .await
            .map_err(|e| S3Error::from_sdk("PutObject", &self.name, key, e))?;
        Ok(Written {
            etag: out.e_tag().unwrap_or_default().to_owned(),
            version_id: real_version(out.version_id()),
        })
    }

    /// GetObject; `None` when there is no such object.
    pub async fn get(&self, key: &str) -> Result<Option<Fetched>, S3Error> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(err) => {
                let err = S3Error::from_sdk("GetObject", &self.name, key, err);
                return if err.is_not_found() {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        let etag = out.e_tag().unwrap_or_default().to_owned();
        let version_id = real_version(out.version_id());
        let body = out.body.collect().await.map_err(|e| {
            S3Error::local(
                "GetObject",
                &self.name,
                key,
                format!("reading the body: {e}"),
            )
        })?;
        Ok(Some(Fetched {
            body: body.into_bytes().to_vec(),
            etag,
            version_id,
        }))
    }

    /// DeleteObject only if the object still has entity tag `etag` (`If-Match`).
    pub async fn delete_if_match(&self, key: &str, etag: &str) -> Result<(), S3Error> {
        self.client
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .if_match(etag)
            .send()
            .await
            .map_err(|e| S3Error::from_sdk("DeleteObject", &self.name, key, e))?;
        Ok(())
    }

    /// DeleteObject of one version: removes exactly that version and nothing written after
    /// it, and leaves no delete marker. Deleting a version that is already gone succeeds.
    pub async fn delete_version(&self, key: &str, version_id: &str) -> Result<(), S3Error> {
        match self
            .client
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .version_id(version_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => {
                let err = S3Error::from_sdk("DeleteObject", &self.name, key, err);
                // AWS answers 204 for a version that is gone; other stores say NoSuchVersion
                // (404), and LocalStack "Invalid version id specified" (400) about an id it
                // issued itself (docs/emulator-gaps.md).
                let gone = err.is_not_found()
                    || err.code.as_deref() == Some("NoSuchVersion")
                    || (err.code.as_deref() == Some("InvalidArgument")
                        && err.message.contains("Invalid version id"));
                if gone { Ok(()) } else { Err(err) }
            }
        }
    }

    /// DeleteObject, unconditionally.
    pub async fn delete(&self, key: &str) -> Result<(), S3Error> {
        self.client
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .map_err(|e| S3Error::from_sdk("DeleteObject", &self.name, key, e))?;
        Ok(())
    }

    /// HeadBucket: whether the bucket exists. Any answer but "not found" is an error
    /// (e.g. 403: it exists in another account, or the caller may not see it).
    pub async fn exists(&self) -> Result<bool, S3Error> {
        match self.client.head_bucket().bucket(&self.name).send().await {
            Ok(_) => Ok(true),
            Err(err) => {
                let err = S3Error::from_sdk("HeadBucket", &self.name, "", err);
                // HeadBucket has no body, so a missing bucket is a bare 404.
                if err.status == Some(404) || err.is_missing_bucket() {
                    Ok(false)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// CreateBucket in the client's region.
    pub async fn create(&self) -> Result<(), S3Error> {
        self.client
            .create_bucket()
            .bucket(&self.name)
            .send()
            .await
            .map_err(|e| S3Error::from_sdk("CreateBucket", &self.name, "", e))?;
        Ok(())
    }

    /// PutBucketVersioning with status Enabled (idempotent).
    pub async fn enable_versioning(&self) -> Result<(), S3Error> {
        self.client
            .put_bucket_versioning()
            .bucket(&self.name)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| S3Error::from_sdk("PutBucketVersioning", &self.name, "", e))?;
        Ok(())
    }

    /// PutBucketLogging with an empty `BucketLoggingStatus`: server access logging off.
    /// S3 documents this as the way to disable logging; records for requests made before
    /// may still be delivered later (delivery is best effort and can lag).
    pub async fn disable_access_logging(&self) -> Result<(), S3Error> {
        self.client
            .put_bucket_logging()
            .bucket(&self.name)
            .bucket_logging_status(BucketLoggingStatus::builder().build())
            .send()
            .await
            .map_err(|e| S3Error::from_sdk("PutBucketLogging", &self.name, "", e))?;
        Ok(())
    }
}
