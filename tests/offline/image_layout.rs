//! `irisctl image build` through the real binary: the same digest twice, the binary in
//! the layer is the one `irisctl package` zips, an independent OCI tool (skopeo, from
//! Debian) reads the layout and its config, and a binary the image cannot run (dynamic:
//! the image holds no C library) is refused with nothing written.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::package_zip::tiny_static_elf;
use crate::support;

fn image_build(bootstrap: &Path, out: &Path) -> Output {
    support::irisctl(&[
        "image",
        "build",
        "--bootstrap",
        bootstrap.to_str().expect("utf-8 path"),
        "--out",
        out.to_str().expect("utf-8 path"),
        "--output",
        "json",
    ])
    .output()
}

fn built(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON report")
}

fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
    std::fs::read(layout.join("blobs/sha256").join(hex)).expect("blob in the layout")
}

/// The bytes of `bootstrap` inside the layer.
fn bootstrap_in_layer(layout: &Path, layer_digest: &str) -> Vec<u8> {
    let gz = blob(layout, layer_digest);
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
    let mut entries = archive.entries().expect("a tar");
    let mut entry = entries.next().expect("one entry").expect("readable");
    assert_eq!(entry.path().expect("path").to_str(), Some("bootstrap"));
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).expect("read");
    assert!(entries.next().is_none(), "the layer holds only bootstrap");
    bytes
}

#[test]
fn the_same_binary_gives_the_same_digest_and_is_the_one_package_zips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("bootstrap");
    std::fs::write(&binary, tiny_static_elf(300_000)).expect("write ELF");
    let first = built(&image_build(&binary, &dir.path().join("a")));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = built(&image_build(&binary, &dir.path().join("b")));
    assert_eq!(first["manifest_digest"], second["manifest_digest"]);
    for name in ["index.json", "oci-layout"] {
        assert_eq!(
            std::fs::read(dir.path().join("a").join(name)).expect("a"),
            std::fs::read(dir.path().join("b").join(name)).expect("b")
        );
    }

    let package = support::irisctl(&[
        "package",
        "--bootstrap",
        binary.to_str().expect("utf-8"),
        "--out",
        dir.path().join("pkg").to_str().expect("utf-8"),
    ])
    .output();
    assert!(package.status.success());
    let zip = std::fs::read(dir.path().join("pkg/lambda.zip")).expect("zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("zip");
    let mut zipped = Vec::new();
    archive
        .by_name("bootstrap")
        .expect("bootstrap in the zip")
        .read_to_end(&mut zipped)
        .expect("read");
    let layered = bootstrap_in_layer(
        &dir.path().join("a"),
        first["layer_digest"].as_str().expect("digest"),
    );
    assert_eq!(
        irisctl::digest::sha256_hex(&layered),
        irisctl::digest::sha256_hex(&zipped)
    );
    assert_eq!(first["code_sha256"], irisctl::digest::sha256_hex(&zipped));
}

#[test]
fn skopeo_reads_the_layout_and_its_config() {
    if Command::new("skopeo").arg("--version").output().is_err() {
        eprintln!(
            "SKIPPED: skopeo is not installed (`apt-get install -y skopeo`; .ci/run installs it)"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("bootstrap");
    std::fs::write(&binary, tiny_static_elf(100_000)).expect("write ELF");
    let layout = dir.path().join("layout");
    let report = built(&image_build(&binary, &layout));
    let reference = format!("oci:{}", layout.display());

    let raw = Command::new("skopeo")
        .args(["inspect", "--raw", &reference])
        .output()
        .expect("run skopeo");
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    assert_eq!(
        format!("sha256:{}", irisctl::digest::sha256_hex(&raw.stdout)),
        report["manifest_digest"].as_str().expect("digest"),
        "skopeo reads the manifest the report names"
    );

    let config = Command::new("skopeo")
        .args(["inspect", "--config", &reference])
        .output()
        .expect("run skopeo");
    assert!(
        config.status.success(),
        "{}",
        String::from_utf8_lossy(&config.stderr)
    );
    let config: Value = serde_json::from_slice(&config.stdout).expect("config JSON");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/bootstrap"])
    );
    assert_eq!(config["config"]["User"], "65532:65532");
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(
        config["config"]["Labels"]["io.irisctl.code.sha256"],
        report["code_sha256"]
    );
    assert!(config["config"]["Labels"]["org.opencontainers.image.revision"].is_string());

    let inspect = Command::new("skopeo")
        .args(["inspect", &reference])
        .output()
        .expect("run skopeo");
    assert!(
        inspect.status.success(),
        "{}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    let inspect: Value = serde_json::from_slice(&inspect.stdout).expect("inspect JSON");
    assert_eq!(
        inspect["Layers"],
        serde_json::json!([report["layer_digest"]])
    );
}

#[test]
fn a_binary_the_image_cannot_run_is_refused_with_nothing_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("layout");
    // A dynamic binary: the test binary itself (glibc-linked).
    let exe = std::env::current_exe().expect("own path");
    let output = image_build(&exe, &out);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("static (musl) build"), "{stderr}");
    assert!(!out.exists(), "nothing written");

    let missing = dir.path().join("no-such-bootstrap");
    let output = image_build(&missing, &out);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no-such-bootstrap"),
        "names the file"
    );
    assert!(!out.exists(), "nothing written");
}

/// `image push` and `deploy` read the layout before any AWS call: a missing, damaged or
/// foreign one is refused with what to do, and nothing is sent (the AWS endpoint is a
/// closed port, so a call would fail differently).
#[test]
fn a_layout_that_cannot_be_pushed_is_refused_before_any_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-layout");
    let out = support::irisctl(&["image", "push", "--env", "dev", "--image"])
        .arg(&missing)
        .without_aws()
        .output();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not an OCI image layout") && err.contains("irisctl image build"),
        "{err}"
    );

    let binary = dir.path().join("bootstrap");
    std::fs::write(&binary, tiny_static_elf(300_000)).expect("write ELF");
    let layout = dir.path().join("layout");
    let report = built(&image_build(&binary, &layout));
    let layer = layout.join("blobs/sha256").join(
        report["layer_digest"]
            .as_str()
            .expect("layer digest")
            .trim_start_matches("sha256:"),
    );
    let mut bytes = std::fs::read(&layer).expect("layer");
    bytes[0] ^= 0xff;
    std::fs::write(&layer, &bytes).expect("damage the layer");
    let out = support::irisctl(&["image", "push", "--env", "dev", "--image"])
        .arg(&layout)
        .without_aws()
        .output();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not match its descriptor"), "{err}");

    // A zip env refuses an image for deploy, naming the setting, before any call.
    let out = support::irisctl(&["deploy", "--env", "dev", "--yes", "--model"])
        .arg(dir.path())
        .arg("--image")
        .arg(&layout)
        .without_aws()
        .output();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("packages its function as a zip") && err.contains("lambda.package"),
        "{err}"
    );
}
