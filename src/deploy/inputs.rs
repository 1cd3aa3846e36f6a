//! The inputs deploy sends with a stack: its parameters (earlier stacks' outputs and the
//! artifact pins, else the stack's previous value, else the template default) and its tags
//! (run-time tags keep the stack's values on an update), and whether they equal what the
//! stack already has. Pure; plan computes the same inputs. Must not call AWS.

use std::collections::BTreeMap;

use anyhow::bail;

use super::artifacts::Pins;
use crate::aws::cloudformation::{ParamValue, Stack};
use crate::render::{RenderedStack, cfn};

/// Stack tags irisctl sets at run time and keeps as they are on an update, so a deploy that
/// changes nothing else stays a no-op (see docs/decisions.md).
pub const RUNTIME_TAGS: [&str; 3] = ["irisctl:version", "irisctl:commit", "irisctl:owner"];

/// The parameters to send: every declared one that an earlier stack (or the artifact pins)
/// provides; otherwise the stack's previous value; otherwise the template's default.
pub fn parameters(
    rendered: &RenderedStack,
    available: &BTreeMap<String, String>,
    current: Option<&Stack>,
) -> anyhow::Result<BTreeMap<String, ParamValue>> {
    let doc = cfn::parse(&rendered.body)?;
    let has_default = |name: &str| {
        doc.get("Parameters")
            .and_then(|p| p.get(name))
            .and_then(|p| p.get("Default"))
            .is_some()
    };
    let mut params = BTreeMap::new();
    let mut missing = Vec::new();
    for name in &rendered.parameters_declared {
        if let Some(value) = available.get(name) {
            params.insert(name.clone(), ParamValue::Value(value.clone()));
        } else if current.is_some_and(|s| s.parameters.contains_key(name)) {
            params.insert(name.clone(), ParamValue::UsePrevious);
        } else if !has_default(name) {
            missing.push(name.as_str());
        }
    }
    if !missing.is_empty() {
        let hint = if missing.iter().any(|m| Pins::NAMES.contains(m)) {
            "; the artifact parameters come from --model DIR and --package DIR"
        } else {
            "; they come from the earlier stacks' outputs"
        };
        bail!(
            "stack {} needs parameter(s) {} that nothing provides{hint}",
            rendered.name,
            missing.join(", ")
        );
    }
    Ok(params)
}

/// Whether parameters and tags equal the stack's (every declared parameter sent, with the
/// stack's value or "use previous", and nothing left to a default).
pub fn same_inputs(
    rendered: &RenderedStack,
    current: &Stack,
    params: &BTreeMap<String, ParamValue>,
    tags: &BTreeMap<String, String>,
) -> bool {
    let params_same = rendered.parameters_declared.len() == current.parameters.len()
        && rendered.parameters_declared.iter().all(|name| {
            match (params.get(name), current.parameters.get(name)) {
                (Some(ParamValue::Value(v)), Some(old)) => v == old,
                (Some(ParamValue::UsePrevious), Some(_)) => true,
                _ => false,
            }
        });
    params_same && &current.tags == tags
}

