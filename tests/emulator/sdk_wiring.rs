//! The wiring irisctl stands on, proven with the real SDK clients against the emulators:
//! versioned S3 objects with SHA-256 checksums, the conditional put the env lock relies
//! on, a CloudFormation stack's life cycle with outputs, an ECR image manifest on moto, and
//! a stack with a Lambda function (which needs the harness's LocalStack patch).
//!
//! Run with the emulators: `scripts/test`, or `scripts/emulator start && eval
//! "$(scripts/emulator env)" && cargo test --test emulator -- --include-ignored sdk_wiring`.

use crate::support;

use std::io::Write;
use std::time::Duration;

use crate::support::{Cleanup, Resource, emulators, settled_stack, unique_name};
use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus};
use aws_sdk_ecr::types::{ImageIdentifier, ImageTagMutability};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, ChecksumAlgorithm, ChecksumMode, VersioningConfiguration,
};
use base64::Engine;
use sha2::{Digest, Sha256};

const STACK_TIMEOUT: Duration = Duration::from_secs(180);

fn sha256_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn versioned_bucket(aws: &support::Aws, cleanup: &mut Cleanup, test: &str) -> String {
    let bucket = unique_name(test);
    cleanup.add(Resource::Bucket(bucket.clone()));
    aws.s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    aws.s3
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("enable versioning");
    bucket
}

async fn version_count(aws: &support::Aws, bucket: &str, key: &str) -> usize {
    aws.s3
        .list_object_versions()
        .bucket(bucket)
        .prefix(key)
        .send()
        .await
        .expect("list versions")
        .versions()
        .len()
}

#[test]
fn unique_names_are_valid_and_distinct() {
    let long = "a_Very::Long test NAME that goes on and on and on and on and on and on";
    let names = [unique_name("x"), unique_name("x"), unique_name(long)];
    assert_ne!(names[0], names[1]);
    for name in &names {
        assert!(name.len() <= 63, "{name} is too long for a bucket name");
        assert!(name.starts_with("it-"), "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name} has characters S3/ECR refuse"
        );
        assert!(!name.contains("--") && !name.ends_with('-'), "{name}");
    }
}

#[tokio::test]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn s3_versioned_put_with_sha256_checksum_reads_back_version_and_checksum() {
    let aws = emulators().await;
    let mut cleanup = Cleanup::new();
    let bucket = versioned_bucket(&aws, &mut cleanup, "s3-checksum").await;
    let body = b"model bytes v1".to_vec();
    let key = format!("models/{}/model.bin", sha256_hex(&body));

    let put = aws
        .s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(sha256_b64(&body))
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .expect("put with checksum");
    let version = put
        .version_id()
        .expect("a versioned bucket returns a version id");
    assert_ne!(version, "null");
    assert_eq!(put.checksum_sha256(), Some(sha256_b64(&body).as_str()));

    let head = aws
        .s3
        .head_object()
        .bucket(&bucket)
        .key(&key)
        .version_id(version)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("head the version");
    assert_eq!(head.version_id(), Some(version));
    assert_eq!(head.checksum_sha256(), Some(sha256_b64(&body).as_str()));

    // A second version of the same key: the first stays readable by its id.
    let put2 = aws
        .s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .body(ByteStream::from_static(b"model bytes v2"))
        .send()
        .await
        .expect("second put");
    assert_ne!(put2.version_id(), Some(version));
    let got = aws
        .s3
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .version_id(version)
        .send()
        .await
        .expect("get first version");
    let bytes = got.body.collect().await.expect("read body").into_bytes();
    assert_eq!(bytes.as_ref(), body.as_slice());

    cleanup.run(&aws).await.expect("cleanup");
}

#[tokio::test]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn s3_put_with_a_wrong_sha256_checksum_is_rejected_and_stores_nothing() {
    let aws = emulators().await;
    let mut cleanup = Cleanup::new();
    let bucket = versioned_bucket(&aws, &mut cleanup, "s3-bad-checksum").await;
    let err = aws
        .s3
        .put_object()
        .bucket(&bucket)
        .key("corrupt.bin")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(sha256_b64(b"what we meant to send"))
        .body(ByteStream::from_static(b"what arrived instead"))
        .send()
        .await
        .expect_err("S3 must refuse a body that does not match its checksum");
    let code = err.as_service_error().and_then(|e| e.meta().code());
    assert!(
        matches!(
            code,
            Some("BadDigest" | "InvalidRequest" | "XAmzContentChecksumMismatch")
        ),
        "unexpected error: {err:?}"
    );
    assert_eq!(version_count(&aws, &bucket, "corrupt.bin").await, 0);
    cleanup.run(&aws).await.expect("cleanup");
}

