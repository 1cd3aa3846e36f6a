//! Integration tests that need no emulator: the binary's commands and refusals, rendered
//! templates, packaging, and irisctl's AWS code against scripted AWS answers
//! (aws-smithy-mocks). One test binary, so the AWS SDK is linked once for all of them.
//! `cargo test --test offline`; the `#[ignore]`d ones need what their reason says
//! (scripts/test provides it).

#[path = "../support/mod.rs"]
mod support;

mod account_and_endpoint_refusals;
mod ci_access;
mod config_render_validate;
mod contract;
mod deploy_refusals;
mod destroy_emptying;
mod destroy_receipt;
mod destroy_refusals;
mod destroy_stack_failures;
mod env_lock;
mod image_layout;
mod local_serve_contract;
mod local_serve_refusals;
mod openapi_document;
mod package_zip;
mod preflight_answers;
mod rendered_templates;
mod rollout_answers;
mod runtime_api_with_awslambdaric;
mod sagemaker_backend;
mod stack_states;
