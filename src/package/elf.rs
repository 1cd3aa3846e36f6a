//! What a Linux binary needs from the system it runs on: static, or dynamic with the
//! highest `GLIBC_x.y` symbol version it requires. Lambda's `provided.al2023` ships glibc
//! 2.34, so a dynamic binary needing anything newer fails at start with a loader error
//! that only shows in CloudWatch; checking here makes it a packaging error instead.

use std::fmt;

use object::{Architecture, BinaryFormat, Object as _, ObjectSection as _};

/// The newest glibc on Amazon Linux 2023.
pub const AL2023_GLIBC: (u32, u32) = (2, 34);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linkage {
    /// No program interpreter: runs on any x86_64 Linux kernel (musl builds).
    Static,
    /// Loaded by `interpreter`; needs glibc up to `max_glibc` (None: no versioned glibc symbol).
    Dynamic {
        interpreter: String,
        max_glibc: Option<(u32, u32)>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    #[error("not a readable executable: {0}")]
    Parse(#[from] object::Error),
    #[error("not an ELF file ({0:?}); Lambda runs Linux ELF binaries")]
    NotElf(BinaryFormat),
    #[error("built for {0:?}; the function runs on x86_64")]
    WrongArchitecture(Architecture),
    #[error(
        "needs glibc {}.{} but Amazon Linux 2023 has {}.{}; build for x86_64-unknown-linux-musl \
         (rustup target add x86_64-unknown-linux-musl) or on an older glibc",
        .0.0, .0.1, AL2023_GLIBC.0, AL2023_GLIBC.1
    )]
    GlibcTooNew((u32, u32)),
}

impl fmt::Display for Linkage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Linkage::Static => write!(f, "static"),
            Linkage::Dynamic {
                interpreter,
                max_glibc: Some((major, minor)),
            } => {
                write!(f, "dynamic ({interpreter}), needs GLIBC_{major}.{minor}")
            }
            Linkage::Dynamic {
                interpreter,
                max_glibc: None,
            } => write!(f, "dynamic ({interpreter}), no versioned glibc symbols"),
        }
    }
}

impl Linkage {
    pub fn check_runs_on_al2023(&self) -> Result<(), ElfError> {
        match self {
            Linkage::Dynamic {
                max_glibc: Some(v), ..
            } if *v > AL2023_GLIBC => Err(ElfError::GlibcTooNew(*v)),
            _ => Ok(()),
        }
    }
}

/// Reads the linkage of an x86_64 ELF executable.
pub fn inspect(binary: &[u8]) -> Result<Linkage, ElfError> {
    let file = object::File::parse(binary)?;
    if file.format() != BinaryFormat::Elf {
        return Err(ElfError::NotElf(file.format()));
    }
    if file.architecture() != Architecture::X86_64 {
        return Err(ElfError::WrongArchitecture(file.architecture()));
    }
    let Some(interp) = file.section_by_name(".interp") else {
        return Ok(Linkage::Static);
    };
    let interpreter = String::from_utf8_lossy(interp.data()?)
        .trim_end_matches('\0')
        .to_owned();
    // Version names the binary needs live in the dynamic string table next to symbol names.
    let dynstr = match file.section_by_name(".dynstr") {
        Some(section) => section.data()?,
        None => &[],
    };
    let max_glibc = dynstr.split(|b| *b == 0).filter_map(glibc_version).max();
    Ok(Linkage::Dynamic {
        interpreter,
        max_glibc,
    })
}

/// `GLIBC_2.34` → (2, 34); `GLIBC_PRIVATE` and anything else → None.
fn glibc_version(name: &[u8]) -> Option<(u32, u32)> {
    let rest = std::str::from_utf8(name.strip_prefix(b"GLIBC_")?).ok()?;
    let mut parts = rest.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_glibc_version_names() {
        assert_eq!(glibc_version(b"GLIBC_2.34"), Some((2, 34)));
        assert_eq!(glibc_version(b"GLIBC_2.2.5"), Some((2, 2)));
        assert_eq!(glibc_version(b"GLIBC_3"), Some((3, 0)));
        assert_eq!(glibc_version(b"GLIBC_PRIVATE"), None);
        assert_eq!(glibc_version(b"memcpy"), None);
    }

    #[test]
    fn glibc_newer_than_al2023_is_refused() {
        let dynamic = |v| Linkage::Dynamic {
            interpreter: "/lib64/ld-linux-x86-64.so.2".into(),
            max_glibc: Some(v),
        };
        assert!(dynamic((2, 34)).check_runs_on_al2023().is_ok());
        assert!(dynamic((2, 17)).check_runs_on_al2023().is_ok());
        let err = dynamic((2, 35))
            .check_runs_on_al2023()
            .expect_err("2.35 > 2.34");
        assert!(err.to_string().contains("glibc 2.35"), "{err}");
        assert!(Linkage::Static.check_runs_on_al2023().is_ok());
    }

    #[test]
    fn non_elf_input_is_an_error() {
        assert!(inspect(b"#!/bin/sh\necho hi\n").is_err());
        assert!(inspect(&[]).is_err());
    }

    #[test]
    fn reads_the_running_test_binary() {
        // This test binary is a real x86_64 ELF built by the same toolchain as bootstrap.
        let me = std::fs::read(std::env::current_exe().expect("current exe")).expect("read self");
        match inspect(&me).expect("inspect self") {
            Linkage::Static => {}
            Linkage::Dynamic {
                interpreter,
                max_glibc,
            } => {
                assert!(interpreter.contains("ld-linux"), "{interpreter}");
                assert!(max_glibc.is_some_and(|v| v >= (2, 2)), "{max_glibc:?}");
            }
        }
    }
}
