//! Rollout paths no emulator shows, driven through irisctl's rollout code by scripted AWS
//! answers (aws-smithy-mocks) in the shapes AWS documents:
//! - a version deleted under the rollout: Invoke with its qualifier answers Lambda's
//!   ResourceNotFoundException ("Function not found: arn:...:function:NAME:5"); the
//!   rollout stops before any traffic moves and puts the weight back to 0;
//! - a step's alias update throttled: CloudFormation's update fails with the alias's
//!   UPDATE_FAILED reason "Rate exceeded (Service: Lambda, Status Code: 429, ...)" and
//!   rolls back (UPDATE_ROLLBACK_COMPLETE); the rollout stops, names the cause, and puts
//!   the weight back to 0 with a second update.
//!
//! Each test checks the update that puts the weight back by its request: the change set
//! must carry RolloutFrom (the version rolled out from), RolloutWeight 0 and an empty
//! RolloutStrategy, or no scripted answer matches it and the rollout reports failure.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::create_change_set::{
    CreateChangeSetInput, CreateChangeSetOutput,
};
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeType, ExecutionStatus, Parameter, ResourceChange,
    ResourceStatus, Stack, StackEvent, StackStatus,
};
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::types::{MetricAlarm, StateValue};
use aws_sdk_lambda::operation::invoke::{InvokeError, InvokeOutput};
use aws_sdk_lambda::primitives::Blob;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use iris_model::GoldenRow;
use irisctl::aws::cloudformation::Cfn;
use irisctl::config::Config;
use irisctl::contract::rollout as params;
use irisctl::deploy::{Deployer, Options, Target};
use irisctl::naming::StackKind;
use irisctl::render;
use irisctl::rollout::run::{Rollout, Settings, StoppedBy};
use irisctl::rollout::{Outcome, Strategy};
use irisctl::stack::Stacks;
use irisctl::ui::{Approval, Ui};
use serde_json::json;

const ID: &str = "arn:aws:cloudformation:us-east-1:111122223333:stack/iris-dev-service/1a2b3c";
const FROM: u32 = 4;
const TO: u32 = 5;

fn config() -> Config {
    Config::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("environments"),
        "dev",
    )
    .expect("env loads")
}

fn golden() -> Vec<GoldenRow> {
    vec![GoldenRow {
        features: [5.1, 3.5, 1.4, 0.2],
        label: "setosa".into(),
        species: "setosa".into(),
        probabilities: [("setosa".to_string(), 1.0)].into(),
        is_iris: true,
    }]
}

/// The service stack as DescribeStacks lists it, a rollout from FROM running at `weight`.
fn stack(name: &str, status: &str, weight: &str) -> DescribeStacksOutput {
    let p = |k: &str, v: &str| {
        Parameter::builder()
            .parameter_key(k)
            .parameter_value(v)
            .build()
    };
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name(name)
                .stack_id(ID)
                .stack_status(StackStatus::from(status))
                .creation_time(DateTime::from_secs(1_764_000_000))
                .parameters(p(params::FROM, &FROM.to_string()))
                .parameters(p(params::WEIGHT, weight))
                .parameters(p(params::STRATEGY, "canary:50,1s"))
                .parameters(p("ModelSha256", &"a".repeat(64)))
                .build(),
        )
        .build()
}

/// The deployed template as GetTemplate returns it: the release version and the alias
/// that reads the rollout parameters.
const TEMPLATE: &str = r#"{"Parameters": {"RolloutFrom": {"Type": "String"}, "RolloutWeight": {"Type": "Number"},
  "RolloutStrategy": {"Type": "String"}, "ModelSha256": {"Type": "String"}},
 "Conditions": {"RollingOut": {"Fn::Not": [{"Fn::Equals": [{"Ref": "RolloutFrom"}, ""]}]}},
 "Resources": {
  "ReleaseVersion": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": "f",
     "Description": {"Fn::Sub": "irisctl release code c model ${ModelSha256} config x"}}},
  "LiveAlias": {"Type": "AWS::Lambda::Alias", "Properties": {"FunctionName": "f", "Name": "live",
     "Description": {"Fn::Sub": "rollout ${RolloutStrategy}"},
     "FunctionVersion": {"Fn::If": ["RollingOut", {"Ref": "RolloutFrom"}, {"Fn::GetAtt": ["ReleaseVersion", "Version"]}]},
     "RoutingConfig": {"Fn::If": ["RollingOut", {"AdditionalVersionWeights": [{"FunctionVersion":
        {"Fn::GetAtt": ["ReleaseVersion", "Version"]}, "FunctionWeight": {"Ref": "RolloutWeight"}}]},
        {"Ref": "AWS::NoValue"}]}}}}}"#;

fn parameter<'a>(input: &'a CreateChangeSetInput, key: &str) -> Option<&'a str> {
    input
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some(key))
        .and_then(|p| p.parameter_value())
}

