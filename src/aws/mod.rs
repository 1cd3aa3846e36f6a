//! The one way irisctl reaches AWS: SDK configuration read from the environment exactly as
//! the AWS CLI reads it, and thin client constructors on top of it.
//!
//! Owns: credential/region/endpoint loading ([`sdk_config`]), per-service client
//! construction, the question "where will calls to service X go?" ([`endpoint`]), and
//! every AWS API call irisctl makes, as typed methods of the per-service wrappers
//! ([`cloudformation::Cfn`], [`s3::Bucket`], [`ecr::Ecr`], [`sqs::Queue`], [`sts`],
//! [`lambda`] (preflight's reads and batch's redrive), and preflight's [`apigateway`],
//! [`logs`], [`kms`], [`cognito`]) that read SDK errors
//! one way (the `error` module). Code outside this module decides; it does not call the SDK.
//! Must not: hold deployment logic, retry policy beyond the SDK's, or any knowledge of
//! stacks and environments. Tests build their clients through these same functions, so
//! what they exercise is what a user runs.

pub mod apigateway;
pub mod cloudformation;
pub mod cloudwatch;
pub mod cognito;
pub mod credentials;
pub mod ecr;
pub mod endpoint;
mod error;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod reach;
pub mod s3;
pub mod sqs;
pub mod sts;
pub mod tagging;

pub use error::{CallFailed, debug, set_debug};

use aws_config::{BehaviorVersion, SdkConfig};

/// SDK configuration from the environment: `AWS_PROFILE` and the shared config files
/// (including SSO profiles and `credential_process`), environment credentials, web
/// identity, container and instance credentials, `AWS_REGION`, and the endpoint overrides
/// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` (how the emulators are reached).
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// The same configuration, in the region an env names: an env's stacks live in its
/// region whatever `AWS_REGION` or the profile says, so `deploy --env prod` can never
/// land in the region the shell happened to have.
pub async fn sdk_config_in(region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .load()
        .await
}

/// An S3 client. With a custom S3 endpoint (an emulator or an S3-compatible store) buckets
/// are addressed by path: virtual-hosted addressing would need DNS for `<bucket>.<host>`,
/// which loopback endpoints do not have. Real AWS keeps the SDK's default addressing.
pub fn s3(conf: &SdkConfig) -> aws_sdk_s3::Client {
    let custom_endpoint = endpoint::resolved(conf, endpoint::Service::S3).is_some();
    let s3_conf = aws_sdk_s3::config::Builder::from(conf)
        .force_path_style(custom_endpoint)
        .build();
    aws_sdk_s3::Client::from_conf(s3_conf)
}

/// A CloudFormation client.
pub fn cloudformation(conf: &SdkConfig) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(conf)
}

/// An ECR client (served by moto on the emulators, through `AWS_ENDPOINT_URL_ECR`).
pub fn ecr(conf: &SdkConfig) -> aws_sdk_ecr::Client {
    aws_sdk_ecr::Client::new(conf)
}

/// An SQS client (the env's dead-letter queue).
pub fn sqs(conf: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(conf)
}

/// An STS client (caller identity: which account a command is about to change).
pub fn sts(conf: &SdkConfig) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(conf)
}

/// An API Gateway (REST, v1) client: the account's logging role and throttle.
pub fn apigateway(conf: &SdkConfig) -> aws_sdk_apigateway::Client {
    aws_sdk_apigateway::Client::new(conf)
}

/// A Lambda client: account concurrency (preflight), the function's invocation (`dlq redrive`).
pub fn lambda(conf: &SdkConfig) -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::new(conf)
}

/// A CloudWatch client (alarm states).
pub fn cloudwatch(conf: &SdkConfig) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(conf)
}

/// A CloudWatch Logs client.
pub fn logs(conf: &SdkConfig) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(conf)
}

/// A KMS client.
pub fn kms(conf: &SdkConfig) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(conf)
}

/// A Resource Groups Tagging API client: what is still tagged with an env after destroy.
pub fn tagging(conf: &SdkConfig) -> aws_sdk_resourcegroupstagging::Client {
    aws_sdk_resourcegroupstagging::Client::new(conf)
}

/// A Cognito user pools client (served by moto on the emulators).
pub fn cognito(conf: &SdkConfig) -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::new(conf)
}
