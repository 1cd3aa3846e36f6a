//! irisctl's own implementation of the AWS Lambda Runtime API (version 2018-06-01), the
//! HTTP interface a runtime client inside a Lambda sandbox polls: `GET
//! /runtime/invocation/next` (long poll; event in the body, request id, deadline, ARN and
//! trace id in `Lambda-Runtime-*` headers), `POST /runtime/invocation/{id}/response`,
//! `POST /runtime/invocation/{id}/error`, `POST /runtime/init/error`. Owns the queue of
//! invocations and their hand-back; must not know about HTTP fronts or child processes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use tokio::sync::{Mutex, mpsc, oneshot};

pub const API_VERSION: &str = "2018-06-01";
/// Lambda's limit for a synchronous response payload.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

pub const HEADER_REQUEST_ID: &str = "lambda-runtime-aws-request-id";
pub const HEADER_DEADLINE: &str = "lambda-runtime-deadline-ms";
pub const HEADER_ARN: &str = "lambda-runtime-invoked-function-arn";
pub const HEADER_TRACE: &str = "lambda-runtime-trace-id";
pub const HEADER_ERROR_TYPE: &str = "lambda-runtime-function-error-type";

/// How an invocation ended, as the runtime client (or its death) reported it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Bytes),
    /// `/invocation/{id}/error`, `/init/error` or the process exiting mid-invocation.
    Error {
        error_type: String,
        body: Bytes,
    },
}

/// Timings of one finished invocation (what Lambda's REPORT line shows).
#[derive(Debug, Clone, Copy)]
pub struct Report {
    pub duration: Duration,
}

struct Pending {
    event: Bytes,
    timeout: Duration,
    reply: oneshot::Sender<(Outcome, Option<Report>)>,
    request_id: String,
}

struct InFlight {
    reply: oneshot::Sender<(Outcome, Option<Report>)>,
    delivered: Instant,
}

struct Shared {
    queue: Mutex<mpsc::Receiver<Pending>>,
    in_flight: std::sync::Mutex<HashMap<String, InFlight>>,
    function_arn: String,
    init_errors: mpsc::UnboundedSender<Bytes>,
    next_polled: mpsc::UnboundedSender<()>,
}

/// The handle the front uses to submit invocations and the supervisor uses to fail them.
#[derive(Clone)]
pub struct RuntimeApi {
    shared: Arc<Shared>,
    submit: mpsc::Sender<Pending>,
}

/// Events from the runtime client that the supervisor cares about.
pub struct Signals {
    /// Bodies posted to `/runtime/init/error`.
    pub init_errors: mpsc::UnboundedReceiver<Bytes>,
    /// One message per `/invocation/next` call (the first marks the end of init).
    pub next_polled: mpsc::UnboundedReceiver<()>,
}

