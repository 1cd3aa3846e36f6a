//! `bootstrap`: the Lambda entry point. Reads the config, loads the model during init,
//! then hands invocations to `iris_lambda::handler::App` through the official runtime.

use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use iris_lambda::config::Config;
use iris_lambda::handler::{App, S3Loader};
use lambda_runtime::{LambdaEvent, service_fn};

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

    let config = Config::from_env()
        .inspect_err(|err| tracing::error!(event = "config_invalid", error = %err))?;
    let app = Arc::new(App::new(config, S3Loader(iris_lambda::s3::client().await)));
    app.warm().await;

    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayProxyRequest>| {
            let app = Arc::clone(&app);
            async move {
                Ok::<_, lambda_runtime::Error>(
                    app.handle(&event.payload, &event.context.request_id).await,
                )
            }
        },
    ))
    .await
}