/// Tags for an update: the desired ones, but run-time tags keep the stack's values.
pub fn update_tags(
    desired: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut tags = desired.clone();
    for key in RUNTIME_TAGS {
        match current.get(key) {
            Some(value) => {
                tags.insert(key.to_owned(), value.clone());
            }
            None => {
                tags.remove(key);
            }
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::StackKind;

    fn rendered(body: &str, declared: &[&str]) -> RenderedStack {
        RenderedStack {
            name: "iris-dev-service".into(),
            kind: StackKind::Service,
            body: body.into(),
            parameters_declared: declared.iter().map(|s| s.to_string()).collect(),
        }
    }

    const BODY: &str = "Parameters:\n  ModelBucketName:\n    Type: String\n  ModelVersionId:\n    Type: String\n    Default: \"\"\n  ModelKey:\n    Type: String\nResources:\n  T:\n    Type: AWS::SNS::Topic\n";

    fn stack_with(params: &[&str]) -> Stack {
        Stack {
            name: "iris-dev-service".into(),
            id: "id".into(),
            status: "UPDATE_COMPLETE".into(),
            status_reason: None,
            outputs: BTreeMap::new(),
            parameters: params
                .iter()
                .map(|p| (p.to_string(), "old".into()))
                .collect(),
            tags: BTreeMap::new(),
            termination_protection: false,
        }
    }

    #[test]
    fn parameters_take_outputs_then_previous_values_then_defaults() {
        let r = rendered(BODY, &["ModelBucketName", "ModelKey", "ModelVersionId"]);
        let available: BTreeMap<String, String> = [
            ("ModelBucketName".to_string(), "b".to_string()),
            ("NotDeclared".to_string(), "x".to_string()),
        ]
        .into();
        let current = stack_with(&["ModelKey"]);
        let p = parameters(&r, &available, Some(&current)).expect("params");
        assert_eq!(p["ModelBucketName"], ParamValue::Value("b".into()));
        assert_eq!(p["ModelKey"], ParamValue::UsePrevious);
        assert!(!p.contains_key("ModelVersionId"), "defaulted");
        assert!(
            !p.contains_key("NotDeclared"),
            "only declared ones are passed"
        );
    }

    #[test]
    fn missing_parameters_name_where_they_come_from() {
        let r = rendered(BODY, &["ModelBucketName", "ModelKey", "ModelVersionId"]);
        let err = parameters(&r, &BTreeMap::new(), None).expect_err("missing");
        let text = format!("{err:#}");
        assert!(text.contains("ModelBucketName, ModelKey"), "{text}");
        assert!(text.contains("--model DIR and --package DIR"), "{text}");
    }

    #[test]
    fn same_inputs_only_when_every_parameter_and_tag_matches() {
        let r = rendered(BODY, &["ModelBucketName", "ModelKey"]);
        let mut current = stack_with(&["ModelBucketName", "ModelKey"]);
        current.tags = [("team".to_string(), "a".to_string())].into();
        let tags = current.tags.clone();
        let mut params: BTreeMap<String, ParamValue> = [
            (
                "ModelBucketName".to_string(),
                ParamValue::Value("old".into()),
            ),
            ("ModelKey".to_string(), ParamValue::UsePrevious),
        ]
        .into();
        assert!(same_inputs(&r, &current, &params, &tags));
        params.insert("ModelBucketName".into(), ParamValue::Value("new".into()));
        assert!(
            !same_inputs(&r, &current, &params, &tags),
            "a changed value"
        );
        params.insert("ModelBucketName".into(), ParamValue::Value("old".into()));
        let other_tags: BTreeMap<String, String> = [("team".to_string(), "b".to_string())].into();
        assert!(
            !same_inputs(&r, &current, &params, &other_tags),
            "a changed tag"
        );
        params.remove("ModelKey");
        assert!(
            !same_inputs(&r, &current, &params, &tags),
            "a parameter left to its default"
        );
    }

    #[test]
    fn update_tags_keep_runtime_tags_of_the_stack() {
        let desired: BTreeMap<String, String> = [
            ("irisctl:env".to_string(), "dev".to_string()),
            ("irisctl:version".to_string(), "0.2.0".to_string()),
            ("irisctl:owner".to_string(), "bob".to_string()),
            ("team".to_string(), "new".to_string()),
        ]
        .into();
        let current: BTreeMap<String, String> = [
            ("irisctl:version".to_string(), "0.1.0".to_string()),
            ("team".to_string(), "old".to_string()),
        ]
        .into();
        let tags = update_tags(&desired, &current);
        assert_eq!(tags["irisctl:version"], "0.1.0");
        assert_eq!(tags["team"], "new");
        assert!(!tags.contains_key("irisctl:owner"));
        assert_eq!(tags["irisctl:env"], "dev");
    }
}
