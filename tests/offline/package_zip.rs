//! `irisctl package` through the real binary: the zip is byte-for-byte reproducible, its
//! sha256 file matches, and a binary Lambda cannot run is refused without touching the
//! previous package.

use std::path::Path;
use std::process::Output;

use sha2::{Digest as _, Sha256};

use crate::support;

fn irisctl(args: &[&str]) -> Output {
    support::irisctl(args).output()
}

fn package(bootstrap: &Path, out: &Path) -> Output {
    irisctl(&[
        "package",
        "--bootstrap",
        bootstrap.to_str().expect("utf-8 path"),
        "--out",
        out.to_str().expect("utf-8 path"),
    ])
}

fn check_sha_file(out: &Path) -> String {
    let zip = std::fs::read(out.join("lambda.zip")).expect("lambda.zip");
    let sha = hex::encode(Sha256::digest(&zip));
    let line = std::fs::read_to_string(out.join("lambda.zip.sha256")).expect("sha file");
    assert_eq!(line, format!("{sha}  lambda.zip\n"));
    assert!(zip.len() < 8_000_000, "zip is {} bytes", zip.len());
    sha
}

/// A minimal static x86_64 ELF executable header followed by `payload` bytes: enough for
/// the linkage check, and small, unlike the 200 MB debug binaries cargo builds here.
pub(crate) fn tiny_static_elf(payload: usize) -> Vec<u8> {
    let mut elf = Vec::new();
    elf.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    elf.extend_from_slice(&2u16.to_le_bytes()); // e_type: executable
    elf.extend_from_slice(&62u16.to_le_bytes()); // e_machine: x86_64
    elf.extend_from_slice(&1u32.to_le_bytes()); // e_version
    elf.extend_from_slice(&0x40_1000u64.to_le_bytes()); // e_entry
    elf.extend_from_slice(&0u64.to_le_bytes()); // e_phoff
    elf.extend_from_slice(&0u64.to_le_bytes()); // e_shoff: no section headers
    elf.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for half in [64u16, 56, 0, 64, 0, 0] {
        elf.extend_from_slice(&half.to_le_bytes()); // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
    }
    elf.extend((0..payload as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8));
    elf
}

#[test]
fn packaging_a_prebuilt_bootstrap_twice_gives_identical_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("bootstrap");
    std::fs::write(&binary, tiny_static_elf(2_000_000)).expect("write ELF");
    let binary = binary.as_path();
    let (a, b) = (dir.path().join("a"), dir.path().join("nested/b"));
    let first = package(binary, &a);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = package(binary, &b);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let bytes_a = std::fs::read(a.join("lambda.zip")).expect("zip a");
    let bytes_b = std::fs::read(b.join("lambda.zip")).expect("zip b");
    assert_eq!(bytes_a, bytes_b);
    assert_eq!(check_sha_file(&a), check_sha_file(&b));
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        stdout.contains(&format!("sha256 {}", check_sha_file(&a))),
        "{stdout}"
    );
    assert!(stdout.contains("(static)"), "{stdout}");

    // The zip holds exactly the input, executable.
    let zip = std::fs::read(a.join("lambda.zip")).expect("zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("zip");
    let mut entry = archive.by_name("bootstrap").expect("bootstrap entry");
    assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut back).expect("inflate");
    assert_eq!(back, std::fs::read(binary).expect("input"));
}

#[test]
fn an_elf_for_another_architecture_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut elf = tiny_static_elf(16);
    elf[18] = 183; // e_machine: aarch64
    let binary = dir.path().join("bootstrap");
    std::fs::write(&binary, elf).expect("write ELF");
    let out = dir.path().join("out");
    let result = package(&binary, &out);
    assert_eq!(result.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&result.stderr).contains("x86_64"),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(!out.join("lambda.zip").exists());
}

#[test]
fn a_binary_lambda_cannot_run_is_refused_and_the_old_package_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    std::fs::write(out.join("lambda.zip"), b"previous package").expect("old zip");

    let script = dir.path().join("bootstrap.sh");
    std::fs::write(&script, "#!/bin/sh\necho not an ELF\n").expect("script");
    let result = package(&script, &out);
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("bootstrap.sh"), "{stderr}");
    assert_eq!(
        std::fs::read(out.join("lambda.zip")).expect("old zip"),
        b"previous package"
    );
    assert!(!out.join("lambda.zip.sha256").exists());

    let result = package(&dir.path().join("missing"), &out);
    assert_eq!(result.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&result.stderr).contains("missing"));
}

#[test]
#[ignore = "builds the release bootstrap (minutes); scripts/test runs it"]
fn package_builds_a_static_or_al2023_bootstrap_reproducibly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let result = irisctl(&["package", "--out", out.to_str().expect("utf-8")]);
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
        let stdout = String::from_utf8_lossy(&result.stdout);
        assert!(stdout.contains("bootstrap: "), "{stdout}");
    }
    assert_eq!(check_sha_file(&a), check_sha_file(&b));

    // The packaged bootstrap runs under the local runtime: no model needed for a 404.
    let zip = std::fs::read(a.join("lambda.zip")).expect("zip");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("zip");
    let mut entry = archive.by_name("bootstrap").expect("bootstrap entry");
    let mut binary = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut binary).expect("inflate");
    let linkage = irisctl::package::elf::inspect(&binary).expect("ELF");
    linkage.check_runs_on_al2023().expect("runs on AL2023");
}
