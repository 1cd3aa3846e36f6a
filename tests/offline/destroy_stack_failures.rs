//! Destroy through states no emulator reaches, with scripted CloudFormation/S3/ECR answers
//! (aws-smithy-mocks) copying AWS's documented responses: a storage stack whose delete
//! ends DELETE_FAILED with BucketNotEmpty (reported with its root cause; a rerun
//! completes), and termination protection (a clear refusal naming the command to run,
//! before anything is changed).

use std::time::Duration;

use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::{Output, ResourceStatus, Stack, StackEvent, StackStatus};
use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::types::ObjectVersion;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use irisctl::aws::cloudformation::Cfn;
use irisctl::destroy::run::{DestroyReport, Destroyer, Target};
use irisctl::exit::Refusal;
use irisctl::naming::StackKind;
use irisctl::render::RenderedStack;
use irisctl::stack::{StackFailed, Stacks};
use irisctl::ui::Ui;

const ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/iris-dev-storage/1";
/// The reason CloudFormation gives when S3 refuses to delete a non-empty bucket.
const BUCKET_NOT_EMPTY: &str = "The bucket you tried to delete is not empty (Service: S3, \
    Status Code: 409, Request ID: 8A1B2C3D4E5F, Extended Request ID: null)";

fn rendered(kind: StackKind) -> RenderedStack {
    RenderedStack {
        name: format!("iris-dev-{kind}"),
        kind,
        body: "Resources: {}\n".into(),
        parameters_declared: Vec::new(),
    }
}

fn target(protected_confirmed: bool) -> Target {
    Target {
        env: "dev".into(),
        stacks: StackKind::ALL.iter().map(|k| rendered(*k)).collect(),
        retain: false,
        protected_confirmed,
    }
}

fn storage(status: StackStatus, protection: bool) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name("iris-dev-storage")
                .stack_id(ID)
                .creation_time(DateTime::from_secs(1))
                .stack_status(status)
                .enable_termination_protection(protection)
                .outputs(
                    Output::builder()
                        .output_key("ModelBucketName")
                        .output_value("iris-dev-models")
                        .build(),
                )
                .build(),
        )
        .build()
}

/// DescribeStacks on a missing stack: AWS answers 400 ValidationError.
fn missing(name: &str) -> aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError {
    aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError::generic(
        aws_sdk_cloudformation::error::ErrorMetadata::builder()
            .code("ValidationError")
            .message(format!("Stack with id {name} does not exist"))
            .build(),
    )
}

fn event(
    id: &str,
    logical: &str,
    kind: &str,
    status: ResourceStatus,
    reason: Option<&str>,
) -> StackEvent {
    StackEvent::builder()
        .event_id(id)
        .stack_id(ID)
        .stack_name("iris-dev-storage")
        .logical_resource_id(logical)
        .resource_type(kind)
        .timestamp(DateTime::from_secs(100 + id.len() as i64))
        .resource_status(status)
        .set_resource_status_reason(reason.map(str::to_owned))
        .build()
}

fn events(list: Vec<StackEvent>) -> DescribeStackEventsOutput {
    DescribeStackEventsOutput::builder()
        .set_stack_events(Some(list))
        .build()
}

fn absent_rules() -> Vec<Rule> {
    ["iris-dev-auth", "iris-dev-service"]
        .iter()
        .map(|name| {
            let name = name.to_string();
            let matched = name.clone();
            mock!(aws_sdk_cloudformation::Client::describe_stacks)
                .match_requests(move |r| r.stack_name() == Some(matched.as_str()))
                .then_error(move || missing(&name))
        })
        .collect()
}

fn s3_rules() -> (Rule, Rule, Rule) {
    let put = mock!(aws_sdk_s3::Client::put_object)
        .then_output(|| PutObjectOutput::builder().e_tag("\"lock\"").build());
    let list = mock!(aws_sdk_s3::Client::list_object_versions)
        .sequence()
        .output(|| {
            ListObjectVersionsOutput::builder()
                .versions(
                    ObjectVersion::builder()
                        .key("models/x/model.bin")
                        .version_id("v1")
                        .build(),
                )
                .build()
        })
        .output(|| ListObjectVersionsOutput::builder().build())
        .build();
    let delete = mock!(aws_sdk_s3::Client::delete_objects)
        .then_output(|| DeleteObjectsOutput::builder().build());
    (put, list, delete)
}