#[tokio::test]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn s3_conditional_put_if_none_match_refuses_the_second_writer() {
    let aws = emulators().await;
    let mut cleanup = Cleanup::new();
    let bucket = versioned_bucket(&aws, &mut cleanup, "s3-lock").await;
    let key = "locks/local.json";

    aws.s3
        .put_object()
        .bucket(&bucket)
        .key(key)
        .if_none_match("*")
        .body(ByteStream::from_static(b"{\"owner\":\"first\"}"))
        .send()
        .await
        .expect("the first writer takes the lock");
    let err = aws
        .s3
        .put_object()
        .bucket(&bucket)
        .key(key)
        .if_none_match("*")
        .body(ByteStream::from_static(b"{\"owner\":\"second\"}"))
        .send()
        .await
        .expect_err("the second writer must be refused");
    let status = err.raw_response().map(|r| r.status().as_u16());
    assert_eq!(
        status,
        Some(412),
        "expected 412 Precondition Failed: {err:?}"
    );

    let held = aws
        .s3
        .get_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .expect("read the lock");
    let bytes = held.body.collect().await.expect("read body").into_bytes();
    assert_eq!(bytes.as_ref(), b"{\"owner\":\"first\"}");
    assert_eq!(version_count(&aws, &bucket, key).await, 1);
    cleanup.run(&aws).await.expect("cleanup");
}

#[tokio::test]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn cleanup_removes_a_versioned_bucket_even_when_the_test_panics() {
    let aws = emulators().await;
    let bucket = unique_name("cleanup-on-panic");
    let inside = bucket.clone();
    let failing_test = tokio::spawn(async move {
        let aws = emulators().await;
        let mut cleanup = Cleanup::new();
        cleanup.add(Resource::Bucket(inside.clone()));
        aws.s3
            .create_bucket()
            .bucket(&inside)
            .send()
            .await
            .expect("create bucket");
        aws.s3
            .put_bucket_versioning()
            .bucket(&inside)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("enable versioning");
        for body in [&b"one"[..], b"two"] {
            aws.s3
                .put_object()
                .bucket(&inside)
                .key("k")
                .body(ByteStream::from(body.to_vec()))
                .send()
                .await
                .expect("put");
        }
        aws.s3
            .delete_object()
            .bucket(&inside)
            .key("k")
            .send()
            .await
            .expect("delete marker");
        panic!("a test failing halfway");
    });
    assert!(failing_test.await.is_err_and(|e| e.is_panic()));
    let err = aws
        .s3
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect_err("the bucket, its versions and delete marker must be gone");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));
}

#[tokio::test]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn sts_caller_identity_names_the_emulator_account() {
    let aws = emulators().await;
    let who = irisctl::aws::sts(&aws.config)
        .get_caller_identity()
        .send()
        .await
        .expect("caller identity");
    let account = who.account().expect("an account id");
    assert!(
        account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()),
        "{account} is not a 12-digit account id"
    );
}

const TRIVIAL_TEMPLATE: &str = r#"{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Parameters": { "Greeting": { "Type": "String" } },
  "Resources": { "Topic": { "Type": "AWS::SNS::Topic" } },
  "Outputs": {
    "TopicArn": { "Value": { "Ref": "Topic" } },
    "Echo": { "Value": { "Fn::Sub": "${Greeting} from ${AWS::StackName}" } }
  }
}"#;

