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
use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
use aws_sdk_s3::operation::put_bucket_logging::PutBucketLoggingOutput;
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

/// One DELETE_FAILED of the storage stack on BucketNotEmpty as DescribeStackEvents lists
/// it (newest first): the stack's failure naming the bucket, the bucket's own failure, the
/// delete starting (event ids `e{n+3}` down to `e{n+1}`), then `before`, the stack's
/// earlier event.
fn bucket_not_empty_delete(n: usize, before: StackEvent) -> Vec<StackEvent> {
    vec![
        event(
            &format!("e{}", n + 3),
            "iris-dev-storage",
            "AWS::CloudFormation::Stack",
            ResourceStatus::DeleteFailed,
            Some("The following resource(s) failed to delete: [ModelBucket]. "),
        ),
        event(
            &format!("e{}", n + 2),
            "ModelBucket",
            "AWS::S3::Bucket",
            ResourceStatus::DeleteFailed,
            Some(BUCKET_NOT_EMPTY),
        ),
        event(
            &format!("e{}", n + 1),
            "iris-dev-storage",
            "AWS::CloudFormation::Stack",
            ResourceStatus::DeleteInProgress,
            None,
        ),
        before,
    ]
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

/// PutBucketLogging with an empty status (access logging off) answers 200 with no body.
fn logging_rule() -> Rule {
    mock!(aws_sdk_s3::Client::put_bucket_logging)
        .match_requests(|r| {
            r.bucket_logging_status()
                .is_some_and(|s| s.logging_enabled().is_none())
        })
        .then_output(|| PutBucketLoggingOutput::builder().build())
}

/// DeleteObject of the lock with `If-Match` on its entity tag (the release): 204.
fn release_rule() -> Rule {
    mock!(aws_sdk_s3::Client::delete_object)
        .match_requests(|r| r.key() == Some("locks/dev.json") && r.if_match() == Some("\"lock\""))
        .then_output(|| DeleteObjectOutput::builder().build())
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
        .repeatedly()
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
    // Run 1: the stack delete ends DELETE_FAILED because S3 refused the bucket, and so
    // does the one retry after emptying again.
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
            events(bucket_not_empty_delete(
                0,
                event(
                    "e0",
                    "iris-dev-storage",
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::CreateComplete,
                    None,
                ),
            ))
        })
        .output(|| {
            events(bucket_not_empty_delete(
                0,
                event(
                    "e0",
                    "iris-dev-storage",
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::CreateComplete,
                    None,
                ),
            ))
        })
        .output(|| {
            events(bucket_not_empty_delete(
                3,
                event(
                    "e3",
                    "iris-dev-storage",
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::DeleteFailed,
                    None,
                ),
            ))
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
    let (logging, release) = (logging_rule(), release_rule());
    let s3 = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&put, &list, &del, &logging, &release]
    );
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
    assert_eq!(
        delete.num_calls(),
        2,
        "deleted, emptied again, retried once"
    );
    assert_eq!(
        del.num_calls(),
        1,
        "the only object was deleted by the first emptying"
    );
    assert!(
        list.num_calls() >= 3,
        "the bucket was listed again before the retry"
    );

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
    let (logging, release) = (logging_rule(), release_rule());
    let s3 = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&put, &list, &del, &logging, &release]
    );
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
    let (logging, release) = (logging_rule(), release_rule());
    let s3 = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&put, &list, &del, &logging, &release]
    );
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
    let (logging, release) = (logging_rule(), release_rule());
    let s3 = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&put, &list, &del, &logging, &release]
    );
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

