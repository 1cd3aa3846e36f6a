//! Batch scoring: a file put under `batch/in/` in the env's bucket reaches the function as
//! an EventBridge S3 event (an asynchronous invocation) and is scored into
//! `batch/out/<name>.jsonl` plus a summary. `event` reads the event, `parse` the file,
//! `score` predicts and writes the lines (pure, benchmarked), `run` does the S3 calls.

pub mod event;
pub mod parse;
pub mod run;
pub mod score;
