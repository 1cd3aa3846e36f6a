//! destroy's refusals happen before any AWS call: these run without emulators or
//! credentials, and prove nothing could have been changed (no endpoint is even set).

use std::process::Output;

use crate::support;

/// Every AWS call at a closed port: a refusal must come before any of them.
fn irisctl(args: &[&str]) -> Output {
    support::irisctl(args).without_aws().output()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn protected_env_is_refused_without_force_protected_even_with_yes() {
    let out = irisctl(&["destroy", "--env", "prod", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--force-protected"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn protected_env_is_refused_without_a_terminal_even_when_forced() {
    let out = irisctl(&["destroy", "--env", "prod", "--yes", "--force-protected"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("no TTY"), "{}", stderr(&out));
}

#[test]
fn unprotected_env_without_yes_and_without_a_terminal_is_refused() {
    let out = irisctl(&["destroy", "--env", "dev"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
}

#[test]
fn an_invalid_env_name_is_an_error_naming_it() {
    let out = irisctl(&["destroy", "--env", "Prod_1", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("Prod_1"), "{}", stderr(&out));
}

#[test]
fn gc_rejects_a_malformed_older_than() {
    let out = irisctl(&["gc", "--older-than", "three days", "--dry-run"]);
    // A usage error exits 1, never 2 ("changes pending" to CI scripts).
    assert_eq!(
        out.status.code(),
        Some(1),
        "clap usage error: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--older-than"), "{}", stderr(&out));
}
