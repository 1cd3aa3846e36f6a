//! Rollouts: how a new release takes the live alias's traffic. A gradual rollout starts
//! with the update that publishes the release: the alias keeps the live version as its
//! primary and gives the new one weight 0 ([`start_parameters`]). Then [`run`] checks the
//! new version directly (Lambda `Invoke` with the version as qualifier: its golden set as
//! recorded, and the live version's answers on nearby inputs), and moves the weight step
//! by step ([`Strategy::schedule`]) with a parameters-only stack update each, watching the
//! env's alarms through every bake. The last step makes the new version the primary. Any
//! alarm, any disagreement beyond the tolerance, a failed step or Ctrl-C puts the weight
//! back to 0 (the previous release takes all traffic again), with the reason in the report.
//!
//! The state lives in the service stack's parameters ([`crate::contract::rollout`]), so
//! CloudFormation records every step and `irisctl rollout status|resume|abort` read it
//! from there; [`State::of`] decides what it means.

mod agreement;
pub mod run;
mod strategy;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

pub use agreement::{
    Agreement, Answer, agreement, golden_matches, parse_answers, predict_event, sample_inputs,
};
pub use run::{Outcome, RolloutReport};
pub use strategy::{DEFAULT_CANARY, DEFAULT_LINEAR, MAX_BAKE, Step, Strategy};

use crate::contract::rollout as params;

/// Why a sagemaker env takes no gradual strategy.
pub const SAGEMAKER_ALL_AT_ONCE: &str = "a `backend: sagemaker` env rolls out all at once: \
    its POST /predict is served by the SageMaker endpoint, whose update SageMaker runs \
    blue/green itself, and a canary of the function's alias would not move that traffic; \
    use `--strategy all-at-once` (the default there)";
use crate::deploy::pins::RELEASE_VERSION;
use crate::release::Published;

/// Where a rollout stands, from the service stack's rollout parameters and the alias.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum State {
    /// The alias sends everything to the stack's release version.
    None,
    /// A rollout runs (or was interrupted): `to` gets `weight`, `from` the rest.
    Running {
        from: u32,
        to: Option<u32>,
        weight: f64,
        strategy: String,
    },
    /// A rollout was rolled back or aborted: `from` takes all traffic, `to` none, until the
    /// next deploy or push.
    HeldBack { from: u32, to: Option<u32> },
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let to =
            |to: &Option<u32>| to.map_or("the new release".to_owned(), |v| format!("version {v}"));
        match self {
            State::None => write!(f, "no rollout runs"),
            State::Running {
                from,
                to: new,
                weight,
                strategy,
            } => write!(
                f,
                "rollout {strategy} runs: {} gets {:.0}% of traffic, version {from} the rest",
                to(new),
                weight * 100.0
            ),
            State::HeldBack { from, to: new } => write!(
                f,
                "rollout stopped: version {from} takes all traffic, {} none",
                to(new)
            ),
        }
    }
}

impl State {
    /// Read the state from the service stack's parameters and the alias's weights.
    pub fn of(parameters: &BTreeMap<String, String>, weights: &BTreeMap<String, f64>) -> State {
        let get = |k: &str| parameters.get(k).map(String::as_str).unwrap_or("");
        let Ok(from) = get(params::FROM).parse::<u32>() else {
            return State::None;
        };
        let to = weights.keys().find_map(|v| v.parse::<u32>().ok());
        let strategy = get(params::STRATEGY);
        if strategy.is_empty() {
            return State::HeldBack { from, to };
        }
        State::Running {
            from,
            to,
            weight: get(params::WEIGHT).parse().unwrap_or(0.0),
            strategy: strategy.to_owned(),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self, State::Running { .. })
    }
}

/// Refuse a change to env `env` whose service stack (its `parameters`) records a running
/// rollout, naming how to finish or stop it; `unchanged` says what the refusal left as it
/// was (deploy may already have updated storage and auth when it finds the rollout).
pub fn refuse_if_running(
    env: &str,
    parameters: &BTreeMap<String, String>,
    unchanged: &str,
) -> anyhow::Result<()> {
    let state = State::of(parameters, &BTreeMap::new());
    if !state.is_running() {
        return Ok(());
    }
    Err(crate::exit::Refusal::SafetyGate(format!(
        "env `{env}`: {state}; {unchanged}. Finish the rollout with `irisctl rollout resume \
         --env {env}` or stop it with `irisctl rollout abort --env {env}`, then try again"
    ))
    .into())
}

/// A weight as the `RolloutWeight` parameter takes it (`0`, `0.1`, `1`).
pub fn weight_text(weight: f64) -> String {
    let rounded = (weight * 10_000.0).round() / 10_000.0;
    format!("{rounded}")
}

/// The rollout parameters for an update with no rollout: all traffic to the stack's
/// release version.
pub fn none_parameters() -> BTreeMap<String, String> {
    [
        (params::FROM.to_owned(), String::new()),
        (params::WEIGHT.to_owned(), "0".to_owned()),
        (params::STRATEGY.to_owned(), String::new()),
    ]
    .into()
}

