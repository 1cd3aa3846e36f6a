//! `irisctl local serve` refusals that must happen before anything is created.

use crate::support;

#[test]
fn local_serve_refuses_to_upload_a_model_off_this_machine() {
    let model = tempfile::tempdir().expect("tempdir");
    // Off this machine but unroutable (TEST-NET-1): a regression cannot reach an account.
    let out = support::irisctl(&[
        "local",
        "serve",
        "--port",
        "0",
        "--bootstrap",
        "/bin/true",
        "--model",
    ])
    .arg(model.path())
    .aws_at("http://192.0.2.1:9")
    .output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refusing to upload to http://192.0.2.1:9"),
        "{stderr}"
    );
}
