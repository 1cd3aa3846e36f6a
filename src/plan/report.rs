//! Plan as data: what deploy would do to each stack of an env, built from change sets and
//! rendered templates, and printed as text, JSON or Markdown (for pull-request comments).
//! Pure; must not call AWS.

use serde::Serialize;

use crate::aws::cloudformation::ResourceChange;
use crate::stack::changes::{NewResource, change_line, replacement};

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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::stack::changes::tests::change;

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
}
