//! Route + validate + predict, as pure functions over an API Gateway REST (v1) proxy
//! event and a loaded model: no AWS, no clock, no logging, so every answer the function
//! can give is unit-testable. Routing and validation come before the model is needed,
//! so a bad request is answered even while the model cannot be loaded.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine as _;
use http::{HeaderMap, HeaderValue, Method};
use iris_model::Prediction;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::input::{self, PredictInput};
use crate::loaded::LoadedModel;

/// What a valid request asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Predict(PredictInput),
    Model,
}

/// Decides what the request asks for, or the 4xx it gets.
pub fn route(req: &ApiGatewayProxyRequest, max_batch: usize) -> Result<Route, ApiError> {
    let path = req.path.as_deref().unwrap_or("/");
    match path {
        "/predict" => {
            if req.http_method != Method::POST {
                return Err(ApiError::method_not_allowed(
                    req.http_method.as_str(),
                    "/predict",
                    "POST",
                ));
            }
            let body = body_bytes(req)?;
            input::parse(&body, max_batch).map(Route::Predict)
        }
        "/model" => {
            if req.http_method != Method::GET {
                return Err(ApiError::method_not_allowed(
                    req.http_method.as_str(),
                    "/model",
                    "GET",
                ));
            }
            Ok(Route::Model)
        }
        other => Err(ApiError::not_found(other)),
    }
}

fn body_bytes(req: &ApiGatewayProxyRequest) -> Result<Vec<u8>, ApiError> {
    let text = req.body.as_deref().unwrap_or("");
    if req.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| {
                ApiError::bad_request(
                    "malformed_json",
                    "the body is marked base64 but does not decode",
                )
            })
    } else {
        Ok(text.as_bytes().to_vec())
    }
}

/// The 200 answer to a valid request.
pub fn respond(route: &Route, loaded: &LoadedModel) -> ApiGatewayProxyResponse {
    let body = match route {
        Route::Model => loaded.summary(),
        Route::Predict(PredictInput::Single(features)) => {
            let mut one = prediction_json(&loaded.model.predict(features));
            one["model"] = loaded.identity();
            one
        }
        Route::Predict(PredictInput::Batch(items)) => {
            let predictions: Vec<Value> = loaded
                .model
                .predict_batch(items)
                .iter()
                .map(prediction_json)
                .collect();
            json!({ "predictions": predictions, "model": loaded.identity() })
        }
    };
    json_response(200, &body, None)
}

fn prediction_json(p: &Prediction) -> Value {
    let probabilities: Map<String, Value> = p
        .probabilities
        .iter()
        .map(|(class, prob)| (class.clone(), json!(prob)))
        .collect();
    json!({ "species": p.species, "probabilities": probabilities, "is_iris": p.is_iris })
}

pub fn error_response(err: &ApiError) -> ApiGatewayProxyResponse {
    json_response(err.status, &err.body(), err.allow)
}

fn json_response(
    status: u16,
    body: &Value,
    allow: Option<&'static str>,
) -> ApiGatewayProxyResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(allow) = allow {
        headers.insert(http::header::ALLOW, HeaderValue::from_static(allow));
    }
    let mut resp = ApiGatewayProxyResponse::default();
    resp.status_code = i64::from(status);
    resp.headers = headers;
    resp.body = Some(Body::Text(body.to_string()));
    resp
}
