//! Rendered templates: snapshots of every env, determinism, the Deployment hash, stack
//! order and names. tests/offline/contract.rs checks the names stacks share (outputs, parameters,
//! pins, the function's environment).

use std::path::Path;

use irisctl::config::{Config, named_envs};
use irisctl::naming::StackKind;
use irisctl::render::{self, RenderedStack, cfn};

fn envs_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/environments"))
}

fn all_envs() -> Vec<String> {
    let mut envs = named_envs(envs_dir());
    envs.extend(["pr-123".to_string(), "feature-sample".to_string()]);
    envs
}

fn render(env: &str) -> Vec<RenderedStack> {
    let config = Config::load(envs_dir(), env).expect("env loads");
    render::render_env(&config).expect("renders")
}

fn render_text(env: &str, file_text: &str) -> Vec<RenderedStack> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(format!("{env}.yaml")), file_text).expect("write");
    let config = Config::load(dir.path(), env).expect("env loads");
    render::render_env(&config).expect("renders")
}

fn deployment_id(stack: &RenderedStack) -> String {
    let doc = cfn::parse(&stack.body).expect("parses");
    let ids: Vec<String> = doc["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::ApiGateway::Deployment")
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(ids.len(), 1, "exactly one deployment");
    ids[0].clone()
}

#[test]
fn snapshots_of_every_env() {
    for env in all_envs() {
        for stack in render(&env) {
            insta::assert_snapshot!(format!("{env}-{}", stack.kind), stack.body);
        }
    }
}

#[test]
fn rendering_is_deterministic() {
    for env in all_envs() {
        assert_eq!(render(&env), render(&env), "{env}");
    }
}

#[test]
fn stacks_come_in_order_with_contract_names() {
    let stacks = render("dev");
    let kinds: Vec<StackKind> = stacks.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, StackKind::ALL);
    let names: Vec<&str> = stacks.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["iris-dev-storage", "iris-dev-auth", "iris-dev-service"]
    );
}

#[test]
fn deployment_id_follows_the_api_definition_only() {
    let base = "region: us-east-1\n";
    let a = deployment_id(&render_text("qa", base)[2]);
    let memory =
        deployment_id(&render_text("qa", "region: us-east-1\nlambda:\n  memory_mb: 2048\n")[2]);
    let throttle = deployment_id(&render_text("qa", "api:\n  throttle_rate: 99\n")[2]);
    assert_eq!(a, memory, "Lambda memory is not part of the API definition");
    assert_eq!(
        a, throttle,
        "stage throttling is applied by the Stage, not a new deployment"
    );
    let batch = deployment_id(&render_text("qa", "lambda:\n  max_batch: 7\n")[2]);
    assert_ne!(
        a, batch,
        "the request model changed, so must the deployment"
    );
    let open = deployment_id(&render_text("local-qa", "emulator: true\nauth:\n  mode: none\n")[2]);
    let same_name = deployment_id(&render_text("local-qa", base)[2]);
    assert_ne!(
        same_name, open,
        "authorization changed, so must the deployment"
    );
}

#[test]
fn prod_retains_data_and_ephemeral_does_not() {
    let prod = render("prod");
    assert!(prod[0].body.contains("DeletionPolicy: Retain"));
    assert!(!prod[0].body.contains("DeletionPolicy: Delete"));
    assert!(prod[1].body.contains("DeletionProtection: ACTIVE"));
    let pr = render("pr-123");
    assert!(!pr[0].body.contains("Retain"));
    assert!(pr[0].body.contains("EmptyOnDelete: true"));
    assert!(pr[1].body.contains("DeletionProtection: INACTIVE"));
}

#[test]
fn write_all_writes_one_file_per_stack() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stacks = render("staging");
    let paths = render::write_all(&dir.path().join("out"), &stacks).expect("write");
    assert_eq!(paths.len(), 3);
    for (path, stack) in paths.iter().zip(&stacks) {
        assert_eq!(std::fs::read_to_string(path).expect("read"), stack.body);
    }
}