/// S3 access logs arrive late: the log bucket receives records of the emptying requests
/// after it was emptied, CloudFormation's DeleteBucket gets S3's 409 BucketNotEmpty and
/// the storage stack ends DELETE_FAILED. Destroy turned the model bucket's access
/// logging off before emptying, kept its own lock object through the emptying, released
/// it in the final emptying pass before DeleteStack (so CloudFormation never meets the
/// lock), and on BucketNotEmpty empties again and retries once: one destroy run
/// completes.
#[tokio::test]
async fn a_late_access_log_is_emptied_again_and_the_delete_retried_once() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let storage_with_log_bucket = |status: StackStatus| {
        let mut out = storage(status, false);
        if let Some(stacks) = out.stacks.as_mut() {
            stacks[0].outputs.get_or_insert_with(Vec::new).push(
                Output::builder()
                    .output_key("LogBucketName")
                    .output_value("iris-dev-logs")
                    .build(),
            );
        }
        out
    };
    let describe = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .match_requests(|r| {
            r.stack_name()
                .is_some_and(|n| n == "iris-dev-storage" || n == ID)
        })
        .sequence()
        .output(move || storage_with_log_bucket(StackStatus::CreateComplete))
        .output(move || storage_with_log_bucket(StackStatus::DeleteFailed))
        .output(move || storage_with_log_bucket(StackStatus::DeleteFailed))
        .output(move || storage_with_log_bucket(StackStatus::DeleteComplete))
        .repeatedly()
        .build();
    let failed = || {
        events(vec![
            event(
                "e3",
                "iris-dev-storage",
                "AWS::CloudFormation::Stack",
                ResourceStatus::DeleteFailed,
                Some("The following resource(s) failed to delete: [LogBucket]. "),
            ),
            event(
                "e2",
                "LogBucket",
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
        ])
    };
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
        .output(failed)
        .output(failed)
        .output(|| {
            events(vec![event(
                "e4",
                "iris-dev-storage",
                "AWS::CloudFormation::Stack",
                ResourceStatus::DeleteComplete,
                None,
            )])
        })
        .repeatedly()
        .build();
    let delete_calls = Arc::new(AtomicUsize::new(0));
    let delete = mock!(aws_sdk_cloudformation::Client::delete_stack).then_output({
        let delete_calls = delete_calls.clone();
        move || {
            delete_calls.fetch_add(1, Ordering::SeqCst);
            DeleteStackOutput::builder().build()
        }
    });
    let absent = absent_rules();
    let mut rules: Vec<&Rule> = vec![&describe, &stack_events, &delete];
    rules.extend(absent.iter());
    let cfn = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, rules);

    let logging_off = Arc::new(AtomicBool::new(false));
    let put = mock!(aws_sdk_s3::Client::put_object)
        .then_output(|| PutObjectOutput::builder().e_tag("\"lock\"").build());
    let logging = mock!(aws_sdk_s3::Client::put_bucket_logging)
        .match_requests(|r| {
            r.bucket() == Some("iris-dev-models")
                && r.bucket_logging_status()
                    .is_some_and(|s| s.logging_enabled().is_none())
        })
        .then_output({
            let logging_off = logging_off.clone();
            move || {
                logging_off.store(true, Ordering::SeqCst);
                PutBucketLoggingOutput::builder().build()
            }
        });
    // Listing only after logging is off (an unmatched request fails the test). The
    // model bucket holds a model and the lock; the log bucket gets a late record.
    let list_models = mock!(aws_sdk_s3::Client::list_object_versions)
        .match_requests({
            let logging_off = logging_off.clone();
            move |r| r.bucket() == Some("iris-dev-models") && logging_off.load(Ordering::SeqCst)
        })
        .sequence()
        .output(|| {
            ListObjectVersionsOutput::builder()
                .versions(
                    ObjectVersion::builder()
                        .key("models/x/model.bin")
                        .version_id("v1")
                        .build(),
                )
                .versions(ObjectVersion::builder().key("locks/dev.json").build())
                .build()
        })
        .output(|| {
            ListObjectVersionsOutput::builder()
                .versions(ObjectVersion::builder().key("locks/dev.json").build())
                .build()
        })
        .output(|| ListObjectVersionsOutput::builder().build())
        .repeatedly()
        .build();
    let list_logs = mock!(aws_sdk_s3::Client::list_object_versions)
        .match_requests(|r| r.bucket() == Some("iris-dev-logs"))
        .sequence()
        // The emptying under the lock, then the final pass: empty both times. The
        // record arrives while CloudFormation deletes the stack.
        .output(|| ListObjectVersionsOutput::builder().build())
        .output(|| ListObjectVersionsOutput::builder().build())
        .output(|| {
            ListObjectVersionsOutput::builder()
                .versions(
                    ObjectVersion::builder()
                        .key("access/2026-12-01-23-00-00-LATE")
                        .version_id("late")
                        .build(),
                )
                .build()
        })
        .output(|| ListObjectVersionsOutput::builder().build())
        .repeatedly()
        .build();
    let deleted_keys = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let del = mock!(aws_sdk_s3::Client::delete_objects)
        .match_requests({
            let deleted_keys = deleted_keys.clone();
            move |r| {
                if let (Ok(mut keys), Some(d)) = (deleted_keys.lock(), r.delete()) {
                    keys.extend(d.objects().iter().map(|o| o.key().to_owned()));
                }
                true
            }
        })
        .then_output(|| DeleteObjectsOutput::builder().build());
    let release = mock!(aws_sdk_s3::Client::delete_object)
        .match_requests({
            let delete_calls = delete_calls.clone();
            move |r| {
                r.key() == Some("locks/dev.json")
                    && r.if_match() == Some("\"lock\"")
                    && delete_calls.load(Ordering::SeqCst) == 0
            }
        })
        .then_output(|| DeleteObjectOutput::builder().build());
    let s3 = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&put, &logging, &list_models, &list_logs, &del, &release]
    );
    let mut report = DestroyReport::default();
    destroyer(cfn, s3)
        .destroy(&target(false), &mut report)
        .await
        .expect("one destroy run completes");
    assert_eq!(report.outcome, "destroyed");
    assert_eq!(logging.num_calls(), 1, "access logging turned off once");
    assert_eq!(delete.num_calls(), 2, "the delete was retried exactly once");
    assert_eq!(
        release.num_calls(),
        1,
        "the lock was released once, before the first DeleteStack"
    );
    let keys = deleted_keys.lock().expect("keys").clone();
    assert!(
        keys.contains(&"access/2026-12-01-23-00-00-LATE".to_owned()),
        "{keys:?}"
    );
    assert!(keys.contains(&"models/x/model.bin".to_owned()), "{keys:?}");
    assert!(
        !keys.contains(&"locks/dev.json".to_owned()),
        "the held lock is not emptied away: {keys:?}"
    );
}