#[tokio::test]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn cloudformation_stack_is_created_with_outputs_and_deleted() {
    let aws = emulators().await;
    let mut cleanup = Cleanup::new();
    let stack = unique_name("cfn-trivial");
    cleanup.add(Resource::Stack(stack.clone()));

    aws.cfn
        .create_stack()
        .stack_name(&stack)
        .template_body(TRIVIAL_TEMPLATE)
        .parameters(
            Parameter::builder()
                .parameter_key("Greeting")
                .parameter_value("hello")
                .build(),
        )
        .send()
        .await
        .expect("create stack");
    let created = &settled_stack(&aws.cfn, &stack, STACK_TIMEOUT)
        .await
        .expect("the stack settles");
    assert_eq!(
        created.stack_status(),
        Some(&StackStatus::CreateComplete),
        "{created:?}"
    );
    let output = |key: &str| {
        created
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .map(str::to_owned)
    };
    assert_eq!(output("Echo"), Some(format!("hello from {stack}")));
    let topic = output("TopicArn").expect("TopicArn output");
    assert!(topic.starts_with("arn:aws:sns:us-east-1:"), "{topic}");

    let stack_id = created.stack_id().expect("stack id").to_owned();
    cleanup.run(&aws).await.expect("stack deletes cleanly");
    // Deleted stacks stay describable by id, with their final status.
    let gone = aws
        .cfn
        .describe_stacks()
        .stack_name(&stack_id)
        .send()
        .await
        .expect("describe deleted stack by id");
    assert_eq!(
        gone.stacks().first().and_then(|s| s.stack_status()),
        Some(&StackStatus::DeleteComplete)
    );
}

fn docker_manifest(layer: &[u8]) -> String {
    let config = b"{}";
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{},"digest":"sha256:{}"}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{},"digest":"sha256:{}"}}]}}"#,
        config.len(),
        sha256_hex(config),
        layer.len(),
        sha256_hex(layer)
    )
}

#[tokio::test]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn ecr_image_manifest_is_put_and_described_on_moto() {
    let aws = emulators().await;
    let mut cleanup = Cleanup::new();
    let repo = unique_name("ecr-manifest");
    cleanup.add(Resource::Repository(repo.clone()));
    aws.ecr
        .create_repository()
        .repository_name(&repo)
        .image_tag_mutability(ImageTagMutability::Immutable)
        .send()
        .await
        .expect("create repository");

    let manifest = docker_manifest(b"layer one");
    let put = aws
        .ecr
        .put_image()
        .repository_name(&repo)
        .image_manifest(&manifest)
        .image_tag("v1")
        .send()
        .await
        .expect("put image");
    let digest = put
        .image()
        .and_then(|i| i.image_id())
        .and_then(|id| id.image_digest())
        .expect("image digest")
        .to_owned();
    assert!(digest.starts_with("sha256:"), "{digest}");

    let described = aws
        .ecr
        .describe_images()
        .repository_name(&repo)
        .image_ids(ImageIdentifier::builder().image_tag("v1").build())
        .send()
        .await
        .expect("describe images");
    let detail = described.image_details().first().expect("one image");
    assert_eq!(detail.image_digest(), Some(digest.as_str()));
    assert_eq!(detail.image_tags(), ["v1".to_owned()]);

    let fetched = aws
        .ecr
        .batch_get_image()
        .repository_name(&repo)
        .image_ids(ImageIdentifier::builder().image_digest(&digest).build())
        .send()
        .await
        .expect("batch get image");
    let image = fetched.images().first().expect("the image");
    assert_eq!(image.image_manifest(), Some(manifest.as_str()));

    // The repository is IMMUTABLE: the tag cannot be moved to other content.
    let other = docker_manifest(b"layer two");
    let err = aws
        .ecr
        .put_image()
        .repository_name(&repo)
        .image_manifest(&other)
        .image_tag("v1")
        .send()
        .await
        .expect_err("an immutable tag must not move");
    // AWS answers ImageTagAlreadyExistsException; moto 5.2.5 answers
    // ImageAlreadyExistsException (docs/emulator-gaps.md). Either way the tag stays put.
    assert!(
        err.as_service_error().is_some_and(|e| {
            e.is_image_tag_already_exists_exception() || e.is_image_already_exists_exception()
        }),
        "unexpected error: {err:?}"
    );
    let still = aws
        .ecr
        .batch_get_image()
        .repository_name(&repo)
        .image_ids(ImageIdentifier::builder().image_tag("v1").build())
        .send()
        .await
        .expect("batch get image by tag");
    let manifests: Vec<_> = still.images().iter().map(|i| i.image_manifest()).collect();
    assert_eq!(manifests, [Some(manifest.as_str())]);
    cleanup.run(&aws).await.expect("cleanup");
}

