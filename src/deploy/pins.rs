//! Changing only what runs: a service-stack update that sends the deployed template back
//! unchanged with new parameter values: artifact pins (model push, rollback, promote) or a
//! rollout's weights (each rollout step). Its change set may touch only the resources that
//! read one of the parameters it may set (for pins: the function, its role's
//! pinned-object statements, the release version; for weights: the alias) and the alias
//! that follows the version; anything else means the deployed template or the other
//! parameters would change too, and the update is refused with the change set deleted,
//! naming what it would touch.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::Value;

use super::{Deployer, Target};
use crate::aws::cloudformation::{ParamValue, ResourceChange, Stack};
use crate::contract;
use crate::exit::Refusal;
use crate::naming::StackKind;
use crate::render::cfn;
use crate::stack::Prepared;
use crate::stack::changes::change_line;
use crate::stack::state::settled_healthy;

/// The service template's release resources (templates/service/function.yaml.j2).
pub const RELEASE_VERSION: &str = "ReleaseVersion";
pub const LIVE_ALIAS: &str = "LiveAlias";
/// A sagemaker env's model (templates/service/endpoint.yaml.j2), and what follows it: a
/// replaced model is a new endpoint config, which updates the endpoint.
pub const SAGEMAKER_MODEL: &str = "Model";
pub const FOLLOW_THE_MODEL: [&str; 2] = ["EndpointConfig", "Endpoint"];

/// What a pins update did.
#[derive(Debug, Clone, Serialize)]
pub struct Repinned {
    pub stack: String,
    /// `updated` or `no_changes`.
    pub result: &'static str,
    pub changes: Vec<ResourceChange>,
    pub stack_status: String,
}

/// The logical ids a pins-only change set may touch in `template`: every resource whose
/// definition reads one of `pins`, and the alias that follows the release version.
pub fn touched_by_pins(template: &Value, pins: &[&str]) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return ids;
    };
    for (id, r) in resources {
        if reads_any(r, pins) {
            ids.insert(id.clone());
        }
    }
    if ids.contains(RELEASE_VERSION) {
        ids.insert(LIVE_ALIAS.to_owned());
    }
    if ids.contains(SAGEMAKER_MODEL) {
        ids.extend(FOLLOW_THE_MODEL.map(str::to_owned));
    }
    ids
}

fn reads_any(v: &Value, pins: &[&str]) -> bool {
    match v {
        Value::Object(map) => map.iter().any(|(k, v)| {
            (k == "Ref" && v.as_str().is_some_and(|r| pins.contains(&r))) || reads_any(v, pins)
        }),
        Value::Array(items) => items.iter().any(|v| reads_any(v, pins)),
        Value::String(s) => pins.iter().any(|p| s.contains(&format!("${{{p}}}"))),
        _ => false,
    }
}

/// Changes a pins update must not make: outside `allowed`, or adding or removing a
/// resource.
pub fn beyond_pins<'a>(
    changes: &'a [ResourceChange],
    allowed: &BTreeSet<String>,
) -> Vec<&'a ResourceChange> {
    changes
        .iter()
        .filter(|c| {
            !allowed.contains(&c.logical_id) || !matches!(c.action.as_str(), "Modify" | "Dynamic")
        })
        .collect()
}

/// A parameters-only service-stack update: what it sets and what it may touch.
pub struct ParameterUpdate<'a> {
    /// Parameter name → value; every other parameter keeps its value.
    pub values: &'a BTreeMap<String, String>,
    /// The parameters it may set; the change set may touch only the resources that read
    /// one of them ([`touched_by_pins`]).
    pub settable: &'a [&'a str],
    /// What it changes, for messages: `the artifact pins`, `the rollout weights`.
    pub what: &'static str,
    /// Asked before executing in a protected env; `None`: not asked (a rollout step,
    /// which the deploy or push that started the rollout was confirmed for).
    pub question: Option<String>,
}

