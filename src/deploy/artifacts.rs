//! The artifacts a service stack runs: the function's code (the Lambda zip, or for
//! `lambda.package: image` the OCI image layout, which deploy pushes to ECR itself) and
//! the model (model.bin + manifest.json), read and checked locally, then uploaded under content-addressed keys
//! with an S3 SHA-256 checksum (S3 verifies it before storing) unless an object with
//! that checksum is already there. The pins (key, version id, sha256) become the service
//! stack's parameters. An artifact the deployed service stack already pins with the same
//! sha256 is neither looked up nor uploaded: CloudFormation's record is what runs. Must not
//! touch stacks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::aws::s3::Bucket;
use crate::contract;
use crate::contract::pins::{
    LAMBDA_CODE_KEY, LAMBDA_CODE_SHA256, LAMBDA_CODE_VERSION_ID, MANIFEST_KEY, MANIFEST_VERSION_ID,
    MODEL_KEY, MODEL_SHA256, MODEL_VERSION_ID,
};

pub const LAMBDA_ZIP: &str = "lambda.zip";
pub const MODEL_FILE: &str = "model.bin";
pub const MANIFEST_FILE: &str = "manifest.json";

/// One file to upload.
#[derive(Debug, Clone)]
pub struct Blob {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub sha256_hex: String,
}

impl Blob {
    fn read(path: &Path) -> anyhow::Result<Blob> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let sha256_hex = crate::digest::sha256_hex(&bytes);
        Ok(Blob {
            path: path.to_owned(),
            bytes,
            sha256_hex,
        })
    }

    fn from_bytes(path: PathBuf, bytes: Vec<u8>) -> Blob {
        let sha256_hex = crate::digest::sha256_hex(&bytes);
        Blob {
            path,
            bytes,
            sha256_hex,
        }
    }

    pub fn sha256_b64(&self) -> String {
        crate::digest::sha256_b64(&self.bytes)
    }
}

/// The local artifacts, checked.
#[derive(Debug, Clone)]
pub struct Artifacts {
    pub code: Code,
    pub model: Blob,
    pub manifest: Blob,
}

/// The function's code, in the form the env's `lambda.package` asks for.
#[derive(Debug, Clone)]
pub enum Code {
    Zip(Blob),
    Image(ImageCode),
}

/// An image layout to push, and the sha256 of the bootstrap inside it (its config's
/// `io.irisctl.code.sha256` label: the same value a zip of that bootstrap pins).
#[derive(Debug, Clone)]
pub struct ImageCode {
    pub layout: crate::image::layout::Layout,
    pub code_sha256: String,
}

impl Artifacts {
    /// sha256 of the bootstrap the function runs (`LambdaCodeSha256`): the zip's own
    /// sha256, as before, or the binary's inside the image.
    pub fn code_sha256(&self) -> &str {
        match &self.code {
            Code::Zip(zip) => &zip.sha256_hex,
            Code::Image(image) => &image.code_sha256,
        }
    }
}

/// The S3 keys artifacts are stored under.
pub fn lambda_key(sha: &str) -> String {
    format!("lambda/{sha}.zip")
}
pub fn model_key(sha: &str) -> String {
    format!("models/{sha}/{MODEL_FILE}")
}
pub fn manifest_key(model_sha: &str) -> String {
    format!("models/{model_sha}/{MANIFEST_FILE}")
}

impl Artifacts {
    /// Read `package_dir/lambda.zip` and `model_dir/{model.bin,manifest.json}`. Checks the
    /// zip against `lambda.zip.sha256` when present, the manifest against its own
    /// `manifest_sha256` (iris-model's check, the one the function repeats), and model.bin
    /// against the manifest's `sha256`, so a corrupt, edited or mismatched artifact never
    /// reaches S3.
    pub fn load(model_dir: &Path, package_dir: &Path) -> anyhow::Result<Artifacts> {
        let code = Code::Zip(Self::load_zip(package_dir)?);
        let ModelArtifact { model, manifest } = ModelArtifact::load(model_dir)?;
        Ok(Artifacts {
            code,
            model,
            manifest,
        })
    }

