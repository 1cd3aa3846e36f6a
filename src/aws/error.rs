//! What every service wrapper keeps of a failed SDK call: the HTTP status, the service's
//! error code and its message. One conversion, used by [`super::s3::S3Error`],
//! [`super::cloudformation::CfnError`] and [`super::ecr::EcrError`], so the three read
//! SDK errors the same way and none of them re-implements it. Must not decide what an
//! error means (each wrapper names its own "missing" and "lost the race" answers).

// Every service crate re-exports these same smithy types; the S3 crate's path is used for
// all services because they are one type, not one per service.
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// The parts of an SDK error irisctl reports and matches on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The service's error code (`NoSuchBucket`, `ValidationError`, ...), when it sent one.
    pub code: Option<String>,
    /// The service's message, or the SDK's whole error chain when there is none (timeouts,
    /// DNS and TLS failures carry no service message, and their cause is in the chain).
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
                .unwrap_or_else(|| DisplayErrorContext(err).to_string()),
        }
    }
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
