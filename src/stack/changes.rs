//! What a change set or a rendered template says about a stack's resources: one change as
//! a line, the stateful replacements the protected-env gate refuses, the custom-named
//! replacements refused in every env, the resources a new
//! stack creates. Pure; shared by deploy (its gate and progress lines) and plan (its
//! report). Must not call AWS.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::aws::cloudformation::ResourceChange;
use crate::render::cfn;

/// Resource types whose replacement loses data or identity (a new bucket is empty, a new
/// user pool has no users or clients, a new key cannot decrypt what the old one did).
pub const STATEFUL_TYPES: [&str; 6] = [
    "AWS::S3::Bucket",
    "AWS::Cognito::UserPool",
    "AWS::SQS::Queue",
    "AWS::ECR::Repository",
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
];

/// One resource a new stack will create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewResource {
    pub logical_id: String,
    pub resource_type: String,
    /// The template condition that decides whether it is created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// `True` / `Conditional` when the change replaces (or may replace) the resource.
pub fn replacement(change: &ResourceChange) -> Option<&str> {
    match change.replacement.as_deref() {
        Some(r @ ("True" | "Conditional")) => Some(r),
        _ => None,
    }
}

/// One change as a line: `~ Function (AWS::Lambda::Function) Modify [MemorySize]`.
pub fn change_line(c: &ResourceChange) -> String {
    let sign = match c.action.as_str() {
        "Add" => "+",
        "Remove" => "-",
        "Modify" => "~",
        _ => "*",
    };
    let mut line = format!("{sign} {} ({}) {}", c.logical_id, c.resource_type, c.action);
    if let Some(r) = replacement(c) {
        line.push_str(&format!(", replacement {r}"));
    }
    if !c.causes.is_empty() {
        line.push_str(&format!(" [{}]", c.causes.join(", ")));
    }
    line
}

/// Changes that would replace a stateful resource and are not in `allowed` (logical ids).
pub fn stateful_replacements<'a>(
    changes: &'a [ResourceChange],
    allowed: &[String],
) -> Vec<&'a ResourceChange> {
    changes
        .iter()
        .filter(|c| c.action == "Modify" && replacement(c).is_some())
        .filter(|c| STATEFUL_TYPES.contains(&c.resource_type.as_str()))
        .filter(|c| !allowed.contains(&c.logical_id))
        .collect()
}

/// Changes that would replace a custom-named resource (`named`: logical id → its name
/// property, from [`crate::render::custom_names`]) under the same name: CloudFormation
/// cannot do that in any env, so no `--allow-replace` admits them. A change that also
/// changes the name replaces under the new name, which works.
pub fn custom_named_replacements<'a>(
    changes: &'a [ResourceChange],
    named: &BTreeMap<String, &'static str>,
) -> Vec<(&'a ResourceChange, &'static str)> {
    changes
        .iter()
        .filter(|c| c.action == "Modify" && replacement(c).is_some())
        .filter_map(|c| named.get(&c.logical_id).map(|property| (c, *property)))
        .filter(|(c, property)| !c.causes.iter().any(|cause| cause == property))
        .collect()
}

/// The resources a rendered template creates, sorted by logical id.
pub fn resources_of(body: &str) -> Result<Vec<NewResource>, cfn::CfnParseError> {
    let doc = cfn::parse(body)?;
    let Some(resources) = doc.get("Resources").and_then(|r| r.as_object()) else {
        return Ok(Vec::new());
    };
    Ok(resources
        .iter()
        .map(|(id, r)| NewResource {
            logical_id: id.clone(),
            resource_type: r
                .get("Type")
                .and_then(|t| t.as_str())
                .unwrap_or_default()
                .to_owned(),
            condition: r
                .get("Condition")
                .and_then(|c| c.as_str())
                .map(str::to_owned),
        })
        .collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A change row as CloudFormation's change set describes one (shared with the plan
    /// report's tests).
    pub(crate) fn change(
        action: &str,
        id: &str,
        ty: &str,
        replacement: Option<&str>,
    ) -> ResourceChange {
        ResourceChange {
            action: action.into(),
            logical_id: id.into(),
            resource_type: ty.into(),
            replacement: replacement.map(Into::into),
            causes: vec!["BucketName".into()],
        }
    }

    #[test]
    fn custom_named_replacements_are_found_unless_the_name_changes_too() {
        let named = BTreeMap::from([
            ("ModelBucket".to_string(), "BucketName"),
            ("Function".to_string(), "FunctionName"),
            ("Queue".to_string(), "QueueName"),
        ]);
        let mut same_name = change("Modify", "Function", "AWS::Lambda::Function", Some("True"));
        same_name.causes = vec!["Architectures".into()];
        let changes = vec![
            // The bucket's replacement is caused by its name: a new name, which works.
            change("Modify", "ModelBucket", "AWS::S3::Bucket", Some("True")),
            same_name,
            change("Modify", "Queue", "AWS::SQS::Queue", Some("False")),
            change("Modify", "Key", "AWS::KMS::Key", Some("True")),
        ];
        let found: Vec<(&str, &str)> = custom_named_replacements(&changes, &named)
            .iter()
            .map(|(c, p)| (c.logical_id.as_str(), *p))
            .collect();
        assert_eq!(found, [("Function", "FunctionName")]);
    }

    #[test]
    fn stateful_replacements_are_found_unless_allowed() {
        let changes = vec![
            change("Modify", "ModelBucket", "AWS::S3::Bucket", Some("True")),
            change("Modify", "Queue", "AWS::SQS::Queue", Some("Conditional")),
            change("Modify", "Pool", "AWS::Cognito::UserPool", Some("False")),
            change("Modify", "Function", "AWS::Lambda::Function", Some("True")),
            change("Add", "NewBucket", "AWS::S3::Bucket", None),
        ];
        let found: Vec<&str> = stateful_replacements(&changes, &[])
            .iter()
            .map(|c| c.logical_id.as_str())
            .collect();
        assert_eq!(found, ["ModelBucket", "Queue"]);
        let allowed = stateful_replacements(&changes, &["ModelBucket".into()]);
        assert_eq!(allowed.len(), 1);
        assert_eq!(allowed[0].logical_id, "Queue");
    }

    #[test]
    fn resources_of_a_rendered_template() {
        let body = "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Condition: C\n  B:\n    Type: AWS::SQS::Queue\n";
        let r = resources_of(body).expect("parses");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].condition.as_deref(), Some("C"));
        assert_eq!(r[1].resource_type, "AWS::SQS::Queue");
        assert!(resources_of("Resources: [").is_err());
    }
}