    /// Read the image layout in `image_dir` (every blob checked against its digest) and
    /// the model, as [`Artifacts::load`] does.
    pub fn load_with_image(model_dir: &Path, image_dir: &Path) -> anyhow::Result<Artifacts> {
        let layout = crate::image::layout::read(image_dir).with_context(|| {
            format!(
                "the image layout {} is not usable; build it with `irisctl image build --out DIR` and pass --image DIR",
                image_dir.display()
            )
        })?;
        let code_sha256 = image_code_sha256(&layout)?;
        let ModelArtifact { model, manifest } = ModelArtifact::load(model_dir)?;
        Ok(Artifacts {
            code: Code::Image(ImageCode {
                layout,
                code_sha256,
            }),
            model,
            manifest,
        })
    }

    fn load_zip(package_dir: &Path) -> anyhow::Result<Blob> {
        let lambda_zip = Blob::read(&package_dir.join(LAMBDA_ZIP))
            .context("the Lambda package is missing; build it with `irisctl package --out DIR` and pass --package DIR")?;
        if lambda_zip.bytes.len() < 22 || !lambda_zip.bytes.starts_with(b"PK") {
            bail!(
                "{} is not a zip file (it does not start with `PK`); rebuild it with `irisctl package`",
                lambda_zip.path.display()
            );
        }
        let sum_path = package_dir.join(format!("{LAMBDA_ZIP}.sha256"));
        if let Ok(text) = std::fs::read_to_string(&sum_path) {
            let expected = text.split_whitespace().next().unwrap_or_default();
            if expected != lambda_zip.sha256_hex {
                bail!(
                    "{} says sha256 {expected} but {} has {}: the package is corrupt or stale; rebuild it",
                    sum_path.display(),
                    lambda_zip.path.display(),
                    lambda_zip.sha256_hex
                );
            }
        }
        Ok(lambda_zip)
    }

    /// Keys paired with what goes there and the service stack parameters that pin them
    /// (key, sha256, version id): the zip (not for an image: it goes to ECR), the model,
    /// the manifest. The manifest has no sha256 parameter (its own checksum is
    /// inside it), so it is always looked up; a retrained artifact has the same bytes, so
    /// the lookup finds it and nothing changes.
    fn uploads(&self) -> Vec<(String, &Blob, Option<PinNames>)> {
        let mut uploads = Vec::with_capacity(3);
        if let Code::Zip(zip) = &self.code {
            uploads.push((
                lambda_key(&zip.sha256_hex),
                zip,
                Some((LAMBDA_CODE_KEY, LAMBDA_CODE_SHA256, LAMBDA_CODE_VERSION_ID)),
            ));
        }
        uploads.push((
            model_key(&self.model.sha256_hex),
            &self.model,
            Some((MODEL_KEY, MODEL_SHA256, MODEL_VERSION_ID)),
        ));
        uploads.push((manifest_key(&self.model.sha256_hex), &self.manifest, None));
        uploads
    }
}

/// The bootstrap's sha256 from the image config's label ([`crate::image::LABEL_CODE_SHA256`]).
fn image_code_sha256(layout: &crate::image::layout::Layout) -> anyhow::Result<String> {
    let config = layout
        .blobs
        .first()
        .context("internal: a layout without a config blob")?;
    let bytes = std::fs::read(&config.path)
        .with_context(|| format!("reading {}", config.path.display()))?;
    let parsed: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a JSON image config", config.path.display()))?;
    match parsed["config"]["Labels"][crate::image::LABEL_CODE_SHA256].as_str() {
        Some(sha)
            if sha.len() == 64 && sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Ok(sha.to_owned())
        }
        _ => bail!(
            "the image config {} has no {} label naming its bootstrap's sha256; build the layout with `irisctl image build`",
            config.path.display(),
            crate::image::LABEL_CODE_SHA256
        ),
    }
}

/// A model directory alone (model.bin + manifest.json), checked: what `model push` ships
/// without touching the code.
#[derive(Debug, Clone)]
pub struct ModelArtifact {
    pub model: Blob,
    pub manifest: Blob,
}

