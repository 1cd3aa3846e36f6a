//! `irisctl local serve` refusals that must happen before anything is created.

use std::process::Command;

#[test]
fn local_serve_refuses_to_upload_a_model_off_this_machine() {
    let model = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_irisctl"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(name);
        }
    }
    // Off this machine but unroutable (TEST-NET-1): a regression cannot reach an account.
    let out = cmd
        .args([
            "local",
            "serve",
            "--port",
            "0",
            "--bootstrap",
            "/bin/true",
            "--model",
        ])
        .arg(model.path())
        .env("AWS_ENDPOINT_URL", "http://192.0.2.1:9")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .expect("run irisctl");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refusing to upload to http://192.0.2.1:9"),
        "{stderr}"
    );
}
