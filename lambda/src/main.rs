//! `bootstrap`: the Lambda entry point. Reads the config, loads the model during init,
//! then hands invocations to `iris_lambda::handler::App` through the official runtime:
//! API Gateway proxy requests are answered, EventBridge S3 "Object Created" events are
//! batch files to score (`iris_lambda::batch`); anything else fails the invocation.

use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use iris_lambda::batch;
use iris_lambda::config::Config;
use iris_lambda::handler::{App, S3Loader};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // One JSON object per line on stdout, which Lambda ships to CloudWatch Logs. The level
    // comes from Lambda's advanced logging controls (AWS_LAMBDA_LOG_LEVEL), default INFO.
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .and_then(|l| l.parse::<tracing_subscriber::filter::LevelFilter>().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_max_level(level)
        .init();

    // `bootstrap serve ...`: the inference container (SageMaker's contract) instead of
    // the Lambda runtime loop.
    if let Some(args) = iris_lambda::serve::requested() {
        std::process::exit(iris_lambda::serve::main(args).await);
    }

    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            tracing::error!(event = "config_invalid", error = %err);
            return Err(init_failed("Runtime.InitError.Config", err).await);
        }
    };
    let client = match iris_lambda::s3::client().await {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(event = "http_client_invalid", error = %err);
            return Err(init_failed("Runtime.InitError.HttpClient", err).await);
        }
    };
    let app = Arc::new(App::new(config, S3Loader(client.clone())));
    app.warm().await;

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let app = Arc::clone(&app);
        let client = client.clone();
        async move { dispatch(&app, &client, event).await }
    }))
    .await
}

async fn dispatch(
    app: &App<S3Loader>,
    client: &aws_sdk_s3::Client,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let request_id = event.context.request_id.as_str();
    if batch::event::is_s3_object_created(&event.payload) {
        let model = app.loaded().await;
        return batch::run::run(
            client,
            &app.config().batch,
            model.as_deref(),
            &event.payload,
            request_id,
        )
        .await
        .map_err(|failure| failure.diagnostic());
    }
    let request: ApiGatewayProxyRequest = serde_json::from_value(event.payload).map_err(|e| {
        tracing::error!(event = "unknown_event", request_id, error = %e);
        Diagnostic {
            error_type: "Event.Unknown".into(),
            error_message: format!(
                "the event is neither an API Gateway proxy request nor an S3 Object Created event: {e}"
            ),
        }
    })?;
    let response = app.handle(&request, request_id).await;
    serde_json::to_value(response).map_err(|e| Diagnostic {
        error_type: "Response.Encode".into(),
        error_message: e.to_string(),
    })
}

/// Tell Lambda why init failed (`POST /runtime/init/error`, so the failure shows as that
/// error type and message instead of a bare `Runtime.ExitError`), then let the process
/// exit. The message names settings, never their secret values. Reporting is best effort:
/// the error is returned whatever happens to the report.
async fn init_failed(
    error_type: &str,
    err: impl std::error::Error + Send + Sync + 'static,
) -> lambda_runtime::Error {
    let body = serde_json::json!({ "errorType": error_type, "errorMessage": err.to_string() });
    let request = lambda_runtime_api_client::build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header("lambda-runtime-function-error-type", error_type)
        .header("content-type", "application/json")
        .body(lambda_runtime_api_client::body::Body::from(
            body.to_string(),
        ));
    // Read here rather than by the client, which panics without it (outside Lambda).
    let endpoint = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .ok()
        .and_then(|v| http::Uri::try_from(v).ok());
    match (request, endpoint) {
        (Ok(request), Some(endpoint)) => {
            let client = lambda_runtime_api_client::PooledClient::builder()
                .with_endpoint(endpoint)
                .build();
            if let Err(report) = client.call(request).await {
                tracing::error!(event = "init_error_not_reported", error = %report);
            }
        }
        (Err(report), _) => tracing::error!(event = "init_error_not_reported", error = %report),
        (_, None) => tracing::error!(
            event = "init_error_not_reported",
            error = "AWS_LAMBDA_RUNTIME_API is not set or not a host:port"
        ),
    }
    Box::new(err)
}
