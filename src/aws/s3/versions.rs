//! The calls that see a versioned bucket's history: one page of ListObjectVersions
//! (object versions and delete markers alike, as [`VersionRef`]s) and one DeleteObjects
//! call over such references. Destroy empties buckets with them; what to delete, how many
//! passes and how to report refusals is its policy, not this module's.

use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use super::{Bucket, S3Error};

/// S3's limit of keys per DeleteObjects call.
pub const DELETE_OBJECTS_LIMIT: usize = 1000;

/// One object version or delete marker: what DeleteObjects needs to remove it for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRef {
    pub key: String,
    /// `None` for an object written while the bucket was unversioned.
    pub version_id: Option<String>,
}

/// Where the next ListObjectVersions page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionMarker {
    pub key: Option<String>,
    pub version_id: Option<String>,
}

/// One page of ListObjectVersions: versions first, then delete markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionPage {
    pub entries: Vec<VersionRef>,
    /// `None` on the last page.
    pub next: Option<VersionMarker>,
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

impl Bucket {
    /// One page of ListObjectVersions, starting at `from` (the first page when `None`).
    /// A missing bucket is an error ([`S3Error::is_missing_bucket`]).
    pub async fn list_versions_page(
        &self,
        from: Option<&VersionMarker>,
    ) -> Result<VersionPage, S3Error> {
        let listed = self
            .client
            .list_object_versions()
            .bucket(&self.name)
            .set_key_marker(from.and_then(|m| m.key.clone()))
            .set_version_id_marker(from.and_then(|m| m.version_id.clone()))
            .send()
            .await
            .map_err(|e| S3Error::from_sdk("ListObjectVersions", &self.name, "", e))?;
        Ok(page(&listed))
    }

    /// One quiet DeleteObjects call (S3 answers only with the keys it refused) over at most
    /// [`DELETE_OBJECTS_LIMIT`] references. Returns the refused keys.
    pub async fn delete_versions(&self, batch: &[VersionRef]) -> Result<Vec<KeyError>, S3Error> {
        let local = |message: String| S3Error::local("DeleteObjects", &self.name, "", message);
        if batch.len() > DELETE_OBJECTS_LIMIT {
            return Err(local(format!(
                "{} keys in one call; S3 takes at most {DELETE_OBJECTS_LIMIT}",
                batch.len()
            )));
        }
        let objects = batch
            .iter()
            .map(|v| {
                ObjectIdentifier::builder()
                    .key(&v.key)
                    .set_version_id(v.version_id.clone())
                    .build()
                    .map_err(|err| local(format!("object identifier for {}: {err}", v.key)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|err| local(err.to_string()))?;
        let out = self
            .client
            .delete_objects()
            .bucket(&self.name)
            .delete(delete)
            .send()
            .await
            .map_err(|e| S3Error::from_sdk("DeleteObjects", &self.name, "", e))?;
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
}

/// A listing page as references; entries without a key (never sent by S3) are skipped.
fn page(listed: &ListObjectVersionsOutput) -> VersionPage {
    let versions = listed.versions().iter().map(|v| (v.key(), v.version_id()));
    let markers = listed
        .delete_markers()
        .iter()
        .map(|m| (m.key(), m.version_id()));
    let entries = versions
        .chain(markers)
        .filter_map(|(key, version)| {
            Some(VersionRef {
                key: key?.to_owned(),
                version_id: version.map(str::to_owned),
            })
        })
        .collect();
    let next = (listed.is_truncated() == Some(true)).then(|| VersionMarker {
        key: listed.next_key_marker().map(str::to_owned),
        version_id: listed.next_version_id_marker().map(str::to_owned),
    });
    VersionPage { entries, next }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
    use aws_sdk_s3::types::{DeleteMarkerEntry, ObjectVersion};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[tokio::test]
    async fn a_page_lists_versions_and_delete_markers_and_where_the_next_starts() {
        let list = mock!(aws_sdk_s3::Client::list_object_versions)
            .match_requests(|req| {
                req.key_marker() == Some("k1") && req.version_id_marker() == Some("v1")
            })
            .then_output(|| {
                ListObjectVersionsOutput::builder()
                    .versions(ObjectVersion::builder().key("a").version_id("va").build())
                    .versions(ObjectVersion::builder().key("b").build())
                    .delete_markers(
                        DeleteMarkerEntry::builder()
                            .key("c")
                            .version_id("dm")
                            .build(),
                    )
                    .is_truncated(true)
                    .next_key_marker("k2")
                    .next_version_id_marker("v2")
                    .build()
            });
        let s3 = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&list]);
        let bucket = Bucket::new(s3, "b");
        let from = VersionMarker {
            key: Some("k1".into()),
            version_id: Some("v1".into()),
        };
        let page = bucket.list_versions_page(Some(&from)).await.expect("page");
        let keys: Vec<_> = page
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.version_id.as_deref()))
            .collect();
        assert_eq!(keys, [("a", Some("va")), ("b", None), ("c", Some("dm"))]);
        assert_eq!(
            page.next,
            Some(VersionMarker {
                key: Some("k2".into()),
                version_id: Some("v2".into())
            })
        );
    }

    #[tokio::test]
    async fn more_keys_than_s3_takes_are_refused_before_any_call() {
        let delete = mock!(aws_sdk_s3::Client::delete_objects)
            .then_output(|| DeleteObjectsOutput::builder().build());
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&delete]);
        let batch = vec![
            VersionRef {
                key: "k".into(),
                version_id: None
            };
            DELETE_OBJECTS_LIMIT + 1
        ];
        let err = Bucket::new(s3, "b")
            .delete_versions(&batch)
            .await
            .expect_err("too many keys");
        assert!(err.to_string().contains("at most 1000"), "{err}");
        assert_eq!(delete.num_calls(), 0);
    }
}
