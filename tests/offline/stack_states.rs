//! Stack states no emulator reaches, driven through irisctl's deploy and recover code by
//! scripted CloudFormation responses (the official aws-smithy-mocks crate). The responses
//! copy the shapes AWS documents: DescribeStacks' "Stack with id X does not exist"
//! ValidationError, the FAILED change set reason "The submitted information didn't contain
//! changes...", the Throttling error of the query protocol, and the event sequences of a
//! failed create and of UPDATE_ROLLBACK_FAILED.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::continue_update_rollback::ContinueUpdateRollbackOutput;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::create_stack::CreateStackOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::{
    ChangeSetStatus, ExecutionStatus, Output, ResourceStatus, Stack, StackEvent, StackStatus,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use irisctl::aws::cloudformation::Cfn;
use irisctl::config::Config;
use irisctl::deploy::{Deployer, Options, Target};
use irisctl::exit::Refusal;
use irisctl::naming::StackKind;
use irisctl::render::{self, RenderedStack};
use irisctl::stack::{StackFailed, Stacks};
use irisctl::ui::{Approval, Ui};

const ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/iris-dev-storage/1a2b3c";

fn config(env: &str) -> Config {
    Config::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("environments"),
        env,
    )
    .expect("env loads")
}

fn storage(config: &Config) -> RenderedStack {
    render::render_env(config)
        .expect("renders")
        .into_iter()
        .find(|s| s.kind == StackKind::Storage)
        .expect("storage stack")
}

fn stack(name: &str, status: &str, protected: bool) -> Stack {
    Stack::builder()
        .stack_name(name)
        .stack_id(ID)
        .stack_status(StackStatus::from(status))
        .creation_time(DateTime::from_secs(1_764_000_000))
        .enable_termination_protection(protected)
        .outputs(
            Output::builder()
                .output_key("ModelBucketName")
                .output_value("iris-dev-models-123456789012-us-east-1")
                .build(),
        )
        .build()
}

fn described(name: &str, status: &str, protected: bool) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(stack(name, status, protected))
        .build()
}

/// AWS's answer to DescribeStacks on a name with no live stack (query protocol XML).
fn does_not_exist(name: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error>\
         <Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id {name} does not \
         exist</Message></Error><RequestId>5ccc7dcd-744c-11e5-be70-example</RequestId></ErrorResponse>"
    )
}

const THROTTLED: &str = "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
    <Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>\
    <RequestId>5ccc7dcd-744c-11e5-be70-example</RequestId></ErrorResponse>";

/// Events newest first, as DescribeStackEvents lists them; `(logical id, type, status,
/// reason)` oldest first.
fn events(stack: &str, oldest_first: &[(&str, &str, &str, &str)]) -> DescribeStackEventsOutput {
    let mut list: Vec<StackEvent> = oldest_first
        .iter()
        .enumerate()
        .map(|(i, (logical, ty, status, reason))| {
            let mut b = StackEvent::builder()
                .stack_id(ID)
                .stack_name(stack)
                .event_id(format!("{logical}-{status}-{i}"))
                .logical_resource_id(*logical)
                .resource_type(*ty)
                .resource_status(ResourceStatus::from(*status))
                .timestamp(DateTime::from_millis(1_764_000_000_000 + i as i64 * 1000));
            if !reason.is_empty() {
                b = b.resource_status_reason(*reason);
            }
            b.build()
        })
        .collect();
    list.reverse();
    DescribeStackEventsOutput::builder()
        .set_stack_events(Some(list))
        .build()
}

