//! A thin Lambda wrapper: one synchronous invocation (`RequestResponse`) of a function,
//! returning whether the function reported an error and its payload. Must not interpret
//! the payload.

use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use super::error::Failure;

#[derive(Debug, thiserror::Error)]
#[error("Lambda Invoke of {function}: {message}")]
pub struct LambdaError {
    pub function: String,
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: String,
}

/// What a synchronous invocation returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoked {
    /// `Some("Unhandled")` (or another type) when the function failed; its payload then
    /// holds `errorType` and `errorMessage`.
    pub function_error: Option<String>,
    pub payload: Vec<u8>,
}

/// Invokes `function` with `payload` and waits for its answer.
pub async fn invoke(
    client: &Client,
    function: &str,
    payload: Vec<u8>,
) -> Result<Invoked, LambdaError> {
    let out = client
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::RequestResponse)
        .payload(Blob::new(payload))
        .send()
        .await
        .map_err(|err| {
            let Failure {
                status,
                code,
                message,
            } = Failure::from_sdk(&err);
            LambdaError {
                function: function.to_owned(),
                status,
                code,
                message,
            }
        })?;
    Ok(Invoked {
        function_error: out.function_error().map(str::to_owned),
        payload: out
            .payload()
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default(),
    })
}
