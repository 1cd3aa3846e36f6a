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
            return Err(tag_taken(repository, &tag, &other));
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
                    return Err(tag_taken(repository, &tag, &other));
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

fn tag_taken(repository: &str, tag: &str, other: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "tag {tag} in repository {repository} already names another image ({other}), and the repository's tags are immutable: nothing was sent and no tag moved. The tag is derived from the layout's digest, so something other than irisctl put it there; delete that image (`aws ecr batch-delete-image --repository-name {repository} --image-ids imageTag={tag}`) if it is not wanted, then push again"
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
