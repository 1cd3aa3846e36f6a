//! The env lock against scripted S3 answers (aws-smithy-mocks), checking the exact calls:
//! a versioned bucket's lock is released by deleting the version this run wrote (never a
//! newer one, no delete marker), a contended acquire says so (deploy then describes the
//! storage stack again), an expired holder's version is the one removed on takeover, and
//! an unversioned bucket falls back to `If-Match` on the entity tag. The emulator test in
//! tests/emulator/deploy.rs runs the same code against LocalStack.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use irisctl::aws::s3::Bucket;
use irisctl::stack::lock::{self, LockRecord};

/// S3's answer to a conditional write that lost (HTTP 412).
const PRECONDITION_FAILED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\
    <Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified \
    did not hold</Message><Condition>If-None-Match</Condition><RequestId>1</RequestId>\
    <HostId>host</HostId></Error>";
/// S3's answer to deleting a version that is not there (HTTP 404).
const NO_SUCH_VERSION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\
    <Code>NoSuchVersion</Code><Message>The specified version does not exist.</Message>\
    <RequestId>1</RequestId><HostId>host</HostId></Error>";

const KEY: &str = "locks/dev.json";

fn record(owner: &str, expired: bool) -> LockRecord {
    let mut r = LockRecord::for_this_process(owner, Duration::from_secs(600));
    if expired {
        r.expires_ms = r.acquired_ms - 1;
    }
    r
}

fn quiet(_: &str) {}

/// `dev`'s lock for a fresh record, through `s3`, with no waiting.
async fn acquire(s3: Client) -> lock::HeldLock {
    lock::acquire(
        &Bucket::new(s3, "b"),
        "dev",
        record("me", false),
        Duration::ZERO,
        &quiet,
    )
    .await
    .expect("acquired")
}

#[tokio::test]
async fn an_uncontended_lock_is_released_by_deleting_exactly_its_version() {
    let put = mock!(Client::put_object)
        .match_requests(|r| r.key() == Some(KEY) && r.if_none_match() == Some("*"))
        .then_output(|| {
            PutObjectOutput::builder()
                .e_tag("\"e-ours\"")
                .version_id("v-ours")
                .build()
        });
    let delete = mock!(Client::delete_object)
        .match_requests(|r| r.version_id() == Some("v-ours") && r.if_match().is_none())
        .then_output(|| DeleteObjectOutput::builder().build());
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put, &delete]);
    let held = acquire(s3).await;
    assert!(!held.contended, "won at the first put");
    held.release().await.expect("released");
    assert_eq!((put.num_calls(), delete.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_contended_acquire_says_so_and_removes_only_the_expired_holders_version() {
    let put = mock!(Client::put_object)
        .sequence()
        .http_status(412, Some(PRECONDITION_FAILED.into()))
        .output(|| {
            PutObjectOutput::builder()
                .e_tag("\"e-ours\"")
                .version_id("v-ours")
                .build()
        })
        .build();
    let stale = serde_json::to_vec(&record("dead-run", true)).expect("json");
    let get = mock!(Client::get_object).then_output(move || {
        GetObjectOutput::builder()
            .body(ByteStream::from(stale.clone()))
            .e_tag("\"e-stale\"")
            .version_id("v-stale")
            .build()
    });
    let delete_stale = mock!(Client::delete_object)
        .match_requests(|r| r.version_id() == Some("v-stale"))
        .then_output(|| DeleteObjectOutput::builder().build());
    let delete_ours = mock!(Client::delete_object)
        .match_requests(|r| r.version_id() == Some("v-ours"))
        .then_output(|| DeleteObjectOutput::builder().build());
    let s3 = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&put, &get, &delete_stale, &delete_ours]
    );
    let bucket = Bucket::new(s3, "b");

    let said = std::sync::Mutex::new(Vec::<String>::new());
    let say = |m: &str| said.lock().expect("said").push(m.to_owned());
    let held = lock::acquire(&bucket, "dev", record("me", false), Duration::ZERO, &say)
        .await
        .expect("the expired lock is taken over");
    assert!(held.contended, "the first put lost");
    assert_eq!(delete_stale.num_calls(), 1, "the stale version was removed");
    let said = said.lock().expect("said").join("\n");
    assert!(said.contains("taking over the expired lock"), "{said}");
    assert!(said.contains("dead-run@"), "{said}");
    held.release().await.expect("released");
    assert_eq!(delete_ours.num_calls(), 1);
    assert_eq!(put.num_calls(), 2);
}

#[tokio::test]
async fn releasing_a_version_that_is_already_gone_succeeds() {
    let put = mock!(Client::put_object).then_output(|| {
        PutObjectOutput::builder()
            .e_tag("\"e-ours\"")
            .version_id("v-ours")
            .build()
    });
    let gone = mock!(Client::delete_object)
        .sequence()
        .http_status(404, Some(NO_SUCH_VERSION.into()))
        .build();
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put, &gone]);
    let held = acquire(s3).await;
    held.release()
        .await
        .expect("a taken-over lock's release is not an error");
    assert_eq!(gone.num_calls(), 1);
}

#[tokio::test]
async fn an_unversioned_bucket_releases_with_if_match_on_the_entity_tag() {
    let put = mock!(Client::put_object)
        .then_output(|| PutObjectOutput::builder().e_tag("\"e-ours\"").build());
    let delete = mock!(Client::delete_object)
        .match_requests(|r| r.if_match() == Some("\"e-ours\"") && r.version_id().is_none())
        .then_output(|| DeleteObjectOutput::builder().build());
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put, &delete]);
    let held = acquire(s3).await;
    held.release().await.expect("released");
    assert_eq!(delete.num_calls(), 1);
}