fn deployer(cfn: Client, yes: bool) -> Deployer<'static> {
    static NEVER: fn(&str) -> bool = |_| false;
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, Vec::<&Rule>::new());
    Deployer {
        stacks: Stacks {
            cfn: Cfn::new(cfn),
            ui: Ui { tty: false },
            timeout: Duration::from_secs(60),
        },
        s3,
        ecr: mock_client!(aws_sdk_ecr, RuleMode::MatchAny, Vec::<&Rule>::new()),
        lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, Vec::<&Rule>::new()),
        approval: Approval {
            yes,
            can_prompt: false,
            confirm: &NEVER,
        },
        opts: Options {
            allow_replace: Vec::new(),
            lock_timeout: Duration::from_secs(5),
            owner: "test".into(),
            strategy: irisctl::rollout::Strategy::AllAtOnce,
        },
    }
}

fn target(config: &Config) -> Target<'_> {
    Target {
        config,
        stacks: render::render_env(config).expect("renders"),
        tags: BTreeMap::new(),
    }
}

#[tokio::test]
async fn rollback_complete_is_deleted_and_recreated_in_an_unprotected_env() {
    let config = config("dev");
    let rendered = storage(&config);
    let name = rendered.name.clone();
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output({
            let n = name.clone();
            move || described(&n, "ROLLBACK_COMPLETE", false)
        })
        .output({
            let n = name.clone();
            move || described(&n, "DELETE_COMPLETE", false)
        })
        .http_status(400, Some(does_not_exist(&name)))
        .output({
            let n = name.clone();
            move || described(&n, "CREATE_COMPLETE", false)
        })
        .repeatedly()
        .build();
    let n = name.clone();
    let history = mock!(Client::describe_stack_events).then_output(move || {
        events(
            &n,
            &[(
                n.as_str(),
                "AWS::CloudFormation::Stack",
                "CREATE_COMPLETE",
                "",
            )],
        )
    });
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let create = mock!(Client::create_stack)
        .match_requests(|req| {
            req.capabilities()
                .iter()
                .any(|c| c.as_str() == "CAPABILITY_IAM")
        })
        .then_output(|| CreateStackOutput::builder().stack_id(ID).build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &history, &delete, &create]
    );
    let r = deployer(cfn, false);
    let (result, stack) = r
        .reconcile_stack(&target(&config), &rendered, &BTreeMap::new())
        .await
        .expect("recreated");
    assert_eq!(result.result, "recreated");
    assert_eq!(stack.status, "CREATE_COMPLETE");
    assert_eq!(delete.num_calls(), 1, "the failed stack was deleted");
    assert_eq!(create.num_calls(), 1, "and created again");
}

#[tokio::test]
async fn rollback_complete_in_a_protected_env_is_refused_without_deleting() {
    let config = config("prod");
    let rendered = storage(&config);
    let n = rendered.name.clone();
    let describe = mock!(Client::describe_stacks)
        .then_output(move || described(&n, "ROLLBACK_COMPLETE", true));
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &delete]
    );
    let err = deployer(cfn, true)
        .reconcile_stack(&target(&config), &rendered, &BTreeMap::new())
        .await
        .expect_err("refused");
    let refusal = err
        .downcast_ref::<Refusal>()
        .expect("a safety-gate refusal");
    let text = refusal.to_string();
    assert!(
        text.contains("--no-enable-termination-protection"),
        "{text}"
    );
    assert!(
        text.contains(&format!("delete-stack --stack-name {}", rendered.name)),
        "{text}"
    );
    assert!(text.ends_with("irisctl deploy --env prod"), "{text}");
    assert_eq!(delete.num_calls(), 0, "nothing was deleted");
}

