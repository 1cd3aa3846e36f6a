//! Interim SDK loading until the emulator branch's `aws` module (which owns
//! `sdk_config`, client constructors and endpoint resolution) is merged; same names, so
//! callers do not change when this file goes.

use aws_config::{BehaviorVersion, SdkConfig};

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

pub fn s3(conf: &SdkConfig) -> aws_sdk_s3::Client {
    let s3_conf = aws_sdk_s3::config::Builder::from(conf)
        .force_path_style(conf.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3_conf)
}

pub fn cloudformation(conf: &SdkConfig) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(conf)
}

pub fn sts(conf: &SdkConfig) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(conf)
}

/// Endpoints that are not loopback (`None` = real AWS).
pub fn off_machine(conf: &SdkConfig) -> Vec<Option<String>> {
    match conf.endpoint_url() {
        Some(url) if is_loopback(url) => Vec::new(),
        other => vec![other.map(str::to_owned)],
    }
}

fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    host == "localhost" || host.starts_with("127.")
}
