//! Destroy against scripted AWS answers (aws-smithy-mocks), for what no emulator does:
//! throttling while a bucket is emptied, keys S3 refuses one by one, listings longer than
//! one page, and a repository that does not exist. The answers copy AWS's documented
//! responses (status codes, error codes and messages).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ecr::operation::batch_delete_image::BatchDeleteImageOutput;
use aws_sdk_ecr::operation::list_images::ListImagesOutput;
use aws_sdk_ecr::types::ImageIdentifier;
use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
use aws_sdk_s3::types::{DeleteMarkerEntry, ObjectVersion};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use irisctl::destroy::{bucket, repository};

/// S3's documented throttling answer (HTTP 503).
const SLOW_DOWN: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
    <Message>Please reduce your request rate.</Message><RequestId>4442587FB7D0A2F9</RequestId>\
    <HostId>host</HostId></Error>";
/// S3's answer for a bucket that does not exist (HTTP 404).
const NO_SUCH_BUCKET: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchBucket</Code>\
    <Message>The specified bucket does not exist</Message><BucketName>gone</BucketName>\
    <RequestId>1</RequestId><HostId>host</HostId></Error>";

fn retrying_s3(conf: aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder {
    conf.retry_config(
        aws_sdk_s3::config::retry::RetryConfig::standard()
            .with_max_attempts(4)
            .with_initial_backoff(Duration::from_millis(1)),
    )
}

fn versions(prefix: &str, n: usize) -> Vec<ObjectVersion> {
    (0..n)
        .map(|i| {
            ObjectVersion::builder()
                .key(format!("models/{prefix}/{}", i / 3))
                .version_id(format!("v{i}"))
                .build()
        })
        .collect()
}

fn page(v: Vec<ObjectVersion>, markers: usize, next: Option<&str>) -> ListObjectVersionsOutput {
    let mut b = ListObjectVersionsOutput::builder()
        .set_versions(Some(v))
        .set_delete_markers(Some(
            (0..markers)
                .map(|i| {
                    DeleteMarkerEntry::builder()
                        .key(format!("models/gone/{i}"))
                        .version_id(format!("dm{i}"))
                        .build()
                })
                .collect(),
        ))
        .is_truncated(next.is_some());
    if let Some(next) = next {
        b = b.next_key_marker(next).next_version_id_marker("vm");
    }
    b.build()
}

#[tokio::test]
async fn a_bucket_longer_than_one_page_is_emptied_in_batches_of_at_most_1000() {
    let list = mock!(aws_sdk_s3::Client::list_object_versions)
        .sequence()
        .output(|| page(versions("a", 1000), 0, Some("k1")))
        .output(|| page(versions("b", 990), 10, Some("k2")))
        .output(|| page(versions("c", 400), 100, None))
        // The second pass finds the bucket empty.
        .output(|| page(Vec::new(), 0, None))
        .build();
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = sizes.clone();
    let delete = mock!(aws_sdk_s3::Client::delete_objects)
        .match_requests(move |req| {
            let n = req.delete().map_or(0, |d| d.objects().len());
            seen.lock().expect("lock").push(n);
            true
        })
        .then_output(|| DeleteObjectsOutput::builder().build());
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&list, &delete]);
    let emptied = bucket::empty(&s3, "iris-local-models")
        .await
        .expect("emptied");
    assert_eq!(emptied.deleted, 2500);
    assert_eq!(emptied.batches, 3);
    assert!(!emptied.missing);
    assert_eq!(*sizes.lock().expect("lock"), [1000, 1000, 500]);
    assert_eq!(list.num_calls(), 4, "three pages, then one confirming pass");
}

#[tokio::test]
async fn throttling_while_emptying_is_retried_and_the_bucket_ends_empty() {
    let list = mock!(aws_sdk_s3::Client::list_object_versions)
        .sequence()
        .http_status(503, Some(SLOW_DOWN.to_owned()))
        .output(|| page(versions("a", 5), 2, None))
        .output(|| page(Vec::new(), 0, None))
        .build();
    let delete = mock!(aws_sdk_s3::Client::delete_objects)
        .sequence()
        .http_status(503, Some(SLOW_DOWN.to_owned()))
        .times(2)
        .output(|| DeleteObjectsOutput::builder().build())
        .build();
    let s3 = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&list, &delete],
        retrying_s3
    );
    let emptied = bucket::empty(&s3, "iris-local-models")
        .await
        .expect("emptied");
    assert_eq!(emptied.deleted, 7);
    assert_eq!(
        delete.num_calls(),
        3,
        "two throttled attempts, then success"
    );
    assert_eq!(list.num_calls(), 3);
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_fails_with_the_code_and_bucket() {
    let list = mock!(aws_sdk_s3::Client::list_object_versions)
        .sequence()
        .http_status(503, Some(SLOW_DOWN.to_owned()))
        .repeatedly()
        .build();
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&list], retrying_s3);
    let err = bucket::empty(&s3, "iris-local-models")
        .await
        .expect_err("throttled for good");
    let text = err.to_string();
    assert!(text.contains("ListObjectVersions"), "{text}");
    assert!(text.contains("iris-local-models"), "{text}");
    assert!(text.contains("reduce your request rate"), "{text}");
    assert_eq!(
        list.num_calls(),
        4,
        "the SDK's standard retries, then the error"
    );
}

