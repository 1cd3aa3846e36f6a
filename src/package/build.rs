//! Building the release `bootstrap` by running cargo: a static musl build when the musl
//! target is installed (or `rustup` can add it), else the glibc build, which
//! `package::elf` then checks against Amazon Linux 2023's glibc. Owns the cargo command
//! line; must not zip or upload.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

pub const LAMBDA_PACKAGE: &str = "iris-lambda";
pub const MUSL: &str = "x86_64-unknown-linux-musl";
/// Cargo profile for the function (root Cargo.toml): release, stripped.
pub const PROFILE: &str = "lambda";

/// Which target to build for, after probing the toolchain.
pub fn choose_target(allow_rustup: bool) -> Option<&'static str> {
    // The AWS SDK's TLS stack (aws-lc-sys) compiles C: a musl build needs a musl C
    // compiler, and without one it fails halfway instead of falling back.
    if !musl_cc_available() {
        eprintln!(
            "package: no musl C compiler (musl-gcc; `apt-get install musl-tools`) for {MUSL}; \
             falling back to the host (glibc) build; its glibc needs are checked before zipping"
        );
        return None;
    }
    if musl_installed() {
        return Some(MUSL);
    }
    if allow_rustup {
        eprintln!("package: the {MUSL} target is not installed; trying `rustup target add {MUSL}`");
        let added = Command::new("rustup")
            .args(["target", "add", MUSL])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if added && musl_installed() {
            return Some(MUSL);
        }
    }
    eprintln!(
        "package: falling back to the host (glibc) build; its glibc needs are checked before zipping"
    );
    None
}

fn musl_cc_available() -> bool {
    std::env::var_os("CC_x86_64_unknown_linux_musl").is_some() || which("musl-gcc")
}

fn musl_installed() -> bool {
    let Ok(out) = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", MUSL])
        .output()
    else {
        return false;
    };
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    out.status.success() && dir.join("self-contained").is_dir()
}

/// Runs `cargo build --profile lambda -p iris-lambda --bin bootstrap [--target T]` in
/// `workspace` and returns the path cargo reports for the executable.
pub fn build_bootstrap(workspace: &Path, target: Option<&str>) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--locked",
            "--profile",
            PROFILE,
            "-p",
            LAMBDA_PACKAGE,
            "--bin",
            "bootstrap",
        ])
        .args(["--message-format", "json-render-diagnostics"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(target) = target {
        cmd.args(["--target", target]);
        // The cargo home's path ends up in the dependencies' panic messages; mapping it to
        // a fixed name makes the binary the same from any machine. The checkout's own path
        // needs no mapping: cargo hands rustc workspace members' sources relative to the
        // workspace root (the binary holds `lambda/src/main.rs`, no absolute path), and
        // leaving it out of RUSTFLAGS keeps the dependencies' build cache valid for every
        // checkout (RUSTFLAGS is part of each unit's fingerprint). Only applies to the
        // target's code (with --target, RUSTFLAGS skips build scripts).
        let mut flags = std::env::var("RUSTFLAGS").unwrap_or_default();
        if let Some(home) = cargo_home() {
            flags.push_str(&format!(" --remap-path-prefix={}=/cargo", home.display()));
        }
        cmd.env("RUSTFLAGS", flags.trim());
        if target == MUSL
            && std::env::var_os("CC_x86_64_unknown_linux_musl").is_none()
            && which("musl-gcc")
        {
            cmd.env("CC_x86_64_unknown_linux_musl", "musl-gcc");
        }
    }
    eprintln!("package: {cmd:?}");
    let out = cmd.output().context("running cargo (is it on PATH?)")?;
    if !out.status.success() {
        bail!(
            "cargo build of {LAMBDA_PACKAGE} failed ({}); its errors are above",
            out.status
        );
    }
    executable_from_messages(&String::from_utf8_lossy(&out.stdout))
        .context("cargo finished but reported no `bootstrap` executable")
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The `executable` of the last `compiler-artifact` message for the bootstrap binary.
fn executable_from_messages(stdout: &str) -> Option<PathBuf> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "bootstrap")
        .filter_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .next_back()
}

/// The workspace root, from `cargo locate-project --workspace`.
pub fn workspace_root() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .output()
        .context("running `cargo locate-project` (is cargo on PATH?)")?;
    if !out.status.success() {
        bail!(
            "not inside the irisctl workspace ({}); run `irisctl package` from the repository, or pass --bootstrap PATH",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("cargo returned a manifest path without a directory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_bootstrap_executable_in_cargo_messages() {
        let messages = [
            r#"{"reason":"compiler-artifact","target":{"name":"iris_model"},"executable":null}"#,
            "not json",
            r#"{"reason":"compiler-artifact","target":{"name":"bootstrap"},"executable":"/t/lambda/bootstrap"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(
            executable_from_messages(&messages),
            Some(PathBuf::from("/t/lambda/bootstrap"))
        );
        assert_eq!(
            executable_from_messages(r#"{"reason":"build-finished"}"#),
            None
        );
    }
}
