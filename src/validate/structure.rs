//! Structural checks: every reference resolves and nothing declared goes unused.

use std::collections::BTreeSet;

use serde_json::Value;

const PSEUDO: [&str; 8] = [
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];
const TOP_LEVEL: [&str; 8] = [
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Mappings",
    "Conditions",
    "Resources",
    "Outputs",
];

fn keys(doc: &Value, section: &str) -> BTreeSet<String> {
    doc.get(section)
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

pub(crate) fn check(doc: &Value, report: &mut impl FnMut(String, &'static str, String)) {
    let Some(top) = doc.as_object() else {
        report(
            "(document)".into(),
            "structure",
            "the template is not a mapping".into(),
        );
        return;
    };
    for key in top.keys() {
        if !TOP_LEVEL.contains(&key.as_str()) {
            report(
                key.clone(),
                "structure",
                format!("unknown top-level section `{key}`"),
            );
        }
    }
    let params = keys(doc, "Parameters");
    let resources = keys(doc, "Resources");
    let conditions = keys(doc, "Conditions");
    if resources.is_empty() {
        report(
            "Resources".into(),
            "structure",
            "the template declares no resources".into(),
        );
    }
    let mut used_params = BTreeSet::new();
    let mut used_conditions = BTreeSet::new();

    if let Some(res) = doc.get("Resources").and_then(Value::as_object) {
        for (id, body) in res {
            let path = format!("Resources.{id}");
            match body.get("Type").and_then(Value::as_str) {
                Some(t) if t.starts_with("AWS::") || t.starts_with("Custom::") => {}
                _ => report(
                    path.clone(),
                    "structure",
                    "resource has no valid `Type`".into(),
                ),
            }
            let depends = match body.get("DependsOn") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect(),
                _ => vec![],
            };
            for dep in depends {
                if !resources.contains(&dep) {
                    report(
                        format!("{path}.DependsOn"),
                        "ref",
                        format!("DependsOn `{dep}`, which is not a resource"),
                    );
                }
            }
            if let Some(cond) = body.get("Condition").and_then(Value::as_str) {
                used_conditions.insert(cond.to_string());
            }
        }
    }

    let cx = Names {
        params: &params,
        resources: &resources,
        conditions: &conditions,
    };
    for section in ["Resources", "Outputs", "Conditions"] {
        if let Some(v) = doc.get(section) {
            walk(
                v,
                section,
                &cx,
                &mut used_params,
                &mut used_conditions,
                report,
            );
        }
    }

    for p in params.difference(&used_params) {
        report(
            format!("Parameters.{p}"),
            "unused",
            format!("parameter `{p}` is declared but never used"),
        );
    }
    for c in conditions.difference(&used_conditions) {
        report(
            format!("Conditions.{c}"),
            "unused",
            format!("condition `{c}` is declared but never used"),
        );
    }
    for c in used_conditions.difference(&conditions) {
        report(
            "Conditions".into(),
            "ref",
            format!("condition `{c}` is used but not declared"),
        );
    }
}

struct Names<'a> {
    params: &'a BTreeSet<String>,
    resources: &'a BTreeSet<String>,
    conditions: &'a BTreeSet<String>,
}

fn walk(
    v: &Value,
    path: &str,
    cx: &Names,
    used_params: &mut BTreeSet<String>,
    used_conditions: &mut BTreeSet<String>,
    report: &mut impl FnMut(String, &'static str, String),
) {
    match v {
        Value::Object(map) => {
            if map.len() == 1 {
                let (k, arg) = map.iter().next().expect("one entry");
                match k.as_str() {
                    "Ref" => {
                        let name = arg.as_str().unwrap_or_default();
                        if cx.params.contains(name) {
                            used_params.insert(name.to_string());
                        } else if !cx.resources.contains(name) && !PSEUDO.contains(&name) {
                            report(
                                path.into(),
                                "ref",
                                format!(
                                    "Ref `{name}` is not a parameter, resource or pseudo parameter"
                                ),
                            );
                        }
                    }
                    "Fn::GetAtt" => {
                        let target = arg.get(0).and_then(Value::as_str).unwrap_or_default();
                        if !cx.resources.contains(target) {
                            report(
                                path.into(),
                                "ref",
                                format!("GetAtt `{target}`, which is not a resource"),
                            );
                        }
                    }
                    "Fn::Sub" => {
                        let (text, vars) = match arg {
                            Value::String(s) => (s.as_str(), None),
                            Value::Array(items) => (
                                items.first().and_then(Value::as_str).unwrap_or_default(),
                                items.get(1).and_then(Value::as_object),
                            ),
                            _ => ("", None),
                        };
                        for var in sub_variables(text) {
                            if vars.is_some_and(|m| m.contains_key(&var)) {
                                continue;
                            }
                            let (head, attr) = match var.split_once('.') {
                                Some((h, a)) if !h.starts_with("AWS::") => (h.to_string(), Some(a)),
                                _ => (var.clone(), None),
                            };
                            if attr.is_some() {
                                if !cx.resources.contains(&head) {
                                    report(
                                        path.into(),
                                        "ref",
                                        format!("Sub `${{{var}}}`: `{head}` is not a resource"),
                                    );
                                }
                            } else if cx.params.contains(&head) {
                                used_params.insert(head);
                            } else if !cx.resources.contains(&head)
                                && !PSEUDO.contains(&head.as_str())
                            {
                                report(
                                    path.into(),
                                    "ref",
                                    format!(
                                        "Sub `${{{var}}}` is not a parameter, resource or pseudo parameter"
                                    ),
                                );
                            }
                        }
                    }
                    "Fn::If" => {
                        if let Some(c) = arg.get(0).and_then(Value::as_str) {
                            used_conditions.insert(c.to_string());
                            if !cx.conditions.contains(c) {
                                report(
                                    path.into(),
                                    "ref",
                                    format!("Fn::If on `{c}`, which is not a condition"),
                                );
                            }
                        }
                    }
                    "Condition" => {
                        if let Some(c) = arg.as_str() {
                            used_conditions.insert(c.to_string());
                        }
                    }
                    _ => {}
                }
            }
            for (k, child) in map {
                walk(
                    child,
                    &format!("{path}.{k}"),
                    cx,
                    used_params,
                    used_conditions,
                    report,
                );
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(
                    child,
                    &format!("{path}[{i}]"),
                    cx,
                    used_params,
                    used_conditions,
                    report,
                );
            }
        }
        _ => {}
    }
}

/// The `${...}` variables of a Sub string, without `${!literal}` escapes.
pub(crate) fn sub_variables(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let var = &after[..end];
        if !var.starts_with('!') {
            out.push(var.trim().to_string());
        }
        rest = &after[end + 1..];
    }
    out
}
