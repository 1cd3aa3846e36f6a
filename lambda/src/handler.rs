//! The invocation glue: routes a request, gets the model from the cold-start cache
//! (loading it on first need), answers, and writes one structured log line per request.
//! Owns the cache policy: a successful load is kept for the life of the process; a
//! failed one is not, so the next invocation tries again instead of failing forever.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use tokio::sync::OnceCell;

use crate::config::Config;
use crate::error::{ApiError, clip};
use crate::loaded::LoadedModel;
use crate::routes;
use crate::s3::LoadError;

pub type LoadFuture<'a> = Pin<Box<dyn Future<Output = Result<LoadedModel, LoadError>> + Send + 'a>>;

/// Where the model comes from: S3 in the function, a fixture in tests.
pub trait Loader: Send + Sync {
    fn load<'a>(&'a self, config: &'a Config) -> LoadFuture<'a>;
}

/// The production loader.
pub struct S3Loader(pub aws_sdk_s3::Client);

impl Loader for S3Loader {
    fn load<'a>(&'a self, config: &'a Config) -> LoadFuture<'a> {
        Box::pin(crate::s3::load(&self.0, config))
    }
}

pub struct App<L> {
    config: Config,
    loader: L,
    model: OnceCell<Arc<LoadedModel>>,
}

impl<L: Loader> App<L> {
    pub fn new(config: Config, loader: L) -> App<L> {
        App {
            config,
            loader,
            model: OnceCell::new(),
        }
    }

    /// Loads the model during init, so the first request does not wait for S3. A failure
    /// is logged and left for the first invocation to retry.
    pub async fn warm(&self) {
        let _ = self.model().await;
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The model for a batch invocation: the same cache as the API's requests.
    pub async fn loaded(&self) -> Option<Arc<LoadedModel>> {
        self.model().await.ok()
    }

    /// The cached model, loading it when absent. `OnceCell` lets one concurrent caller
    /// load while the others wait, and stays empty when the load fails.
    async fn model(&self) -> Result<Arc<LoadedModel>, ()> {
        self.model
            .get_or_try_init(|| async {
                let started = Instant::now();
                match self.loader.load(&self.config).await {
                    Ok(loaded) => {
                        tracing::info!(
                            event = "model_loaded",
                            bucket = %self.config.bucket,
                            model_key = %self.config.model.key,
                            model_version_id = loaded.model_version_id.as_deref().unwrap_or(""),
                            model_sha = loaded.sha256(),
                            load_ms = started.elapsed().as_secs_f64() * 1e3,
                        );
                        Ok(Arc::new(loaded))
                    }
                    Err(err) => {
                        tracing::error!(
                            event = "model_load_failed",
                            bucket = %self.config.bucket,
                            model_key = %self.config.model.key,
                            model_version_id = self.config.model.version_id.as_deref().unwrap_or(""),
                            manifest_key = %self.config.manifest.key,
                            manifest_version_id = self.config.manifest.version_id.as_deref().unwrap_or(""),
                            expected_sha = %self.config.model_sha256,
                            error = %error_chain(&err),
                        );
                        Err(())
                    }
                }
            })
            .await
            .cloned()
    }

    /// Answers one invocation. Never fails: every outcome is an HTTP response.
    pub async fn handle(
        &self,
        req: &ApiGatewayProxyRequest,
        request_id: &str,
    ) -> ApiGatewayProxyResponse {
        let started = Instant::now();
        let mut model_sha = None;
        let resp = match routes::route(req, self.config.max_batch) {
            Err(err) => routes::error_response(&err),
            Ok(route) => match self.model().await {
                Ok(loaded) => {
                    model_sha = Some(loaded.sha256().to_owned());
                    routes::respond(&route, &loaded)
                }
                Err(()) => routes::error_response(&ApiError::internal(request_id)),
            },
        };
        // The path is client-controlled: clipped; bodies and headers are never logged.
        tracing::info!(
            event = "request",
            request_id,
            method = req.http_method.as_str(),
            path = %clip(req.path.as_deref().unwrap_or("")),
            status = resp.status_code,
            latency_ms = started.elapsed().as_secs_f64() * 1e3,
            model_sha = model_sha.as_deref().unwrap_or(""),
        );
        resp
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