impl Deployer<'_> {
    /// Update the service stack's `pins` (parameter name → value) and nothing else, with
    /// the rollout parameters the change comes with.
    pub async fn repin(
        &self,
        target: &Target<'_>,
        pins: &BTreeMap<String, String>,
    ) -> anyhow::Result<Repinned> {
        let settable: Vec<&str> = contract::pins::ALL
            .iter()
            .chain(contract::rollout::ALL.iter())
            .copied()
            .collect();
        let name = &target.stack(StackKind::Service)?.name;
        let question = format!(
            "Change the artifacts env `{}` runs (stack {name})?",
            target.env()
        );
        self.update_parameters(
            target,
            ParameterUpdate {
                values: pins,
                settable: &settable,
                what: "the artifact pins",
                question: Some(question),
            },
        )
        .await
    }

    /// One rollout step: the live alias's weights (the rollout parameters) and nothing else.
    pub async fn shift(
        &self,
        target: &Target<'_>,
        rollout: &BTreeMap<String, String>,
    ) -> anyhow::Result<Repinned> {
        self.update_parameters(
            target,
            ParameterUpdate {
                values: rollout,
                settable: &contract::rollout::ALL,
                what: "the rollout weights",
                question: None,
            },
        )
        .await
    }

    /// Send the deployed template back with `update.values` changed; refused (change set
    /// deleted, nothing changed) when it would touch more than what reads them.
    pub async fn update_parameters(
        &self,
        target: &Target<'_>,
        update: ParameterUpdate<'_>,
    ) -> anyhow::Result<Repinned> {
        let service = target.stack(StackKind::Service)?;
        let name = service.name.as_str();
        let ui = &self.stacks.ui;
        let current: Stack = self.stacks.describe(name).await?.with_context(|| {
            format!(
                "stack {name} does not exist: deploy env `{}` first (`irisctl deploy --env {} \
                 --model DIR --package DIR`)",
                target.env(),
                target.env()
            )
        })?;
        if !settled_healthy(&current.status) {
            bail!(
                "stack {name} is {}; `irisctl status --env {}` and `irisctl recover` first; \
                 nothing was changed",
                current.status,
                target.env()
            );
        }
        let body = self
            .stacks
            .cfn
            .template(name)
            .await?
            .with_context(|| format!("CloudFormation returned no template for {name}"))?;
        let doc = cfn::parse(&body)?;
        let has_release = doc
            .pointer(&format!("/Resources/{RELEASE_VERSION}/Type"))
            .and_then(Value::as_str)
            == Some("AWS::Lambda::Version");
        let declares_all = update
            .values
            .keys()
            .all(|k| current.parameters.contains_key(k));
        if !has_release || !declares_all {
            return Err(Refusal::SafetyGate(format!(
                "stack {name} was deployed by an irisctl without releases or rollouts; run \
                 `irisctl deploy --env {}` once, then push models; nothing was changed",
                target.env()
            ))
            .into());
        }
        let mut params: BTreeMap<String, ParamValue> = current
            .parameters
            .keys()
            .map(|k| (k.clone(), ParamValue::UsePrevious))
            .collect();
        for (k, v) in update.values {
            if !update.settable.contains(&k.as_str()) {
                bail!("internal: {k} is not one of {}", update.what);
            }
            params.insert(k.clone(), ParamValue::Value(v.clone()));
        }
        let unchanged = update
            .values
            .iter()
            .all(|(k, v)| current.parameters.get(k) == Some(v));
        let result = |result, changes, stack: &Stack| Repinned {
            stack: name.to_owned(),
            result,
            changes,
            stack_status: stack.status.clone(),
        };
        if unchanged {
            ui.say(&format!(
                "{name}: {} are already these; no changes",
                update.what
            ));
            return Ok(result("no_changes", Vec::new(), &current));
        }
        let (change_set, changes) = match self
            .stacks
            .prepare_change_set(name, &body, &params, &current.tags)
            .await?
        {
            Prepared::NoChanges => {
                ui.say(&format!("{name}: no changes"));
                return Ok(result("no_changes", Vec::new(), &current));
            }
            Prepared::Changes {
                change_set,
                changes,
            } => (change_set, changes),
        };
        ui.say(&format!("{name}: {} changes", changes.len()));
        for c in &changes {
            ui.say(&format!("  {}", change_line(c)));
        }
        let allowed = touched_by_pins(&doc, update.settable);
        let beyond = beyond_pins(&changes, &allowed);
        if !beyond.is_empty() {
            let what: Vec<String> = beyond.iter().map(|c| change_line(c)).collect();
            self.stacks.discard_change_set(name, &change_set).await;
            return Err(Refusal::SafetyGate(format!(
                "the change set for {name} would change more than {}: {}; nothing was \
                 changed. A template or setting change goes through `irisctl deploy --env {}` \
                 (and `irisctl plan` shows it)",
                update.what,
                what.join("; "),
                target.env()
            ))
            .into());
        }
        if let Some(question) = update.question.filter(|_| target.protected())
            && let Err(err) = self.approval.approve(&question)
        {
            self.stacks.discard_change_set(name, &change_set).await;
            return Err(err);
        }
        self.stacks
            .execute(&current, &change_set, changes.len())
            .await?;
        let stack = self.stacks.settled(name).await?;
        ui.say(&format!("{name}: {}", stack.status));
        Ok(result("updated", changes, &stack))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(id: &str, action: &str) -> ResourceChange {
        ResourceChange {
            action: action.into(),
            logical_id: id.into(),
            resource_type: "AWS::Lambda::Function".into(),
            replacement: None,
            causes: Vec::new(),
        }
    }

    #[test]
    fn the_resources_that_read_a_pin_and_the_alias_may_change() {
        let doc = serde_json::json!({"Resources": {
            "Function": {"Properties": {"Environment": {"Variables": {"M": {"Ref": "ModelKey"}}}}},
            "FunctionRole": {"Properties": {"R": {"Fn::Sub": "${ModelBucketArn}/${ModelKey}"}}},
            "ReleaseVersion": {"Properties": {"Description": {"Fn::Sub": "x ${ModelSha256}"}}},
            "LiveAlias": {"Properties": {"FunctionVersion": {"Fn::GetAtt": ["ReleaseVersion", "Version"]}}},
            "Stage": {"Properties": {"X": {"Ref": "ModelBucketName"}}},
        }});
        let allowed = touched_by_pins(&doc, &contract::pins::ALL);
        let ids: Vec<&str> = allowed.iter().map(String::as_str).collect();
        assert_eq!(
            ids,
            ["Function", "FunctionRole", "LiveAlias", "ReleaseVersion"]
        );
        let changes = [
            change("Function", "Modify"),
            change("ReleaseVersion", "Modify"),
            change("Stage", "Modify"),
            change("NewThing", "Add"),
        ];
        let beyond: Vec<&str> = beyond_pins(&changes, &allowed)
            .iter()
            .map(|c| c.logical_id.as_str())
            .collect();
        assert_eq!(beyond, ["Stage", "NewThing"]);
    }

    #[test]
    fn an_allowed_resource_removed_is_beyond_pins() {
        let allowed: BTreeSet<String> = ["Function".to_string()].into();
        let changes = [change("Function", "Remove")];
        assert_eq!(beyond_pins(&changes, &allowed).len(), 1);
    }
}
