//! `irisctl image build`: the function as an OCI image, written as an OCI image layout
//! (`oci-layout`, `index.json`, `blobs/sha256/...`) without a container daemon. One layer
//! (the static `bootstrap` that `irisctl package` zips, see `layer`), a config with the
//! entrypoint, a non-root user and labels naming the source commit and the binary's
//! sha256, and no timestamps or history, so the same inputs always give the same
//! digest. The OCI types come from `oci-spec`; their JSON is written with sorted keys
//! (the crate keeps labels in a `HashMap`). Reading a layout back is `layout`; pushing
//! it to ECR by digest is `push`.

pub mod layer;
pub mod layout;
pub mod push;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, DescriptorBuilder, Digest, ImageConfigurationBuilder,
    ImageIndexBuilder, ImageManifestBuilder, MediaType, Os, RootFsBuilder, SCHEMA_VERSION,
};
use serde_json::Value;

/// The label naming the commit irisctl (and so the binary) was built from.
pub const LABEL_REVISION: &str = "org.opencontainers.image.revision";
/// The label holding the sha256 of `/bootstrap`, the code the image runs.
pub const LABEL_CODE_SHA256: &str = "io.irisctl.code.sha256";
/// The user the process runs as: not root (Lambda runs its own least-privileged user
/// whatever the image says; other runtimes honour this).
pub const USER: &str = "65532:65532";

/// What a build wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub dir: PathBuf,
    /// `sha256:<hex>` of the manifest: the image's identity in a registry.
    pub manifest_digest: String,
    pub manifest_media_type: String,
    pub config_digest: String,
    pub layer_digest: String,
    pub code_sha256: String,
    /// Every blob the manifest names (config first, then layers): `(digest, size)`.
    pub blobs: Vec<(String, u64)>,
}

/// Writes the layout for `binary` into `out` (created if missing; blobs already there
/// are left alone, they are content-addressed).
pub fn build(binary: &[u8], revision: &str, out: &Path) -> anyhow::Result<Built> {
    let code_sha256 = crate::digest::sha256_hex(binary);
    let layer = layer::bootstrap_layer(binary)?;
    let layer_digest = sha256_digest(&layer.gzip)?;

    let labels = HashMap::from([
        (LABEL_REVISION.to_owned(), revision.to_owned()),
        (LABEL_CODE_SHA256.to_owned(), code_sha256.clone()),
    ]);
    let config = ImageConfigurationBuilder::default()
        .architecture(Arch::Amd64)
        .os(Os::Linux)
        .config(
            ConfigBuilder::default()
                .entrypoint(vec![format!("/{}", layer::BOOTSTRAP_PATH)])
                .user(USER)
                .working_dir("/")
                .labels(labels)
                .build()
                .context("building the image config")?,
        )
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(vec![sha256_digest(&layer.tar)?.to_string()])
                .build()
                .context("building the image rootfs")?,
        )
        .build()
        .context("building the image configuration")?;
    let config_json = canonical_json(&config)?;
    let config_desc = descriptor(MediaType::ImageConfig, &config_json)?;
    let layer_desc = descriptor(MediaType::ImageLayerGzip, &layer.gzip)?;

    let manifest = ImageManifestBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageManifest)
        .config(config_desc.clone())
        .layers(vec![layer_desc.clone()])
        .build()
        .context("building the image manifest")?;
    let manifest_json = canonical_json(&manifest)?;
    let manifest_desc = descriptor(MediaType::ImageManifest, &manifest_json)?;
    let index = ImageIndexBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![manifest_desc.clone()])
        .build()
        .context("building the layout's index")?;

    let blobs_dir = out.join("blobs").join("sha256");
    fs::create_dir_all(&blobs_dir).with_context(|| format!("creating {}", blobs_dir.display()))?;
    for bytes in [&config_json, &layer.gzip, &manifest_json] {
        let path = blobs_dir.join(crate::digest::sha256_hex(bytes));
        crate::package::write_atomically(&path, bytes)?;
    }
    crate::package::write_atomically(
        &out.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    crate::package::write_atomically(&out.join("index.json"), &canonical_json(&index)?)?;

    Ok(Built {
        dir: out.to_owned(),
        manifest_digest: manifest_desc.digest().to_string(),
        manifest_media_type: MediaType::ImageManifest.to_string(),
        config_digest: config_desc.digest().to_string(),
        layer_digest: layer_digest.to_string(),
        code_sha256,
        blobs: vec![
            (config_desc.digest().to_string(), config_desc.size()),
            (layer_desc.digest().to_string(), layer_desc.size()),
        ],
    })
}

fn sha256_digest(bytes: &[u8]) -> anyhow::Result<Digest> {
    format!("sha256:{}", crate::digest::sha256_hex(bytes))
        .parse()
        .context("spelling a sha256 digest")
}

fn descriptor(media_type: MediaType, bytes: &[u8]) -> anyhow::Result<Descriptor> {
    DescriptorBuilder::default()
        .media_type(media_type)
        .size(bytes.len() as u64)
        .digest(sha256_digest(bytes)?)
        .build()
        .context("building a descriptor")
}

/// JSON with every object's keys sorted: the digest must not depend on a map's order.
fn canonical_json(value: &impl serde::Serialize) -> anyhow::Result<Vec<u8>> {
    fn sorted(v: Value) -> Value {
        match v {
            Value::Object(map) => {
                let mut entries: Vec<(String, Value)> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
            other => other,
        }
    }
    let value = serde_json::to_value(value).context("serialising an OCI document")?;
    serde_json::to_vec(&sorted(value)).context("serialising an OCI document")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_inputs_give_the_same_digest_and_a_different_binary_another() {
        let a = tempfile::tempdir().expect("dir");
        let b = tempfile::tempdir().expect("dir");
        let one = build(b"binary", "abc123", a.path()).expect("build");
        let two = build(b"binary", "abc123", b.path()).expect("build");
        assert_eq!(one.manifest_digest, two.manifest_digest);
        for name in ["index.json", "oci-layout"] {
            assert_eq!(
                fs::read(a.path().join(name)).expect("read"),
                fs::read(b.path().join(name)).expect("read")
            );
        }
        let other = build(b"binary2", "abc123", b.path()).expect("build");
        assert_ne!(other.manifest_digest, one.manifest_digest);
        let relabelled = build(b"binary", "def456", b.path()).expect("build");
        assert_ne!(relabelled.manifest_digest, one.manifest_digest);
        assert_eq!(relabelled.layer_digest, one.layer_digest);
    }

    #[test]
    fn the_config_names_entrypoint_user_and_labels_and_no_time() {
        let dir = tempfile::tempdir().expect("dir");
        let built = build(b"binary", "abc123", dir.path()).expect("build");
        let hex = built.config_digest.trim_start_matches("sha256:");
        let config: Value = serde_json::from_slice(
            &fs::read(dir.path().join("blobs/sha256").join(hex)).expect("config blob"),
        )
        .expect("json");
        assert_eq!(
            config["config"]["Entrypoint"],
            serde_json::json!(["/bootstrap"])
        );
        assert_eq!(config["config"]["User"], USER);
        assert_eq!(config["config"]["Labels"][LABEL_REVISION], "abc123");
        assert_eq!(
            config["config"]["Labels"][LABEL_CODE_SHA256],
            crate::digest::sha256_hex(b"binary")
        );
        assert!(config.get("created").is_none() && config.get("history").is_none());
        assert_eq!(
            config["rootfs"]["diff_ids"].as_array().map(Vec::len),
            Some(1)
        );
    }
}
