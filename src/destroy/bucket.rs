//! Emptying a versioned S3 bucket: every object version and every delete marker, so that
//! CloudFormation can delete the bucket (real AWS refuses a non-empty one with
//! `BucketNotEmpty`). Owns the policy: page through every version and delete marker, delete
//! each page in batches as large as S3 takes, pass again until a pass finds nothing, and
//! report each key S3 keeps refusing. The calls themselves are [`Bucket`]'s. Must not
//! delete the bucket itself: CloudFormation owns it.

use aws_sdk_s3::Client;

/// A key S3 refused, as [`EmptyError::Refused`] lists it.
pub use crate::aws::s3::KeyError;
use crate::aws::s3::{Bucket, DELETE_OBJECTS_LIMIT, S3Error, VersionMarker, VersionRef};

/// Keys per DeleteObjects call: as many as S3 takes.
pub const DELETE_BATCH: usize = DELETE_OBJECTS_LIMIT;
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

#[derive(Debug, thiserror::Error)]
pub enum EmptyError {
    /// A listing or delete call failed as a whole (after the SDK's retries).
    #[error(transparent)]
    S3(#[from] S3Error),
    #[error(
        "S3 ListObjectVersions on bucket {bucket}: new object versions kept appearing during \
         {passes} passes; stop whatever writes to the bucket and run the same command again"
    )]
    KeptChanging { bucket: String, passes: usize },
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

/// Delete every version and delete marker in bucket `name`. A bucket that does not exist is
/// already empty. Throttling on a call is retried by the SDK's retry policy; keys S3
/// refuses one by one (`SlowDown`, `InternalError`, `AccessDenied`) are retried on the
/// next pass and, if they persist, reported together with their codes.
pub async fn empty(s3: &Client, name: &str) -> Result<Emptied, EmptyError> {
    empty_keeping(s3, name, None).await
}

/// [`empty`], leaving `keep` in place: the env lock destroy still holds (a version, or
/// with no version id, every version of that key). A bucket holding only `keep` is empty.
pub async fn empty_keeping(
    s3: &Client,
    name: &str,
    keep: Option<&VersionRef>,
) -> Result<Emptied, EmptyError> {
    let kept = |entry: &VersionRef| {
        keep.is_some_and(|k| {
            k.key == entry.key && (k.version_id.is_none() || k.version_id == entry.version_id)
        })
    };
    let bucket = Bucket::new(s3.clone(), name);
    let mut emptied = Emptied::default();
    let mut errors = Vec::new();
    for _ in 0..MAX_PASSES {
        errors.clear();
        let mut seen = 0;
        let mut from: Option<VersionMarker> = None;
        loop {
            let page = match bucket.list_versions_page(from.as_ref()).await {
                Ok(page) => page,
                Err(err) if err.is_missing_bucket() => {
                    emptied.missing = seen == 0 && emptied.deleted == 0;
                    return Ok(emptied);
                }
                Err(err) => return Err(err.into()),
            };
            let entries: Vec<VersionRef> = page.entries.into_iter().filter(|e| !kept(e)).collect();
            seen += entries.len();
            for batch in entries.chunks(DELETE_BATCH) {
                let refused = bucket.delete_versions(batch).await?;
                emptied.batches += 1;
                emptied.deleted += batch.len() - refused.len();
                errors.extend(refused);
            }
            match page.next {
                Some(next) => from = Some(next),
                None => break,
            }
        }
        if seen == 0 {
            return Ok(emptied);
        }
    }
    if errors.is_empty() {
        // Every pass found new versions: someone keeps writing to the bucket.
        return Err(EmptyError::KeptChanging {
            bucket: name.to_owned(),
            passes: MAX_PASSES,
        });
    }
    Err(EmptyError::Refused {
        bucket: name.to_owned(),
        passes: MAX_PASSES,
        errors,
    })
}
