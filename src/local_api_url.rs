//! The URL under which an emulator env's API answers on this machine.
//!
//! The service stack's `ApiUrl` output is the AWS form,
//! `https://<api-id>.execute-api.<region>.<url-suffix>/<stage>` (on LocalStack 2026.3.0
//! it comes out as `https://<api-id>.execute-api.127.0.0.1:4566/<stage>`), which has no
//! DNS (and no TLS) on this machine. LocalStack (2026.3.0, the pinned emulator) also serves every deployed
//! REST API stage path-style on its own endpoint, `<endpoint>/_aws/execute-api/<api-id>/
//! <stage>/<resource path>`, which needs neither: the function sees the same proxy event
//! (`path` = the resource path, without the prefix or stage). This module only maps one
//! form to the other; it is pure, so deploy, status and outputs can print the local URL for
//! emulator envs without another call.

use thiserror::Error;

/// LocalStack's path prefix for API Gateway requests that cannot use the API's host name.
pub const EXECUTE_API_PATH: &str = "/_aws/execute-api";

/// Why an `ApiUrl` output or an endpoint could not be mapped.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LocalApiUrlError {
    #[error(
        "API URL {0:?} is not of the form https://<api-id>.execute-api.<region>.<suffix>/<stage> \
         (the service stack's ApiUrl output); check the stack's outputs with `irisctl outputs`"
    )]
    NotAnExecuteApiUrl(String),
    #[error(
        "emulator endpoint {0:?} is not an http:// or https:// URL without a path; set \
         AWS_ENDPOINT_URL as `scripts/emulator env` prints it"
    )]
    BadEndpoint(String),
}

/// Maps the stack's `ApiUrl` (`https://<id>.execute-api.<region>.amazonaws.com/<stage>`)
/// and the emulator's endpoint (e.g. `http://127.0.0.1:4566`, LocalStack's, the one
/// CloudFormation uses) to `http://127.0.0.1:4566/_aws/execute-api/<id>/<stage>`. A path
/// after the stage is kept, so a resource URL maps too; a trailing slash on either input
/// is dropped.
pub fn local_api_url(api_url: &str, emulator_endpoint: &str) -> Result<String, LocalApiUrlError> {
    let not_api = || LocalApiUrlError::NotAnExecuteApiUrl(api_url.to_owned());
    let rest = api_url.strip_prefix("https://").ok_or_else(not_api)?;
    let (host, path) = rest.split_once('/').ok_or_else(not_api)?;
    let (api_id, domain) = host.split_once(".execute-api.").ok_or_else(not_api)?;
    let id_ok = !api_id.is_empty() && api_id.chars().all(|c| c.is_ascii_alphanumeric());
    // On AWS the region and URL suffix (`us-east-1.amazonaws.com`); on LocalStack whatever
    // it resolves `${AWS::Region}.${AWS::URLSuffix}` to (`127.0.0.1:4566` on this harness).
    if !id_ok || domain.is_empty() || domain.split('.').any(str::is_empty) {
        return Err(not_api());
    }
    let path = path.trim_end_matches('/');
    let stage = path.split('/').next().unwrap_or_default();
    if stage.is_empty() {
        return Err(not_api());
    }

    let bad_endpoint = || LocalApiUrlError::BadEndpoint(emulator_endpoint.to_owned());
    let endpoint = emulator_endpoint.trim_end_matches('/');
    let authority = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .ok_or_else(bad_endpoint)?;
    if authority.is_empty() || authority.contains(['/', '?', '#']) {
        return Err(bad_endpoint());
    }
    Ok(format!("{endpoint}{EXECUTE_API_PATH}/{api_id}/{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCALSTACK: &str = "http://127.0.0.1:4566";

    #[test]
    fn maps_the_stack_output_to_the_path_style_url() {
        assert_eq!(
            local_api_url(
                "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1",
                LOCALSTACK
            ),
            Ok("http://127.0.0.1:4566/_aws/execute-api/a1b2c3d4e5/v1".to_owned())
        );
    }

    #[test]
    fn maps_the_output_localstack_gives() {
        // What `irisctl deploy` prints on the harness (LOCALSTACK_HOST=127.0.0.1:<port>).
        assert_eq!(
            local_api_url(
                "https://wfte27iufb.execute-api.127.0.0.1:4766/v1",
                "http://127.0.0.1:4766"
            ),
            Ok("http://127.0.0.1:4766/_aws/execute-api/wfte27iufb/v1".to_owned())
        );
    }

    #[test]
    fn keeps_a_resource_path_and_drops_trailing_slashes() {
        assert_eq!(
            local_api_url(
                "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/predict/",
                "http://localhost:4766/"
            ),
            Ok("http://localhost:4766/_aws/execute-api/abc123/prod/predict".to_owned())
        );
    }

    #[test]
    fn accepts_other_partitions_url_suffix() {
        assert_eq!(
            local_api_url(
                "https://abc123.execute-api.cn-north-1.amazonaws.com.cn/v1",
                LOCALSTACK
            ),
            Ok("http://127.0.0.1:4566/_aws/execute-api/abc123/v1".to_owned())
        );
    }

    #[test]
    fn refuses_what_is_not_an_execute_api_url() {
        for url in [
            "",
            "http://abc123.execute-api.us-east-1.amazonaws.com/v1",
            "https://abc123.execute-api.us-east-1.amazonaws.com",
            "https://abc123.execute-api.us-east-1.amazonaws.com/",
            "https://abc123.lambda-url.us-east-1.on.aws/v1",
            "https://.execute-api.us-east-1.amazonaws.com/v1",
            "https://ab-c.execute-api.us-east-1.amazonaws.com/v1",
            "https://abc123.execute-api./v1",
            "https://abc123.execute-api.us-east-1..amazonaws.com/v1",
            "http://127.0.0.1:4566/_aws/execute-api/abc123/v1",
        ] {
            assert_eq!(
                local_api_url(url, LOCALSTACK),
                Err(LocalApiUrlError::NotAnExecuteApiUrl(url.to_owned())),
                "{url}"
            );
        }
    }

    #[test]
    fn refuses_an_endpoint_that_is_not_a_bare_http_url() {
        let api = "https://abc123.execute-api.us-east-1.amazonaws.com/v1";
        for endpoint in ["", "127.0.0.1:4566", "http://", "http://h:1/x", "ftp://h"] {
            assert_eq!(
                local_api_url(api, endpoint),
                Err(LocalApiUrlError::BadEndpoint(endpoint.to_owned())),
                "{endpoint}"
            );
        }
    }

    #[test]
    fn error_messages_say_what_to_do() {
        let err = local_api_url("nope", LOCALSTACK)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("\"nope\"") && e.contains("irisctl outputs")));
        let err = local_api_url("https://a.execute-api.r.amazonaws.com/v1", "x")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("AWS_ENDPOINT_URL")));
    }
}