/// The rollout parameters for an update that may publish a release: a gradual `strategy`
/// starts (the live version stays primary, the new one gets weight 0) only when there is
/// a live version and the update publishes another release than it runs (`new_description`,
/// the release version's description after the update, differs from the live one's).
/// Returns the parameters and whether a rollout starts.
pub fn start_parameters(
    strategy: &Strategy,
    live: Option<&Published>,
    new_description: Option<&str>,
) -> (BTreeMap<String, String>, bool) {
    match (strategy.is_gradual(), live, new_description) {
        (true, Some(live), Some(new)) if live.description != new => (
            [
                (params::FROM.to_owned(), live.version.to_string()),
                (params::WEIGHT.to_owned(), "0".to_owned()),
                (params::STRATEGY.to_owned(), strategy.to_string()),
            ]
            .into(),
            true,
        ),
        _ => (none_parameters(), false),
    }
}

/// The description the release version will have with `parameters`: the template's
/// `Fn::Sub` for it with every `${Name}` replaced (`None` when the template has no release
/// version or a name has no value).
pub fn release_description(
    template: &Value,
    parameters: &BTreeMap<String, String>,
) -> Option<String> {
    let sub = template
        .pointer(&format!(
            "/Resources/{RELEASE_VERSION}/Properties/Description/Fn::Sub"
        ))
        .and_then(Value::as_str)?;
    let mut out = String::new();
    let mut rest = sub;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        out.push_str(parameters.get(&rest[start + 2..end])?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::Release;

    fn published(version: u32, description: &str) -> Published {
        Published {
            version,
            release: Release::parse(description),
            model_version_id: None,
            manifest_version_id: None,
            description: description.into(),
        }
    }

    #[test]
    fn a_gradual_strategy_starts_only_for_another_release_over_a_live_one() {
        let canary = Strategy::parse("canary:10,1m").expect("canary");
        let live = published(3, "irisctl release code a model b config c");
        let (p, starts) = start_parameters(
            &canary,
            Some(&live),
            Some("irisctl release code a model NEW config c"),
        );
        assert!(starts);
        assert_eq!(p[params::FROM], "3");
        assert_eq!(p[params::WEIGHT], "0");
        assert_eq!(p[params::STRATEGY], "canary:10,1m");
        for (strategy, live, new) in [
            (&canary, Some(&live), Some(live.description.as_str())),
            (&canary, None, Some("irisctl release x")),
            (&Strategy::AllAtOnce, Some(&live), Some("irisctl release x")),
        ] {
            let (p, starts) = start_parameters(strategy, live, new);
            assert!(!starts);
            assert_eq!(p, none_parameters());
        }
    }

    #[test]
    fn the_state_comes_from_the_parameters_and_the_alias_weights() {
        let p = |from: &str, weight: &str, strategy: &str| -> BTreeMap<String, String> {
            [
                (params::FROM.to_owned(), from.to_owned()),
                (params::WEIGHT.to_owned(), weight.to_owned()),
                (params::STRATEGY.to_owned(), strategy.to_owned()),
            ]
            .into()
        };
        let w: BTreeMap<String, f64> = [("5".to_string(), 0.1)].into();
        assert_eq!(State::of(&p("", "0", ""), &BTreeMap::new()), State::None);
        assert_eq!(State::of(&BTreeMap::new(), &BTreeMap::new()), State::None);
        assert_eq!(
            State::of(&p("4", "0.1", "canary:10,5m"), &w),
            State::Running {
                from: 4,
                to: Some(5),
                weight: 0.1,
                strategy: "canary:10,5m".into()
            }
        );
        assert_eq!(
            State::of(&p("4", "0", ""), &[("5".to_string(), 0.0)].into()),
            State::HeldBack {
                from: 4,
                to: Some(5)
            }
        );
    }

    #[test]
    fn the_release_description_is_the_template_sub_with_the_values() {
        let doc = serde_json::json!({"Resources": {"ReleaseVersion": {"Properties": {"Description": {
            "Fn::Sub": "irisctl release code ${LambdaCodeSha256} model ${ModelSha256} config ab12"}}}}});
        let values: BTreeMap<String, String> = [
            ("LambdaCodeSha256".to_string(), "c".repeat(64)),
            ("ModelSha256".to_string(), "m".repeat(64)),
        ]
        .into();
        assert_eq!(
            release_description(&doc, &values).as_deref(),
            Some(
                format!(
                    "irisctl release code {} model {} config ab12",
                    "c".repeat(64),
                    "m".repeat(64)
                )
                .as_str()
            )
        );
        assert_eq!(release_description(&doc, &BTreeMap::new()), None);
        assert_eq!(release_description(&serde_json::json!({}), &values), None);
    }

    #[test]
    fn weights_are_written_without_float_noise() {
        assert_eq!(weight_text(0.1), "0.1");
        assert_eq!(weight_text(0.3), "0.3");
        assert_eq!(weight_text(0.30000000000000004), "0.3");
        assert_eq!(weight_text(1.0), "1");
        assert_eq!(weight_text(0.0), "0");
    }
}