impl ModelArtifact {
    /// Read `model_dir/{model.bin,manifest.json}`; the manifest must carry its own valid
    /// checksum and name model.bin's sha256.
    pub fn load(model_dir: &Path) -> anyhow::Result<ModelArtifact> {
        let model = Blob::read(&model_dir.join(MODEL_FILE))
            .context("the model is missing; train one with `iris-model train --out DIR` and pass --model DIR")?;
        let manifest = Blob::read(&model_dir.join(MANIFEST_FILE)).context(
            "the manifest is missing; retrain with `iris-model train --out DIR` (model.bin and \
             manifest.json go together)",
        )?;
        let parsed = match iris_model::manifest::check_json(&manifest.bytes) {
            Ok(parsed) => parsed,
            Err(iris_model::ManifestError::Json(why)) => {
                bail!(
                    "{} is not valid JSON: {why}; retrain with `iris-model train --out DIR`",
                    manifest.path.display()
                )
            }
            Err(err) => bail!("{}: {err}", manifest.path.display()),
        };
        let Some(declared) = parsed.get("sha256").and_then(|v| v.as_str()) else {
            bail!(
                "{} has no `sha256` field naming its model.bin",
                manifest.path.display()
            );
        };
        if declared != model.sha256_hex {
            bail!(
                "{} says model sha256 {declared} but {} has {}: the model directory is \
                 corrupt or mixed; retrain with `iris-model train --out DIR` or copy both \
                 files together",
                manifest.path.display(),
                model.path.display(),
                model.sha256_hex
            );
        }
        Ok(ModelArtifact { model, manifest })
    }

    /// Check bytes read back from S3 the same way: the manifest's seal, and model.bin
    /// against it and against `expected_sha` (the sha256 the pins name).
    pub fn verify_bytes(
        model: Vec<u8>,
        manifest: Vec<u8>,
        expected_sha: &str,
        where_: &str,
    ) -> anyhow::Result<ModelArtifact> {
        let model = Blob::from_bytes(PathBuf::from(format!("{where_}/{MODEL_FILE}")), model);
        let manifest =
            Blob::from_bytes(PathBuf::from(format!("{where_}/{MANIFEST_FILE}")), manifest);
        if model.sha256_hex != expected_sha {
            bail!(
                "{} has sha256 {} but the live pins name {expected_sha}: the stored model \
                 is not the one that was deployed",
                model.path.display(),
                model.sha256_hex
            );
        }
        let parsed = iris_model::manifest::check_json(&manifest.bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", manifest.path.display()))?;
        if parsed.get("sha256").and_then(|v| v.as_str()) != Some(model.sha256_hex.as_str()) {
            bail!(
                "{} does not name {}'s sha256 {}",
                manifest.path.display(),
                model.path.display(),
                model.sha256_hex
            );
        }
        Ok(ModelArtifact { model, manifest })
    }

    /// The manifest's accuracy gate: held-out `metrics.accuracy` at least
    /// `params.min_accuracy` (when the manifest records one). Returns the accuracy.
    pub fn check_gate(&self) -> anyhow::Result<Option<f64>> {
        let parsed: serde_json::Value = serde_json::from_slice(&self.manifest.bytes)
            .with_context(|| format!("{} is not valid JSON", self.manifest.path.display()))?;
        let accuracy = parsed
            .pointer("/metrics/accuracy")
            .and_then(serde_json::Value::as_f64);
        let gate = parsed
            .pointer("/params/min_accuracy")
            .and_then(serde_json::Value::as_f64);
        if let (Some(accuracy), Some(gate)) = (accuracy, gate)
            && accuracy < gate
        {
            bail!(
                "{}: held-out accuracy {:.1}% is below the gate {:.1}% (params.min_accuracy); \
                 this model must not ship. Retrain, or lower the gate deliberately with \
                 `iris-model train --min-accuracy`",
                self.manifest.path.display(),
                accuracy * 100.0,
                gate * 100.0
            );
        }
        Ok(accuracy)
    }
}

/// Names of the (key, sha256, version id) parameters that pin one artifact.
type PinNames = (&'static str, &'static str, &'static str);

/// The version id `deployed` (the service stack's current parameters) pins for `key` when
/// it pins exactly that key with the sha256 `sha` and a version id.
fn pinned_version(
    deployed: Option<&BTreeMap<String, String>>,
    names: Option<PinNames>,
    key: &str,
    sha: &str,
) -> Option<String> {
    let (key_name, sha_name, version_name) = names?;
    let deployed = deployed?;
    let version = deployed.get(version_name)?;
    (deployed.get(key_name).map(String::as_str) == Some(key)
        && deployed.get(sha_name).map(String::as_str) == Some(sha)
        && !version.is_empty())
    .then(|| version.clone())
}

/// Where the artifacts live (S3, and for an image ECR): the service stack's parameters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pins {
    /// The zip's key and version (none for an image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambda_code_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambda_code_version_id: Option<String>,
    /// `<repository uri>@sha256:<digest>` (an image only; set once the digest is known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_uri: Option<String>,
    pub lambda_code_sha256: String,
    pub model_key: String,
    pub model_version_id: String,
    pub model_sha256: String,
    pub manifest_key: String,
    pub manifest_version_id: String,
}

impl Pins {
    /// Same-named parameters of the service stack.
    pub fn parameters(&self) -> BTreeMap<String, String> {
        let code = [
            (LAMBDA_CODE_KEY, &self.lambda_code_key),
            (LAMBDA_CODE_VERSION_ID, &self.lambda_code_version_id),
            (contract::pins::IMAGE_URI, &self.image_uri),
        ];
        let code = code
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v.clone()?)));
        [
            (LAMBDA_CODE_SHA256, &self.lambda_code_sha256),
            (MODEL_KEY, &self.model_key),
            (MODEL_VERSION_ID, &self.model_version_id),
            (MODEL_SHA256, &self.model_sha256),
            (MANIFEST_KEY, &self.manifest_key),
            (MANIFEST_VERSION_ID, &self.manifest_version_id),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .chain(code)
        .collect()
    }

    /// The parameter names the pins fill.
    pub const NAMES: [&'static str; 9] = contract::pins::ALL;
}

