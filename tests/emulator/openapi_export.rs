//! `irisctl openapi --compare` against LocalStack's own GetExport (`oas30`) of a deployed
//! emulator env: the rendered document and the stage agree; after the stage's request
//! model is changed behind CloudFormation's back (UpdateModel through the SDK) the
//! comparison exits 1 and names the method whose schema differs.

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn the_deployed_stage_matches_until_its_model_is_changed_by_hand() {
    let aws = support::emulators().await;
    let apigateway = irisctl::aws::apigateway(&aws.config);
    let env = support::unique_env("oa");
    let envs = support::envs_dir_with_emulator_env(&env);
    let envs_s = envs.path().to_string_lossy().into_owned();
    let work = tempfile::tempdir().expect("tempdir");
    let (model, package) = support::fake_artifacts(work.path(), b"model for openapi");
    let (model, package) = (model.to_string_lossy(), package.to_string_lossy());
    let mut cleanup = support::Cleanup::new();
    for kind in ["storage", "auth", "service"] {
        cleanup.add(support::Resource::Stack(format!("iris-{env}-{kind}")));
    }
    let deployed = support::irisctl(&[
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
    ])
    .output();
    assert_eq!(
        deployed.status.code(),
        Some(0),
        "{}",
        support::describe_output(&deployed)
    );

    let compare = || {
        support::irisctl(&["openapi", "--env", &env, "--envs-dir", &envs_s, "--compare"]).output()
    };
    let same = compare();
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        support::describe_output(&same)
    );
    assert!(
        String::from_utf8_lossy(&same.stderr).contains("matches the rendered template"),
        "{}",
        support::describe_output(&same)
    );

    // The API's id, as the stack holds it.
    let resources = aws
        .cfn
        .describe_stack_resources()
        .stack_name(format!("iris-{env}-service"))
        .logical_resource_id("RestApi")
        .send()
        .await
        .expect("describe RestApi");
    let api_id = resources
        .stack_resources()
        .first()
        .and_then(|r| r.physical_resource_id())
        .expect("RestApi id")
        .to_owned();
    apigateway
        .update_model()
        .rest_api_id(&api_id)
        .model_name("PredictRequest")
        .patch_operations(
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path("/schema")
                .value(r#"{"type":"object"}"#)
                .build(),
        )
        .send()
        .await
        .expect("change the model by hand");
    let changed = compare();
    assert_eq!(
        changed.status.code(),
        Some(1),
        "{}",
        support::describe_output(&changed)
    );
    let stderr = String::from_utf8_lossy(&changed.stderr);
    assert!(
        stderr.contains("POST /predict: request schema for application/json differs"),
        "{}",
        support::describe_output(&changed)
    );

    let destroyed =
        support::irisctl(&["destroy", "--env", &env, "--envs-dir", &envs_s, "--yes"]).output();
    assert_eq!(
        destroyed.status.code(),
        Some(0),
        "{}",
        support::describe_output(&destroyed)
    );
    cleanup.run(&aws).await.expect("cleanup");
}