#[tokio::test]
async fn keys_s3_keeps_refusing_are_reported_one_by_one() {
    let list = mock!(aws_sdk_s3::Client::list_object_versions)
        .sequence()
        .output(|| page(versions("a", 3), 0, None))
        .output(|| page(versions("a", 1), 0, None))
        .repeatedly()
        .build();
    let refused = || {
        aws_sdk_s3::types::Error::builder()
            .key("models/a/0")
            .version_id("v0")
            .code("AccessDenied")
            .message("Access Denied")
            .build()
    };
    let delete = mock!(aws_sdk_s3::Client::delete_objects)
        .then_output(move || DeleteObjectsOutput::builder().errors(refused()).build());
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&list, &delete]);
    let err = bucket::empty(&s3, "iris-local-models")
        .await
        .expect_err("a key stays");
    let text = err.to_string();
    assert!(
        text.contains("models/a/0 (version v0): AccessDenied"),
        "{text}"
    );
    assert!(text.contains("run the same command again"), "{text}");
    match err {
        bucket::EmptyError::Refused { errors, .. } => assert_eq!(errors.len(), 1),
        other => panic!("expected Refused, got {other:?}"),
    }
}

#[tokio::test]
async fn a_bucket_that_does_not_exist_is_already_empty() {
    let list = mock!(aws_sdk_s3::Client::list_object_versions)
        .sequence()
        .http_status(404, Some(NO_SUCH_BUCKET.to_owned()))
        .build();
    let delete = mock!(aws_sdk_s3::Client::delete_objects)
        .then_output(|| DeleteObjectsOutput::builder().build());
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&list, &delete]);
    let emptied = bucket::empty(&s3, "gone").await.expect("nothing to do");
    assert!(emptied.missing);
    assert_eq!(delete.num_calls(), 0);
}

fn digest_id(i: usize, tag: Option<&str>) -> ImageIdentifier {
    ImageIdentifier::builder()
        .image_digest(format!("sha256:{i:064x}"))
        .set_image_tag(tag.map(str::to_owned))
        .build()
}

#[tokio::test]
async fn a_repository_is_emptied_by_digest_in_batches_of_at_most_100() {
    let list = mock!(aws_sdk_ecr::Client::list_images)
        .sequence()
        .output(|| {
            ListImagesOutput::builder()
                .set_image_ids(Some((0..100).map(|i| digest_id(i, Some("t"))).collect()))
                .next_token("p2")
                .build()
        })
        .output(|| {
            // Image 0 again under a second tag, and 49 untagged images.
            let mut ids = vec![digest_id(0, Some("latest"))];
            ids.extend((100..149).map(|i| digest_id(i, None)));
            ListImagesOutput::builder().set_image_ids(Some(ids)).build()
        })
        .build();
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = sizes.clone();
    let delete = mock!(aws_sdk_ecr::Client::batch_delete_image)
        .match_requests(move |req| {
            seen.lock().expect("lock").push(req.image_ids().len());
            true
        })
        .then_compute_output(|req| {
            BatchDeleteImageOutput::builder()
                .set_image_ids(Some(req.image_ids().to_vec()))
                .build()
        });
    let ecr = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&list, &delete]);
    let emptied = repository::empty(&ecr, "iris-local")
        .await
        .expect("emptied");
    assert_eq!(emptied.deleted, 149);
    assert_eq!(*sizes.lock().expect("lock"), [100, 49]);
}

#[tokio::test]
async fn a_missing_repository_has_nothing_to_empty() {
    let list = mock!(aws_sdk_ecr::Client::list_images).then_error(|| {
        aws_sdk_ecr::operation::list_images::ListImagesError::RepositoryNotFoundException(
            aws_sdk_ecr::types::error::RepositoryNotFoundException::builder()
                .message(
                    "The repository with name 'iris-local' does not exist in the registry with id '000000000000'",
                )
                .build(),
        )
    });
    let ecr = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&list]);
    let emptied = repository::empty(&ecr, "iris-local")
        .await
        .expect("nothing to do");
    assert!(emptied.missing);
    assert_eq!(emptied.deleted, 0);
}
