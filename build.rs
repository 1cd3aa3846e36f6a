//! Build information for `irisctl version` and the `irisctl:commit` stack tag: the git
//! commit the binary was built from, the cargo profile and the target. Never fails the
//! build: outside a git checkout (a source tarball, a vendored copy) the commit is simply
//! not set, and `irisctl version` says `unknown`.
//!
//! Sets, for `env!` / `option_env!` in the crate:
//! - `IRISCTL_GIT_COMMIT`: short sha, `+dirty` when tracked files had changes; only when
//!   known. A value already in the build's environment wins (a build from a tarball can
//!   say which commit it is).
//! - `IRISCTL_BUILD_PROFILE`: the profile's directory name (debug, release, lambda, ...).
//! - `IRISCTL_BUILD_TARGET`: the target triple.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=IRISCTL_GIT_COMMIT");
    let commit = match std::env::var("IRISCTL_GIT_COMMIT") {
        Ok(given) if !given.trim().is_empty() => Some(given.trim().to_owned()),
        _ => git_commit(),
    };
    if let Some(commit) = commit {
        println!("cargo:rustc-env=IRISCTL_GIT_COMMIT={commit}");
    }
    println!("cargo:rustc-env=IRISCTL_BUILD_PROFILE={}", profile());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=IRISCTL_BUILD_TARGET={target}");
}

/// Run git in the crate's directory; None when git is missing or fails.
fn git(args: &[&str]) -> Option<String> {
    let dir =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from);
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8(out.stdout)
        .ok()
        .map(|s| s.trim().to_owned())
}

fn git_commit() -> Option<String> {
    let sha = git(&["rev-parse", "--short=12", "HEAD"])?;
    watch_git_state();
    // Untracked files do not count: a build leaves some (target/ is ignored, but a scratch
    // file is not a change to the source the binary was built from).
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|changes| !changes.is_empty());
    Some(if dirty { format!("{sha}+dirty") } else { sha })
}

/// Rebuild when the commit or the work tree changes: HEAD (another branch or commit), the
/// ref it points to, packed refs, the index (staging, committing) and the crate's own
/// sources (an edit makes the tree dirty). Paths come from git because in a worktree
/// `.git` is a file and the refs live in the common directory.
fn watch_git_state() {
    for name in ["HEAD", "index", "packed-refs"] {
        watch_git_path(name);
    }
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch_git_path(&reference);
    }
    for source in ["src", "templates", "Cargo.toml", "Cargo.lock", "build.rs"] {
        println!("cargo:rerun-if-changed={source}");
    }
}

fn watch_git_path(name: &str) {
    if let Some(path) = git(&["rev-parse", "--path-format=absolute", "--git-path", name])
        && Path::new(&path).exists()
    {
        println!("cargo:rerun-if-changed={path}");
    }
}

/// The profile's name: the directory cargo builds it in (`target/<profile>/build/...`),
/// which names custom profiles too; cargo's PROFILE only says debug or release.
fn profile() -> String {
    let out_dir = std::env::var_os("OUT_DIR").map(PathBuf::from);
    let from_dir = out_dir.as_deref().and_then(|dir| {
        let parts: Vec<_> = dir.components().collect();
        let build = parts.iter().rposition(|c| c.as_os_str() == "build")?;
        let profile = parts.get(build.checked_sub(1)?)?;
        profile.as_os_str().to_str().map(str::to_owned)
    });
    from_dir
        .or_else(|| std::env::var("PROFILE").ok())
        .unwrap_or_else(|| "unknown".into())
}
