//! Gateway responses: what API Gateway answers when it refuses a request itself (no
//! token, throttled, invalid body, no such method) instead of calling the function. The
//! template's `AWS::ApiGateway::GatewayResponse` resources decide the body, headers and
//! status; a type the template does not configure falls back to `DEFAULT_4XX` /
//! `DEFAULT_5XX`, and a status not set takes the type's default, as API Gateway documents
//! in its "Gateway response types" table. Only the mapping-template variables API Gateway
//! fills for gateway responses that this module knows are accepted; any other makes the
//! contract unreadable (an error when local serve starts), never an empty string.

use serde_json::Value;

use super::definition::{ContractError, shape, string};

/// One configured gateway response.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayResponse {
    /// `StatusCode`, when the template sets one.
    pub status: Option<u16>,
    /// Static header values (`'1'` in the template).
    pub headers: Vec<(String, String)>,
    /// The `application/json` response template.
    pub template: Option<String>,
}

/// The variables a gateway response template may use here.
const VARIABLES: [&str; 4] = [
    "$context.error.responseType",
    "$context.error.messageString",
    "$context.error.message",
    "$context.requestId",
];

impl GatewayResponse {
    pub(super) fn read(
        id: &str,
        p: &serde_json::Map<String, Value>,
    ) -> Result<GatewayResponse, ContractError> {
        let status = match p.get("StatusCode") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .and_then(|s| s.parse().ok())
                    .or_else(|| v.as_u64().and_then(|n| u16::try_from(n).ok()))
                    .ok_or_else(|| shape(id, format!("StatusCode {v} is not a status")))?,
            ),
        };
        let mut headers = Vec::new();
        if let Some(params) = p.get("ResponseParameters").and_then(Value::as_object) {
            for (key, value) in params {
                let name = key
                    .strip_prefix("gatewayresponse.header.")
                    .ok_or_else(|| shape(id, format!("{key} is not a header parameter")))?;
                let value = value
                    .as_str()
                    .and_then(|v| v.strip_prefix('\'')?.strip_suffix('\''))
                    .ok_or_else(|| shape(id, format!("{key} is not a static ('quoted') value")))?;
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
        let template = match p.get("ResponseTemplates").and_then(Value::as_object) {
            None => None,
            Some(t) => {
                let text = string(id, t, "application/json")?;
                let mut rest = text.to_owned();
                for v in VARIABLES {
                    rest = rest.replace(v, "");
                }
                if let Some(at) = rest.find('$') {
                    let tail: String = rest[at..].chars().take(40).collect();
                    return Err(shape(
                        id,
                        format!("template uses {tail}, which local serve cannot fill"),
                    ));
                }
                Some(text.to_owned())
            }
        };
        Ok(GatewayResponse {
            status,
            headers,
            template,
        })
    }
}

/// A response API Gateway gives itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The default status and `$context.error.message` of a response type (API Gateway's
/// "Gateway response types" table and its default messages).
pub fn defaults(response_type: &str) -> (u16, &'static str) {
    match response_type {
        "UNAUTHORIZED" => (401, "Unauthorized"),
        "ACCESS_DENIED" => (403, "User is not authorized to access this resource"),
        "MISSING_AUTHENTICATION_TOKEN" => (403, "Missing Authentication Token"),
        "EXPIRED_TOKEN" => (403, "The security token included in the request is expired"),
        "BAD_REQUEST_BODY" => (400, "Invalid request body"),
        "REQUEST_TOO_LARGE" => (413, "Request Too Long"),
        "THROTTLED" => (429, "Too Many Requests"),
        "INTEGRATION_TIMEOUT" => (504, "Endpoint request timed out"),
        "INTEGRATION_FAILURE" => (504, "Internal server error"),
        _ => (500, "Internal server error"),
    }
}

/// The answer for `response_type`, from the configured responses (`responses`, by type).
pub fn answer(
    responses: &std::collections::BTreeMap<String, GatewayResponse>,
    response_type: &str,
    request_id: &str,
) -> Answer {
    let (default_status, message) = defaults(response_type);
    let family = if default_status >= 500 {
        "DEFAULT_5XX"
    } else {
        "DEFAULT_4XX"
    };
    let configured = responses.get(response_type);
    let fallback = responses.get(family);
    let status = configured.and_then(|r| r.status).unwrap_or(default_status);
    let headers = configured
        .or(fallback)
        .map(|r| r.headers.clone())
        .unwrap_or_default();
    let body = match configured.or(fallback).and_then(|r| r.template.as_deref()) {
        Some(template) => fill(template, response_type, message, request_id),
        None => serde_json::json!({ "message": message }).to_string(),
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn fill(template: &str, response_type: &str, message: &str, request_id: &str) -> String {
    let quoted = Value::String(message.to_owned()).to_string();
    // Longest names first: `$context.error.message` is a prefix of `...messageString`.
    template
        .replace("$context.error.responseType", response_type)
        .replace("$context.error.messageString", &quoted)
        .replace("$context.error.message", message)
        .replace("$context.requestId", request_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::definition::tests::contract_of;

    #[test]
    fn throttled_is_429_with_retry_after_and_the_error_shape() {
        let c = contract_of("dev");
        let a = answer(&c.responses, "THROTTLED", "req-1");
        assert_eq!(a.status, 429);
        assert_eq!(a.headers, [("Retry-After".to_owned(), "1".to_owned())]);
        let body: Value = serde_json::from_str(&a.body).expect("JSON body");
        assert_eq!(body["error"]["code"], "THROTTLED");
        assert_eq!(body["error"]["message"], "Too Many Requests");
        assert_eq!(body["requestId"], "req-1");
    }

    #[test]
    fn unconfigured_types_use_the_default_4xx_template_and_their_own_status() {
        let c = contract_of("dev");
        for (ty, status) in [
            ("UNAUTHORIZED", 401),
            ("BAD_REQUEST_BODY", 400),
            ("MISSING_AUTHENTICATION_TOKEN", 403),
        ] {
            let a = answer(&c.responses, ty, "r");
            assert_eq!(a.status, status, "{ty}");
            let body: Value = serde_json::from_str(&a.body).expect("JSON body");
            assert_eq!(body["error"]["code"], ty);
            assert!(a.headers.is_empty(), "{ty}");
        }
        let a = answer(&c.responses, "INTEGRATION_FAILURE", "r");
        assert_eq!(a.status, 503, "the template's own status");
    }

    #[test]
    fn without_gateway_responses_the_body_is_api_gateways_message() {
        let a = answer(&Default::default(), "UNAUTHORIZED", "r");
        assert_eq!(
            (a.status, a.body.as_str()),
            (401, r#"{"message":"Unauthorized"}"#)
        );
    }

    #[test]
    fn an_unknown_template_variable_is_refused() {
        let p = serde_json::json!({
            "ResponseType": "DEFAULT_4XX",
            "ResponseTemplates": {"application/json": "{\"ip\":\"$context.identity.sourceIp\"}"},
        });
        let err = GatewayResponse::read("R", p.as_object().expect("object")).expect_err("refused");
        assert!(err.to_string().contains("$context.identity"), "{err}");
    }
}