/// What the upload did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct UploadReport {
    pub uploaded: Vec<String>,
    pub skipped: Vec<String>,
}

/// Upload what is missing (`upload = true`) or only look (`upload = false`, for plan: a
/// missing object's version id is then empty). `deployed` is the service stack's current
/// parameters, when it has settled healthy: what it pins with the same sha256 is reused
/// as is. Returns the pins.
pub async fn sync(
    bucket: &Bucket,
    artifacts: &Artifacts,
    upload: bool,
    deployed: Option<&BTreeMap<String, String>>,
) -> anyhow::Result<(Pins, UploadReport)> {
    let mut report = UploadReport::default();
    let mut versions = std::collections::VecDeque::with_capacity(3);
    for (key, blob, names) in artifacts.uploads() {
        if let Some(version) = pinned_version(deployed, names, &key, &blob.sha256_hex) {
            report.skipped.push(key);
            versions.push_back(version);
            continue;
        }
        let version = store(bucket, &key, blob, upload, &mut report).await?;
        versions.push_back(version);
    }
    let lambda_v = match artifacts.code {
        Code::Zip(_) => versions.pop_front(),
        Code::Image(_) => None,
    };
    let (Some(model_v), Some(manifest_v)) = (versions.pop_front(), versions.pop_front()) else {
        bail!("internal: expected a model and a manifest version");
    };
    Ok((
        Pins {
            lambda_code_key: match &artifacts.code {
                Code::Zip(zip) => Some(lambda_key(&zip.sha256_hex)),
                Code::Image(_) => None,
            },
            lambda_code_version_id: lambda_v,
            image_uri: None,
            lambda_code_sha256: artifacts.code_sha256().to_owned(),
            model_key: model_key(&artifacts.model.sha256_hex),
            model_version_id: model_v,
            model_sha256: artifacts.model.sha256_hex.clone(),
            manifest_key: manifest_key(&artifacts.model.sha256_hex),
            manifest_version_id: manifest_v,
        },
        report,
    ))
}

