//! `bootstrap serve [--port P] [--model DIR]`: the same binary as a SageMaker-style
//! inference container. `GET /ping` answers 200 only once the model is loaded and
//! verified (503 before), `POST /invocations` takes `application/json` (the API's
//! `/predict` body) or `text/csv` and answers in the API's shapes, with the API's 4xx.
//! The model comes from `--model DIR`, else from the pinned S3 object when the function's
//! model settings are in the environment (`MODEL_BUCKET`, ...), else from
//! `/opt/ml/model`, where SageMaker unpacks a model's artifact. Owns the HTTP surface and
//! the choice of model source; the answers themselves come from `routes` and `input`.

pub mod args;
pub mod csv;
mod http;
mod source;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::OnceCell;

use crate::loaded::LoadedModel;

pub use args::{ServeArgs, UsageError};
pub use source::{ModelSource, SourceError};

/// The port SageMaker sends requests to.
pub const DEFAULT_PORT: u16 = 8080;
/// Where SageMaker places the model's artifact in the container.
pub const DEFAULT_MODEL_DIR: &str = "/opt/ml/model";

/// Whether the process was started as `bootstrap serve ...`; its arguments if so.
pub fn requested() -> Option<Result<ServeArgs, UsageError>> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("serve") => Some(ServeArgs::parse(args)),
        _ => None,
    }
}

/// `serve`'s whole life as an exit code: 0 after a clean stop, 1 with the reason on
/// stderr (a person's sentence, not a debug dump) for bad arguments or a model that
/// cannot be served.
pub async fn main(args: Result<ServeArgs, UsageError>) -> i32 {
    let outcome = match args {
        Ok(args) => run(args).await,
        Err(usage) => Err(usage.into()),
    };
    match outcome {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("{err}");
            1
        }
    }
}

/// What the server shares between requests: the model once loaded.
pub(crate) struct State {
    pub(crate) model: OnceCell<Arc<LoadedModel>>,
    pub(crate) max_batch: usize,
}

/// Binds, starts answering (`/ping` 503 until the model is in), loads the model, and
/// serves until SIGTERM or Ctrl-C. A model that fails to load or verify ends the
/// process with an error: a container that can never be healthy should not linger.
pub async fn run(args: ServeArgs) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let started = Instant::now();
    let source = ModelSource::choose(&args, |name| std::env::var(name).ok())?;
    let state = Arc::new(State {
        model: OnceCell::new(),
        max_batch: source.max_batch(),
    });
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", args.port))
        .await
        .map_err(|e| format!("serve: cannot listen on 0.0.0.0:{}: {e}", args.port))?;
    let addr = listener.local_addr()?;
    tracing::info!(event = "serve_listening", addr = %addr, model_source = %source);

    let loading = {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let loaded = source.load().await?;
            tracing::info!(
                event = "model_loaded",
                model_sha = loaded.sha256(),
                ready_ms = started.elapsed().as_secs_f64() * 1e3,
            );
            let _ = state.model.set(Arc::new(loaded));
            Ok::<(), SourceError>(())
        })
    };
    let router = http::router(Arc::clone(&state));
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown())
            .await
    });
    match loading.await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::error!(event = "model_load_failed", error = %err);
            return Err(err.into());
        }
        Err(join) => return Err(format!("serve: the model loader stopped: {join}").into()),
    }
    server
        .await
        .map_err(|join| format!("serve: the server stopped: {join}"))??;
    Ok(())
}

/// SIGTERM (how SageMaker and Docker stop a container) or Ctrl-C.
async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