impl RuntimeApi {
    pub fn new(function_arn: String) -> (RuntimeApi, Signals) {
        let (submit, queue) = mpsc::channel(1024);
        let (init_tx, init_rx) = mpsc::unbounded_channel();
        let (next_tx, next_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: Mutex::new(queue),
            in_flight: std::sync::Mutex::new(HashMap::new()),
            function_arn,
            init_errors: init_tx,
            next_polled: next_tx,
        });
        (
            RuntimeApi { shared, submit },
            Signals {
                init_errors: init_rx,
                next_polled: next_rx,
            },
        )
    }

    /// The axum router serving the Runtime API paths.
    pub fn router(&self) -> Router {
        let base = format!("/{API_VERSION}/runtime");
        Router::new()
            .route(&format!("{base}/invocation/next"), get(next))
            .route(
                &format!("{base}/invocation/{{id}}/response"),
                post(response),
            )
            .route(
                &format!("{base}/invocation/{{id}}/error"),
                post(invocation_error),
            )
            .route(&format!("{base}/init/error"), post(init_error))
            .fallback(unknown_path)
            .layer(DefaultBodyLimit::max(MAX_RESPONSE_BYTES + 1))
            .with_state(Arc::clone(&self.shared))
    }

    /// Queues one event and waits for its outcome; `None` if `timeout` passed first
    /// (measured from delivery to the runtime client, as Lambda does, plus the time queued).
    pub async fn invoke(
        &self,
        event: Bytes,
        timeout: Duration,
    ) -> (String, Option<(Outcome, Option<Report>)>) {
        let request_id = new_request_id();
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            event,
            timeout,
            reply,
            request_id: request_id.clone(),
        };
        if self.submit.send(pending).await.is_err() {
            return (request_id, None);
        }
        let result = tokio::time::timeout(timeout, answer)
            .await
            .ok()
            .and_then(Result::ok);
        if result.is_none() {
            self.forget(&request_id);
        }
        (request_id, result)
    }

    fn forget(&self, request_id: &str) {
        if let Ok(mut map) = self.shared.in_flight.lock() {
            map.remove(request_id);
        }
    }

    /// Fails every invocation handed to the runtime client and not yet answered (the
    /// process died); queued invocations stay for the next process.
    pub fn fail_in_flight(&self, error_type: &str, message: &str) -> usize {
        let drained: Vec<InFlight> = match self.shared.in_flight.lock() {
            Ok(mut map) => map.drain().map(|(_, v)| v).collect(),
            Err(_) => Vec::new(),
        };
        let count = drained.len();
        for entry in drained {
            let body =
                Bytes::from(json!({"errorType": error_type, "errorMessage": message}).to_string());
            let _ = entry.reply.send((
                Outcome::Error {
                    error_type: error_type.to_owned(),
                    body,
                },
                None,
            ));
        }
        count
    }

    /// Fails the invocations still waiting in the queue (used when init failed: Lambda
    /// answers those with the init error rather than retrying forever).
    pub async fn fail_queued(&self, error_type: &str, body: &Bytes) -> usize {
        let mut queue = self.shared.queue.lock().await;
        let mut count = 0;
        while let Ok(pending) = queue.try_recv() {
            let _ = pending.reply.send((
                Outcome::Error {
                    error_type: error_type.to_owned(),
                    body: body.clone(),
                },
                None,
            ));
            count += 1;
        }
        count
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let _ = shared.next_polled.send(());
    let pending = {
        let mut queue = shared.queue.lock().await;
        // recv is cancel-safe: a client that hangs up while waiting loses no event.
        loop {
            match queue.recv().await {
                // The caller gave up (timed out) while this waited: never deliver it.
                Some(p) if p.reply.is_closed() => continue,
                Some(p) => break p,
                None => {
                    return runtime_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "ServiceException",
                        "the local runtime is shutting down",
                    );
                }
            }
        }
    };
    let deadline_ms = SystemTime::now()
        .checked_add(pending.timeout)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis());
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    put(HEADER_REQUEST_ID, pending.request_id.clone());
    put(HEADER_DEADLINE, deadline_ms.to_string());
    put(HEADER_ARN, shared.function_arn.clone());
    put(HEADER_TRACE, trace_id(&pending.request_id));
    put("content-type", "application/json".to_owned());
    if let Ok(mut map) = shared.in_flight.lock() {
        map.insert(
            pending.request_id,
            InFlight {
                reply: pending.reply,
                delivered: Instant::now(),
            },
        );
    }
    (StatusCode::OK, headers, pending.event).into_response()
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    finish(&shared, &id, Outcome::Response(body))
}

async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error_type = headers
        .get(HEADER_ERROR_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Unhandled")
        .to_owned();
    finish(&shared, &id, Outcome::Error { error_type, body })
}

fn finish(shared: &Shared, id: &str, outcome: Outcome) -> Response {
    let entry = shared
        .in_flight
        .lock()
        .ok()
        .and_then(|mut map| map.remove(id));
    match entry {
        Some(entry) => {
            let report = Report {
                duration: entry.delivered.elapsed(),
            };
            let _ = entry.reply.send((outcome, Some(report)));
            (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
        }
        None => runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "no invocation in flight has this request id (already answered, timed out, or never issued)",
        ),
    }
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let _ = shared.init_errors.send(body);
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

async fn unknown_path() -> Response {
    runtime_error(
        StatusCode::NOT_FOUND,
        "InvalidPath",
        "not a Lambda Runtime API path",
    )
}

fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"errorType": error_type, "errorMessage": message})),
    )
        .into_response()
}

/// A UUID-shaped request id, unique per process (hash of start time, pid and a counter).
pub fn new_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let digest = Sha256::digest(format!("{now}:{}:{n}", std::process::id()));
    let h = hex::encode(&digest[..16]);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// An X-Ray style trace header (`Root=1-<epoch hex>-<24 hex>;Sampled=0`).
fn trace_id(request_id: &str) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let tail: String = request_id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(24)
        .collect();
    format!("Root=1-{secs:08x}-{tail};Sampled=0")
}
