//! Pushing an OCI image layout to an ECR repository by digest, with ECR's own API (no
//! registry protocol, no Docker): the tag the image gets is derived from the manifest
//! digest (`plan::tag_for`); a tag that already names this manifest means the image is
//! there and nothing is sent; a tag that names another image is refused before anything
//! is sent; otherwise only the blobs the repository lacks are uploaded, in parts, and the
//! manifest is put with the layout's exact bytes and media type. The decisions are in
//! `plan` (pure); this module only runs them over `aws::ecr`.

pub mod plan;

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};

use anyhow::{Context as _, bail};
use serde::Serialize;

use super::layout::{Blob, Layout};
use crate::aws::ecr::{Ecr, Put};
use plan::Existing;

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pushed {
    pub repository: String,
    pub repository_uri: String,
    /// The manifest digest ECR reports: the one deploy pins (`image_uri`). On AWS it is
    /// the sha256 of the layout's manifest bytes, `layout_digest`.
    pub digest: String,
    /// `sha256:<hex>` of the layout's manifest.
    pub layout_digest: String,
    pub tag: String,
    /// `<repository uri>@<digest>`: the image pinned by digest, never by tag.
    pub image_uri: String,
    /// Blobs sent (digests), and the ones the repository already had.
    pub uploaded: Vec<String>,
    pub skipped: Vec<String>,
    pub bytes_sent: u64,
    /// The tag already named this manifest: nothing was sent or put.
    pub already_pushed: bool,
}

/// `<repository uri>@<digest>`, the form Lambda's `ImageUri` takes to pin a digest.
pub fn image_uri(repository_uri: &str, digest: &str) -> String {
    format!("{repository_uri}@{digest}")
}

/// Pushes `layout` to `repository` (whose URI is `repository_uri`); `say` hears each step.
pub async fn push(
    ecr: &Ecr,
    repository: &str,
    repository_uri: &str,
    layout: &Layout,
    say: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Pushed> {
    let tag = plan::tag_for(&layout.manifest_digest)?;
    let manifest =
        std::str::from_utf8(&layout.manifest).context("the layout's manifest is not UTF-8 JSON")?;
    let mut pushed = Pushed {
        repository: repository.to_owned(),
        repository_uri: repository_uri.to_owned(),
        digest: String::new(),
        layout_digest: layout.manifest_digest.clone(),
        tag: tag.clone(),
        image_uri: String::new(),
        uploaded: Vec::new(),
        skipped: Vec::new(),
        bytes_sent: 0,
        already_pushed: false,
    };

    let now = ecr
        .image_by_tag(repository, &tag, &layout.media_type)
        .await?;
    match plan::existing(
        &layout.manifest,
        now.as_ref()
            .map(|i| (i.digest.as_str(), i.manifest.as_str())),
    ) {
        Existing::Same { digest } => {
            say(&format!(
                "{repository}:{tag} is already this image ({digest}); nothing to send"
            ));
            pushed.skipped = layout.blobs.iter().map(|b| b.digest.clone()).collect();
            pushed.skipped.dedup();
            pushed.already_pushed = true;
            return Ok(finish(pushed, digest));
        }
        Existing::Other {
            digest: Some(other),
        } => {
            return Err(tag_taken(repository, &tag, &other, "nothing was sent"));
        }
        Existing::Other { digest: None } => {}
    }

    let digests: Vec<String> = layout.blobs.iter().map(|b| b.digest.clone()).collect();
    let available = ecr.available_blobs(repository, &digests).await?;
    let uploads = plan::uploads(&layout.blobs, &available);
    for blob in &uploads.skip {
        say(&format!(
            "{} already in {repository}, not sent",
            blob.digest
        ));
        pushed.skipped.push(blob.digest.clone());
    }
    for blob in &uploads.send {
        upload(ecr, repository, blob)
            .await
            .with_context(|| format!("uploading {} to {repository}", blob.digest))?;
        say(&format!("sent {} ({} bytes)", blob.digest, blob.size));
        pushed.uploaded.push(blob.digest.clone());
        pushed.bytes_sent += blob.size;
    }

    let digest = match ecr
        .put_image(repository, manifest, &layout.media_type, &tag)
        .await?
    {
        Put::Stored(digest) => digest,
        // Another push got there first, or the tag was taken meanwhile: read it back.
        Put::Exists { code, message } => {
            let now = ecr
                .image_by_tag(repository, &tag, &layout.media_type)
                .await?;
            match plan::existing(
                &layout.manifest,
                now.as_ref()
                    .map(|i| (i.digest.as_str(), i.manifest.as_str())),
            ) {
                Existing::Same { digest } => digest,
                Existing::Other {
                    digest: Some(other),
                } => {
                    // Taken while the blobs were sent: they stay, unreferenced.
                    return Err(tag_taken(repository, &tag, &other, "no image was put"));
                }
                Existing::Other { digest: None } => {
                    bail!(
                        "ECR refused the image ({code}: {message}) but {repository}:{tag} names no image; push again"
                    )
                }
            }
        }
    };
    if digest != layout.manifest_digest {
        say(&format!(
            "warning: ECR reports digest {digest} for a manifest whose sha256 is {}; the pin is ECR's",
            layout.manifest_digest
        ));
    }
    Ok(finish(pushed, digest))
}

fn finish(mut pushed: Pushed, digest: String) -> Pushed {
    pushed.image_uri = image_uri(&pushed.repository_uri, &digest);
    pushed.digest = digest;
    pushed
}

fn tag_taken(repository: &str, tag: &str, other: &str, what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "tag {tag} in repository {repository} already names another image ({other}), and the repository's tags are immutable: {what} and no tag moved. The tag is derived from the layout's digest, so something other than irisctl put it there; delete that image (`aws ecr batch-delete-image --repository-name {repository} --image-ids imageTag={tag}`) if it is not wanted, then push again"
    )
}

