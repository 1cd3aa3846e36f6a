//! The Iris inference function (binary `bootstrap`, runtime `provided.al2023`, behind an
//! API Gateway REST proxy integration), as a library so its behaviour is testable without
//! AWS. The pipeline of one invocation, module by module:
//!
//! `config` (env vars, once) → `s3` (fetch the artifact, once) → `loaded` (verify it) →
//! `routes` (route, `input` validates, predict, shape the answer; `error` for 4xx/5xx) →
//! `handler` (cache, logs). Batch files under `batch/in/` (S3 → EventBridge, asynchronous
//! invocations) go through `batch` instead of `routes`.
//!
//! `serve` runs the same answers as an HTTP inference container (`bootstrap serve`).
//!
//! Prediction comes only from `iris_model`, so training and serving cannot disagree.

pub mod batch;
pub mod config;
pub mod error;
pub mod handler;
pub mod input;
pub mod loaded;
pub mod routes;
pub mod s3;
pub mod serve;