#[tokio::test]
async fn a_new_stack_in_a_protected_env_gets_termination_protection() {
    let config = config("prod");
    let rendered = storage(&config);
    let name = rendered.name.clone();
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(does_not_exist(&name)))
        .output({
            let n = name.clone();
            move || described(&n, "CREATE_COMPLETE", false)
        })
        .repeatedly()
        .build();
    let n = name.clone();
    let history = mock!(Client::describe_stack_events).then_output(move || {
        events(
            &n,
            &[
                (
                    n.as_str(),
                    "AWS::CloudFormation::Stack",
                    "CREATE_IN_PROGRESS",
                    "User Initiated",
                ),
                (
                    n.as_str(),
                    "AWS::CloudFormation::Stack",
                    "CREATE_COMPLETE",
                    "",
                ),
            ],
        )
    });
    let create = mock!(Client::create_stack)
        .then_output(|| CreateStackOutput::builder().stack_id(ID).build());
    let n = name.clone();
    let protect = mock!(Client::update_termination_protection)
        .match_requests(move |req| {
            req.enable_termination_protection() == Some(true) && req.stack_name() == Some(&n)
        })
        .then_output(|| {
            UpdateTerminationProtectionOutput::builder()
                .stack_id(ID)
                .build()
        });
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &history, &create, &protect]
    );
    let (result, _) = deployer(cfn, true)
        .reconcile_stack(&target(&config), &rendered, &BTreeMap::new())
        .await
        .expect("created");
    assert_eq!(result.result, "created");
    assert_eq!(
        protect.num_calls(),
        1,
        "termination protection was turned on"
    );
}

#[tokio::test]
async fn throttled_event_polls_do_not_fail_a_deployment_that_succeeds() {
    let config = config("dev");
    let rendered = storage(&config);
    let name = rendered.name.clone();
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(does_not_exist(&name)))
        .output({
            let n = name.clone();
            move || described(&n, "CREATE_IN_PROGRESS", false)
        })
        .http_status(400, Some(THROTTLED.to_owned()))
        .output({
            let n = name.clone();
            move || described(&n, "CREATE_COMPLETE", false)
        })
        .repeatedly()
        .build();
    let n = name.clone();
    let history = mock!(Client::describe_stack_events)
        .sequence()
        .http_status(400, Some(THROTTLED.to_owned()))
        .times(4)
        .output(move || {
            events(
                &n,
                &[
                    (
                        n.as_str(),
                        "AWS::CloudFormation::Stack",
                        "CREATE_IN_PROGRESS",
                        "",
                    ),
                    ("ModelBucket", "AWS::S3::Bucket", "CREATE_COMPLETE", ""),
                    (
                        n.as_str(),
                        "AWS::CloudFormation::Stack",
                        "CREATE_COMPLETE",
                        "",
                    ),
                ],
            )
        })
        .repeatedly()
        .build();
    let create = mock!(Client::create_stack)
        .then_output(|| CreateStackOutput::builder().stack_id(ID).build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &history, &create]
    );
    let (result, stack) = deployer(cfn, false)
        .reconcile_stack(&target(&config), &rendered, &BTreeMap::new())
        .await
        .expect("a throttled progress call never fails a deployment that succeeded");
    assert_eq!(result.result, "created");
    assert_eq!(stack.status, "CREATE_COMPLETE");
    assert!(
        history.num_calls() >= 5,
        "events were polled again after throttling"
    );
}

#[tokio::test]
async fn a_change_set_that_did_not_contain_changes_is_deleted_and_means_no_changes() {
    let config = config("dev");
    let rendered = storage(&config);
    let n = rendered.name.clone();
    let describe =
        mock!(Client::describe_stacks).then_output(move || described(&n, "UPDATE_COMPLETE", false));
    let create = mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("arn:aws:cloudformation:us-east-1:123456789012:changeSet/irisctl-1/abc")
            .stack_id(ID)
            .build()
    });
    let pending = mock!(Client::describe_change_set)
        .sequence()
        .output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreatePending)
                .execution_status(ExecutionStatus::Unavailable)
                .build()
        })
        .output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::Failed)
                .execution_status(ExecutionStatus::Unavailable)
                .status_reason(
                    "The submitted information didn't contain changes. Submit different \
                     information to create a change set.",
                )
                .build()
        })
        .repeatedly()
        .build();
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let older = mock!(Client::get_template).then_output(|| {
        GetTemplateOutput::builder()
            .template_body("Resources: {}\n")
            .build()
    });
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &create, &pending, &delete, &execute, &older]
    );
    let (result, _) = deployer(cfn, false)
        .reconcile_stack(&target(&config), &rendered, &BTreeMap::new())
        .await
        .expect("no changes is success");
    assert_eq!(result.result, "no_changes");
    assert_eq!(delete.num_calls(), 1, "the empty change set was deleted");
    assert_eq!(execute.num_calls(), 0, "nothing was executed");
}

