//! The pure decisions of a push: the tag an image gets, which blobs to send and which the
//! repository already has, how a blob is cut into parts, and what a refused PutImage
//! means. No I/O; `push` runs them over `aws::ecr`.

use std::collections::BTreeSet;

use anyhow::bail;

use crate::image::layout::Blob;

/// The smallest part ECR takes (except the last of a blob): 5 MiB ("Amazon ECR service
/// quotas", minimum layer part size).
pub const MIN_PART: u64 = 5 * 1024 * 1024;
/// The largest part ECR takes: 10 MiB ("Amazon ECR service quotas", maximum layer part
/// size; the UploadLayerPart API reference allows 20 MiB per call, the quota is lower).
pub const MAX_PART: u64 = 10 * 1024 * 1024;
/// ECR's limit of parts per blob ("Amazon ECR service quotas", layer parts).
pub const MAX_PARTS: u64 = 4_200;
/// The longest tag ECR takes (PutImage: `imageTag`, 1 to 300 characters; OCI
/// distribution allows 128: the tag stays within both).
const MAX_TAG: usize = 128;

/// The tag a pushed image gets: `sha256-<the manifest digest's 64 hex digits>`. Derived
/// from the digest, so a tag never needs to move: in an IMMUTABLE repository it names
/// exactly one image for ever, and re-pushing the same layout is a no-op. The whole
/// digest (71 characters, within the 128 that tags may have, `[A-Za-z0-9_.-]` only),
/// not a prefix: two images can never claim one tag.
pub fn tag_for(digest: &str) -> anyhow::Result<String> {
    let Some(hex) = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    else {
        bail!("`{digest}` is not a sha256 manifest digest (sha256:<64 lowercase hex>)");
    };
    let tag = format!("sha256-{hex}");
    debug_assert!(tag.len() <= MAX_TAG);
    Ok(tag)
}

/// The part size to cut blobs into: what ECR asked for in InitiateLayerUpload, held
/// within the quotas' bounds; the largest allowed when it asked for nothing.
pub fn part_size(asked: Option<i64>) -> u64 {
    match asked {
        Some(n) if n > 0 => (n as u64).clamp(MIN_PART, MAX_PART),
        _ => MAX_PART,
    }
}

/// The byte ranges (first, last, both inclusive, as UploadLayerPart takes them) of a blob
/// of `size` bytes in parts of `part` bytes; the last part may be smaller.
pub fn parts(size: u64, part: u64) -> anyhow::Result<Vec<(u64, u64)>> {
    if size == 0 {
        bail!("an empty blob cannot be uploaded to ECR (it refuses empty uploads)");
    }
    if part == 0 {
        bail!("internal: a part size of 0");
    }
    let count = size.div_ceil(part);
    if count > MAX_PARTS {
        bail!(
            "a blob of {size} bytes needs {count} parts of {part} bytes; ECR takes at most {MAX_PARTS} parts per layer"
        );
    }
    Ok((0..count)
        .map(|i| (i * part, ((i + 1) * part).min(size) - 1))
        .collect())
}

/// What to send: every blob the repository does not have yet (each digest once, in the
/// manifest's order), and the ones it has.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Uploads {
    pub send: Vec<Blob>,
    pub skip: Vec<Blob>,
}

pub fn uploads(blobs: &[Blob], available: &BTreeSet<String>) -> Uploads {
    let mut seen = BTreeSet::new();
    let mut plan = Uploads::default();
    for blob in blobs {
        if !seen.insert(blob.digest.clone()) {
            continue;
        }
        if available.contains(&blob.digest) {
            plan.skip.push(blob.clone());
        } else {
            plan.send.push(blob.clone());
        }
    }
    plan
}

/// What a PutImage refused for "already exists" means, given what the tag names now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// The tag names this very manifest: the image is already pushed.
    Same { digest: String },
    /// The tag names another image (or nothing: the refusal was about something else).
    Other { digest: Option<String> },
}