/// Upload `blob` under `key` unless an object with its checksum is already there
/// (`upload = false`: only look; a missing object's version id is then empty). Returns
/// the version id.
async fn store(
    bucket: &Bucket,
    key: &str,
    blob: &Blob,
    upload: bool,
    report: &mut UploadReport,
) -> anyhow::Result<String> {
    let b64 = blob.sha256_b64();
    let existing = bucket.head(key).await?;
    Ok(match existing {
        Some(info) if info.sha256_b64.as_deref() == Some(b64.as_str()) => {
            report.skipped.push(key.to_owned());
            info.version_id
        }
        _ if !upload => String::new(),
        _ => {
            let version = bucket
                .put_checked(key, blob.bytes.clone(), &b64)
                .await
                .with_context(|| format!("uploading {}", blob.path.display()))?;
            report.uploaded.push(key.to_owned());
            version
        }
    })
}

/// Upload a model alone, content-addressed like [`sync`]. Returns the model pins (key,
/// version id and sha256 of model.bin, key and version id of manifest.json).
pub async fn sync_model(
    bucket: &Bucket,
    model: &ModelArtifact,
) -> anyhow::Result<(BTreeMap<String, String>, UploadReport)> {
    let mut report = UploadReport::default();
    let sha = &model.model.sha256_hex;
    let model_version = store(bucket, &model_key(sha), &model.model, true, &mut report).await?;
    let manifest_version = store(
        bucket,
        &manifest_key(sha),
        &model.manifest,
        true,
        &mut report,
    )
    .await?;
    Ok((model_pins(sha, &model_version, &manifest_version), report))
}