fn destroyer(cfn: aws_sdk_cloudformation::Client, s3: aws_sdk_s3::Client) -> Destroyer {
    let ecr = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, Vec::<&Rule>::new());
    Destroyer {
        stacks: Stacks {
            cfn: Cfn::new(cfn),
            ui: Ui { tty: false },
            timeout: Duration::from_secs(20),
        },
        s3,
        ecr,
        owner: "test".into(),
        lock_timeout: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn delete_failed_bucket_not_empty_is_reported_and_a_rerun_completes() {
    // Run 1: the stack delete ends DELETE_FAILED because S3 refused the bucket.
    let describe = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(|r| {
            r.stack_name()
                .is_some_and(|n| n == "iris-dev-storage" || n == ID)
        })
        .sequence()
        .output(|| storage(StackStatus::CreateComplete, false))
        .output(|| storage(StackStatus::DeleteFailed, false))
        .repeatedly()
        .build();
    let stack_events = mock!(aws_sdk_cloudformation::Client::describe_stack_events)
        .sequence()
        .output(|| {
            events(vec![event(
                "e0",
                "iris-dev-storage",
                "AWS::CloudFormation::Stack",
                ResourceStatus::CreateComplete,
                None,
            )])
        })
        .output(|| {
            events(vec![
                event(
                    "e3",
                    "iris-dev-storage",
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::DeleteFailed,
                    Some("The following resource(s) failed to delete: [ModelBucket]. "),
                ),
                event(
                    "e2",
                    "ModelBucket",
                    "AWS::S3::Bucket",
                    ResourceStatus::DeleteFailed,
                    Some(BUCKET_NOT_EMPTY),
                ),
                event(
                    "e1",
                    "iris-dev-storage",
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::DeleteInProgress,
                    None,
                ),
                event(
                    "e0",
                    "iris-dev-storage",
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::CreateComplete,
                    None,
                ),
            ])
        })
        .repeatedly()
        .build();
    let delete = mock!(aws_sdk_cloudformation::Client::delete_stack)
        .then_output(|| DeleteStackOutput::builder().build());
    let absent = absent_rules();
    let mut rules: Vec<&Rule> = vec![&describe, &stack_events, &delete];
    rules.extend(absent.iter());
    let cfn = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, rules);
    let (put, list, del) = s3_rules();
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put, &list, &del]);
    let mut report = DestroyReport::default();
    let err = destroyer(cfn, s3)
        .destroy(&target(false), &mut report)
        .await
        .expect_err("DELETE_FAILED");
    let text = format!("{err:#}");
    assert!(text.contains("DELETE_FAILED"), "{text}");
    assert!(text.contains("ModelBucket"), "{text}");
    assert!(text.contains("not empty"), "{text}");
    assert!(text.contains("run the same destroy again"), "{text}");
    let failure = report.failure.expect("failure in the report");
    assert_eq!(failure.status, "DELETE_FAILED");
    assert!(
        err.chain()
            .any(|e| e.downcast_ref::<StackFailed>().is_some())
    );
    assert_eq!(delete.num_calls(), 1);

    // Run 2 (the rerun): the stack is found DELETE_FAILED, the bucket emptied again, and
    // the delete completes.
    let describe = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(|r| {
            r.stack_name()
                .is_some_and(|n| n == "iris-dev-storage" || n == ID)
        })
        .sequence()
        .output(|| storage(StackStatus::DeleteFailed, false))
        .output(|| storage(StackStatus::DeleteComplete, false))
        .repeatedly()
        .build();
    let stack_events = mock!(aws_sdk_cloudformation::Client::describe_stack_events)
        .sequence()
        .output(|| {
            events(vec![event(
                "e3",
                "iris-dev-storage",
                "AWS::CloudFormation::Stack",
                ResourceStatus::DeleteFailed,
                None,
            )])
        })
        .output(|| {
            events(vec![
                event(
                    "e5",
                    "iris-dev-storage",
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::DeleteComplete,
                    None,
                ),
                event(
                    "e4",
                    "ModelBucket",
                    "AWS::S3::Bucket",
                    ResourceStatus::DeleteComplete,
                    None,
                ),
                event(
                    "e3",
                    "iris-dev-storage",
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::DeleteFailed,
                    None,
                ),
            ])
        })
        .repeatedly()
        .build();
    let delete = mock!(aws_sdk_cloudformation::Client::delete_stack)
        .then_output(|| DeleteStackOutput::builder().build());
    let absent = absent_rules();
    let mut rules: Vec<&Rule> = vec![&describe, &stack_events, &delete];
    rules.extend(absent.iter());
    let cfn = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, rules);
    let (put, list, del) = s3_rules();
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put, &list, &del]);
    let mut report = DestroyReport::default();
    destroyer(cfn, s3)
        .destroy(&target(false), &mut report)
        .await
        .expect("the rerun completes");
    assert_eq!(delete.num_calls(), 1);
    assert_eq!(
        del.num_calls(),
        1,
        "the bucket was emptied again before the delete"
    );
    let storage_row = report
        .stacks
        .iter()
        .find(|s| s.stack == "iris-dev-storage")
        .expect("storage row");
    assert_eq!(storage_row.result, "deleted");
    assert_eq!(storage_row.was.as_deref(), Some("DELETE_FAILED"));
}

