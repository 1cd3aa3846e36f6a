//! The ECR calls of a push, one per API action: which blobs the repository already has
//! (BatchCheckLayerAvailability), a blob's upload (InitiateLayerUpload, UploadLayerPart,
//! CompleteLayerUpload), the manifest (PutImage) and what a tag points to now
//! (BatchGetImage). What to upload and what an answer means for the push is decided in
//! `image::push`.

use std::collections::BTreeSet;

use aws_sdk_ecr::primitives::Blob;
use aws_sdk_ecr::types::{ImageIdentifier, LayerAvailability, LayerFailureCode};

use super::{Ecr, EcrError};

/// ECR's limit of digests per BatchCheckLayerAvailability call.
pub const LAYER_CHECK_LIMIT: usize = 100;

/// What PutImage did with a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// Stored; ECR's digest of the manifest.
    Stored(String),
    /// Refused because the image or the tag exists: `ImageAlreadyExistsException` (the same
    /// manifest under the same tag) or `ImageTagAlreadyExistsException` (an IMMUTABLE tag
    /// that names another image). moto answers the first in both cases, so the caller
    /// reads the tag back ([`Ecr::image_by_tag`]) instead of trusting the code.
    Exists { code: String, message: String },
}

/// An image as BatchGetImage returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    pub digest: String,
    pub manifest: String,
}

impl Ecr {
    /// Which of `digests` the repository holds as complete blobs. A digest ECR reports
    /// missing (`MissingLayerDigest`) or not yet available is simply not in the answer;
    /// any other failure (an invalid digest) is an error.
    pub async fn available_blobs(
        &self,
        repository: &str,
        digests: &[String],
    ) -> Result<BTreeSet<String>, EcrError> {
        let mut available = BTreeSet::new();
        for chunk in digests.chunks(LAYER_CHECK_LIMIT) {
            let out = self
                .client
                .batch_check_layer_availability()
                .repository_name(repository)
                .set_layer_digests(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| {
                    EcrError::from_sdk("BatchCheckLayerAvailability", repository, e, |e| {
                        e.is_repository_not_found_exception()
                    })
                })?;
            for layer in out.layers() {
                if layer.layer_availability() == Some(&LayerAvailability::Available)
                    && let Some(digest) = layer.layer_digest()
                {
                    available.insert(digest.to_owned());
                }
            }
            if let Some(bad) = out
                .failures()
                .iter()
                .find(|f| f.failure_code() != Some(&LayerFailureCode::MissingLayerDigest))
            {
                return Err(EcrError::local(
                    "BatchCheckLayerAvailability",
                    repository,
                    format!(
                        "{}: {} {}",
                        bad.layer_digest().unwrap_or("(no digest)"),
                        bad.failure_code().map_or("Unknown", |c| c.as_str()),
                        bad.failure_reason().unwrap_or_default()
                    ),
                ));
            }
        }
        Ok(available)
    }

    /// Starts one blob's upload: the upload id and the part size ECR asks for, if any.
    pub async fn initiate_layer_upload(
        &self,
        repository: &str,
    ) -> Result<(String, Option<i64>), EcrError> {
        let out = self
            .client
            .initiate_layer_upload()
            .repository_name(repository)
            .send()
            .await
            .map_err(|e| {
                EcrError::from_sdk("InitiateLayerUpload", repository, e, |e| {
                    e.is_repository_not_found_exception()
                })
            })?;
        let id = out.upload_id().filter(|id| !id.is_empty()).ok_or_else(|| {
            EcrError::local(
                "InitiateLayerUpload",
                repository,
                "the answer carries no upload id".into(),
            )
        })?;
        Ok((id.to_owned(), out.part_size()))
    }

    /// Sends bytes `first..=last` of the blob; returns the last byte ECR has received.
    pub async fn upload_layer_part(
        &self,
        repository: &str,
        upload_id: &str,
        first: u64,
        last: u64,
        bytes: Vec<u8>,
    ) -> Result<Option<i64>, EcrError> {
        let out = self
            .client
            .upload_layer_part()
            .repository_name(repository)
            .upload_id(upload_id)
            .part_first_byte(first as i64)
            .part_last_byte(last as i64)
            .layer_part_blob(Blob::new(bytes))
            .send()
            .await
            .map_err(|e| {
                EcrError::from_sdk("UploadLayerPart", repository, e, |e| {
                    e.is_repository_not_found_exception()
                })
            })?;
        Ok(out.last_byte_received())
    }

    /// Finishes an upload under `digest`; returns the digest ECR computed from the bytes
    /// it received (or `digest` when another push completed the same blob first:
    /// `LayerAlreadyExistsException`, which is no failure for content-addressed bytes).
    pub async fn complete_layer_upload(
        &self,
        repository: &str,
        upload_id: &str,
        digest: &str,
    ) -> Result<String, EcrError> {
        match self
            .client
            .complete_layer_upload()
            .repository_name(repository)
            .upload_id(upload_id)
            .layer_digests(digest)
            .send()
            .await
        {
            Ok(out) => Ok(out.layer_digest().unwrap_or(digest).to_owned()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_layer_already_exists_exception()) =>
            {
                Ok(digest.to_owned())
            }
            Err(err) => Err(EcrError::from_sdk(
                "CompleteLayerUpload",
                repository,
                err,
                |e| e.is_repository_not_found_exception(),
            )),
        }
    }

    /// Puts `manifest` (sent exactly as given) with its media type under `tag`.
    pub async fn put_image(
        &self,
        repository: &str,
        manifest: &str,
        media_type: &str,
        tag: &str,
    ) -> Result<Put, EcrError> {
        match self
            .client
            .put_image()
            .repository_name(repository)
            .image_manifest(manifest)
            .image_manifest_media_type(media_type)
            .image_tag(tag)
            .send()
            .await
        {
            Ok(out) => out
                .image()
                .and_then(|i| i.image_id())
                .and_then(|id| id.image_digest())
                .map(|d| Put::Stored(d.to_owned()))
                .ok_or_else(|| {
                    EcrError::local(
                        "PutImage",
                        repository,
                        "the answer carries no image digest".into(),
                    )
                }),
            Err(err) => {
                let exists = err.as_service_error().is_some_and(|e| {
                    e.is_image_already_exists_exception()
                        || e.is_image_tag_already_exists_exception()
                });
                let err = EcrError::from_sdk("PutImage", repository, err, |e| {
                    e.is_repository_not_found_exception()
                });
                if exists {
                    Ok(Put::Exists {
                        code: err.code.unwrap_or_default(),
                        message: err.message,
                    })
                } else {
                    Err(err)
                }
            }
        }
    }

    /// The image `tag` names, with its manifest in `media_type` (asked for explicitly:
    /// ECR converts a manifest to another format when the caller accepts only that one),
    /// or none when the tag names nothing.
    pub async fn image_by_tag(
        &self,
        repository: &str,
        tag: &str,
        media_type: &str,
    ) -> Result<Option<StoredImage>, EcrError> {
        let out = self
            .client
            .batch_get_image()
            .repository_name(repository)
            .image_ids(ImageIdentifier::builder().image_tag(tag).build())
            .accepted_media_types(media_type)
            .send()
            .await
            .map_err(|e| {
                EcrError::from_sdk("BatchGetImage", repository, e, |e| {
                    e.is_repository_not_found_exception()
                })
            })?;
        Ok(out.images().first().and_then(|image| {
            Some(StoredImage {
                digest: image.image_id()?.image_digest()?.to_owned(),
                manifest: image.image_manifest()?.to_owned(),
            })
        }))
    }
}
