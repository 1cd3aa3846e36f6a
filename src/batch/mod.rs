//! Batch scoring from irisctl's side: where an env's batch files go (`batch/in/<name>` in
//! its bucket), where the function writes their results (`batch/out/<name>.jsonl`, the
//! summary and the error report), which names are allowed, and whether a summary or an
//! error report is about the very upload irisctl made. Pure; the S3 calls are in
//! `cmd::batch`. The function's side is `lambda/src/batch/`.

pub mod resources;

use serde_json::Value;

use crate::render::context::{BATCH_INPUT_PREFIX, BATCH_OUTPUT_PREFIX};

/// The longest name accepted: S3 keys are at most 1024 bytes, and the output key adds
/// `batch/out/` and `.summary.json`.
pub const MAX_NAME_BYTES: usize = 512;

pub fn input_key(name: &str) -> String {
    format!("{BATCH_INPUT_PREFIX}{name}")
}

pub fn output_key(name: &str) -> String {
    format!("{BATCH_OUTPUT_PREFIX}{name}.jsonl")
}

pub fn summary_key(name: &str) -> String {
    format!("{BATCH_OUTPUT_PREFIX}{name}.summary.json")
}

pub fn error_key(name: &str) -> String {
    format!("{BATCH_OUTPUT_PREFIX}{name}.error.json")
}

/// Checks a batch file's name (its key below `batch/in/`): printable, no empty or dot
/// path segments, no leading slash, short enough for its output keys.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the batch name is empty".into());
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "the batch name has {} bytes; the limit is {MAX_NAME_BYTES}",
            name.len()
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control() || *c == '\\') {
        return Err(format!(
            "the batch name {name:?} holds {c:?}; use letters, digits, '-', '_', '.' and '/'"
        ));
    }
    if name
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(format!(
            "the batch name {name:?} has an empty, '.' or '..' path segment"
        ));
    }
    Ok(())
}

/// Which upload a result must be about: the version S3 gave it, or (in an unversioned
/// bucket) its entity tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub version_id: Option<String>,
    pub etag: String,
}

impl Upload {
    /// Whether a summary or error report (`{"input":{"version_id","etag"}}`) is about this
    /// upload, not an earlier file of the same name.
    pub fn matches(&self, report: &Value) -> bool {
        let input = &report["input"];
        match (&self.version_id, input["version_id"].as_str()) {
            (Some(mine), Some(theirs)) => mine == theirs,
            _ => {
                let mine = self.etag.trim_matches('"');
                input["etag"]
                    .as_str()
                    .is_some_and(|theirs| theirs.trim_matches('"') == mine)
            }
        }
    }
}

/// The text lines for a summary.
pub fn summary_text(summary: &Value) -> String {
    format!(
        "scored {}: {} rows, {} ok, {} bad, model {}, {:.0} ms in the function\noutput: {}",
        summary["input"]["name"].as_str().unwrap_or("?"),
        summary["rows"],
        summary["ok"],
        summary["bad"],
        summary["model_sha256"].as_str().unwrap_or("?"),
        summary["duration_ms"].as_f64().unwrap_or(0.0),
        summary["output_key"].as_str().unwrap_or("?"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_checked() {
        for ok in ["flowers.csv", "2026/12/run-1.jsonl", "a"] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "/abs.csv",
            "a//b",
            "../x",
            "a/./b",
            "tab\there",
            "back\\slash",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"x".repeat(MAX_NAME_BYTES + 1)).is_err());
        assert_eq!(output_key("a.csv"), "batch/out/a.csv.jsonl");
        assert_eq!(input_key("a.csv"), "batch/in/a.csv");
    }

    #[test]
    fn a_report_matches_its_upload_by_version_else_by_etag() {
        let report = json!({"input": {"version_id": "v2", "etag": "abc"}});
        let v2 = Upload {
            version_id: Some("v2".into()),
            etag: "\"abc\"".into(),
        };
        let v1 = Upload {
            version_id: Some("v1".into()),
            etag: "\"abc\"".into(),
        };
        assert!(v2.matches(&report));
        assert!(
            !v1.matches(&report),
            "a replaced file's older result is not this upload's"
        );
        let unversioned = Upload {
            version_id: None,
            etag: "\"abc\"".into(),
        };
        assert!(unversioned.matches(&json!({"input": {"version_id": null, "etag": "abc"}})));
        assert!(!unversioned.matches(&json!({"input": {"version_id": null, "etag": "def"}})));
    }
}