/// The five parameters that pin a model (its key, version id and sha256; the manifest's
/// key and version id).
pub fn model_pins(
    sha: &str,
    model_version: &str,
    manifest_version: &str,
) -> BTreeMap<String, String> {
    [
        (MODEL_KEY, model_key(sha)),
        (MODEL_VERSION_ID, model_version.to_owned()),
        (MODEL_SHA256, sha.to_owned()),
        (MANIFEST_KEY, manifest_key(sha)),
        (MANIFEST_VERSION_ID, manifest_version.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The three parameters that pin the Lambda code.
pub fn code_pins(sha: &str, version: &str) -> BTreeMap<String, String> {
    [
        (LAMBDA_CODE_KEY, lambda_key(sha)),
        (LAMBDA_CODE_VERSION_ID, version.to_owned()),
        (LAMBDA_CODE_SHA256, sha.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes a fake but well-formed artifact set into `dir` (zip magic, a model, a manifest
    /// naming it). Returns (model_dir, package_dir).
    pub(crate) fn write_fake(dir: &Path, model: &[u8]) -> (PathBuf, PathBuf) {
        let model_dir = dir.join("model");
        let package_dir = dir.join("package");
        std::fs::create_dir_all(&model_dir).expect("mkdir");
        std::fs::create_dir_all(&package_dir).expect("mkdir");
        let mut zip = b"PK\x05\x06".to_vec();
        zip.extend_from_slice(&[0u8; 18]);
        std::fs::write(package_dir.join(LAMBDA_ZIP), &zip).expect("zip");
        std::fs::write(model_dir.join(MODEL_FILE), model).expect("model");
        let sha = crate::digest::sha256_hex(model);
        std::fs::write(model_dir.join(MANIFEST_FILE), sealed_manifest(&sha)).expect("manifest");
        (model_dir, package_dir)
    }

    /// A minimal manifest naming `sha` with a valid `manifest_sha256`.
    pub(crate) fn sealed_manifest(sha: &str) -> String {
        let mut m = serde_json::json!({
            "schema_version": iris_model::manifest::SCHEMA_VERSION,
            "sha256": sha,
            "params": {"trees": 100},
            "metrics": {"accuracy": 0.95},
        });
        iris_model::checksum::seal(&mut m);
        m.to_string()
    }

    #[test]
    fn rejects_an_edited_or_unsealed_manifest_naming_the_file_and_how_to_rebuild() {
        let dir = tempfile::tempdir().expect("tmp");
        let (m, p) = write_fake(dir.path(), b"model-bytes");
        let path = m.join(MANIFEST_FILE);
        let good: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        let edits: [fn(&mut serde_json::Value); 3] = [
            |v| v["params"]["trees"] = 7.into(),
            |v| v["metrics"]["accuracy"] = 1.0.into(),
            |v| {
                if let Some(o) = v.as_object_mut() {
                    o.remove(iris_model::checksum::CHECKSUM_FIELD);
                }
            },
        ];
        for edit in edits {
            let mut edited = good.clone();
            edit(&mut edited);
            std::fs::write(&path, edited.to_string()).expect("write");
            let err = format!("{:#}", Artifacts::load(&m, &p).expect_err("edited"));
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains("iris-model train --out DIR"), "{err}");
            // Nothing was rewritten.
            assert_eq!(
                std::fs::read_to_string(&path).expect("read"),
                edited.to_string()
            );
        }
    }

    #[test]
    fn loads_good_artifacts_with_content_addressed_keys() {
        let dir = tempfile::tempdir().expect("tmp");
        let (m, p) = write_fake(dir.path(), b"model-bytes");
        let a = Artifacts::load(&m, &p).expect("loads");
        let keys: Vec<String> = a.uploads().into_iter().map(|(k, _, _)| k).collect();
        let model_sha = crate::digest::sha256_hex(b"model-bytes");
        assert_eq!(keys[1], format!("models/{model_sha}/model.bin"));
        assert_eq!(keys[2], format!("models/{model_sha}/manifest.json"));
        assert!(keys[0].starts_with("lambda/") && keys[0].ends_with(".zip"));
    }

    #[test]
    fn rejects_a_model_that_does_not_match_its_manifest() {
        let dir = tempfile::tempdir().expect("tmp");
        let (m, p) = write_fake(dir.path(), b"model-bytes");
        std::fs::write(m.join(MODEL_FILE), b"tampered").expect("write");
        let err = format!("{:#}", Artifacts::load(&m, &p).expect_err("mismatch"));
        assert!(err.contains("corrupt or mixed"), "{err}");
        // Nothing was rewritten.
        assert_eq!(
            std::fs::read(m.join(MODEL_FILE)).expect("read"),
            b"tampered"
        );
    }

    #[test]
    fn rejects_missing_corrupt_and_non_zip_packages() {
        let dir = tempfile::tempdir().expect("tmp");
        let (m, p) = write_fake(dir.path(), b"model-bytes");
        std::fs::write(p.join("lambda.zip.sha256"), "0000  lambda.zip\n").expect("write");
        let err = format!("{:#}", Artifacts::load(&m, &p).expect_err("bad sum"));
        assert!(err.contains("corrupt or stale"), "{err}");
        std::fs::remove_file(p.join("lambda.zip.sha256")).expect("rm");
        std::fs::write(p.join(LAMBDA_ZIP), b"not a zip at all, just text").expect("write");
        let err = format!("{:#}", Artifacts::load(&m, &p).expect_err("not zip"));
        assert!(err.contains("is not a zip file"), "{err}");
        std::fs::remove_file(p.join(LAMBDA_ZIP)).expect("rm");
        let err = format!("{:#}", Artifacts::load(&m, &p).expect_err("missing"));
        assert!(err.contains("irisctl package"), "{err}");
    }

    #[test]
    fn rejects_a_manifest_without_sha_or_not_json() {
        let dir = tempfile::tempdir().expect("tmp");
        let (m, p) = write_fake(dir.path(), b"model-bytes");
        let mut no_sha = serde_json::json!({"schema_version": 2});
        iris_model::checksum::seal(&mut no_sha);
        std::fs::write(m.join(MANIFEST_FILE), no_sha.to_string()).expect("write");
        let err = format!("{:#}", Artifacts::load(&m, &p).expect_err("no sha"));
        assert!(err.contains("no `sha256` field"), "{err}");
        std::fs::write(m.join(MANIFEST_FILE), "{not json").expect("write");
        let err = format!("{:#}", Artifacts::load(&m, &p).expect_err("bad json"));
        assert!(err.contains("not valid JSON"), "{err}");
    }

    /// A service stack's parameters pinning `a`'s Lambda zip and model at version `v1`.
    fn deployed_pins(a: &Artifacts) -> BTreeMap<String, String> {
        [
            ("LambdaCodeKey", lambda_key(a.code_sha256())),
            ("LambdaCodeSha256", a.code_sha256().to_owned()),
            ("LambdaCodeVersionId", "lambda-v1".into()),
            ("ModelKey", model_key(&a.model.sha256_hex)),
            ("ModelSha256", a.model.sha256_hex.clone()),
            ("ModelVersionId", "model-v1".into()),
            ("ManifestKey", manifest_key(&a.model.sha256_hex)),
            ("ManifestVersionId", "manifest-v0".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    #[tokio::test]
    async fn pinned_artifacts_with_the_same_sha_are_neither_looked_up_nor_uploaded() {
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        let dir = tempfile::tempdir().expect("tmp");
        let (m, p) = write_fake(dir.path(), b"model-bytes");
        let a = Artifacts::load(&m, &p).expect("loads");
        let manifest = manifest_key(&a.model.sha256_hex);
        let manifest_b64 = a.manifest.sha256_b64();
        let head = mock!(aws_sdk_s3::Client::head_object)
            .match_requests({
                let manifest = manifest.clone();
                move |req| req.key() == Some(manifest.as_str())
            })
            .then_output(move || {
                aws_sdk_s3::operation::head_object::HeadObjectOutput::builder()
                    .checksum_sha256(manifest_b64.clone())
                    .version_id("manifest-v1")
                    .build()
            });
        let put = mock!(aws_sdk_s3::Client::put_object).then_output(|| {
            aws_sdk_s3::operation::put_object::PutObjectOutput::builder()
                .version_id("new")
                .build()
        });
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&head, &put]);
        let bucket = Bucket::new(s3, "b");
        let deployed = deployed_pins(&a);
        let (pins, report) = sync(&bucket, &a, true, Some(&deployed))
            .await
            .expect("syncs");
        // Only the manifest (no sha256 pin) is looked up; nothing is uploaded.
        assert_eq!(head.num_calls(), 1);
        assert_eq!(put.num_calls(), 0);
        assert_eq!(pins.lambda_code_version_id.as_deref(), Some("lambda-v1"));
        assert_eq!(pins.model_version_id, "model-v1");
        assert_eq!(pins.manifest_version_id, "manifest-v1");
        assert!(report.uploaded.is_empty());
        assert_eq!(report.skipped.len(), 3);
    }

    #[tokio::test]
    async fn a_changed_sha_is_uploaded_with_its_checksum_despite_the_pins() {
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        let dir = tempfile::tempdir().expect("tmp");
        let (old_m, old_p) = write_fake(&dir.path().join("old"), b"old-model");
        let deployed = deployed_pins(&Artifacts::load(&old_m, &old_p).expect("loads"));
        let (m, p) = write_fake(&dir.path().join("new"), b"new-model");
        let a = Artifacts::load(&m, &p).expect("loads");
        let model = model_key(&a.model.sha256_hex);
        let model_b64 = a.model.sha256_b64();
        // Nothing with a checksum is there yet for the new model.
        let head = mock!(aws_sdk_s3::Client::head_object).then_output(|| {
            aws_sdk_s3::operation::head_object::HeadObjectOutput::builder().build()
        });
        let put = mock!(aws_sdk_s3::Client::put_object)
            .match_requests(move |req| {
                req.checksum_sha256().is_some()
                    && (req.key() != Some(model.as_str())
                        || req.checksum_sha256() == Some(model_b64.as_str()))
            })
            .then_output(|| {
                aws_sdk_s3::operation::put_object::PutObjectOutput::builder()
                    .version_id("new")
                    .build()
            });
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&head, &put]);
        let bucket = Bucket::new(s3, "b");
        let (pins, report) = sync(&bucket, &a, true, Some(&deployed))
            .await
            .expect("syncs");
        // The Lambda zip is the same and stays pinned; model and manifest are new.
        assert_eq!(head.num_calls(), 2);
        assert_eq!(put.num_calls(), 2);
        assert_eq!(pins.lambda_code_version_id.as_deref(), Some("lambda-v1"));
        assert_eq!(pins.model_version_id, "new");
        assert_eq!(pins.model_sha256, a.model.sha256_hex);
        assert_eq!(
            report.uploaded,
            vec![
                model_key(&a.model.sha256_hex),
                manifest_key(&a.model.sha256_hex)
            ]
        );
    }

    #[test]
    fn a_model_below_its_gate_or_with_bytes_that_do_not_match_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let (m, _) = write_fake(dir.path(), b"model-bytes");
        let model = ModelArtifact::load(&m).expect("loads");
        // The fake manifest has no gate: nothing to check but the accuracy is read.
        assert_eq!(model.check_gate().expect("no gate"), Some(0.95));
        let mut gated = serde_json::json!({
            "schema_version": iris_model::manifest::SCHEMA_VERSION,
            "sha256": model.model.sha256_hex,
            "params": {"min_accuracy": 0.99},
            "metrics": {"accuracy": 0.95},
        });
        iris_model::checksum::seal(&mut gated);
        std::fs::write(m.join(MANIFEST_FILE), gated.to_string()).expect("write");
        let below = ModelArtifact::load(&m).expect("sealed");
        let err = format!("{:#}", below.check_gate().expect_err("below the gate"));
        assert!(err.contains("below the gate 99.0%"), "{err}");

        let sha = model.model.sha256_hex.clone();
        let ok = ModelArtifact::verify_bytes(
            b"model-bytes".to_vec(),
            model.manifest.bytes.clone(),
            &sha,
            "s3://b/models/x",
        );
        assert!(ok.is_ok());
        let err = ModelArtifact::verify_bytes(
            b"tampered".to_vec(),
            model.manifest.bytes.clone(),
            &sha,
            "s3://b/models/x",
        )
        .expect_err("tampered");
        assert!(
            format!("{err:#}").contains("not the one that was deployed"),
            "{err:#}"
        );
        let err = ModelArtifact::verify_bytes(
            b"model-bytes".to_vec(),
            b"{}".to_vec(),
            &sha,
            "s3://b/models/x",
        )
        .expect_err("unsealed manifest");
        assert!(format!("{err:#}").contains("manifest.json"), "{err:#}");
    }

    #[test]
    fn pins_fill_exactly_the_named_parameters() {
        let mut pins = Pins {
            lambda_code_key: Some("lambda/a.zip".into()),
            lambda_code_version_id: Some("v1".into()),
            image_uri: None,
            lambda_code_sha256: "a".into(),
            model_key: "models/b/model.bin".into(),
            model_version_id: "".into(),
            model_sha256: "b".into(),
            manifest_key: "models/b/manifest.json".into(),
            manifest_version_id: "".into(),
        };
        let keys: Vec<String> = pins.parameters().into_keys().collect();
        let mut names: Vec<String> = Pins::NAMES
            .iter()
            .filter(|n| !contract::pins::IMAGE_ONLY.contains(n))
            .map(|s| s.to_string())
            .collect();
        names.sort();
        assert_eq!(keys, names, "a zip's pins");

        pins.lambda_code_key = None;
        pins.lambda_code_version_id = None;
        pins.image_uri = Some(format!("r@sha256:{}", "0".repeat(64)));
        let keys: Vec<String> = pins.parameters().into_keys().collect();
        let mut names: Vec<String> = Pins::NAMES
            .iter()
            .filter(|n| !contract::pins::ZIP_ONLY.contains(n))
            .map(|s| s.to_string())
            .collect();
        names.sort();
        assert_eq!(keys, names, "an image's pins");
    }
}
