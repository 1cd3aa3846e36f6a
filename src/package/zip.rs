//! Reproducible zip archives: the same inputs give the same bytes on any machine. Entries
//! are sorted by name, stamped 1980-01-01 00:00:00 (the zip epoch), carry fixed Unix
//! permissions and no extra fields (no extended timestamps, uid or gid).

use std::collections::BTreeMap;
use std::io::{Cursor, Write as _};

use ::zip::write::SimpleFileOptions;
use ::zip::{CompressionMethod, DateTime, System, ZipWriter};

/// Permissions Lambda needs on the entry point (rwxr-xr-x).
pub const EXECUTABLE: u32 = 0o755;
pub const REGULAR: u32 = 0o644;

/// One file to archive: its bytes and Unix mode.
pub struct Entry<'a> {
    pub bytes: &'a [u8],
    pub mode: u32,
}

/// The Lambda package: a single executable named `bootstrap` at the root.
pub fn bootstrap_zip(binary: &[u8]) -> ::zip::result::ZipResult<Vec<u8>> {
    let mut entries = BTreeMap::new();
    entries.insert(
        "bootstrap".to_owned(),
        Entry {
            bytes: binary,
            mode: EXECUTABLE,
        },
    );
    reproducible_zip(&entries)
}

/// Archives `entries` in name order (a `BTreeMap` makes the order independent of how the
/// caller collected them).
pub fn reproducible_zip(
    entries: &BTreeMap<String, Entry<'_>>,
) -> ::zip::result::ZipResult<Vec<u8>> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, entry) in entries {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(9))
            .last_modified_time(DateTime::default())
            .system(System::Unix)
            .unix_permissions(entry.mode);
        writer.start_file(name.as_str(), options)?;
        writer.write_all(entry.bytes)?;
    }
    Ok(writer.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn sample_binary() -> Vec<u8> {
        (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect()
    }

    #[test]
    fn zipping_twice_gives_identical_bytes() {
        let binary = sample_binary();
        let first = bootstrap_zip(&binary).expect("zip");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let second = bootstrap_zip(&binary).expect("zip");
        assert_eq!(first, second);
    }

    #[test]
    fn bootstrap_entry_is_executable_with_fixed_time_and_exact_bytes() {
        let binary = sample_binary();
        let zipped = bootstrap_zip(&binary).expect("zip");
        let mut archive = ::zip::ZipArchive::new(Cursor::new(zipped)).expect("readable zip");
        assert_eq!(archive.len(), 1);
        let mut file = archive.by_index(0).expect("entry");
        assert_eq!(file.name().expect("utf-8 name"), "bootstrap");
        assert_eq!(file.unix_mode().map(|m| m & 0o777), Some(EXECUTABLE));
        assert_eq!(file.last_modified(), Some(DateTime::default()));
        assert!(file.extra_data().is_none_or(|d| d.is_empty()));
        let mut back = Vec::new();
        file.read_to_end(&mut back).expect("inflate");
        assert_eq!(back, binary);
    }

    #[test]
    fn entries_are_sorted_whatever_the_insertion_order() {
        let (a, b) = (b"a".to_vec(), b"b".to_vec());
        let mut one = BTreeMap::new();
        one.insert(
            "z.txt".to_owned(),
            Entry {
                bytes: &a,
                mode: REGULAR,
            },
        );
        one.insert(
            "bootstrap".to_owned(),
            Entry {
                bytes: &b,
                mode: EXECUTABLE,
            },
        );
        let mut two = BTreeMap::new();
        two.insert(
            "bootstrap".to_owned(),
            Entry {
                bytes: &b,
                mode: EXECUTABLE,
            },
        );
        two.insert(
            "z.txt".to_owned(),
            Entry {
                bytes: &a,
                mode: REGULAR,
            },
        );
        let (one, two) = (
            reproducible_zip(&one).expect("zip"),
            reproducible_zip(&two).expect("zip"),
        );
        assert_eq!(one, two);
        let mut archive = ::zip::ZipArchive::new(Cursor::new(one)).expect("zip");
        let names: Vec<String> = (0..archive.len())
            .map(|i| {
                archive
                    .by_index(i)
                    .expect("entry")
                    .name()
                    .expect("name")
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["bootstrap", "z.txt"]);
    }
}