pub fn existing(ours: &[u8], under_tag: Option<(&str, &str)>) -> Existing {
    match under_tag {
        Some((digest, manifest)) if manifest.as_bytes() == ours => Existing::Same {
            digest: digest.to_owned(),
        },
        Some((digest, _)) => Existing::Other {
            digest: Some(digest.to_owned()),
        },
        None => Existing::Other { digest: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn blob(digest: &str, size: u64) -> Blob {
        Blob {
            digest: digest.to_owned(),
            size,
            path: PathBuf::from(digest),
        }
    }

    #[test]
    fn the_tag_is_the_whole_digest_in_tag_characters() {
        let digest = format!("sha256:{}", "ab12".repeat(16));
        let tag = tag_for(&digest).expect("tag");
        assert_eq!(tag, format!("sha256-{}", "ab12".repeat(16)));
        assert!(tag.len() <= MAX_TAG);
        assert!(
            tag.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        );
        for bad in [
            "sha256:abc",
            "sha512:00",
            "ab12",
            &format!("sha256:{}", "AB12".repeat(16)),
        ] {
            let err = tag_for(bad).expect_err(bad).to_string();
            assert!(err.contains("not a sha256 manifest digest"), "{err}");
        }
    }

    #[test]
    fn the_part_size_follows_ecr_within_the_quotas() {
        assert_eq!(part_size(None), MAX_PART);
        assert_eq!(part_size(Some(0)), MAX_PART);
        assert_eq!(part_size(Some(-1)), MAX_PART);
        assert_eq!(part_size(Some(1024)), MIN_PART);
        assert_eq!(part_size(Some(6 * 1024 * 1024)), 6 * 1024 * 1024);
        assert_eq!(part_size(Some(20 * 1024 * 1024)), MAX_PART);
    }

    #[test]
    fn parts_cover_every_byte_once_and_only_the_last_is_short() {
        assert_eq!(parts(1, MIN_PART).expect("one"), [(0, 0)]);
        assert_eq!(
            parts(MIN_PART, MIN_PART).expect("exact"),
            [(0, MIN_PART - 1)]
        );
        let three = parts(2 * MIN_PART + 7, MIN_PART).expect("three");
        assert_eq!(
            three,
            [
                (0, MIN_PART - 1),
                (MIN_PART, 2 * MIN_PART - 1),
                (2 * MIN_PART, 2 * MIN_PART + 6)
            ]
        );
        assert!(
            parts(0, MIN_PART)
                .expect_err("empty")
                .to_string()
                .contains("empty blob")
        );
        let err = parts(MAX_PARTS * MIN_PART + 1, MIN_PART)
            .expect_err("too many")
            .to_string();
        assert!(err.contains("at most 4200 parts"), "{err}");
    }

    #[test]
    fn only_missing_blobs_are_sent_each_digest_once() {
        let blobs = [
            blob("sha256:c", 1),
            blob("sha256:l", 2),
            blob("sha256:l", 2),
        ];
        let none = uploads(&blobs, &BTreeSet::new());
        assert_eq!(none.send, [blob("sha256:c", 1), blob("sha256:l", 2)]);
        assert!(none.skip.is_empty());
        let all = uploads(
            &blobs,
            &BTreeSet::from(["sha256:c".into(), "sha256:l".into()]),
        );
        assert!(all.send.is_empty());
        assert_eq!(all.skip.len(), 2);
        let config_there = uploads(&blobs, &BTreeSet::from(["sha256:c".into()]));
        assert_eq!(config_there.send, [blob("sha256:l", 2)]);
    }

    #[test]
    fn an_existing_image_is_ours_only_when_the_tag_names_our_bytes() {
        assert_eq!(
            existing(b"{}", Some(("sha256:a", "{}"))),
            Existing::Same {
                digest: "sha256:a".into()
            }
        );
        assert_eq!(
            existing(b"{}", Some(("sha256:b", "{ }"))),
            Existing::Other {
                digest: Some("sha256:b".into())
            }
        );
        assert_eq!(existing(b"{}", None), Existing::Other { digest: None });
    }
}
