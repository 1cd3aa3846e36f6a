//! A rendered CloudFormation YAML document → a JSON tree with every short-form intrinsic
//! (`!Ref`, `!GetAtt`, `!Sub`, ...) in its long form, so validation and outputs-to-
//! parameters wiring read one shape. Uses saphyr, which keeps the `!Tag`s that other YAML
//! loaders drop. Must not judge the template (validate/ does).

use saphyr::{LoadableYamlNode, ScalarOwned, YamlOwned};
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum CfnParseError {
    #[error("not valid YAML: {0}")]
    Yaml(String),
    #[error("expected exactly one YAML document, found {0}")]
    Documents(usize),
    #[error("unsupported YAML at {path}: {what}")]
    Unsupported { path: String, what: String },
}

/// Parse a CloudFormation YAML template into its JSON form.
pub fn parse(text: &str) -> Result<Value, CfnParseError> {
    let docs = YamlOwned::load_from_str(text).map_err(|e| CfnParseError::Yaml(e.to_string()))?;
    if docs.len() != 1 {
        return Err(CfnParseError::Documents(docs.len()));
    }
    convert(&docs[0], "")
}

fn convert(node: &YamlOwned, path: &str) -> Result<Value, CfnParseError> {
    Ok(match node {
        YamlOwned::Value(scalar) => scalar_value(scalar),
        YamlOwned::Representation(text, _, _) => Value::String(text.clone()),
        YamlOwned::Sequence(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| convert(item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        YamlOwned::Mapping(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let key = match key {
                    YamlOwned::Value(ScalarOwned::String(s)) => s.clone(),
                    YamlOwned::Value(other) => scalar_value(other).to_string(),
                    other => {
                        return Err(CfnParseError::Unsupported {
                            path: path.to_string(),
                            what: format!("non-scalar key {other:?}"),
                        });
                    }
                };
                let child = convert(value, &format!("{path}.{key}"))?;
                map.insert(key, child);
            }
            Value::Object(map)
        }
        YamlOwned::Tagged(tag, inner) => {
            let inner = convert(inner, path)?;
            if tag.handle != "!" {
                // Core-schema tags (`!!str`) keep their value.
                return Ok(inner);
            }
            intrinsic(&tag.suffix, inner, path)?
        }
        YamlOwned::Alias(_) | YamlOwned::BadValue => {
            return Err(CfnParseError::Unsupported {
                path: path.to_string(),
                what: "aliases are not allowed in templates".into(),
            });
        }
    })
}

fn scalar_value(scalar: &ScalarOwned) -> Value {
    match scalar {
        ScalarOwned::Null => Value::Null,
        ScalarOwned::Boolean(b) => Value::Bool(*b),
        ScalarOwned::Integer(i) => Value::from(*i),
        ScalarOwned::FloatingPoint(f) => Value::from(f.into_inner()),
        ScalarOwned::String(s) => Value::String(s.clone()),
    }
}

fn intrinsic(name: &str, inner: Value, path: &str) -> Result<Value, CfnParseError> {
    let key = match name {
        "Ref" | "Condition" => name.to_string(),
        "GetAtt" => {
            // `!GetAtt A.B` is the string form of `Fn::GetAtt: [A, B]`.
            let value = match inner {
                Value::String(s) => match s.split_once('.') {
                    Some((res, attr)) => Value::Array(vec![res.into(), attr.into()]),
                    None => {
                        return Err(CfnParseError::Unsupported {
                            path: path.to_string(),
                            what: format!("!GetAtt {s} has no attribute"),
                        });
                    }
                },
                other => other,
            };
            return Ok(single("Fn::GetAtt", value));
        }
        "Base64" | "Cidr" | "FindInMap" | "GetAZs" | "ImportValue" | "Join" | "Select"
        | "Split" | "Sub" | "Transform" | "And" | "Equals" | "If" | "Not" | "Or" | "Length"
        | "ToJsonString" => format!("Fn::{name}"),
        other => {
            return Err(CfnParseError::Unsupported {
                path: path.to_string(),
                what: format!("unknown tag !{other}"),
            });
        }
    };
    Ok(single(&key, inner))
}

fn single(key: &str, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(key.to_string(), value);
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms_become_long_forms() {
        let doc = parse(
            "A: !Ref X\nB: !GetAtt R.Arn\nC: !Sub \"${X}-y\"\nD: !If [C, !Ref AWS::NoValue, 1]\nE: !Not [!Equals [a, b]]\n",
        )
        .expect("parse");
        assert_eq!(
            doc,
            json!({
                "A": {"Ref": "X"},
                "B": {"Fn::GetAtt": ["R", "Arn"]},
                "C": {"Fn::Sub": "${X}-y"},
                "D": {"Fn::If": ["C", {"Ref": "AWS::NoValue"}, 1]},
                "E": {"Fn::Not": [{"Fn::Equals": ["a", "b"]}]},
            })
        );
    }

    #[test]
    fn unknown_tags_and_broken_yaml_are_errors() {
        assert!(parse("A: !Reff X\n").is_err());
        assert!(parse("A: [1, 2\n").is_err());
        assert!(parse("A: 1\n---\nB: 2\n").is_err());
    }
}
