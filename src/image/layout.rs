//! Reading an OCI image layout back (`oci-layout`, `index.json`, `blobs/sha256/`) for a
//! push: the one manifest the index names, its exact bytes (a registry's digest is the
//! sha256 of those bytes, so they are never re-serialised), and the blobs it names, each
//! checked against its descriptor's size and sha256 before anything is sent. Owns no
//! upload and no AWS call.

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType};
use sha2::{Digest as _, Sha256};

/// One blob of the layout: what its descriptor says, and where its bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `sha256:<hex>`.
    pub digest: String,
    pub size: u64,
    pub path: PathBuf,
}

/// A layout that is ready to push: every byte checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub dir: PathBuf,
    /// The manifest exactly as stored in the layout.
    pub manifest: Vec<u8>,
    /// `sha256:<hex>` of [`Layout::manifest`].
    pub manifest_digest: String,
    pub media_type: String,
    /// The config first, then the layers in the manifest's order.
    pub blobs: Vec<Blob>,
}

/// Reads and checks the layout in `dir`: exactly one image manifest in the index, and
/// every blob present with the size and sha256 its descriptor names.
pub fn read(dir: &Path) -> anyhow::Result<Layout> {
    let marker = dir.join("oci-layout");
    if !marker.is_file() {
        bail!(
            "{} is not an OCI image layout (no oci-layout file); write one with `irisctl image build --out {}`",
            dir.display(),
            dir.display()
        );
    }
    let index_path = dir.join("index.json");
    let index_bytes =
        std::fs::read(&index_path).with_context(|| format!("reading {}", index_path.display()))?;
    let index: ImageIndex = serde_json::from_slice(&index_bytes)
        .with_context(|| format!("{} is not an OCI image index", index_path.display()))?;
    let [manifest_desc] = index.manifests().as_slice() else {
        bail!(
            "{} names {} manifests; a push takes a layout with exactly one image (as `irisctl image build` writes)",
            index_path.display(),
            index.manifests().len()
        );
    };
    if manifest_desc.media_type() != &MediaType::ImageManifest {
        bail!(
            "{} names a {} ; a push takes one OCI image manifest ({})",
            index_path.display(),
            manifest_desc.media_type(),
            MediaType::ImageManifest
        );
    }
    let manifest_blob = blob_of(dir, manifest_desc)?;
    let manifest = std::fs::read(&manifest_blob.path)
        .with_context(|| format!("reading {}", manifest_blob.path.display()))?;
    check(&manifest_blob, manifest.len() as u64, &sha256(&manifest))?;
    let parsed: ImageManifest = serde_json::from_slice(&manifest).with_context(|| {
        format!(
            "{} is not an OCI image manifest",
            manifest_blob.path.display()
        )
    })?;

    let mut blobs = Vec::new();
    for desc in std::iter::once(parsed.config()).chain(parsed.layers()) {
        let blob = blob_of(dir, desc)?;
        let (size, digest) = hash_file(&blob.path)?;
        check(&blob, size, &digest)?;
        blobs.push(blob);
    }
    Ok(Layout {
        dir: dir.to_owned(),
        manifest,
        manifest_digest: manifest_blob.digest,
        media_type: MediaType::ImageManifest.to_string(),
        blobs,
    })
}

/// Where `desc`'s bytes live; only sha256 digests (the layout's `blobs/sha256/`).
fn blob_of(dir: &Path, desc: &Descriptor) -> anyhow::Result<Blob> {
    let digest = desc.digest().to_string();
    let Some(hex) = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    else {
        bail!("the layout names a blob {digest}, which is not a sha256 digest");
    };
    Ok(Blob {
        path: dir.join("blobs").join("sha256").join(hex),
        size: desc.size(),
        digest,
    })
}

fn check(blob: &Blob, size: u64, digest: &str) -> anyhow::Result<()> {
    if size != blob.size || digest != blob.digest {
        bail!(
            "{} does not match its descriptor (descriptor: {} bytes, {}; file: {size} bytes, {digest}): the layout is damaged; build it again with `irisctl image build`",
            blob.path.display(),
            blob.size,
            blob.digest
        );
    }
    Ok(())
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", crate::digest::sha256_hex(bytes))
}

/// Size and `sha256:<hex>` of a file, read in chunks (a layer may be large).
fn hash_file(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut file = File::open(path).with_context(|| {
        format!(
            "opening {} (a blob the manifest names is missing: the layout is incomplete)",
            path.display()
        )
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, format!("sha256:{}", hex::encode(hasher.finalize()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_layout_reads_back_with_its_digest_and_blobs() {
        let dir = tempfile::tempdir().expect("dir");
        let built = crate::image::build(b"binary", "abc123", dir.path()).expect("build");
        let layout = read(dir.path()).expect("read");
        assert_eq!(layout.manifest_digest, built.manifest_digest);
        assert_eq!(layout.manifest_digest, sha256(&layout.manifest));
        let blobs: Vec<_> = layout
            .blobs
            .iter()
            .map(|b| (b.digest.clone(), b.size))
            .collect();
        assert_eq!(blobs, built.blobs);
    }

    #[test]
    fn a_damaged_or_missing_blob_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let built = crate::image::build(b"binary", "abc123", dir.path()).expect("build");
        let layer = dir
            .path()
            .join("blobs/sha256")
            .join(built.layer_digest.trim_start_matches("sha256:"));
        std::fs::write(&layer, b"not the layer").expect("overwrite");
        let err = format!("{:#}", read(dir.path()).expect_err("damaged"));
        assert!(err.contains("does not match its descriptor"), "{err}");
        std::fs::remove_file(&layer).expect("remove");
        let err = format!("{:#}", read(dir.path()).expect_err("missing"));
        assert!(err.contains("the layout is incomplete"), "{err}");
    }

    #[test]
    fn a_directory_that_is_no_layout_is_refused_with_how_to_make_one() {
        let dir = tempfile::tempdir().expect("dir");
        let err = format!("{:#}", read(dir.path()).expect_err("no layout"));
        assert!(
            err.contains("not an OCI image layout") && err.contains("irisctl image build"),
            "{err}"
        );
    }
}
