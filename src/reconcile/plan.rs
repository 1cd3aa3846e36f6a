//! Plan as data: what deploy would do to each stack of an env, built from change sets and
//! rendered templates, and printed as text, JSON or Markdown (for pull-request comments).
//! Also the change-set classification the safety gate uses (stateful replacements). Pure;
//! must not call AWS.

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

/// What deploy would do to one stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum StackAction {
    /// A new stack (or one deleted first, when `recreate` says why).
    Create {
        resources: Vec<NewResource>,
        #[serde(skip_serializing_if = "Option::is_none")]
        recreate: Option<String>,
    },
    /// An existing stack and the change set's changes.
    Update {
        changes: Vec<ResourceChange>,
    },
    NoChanges,
    /// Deploy would stop here (a state that needs a person first).
    Blocked {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackPlan {
    pub stack: String,
    pub kind: String,
    #[serde(flatten)]
    pub action: StackAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub env: String,
    pub stacks: Vec<StackPlan>,
}

impl Plan {
    /// True when applying the plan would change (or could not proceed past) anything.
    pub fn has_changes(&self) -> bool {
        self.stacks
            .iter()
            .any(|s| !matches!(s.action, StackAction::NoChanges))
    }

    pub fn to_json(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("changes".into(), self.has_changes().into());
        }
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for stack in &self.stacks {
            out.push_str(&format!("{} ({}): ", stack.stack, stack.kind));
            match &stack.action {
                StackAction::NoChanges => out.push_str("no changes\n"),
                StackAction::Blocked { message } => out.push_str(&format!("blocked: {message}\n")),
                StackAction::Create {
                    resources,
                    recreate,
                } => {
                    if let Some(why) = recreate {
                        out.push_str(&format!("delete and recreate ({why}), "));
                    }
                    out.push_str(&format!("create {} resources\n", resources.len()));
                    for r in resources {
                        out.push_str(&format!("  + {} ({})", r.logical_id, r.resource_type));
                        if let Some(c) = &r.condition {
                            out.push_str(&format!(" if {c}"));
                        }
                        out.push('\n');
                    }
                }
                StackAction::Update { changes } => {
                    out.push_str(&format!("{} changes\n", changes.len()));
                    for c in changes {
                        out.push_str(&format!("  {}\n", change_line(c)));
                    }
                }
            }
        }
        let summary = if self.has_changes() {
            "changes pending"
        } else {
            "no changes"
        };
        out.push_str(&format!("env {}: {summary}\n", self.env));
        out
    }

    pub fn to_markdown(&self) -> String {
        let mut out = format!("### irisctl plan: `{}`\n\n", self.env);
        if !self.has_changes() {
            out.push_str("No changes.\n");
            return out;
        }
        out.push_str("| stack | action | resource | type | replacement | caused by |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for stack in &self.stacks {
            let name = format!("`{}`", stack.stack);
            match &stack.action {
                StackAction::NoChanges => {
                    out.push_str(&format!("| {name} | no changes | | | | |\n"));
                }
                StackAction::Blocked { message } => {
                    out.push_str(&format!(
                        "| {name} | **blocked** | | | | {} |\n",
                        md_escape(message)
                    ));
                }
                StackAction::Create {
                    resources,
                    recreate,
                } => {
                    let action = if recreate.is_some() {
                        "recreate"
                    } else {
                        "create"
                    };
                    for r in resources {
                        out.push_str(&format!(
                            "| {name} | {action} | `{}` | `{}` | | {} |\n",
                            r.logical_id,
                            r.resource_type,
                            r.condition
                                .as_deref()
                                .map(|c| format!("if `{c}`"))
                                .unwrap_or_default()
                        ));
                    }
                }
                StackAction::Update { changes } => {
                    for c in changes {
                        out.push_str(&format!(
                            "| {name} | {} | `{}` | `{}` | {} | {} |\n",
                            c.action,
                            c.logical_id,
                            c.resource_type,
                            match replacement(c) {
                                Some(r @ "True") => format!("**{r}**"),
                                Some(r) => r.to_owned(),
                                None => String::new(),
                            },
                            md_escape(&c.causes.join(", "))
                        ));
                    }
                }
            }
        }
        out
    }
}

fn md_escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
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
mod tests {
    use super::*;

    fn change(action: &str, id: &str, ty: &str, replacement: Option<&str>) -> ResourceChange {
        ResourceChange {
            action: action.into(),
            logical_id: id.into(),
            resource_type: ty.into(),
            replacement: replacement.map(Into::into),
            causes: vec!["BucketName".into()],
        }
    }

    fn plan(actions: Vec<StackAction>) -> Plan {
        Plan {
            env: "dev".into(),
            stacks: actions
                .into_iter()
                .enumerate()
                .map(|(i, action)| StackPlan {
                    stack: format!("iris-dev-{i}"),
                    kind: "storage".into(),
                    action,
                })
                .collect(),
        }
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
    fn has_changes_only_when_some_stack_changes() {
        assert!(!plan(vec![StackAction::NoChanges, StackAction::NoChanges]).has_changes());
        assert!(
            plan(vec![
                StackAction::NoChanges,
                StackAction::Update {
                    changes: vec![change(
                        "Modify",
                        "F",
                        "AWS::Lambda::Function",
                        Some("False")
                    )]
                }
            ])
            .has_changes()
        );
        assert!(
            plan(vec![StackAction::Blocked {
                message: "x".into()
            }])
            .has_changes()
        );
    }

    #[test]
    fn text_lists_changes_with_replacement_and_causes() {
        let p = plan(vec![StackAction::Update {
            changes: vec![change(
                "Modify",
                "ModelBucket",
                "AWS::S3::Bucket",
                Some("True"),
            )],
        }]);
        let text = p.to_text();
        assert!(
            text.contains("~ ModelBucket (AWS::S3::Bucket) Modify, replacement True [BucketName]"),
            "{text}"
        );
        assert!(text.ends_with("env dev: changes pending\n"), "{text}");
    }

    #[test]
    fn markdown_is_a_table_and_escapes_pipes() {
        let p = plan(vec![
            StackAction::Create {
                resources: vec![NewResource {
                    logical_id: "Topic".into(),
                    resource_type: "AWS::SNS::Topic".into(),
                    condition: Some("HasEmails".into()),
                }],
                recreate: None,
            },
            StackAction::Blocked {
                message: "a | b".into(),
            },
        ]);
        let md = p.to_markdown();
        assert!(
            md.starts_with("### irisctl plan: `dev`\n\n| stack |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| `iris-dev-0` | create | `Topic` | `AWS::SNS::Topic` | | if `HasEmails` |"
            ),
            "{md}"
        );
        assert!(md.contains("a \\| b"), "{md}");
        let none = plan(vec![StackAction::NoChanges]).to_markdown();
        assert!(none.ends_with("No changes.\n"));
    }

    #[test]
    fn json_carries_actions_and_a_changes_flag() {
        let p = plan(vec![StackAction::NoChanges]);
        let v: serde_json::Value = serde_json::from_str(&p.to_json()).expect("json");
        assert_eq!(v["changes"], false);
        assert_eq!(v["stacks"][0]["action"], "no_changes");
        assert_eq!(v["stacks"][0]["stack"], "iris-dev-0");
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
