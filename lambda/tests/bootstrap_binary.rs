//! The built `bootstrap` must start on Lambda's provided.al2023: static (musl), or dynamic
//! needing no glibc symbol newer than 2.34. This checks the binary cargo built for this
//! test run (the host build, i.e. the glibc fallback of `irisctl package`).

use irisctl::package::elf::{AL2023_GLIBC, Linkage, inspect};

#[test]
fn bootstrap_needs_at_most_glibc_2_34() {
    let path = env!("CARGO_BIN_EXE_bootstrap");
    let binary = std::fs::read(path).expect("read bootstrap");
    let linkage = inspect(&binary).expect("bootstrap is an x86_64 ELF");
    match &linkage {
        Linkage::Static => {}
        Linkage::Dynamic { max_glibc, .. } => {
            let max = max_glibc.expect("a glibc-linked binary names GLIBC_ versions");
            assert!(
                max <= AL2023_GLIBC,
                "{path} needs GLIBC_{}.{} > 2.34",
                max.0,
                max.1
            );
        }
    }
    linkage.check_runs_on_al2023().expect("runs on AL2023");
}
