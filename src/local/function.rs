//! The function's process: starts the runtime client (the real `bootstrap`, or any
//! command) with `AWS_LAMBDA_RUNTIME_API` pointing at our Runtime API, lazily on the
//! first invocation as Lambda does (so the first request measures a cold start), and
//! restarts it on the next invocation after it exits or is killed. Owns the child's
//! environment and life cycle; must not build events or parse responses.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::os::fd::AsFd as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use axum::body::Bytes;
use tokio::sync::{Mutex, oneshot};

use super::runtime_api::RuntimeApi;

/// What to run and with which environment. The child gets a clean environment (as in a
/// Lambda sandbox): the variables Lambda defines (`sandbox_env`) plus `env`, nothing
/// else of irisctl's.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub env: Vec<(String, String)>,
    pub workdir: Option<PathBuf>,
    pub function_name: String,
    pub region: String,
}

impl FunctionSpec {
    pub fn function_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:000000000000:function:{}",
            self.region, self.function_name
        )
    }

    /// The variables Lambda sets in every sandbox (runtime clients such as
    /// lambda_runtime and awslambdaric refuse to start without some of them).
    pub fn sandbox_env(&self) -> Vec<(String, String)> {
        let task_root = self
            .workdir
            .as_deref()
            .map_or_else(|| ".".into(), |d| d.to_string_lossy().into_owned());
        [
            ("AWS_REGION", self.region.clone()),
            ("AWS_DEFAULT_REGION", self.region.clone()),
            ("AWS_LAMBDA_FUNCTION_NAME", self.function_name.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.function_name),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "local".into()),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
            ("LAMBDA_TASK_ROOT", task_root),
            ("TZ", ":UTC".into()),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .into_iter()
        .collect()
    }
}

struct Running {
    generation: u64,
    kill: Option<oneshot::Sender<()>>,
}

struct State {
    generation: u64,
    running: Option<Running>,
    /// When the current process was spawned, until it first asks for an invocation.
    init_started: Option<Instant>,
}

pub struct Supervisor {
    spec: FunctionSpec,
    runtime_api: SocketAddr,
    api: RuntimeApi,
    state: Mutex<State>,
}

impl Supervisor {
    pub fn new(spec: FunctionSpec, runtime_api: SocketAddr, api: RuntimeApi) -> Arc<Supervisor> {
        Arc::new(Supervisor {
            spec,
            runtime_api,
            api,
            state: Mutex::new(State {
                generation: 0,
                running: None,
                init_started: None,
            }),
        })
    }

    /// Starts the process unless one is running. Returns true when it started one (cold).
    pub async fn ensure_running(self: &Arc<Self>) -> anyhow::Result<bool> {
        let mut state = self.state.lock().await;
        if state.running.is_some() {
            return Ok(false);
        }
        let mut cmd = tokio::process::Command::new(&self.spec.program);
        cmd.args(&self.spec.args)
            .env_clear()
            .envs(self.spec.sandbox_env())
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", self.runtime_api.to_string())
            .stdin(Stdio::null())
            // The function's stdout is its log stream; it goes to our stderr so that our
            // stdout stays machine-readable (the "listening on" line).
            .stdout(Stdio::from(
                std::io::stderr()
                    .as_fd()
                    .try_clone_to_owned()
                    .context("duplicating stderr for the function's logs")?,
            ))
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(dir) = &self.spec.workdir {
            cmd.current_dir(dir);
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting the function process {:?}", self.spec.program))?;
        state.generation += 1;
        let generation = state.generation;
        let (kill_tx, kill_rx) = oneshot::channel();
        state.running = Some(Running {
            generation,
            kill: Some(kill_tx),
        });
        state.init_started = Some(Instant::now());
        eprintln!(
            "local: started function process (pid {})",
            child.id().unwrap_or(0)
        );

        let me = Arc::clone(self);
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                _ = kill_rx => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            let described = match &status {
                Ok(s) => s.to_string(),
                Err(e) => format!("unknown status ({e})"),
            };
            eprintln!("local: function process exited: {described}");
            {
                let mut state = me.state.lock().await;
                if state
                    .running
                    .as_ref()
                    .is_some_and(|r| r.generation == generation)
                {
                    state.running = None;
                    state.init_started = None;
                }
            }
            let message = format!("the function process exited ({described})");
            me.api.fail_in_flight("Runtime.ExitError", &message);
            let body = Bytes::from(
                serde_json::json!({"errorType": "Runtime.ExitError", "errorMessage": message})
                    .to_string(),
            );
            me.api.fail_queued("Runtime.ExitError", &body).await;
        });
        Ok(true)
    }

    /// Kills the current process (after an init error or a timeout, as Lambda discards the
    /// sandbox); the next invocation starts a new one.
    pub async fn kill(&self) {
        let mut state = self.state.lock().await;
        if let Some(running) = state.running.as_mut()
            && let Some(kill) = running.kill.take()
        {
            let _ = kill.send(());
        }
    }

    /// How long init took, the first time the process asks for an invocation.
    pub async fn init_finished(&self) -> Option<std::time::Duration> {
        self.state
            .lock()
            .await
            .init_started
            .take()
            .map(|t| t.elapsed())
    }
}