const LAMBDA_TEMPLATE: &str = r#"{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Parameters": {
    "CodeBucket": { "Type": "String" },
    "CodeKey": { "Type": "String" }
  },
  "Resources": {
    "Role": {
      "Type": "AWS::IAM::Role",
      "Properties": {
        "AssumeRolePolicyDocument": {
          "Version": "2012-10-17",
          "Statement": [{ "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" }, "Action": "sts:AssumeRole" }]
        }
      }
    },
    "Function": {
      "Type": "AWS::Lambda::Function",
      "Properties": {
        "Runtime": "provided.al2023",
        "Handler": "bootstrap",
        "Architectures": ["x86_64"],
        "Role": { "Fn::GetAtt": ["Role", "Arn"] },
        "Code": { "S3Bucket": { "Ref": "CodeBucket" }, "S3Key": { "Ref": "CodeKey" } }
      }
    }
  },
  "Outputs": {
    "FunctionName": { "Value": { "Ref": "Function" } },
    "FunctionArn": { "Value": { "Fn::GetAtt": ["Function", "Arn"] } }
  }
}"#;

fn tiny_lambda_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options).expect("zip entry");
    zip.write_all(b"#!/bin/sh\necho not run on the emulator\n")
        .expect("zip write");
    zip.finish().expect("zip finish").into_inner()
}

async fn create_lambda_stack(
    aws: &support::Aws,
    stack: &str,
    bucket: &str,
    key: &str,
) -> aws_sdk_cloudformation::operation::create_stack::CreateStackOutput {
    let param = |k: &str, v: &str| {
        Parameter::builder()
            .parameter_key(k)
            .parameter_value(v)
            .build()
    };
    aws.cfn
        .create_stack()
        .stack_name(stack)
        .template_body(LAMBDA_TEMPLATE)
        .capabilities(Capability::CapabilityIam)
        .parameters(param("CodeBucket", bucket))
        .parameters(param("CodeKey", key))
        .send()
        .await
        .expect("create stack")
}

#[tokio::test]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn lambda_stack_reaches_create_complete_without_docker_and_deletes() {
    let aws = emulators().await;
    let mut cleanup = Cleanup::new();
    let bucket = versioned_bucket(&aws, &mut cleanup, "lambda-code").await;
    let code = tiny_lambda_zip();
    let key = format!("lambda/{}.zip", sha256_hex(&code));
    aws.s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .body(ByteStream::from(code))
        .send()
        .await
        .expect("upload code");

    let stack = unique_name("lambda-stack");
    cleanup.add(Resource::Stack(stack.clone()));
    create_lambda_stack(&aws, &stack, &bucket, &key).await;
    let created = &settled_stack(&aws.cfn, &stack, STACK_TIMEOUT)
        .await
        .expect("the stack settles");
    assert_eq!(
        created.stack_status(),
        Some(&StackStatus::CreateComplete),
        "the Lambda stack did not reach CREATE_COMPLETE (is the harness patch active?): {created:?}"
    );
    let arn = created
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some("FunctionArn"))
        .and_then(|o| o.output_value())
        .expect("FunctionArn output");
    assert!(arn.starts_with("arn:aws:lambda:us-east-1:"), "{arn}");

    cleanup
        .run(&aws)
        .await
        .expect("stack and bucket delete cleanly");
}

#[tokio::test]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn lambda_stack_with_missing_code_fails_with_the_function_as_cause() {
    let aws = emulators().await;
    let mut cleanup = Cleanup::new();
    let bucket = versioned_bucket(&aws, &mut cleanup, "lambda-nocode").await;
    let stack = unique_name("lambda-nocode");
    cleanup.add(Resource::Stack(stack.clone()));
    create_lambda_stack(&aws, &stack, &bucket, "lambda/missing.zip").await;

    let settled = settled_stack(&aws.cfn, &stack, STACK_TIMEOUT)
        .await
        .expect("the stack settles");
    let status = settled.stack_status();
    assert!(
        matches!(
            status,
            Some(StackStatus::CreateFailed | StackStatus::RollbackComplete)
        ),
        "a Lambda without its code must not be created; final state {status:?}"
    );
    let events = aws
        .cfn
        .describe_stack_events()
        .stack_name(&stack)
        .send()
        .await
        .expect("stack events");
    let failed_function = events.stack_events().iter().any(|e| {
        e.logical_resource_id() == Some("Function")
            && e.resource_status()
                .is_some_and(|s| s.as_str() == "CREATE_FAILED")
    });
    assert!(
        failed_function,
        "no CREATE_FAILED event for Function: {:?}",
        events.stack_events()
    );
    cleanup.run(&aws).await.expect("cleanup");
}