#[tokio::test]
async fn a_failed_create_reports_its_root_cause_and_final_state() {
    let config = config("dev");
    let rendered = storage(&config);
    let name = rendered.name.clone();
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(does_not_exist(&name)))
        .output({
            let n = name.clone();
            move || described(&n, "ROLLBACK_COMPLETE", false)
        })
        .repeatedly()
        .build();
    let n = name.clone();
    let history = mock!(Client::describe_stack_events).then_output(move || {
        events(
            &n,
            &[
                (n.as_str(), "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
                ("LogBucket", "AWS::S3::Bucket", "CREATE_FAILED", "Resource creation cancelled"),
                (
                    "Key",
                    "AWS::KMS::Key",
                    "CREATE_FAILED",
                    "Resource handler returned message: \"User: arn:aws:sts::123456789012:assumed-role/deployer is not authorized to perform: kms:CreateKey\" (HandlerErrorCode: AccessDenied)",
                ),
                (
                    n.as_str(),
                    "AWS::CloudFormation::Stack",
                    "ROLLBACK_IN_PROGRESS",
                    "The following resource(s) failed to create: [Key, LogBucket]. Rollback requested by user.",
                ),
                (n.as_str(), "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", ""),
            ],
        )
    });
    let create = mock!(Client::create_stack)
        .then_output(|| CreateStackOutput::builder().stack_id(ID).build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &history, &create]
    );
    let err = deployer(cfn, false)
        .reconcile_stack(&target(&config), &rendered, &BTreeMap::new())
        .await
        .expect_err("the create failed");
    let failed = err.downcast_ref::<StackFailed>().expect("a stack failure");
    assert_eq!(failed.status, "ROLLBACK_COMPLETE");
    let cause = failed.root_cause.as_ref().expect("a root cause");
    assert_eq!(cause.logical_id, "Key");
    assert!(cause.reason.contains("kms:CreateKey"), "{}", cause.reason);
    assert!(
        err.to_string()
            .contains("final state ROLLBACK_COMPLETE; root cause: Key")
    );
}

#[tokio::test]
async fn recover_continues_the_rollback_skipping_the_resources_that_failed_it() {
    let config = config("dev");
    let stacks = render::render_env(&config).expect("renders");
    let service = stacks
        .iter()
        .find(|s| s.kind == StackKind::Service)
        .expect("service")
        .name
        .clone();
    let s = service.clone();
    let describe_service = mock!(Client::describe_stacks)
        .match_requests(move |req| {
            req.stack_name() == Some(s.as_str()) || req.stack_name() == Some(ID)
        })
        .sequence()
        .output({
            let n = service.clone();
            move || described(&n, "UPDATE_ROLLBACK_FAILED", false)
        })
        .output({
            let n = service.clone();
            move || described(&n, "UPDATE_ROLLBACK_COMPLETE", false)
        })
        .repeatedly()
        .build();
    let others = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(does_not_exist("other")))
        .repeatedly()
        .build();
    let n = service.clone();
    let history = mock!(Client::describe_stack_events).then_output(move || {
        events(
            &n,
            &[
                (
                    n.as_str(),
                    "AWS::CloudFormation::Stack",
                    "UPDATE_IN_PROGRESS",
                    "User Initiated",
                ),
                (
                    "Function",
                    "AWS::Lambda::Function",
                    "UPDATE_FAILED",
                    "Memory limit exceeded",
                ),
                (
                    n.as_str(),
                    "AWS::CloudFormation::Stack",
                    "UPDATE_ROLLBACK_IN_PROGRESS",
                    "",
                ),
                (
                    "FunctionRole",
                    "AWS::IAM::Role",
                    "UPDATE_FAILED",
                    "Role iris-dev-role was deleted outside CloudFormation",
                ),
                (
                    n.as_str(),
                    "AWS::CloudFormation::Stack",
                    "UPDATE_ROLLBACK_FAILED",
                    "",
                ),
            ],
        )
    });
    let cont = mock!(Client::continue_update_rollback)
        .match_requests(|req| req.resources_to_skip() == ["FunctionRole".to_string()])
        .then_output(|| ContinueUpdateRollbackOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe_service, &others, &history, &cont]
    );
    let deployer = deployer(cfn, true);
    let recovered =
        irisctl::recover::recover(&deployer.stacks, &deployer.approval, &target(&config), &[])
            .await
            .expect("recovered");
    assert_eq!(recovered, [service]);
    assert_eq!(
        cont.num_calls(),
        1,
        "ContinueUpdateRollback skipped exactly the resource whose rollback failed"
    );
}

