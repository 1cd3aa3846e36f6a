//! The HTTP surface of `serve`: `GET /ping` and `POST /invocations`, every other path
//! or method a 404 or 405 in the API's error shape. Bodies are parsed by `input` (JSON)
//! or `csv`, answered by `routes::respond`, so the container and the API cannot drift.

use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayProxyResponse;
use aws_lambda_events::encodings::Body as ApiBody;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as Shared;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri, header};

use super::State;
use crate::error::{ApiError, clip};
use crate::input::{self, MAX_BODY_BYTES};
use crate::routes::{self, Route};

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/ping", axum::routing::any(ping))
        .route("/invocations", axum::routing::any(invocations))
        .fallback(not_found)
        // The parsers bound the body themselves (413 in the API's shape); this only keeps
        // axum's own, smaller default limit from answering first.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES + 1))
        .with_state(state)
}

async fn ping(Shared(state): Shared<Arc<State>>, method: Method) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        return error(&ApiError::method_not_allowed(
            method.as_str(),
            "/ping",
            "GET",
        ));
    }
    match state.model.get() {
        Some(loaded) => json(
            200,
            &serde_json::json!({ "status": "healthy", "model": loaded.identity() }),
        ),
        None => not_ready(),
    }
}

async fn invocations(
    Shared(state): Shared<Arc<State>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    if method != Method::POST {
        return error(&ApiError::method_not_allowed(
            method.as_str(),
            "/invocations",
            "POST",
        ));
    }
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let parsed = match media.as_deref() {
        Some("application/json") => input::parse(&body, state.max_batch),
        Some("text/csv") => super::csv::parse(&body, state.max_batch),
        other => return error(&unsupported(other)),
    };
    let input = match parsed {
        Ok(input) => input,
        Err(err) => return error(&err),
    };
    match state.model.get() {
        Some(loaded) => convert(routes::respond(&Route::Predict(input), loaded)),
        None => not_ready(),
    }
}

async fn not_found(uri: Uri) -> Response<Body> {
    error(&ApiError {
        status: 404,
        ..ApiError::bad_request(
            "not_found",
            format!(
                "no route for path {}; the routes are GET /ping and POST /invocations",
                clip(uri.path())
            ),
        )
    })
}

fn unsupported(media: Option<&str>) -> ApiError {
    ApiError {
        status: 415,
        ..ApiError::bad_request(
            "unsupported_media_type",
            match media {
                None => {
                    "the request has no Content-Type; send application/json or text/csv".to_owned()
                }
                Some(other) => format!(
                    "Content-Type {:?} is not accepted; send application/json or text/csv",
                    clip(other)
                ),
            },
        )
    }
}

fn not_ready() -> Response<Body> {
    error(&ApiError {
        status: 503,
        ..ApiError::bad_request(
            "model_not_loaded",
            "the model is not loaded and verified yet; retry when GET /ping answers 200",
        )
    })
}

fn error(err: &ApiError) -> Response<Body> {
    convert(routes::error_response(err))
}

fn json(status: u16, body: &serde_json::Value) -> Response<Body> {
    let mut resp = ApiGatewayProxyResponse::default();
    resp.status_code = i64::from(status);
    resp.body = Some(ApiBody::Text(body.to_string()));
    let mut out = convert(resp);
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    out
}

/// The API's answer as an HTTP response: the same status, headers and body.
fn convert(resp: ApiGatewayProxyResponse) -> Response<Body> {
    let status = u16::try_from(resp.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match resp.body {
        Some(ApiBody::Text(text)) => Body::from(text),
        Some(ApiBody::Binary(bytes)) => Body::from(bytes),
        _ => Body::empty(),
    };
    let mut out = Response::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = resp.headers;
    out
}
