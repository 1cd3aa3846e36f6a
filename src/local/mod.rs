//! `irisctl local serve`: a local Lambda + API Gateway for the function, like `sam local
//! start-api` but without Docker. An HTTP front on 127.0.0.1 turns requests into REST
//! proxy events (`front`), hands them through irisctl's own Lambda Runtime API
//! (`runtime_api`) to the real runtime client in a child process (`function`), whose
//! model comes from S3 (`model_upload` for `--model DIR`). Everything binds loopback only.

pub mod front;
pub mod function;
pub mod gate;
pub mod issuer;
pub mod model_upload;
pub mod runtime_api;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use function::{FunctionSpec, Supervisor};
use runtime_api::RuntimeApi;

pub struct ServeOptions {
    pub port: u16,
    pub function: FunctionSpec,
    pub timeout: Duration,
    /// ENV's contract and who signs its tokens (`--env ENV`); `None`: the function only.
    pub gate: Option<gate::Gate>,
    /// The local token issuer, served beside the front.
    pub issuer: Option<IssuerServer>,
}

/// The local issuer and the listener it answers on (bound first: its URL is its `iss`).
pub struct IssuerServer {
    pub listener: tokio::net::TcpListener,
    pub issuer: Arc<issuer::LocalIssuer>,
}

/// Runs until Ctrl-C or SIGTERM, then stops the function process. `on_ready` receives the
/// front's address once it accepts connections.
pub async fn serve(opts: ServeOptions, on_ready: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let runtime_listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .context("binding the Runtime API on 127.0.0.1")?;
    let runtime_addr = runtime_listener
        .local_addr()
        .context("reading the Runtime API address")?;
    let (api, mut signals) = RuntimeApi::new(opts.function.function_arn());
    let runtime_router = api.router();
    tokio::spawn(async move {
        if let Err(err) = axum::serve(runtime_listener, runtime_router).await {
            eprintln!("local: the Runtime API server stopped: {err}");
        }
    });

    if let Some(server) = opts.issuer {
        let router = Arc::clone(&server.issuer).router();
        tokio::spawn(async move {
            if let Err(err) = axum::serve(server.listener, router).await {
                eprintln!("local: the token issuer stopped: {err}");
            }
        });
    }

    let supervisor = Supervisor::new(opts.function, runtime_addr, api.clone());
    {
        let (api, supervisor) = (api.clone(), Arc::clone(&supervisor));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(body) = signals.init_errors.recv() => {
                        eprintln!("local: function init error: {}", String::from_utf8_lossy(&body));
                        api.fail_queued("Runtime.InitError", &body).await;
                        supervisor.kill().await;
                    }
                    Some(()) = signals.next_polled.recv() => {
                        if let Some(init) = supervisor.init_finished().await {
                            eprintln!("local: INIT_REPORT Init Duration: {:.2} ms", init.as_secs_f64() * 1e3);
                        }
                    }
                    else => break,
                }
            }
        });
    }

    let front_listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port))
        .await
        .with_context(|| {
            format!(
                "binding 127.0.0.1:{} for the HTTP front (is the port in use? try --port 0)",
                opts.port
            )
        })?;
    let front_addr = front_listener
        .local_addr()
        .context("reading the front address")?;
    let front = Arc::new(front::Front {
        api,
        supervisor: Arc::clone(&supervisor),
        timeout: opts.timeout,
        gate: opts.gate,
    });
    on_ready(front_addr);
    axum::serve(front_listener, front::router(front))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving the HTTP front")?;
    supervisor.kill().await;
    // Give the watcher a moment to reap the child before the runtime shuts down.
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}
