//! `image::push` against moto's ECR (5.2.5 implements the layer upload API): a push from
//! nothing sends every blob (the layer in two parts: it is larger than one 10 MiB part),
//! a second push of the same layout sends nothing, a layout that shares the layer sends
//! only its config, a tag that names another image is refused with nothing sent and no
//! tag moved, and the digest the push pins is the one ECR reports (DescribeImages,
//! BatchGetImage) for the manifest, whose bytes ECR returns unchanged.
//!
//! moto's digest quirk (docs/emulator-gaps.md): moto names an image by the sha256 of its
//! layer digests joined, not of the manifest bytes as AWS does, so on moto the pinned
//! digest differs from the layout's; the test checks moto's formula so a moto that changes
//! it fails here and the gap list gets updated.
//!
//! Run with the emulators: `scripts/test`, or `scripts/emulator start && eval
//! "$(scripts/emulator env)" && cargo test --test emulator -- --include-ignored image_push`.

use std::collections::BTreeSet;

use aws_sdk_ecr::types::{ImageIdentifier, ImageTagMutability};
use irisctl::aws::ecr::Ecr;
use irisctl::image::layout::{self, Layout};
use irisctl::image::push::{self, plan};

use crate::support::{Cleanup, Resource, emulators, unique_name};

/// Bytes gzip cannot shrink (xorshift), so the layer is as large as the "binary".
fn incompressible(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn build(binary: &[u8], revision: &str, dir: &std::path::Path) -> Layout {
    irisctl::image::build(binary, revision, dir).expect("image build");
    layout::read(dir).expect("read the layout back")
}

/// moto 5.2.5's image digest: sha256 over the manifest's layer digests, concatenated.
fn moto_digest(layout: &Layout) -> String {
    let joined: String = layout.blobs[1..]
        .iter()
        .map(|b| b.digest.as_str())
        .collect();
    format!("sha256:{}", irisctl::digest::sha256_hex(joined))
}

async fn tags_of(aws: &crate::support::Aws, repo: &str) -> BTreeSet<String> {
    aws.ecr
        .list_images()
        .repository_name(repo)
        .send()
        .await
        .expect("list images")
        .image_ids()
        .iter()
        .filter_map(|id| id.image_tag().map(str::to_owned))
        .collect()
}

#[tokio::test]
#[ignore = "needs moto (scripts/emulator start); scripts/test runs it"]
async fn a_layout_is_pushed_by_digest_sending_only_missing_blobs() {
    let aws = emulators().await;
    let mut cleanup = Cleanup::new();
    let repo = unique_name("image-push");
    cleanup.add(Resource::Repository(repo.clone()));
    aws.ecr
        .create_repository()
        .repository_name(&repo)
        .image_tag_mutability(ImageTagMutability::Immutable)
        .send()
        .await
        .expect("create repository");
    let ecr = Ecr::new(aws.ecr.clone());
    let uri = format!("000000000000.dkr.ecr.us-east-1.amazonaws.com/{repo}");
    let quiet = |_: &str| {};

    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().expect("dir")).collect();
    let binary = incompressible(12 * 1024 * 1024);
    let a = build(&binary, "rev-a", dirs[0].path());
    assert!(
        a.blobs[1].size > plan::MAX_PART,
        "the layer must need more than one part"
    );

    // From nothing: config and layer sent.
    let first = push::push(&ecr, &repo, &uri, &a, &quiet)
        .await
        .expect("first push");
    let all: Vec<String> = a.blobs.iter().map(|b| b.digest.clone()).collect();
    assert_eq!(first.uploaded, all);
    assert!(first.skipped.is_empty() && !first.already_pushed);
    assert_eq!(
        first.bytes_sent,
        a.blobs.iter().map(|b| b.size).sum::<u64>()
    );
    assert_eq!(first.tag, plan::tag_for(&a.manifest_digest).expect("tag"));
    assert_eq!(first.image_uri, format!("{uri}@{}", first.digest));

    // The pinned digest is ECR's, for this very manifest.
    let described = aws
        .ecr
        .describe_images()
        .repository_name(&repo)
        .image_ids(ImageIdentifier::builder().image_tag(&first.tag).build())
        .send()
        .await
        .expect("describe images");
    let detail = described.image_details().first().expect("one image");
    assert_eq!(detail.image_digest(), Some(first.digest.as_str()));
    let fetched = aws
        .ecr
        .batch_get_image()
        .repository_name(&repo)
        .image_ids(
            ImageIdentifier::builder()
                .image_digest(&first.digest)
                .build(),
        )
        .accepted_media_types(&a.media_type)
        .send()
        .await
        .expect("batch get image");
    let image = fetched.images().first().expect("the image by digest");
    assert_eq!(
        image.image_manifest().map(str::as_bytes),
        Some(a.manifest.as_slice()),
        "ECR returns the layout's manifest bytes unchanged"
    );
    assert_eq!(
        first.digest,
        moto_digest(&a),
        "moto's digest formula changed: update docs/emulator-gaps.md (on AWS the digest is {})",
        a.manifest_digest
    );
    assert_eq!(first.layout_digest, a.manifest_digest);

    // The same layout again: nothing sent.
    let again = push::push(&ecr, &repo, &uri, &a, &quiet)
        .await
        .expect("second push");
    assert!(
        again.already_pushed && again.uploaded.is_empty(),
        "{again:?}"
    );
    assert_eq!(
        (again.bytes_sent, again.digest.as_str()),
        (0, first.digest.as_str())
    );

    // Another label, the same binary: only the config is new.
    let b = build(&binary, "rev-b", dirs[1].path());
    assert_eq!(b.blobs[1].digest, a.blobs[1].digest);
    let relabelled = push::push(&ecr, &repo, &uri, &b, &quiet)
        .await
        .expect("relabelled push");
    assert_eq!(relabelled.uploaded, [b.blobs[0].digest.clone()]);
    assert_eq!(relabelled.skipped, [a.blobs[1].digest.clone()]);
    assert_eq!(relabelled.bytes_sent, b.blobs[0].size);

    // A tag that names another image does not move, and nothing is sent.
    let c = build(b"another binary", "rev-c", dirs[2].path());
    let c_tag = plan::tag_for(&c.manifest_digest).expect("tag");
    let squatter = std::str::from_utf8(&b.manifest).expect("utf-8");
    aws.ecr
        .put_image()
        .repository_name(&repo)
        .image_manifest(squatter)
        .image_manifest_media_type(&b.media_type)
        .image_tag(&c_tag)
        .send()
        .await
        .expect("put another image under c's tag");
    let tags_before = tags_of(&aws, &repo).await;
    let err = push::push(&ecr, &repo, &uri, &c, &quiet)
        .await
        .expect_err("the tag names another image");
    let text = format!("{err:#}");
    assert!(
        text.contains(&c_tag)
            && text.contains("already names another image")
            && text.contains("nothing was sent"),
        "{text}"
    );
    assert_eq!(tags_of(&aws, &repo).await, tags_before);
    let still = ecr
        .image_by_tag(&repo, &c_tag, &c.media_type)
        .await
        .expect("read the tag back")
        .expect("the tag names an image");
    assert_eq!(still.manifest.as_bytes(), b.manifest.as_slice());
    let c_blobs: Vec<String> = c.blobs.iter().map(|b| b.digest.clone()).collect();
    let there = ecr
        .available_blobs(&repo, &c_blobs)
        .await
        .expect("check blobs");
    assert!(there.is_empty(), "nothing of c was sent: {there:?}");

    cleanup.run(&aws).await.expect("cleanup");
}
