//! The manifest's own checksum: `manifest_sha256`, the sha256 of the canonical JSON of
//! every other field. Owns the canonical form and the check; it must not know what the
//! fields mean. Together with the manifest's `sha256` of model.bin, an edit of either
//! file alone is refused (see docs/decisions.md, "The artifact's identity").
//!
//! Canonical form: the manifest as a JSON value without `manifest_sha256`, objects with
//! their keys sorted, written compactly by serde_json. Numbers survive the trip exactly
//! (serde_json's `float_roundtrip` parses a float back to the same bits, and writes the
//! shortest text that does so), so whitespace or key order may change and the checksum
//! stays; any changed value changes it. Fields a newer writer adds are covered too.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The top-level manifest field holding the checksum.
pub const CHECKSUM_FIELD: &str = "manifest_sha256";

/// What a manifest that fails its own check says is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChecksumError {
    #[error("not a JSON object")]
    NotAnObject,
    #[error(
        "has no `{CHECKSUM_FIELD}` (written by an older iris-model, or removed); rebuild the \
         artifact with `iris-model train --out DIR`"
    )]
    Missing,
    #[error(
        "was edited after training: `{CHECKSUM_FIELD}` records {recorded} but the other fields \
         hash to {actual}; rebuild the artifact with `iris-model train --out DIR` (never edit \
         manifest.json by hand)"
    )]
    Mismatch { recorded: String, actual: String },
}

/// `value` with every object's keys in sorted order (also when serde_json keeps
/// insertion order), so the same data always serialises to the same bytes.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for key in keys {
                if let Some(v) = map.get(key) {
                    out.insert(key.clone(), canonical(v));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The sha256 (lowercase hex) of the canonical body: every field but the checksum.
pub fn body_sha256(manifest: &Map<String, Value>) -> String {
    let mut body = manifest.clone();
    body.remove(CHECKSUM_FIELD);
    let text = canonical(&Value::Object(body)).to_string();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Sets `manifest_sha256` on a manifest object (a no-op on anything else).
pub fn seal(manifest: &mut Value) {
    if let Value::Object(map) = manifest {
        let sum = body_sha256(map);
        map.insert(CHECKSUM_FIELD.to_owned(), Value::String(sum));
    }
}

/// Checks a parsed manifest against its recorded checksum.
pub fn verify(manifest: &Value) -> Result<(), ChecksumError> {
    let Value::Object(map) = manifest else {
        return Err(ChecksumError::NotAnObject);
    };
    let Some(recorded) = map.get(CHECKSUM_FIELD).and_then(Value::as_str) else {
        return Err(ChecksumError::Missing);
    };
    let actual = body_sha256(map);
    if !recorded.eq_ignore_ascii_case(&actual) {
        return Err(ChecksumError::Mismatch {
            recorded: recorded.to_owned(),
            actual,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sealed() -> Value {
        let mut m = json!({
            "schema_version": 2,
            "sha256": "ab",
            "params": {"trees": 100, "test_fraction": 0.2},
            "metrics": {"accuracy": 0.9666666666666667},
        });
        seal(&mut m);
        m
    }

    #[test]
    fn a_sealed_manifest_verifies_in_any_layout_and_key_order() {
        let m = sealed();
        assert_eq!(verify(&m), Ok(()));
        let pretty = serde_json::to_string_pretty(&m).expect("serialises");
        let back: Value = serde_json::from_str(&pretty).expect("parses");
        assert_eq!(verify(&back), Ok(()));
        let reordered = format!(
            r#"{{"metrics":{{"accuracy":0.9666666666666667}},"{CHECKSUM_FIELD}":{},"sha256":"ab","params":{{"test_fraction":0.2,"trees":100}},"schema_version":2}}"#,
            m[CHECKSUM_FIELD]
        );
        let back: Value = serde_json::from_str(&reordered).expect("parses");
        assert_eq!(verify(&back), Ok(()));
    }

    #[test]
    fn an_edited_value_an_added_field_or_a_removed_checksum_is_refused() {
        for edit in [
            |m: &mut Value| m["params"]["trees"] = json!(10),
            |m: &mut Value| m["metrics"]["accuracy"] = json!(1.0),
            |m: &mut Value| m["sha256"] = json!("cd"),
            |m: &mut Value| m["extra"] = json!(true),
        ] {
            let mut m = sealed();
            edit(&mut m);
            assert!(
                matches!(verify(&m), Err(ChecksumError::Mismatch { .. })),
                "{m}"
            );
        }
        let mut m = sealed();
        if let Value::Object(map) = &mut m {
            map.remove(CHECKSUM_FIELD);
        }
        assert_eq!(verify(&m), Err(ChecksumError::Missing));
        assert_eq!(verify(&json!([1])), Err(ChecksumError::NotAnObject));
    }

    #[test]
    fn the_error_says_how_to_rebuild() {
        let mut m = sealed();
        m["params"]["trees"] = json!(10);
        let text = verify(&m).expect_err("edited").to_string();
        assert!(text.contains("iris-model train --out DIR"), "{text}");
    }
}