/// The change set that puts all traffic back on FROM.
fn holds_back(input: &CreateChangeSetInput) -> bool {
    parameter(input, params::FROM) == Some(&FROM.to_string())
        && parameter(input, params::WEIGHT) == Some("0")
        && parameter(input, params::STRATEGY) == Some("")
}

fn event(name: &str, i: usize, logical: &str, ty: &str, status: &str, reason: &str) -> StackEvent {
    let mut b = StackEvent::builder()
        .stack_id(ID)
        .stack_name(name)
        .event_id(format!("e{i}"))
        .logical_resource_id(logical)
        .resource_type(ty)
        .resource_status(ResourceStatus::from(status))
        .timestamp(DateTime::from_millis(1_764_000_000_000 + i as i64 * 1000));
    if !reason.is_empty() {
        b = b.resource_status_reason(reason);
    }
    b.build()
}

/// CloudFormation for a stack whose `n`-th executed change set ends as `outcomes[n]`
/// (`UPDATE_COMPLETE`, or `UPDATE_ROLLBACK_COMPLETE` with the alias's failure), and
/// whose change sets are accepted only when `accept` says so. Returns the client and the
/// execute rule (its call count).
fn cloudformation(
    name: &str,
    outcomes: &'static [&'static str],
    accept: fn(&CreateChangeSetInput) -> bool,
) -> (Client, Rule) {
    let executed = Arc::new(AtomicUsize::new(0));
    let n = name.to_owned();
    let e = executed.clone();
    let describe = mock!(Client::describe_stacks).then_output(move || {
        let done = e.load(Ordering::SeqCst);
        let status = if done == 0 {
            "UPDATE_COMPLETE"
        } else {
            outcomes[done - 1]
        };
        stack(&n, status, "0")
    });
    let template = mock!(Client::get_template)
        .then_output(|| GetTemplateOutput::builder().template_body(TEMPLATE).build());
    let create = mock!(Client::create_change_set)
        .match_requests(accept)
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id("cs")
                .stack_id(ID)
                .build()
        });
    let computed = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .execution_status(ExecutionStatus::Available)
            .changes(
                Change::builder()
                    .r#type(ChangeType::Resource)
                    .resource_change(
                        ResourceChange::builder()
                            .action(ChangeAction::Modify)
                            .logical_resource_id("LiveAlias")
                            .resource_type("AWS::Lambda::Alias")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let e = executed.clone();
    let execute = mock!(Client::execute_change_set).then_output(move || {
        e.fetch_add(1, Ordering::SeqCst);
        ExecuteChangeSetOutput::builder().build()
    });
    let n = name.to_owned();
    let e = executed.clone();
    let history = mock!(Client::describe_stack_events).then_output(move || {
        let done = e.load(Ordering::SeqCst);
        let stack_ty = "AWS::CloudFormation::Stack";
        let mut list = vec![event(&n, 0, &n, stack_ty, "UPDATE_COMPLETE", "")];
        for (k, outcome) in outcomes.iter().take(done).enumerate() {
            let base = 10 * (k + 1);
            list.push(event(&n, base, &n, stack_ty, "UPDATE_IN_PROGRESS", "User Initiated"));
            if *outcome == "UPDATE_ROLLBACK_COMPLETE" {
                list.push(event(
                    &n,
                    base + 1,
                    "LiveAlias",
                    "AWS::Lambda::Alias",
                    "UPDATE_FAILED",
                    "Rate exceeded (Service: Lambda, Status Code: 429, Request ID: 1f2e3d4c-example)",
                ));
                list.push(event(&n, base + 2, &n, stack_ty, "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: [LiveAlias]."));
            }
            list.push(event(&n, base + 3, &n, stack_ty, outcome, ""));
        }
        list.reverse();
        DescribeStackEventsOutput::builder().set_stack_events(Some(list)).build()
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &template, &create, &computed, &execute, &history]
    );
    (client, execute)
}

fn target(config: &Config) -> Target<'_> {
    Target {
        config,
        stacks: render::render_env(config).expect("renders"),
        tags: BTreeMap::new(),
    }
}

fn deployer(cfn: Client) -> Deployer<'static> {
    static NEVER: fn(&str) -> bool = |_| false;
    Deployer {
        stacks: Stacks {
            cfn: Cfn::new(cfn),
            ui: Ui { tty: false },
            timeout: Duration::from_secs(60),
        },
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, Vec::<&Rule>::new()),
        ecr: mock_client!(aws_sdk_ecr, RuleMode::MatchAny, Vec::<&Rule>::new()),
        lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, Vec::<&Rule>::new()),
        approval: Approval {
            yes: true,
            can_prompt: false,
            confirm: &NEVER,
        },
        opts: Options {
            allow_replace: Vec::new(),
            lock_timeout: Duration::from_secs(5),
            owner: "test".into(),
            strategy: Strategy::AllAtOnce,
        },
    }
}

