//! `irisctl deploy` of an env with `lambda.package: image` on the emulators, as far as
//! they go: the storage stack on LocalStack, the layout pushed to the repository on moto
//! (created there first, as AWS's CloudFormation would have: LocalStack's is a
//! placeholder), and the service stack given `ImageUri` = `<repository uri>@<the digest
//! ECR reports>`; a second deploy sends nothing. LocalStack creates the function from the
//! reference but could run it only with Docker, so no test invokes an image function
//! (docs/emulator-gaps.md).

use aws_sdk_ecr::types::ImageIdentifier;
use serde_json::Value;

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the emulators; scripts/test runs it"]
async fn deploy_pushes_the_image_and_pins_the_digest_ecr_reports() {
    let aws = support::emulators().await;
    let env = support::unique_env("img");
    let envs = support::envs_dir_with_emulator_env(&env);
    let file = envs.path().join(format!("{env}.yaml"));
    let text = std::fs::read_to_string(&file).expect("env file");
    std::fs::write(
        &file,
        text.replacen("\nlambda:\n", "\nlambda:\n  package: image\n", 1),
    )
    .expect("write env file");
    let config = irisctl::config::Config::load(envs.path(), &env).expect("env loads");
    assert_eq!(config.lambda.package.value, irisctl::config::Package::Image);
    let repository = config.names.repository.clone();
    let mut cleanup = support::Cleanup::new();
    cleanup.add(support::Resource::Repository(repository.clone()));

    let work = tempfile::tempdir().expect("tempdir");
    let (model, _) = support::fake_artifacts(work.path(), b"model for the image deploy");
    let layout_dir = work.path().join("image");
    irisctl::image::build(b"\x7fELF not run here", "test", &layout_dir).expect("layout");
    let envs_s = envs.path().to_string_lossy().into_owned();
    let model_s = model.to_string_lossy().into_owned();
    let layout_s = layout_dir.to_string_lossy().into_owned();
    let deploy = || {
        support::irisctl(&[
            "deploy",
            "--env",
            &env,
            "--envs-dir",
            &envs_s,
            "--yes",
            "--model",
            &model_s,
            "--image",
            &layout_s,
            "--output",
            "json",
        ])
        .output()
    };
    // LocalStack's storage stack makes no repository on moto: the push names what is
    // missing and the service stack is not touched.
    let first = deploy();
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}",
        support::describe_output(&first)
    );
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        stderr.contains(&format!(
            "pushing the function's image to repository {repository}"
        )),
        "{}",
        support::describe_output(&first)
    );
    let service = format!("iris-{env}-service");
    assert!(
        aws.cfn
            .describe_stacks()
            .stack_name(&service)
            .send()
            .await
            .is_err(),
        "no service stack without its image"
    );
    // As AWS's CloudFormation would have made it.
    aws.ecr
        .create_repository()
        .repository_name(&repository)
        .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Immutable)
        .send()
        .await
        .expect("create the repository on moto");
    let out = deploy();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", support::describe_output(&out)));

    let pushed = &report["image"];
    let digest = pushed["digest"]
        .as_str()
        .unwrap_or_else(|| panic!("no image pushed:\n{}", support::describe_output(&out)));
    let described = aws
        .ecr
        .describe_images()
        .repository_name(&repository)
        .image_ids(ImageIdentifier::builder().image_digest(digest).build())
        .send()
        .await
        .expect("the pushed image is in the repository");
    assert_eq!(
        described
            .image_details()
            .first()
            .and_then(|d| d.image_digest()),
        Some(digest)
    );
    let uri = pushed["repository_uri"].as_str().expect("repository uri");
    let image_uri = format!("{uri}@{digest}");
    assert_eq!(pushed["image_uri"], image_uri.as_str());

    // The service stack was given exactly that pin, whatever LocalStack made of it.
    let stack = aws
        .cfn
        .describe_stacks()
        .stack_name(&service)
        .send()
        .await
        .expect("the service stack was created");
    let params: Vec<(String, String)> = stack
        .stacks()
        .iter()
        .flat_map(|s| s.parameters())
        .map(|p| {
            (
                p.parameter_key().unwrap_or_default().to_owned(),
                p.parameter_value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        params.contains(&("ImageUri".to_owned(), image_uri.clone())),
        "{params:?}\n{}",
        support::describe_output(&out)
    );
    assert!(
        !params.iter().any(|(k, _)| k == "LambdaCodeKey"),
        "{params:?}"
    );
    // LocalStack creates the function from the image reference (it would need Docker
    // only to run it, which no test does).
    assert_eq!(
        report["outcome"],
        "succeeded",
        "{}",
        support::describe_output(&out)
    );

    // Deploying the same layout again sends nothing and pins the same image.
    let again = deploy();
    let report: Value = serde_json::from_slice(&again.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", support::describe_output(&again)));
    assert_eq!(
        report["outcome"],
        "succeeded",
        "{}",
        support::describe_output(&again)
    );
    assert_eq!(report["image"]["already_pushed"], true);
    assert_eq!(report["image"]["bytes_sent"], 0);
    assert_eq!(report["image"]["image_uri"], image_uri.as_str());

    crate::deploy::cleanup(&aws, &env).await;
    cleanup.run(&aws).await.expect("cleanup");
}
