//! Where the SDK will send a service's calls, and whether that is this machine.
//!
//! Owns the answer to "is this endpoint loopback?", which decides whether a command (or a
//! test) is about to talk to a local emulator or to a real AWS account. Must not open
//! connections or read anything but the SDK configuration it is given.

use std::net::IpAddr;

use aws_config::SdkConfig;
use aws_types::service_config::ServiceConfigKey;

/// The services irisctl (and its templates) use, by the SDK's service id: the id names the
/// per-service override `AWS_ENDPOINT_URL_<ID>` (spaces become underscores) and the
/// `[services]` section key in the shared config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    S3,
    CloudFormation,
    Ecr,
    Sts,
    Lambda,
    Sqs,
    Iam,
    CognitoIdentityProvider,
    ApiGateway,
    CloudWatchLogs,
    Kms,
    Tagging,
}

impl Service {
    pub const ALL: [Service; 12] = [
        Service::S3,
        Service::CloudFormation,
        Service::Ecr,
        Service::Sts,
        Service::Lambda,
        Service::Sqs,
        Service::Iam,
        Service::CognitoIdentityProvider,
        Service::ApiGateway,
        Service::CloudWatchLogs,
        Service::Kms,
        Service::Tagging,
    ];

    /// The SDK's service id.
    pub fn id(self) -> &'static str {
        match self {
            Service::S3 => "S3",
            Service::CloudFormation => "CloudFormation",
            Service::Ecr => "ECR",
            Service::Sts => "STS",
            Service::Lambda => "Lambda",
            Service::Sqs => "SQS",
            Service::Iam => "IAM",
            Service::CognitoIdentityProvider => "Cognito Identity Provider",
            Service::ApiGateway => "API Gateway",
            Service::CloudWatchLogs => "CloudWatch Logs",
            Service::Kms => "KMS",
            Service::Tagging => "Resource Groups Tagging API",
        }
    }
}

/// The endpoint override the SDK will use for `service`, or `None` for AWS's own endpoint.
///
/// Same precedence as the generated clients: a service-specific value
/// (`AWS_ENDPOINT_URL_<ID>`, then the profile's `[services]` section) wins over the global
/// one (`AWS_ENDPOINT_URL`, then the profile's `endpoint_url`). With
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` the SDK reports neither, and neither do we.
pub fn resolved(conf: &SdkConfig, service: Service) -> Option<String> {
    let key = ServiceConfigKey::builder()
        .service_id(service.id())
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()?;
    conf.service_config()
        .and_then(|loader| loader.load_config(key))
        .or_else(|| conf.endpoint_url().map(str::to_owned))
}

/// Every service in `services` whose calls would go to this machine, with the endpoint.
pub fn on_machine(conf: &SdkConfig, services: &[Service]) -> Vec<(Service, String)> {
    services
        .iter()
        .filter_map(|&service| resolved(conf, service).map(|url| (service, url)))
        .filter(|(_, url)| is_loopback(url))
        .collect()
}

/// True when `url` names this machine: `localhost`, 127.0.0.0/8 or `::1`, with or without
/// scheme, credentials, port and path.
pub fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((host, _)) => host,
            None => return false,
        }
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Every service in `services` whose calls would leave this machine, with the endpoint it
/// would use (`None` = AWS itself). Empty means every call stays on loopback.
pub fn off_machine(conf: &SdkConfig, services: &[Service]) -> Vec<(Service, Option<String>)> {
    services
        .iter()
        .map(|&service| (service, resolved(conf, service)))
        .filter(|(_, url)| !url.as_deref().is_some_and(is_loopback))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for url in [
            "http://127.0.0.1:4566",
            "http://127.0.0.1",
            "https://127.8.9.10:443/path?q=1",
            "http://localhost:5000/",
            "http://LOCALHOST",
            "http://[::1]:4566",
            "http://user:secret@127.0.0.1:4566",
            "127.0.0.1:4566",
        ] {
            assert!(is_loopback(url), "{url} should be loopback");
        }
    }

    #[test]
    fn remote_and_malformed_hosts_are_not_loopback() {
        for url in [
            "https://s3.us-east-1.amazonaws.com",
            "http://10.0.0.1:4566",
            "http://169.254.169.254",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example",
            "http://evil.example/?x=127.0.0.1",
            "http://127.0.0.1@evil.example",
            "http://[::2]:4566",
            "http://[::1",
            "",
        ] {
            assert!(!is_loopback(url), "{url} should not be loopback");
        }
    }

    #[test]
    fn a_global_endpoint_applies_to_every_service() {
        let conf = SdkConfig::builder()
            .endpoint_url("http://127.0.0.1:4566")
            .build();
        assert_eq!(
            resolved(&conf, Service::Ecr).as_deref(),
            Some("http://127.0.0.1:4566")
        );
        assert!(off_machine(&conf, &Service::ALL).is_empty());
    }

    #[test]
    fn without_an_endpoint_every_service_goes_to_aws() {
        let conf = SdkConfig::builder().build();
        let off = off_machine(&conf, &Service::ALL);
        assert_eq!(off.len(), Service::ALL.len());
        assert!(off.iter().all(|(_, url)| url.is_none()));
    }

    #[test]
    fn a_remote_global_endpoint_is_reported_for_every_service() {
        let conf = SdkConfig::builder()
            .endpoint_url("https://cloudformation.us-east-1.amazonaws.com")
            .build();
        let off = off_machine(&conf, &[Service::CloudFormation, Service::S3]);
        assert_eq!(off.len(), 2);
        assert_eq!(
            off[0].1.as_deref(),
            Some("https://cloudformation.us-east-1.amazonaws.com")
        );
    }
}
