//! What every service wrapper keeps of a failed SDK call: the HTTP status, the service's
//! error code and its message. One conversion, used by [`super::s3::S3Error`],
//! [`super::cloudformation::CfnError`] and [`super::ecr::EcrError`], so the three read
//! SDK errors the same way and none of them re-implements it. Must not decide what an
//! error means (each wrapper names its own "missing" and "lost the race" answers).

use std::sync::atomic::{AtomicBool, Ordering};

// Every service crate re-exports these same smithy types; the S3 crate's path is used for
// all services because they are one type, not one per service.
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

static DEBUG: AtomicBool = AtomicBool::new(false);

/// `--debug`: failed calls carry the SDK's whole error chain (its debug form) as well.
pub fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

/// Whether `--debug` was given.
pub fn debug() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// The parts of an SDK error irisctl reports and matches on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The service's error code (`NoSuchBucket`, `ValidationError`, ...), when it sent one.
    pub code: Option<String>,
    /// The service's message, or, when there is none (timeouts, refused connections, DNS
    /// and TLS failures, missing credentials), what went wrong in a sentence: the SDK's
    /// whole error chain only with `--debug`.
    pub message: String,
}

impl Failure {
    pub(crate) fn from_sdk<E>(err: &SdkError<E, HttpResponse>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        Failure {
            status: err.raw_response().map(|r| r.status().as_u16()),
            code: err.code().map(str::to_owned),
            message: err
                .message()
                .map(str::to_owned)
                .unwrap_or_else(|| without_service_message(err)),
        }
    }
}

/// A failed call of one of the read-only wrappers (API Gateway, Lambda, CloudWatch Logs,
/// KMS, Cognito) with the service, operation and resource it concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{service} {operation} ({target}): {message}")]
pub struct CallFailed {
    pub service: &'static str,
    pub operation: &'static str,
    /// The resource asked about, or `account` for account-wide reads.
    pub target: String,
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: String,
}

impl CallFailed {
    pub(crate) fn from_sdk<E>(
        service: &'static str,
        operation: &'static str,
        target: &str,
        err: &SdkError<E, HttpResponse>,
    ) -> CallFailed
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let Failure {
            status,
            code,
            message,
        } = Failure::from_sdk(err);
        CallFailed {
            service,
            operation,
            target: target.to_owned(),
            status,
            code,
            message,
        }
    }
}

/// A failure without a service message, for a person: the kind of failure and its root
/// cause; the SDK's chain is appended with `--debug`.
fn without_service_message<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: std::error::Error + 'static,
{
    let root = root_cause(err);
    let what = match err {
        SdkError::TimeoutError(_) => "the call timed out".to_owned(),
        SdkError::DispatchFailure(_) if is_credentials(err) => {
            format!("no usable AWS credentials ({root})")
        }
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            format!("the connection timed out ({root})")
        }
        SdkError::DispatchFailure(failure) if failure.is_io() => {
            format!("could not connect ({root})")
        }
        SdkError::DispatchFailure(_) => format!("the request was not sent ({root})"),
        SdkError::ConstructionFailure(_) => format!("the request could not be built ({root})"),
        SdkError::ResponseError(_) => format!("the response could not be read ({root})"),
        _ => root,
    };
    if debug() {
        format!("{what}; SDK error: {}", DisplayErrorContext(err))
    } else {
        what
    }
}

/// The innermost error of the chain: what actually went wrong, in its own words.
pub(crate) fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Whether the request failed because no credentials could be loaded: the credential
/// chain's error is somewhere in the dispatch failure's sources.
fn is_credentials(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
        {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecr::operation::list_images::ListImagesError;
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::primitives::SdkBody;

    #[test]
    fn a_service_error_keeps_its_code_and_message() {
        let meta = ErrorMetadata::builder()
            .code("RepositoryNotFoundException")
            .message("no repository iris-local")
            .build();
        let err: SdkError<ListImagesError, HttpResponse> = SdkError::service_error(
            ListImagesError::generic(meta),
            HttpResponse::new(400u16.try_into().expect("a valid status"), SdkBody::empty()),
        );
        let failure = Failure::from_sdk(&err);
        assert_eq!(failure.status, Some(400));
        assert_eq!(failure.code.as_deref(), Some("RepositoryNotFoundException"));
        assert_eq!(failure.message, "no repository iris-local");
    }

    #[test]
    fn an_error_without_a_response_says_what_went_wrong() {
        let err: SdkError<ListImagesError, HttpResponse> =
            SdkError::timeout_error("connect timed out after 3.1s");
        let failure = Failure::from_sdk(&err);
        assert_eq!(failure.status, None);
        assert_eq!(failure.code, None);
        assert!(failure.message.contains("timed out"), "{}", failure.message);
    }
}
