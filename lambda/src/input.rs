//! The body of `POST /predict` → validated `iris_model::Features`: one flower
//! (`{"sepal_length":..,..}`) or a batch (`{"instances":[..]}`). Owns every 4xx a body can
//! cause and names the field at fault. Must not predict or know about HTTP beyond status.
//!
//! Objects are first split into raw (unparsed) values, so a number such as `1e999`, which
//! serde_json refuses to turn into an f64, still reaches the field check and gets an
//! error naming its field instead of a bare parser message.

use std::collections::BTreeMap;

use iris_model::{FEATURES, Features};
use serde_json::value::RawValue;

use crate::error::{ApiError, clip};

/// Largest body accepted: a full batch of `MAX_BATCH_CEILING` flowers is ~100 KB, so 1 MiB
/// leaves room for whitespace while bounding what one request can make the function parse.
pub const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub enum PredictInput {
    Single(Features),
    Batch(Vec<Features>),
}

type RawObject<'a> = BTreeMap<String, &'a RawValue>;

/// Validates a request body against the predict contract.
pub fn parse(body: &[u8], max_batch: usize) -> Result<PredictInput, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::too_large(
            "payload_too_large",
            format!(
                "the body has {} bytes; the limit is {MAX_BODY_BYTES}",
                body.len()
            ),
        ));
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        ApiError::bad_request(
            "malformed_json",
            "the body is not UTF-8 text; send a JSON object",
        )
    })?;
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "malformed_json",
            format!("the body is empty; send {}", example()),
        ));
    }
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
    })?;
    let top = object(raw).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_body",
            format!(
                "the body must be a JSON object, got {}; send {}",
                kind(raw),
                example()
            ),
        )
    })?;

    match top.get("instances") {
        None => flower(&top, "").map(PredictInput::Single),
        Some(instances) => {
            if let Some(other) = top.keys().find(|k| k.as_str() != "instances") {
                return Err(ApiError::field(
                    "unknown_field",
                    clip(other),
                    format!(
                        "unknown field {:?} next to \"instances\"; send either one flower or {{\"instances\":[..]}}",
                        clip(other)
                    ),
                ));
            }
            batch(instances, max_batch).map(PredictInput::Batch)
        }
    }
}

fn batch(instances: &RawValue, max_batch: usize) -> Result<Vec<Features>, ApiError> {
    let items: Vec<&RawValue> = serde_json::from_str(instances.get()).map_err(|_| {
        ApiError::field(
            "wrong_type",
            "instances",
            format!(
                "instances must be an array of flowers, got {}",
                kind(instances)
            ),
        )
    })?;
    if items.is_empty() {
        return Err(ApiError::field(
            "empty_batch",
            "instances",
            "instances is empty; send 1 or more flowers",
        ));
    }
    if items.len() > max_batch {
        return Err(ApiError {
            field: Some("instances".into()),
            ..ApiError::too_large(
                "batch_too_large",
                format!(
                    "instances holds {} flowers; the limit is {max_batch} per request",
                    items.len()
                ),
            )
        });
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let prefix = format!("instances[{i}].");
            let obj = object(item).ok_or_else(|| {
                ApiError::field(
                    "wrong_type",
                    format!("instances[{i}]"),
                    format!(
                        "instances[{i}] must be an object of 4 measurements, got {}",
                        kind(item)
                    ),
                )
            })?;
            flower(&obj, &prefix)
        })
        .collect()
}

/// One flower: exactly the four features, each a JSON number in cm.
fn flower(obj: &RawObject<'_>, prefix: &str) -> Result<Features, ApiError> {
    if let Some(unknown) = obj.keys().find(|k| !FEATURES.contains(&k.as_str())) {
        let field = format!("{prefix}{}", clip(unknown));
        return Err(ApiError::field(
            "unknown_field",
            field.clone(),
            format!(
                "unknown field {field:?}; expected {} (all in cm)",
                FEATURES.join(", ")
            ),
        ));
    }
    let mut values = [0.0_f64; 4];
    for (slot, name) in values.iter_mut().zip(FEATURES) {
        let field = format!("{prefix}{name}");
        let raw = obj.get(name).ok_or_else(|| {
            ApiError::field(
                "missing_field",
                field.clone(),
                format!("missing field {field:?} (a number in cm)"),
            )
        })?;
        *slot = number(raw).ok_or_else(|| {
            ApiError::field(
                "wrong_type",
                field.clone(),
                format!("{field} must be a number in cm, got {}", kind(raw)),
            )
        })?;
    }
    Features::new(values).map_err(|err| {
        let field = format!("{prefix}{}", err.feature());
        ApiError::field("invalid_value", field.clone(), format!("{field}: {err}"))
    })
}

fn object<'a>(raw: &'a RawValue) -> Option<RawObject<'a>> {
    if !raw.get().trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// A JSON number as f64. Out-of-range literals (`1e999`) become ±inf, which the feature
/// check then rejects with the field's name.
fn number(raw: &RawValue) -> Option<f64> {
    let text = raw.get().trim();
    let first = text.chars().next()?;
    if first == '-' || first.is_ascii_digit() {
        text.parse::<f64>().ok()
    } else {
        None
    }
}

fn kind(raw: &RawValue) -> &'static str {
    match raw.get().trim_start().chars().next() {
        Some('"') => "a string",
        Some('{') => "an object",
        Some('[') => "an array",
        Some('t' | 'f') => "a boolean",
        Some('n') => "null",
        _ => "a number",
    }
}

