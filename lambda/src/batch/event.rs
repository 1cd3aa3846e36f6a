//! The EventBridge event S3 sends when an object is created (`source` `aws.s3`,
//! `detail-type` `Object Created`), reduced to what batch scoring needs: bucket, key,
//! version and size. Owns recognising such an event and refusing one that does not point
//! under `batch/in/`. Must not fetch.
//!
//! Unlike S3's direct notifications, EventBridge carries the key as written, not
//! URL-encoded.

use serde::Deserialize;
use serde_json::Value;

/// Where input files go; the service template's rule and the role use the same prefix.
pub const INPUT_PREFIX: &str = "batch/in/";
/// Where outputs, summaries and error reports go.
pub const OUTPUT_PREFIX: &str = "batch/out/";

/// One file to score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchObject {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub size: Option<u64>,
}

impl BatchObject {
    /// The file's name: its key below `batch/in/`.
    pub fn name(&self) -> &str {
        self.key.strip_prefix(INPUT_PREFIX).unwrap_or(&self.key)
    }

    pub fn output_key(&self) -> String {
        format!("{OUTPUT_PREFIX}{}.jsonl", self.name())
    }

    pub fn summary_key(&self) -> String {
        format!("{OUTPUT_PREFIX}{}.summary.json", self.name())
    }

    pub fn error_key(&self) -> String {
        format!("{OUTPUT_PREFIX}{}.error.json", self.name())
    }
}

#[derive(Deserialize)]
struct Envelope {
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: Detail,
}

#[derive(Deserialize)]
struct Detail {
    bucket: Bucket,
    object: Object,
}

#[derive(Deserialize)]
struct Bucket {
    name: String,
}

#[derive(Deserialize)]
struct Object {
    key: String,
    #[serde(rename = "version-id")]
    version_id: Option<String>,
    size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the event is an S3 Object Created event but malformed: {0}")]
    Malformed(String),
    #[error("s3://{bucket}/{key} is not under {INPUT_PREFIX}; only files there are scored")]
    OutsidePrefix { bucket: String, key: String },
}

/// Whether `event` is an S3 Object Created event from EventBridge.
pub fn is_s3_object_created(event: &Value) -> bool {
    event.get("source").and_then(Value::as_str) == Some("aws.s3")
        && event.get("detail-type").and_then(Value::as_str) == Some("Object Created")
}

/// The file the event names. Call only when [`is_s3_object_created`] holds.
pub fn parse(event: &Value) -> Result<BatchObject, EventError> {
    let envelope =
        Envelope::deserialize(event).map_err(|e| EventError::Malformed(e.to_string()))?;
    debug_assert!(envelope.source == "aws.s3" && envelope.detail_type == "Object Created");
    let Detail { bucket, object } = envelope.detail;
    if !object.key.starts_with(INPUT_PREFIX) || object.key.len() == INPUT_PREFIX.len() {
        return Err(EventError::OutsidePrefix {
            bucket: bucket.name,
            key: object.key,
        });
    }
    Ok(BatchObject {
        bucket: bucket.name,
        key: object.key,
        // "null" is S3's version id of objects written while versioning was off.
        version_id: object.version_id.filter(|v| !v.is_empty() && v != "null"),
        size: object.size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(key: &str) -> Value {
        json!({
            "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103",
            "detail-type": "Object Created", "source": "aws.s3",
            "account": "111122223333", "time": "2021-11-12T00:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:s3:::b"],
            "detail": {
                "version": "0", "bucket": {"name": "b"},
                "object": {"key": key, "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184",
                           "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e", "sequencer": "00617F08299329D189"},
                "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012",
                "source-ip-address": "1.2.3.4", "reason": "PutObject"
            }
        })
    }

    #[test]
    fn reads_bucket_key_version_and_names_the_outputs() {
        let e = event("batch/in/flowers.csv");
        assert!(is_s3_object_created(&e));
        let obj = parse(&e).expect("valid");
        assert_eq!(obj.bucket, "b");
        assert_eq!(
            obj.version_id.as_deref(),
            Some("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e")
        );
        assert_eq!(obj.size, Some(5));
        assert_eq!(obj.output_key(), "batch/out/flowers.csv.jsonl");
        assert_eq!(obj.summary_key(), "batch/out/flowers.csv.summary.json");
    }

    #[test]
    fn refuses_keys_outside_the_input_prefix_and_malformed_events() {
        for key in ["models/x/model.bin", "batch/in/", "batch/out/a.jsonl"] {
            assert!(
                matches!(parse(&event(key)), Err(EventError::OutsidePrefix { .. })),
                "{key}"
            );
        }
        let mut e = event("batch/in/a.csv");
        e["detail"]["object"] = json!({"size": 1});
        assert!(matches!(parse(&e), Err(EventError::Malformed(_))));
        assert!(!is_s3_object_created(&json!({"httpMethod": "POST"})));
    }
}
