//! Request validation against an API Gateway model: the subset of JSON Schema draft 4
//! (the draft API Gateway models use) that the rendered template's model holds: `type`,
//! `properties`, `required`, `additionalProperties`, `items`, `minItems`, `maxItems`,
//! `oneOf` / `anyOf` / `allOf`, `enum`, `minimum` / `maximum`, plus the annotations
//! `$schema`, `title` and `description`. A full JSON Schema crate would add a large
//! dependency tree for eleven keywords; instead [`check_supported`] refuses, when local
//! serve starts, any schema that uses a keyword outside this list, so a template that
//! grows one fails loudly rather than validating less than API Gateway does.

use serde_json::Value;

const KEYWORDS: [&str; 14] = [
    "$schema",
    "title",
    "description",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "oneOf",
    "anyOf",
    "allOf",
    "enum",
];
const NUMERIC: [&str; 2] = ["minimum", "maximum"];

/// `Err` naming the first keyword this validator does not implement.
pub fn check_supported(schema: &Value) -> Result<(), String> {
    let Some(map) = schema.as_object() else {
        return Err(format!("schema {schema} is not an object"));
    };
    for (key, value) in map {
        if !KEYWORDS.contains(&key.as_str()) && !NUMERIC.contains(&key.as_str()) {
            return Err(format!(
                "schema keyword `{key}` is not one local serve validates (supported: {})",
                KEYWORDS.join(", ")
            ));
        }
        match key.as_str() {
            "properties" => {
                for sub in value.as_object().into_iter().flat_map(|m| m.values()) {
                    check_supported(sub)?;
                }
            }
            "items" => check_supported(value)?,
            "additionalProperties" if value.is_object() => check_supported(value)?,
            "oneOf" | "anyOf" | "allOf" => {
                for sub in value.as_array().into_iter().flatten() {
                    check_supported(sub)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether `instance` is valid against `schema` (a schema [`check_supported`] accepted).
pub fn is_valid(schema: &Value, instance: &Value) -> bool {
    let Some(s) = schema.as_object() else {
        return false;
    };
    if let Some(ty) = s.get("type")
        && !type_matches(ty, instance)
    {
        return false;
    }
    if let Some(options) = s.get("enum").and_then(Value::as_array)
        && !options.contains(instance)
    {
        return false;
    }
    if let Some(n) = instance.as_f64() {
        if s.get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|min| n < min)
        {
            return false;
        }
        if s.get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|max| n > max)
        {
            return false;
        }
    }
    if let Some(obj) = instance.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(required) = s.get("required").and_then(Value::as_array)
            && required
                .iter()
                .filter_map(Value::as_str)
                .any(|name| !obj.contains_key(name))
        {
            return false;
        }
        for (name, value) in obj {
            match props.and_then(|p| p.get(name)) {
                Some(sub) if !is_valid(sub, value) => return false,
                Some(_) => {}
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => return false,
                    Some(sub @ Value::Object(_)) if !is_valid(sub, value) => return false,
                    _ => {}
                },
            }
        }
    }
    if let Some(items) = instance.as_array() {
        let len = items.len() as u64;
        if s.get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|min| len < min)
        {
            return false;
        }
        if s.get("maxItems")
            .and_then(Value::as_u64)
            .is_some_and(|max| len > max)
        {
            return false;
        }
        if let Some(sub) = s.get("items")
            && !items.iter().all(|item| is_valid(sub, item))
        {
            return false;
        }
    }
    let subs = |k: &str| {
        s.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    if s.contains_key("oneOf")
        && subs("oneOf")
            .iter()
            .filter(|sub| is_valid(sub, instance))
            .count()
            != 1
    {
        return false;
    }
    if s.contains_key("anyOf") && !subs("anyOf").iter().any(|sub| is_valid(sub, instance)) {
        return false;
    }
    subs("allOf").iter().all(|sub| is_valid(sub, instance))
}

fn type_matches(ty: &Value, v: &Value) -> bool {
    match ty {
        Value::String(t) => one_type(t, v),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(|t| one_type(t, v)),
        _ => false,
    }
}

fn one_type(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => {
            v.as_i64().is_some()
                || v.as_u64().is_some()
                || v.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::gateway::definition::tests::contract_of;

    fn predict_schema() -> Value {
        contract_of("dev")
            .method("POST", "/predict")
            .expect("predict")
            .body_models["application/json"]
            .clone()
    }

    fn flower() -> Value {
        json!({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2})
    }

    #[test]
    fn the_templates_model_is_supported_and_accepts_valid_requests() {
        let s = predict_schema();
        check_supported(&s).expect("supported");
        assert!(is_valid(&s, &flower()));
        assert!(is_valid(&s, &json!({"instances": [flower(), flower()]})));
    }

    #[test]
    fn what_api_gateway_refuses_is_refused() {
        let s = predict_schema();
        let mut missing = flower();
        missing
            .as_object_mut()
            .expect("object")
            .remove("petal_width");
        let mut string = flower();
        string["sepal_length"] = json!("5.1");
        let mut extra = flower();
        extra["colour"] = json!("blue");
        let too_many: Vec<Value> = (0..=100).map(|_| flower()).collect();
        for (what, body) in [
            ("missing field", missing),
            ("string value", string),
            ("extra field", extra),
            ("empty batch", json!({"instances": []})),
            ("oversized batch", json!({"instances": too_many})),
            ("array body", json!([flower()])),
            ("null", Value::Null),
        ] {
            assert!(!is_valid(&s, &body), "{what} must be refused");
        }
    }

    #[test]
    fn unsupported_keywords_are_named() {
        let err =
            check_supported(&json!({"type": "object", "properties": {"a": {"pattern": "x"}}}))
                .expect_err("pattern is not implemented");
        assert!(err.contains("`pattern`"), "{err}");
        assert!(check_supported(&json!("not a schema")).is_err());
    }

    #[test]
    fn integer_enum_and_bounds() {
        let s =
            json!({"type": ["integer", "null"], "minimum": 1, "maximum": 3, "enum": [1, 2, null]});
        assert!(is_valid(&s, &json!(2)));
        assert!(is_valid(&s, &Value::Null));
        assert!(!is_valid(&s, &json!(3)));
        assert!(!is_valid(&s, &json!(1.5)));
        assert!(!is_valid(&s, &json!(0)));
    }
}