/// A deployer whose CloudFormation answers one change set that replaces `logical` (of type
/// `ty`), caused by the property `cause` when given (DescribeChangeSet's Details, as AWS
/// lists them), with the rules that count discarding and executing it.
fn replacing(
    rendered: &RenderedStack,
    protected: bool,
    logical: &'static str,
    ty: &'static str,
    cause: Option<&'static str>,
    allow: Vec<String>,
) -> (Deployer<'static>, Rule, Rule) {
    use aws_sdk_cloudformation::types::{
        Change, ChangeAction, ChangeType, Replacement, ResourceChange, ResourceChangeDetail,
        ResourceTargetDefinition,
    };
    let n = rendered.name.clone();
    let describe = mock!(Client::describe_stacks)
        .then_output(move || described(&n, "UPDATE_COMPLETE", protected));
    let create = mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("cs")
            .stack_id(ID)
            .build()
    });
    let computed = mock!(Client::describe_change_set).then_output(move || {
        let mut change = ResourceChange::builder()
            .action(ChangeAction::Modify)
            .logical_resource_id(logical)
            .resource_type(ty)
            .replacement(Replacement::True);
        if let Some(cause) = cause {
            change = change.details(
                ResourceChangeDetail::builder()
                    .target(
                        ResourceTargetDefinition::builder()
                            .attribute(aws_sdk_cloudformation::types::ResourceAttribute::Properties)
                            .name(cause)
                            .build(),
                    )
                    .build(),
            );
        }
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .execution_status(ExecutionStatus::Available)
            .changes(
                Change::builder()
                    .r#type(ChangeType::Resource)
                    .resource_change(change.build())
                    .build(),
            )
            .build()
    });
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let n = rendered.name.clone();
    let history = mock!(Client::describe_stack_events).then_output(move || {
        events(
            &n,
            &[(
                n.as_str(),
                "AWS::CloudFormation::Stack",
                "UPDATE_COMPLETE",
                "",
            )],
        )
    });
    let older = mock!(Client::get_template).then_output(|| {
        GetTemplateOutput::builder()
            .template_body("Resources: {}\n")
            .build()
    });
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &describe, &create, &computed, &delete, &execute, &history, &older
        ]
    );
    let mut r = deployer(cfn, true);
    r.opts.allow_replace = allow;
    (r, delete, execute)
}