/// One blob: InitiateLayerUpload, its parts in order, CompleteLayerUpload under its digest.
async fn upload(ecr: &Ecr, repository: &str, blob: &Blob) -> anyhow::Result<()> {
    let (upload_id, asked) = ecr.initiate_layer_upload(repository).await?;
    let part = plan::part_size(asked);
    let mut file =
        File::open(&blob.path).with_context(|| format!("opening {}", blob.path.display()))?;
    for (first, last) in plan::parts(blob.size, part)? {
        let mut bytes = vec![0u8; (last - first + 1) as usize];
        file.seek(SeekFrom::Start(first))
            .and_then(|_| file.read_exact(&mut bytes))
            .with_context(|| format!("reading {}", blob.path.display()))?;
        let received = ecr
            .upload_layer_part(repository, &upload_id, first, last, bytes)
            .await?;
        if let Some(received) = received
            && received != last as i64
        {
            bail!("ECR received bytes up to {received} of a part ending at {last}; push again");
        }
    }
    let stored = ecr
        .complete_layer_upload(repository, &upload_id, &blob.digest)
        .await?;
    if stored != blob.digest {
        bail!(
            "ECR stored the blob as {stored}, not {}: the bytes changed on the way; push again",
            blob.digest
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! AWS's answers moto does not give (docs/emulator-gaps.md): the IMMUTABLE tag's own
    //! `ImageTagAlreadyExistsException` when the tag is taken between the check and the
    //! put, and a CompleteLayerUpload that names another digest than the one sent.
    use super::*;
    use aws_sdk_ecr::operation::batch_check_layer_availability::BatchCheckLayerAvailabilityOutput;
    use aws_sdk_ecr::operation::batch_get_image::BatchGetImageOutput;
    use aws_sdk_ecr::operation::complete_layer_upload::CompleteLayerUploadOutput;
    use aws_sdk_ecr::operation::initiate_layer_upload::InitiateLayerUploadOutput;
    use aws_sdk_ecr::operation::put_image::PutImageError;
    use aws_sdk_ecr::operation::upload_layer_part::UploadLayerPartOutput;
    use aws_sdk_ecr::types::error::ImageTagAlreadyExistsException;
    use aws_sdk_ecr::types::{Image, ImageIdentifier, LayerFailure, LayerFailureCode};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn layout() -> (tempfile::TempDir, Layout) {
        let dir = tempfile::tempdir().expect("dir");
        crate::image::build(b"binary", "abc123", dir.path()).expect("build");
        let layout = crate::image::layout::read(dir.path()).expect("read");
        (dir, layout)
    }

    fn all_missing(layout: &Layout) -> BatchCheckLayerAvailabilityOutput {
        let mut out = BatchCheckLayerAvailabilityOutput::builder();
        for blob in &layout.blobs {
            out = out.failures(
                LayerFailure::builder()
                    .layer_digest(&blob.digest)
                    .failure_code(LayerFailureCode::MissingLayerDigest)
                    .build(),
            );
        }
        out.build()
    }

    #[tokio::test]
    async fn a_tag_taken_between_check_and_put_is_refused_naming_the_other_image() {
        let (_dir, layout) = layout();
        let other = format!("sha256:{}", "f".repeat(64));
        let gets = std::sync::atomic::AtomicUsize::new(0);
        let other_for_get = other.clone();
        // First read: the tag names nothing; after the refused put: another image.
        let get = mock!(aws_sdk_ecr::Client::batch_get_image).then_output(move || {
            if gets.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                BatchGetImageOutput::builder().build()
            } else {
                BatchGetImageOutput::builder()
                    .images(
                        Image::builder()
                            .image_id(
                                ImageIdentifier::builder()
                                    .image_digest(&other_for_get)
                                    .build(),
                            )
                            .image_manifest("{\"another\":\"manifest\"}")
                            .build(),
                    )
                    .build()
            }
        });
        let missing = all_missing(&layout);
        let check = mock!(aws_sdk_ecr::Client::batch_check_layer_availability)
            .then_output(move || missing.clone());
        let init = mock!(aws_sdk_ecr::Client::initiate_layer_upload).then_output(|| {
            InitiateLayerUploadOutput::builder()
                .upload_id("u-1")
                .part_size(10 * 1024 * 1024)
                .build()
        });
        let part = mock!(aws_sdk_ecr::Client::upload_layer_part)
            .then_output(|| UploadLayerPartOutput::builder().build());
        let digests: Vec<String> = layout.blobs.iter().map(|b| b.digest.clone()).collect();
        let completed = std::sync::Mutex::new(digests.into_iter());
        let complete = mock!(aws_sdk_ecr::Client::complete_layer_upload).then_output(move || {
            let next = completed.lock().expect("lock").next().unwrap_or_default();
            CompleteLayerUploadOutput::builder()
                .layer_digest(next)
                .build()
        });
        let put = mock!(aws_sdk_ecr::Client::put_image).then_error(|| {
            PutImageError::ImageTagAlreadyExistsException(
                ImageTagAlreadyExistsException::builder()
                    .message("The image tag already exists and cannot be overwritten because the repository is immutable.")
                    .build(),
            )
        });
        let ecr = Ecr::new(mock_client!(
            aws_sdk_ecr,
            RuleMode::MatchAny,
            [&get, &check, &init, &part, &complete, &put]
        ));
        let err = push(&ecr, "iris-qa", "uri", &layout, &|_| {})
            .await
            .expect_err("the tag names another image");
        let text = format!("{err:#}");
        assert!(
            text.contains("already names another image") && text.contains(&other),
            "{text}"
        );
        assert_eq!(put.num_calls(), 1);
        assert_eq!(get.num_calls(), 2);
    }

    #[tokio::test]
    async fn a_blob_ecr_stores_under_another_digest_stops_the_push_before_the_manifest() {
        let (_dir, layout) = layout();
        let get = mock!(aws_sdk_ecr::Client::batch_get_image)
            .then_output(|| BatchGetImageOutput::builder().build());
        let missing = all_missing(&layout);
        let check = mock!(aws_sdk_ecr::Client::batch_check_layer_availability)
            .then_output(move || missing.clone());
        let init = mock!(aws_sdk_ecr::Client::initiate_layer_upload).then_output(|| {
            InitiateLayerUploadOutput::builder()
                .upload_id("u-1")
                .build()
        });
        let received = std::sync::Mutex::new(vec![Some(0), None].into_iter());
        // First blob: ECR says it got only byte 0 of a longer part. Second try: it says
        // nothing, and then completes the blob under another digest.
        let part = mock!(aws_sdk_ecr::Client::upload_layer_part).then_output(move || {
            let next = received.lock().expect("lock").next().flatten();
            UploadLayerPartOutput::builder()
                .set_last_byte_received(next)
                .build()
        });
        let complete = mock!(aws_sdk_ecr::Client::complete_layer_upload).then_output(|| {
            CompleteLayerUploadOutput::builder()
                .layer_digest(format!("sha256:{}", "0".repeat(64)))
                .build()
        });
        let put = mock!(aws_sdk_ecr::Client::put_image)
            .then_error(|| PutImageError::unhandled("PutImage must not be called"));
        let ecr = Ecr::new(mock_client!(
            aws_sdk_ecr,
            RuleMode::MatchAny,
            [&get, &check, &init, &part, &complete, &put]
        ));
        let err = push(&ecr, "iris-qa", "uri", &layout, &|_| {})
            .await
            .expect_err("a short upload");
        let text = format!("{err:#}");
        // The config's one part ends past byte 0: ECR said it got less.
        assert!(text.contains("ECR received bytes up to 0"), "{text}");
        let err = push(&ecr, "iris-qa", "uri", &layout, &|_| {})
            .await
            .expect_err("a blob stored under another digest");
        let text = format!("{err:#}");
        assert!(
            text.contains(&format!("ECR stored the blob as sha256:{}", "0".repeat(64))),
            "{text}"
        );
        assert_eq!(put.num_calls(), 0, "no manifest put");
    }
}
