//! The image's one layer: a tar holding `/bootstrap` (mode 0755, owner 0:0, mtime 0) and
//! nothing else, gzip-compressed with no name and no timestamp in its header, so the same
//! binary always gives the same bytes. The binary carries its own trust store
//! (lambda/src/s3.rs), so no CA bundle, libc or shell goes in: a static binary needs no
//! file beside it.

use std::io::Write as _;

use anyhow::Context as _;
use flate2::Compression;

/// Where the binary lives in the image (and the image's entrypoint).
pub const BOOTSTRAP_PATH: &str = "bootstrap";

/// The layer, uncompressed (its sha256 is the config's diff id) and gzip-compressed (its
/// sha256 is the blob's digest).
pub struct Layer {
    pub tar: Vec<u8>,
    pub gzip: Vec<u8>,
}

pub fn bootstrap_layer(binary: &[u8]) -> anyhow::Result<Layer> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(binary.len() as u64);
    header.set_mode(0o755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
        .set_path(BOOTSTRAP_PATH)
        .context("naming the layer's entry")?;
    header.set_cksum();
    builder
        .append(&header, binary)
        .context("writing the layer's tar")?;
    let tar = builder.into_inner().context("finishing the layer's tar")?;

    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    gz.write_all(&tar).context("compressing the layer")?;
    let gzip = gz.finish().context("finishing the layer's gzip")?;
    Ok(Layer { tar, gzip })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn the_layer_is_one_fixed_entry_and_the_same_bytes_every_time() {
        let a = bootstrap_layer(b"\x7fELF fake").expect("layer");
        let b = bootstrap_layer(b"\x7fELF fake").expect("layer");
        assert_eq!(a.gzip, b.gzip);
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&a.gzip[..])
            .read_to_end(&mut tar)
            .expect("gunzip");
        assert_eq!(tar, a.tar);
        let mut archive = tar::Archive::new(&a.tar[..]);
        let entries: Vec<_> = archive
            .entries()
            .expect("entries")
            .map(|e| {
                let e = e.expect("entry");
                let h = e.header();
                (
                    e.path().expect("path").display().to_string(),
                    h.mode().expect("mode"),
                    h.uid().expect("uid"),
                    h.mtime().expect("mtime"),
                )
            })
            .collect();
        assert_eq!(entries, [("bootstrap".to_owned(), 0o755, 0, 0)]);
    }
}