#[tokio::test]
async fn replacing_a_stateful_resource_in_a_protected_env_is_refused_unless_allowed() {
    // The data key: stateful, and without a custom name (a name would be refused anyway).
    let config = config("prod");
    let rendered = storage(&config);
    let cfg = &config;
    let (r, delete, execute) = replacing(
        &rendered,
        true,
        "DataKey",
        "AWS::KMS::Key",
        None,
        Vec::new(),
    );
    let err = r
        .reconcile_stack(&target(cfg), &rendered, &BTreeMap::new())
        .await
        .expect_err("refused");
    let text = err
        .downcast_ref::<Refusal>()
        .expect("safety gate")
        .to_string();
    assert!(text.contains("--allow-replace DataKey"), "{text}");
    assert_eq!(execute.num_calls(), 0, "nothing executed");
    assert_eq!(delete.num_calls(), 1, "the change set was discarded");

    // With --allow-replace the gate opens.
    let (r, _, execute) = replacing(
        &rendered,
        true,
        "DataKey",
        "AWS::KMS::Key",
        None,
        vec!["DataKey".into()],
    );
    let (result, _) = r
        .reconcile_stack(&target(cfg), &rendered, &BTreeMap::new())
        .await
        .expect("allowed");
    assert_eq!(result.result, "updated");
    assert_eq!(execute.num_calls(), 1, "executed once allowed");
}

#[tokio::test]
async fn replacing_a_custom_named_resource_under_its_name_is_refused_in_every_env() {
    // CloudFormation: "cannot update a stack when a custom-named resource requires
    // replacing itself". dev is unprotected, and --allow-replace does not open this gate.
    for env in ["dev", "prod"] {
        let config = config(env);
        let rendered = storage(&config);
        let (r, delete, execute) = replacing(
            &rendered,
            env == "prod",
            "ModelBucket",
            "AWS::S3::Bucket",
            Some("ObjectLockEnabled"),
            vec!["ModelBucket".into()],
        );
        let err = r
            .reconcile_stack(&target(&config), &rendered, &BTreeMap::new())
            .await
            .expect_err("refused");
        let text = err
            .downcast_ref::<Refusal>()
            .expect("safety gate")
            .to_string();
        assert!(text.contains("ModelBucket (BucketName)"), "{text}");
        assert!(text.contains("under the same custom name"), "{text}");
        assert!(text.contains(&format!("env `{env}`")), "{text}");
        assert_eq!(execute.num_calls(), 0, "{env}: nothing executed");
        assert_eq!(delete.num_calls(), 1, "{env}: the change set was discarded");
    }
    // A replacement caused by the name itself creates the new bucket under its new name.
    let config = config("dev");
    let rendered = storage(&config);
    let (r, _, execute) = replacing(
        &rendered,
        false,
        "ModelBucket",
        "AWS::S3::Bucket",
        Some("BucketName"),
        Vec::new(),
    );
    let (result, _) = r
        .reconcile_stack(&target(&config), &rendered, &BTreeMap::new())
        .await
        .expect("a renamed bucket may be replaced");
    assert_eq!(result.result, "updated");
    assert_eq!(execute.num_calls(), 1);
}

#[tokio::test]
async fn an_identical_template_parameters_and_tags_skip_the_change_set() {
    let config = config("dev");
    let rendered = storage(&config);
    let n = rendered.name.clone();
    let describe =
        mock!(Client::describe_stacks).then_output(move || described(&n, "UPDATE_COMPLETE", false));
    let body = rendered.body.clone();
    let same = mock!(Client::get_template).then_output(move || {
        GetTemplateOutput::builder()
            .template_body(body.clone())
            .build()
    });
    let create = mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("cs")
            .stack_id(ID)
            .build()
    });
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &same, &create]
    );
    let (result, _) = deployer(cfn, false)
        .reconcile_stack(&target(&config), &rendered, &BTreeMap::new())
        .await
        .expect("no changes");
    assert_eq!(result.result, "no_changes");
    assert_eq!(same.num_calls(), 1);
    assert_eq!(create.num_calls(), 0, "no change set was needed");
}

/// The bootstrap stack as DescribeStacks returns it, with its role output.
fn bootstrap_described(name: &str, status: &str) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name(name)
                .stack_id(ID)
                .stack_status(StackStatus::from(status))
                .creation_time(DateTime::from_secs(1_764_000_000))
                .outputs(
                    Output::builder()
                        .output_key(render::account::ROLE_OUTPUT)
                        .output_value("arn:aws:iam::123456789012:role/irisctl-account-log")
                        .build(),
                )
                .build(),
        )
        .build()
}

