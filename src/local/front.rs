//! The local HTTP front, like `sam local start-api`: each HTTP request becomes an API
//! Gateway REST (v1) proxy event, goes through the Runtime API to the function, and the
//! proxy response the function returns becomes the HTTP response. Failures map the way
//! API Gateway maps them: a function error or malformed response is 502 `{"message":
//! "Internal server error"}`, a timeout is 504. Owns the event/response shapes; must not
//! manage processes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::ApiGatewayProxyResponse;
use aws_lambda_events::encodings::Body as LambdaBody;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::function::Supervisor;
use super::gate::Gate;
use super::runtime_api::{Outcome, RuntimeApi, new_request_id};

/// API Gateway's payload limit for a request.
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
pub const STAGE: &str = "local";

pub struct Front {
    pub api: RuntimeApi,
    pub supervisor: Arc<Supervisor>,
    pub timeout: Duration,
    /// With `--env ENV`: ENV's API contract, enforced before the function is called.
    pub gate: Option<Gate>,
}

pub fn router(front: Arc<Front>) -> Router {
    Router::new().fallback(handle).with_state(front)
}

async fn handle(State(front): State<Arc<Front>>, req: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let api_request_id = new_request_id();
    let Ok(body) = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await else {
        if let Some(gate) = &front.gate {
            let refused = gate.answer("REQUEST_TOO_LARGE", "body over 10 MB", &api_request_id);
            return with_request_id(answer_response(&refused.answer), &api_request_id);
        }
        return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Too Long");
    };
    if let Some(gate) = &front.gate
        && let Err(refused) = gate.check(
            &parts.method,
            parts.uri.path(),
            &parts.headers,
            &body,
            &api_request_id,
            super::issuer::unix_now(),
        )
    {
        eprintln!(
            "local: {} {} -> {} {} ({}) in {:.2} ms",
            parts.method,
            parts.uri.path(),
            refused.answer.status,
            refused.response_type,
            refused.why,
            started.elapsed().as_secs_f64() * 1e3,
        );
        return with_request_id(answer_response(&refused.answer), &api_request_id);
    }
    let event = build_event(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
        &api_request_id,
    );
    let cold = match front.supervisor.ensure_running().await {
        Ok(cold) => cold,
        Err(err) => {
            eprintln!("local: {err:#}");
            return gateway_error(StatusCode::BAD_GATEWAY, "Internal server error");
        }
    };
    let (request_id, outcome) = front
        .api
        .invoke(Bytes::from(event.to_string()), front.timeout)
        .await;
    let (resp, duration) = match outcome {
        None => {
            eprintln!(
                "local: {request_id} timed out after {:?}; stopping the function process",
                front.timeout
            );
            front.supervisor.kill().await;
            (
                gateway_error(StatusCode::GATEWAY_TIMEOUT, "Endpoint request timed out"),
                None,
            )
        }
        Some((Outcome::Error { error_type, body }, report)) => {
            eprintln!(
                "local: {request_id} function error {error_type}: {}",
                String::from_utf8_lossy(&body)
            );
            (
                gateway_error(StatusCode::BAD_GATEWAY, "Internal server error"),
                report,
            )
        }
        Some((Outcome::Response(payload), report)) => match proxy_response(&payload) {
            Ok(resp) => (resp, report),
            Err(why) => {
                eprintln!("local: {request_id} malformed Lambda proxy response: {why}");
                (
                    gateway_error(StatusCode::BAD_GATEWAY, "Internal server error"),
                    report,
                )
            }
        },
    };
    eprintln!(
        "local: {} {} -> {} in {:.2} ms (REPORT RequestId: {request_id} Duration: {} {})",
        parts.method,
        parts.uri.path(),
        resp.status().as_u16(),
        started.elapsed().as_secs_f64() * 1e3,
        duration.map_or("n/a".to_owned(), |r| format!(
            "{:.3} ms",
            r.duration.as_secs_f64() * 1e3
        )),
        if cold { "cold start" } else { "warm" },
    );
    with_request_id(resp, &api_request_id)
}

/// Every answer names its request (`x-amzn-RequestId`, as API Gateway's do).
fn with_request_id(mut resp: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        resp.headers_mut()
            .insert(HeaderName::from_static("x-amzn-requestid"), value);
    }
    resp
}

/// The HTTP response of a gateway answer.
fn answer_response(answer: &crate::gateway::responses::Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = Response::new(Body::from(answer.body.clone()));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        HeaderName::from_static("x-amzn-errortype"),
        HeaderValue::from_static("GatewayResponse"),
    );
    for (name, value) in &answer.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    resp
}