#[tokio::test]
async fn termination_protection_is_refused_before_anything_changes() {
    let describe = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(|r| r.stack_name() == Some("iris-dev-storage"))
        .then_output(|| storage(StackStatus::CreateComplete, true));
    let delete = mock!(aws_sdk_cloudformation::Client::delete_stack)
        .then_output(|| DeleteStackOutput::builder().build());
    let absent = absent_rules();
    let mut rules: Vec<&Rule> = vec![&describe, &delete];
    rules.extend(absent.iter());
    let cfn = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, rules);
    let (put, list, del) = s3_rules();
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put, &list, &del]);
    let mut report = DestroyReport::default();
    let err = destroyer(cfn, s3)
        .destroy(&target(false), &mut report)
        .await
        .expect_err("refused");
    let refusal = err
        .downcast_ref::<Refusal>()
        .expect("a safety-gate refusal (exit 3)");
    let text = refusal.to_string();
    assert!(text.contains("termination protection"), "{text}");
    assert!(
        text.contains(
            "aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name iris-dev-storage"
        ),
        "{text}"
    );
    assert_eq!(delete.num_calls(), 0, "no stack deleted");
    assert_eq!(put.num_calls(), 0, "no lock taken");
    assert_eq!(list.num_calls() + del.num_calls(), 0, "bucket untouched");
}

/// Destroy's storage stack through the stack layer, described in `states` order (the last
/// one repeats), with one DeleteStack mock. Returns the report and how often DeleteStack
/// was called.
async fn destroy_storage_through(states: Vec<StackStatus>) -> (DestroyReport, usize) {
    let mut describe = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(|r| {
            r.stack_name()
                .is_some_and(|n| n == "iris-dev-storage" || n == ID)
        })
        .sequence();
    for state in states {
        describe = describe.output(move || storage(state.clone(), false));
    }
    let describe = describe.repeatedly().build();
    let stack_events =
        mock!(aws_sdk_cloudformation::Client::describe_stack_events).then_output(|| {
            events(vec![event(
                "e1",
                "iris-dev-storage",
                "AWS::CloudFormation::Stack",
                ResourceStatus::DeleteComplete,
                None,
            )])
        });
    let delete = mock!(aws_sdk_cloudformation::Client::delete_stack)
        .then_output(|| DeleteStackOutput::builder().build());
    let absent = absent_rules();
    let mut rules: Vec<&Rule> = vec![&describe, &stack_events, &delete];
    rules.extend(absent.iter());
    let cfn = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, rules);
    let (put, list, del) = s3_rules();
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put, &list, &del]);
    let mut report = DestroyReport::default();
    destroyer(cfn, s3)
        .destroy(&target(false), &mut report)
        .await
        .expect("the storage stack is gone");
    (report, delete.num_calls())
}

#[tokio::test]
async fn a_delete_already_running_is_waited_for_not_started_again() {
    let (report, deletes) = destroy_storage_through(vec![
        StackStatus::DeleteInProgress,
        StackStatus::DeleteComplete,
    ])
    .await;
    assert_eq!(
        deletes, 0,
        "no second DeleteStack for a delete already running"
    );
    let row = report
        .stacks
        .iter()
        .find(|s| s.stack == "iris-dev-storage")
        .expect("storage row");
    assert_eq!(row.result, "deleted");
    assert_eq!(row.was.as_deref(), Some("DELETE_IN_PROGRESS"));
    assert_eq!(report.outcome, "destroyed");
}

#[tokio::test]
async fn another_operation_settles_before_the_stack_is_deleted() {
    let (report, deletes) = destroy_storage_through(vec![
        StackStatus::UpdateInProgress,
        StackStatus::UpdateComplete,
        StackStatus::DeleteComplete,
    ])
    .await;
    assert_eq!(deletes, 1, "deleted once the update had settled");
    let row = report
        .stacks
        .iter()
        .find(|s| s.stack == "iris-dev-storage")
        .expect("storage row");
    assert_eq!(row.was.as_deref(), Some("UPDATE_IN_PROGRESS"));
    assert_eq!(report.outcome, "destroyed");
}