fn bootstrap_stacks(cfn: Client) -> Stacks {
    Stacks {
        cfn: Cfn::new(cfn),
        ui: Ui { tty: false },
        timeout: Duration::from_secs(60),
    }
}

#[tokio::test]
async fn bootstrap_creates_the_account_stack_once_and_then_has_no_changes() {
    let rendered = render::account::render("us-east-1").expect("renders");
    let name = rendered.name.clone();
    // First run: no stack, so a create (with the IAM capability the role needs).
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(does_not_exist(&name)))
        .output({
            let n = name.clone();
            move || bootstrap_described(&n, "CREATE_COMPLETE")
        })
        .repeatedly()
        .build();
    let n = name.clone();
    let history = mock!(Client::describe_stack_events).then_output(move || {
        events(
            &n,
            &[(
                n.as_str(),
                "AWS::CloudFormation::Stack",
                "CREATE_COMPLETE",
                "",
            )],
        )
    });
    let create = mock!(Client::create_stack)
        .match_requests(|req| {
            req.stack_name() == Some("irisctl-account-us-east-1")
                && req
                    .capabilities()
                    .iter()
                    .any(|c| c.as_str() == "CAPABILITY_IAM")
        })
        .then_output(|| CreateStackOutput::builder().stack_id(ID).build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &history, &create]
    );
    let outcome = irisctl::bootstrap::bootstrap(&bootstrap_stacks(cfn), &rendered, "us-east-1")
        .await
        .expect("created");
    assert_eq!(outcome.result, "created");
    assert_eq!(create.num_calls(), 1);
    assert_eq!(
        outcome.cloudwatch_role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/irisctl-account-log")
    );

    // Second run: the stack exists and the change set holds nothing: deleted, not executed.
    let n = name.clone();
    let describe = mock!(Client::describe_stacks)
        .then_output(move || bootstrap_described(&n, "CREATE_COMPLETE"));
    let create_set = mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("cs")
            .stack_id(ID)
            .build()
    });
    let empty = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::Failed)
            .execution_status(ExecutionStatus::Unavailable)
            .status_reason(
                "The submitted information didn't contain changes. Submit different \
                 information to create a change set.",
            )
            .build()
    });
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &create_set, &empty, &delete, &execute]
    );
    let outcome = irisctl::bootstrap::bootstrap(&bootstrap_stacks(cfn), &rendered, "us-east-1")
        .await
        .expect("no changes");
    assert_eq!(outcome.result, "no_changes");
    assert_eq!(execute.num_calls(), 0, "nothing executed");
    assert_eq!(delete.num_calls(), 1, "the empty change set was deleted");
}

#[tokio::test]
async fn bootstrap_refuses_a_state_it_does_not_repair_and_changes_nothing() {
    let rendered = render::account::render("us-east-1").expect("renders");
    let n = rendered.name.clone();
    let describe = mock!(Client::describe_stacks)
        .then_output(move || bootstrap_described(&n, "UPDATE_ROLLBACK_FAILED"));
    let create = mock!(Client::create_stack)
        .then_output(|| CreateStackOutput::builder().stack_id(ID).build());
    let create_set = mock!(Client::create_change_set)
        .then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &create, &create_set, &delete]
    );
    let err = irisctl::bootstrap::bootstrap(&bootstrap_stacks(cfn), &rendered, "us-east-1")
        .await
        .expect_err("refused");
    let text = format!("{err:#}");
    assert!(text.contains("is UPDATE_ROLLBACK_FAILED"), "{text}");
    assert!(
        text.contains("irisctl bootstrap --region us-east-1"),
        "{text}"
    );
    assert_eq!(
        create.num_calls() + create_set.num_calls() + delete.num_calls(),
        0,
        "nothing changed"
    );
}

