//! One batch invocation against S3: read the file the event names (that exact version),
//! parse, score, write `batch/out/<name>.jsonl` and then its summary (so a summary means
//! the output is complete). A file that cannot be processed fails the invocation, after a
//! best-effort error report at `batch/out/<name>.error.json` (one object version per
//! attempt); Lambda then retries the event and finally sends it to the dead-letter queue.
//! Owns the S3 calls of batch scoring and the summary and error report formats.

use std::time::Instant;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};

use super::event::{self, BatchObject};
use super::parse::{self, FileError};
use super::score;
use crate::config::BatchLimits;
use crate::loaded::LoadedModel;

/// Why a file was not scored. Every variant fails the invocation.
#[derive(Debug, thiserror::Error)]
pub enum BatchFailure {
    #[error(transparent)]
    Event(#[from] event::EventError),
    #[error("{object}: {source}")]
    File {
        object: String,
        #[source]
        source: FileError,
    },
    #[error("{object}: cannot be read: {reason}")]
    Unreadable { object: String, reason: String },
    #[error("{object}: the output could not be written: {reason}")]
    Write { object: String, reason: String },
    #[error("the model could not be loaded (see the model_load_failed log line)")]
    Model,
}

impl BatchFailure {
    pub fn code(&self) -> &'static str {
        match self {
            BatchFailure::Event(event::EventError::Malformed(_)) => "malformed_event",
            BatchFailure::Event(event::EventError::OutsidePrefix { .. }) => "outside_prefix",
            BatchFailure::File { source, .. } => source.code(),
            BatchFailure::Unreadable { .. } => "unreadable",
            BatchFailure::Write { .. } => "write_failed",
            BatchFailure::Model => "model_unavailable",
        }
    }

    /// What Lambda records as the invocation's error (and the DLQ as `ErrorMessage`).
    pub fn diagnostic(&self) -> Diagnostic {
        Diagnostic {
            error_type: format!("Batch.{}", self.code()),
            error_message: format!("{}: {self}", self.code()),
        }
    }
}

fn describe(obj: &BatchObject) -> String {
    match &obj.version_id {
        Some(v) => format!("s3://{}/{} (version {v})", obj.bucket, obj.key),
        None => format!("s3://{}/{}", obj.bucket, obj.key),
    }
}

/// Scores the file `event` names; the summary on success.
pub async fn run(
    client: &Client,
    limits: &BatchLimits,
    model: Option<&LoadedModel>,
    event: &Value,
    request_id: &str,
) -> Result<Value, BatchFailure> {
    let obj = event::parse(event)?;
    let result = score_object(client, limits, model, &obj, request_id).await;
    if let Err(failure) = &result {
        tracing::error!(
            event = "batch_failed",
            request_id,
            bucket = %obj.bucket,
            key = %obj.key,
            version_id = obj.version_id.as_deref().unwrap_or(""),
            code = failure.code(),
            error = %failure,
        );
        let report = json!({
            "input": input_json(&obj, None),
            "error": {"code": failure.code(), "message": failure.to_string()},
            "request_id": request_id,
        });
        if let Err(reason) = put(
            client,
            &obj.bucket,
            &obj.error_key(),
            report.to_string().into_bytes(),
            "application/json",
        )
        .await
        {
            tracing::warn!(event = "batch_error_report_not_written", request_id, error = %reason);
        }
    }
    result
}

async fn score_object(
    client: &Client,
    limits: &BatchLimits,
    model: Option<&LoadedModel>,
    obj: &BatchObject,
    request_id: &str,
) -> Result<Value, BatchFailure> {
    let started = Instant::now();
    let file_error = |source| BatchFailure::File {
        object: describe(obj),
        source,
    };
    let too_large = |size: u64| {
        file_error(FileError::TooLarge {
            size,
            limit: limits.max_bytes,
        })
    };
    if let Some(size) = obj.size.filter(|s| *s > limits.max_bytes) {
        return Err(too_large(size));
    }
    let model = model.ok_or(BatchFailure::Model)?;
    let unreadable = |reason: String| BatchFailure::Unreadable {
        object: describe(obj),
        reason,
    };
    let got = client
        .get_object()
        .bucket(&obj.bucket)
        .key(&obj.key)
        .set_version_id(obj.version_id.clone())
        .send()
        .await
        .map_err(|e| unreadable(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))?;
    let size = u64::try_from(got.content_length().unwrap_or(0)).unwrap_or(0);
    if size > limits.max_bytes {
        return Err(too_large(size));
    }
    let etag = got.e_tag().map(|t| t.trim_matches('"').to_owned());
    let bytes = got
        .body
        .collect()
        .await
        .map_err(|e| unreadable(e.to_string()))?
        .into_bytes();
    if bytes.len() as u64 > limits.max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    let parsed = parse::parse(&bytes, limits.max_rows).map_err(file_error)?;
    let scored = score::score(&parsed.rows, &model.model);
    let write_failed = |reason: String| BatchFailure::Write {
        object: describe(obj),
        reason,
    };
    let output_key = obj.output_key();
    put(
        client,
        &obj.bucket,
        &output_key,
        scored.jsonl,
        "application/x-ndjson",
    )
    .await
    .map_err(write_failed)?;
    let duration_ms = started.elapsed().as_secs_f64() * 1e3;
    let summary = json!({
        "input": input_json(obj, etag),
        "format": parsed.format.as_str(),
        "rows": parsed.rows.len(),
        "ok": scored.ok,
        "bad": scored.bad,
        "model_sha256": model.sha256(),
        "model_version_id": model.model_version_id,
        "duration_ms": duration_ms,
        "output_key": output_key,
        "request_id": request_id,
    });
    put(
        client,
        &obj.bucket,
        &obj.summary_key(),
        summary.to_string().into_bytes(),
        "application/json",
    )
    .await
    .map_err(write_failed)?;
    tracing::info!(
        event = "batch_scored",
        request_id,
        key = %obj.key,
        rows = parsed.rows.len(),
        ok = scored.ok,
        bad = scored.bad,
        duration_ms,
        model_sha = model.sha256(),
    );
    Ok(summary)
}

fn input_json(obj: &BatchObject, etag: Option<String>) -> Value {
    json!({
        "bucket": obj.bucket,
        "key": obj.key,
        "name": obj.name(),
        "version_id": obj.version_id,
        "etag": etag,
    })
}

async fn put(
    client: &Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Result<(), String> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(&e).to_string())
}
