//! End to end on the emulators: deploy a fresh `local-<unique>` env with `irisctl deploy`,
//! write several model versions (overwrites and a delete marker) into its bucket, push an
//! image to its repository on moto, then `irisctl destroy` and check through each service's
//! own API that no stack, bucket, object version or image is left; a second destroy
//! succeeds with "nothing to destroy". Also: without --yes and without a terminal,
//! destroy refuses (exit 3) and changes nothing.
//!
//! Emulator gap: LocalStack's CloudFormation only makes a placeholder for the ECR
//! repository (ECR is served by moto), so the test creates the repository the stack names
//! on moto, as real CloudFormation would have; deleting the stack cannot delete it there,
//! so the test removes the (by then empty) repository itself.

use std::process::Output;

use aws_sdk_s3::primitives::ByteStream;

use crate::support;

/// irisctl with the caller's environment (the emulators' endpoints), stdin closed.
fn irisctl(args: &[&str]) -> Output {
    support::irisctl(args).output()
}

async fn stack_exists(aws: &support::Aws, name: &str) -> bool {
    match aws.cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => !out.stacks().is_empty(),
        Err(err) => {
            let text = format!("{err:?}");
            assert!(text.contains("does not exist"), "describing {name}: {text}");
            false
        }
    }
}

async fn output(aws: &support::Aws, stack: &str, key: &str) -> String {
    let out = aws
        .cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .expect("describe storage");
    out.stacks()
        .iter()
        .flat_map(|s| s.outputs())
        .find(|o| o.output_key() == Some(key))
        .and_then(|o| o.output_value())
        .unwrap_or_else(|| panic!("{stack} has no output {key}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn destroy_leaves_no_stack_bucket_version_or_image_and_reruns_cleanly() {
    let aws = support::emulators().await;
    let env = support::unique_env("lc");
    let envs = support::envs_dir_with_emulator_env(&env);
    let envs_s = envs.path().to_string_lossy().into_owned();
    let work = tempfile::tempdir().expect("tempdir");
    let (model, package) = support::fake_artifacts(work.path(), b"model for destroy");
    let (model, package) = (model.to_string_lossy(), package.to_string_lossy());
    let stacks: Vec<String> = ["storage", "auth", "service"]
        .iter()
        .map(|k| format!("iris-{env}-{k}"))
        .collect();
    let mut cleanup = support::Cleanup::new();
    for stack in &stacks {
        cleanup.add(support::Resource::Stack(stack.clone()));
    }

    let deployed = irisctl(&[
        "deploy",
        "--env",
        &env,
        "--envs-dir",
        &envs_s,
        "--yes",
        "--model",
        &model,
        "--package",
        &package,
    ]);
    assert_eq!(
        deployed.status.code(),
        Some(0),
        "{}",
        support::describe_output(&deployed)
    );
    let status = irisctl(&[
        "status",
        "--env",
        &env,
        "--envs-dir",
        &envs_s,
        "--output",
        "json",
    ]);
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        support::describe_output(&status)
    );
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    for row in status["stacks"].as_array().expect("stacks") {
        assert_eq!(row["state"], "CREATE_COMPLETE", "{status:#}");
        assert_eq!(row["template"], "same", "{status:#}");
    }
    {
        use sha2::Digest;
        let sha = hex::encode(sha2::Sha256::digest(b"model for destroy"));
        assert_eq!(status["model_sha256"], sha.as_str(), "{status:#}");
    }
    assert!(
        status["api_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://")),
        "{status:#}"
    );
    assert!(
        status["lock"].is_null(),
        "deploy released its lock: {status:#}"
    );
    let bucket = output(&aws, &stacks[0], "ModelBucketName").await;
    let log_bucket = output(&aws, &stacks[0], "LogBucketName").await;
    let repository = output(&aws, &stacks[0], "RepositoryName").await;
    cleanup.add(support::Resource::Bucket(bucket.clone()));
    cleanup.add(support::Resource::Bucket(log_bucket.clone()));
    cleanup.add(support::Resource::Repository(repository.clone()));

    // Several model versions: overwrites of one key, other keys, and a delete marker.
    for (key, body) in [
        ("models/a/model.bin", "one"),
        ("models/a/model.bin", "two"),
        ("models/a/model.bin", "three"),
        ("models/b/model.bin", "b"),
        ("models/b/manifest.json", "{}"),
    ] {
        aws.s3
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await
            .expect("put model version");
    }
    aws.s3
        .delete_object()
        .bucket(&bucket)
        .key("models/b/manifest.json")
        .send()
        .await
        .expect("delete marker");
    // See the module comment: the repository lives on moto, created as AWS would have.
    if let Err(err) = aws
        .ecr
        .create_repository()
        .repository_name(&repository)
        .send()
        .await
    {
        assert!(
            err.as_service_error()
                .is_some_and(|e| e.is_repository_already_exists_exception()),
            "creating {repository} on moto: {err:?}"
        );
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": 2, "digest": format!("sha256:{}", "b".repeat(64))},
        "layers": []
    });
    aws.ecr
        .put_image()
        .repository_name(&repository)
        .image_manifest(manifest.to_string())
        .image_tag("v1")
        .send()
        .await
        .expect("put image on moto");

    // No --yes and no terminal: refused, and nothing changed.
    let refused = irisctl(&["destroy", "--env", &env, "--envs-dir", &envs_s]);
    assert_eq!(
        refused.status.code(),
        Some(3),
        "{}",
        support::describe_output(&refused)
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--yes"),
        "{}",
        support::describe_output(&refused)
    );
    for stack in &stacks {
        assert!(
            stack_exists(&aws, stack).await,
            "{stack} vanished after a refusal"
        );
    }

    let destroyed = irisctl(&["destroy", "--env", &env, "--envs-dir", &envs_s, "--yes"]);
    assert_eq!(
        destroyed.status.code(),
        Some(0),
        "{}",
        support::describe_output(&destroyed)
    );
    assert!(
        String::from_utf8_lossy(&destroyed.stdout).contains(&format!("env `{env}` destroyed")),
        "{}",
        support::describe_output(&destroyed)
    );

    for stack in &stacks {
        assert!(!stack_exists(&aws, stack).await, "{stack} still exists");
    }
    for b in [&bucket, &log_bucket] {
        // LocalStack would leave a non-empty versioned bucket behind silently: ask S3.
        let listed = aws.s3.list_object_versions().bucket(b).send().await;
        match listed {
            Err(err) => assert_eq!(
                aws_sdk_s3::error::ProvideErrorMetadata::code(&err),
                Some("NoSuchBucket"),
                "{b}: {err:?}"
            ),
            Ok(out) => panic!(
                "bucket {b} still exists with {} versions and {} delete markers",
                out.versions().len(),
                out.delete_markers().len()
            ),
        }
    }
    let images = aws
        .ecr
        .list_images()
        .repository_name(&repository)
        .send()
        .await
        .expect("list images");
    assert!(
        images.image_ids().is_empty(),
        "images left: {:?}",
        images.image_ids()
    );

    let again = irisctl(&["destroy", "--env", &env, "--envs-dir", &envs_s, "--yes"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        support::describe_output(&again)
    );
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing to destroy"),
        "{}",
        support::describe_output(&again)
    );
    cleanup.run(&aws).await.expect("cleanup");
}