/// S3's answer to a conditional write that lost (HTTP 412), as the lock's put gets it.
const LOCK_HELD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\
    <Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified \
    did not hold</Message><Condition>If-None-Match</Condition><RequestId>1</RequestId>\
    <HostId>host</HostId></Error>";

/// A deploy waits for the lock a destroy holds. Destroy removes the lock in its final
/// emptying pass and calls DeleteStack right after; the deploy wins the lock in between,
/// describes the storage stack again (its put was contended) and finds it
/// DELETE_IN_PROGRESS: it gives the lock back (its object would keep the bucket from being
/// deleted) and stops before any stack operation.
#[tokio::test]
async fn a_deploy_that_waited_for_a_destroy_gives_the_lock_back_and_changes_nothing() {
    use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
    use aws_sdk_s3::operation::get_object::GetObjectOutput;
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    use aws_sdk_s3::primitives::ByteStream;
    use irisctl::stack::lock::{self, LockRecord, LockSlot};

    let config = config("dev");
    let rendered = render::render_env(&config).expect("renders");
    let name_of = |kind: StackKind| {
        rendered
            .iter()
            .find(|s| s.kind == kind)
            .map(|s| s.name.clone())
            .expect("stack")
    };
    let (storage_name, service_name) = (name_of(StackKind::Storage), name_of(StackKind::Service));
    let storage_described = mock!(Client::describe_stacks)
        .match_requests({
            let n = storage_name.clone();
            move |r| r.stack_name() == Some(n.as_str())
        })
        .sequence()
        .output({
            let n = storage_name.clone();
            move || described(&n, "CREATE_COMPLETE", false)
        })
        .output({
            let n = storage_name.clone();
            move || described(&n, "DELETE_IN_PROGRESS", false)
        })
        .build();
    let service_described = mock!(Client::describe_stacks)
        .match_requests({
            let n = service_name.clone();
            move |r| r.stack_name() == Some(n.as_str())
        })
        .then_output({
            let n = service_name.clone();
            move || described(&n, "CREATE_COMPLETE", false)
        });
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&storage_described, &service_described]
    );

    let put = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|r| r.key() == Some("locks/dev.json") && r.if_none_match() == Some("*"))
        .sequence()
        .http_status(412, Some(LOCK_HELD.into()))
        .output(|| {
            PutObjectOutput::builder()
                .e_tag("\"e-ours\"")
                .version_id("v-ours")
                .build()
        })
        .build();
    let destroying = LockRecord::for_this_process("destroyer", Duration::from_secs(600));
    let destroying = serde_json::to_vec(&destroying).expect("json");
    let get = mock!(aws_sdk_s3::Client::get_object).then_output(move || {
        GetObjectOutput::builder()
            .body(ByteStream::from(destroying.clone()))
            .e_tag("\"e-destroy\"")
            .version_id("v-destroy")
            .build()
    });
    let give_back = mock!(aws_sdk_s3::Client::delete_object)
        .match_requests(|r| r.key() == Some("locks/dev.json") && r.version_id() == Some("v-ours"))
        .then_output(|| DeleteObjectOutput::builder().build());
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put, &get, &give_back]);

    let mut deployer = deployer(cfn, true);
    deployer.s3 = s3;
    let target = target(&config);
    let slot = LockSlot::default();
    let mut report = irisctl::deploy::DeployReport::default();
    let err = deployer
        .deploy(&target, None, &slot, &mut report)
        .await
        .expect_err("the env is being destroyed");
    let text = format!("{err:#}");
    assert!(
        text.contains("was destroyed while this deploy waited for its lock"),
        "{text}"
    );
    assert!(text.contains("DELETE_IN_PROGRESS"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert_eq!(put.num_calls(), 2, "lost to the destroy, then won");
    assert_eq!(give_back.num_calls(), 1, "the lock was given back");
    assert!(!lock::holds(&slot));
    assert!(report.stacks.is_empty(), "no stack was touched");
}
