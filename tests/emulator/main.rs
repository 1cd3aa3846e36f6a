//! Integration tests against the local emulators (LocalStack and moto, scripts/emulator):
//! the SDK wiring irisctl stands on, and deploy and destroy end to end. Every test is
//! `#[ignore]`d and refuses to run unless every endpoint is loopback. Run them with
//! `scripts/test`, or `scripts/emulator start && eval "$(scripts/emulator env)" &&
//! cargo test --test emulator -- --include-ignored`.

#[path = "../support/mod.rs"]
mod support;

mod artifact_identity;
mod batch_scoring;
mod cli_output;
mod cognito_tokens;
mod deploy;
mod destroy;
mod function_runs;
mod image_deploy;
mod image_push;
mod model_releases;
mod openapi_export;
mod preflight;
mod rollouts;
mod sagemaker_control_plane;
mod sdk_wiring;
mod smoke_gate;
