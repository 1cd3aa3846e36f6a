//! The env's dead-letter queue, read: each message is an asynchronous invocation that
//! failed three times (the first attempt and Lambda's two retries). Lambda puts the
//! original event in the body and the cause in message attributes (`RequestID`,
//! `ErrorCode`: the HTTP status of the invocation, `ErrorMessage`: the function's error,
//! cut to 1 KB; docs/decisions.md). Owns turning a message into what `dlq list` shows and
//! the event `dlq redrive` sends again. Pure: the SQS and Lambda calls are in `cmd::dlq`.

use serde_json::{Value, json};

use crate::aws::sqs::Message;

/// One failed invocation, as `dlq list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub message_id: String,
    pub sent_ms: Option<i64>,
    pub request_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// The batch file, when the event is an S3 Object Created one.
    pub object: Option<Object>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

impl Failed {
    pub fn from_message(message: &Message) -> Failed {
        let event: Option<Value> = serde_json::from_str(&message.body).ok();
        let object = event.as_ref().and_then(object_of);
        Failed {
            message_id: message.id.clone(),
            sent_ms: message.sent_ms,
            request_id: message.attributes.get("RequestID").cloned(),
            error_code: message.attributes.get("ErrorCode").cloned(),
            error_message: message.attributes.get("ErrorMessage").cloned(),
            object,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "message_id": self.message_id,
            "sent_ms": self.sent_ms,
            "request_id": self.request_id,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "object": self.object.as_ref().map(|o| json!({
                "bucket": o.bucket, "key": o.key, "version_id": o.version_id,
            })),
        })
    }

    /// Two lines for a person: what failed, then why.
    pub fn text(&self) -> String {
        let what = match &self.object {
            Some(o) => match &o.version_id {
                Some(v) => format!("s3://{}/{} (version {v})", o.bucket, o.key),
                None => format!("s3://{}/{}", o.bucket, o.key),
            },
            None => "an event that is not a batch file".into(),
        };
        let when = self
            .sent_ms
            .map(crate::ui::time::timestamp)
            .unwrap_or_else(|| "?".into());
        format!(
            "{}  {what}  failed, queued {when}, request {}\n    {}",
            self.message_id,
            self.request_id.as_deref().unwrap_or("?"),
            self.error_message
                .as_deref()
                .unwrap_or("(no ErrorMessage attribute)"),
        )
    }
}

fn object_of(event: &Value) -> Option<Object> {
    if event["source"] != "aws.s3" {
        return None;
    }
    let detail = &event["detail"];
    Some(Object {
        bucket: detail["bucket"]["name"].as_str()?.to_owned(),
        key: detail["object"]["key"].as_str()?.to_owned(),
        version_id: detail["object"]["version-id"]
            .as_str()
            .filter(|v| !v.is_empty() && *v != "null")
            .map(str::to_owned),
    })
}

/// The event to send again: the queued one, pointed at the file's current version (the
/// one put after the fix) when it is a batch file. `latest` is that version's id and size
/// (`None` id: an unversioned bucket, where the key is read as it is now).
pub fn redrive_event(
    body: &str,
    latest: Option<(Option<String>, Option<i64>)>,
) -> Result<Value, String> {
    let mut event: Value = serde_json::from_str(body)
        .map_err(|e| format!("the message body is not the JSON event Lambda queued: {e}"))?;
    if let (Some((version, size)), Some(object)) = (latest, event.pointer_mut("/detail/object")) {
        match version {
            Some(v) => object["version-id"] = json!(v),
            None => {
                if let Some(map) = object.as_object_mut() {
                    map.remove("version-id");
                }
            }
        }
        if let Some(size) = size {
            object["size"] = json!(size);
        }
    }
    Ok(event)
}

/// The error of a failed synchronous invocation, from its payload
/// (`{"errorType","errorMessage"}`).
pub fn invocation_error(payload: &[u8]) -> String {
    match serde_json::from_slice::<Value>(payload) {
        Ok(v) => match (v["errorType"].as_str(), v["errorMessage"].as_str()) {
            (Some(t), Some(m)) => format!("{t}: {m}"),
            (None, Some(m)) => m.to_owned(),
            _ => v.to_string(),
        },
        Err(_) => String::from_utf8_lossy(payload).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn event() -> String {
        json!({
            "version": "0", "id": "e1", "detail-type": "Object Created", "source": "aws.s3",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "batch/in/x.csv", "size": 9, "version-id": "v1"}}
        })
        .to_string()
    }

    #[test]
    fn a_message_shows_the_file_and_the_documented_attributes() {
        let message = Message {
            id: "m1".into(),
            receipt_handle: "r".into(),
            body: event(),
            attributes: BTreeMap::from([
                ("RequestID".to_string(), "req-1".to_string()),
                ("ErrorCode".to_string(), "200".to_string()),
                ("ErrorMessage".to_string(), "wrong_header: ...".to_string()),
            ]),
            sent_ms: Some(0),
            receive_count: Some(1),
        };
        let failed = Failed::from_message(&message);
        assert_eq!(failed.request_id.as_deref(), Some("req-1"));
        assert_eq!(failed.error_message.as_deref(), Some("wrong_header: ..."));
        let object = failed.object.clone().expect("a batch file");
        assert_eq!(
            (object.key.as_str(), object.version_id.as_deref()),
            ("batch/in/x.csv", Some("v1"))
        );
        assert!(
            failed.text().contains("s3://b/batch/in/x.csv (version v1)"),
            "{}",
            failed.text()
        );
        let other = Failed::from_message(&Message {
            body: "{}".into(),
            ..message
        });
        assert_eq!(other.object, None);
    }

    #[test]
    fn redrive_points_the_event_at_the_current_version() {
        let e = redrive_event(&event(), Some((Some("v2".into()), Some(42)))).expect("json");
        assert_eq!(e["detail"]["object"]["version-id"], "v2");
        assert_eq!(e["detail"]["object"]["size"], 42);
        let e = redrive_event(&event(), Some((None, None))).expect("json");
        assert!(e["detail"]["object"].get("version-id").is_none());
        assert!(redrive_event("not json", None).is_err());
        assert_eq!(
            invocation_error(br#"{"errorType":"Batch.wrong_header","errorMessage":"m"}"#),
            "Batch.wrong_header: m"
        );
    }
}