fn alarms_ok() -> aws_sdk_cloudwatch::Client {
    let ok = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| {
        DescribeAlarmsOutput::builder()
            .metric_alarms(
                MetricAlarm::builder()
                    .alarm_name("iris-dev-errors")
                    .state_value(StateValue::Ok)
                    .state_reason("Threshold Crossed: no datapoints were received")
                    .build(),
            )
            .build()
    });
    mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&ok])
}

/// The answer of a function that scores every flower as the golden row.
fn predictions(n: usize) -> InvokeOutput {
    let p = json!({"species": "setosa", "probabilities": {"setosa": 1.0}});
    let body = json!({"predictions": vec![p; n]}).to_string();
    InvokeOutput::builder()
        .status_code(200)
        .payload(Blob::new(
            json!({"statusCode": 200, "body": body}).to_string(),
        ))
        .build()
}

fn settings() -> Settings {
    Settings {
        tolerance: 0.05,
        samples: 3,
        max_batch: 10,
    }
}

#[tokio::test]
async fn a_version_deleted_under_the_rollout_stops_it_before_any_traffic_moves() {
    let config = config();
    let name = config.names.stack(StackKind::Service).to_owned();
    let (cfn, execute) = cloudformation(&name, &["UPDATE_COMPLETE"], holds_back);
    let deployer = deployer(cfn);
    let target = target(&config);
    let function = config.names.function.clone();
    let missing = format!(
        "Function not found: arn:aws:lambda:us-east-1:111122223333:function:{function}:{TO}"
    );
    let gone = mock!(aws_sdk_lambda::Client::invoke).then_error(move || {
        InvokeError::ResourceNotFoundException(
            aws_sdk_lambda::types::error::ResourceNotFoundException::builder()
                .message(missing.clone())
                .r#type("User")
                .build(),
        )
    });
    let rollout = Rollout {
        deployer: &deployer,
        target: &target,
        lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&gone]),
        cloudwatch: alarms_ok(),
        function,
        alarms: Ok(vec!["iris-dev-errors".into()]),
        golden: Ok(golden()),
        settings: settings(),
    };
    let strategy = Strategy::parse("canary:50,1s").expect("strategy");
    let report = rollout.run(&strategy, FROM, TO, 0.0).await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:?}");
    assert_eq!(report.stopped_by, Some(StoppedBy::Error));
    let reason = report.reason.as_deref().unwrap_or("");
    assert!(
        reason.contains(&format!("invoking version {TO}")) && reason.contains("Function not found"),
        "{reason}"
    );
    assert!(report.steps.is_empty(), "no traffic moved: {report:?}");
    assert_eq!(execute.num_calls(), 1, "one update: the weight back to 0");
    assert_eq!(report.calls.stack_updates, 1);
    assert_eq!(report.calls.invoke, 1);
}

#[tokio::test]
async fn a_throttled_alias_update_mid_rollout_is_named_and_the_weight_put_back() {
    let config = config();
    let name = config.names.stack(StackKind::Service).to_owned();
    // The step to 0.5 fails; the change set that holds back succeeds.
    let (cfn, execute) = cloudformation(
        &name,
        &["UPDATE_ROLLBACK_COMPLETE", "UPDATE_COMPLETE"],
        |input| holds_back(input) || parameter(input, params::WEIGHT) == Some("0.5"),
    );
    let deployer = deployer(cfn);
    let target = target(&config);
    // Both versions answer as recorded: the golden set's one row, the three sampled inputs.
    let one = mock!(aws_sdk_lambda::Client::invoke)
        .match_requests(|input| {
            input.payload().is_some_and(|p| {
                String::from_utf8_lossy(p.as_ref())
                    .matches("sepal_length")
                    .count()
                    == 1
            })
        })
        .then_output(|| predictions(1));
    let three = mock!(aws_sdk_lambda::Client::invoke).then_output(|| predictions(3));
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&one, &three]);
    let rollout = Rollout {
        deployer: &deployer,
        target: &target,
        lambda,
        cloudwatch: alarms_ok(),
        function: config.names.function.clone(),
        alarms: Ok(vec!["iris-dev-errors".into()]),
        golden: Ok(golden()),
        settings: settings(),
    };
    let strategy = Strategy::parse("canary:50,1s").expect("strategy");
    let report = rollout.run(&strategy, FROM, TO, 0.0).await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:?}");
    assert_eq!(report.stopped_by, Some(StoppedBy::Error));
    let reason = report.reason.as_deref().unwrap_or("");
    assert!(reason.contains("the step to 0.5 failed"), "{reason}");
    assert!(
        reason.contains("Rate exceeded") && reason.contains("LiveAlias"),
        "{reason}"
    );
    assert_eq!(execute.num_calls(), 2, "the failed step and the hold-back");
    assert!(
        report.steps.is_empty(),
        "the failed step is not recorded as done: {report:?}"
    );
    assert_eq!(report.checks.len(), 1, "checked once, before any traffic");
}