fn example() -> &'static str {
    r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2} or {"instances":[...]}"#
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"#;

    fn err(body: &str) -> ApiError {
        parse(body.as_bytes(), 100).expect_err(body)
    }

    fn with(field: &str, value: &str) -> String {
        let mut parts = vec![];
        for name in FEATURES {
            let v = if name == field { value } else { "1.0" };
            parts.push(format!("{name:?}:{v}"));
        }
        format!("{{{}}}", parts.join(","))
    }

    #[test]
    fn accepts_one_flower() {
        let input = parse(GOOD.as_bytes(), 100).expect("valid");
        let expected = Features::new([5.1, 3.5, 1.4, 0.2]).expect("valid features");
        assert_eq!(input, PredictInput::Single(expected));
    }

    #[test]
    fn accepts_a_batch_in_order() {
        let body = format!(r#"{{"instances":[{GOOD},{}]}}"#, with("petal_width", "2.5"));
        match parse(body.as_bytes(), 100).expect("valid") {
            PredictInput::Batch(items) => {
                assert_eq!(items.len(), 2);
                assert_eq!(
                    items[1],
                    Features::new([1.0, 1.0, 1.0, 2.5]).expect("valid")
                );
            }
            other => panic!("expected a batch, got {other:?}"),
        }
    }

    #[test]
    fn malformed_json_and_non_objects() {
        for body in ["", "   ", "{", "{\"sepal_length\":}", "nope", "{'a':1}"] {
            assert_eq!(err(body).code, "malformed_json", "{body}");
        }
        for body in ["[]", "1", "\"x\"", "null", "true"] {
            let e = err(body);
            assert_eq!((e.status, e.code), (400, "invalid_body"), "{body}");
        }
        assert_eq!(
            parse(&[0xff, 0xfe], 100).expect_err("bytes").code,
            "malformed_json"
        );
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        let e = err(r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4}"#);
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("missing_field", Some("petal_width"))
        );
        let e = err(
            r#"{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2,"colour":"blue"}"#,
        );
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("unknown_field", Some("colour"))
        );
        let e = err(r#"{"SEPAL_LENGTH":5.1}"#);
        assert_eq!(e.code, "unknown_field");
        let e = err(&format!(r#"{{"instances":[{GOOD}],"extra":1}}"#));
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("unknown_field", Some("extra"))
        );
    }

    #[test]
    fn wrong_types_are_named() {
        for value in [
            r#""NaN""#,
            r#""5.1""#,
            "null",
            "true",
            "[5.1]",
            r#"{"cm":5.1}"#,
            r#""Infinity""#,
        ] {
            let e = err(&with("sepal_width", value));
            assert_eq!(
                (e.status, e.code, e.field.as_deref()),
                (400, "wrong_type", Some("sepal_width")),
                "{value}"
            );
        }
    }

    #[test]
    fn impossible_values_are_named() {
        for value in [
            "1e999", "-1e999", "-1", "0", "-0", "1000", "100.0001", "1e308",
        ] {
            let e = err(&with("petal_length", value));
            assert_eq!(
                (e.status, e.code, e.field.as_deref()),
                (400, "invalid_value", Some("petal_length")),
                "{value}"
            );
            assert!(e.message.contains("petal_length"), "{}", e.message);
        }
        assert!(parse(with("petal_length", "100").as_bytes(), 100).is_ok());
    }

    #[test]
    fn batch_limits() {
        let e = err(r#"{"instances":[]}"#);
        assert_eq!((e.status, e.code), (400, "empty_batch"));
        let body = format!(r#"{{"instances":[{}]}}"#, [GOOD; 4].join(","));
        let e = parse(body.as_bytes(), 3).expect_err("over limit");
        assert_eq!((e.status, e.code), (413, "batch_too_large"));
        assert!(parse(body.as_bytes(), 4).is_ok());
        let e = err(r#"{"instances":{"a":1}}"#);
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("wrong_type", Some("instances"))
        );
        let e = err(&format!(r#"{{"instances":[{GOOD},5]}}"#));
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("wrong_type", Some("instances[1]"))
        );
        let body = format!(r#"{{"instances":[{GOOD},{}]}}"#, with("sepal_length", "-2"));
        let e = err(&body);
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("invalid_value", Some("instances[1].sepal_length"))
        );
    }

    #[test]
    fn oversized_body_is_413() {
        let body = format!("{}{GOOD}", " ".repeat(MAX_BODY_BYTES));
        let e = err(&body);
        assert_eq!((e.status, e.code), (413, "payload_too_large"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(err(&body).code, "malformed_json" | "invalid_body"));
        let body = format!(
            r#"{{"sepal_length":{}1{}}}"#,
            "[".repeat(50_000),
            "]".repeat(50_000)
        );
        assert!(matches!(err(&body).code, "malformed_json" | "wrong_type"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse(&body, 100);
        }

        #[test]
        fn never_panics_on_json_like_text(body in r#"[\{\}\[\]",:0-9eE.+\- a-z_]{0,200}"#) {
            let _ = parse(body.as_bytes(), 100);
        }

        #[test]
        fn any_valid_flower_is_accepted(v in proptest::array::uniform4(0.001f64..=100.0)) {
            let body = format!(
                r#"{{"sepal_length":{},"sepal_width":{},"petal_length":{},"petal_width":{}}}"#,
                v[0], v[1], v[2], v[3]
            );
            proptest::prop_assert!(parse(body.as_bytes(), 100).is_ok());
        }
    }
}