/// The REST API (v1) proxy event for one HTTP request, as API Gateway sends it.
pub fn build_event(
    method: &Method,
    uri: &Uri,
    headers: &axum::http::HeaderMap,
    body: &[u8],
    request_id: &str,
) -> Value {
    let mut single = BTreeMap::new();
    let mut multi: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        single.insert(name.as_str().to_owned(), value.clone());
        multi
            .entry(name.as_str().to_owned())
            .or_default()
            .push(value);
    }
    let mut query = BTreeMap::new();
    let mut multi_query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        query.insert(k.to_string(), v.to_string());
        multi_query
            .entry(k.to_string())
            .or_default()
            .push(v.to_string());
    }
    let nullable = |empty: bool, v: Value| if empty { Value::Null } else { v };
    let (body, is_base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (json!(text), false),
        Err(_) => (
            json!(base64::engine::general_purpose::STANDARD.encode(body)),
            true,
        ),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let path = uri.path();
    json!({
        "resource": path,
        "path": path,
        "httpMethod": method.as_str(),
        "headers": nullable(single.is_empty(), json!(single)),
        "multiValueHeaders": nullable(multi.is_empty(), json!(multi)),
        "queryStringParameters": nullable(query.is_empty(), json!(query)),
        "multiValueQueryStringParameters": nullable(multi_query.is_empty(), json!(multi_query)),
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "resourceId": "local",
            "resourcePath": path,
            "httpMethod": method.as_str(),
            "path": format!("/{STAGE}{path}"),
            "stage": STAGE,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTimeEpoch": now.as_millis() as u64,
            "identity": { "sourceIp": "127.0.0.1", "userAgent": single.get("user-agent") },
        },
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

/// The HTTP response for a Lambda proxy response payload.
pub fn proxy_response(payload: &[u8]) -> Result<Response, String> {
    let parsed: ApiGatewayProxyResponse =
        serde_json::from_slice(payload).map_err(|e| format!("not a proxy response object: {e}"))?;
    let status = u16::try_from(parsed.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| format!("invalid statusCode {}", parsed.status_code))?;
    let body = match parsed.body {
        None | Some(LambdaBody::Empty) => Vec::new(),
        Some(LambdaBody::Text(text)) if parsed.is_base64_encoded => {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| format!("isBase64Encoded body does not decode: {e}"))?
        }
        Some(LambdaBody::Text(text)) => text.into_bytes(),
        Some(LambdaBody::Binary(bytes)) => bytes,
        Some(_) => Vec::new(),
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    for (name, value) in &parsed.multi_value_headers {
        headers.append(name.clone(), value.clone());
    }
    for (name, value) in &parsed.headers {
        headers.insert(name.clone(), value.clone());
    }
    Ok(resp)
}

/// API Gateway's own error shape (`{"message": ...}`), not the function's.
fn gateway_error(status: StatusCode, message: &str) -> Response {
    let mut resp = (status, axum::Json(json!({ "message": message }))).into_response();
    resp.headers_mut().insert(
        HeaderName::from_static("x-amzn-errortype"),
        HeaderValue::from_static(if status == StatusCode::GATEWAY_TIMEOUT {
            "IntegrationTimeout"
        } else {
            "InternalServerErrorException"
        }),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::apigw::ApiGatewayProxyRequest;

    #[test]
    fn event_is_a_valid_rest_proxy_request() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.append("x-many", HeaderValue::from_static("a"));
        headers.append("x-many", HeaderValue::from_static("b"));
        let uri: Uri = "/predict?debug=1&tag=a&tag=b%20c".parse().expect("uri");
        let event = build_event(&Method::POST, &uri, &headers, br#"{"a":1}"#, "req-1");
        let parsed: ApiGatewayProxyRequest =
            serde_json::from_value(event.clone()).expect("typed event");
        assert_eq!(parsed.http_method, Method::POST);
        assert_eq!(parsed.path.as_deref(), Some("/predict"));
        assert_eq!(parsed.body.as_deref(), Some(r#"{"a":1}"#));
        assert!(!parsed.is_base64_encoded);
        assert_eq!(parsed.request_context.request_id.as_deref(), Some("req-1"));
        assert_eq!(parsed.request_context.stage.as_deref(), Some(STAGE));
        assert_eq!(event["multiValueHeaders"]["x-many"], json!(["a", "b"]));
        assert_eq!(
            event["multiValueQueryStringParameters"]["tag"],
            json!(["a", "b c"])
        );
        assert_eq!(event["queryStringParameters"]["debug"], json!("1"));
    }

    #[test]
    fn binary_body_is_base64_and_empty_body_is_null() {
        let uri: Uri = "/x".parse().expect("uri");
        let event = build_event(
            &Method::PUT,
            &uri,
            &axum::http::HeaderMap::new(),
            &[0xff, 0x00],
            "r",
        );
        assert_eq!(event["isBase64Encoded"], json!(true));
        assert_eq!(event["body"], json!("/wA="));
        let event = build_event(&Method::GET, &uri, &axum::http::HeaderMap::new(), b"", "r");
        assert_eq!(event["body"], Value::Null);
        assert_eq!(event["headers"], Value::Null);
    }

    #[test]
    fn proxy_response_maps_status_headers_and_body() {
        let payload = br#"{"statusCode":405,"headers":{"allow":"POST","content-type":"application/json"},"multiValueHeaders":{"set-cookie":["a=1","b=2"]},"body":"{\"e\":1}","isBase64Encoded":false}"#;
        let resp = proxy_response(payload).expect("valid");
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(resp.headers()["allow"], "POST");
        assert_eq!(resp.headers().get_all("set-cookie").iter().count(), 2);
        let payload = br#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true}"#;
        assert!(proxy_response(payload).is_ok());
    }

    #[test]
    fn malformed_proxy_responses_are_rejected() {
        for payload in [
            &b"null"[..],
            b"\"hi\"",
            b"{\"statusCode\":99999}",
            b"{\"statusCode\":200,\"body\":\"%%\",\"isBase64Encoded\":true}",
            b"not json",
        ] {
            assert!(
                proxy_response(payload).is_err(),
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
    }
}
