//! Emptying a versioned S3 bucket: every object version and every delete marker, so that
//! CloudFormation can delete the bucket (real AWS refuses a non-empty one with
//! `BucketNotEmpty`). Owns the listing (ListObjectVersions, paginated) and the batched
//! deletes (DeleteObjects, at most 1,000 keys per call, the S3 limit), and reports each
//! key S3 refused. Must not delete the bucket itself: CloudFormation owns it.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

/// S3's limit of keys per DeleteObjects call.
pub const DELETE_BATCH: usize = 1000;
/// Full passes over the bucket before giving up on keys S3 keeps refusing (a pass picks
/// up versions written while emptying, and retries per-key errors such as `SlowDown`).
const MAX_PASSES: usize = 5;

/// What emptying did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Emptied {
    /// Object versions and delete markers deleted.
    pub deleted: usize,
    /// DeleteObjects calls made.
    pub batches: usize,
    /// The bucket did not exist (already deleted): nothing to do.
    pub missing: bool,
}

/// One key S3 refused to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    pub key: String,
    pub version_id: Option<String>,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (version {}): {} {}",
            self.key,
            self.version_id.as_deref().unwrap_or("null"),
            self.code,
            self.message
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmptyError {
    #[error("S3 {operation} on bucket {bucket}: {message}")]
    Call {
        operation: &'static str,
        bucket: String,
        code: Option<String>,
        message: String,
    },
    #[error(
        "bucket {bucket} still holds {} object version(s) S3 refused to delete after {passes} passes:\n  {}\nfix the cause (e.g. a bucket policy or object lock) and run the same command again",
        errors.len(),
        errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
    )]
    Refused {
        bucket: String,
        passes: usize,
        errors: Vec<KeyError>,
    },
}

impl EmptyError {
    fn call<E, R>(operation: &'static str, bucket: &str, err: SdkError<E, R>) -> EmptyError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        EmptyError::Call {
            operation,
            bucket: bucket.to_owned(),
            code: err.code().map(str::to_owned),
            message: err
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| aws_sdk_s3::error::DisplayErrorContext(&err).to_string()),
        }
    }
}

/// Delete every version and delete marker in `bucket`. A bucket that does not exist is
/// already empty. Throttling on a call is retried by the SDK's retry policy; keys S3
/// refuses one by one (`SlowDown`, `InternalError`, `AccessDenied`) are retried on the
/// next pass and, if they persist, reported together with their codes.
pub async fn empty(s3: &Client, bucket: &str) -> Result<Emptied, EmptyError> {
    let mut emptied = Emptied::default();
    let mut errors = Vec::new();
    for _ in 0..MAX_PASSES {
        errors.clear();
        let mut seen = 0;
        let mut key_marker: Option<String> = None;
        let mut version_marker: Option<String> = None;
        loop {
            let listed = match s3
                .list_object_versions()
                .bucket(bucket)
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await
            {
                Ok(listed) => listed,
                Err(err) if err.code() == Some("NoSuchBucket") => {
                    emptied.missing = seen == 0 && emptied.deleted == 0;
                    return Ok(emptied);
                }
                Err(err) => return Err(EmptyError::call("ListObjectVersions", bucket, err)),
            };
            let ids = identifiers(&listed).map_err(|message| EmptyError::Call {
                operation: "DeleteObjects",
                bucket: bucket.to_owned(),
                code: None,
                message,
            })?;
            seen += ids.len();
            for batch in ids.chunks(DELETE_BATCH) {
                let refused = delete_batch(s3, bucket, batch).await?;
                emptied.batches += 1;
                emptied.deleted += batch.len() - refused.len();
                errors.extend(refused);
            }
            if listed.is_truncated() != Some(true) {
                break;
            }
            key_marker = listed.next_key_marker().map(str::to_owned);
            version_marker = listed.next_version_id_marker().map(str::to_owned);
        }
        if seen == 0 {
            return Ok(emptied);
        }
    }
    if errors.is_empty() {
        // Every pass found new versions: someone keeps writing to the bucket.
        return Err(EmptyError::Call {
            operation: "ListObjectVersions",
            bucket: bucket.to_owned(),
            code: None,
            message: format!(
                "new object versions kept appearing during {MAX_PASSES} passes; stop whatever \
                 writes to the bucket and run the same command again"
            ),
        });
    }
    Err(EmptyError::Refused {
        bucket: bucket.to_owned(),
        passes: MAX_PASSES,
        errors,
    })
}

/// The versions and delete markers of one listing page, as DeleteObjects identifiers.
fn identifiers(
    listed: &aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput,
) -> Result<Vec<ObjectIdentifier>, String> {
    let versions = listed.versions().iter().map(|v| (v.key(), v.version_id()));
    let markers = listed
        .delete_markers()
        .iter()
        .map(|m| (m.key(), m.version_id()));
    versions
        .chain(markers)
        .filter_map(|(key, version)| Some((key?, version)))
        .map(|(key, version)| {
            ObjectIdentifier::builder()
                .key(key)
                .set_version_id(version.map(str::to_owned))
                .build()
                .map_err(|err| format!("object identifier for {key}: {err}"))
        })
        .collect()
}

/// One DeleteObjects call (quiet: S3 answers only with the keys it refused).
async fn delete_batch(
    s3: &Client,
    bucket: &str,
    batch: &[ObjectIdentifier],
) -> Result<Vec<KeyError>, EmptyError> {
    let delete = Delete::builder()
        .set_objects(Some(batch.to_vec()))
        .quiet(true)
        .build()
        .map_err(|err| EmptyError::Call {
            operation: "DeleteObjects",
            bucket: bucket.to_owned(),
            code: None,
            message: err.to_string(),
        })?;
    let out = s3
        .delete_objects()
        .bucket(bucket)
        .delete(delete)
        .send()
        .await
        .map_err(|err| EmptyError::call("DeleteObjects", bucket, err))?;
    Ok(out
        .errors()
        .iter()
        .map(|e| KeyError {
            key: e.key().unwrap_or_default().to_owned(),
            version_id: e.version_id().map(str::to_owned),
            code: e.code().unwrap_or("Unknown").to_owned(),
            message: e.message().unwrap_or_default().to_owned(),
        })
        .collect())
}
