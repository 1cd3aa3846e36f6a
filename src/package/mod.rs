//! `irisctl package`: the Lambda deployment package. Builds (or takes) the `bootstrap`
//! binary, checks it will run on Amazon Linux 2023, and writes a reproducible
//! `lambda.zip` with its sha256. Owns nothing about uploading or deploying the zip.

pub mod build;
pub mod elf;
pub mod zip;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

pub const ZIP_NAME: &str = "lambda.zip";
pub const SHA_NAME: &str = "lambda.zip.sha256";

/// What `package` wrote.
#[derive(Debug, Clone)]
pub struct Packaged {
    pub zip_path: PathBuf,
    pub sha256: String,
    pub zip_bytes: u64,
    pub linkage: elf::Linkage,
}

/// Zips `bootstrap` into `out_dir/lambda.zip` (+ `.sha256`), refusing a binary that
/// Amazon Linux 2023 cannot run.
pub fn write_package(bootstrap: &Path, out_dir: &Path) -> anyhow::Result<Packaged> {
    let binary = fs::read(bootstrap)
        .with_context(|| format!("reading the bootstrap binary {}", bootstrap.display()))?;
    let linkage =
        elf::inspect(&binary).with_context(|| format!("inspecting {}", bootstrap.display()))?;
    linkage.check_runs_on_al2023().with_context(|| {
        format!(
            "{} cannot run on Lambda's provided.al2023",
            bootstrap.display()
        )
    })?;

    let zipped = zip::bootstrap_zip(&binary).context("zipping bootstrap")?;
    let sha256 = crate::digest::sha256_hex(&zipped);
    fs::create_dir_all(out_dir)
        .with_context(|| format!("creating output directory {}", out_dir.display()))?;
    let zip_path = out_dir.join(ZIP_NAME);
    write_atomically(&zip_path, &zipped)?;
    write_atomically(
        &out_dir.join(SHA_NAME),
        format!("{sha256}  {ZIP_NAME}\n").as_bytes(),
    )?;
    Ok(Packaged {
        zip_path,
        sha256,
        zip_bytes: zipped.len() as u64,
        linkage,
    })
}

/// Write to a temporary file in the same directory, then rename: a reader never sees a
/// half-written zip, and an interrupted run leaves the previous one intact.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("moving the new file into place at {}", path.display()))?;
    Ok(())
}
