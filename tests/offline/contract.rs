//! The templates keep `irisctl::contract`: for every env (each environments/*.yaml and
//! samples of both ephemeral patterns, the longest allowed name included), the rendered
//! stacks declare exactly the outputs, parameters, pins and function environment
//! variables that contract.rs spells, so a rename on either side fails here instead of
//! in a deploy.

use std::collections::BTreeSet;
use std::path::Path;

use irisctl::config::{Config, Package, named_envs};
use irisctl::contract::{auth, function_env, pins, service, storage};
use irisctl::naming::StackKind;
use irisctl::render::{self, RenderedStack, Variant, cfn};
use serde_json::Value;

/// The samples scripts/lint-templates renders besides the env files.
const EPHEMERAL_SAMPLES: [&str; 3] = [
    "pr-123",
    "feature-sample",
    "feature-a-very-long-branch-name-that-needs-shortening-by-hash-xy",
];

fn envs_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/environments"))
}

fn every_env() -> Vec<String> {
    let mut envs = named_envs(envs_dir());
    assert!(
        envs.len() >= 4,
        "environments/ should hold the named envs, found {envs:?}"
    );
    envs.extend(EPHEMERAL_SAMPLES.map(String::from));
    envs
}

/// Each env's config and its stacks parsed, in stack order.
/// Every env, plus dev as it would be with its function packaged as an image.
fn rendered() -> Vec<(Config, Vec<(RenderedStack, Value)>)> {
    let image_envs = tempfile::tempdir().expect("tempdir");
    let dev = std::fs::read_to_string(envs_dir().join("dev.yaml")).expect("dev.yaml");
    let dev_image = dev.replacen("\nlambda:\n", "\nlambda:\n  package: image\n", 1);
    assert_ne!(dev, dev_image, "dev.yaml has a lambda: section");
    std::fs::write(image_envs.path().join("dev.yaml"), dev_image).expect("write");
    let image_dev = Config::load(image_envs.path(), "dev").expect("dev as an image env loads");
    every_env()
        .into_iter()
        .map(|env| {
            Config::load(envs_dir(), &env).unwrap_or_else(|err| panic!("env {env} loads: {err}"))
        })
        .chain([image_dev])
        .map(|config| {
            let env = config.env.clone();
            let stacks = render::render_env(&config)
                .unwrap_or_else(|err| panic!("env {env} renders: {err}"))
                .into_iter()
                .map(|stack| {
                    let doc = cfn::parse(&stack.body).expect("rendered stacks parse");
                    (stack, doc)
                })
                .collect();
            (config, stacks)
        })
        .collect()
}

/// The keys of a mapping (none if `mapping` is absent or not a mapping).
fn keys(mapping: &Value) -> BTreeSet<String> {
    mapping
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_string()).collect()
}

/// The outputs contract.rs promises for a stack kind in this env. The storage stack
/// declares `LogBucketName` only when the env keeps an access log bucket.
fn contract_outputs(config: &Config, kind: StackKind) -> BTreeSet<String> {
    match kind {
        StackKind::Storage => {
            let mut outputs = set(&storage::OUTPUTS);
            if !config.storage.access_logging.value {
                outputs.remove(storage::LOG_BUCKET_NAME);
            }
            outputs
        }
        StackKind::Auth => set(&auth::OUTPUTS),
        StackKind::Service => {
            let mut outputs = set(&service::OUTPUTS);
            if config.is_sagemaker() {
                outputs.insert(service::ENDPOINT_NAME.to_string());
            }
            outputs
        }
    }
}

#[test]
fn every_stack_declares_exactly_the_contract_outputs() {
    for (config, stacks) in rendered() {
        let kinds: Vec<StackKind> = stacks.iter().map(|(s, _)| s.kind).collect();
        assert_eq!(kinds, StackKind::ALL, "env {}", config.env);
        for (stack, doc) in &stacks {
            assert_eq!(
                keys(&doc["Outputs"]),
                contract_outputs(&config, stack.kind),
                "env {}: outputs of {}",
                config.env,
                stack.name
            );
        }
    }
}

#[test]
fn parameters_are_earlier_contract_outputs_or_pins() {
    for (config, stacks) in rendered() {
        let mut earlier_outputs = BTreeSet::new();
        for (stack, doc) in &stacks {
            let declared = keys(&doc["Parameters"]);
            assert_eq!(
                declared,
                stack.parameters_declared.iter().cloned().collect(),
                "env {}: parameters_declared of {}",
                config.env,
                stack.name
            );
            for parameter in &declared {
                let is_pin = stack.kind == StackKind::Service
                    && (pins::ALL.contains(&parameter.as_str())
                        || irisctl::contract::rollout::ALL.contains(&parameter.as_str()));
                assert!(
                    earlier_outputs.contains(parameter) || is_pin,
                    "env {}: {} declares parameter {parameter}, which is neither an earlier \
                     stack's output as spelled in contract.rs nor an artifact pin",
                    config.env,
                    stack.name
                );
            }
            earlier_outputs.extend(contract_outputs(&config, stack.kind));
        }
        // What the service stack needs from the earlier ones, by contract name.
        let (service_stack, _) = &stacks[2];
        let mut needed = vec![
            storage::MODEL_BUCKET_NAME,
            storage::MODEL_BUCKET_ARN,
            storage::KMS_KEY_ARN,
        ];
        // An emulator env's deployed methods have no authorizer (LocalStack cannot deploy
        // one), so its service stack takes no auth outputs.
        let cognito = irisctl::render::context::has_authorizer(&config, Variant::Deployed);
        let auth_parameters = [auth::USER_POOL_ARN, auth::PREDICT_SCOPE];
        if cognito {
            needed.extend(auth_parameters);
        }
        for parameter in needed {
            assert!(
                service_stack
                    .parameters_declared
                    .iter()
                    .any(|p| p == parameter),
                "env {}: the service stack does not declare {parameter}",
                config.env
            );
        }
        if !cognito {
            for parameter in auth_parameters {
                assert!(
                    !service_stack
                        .parameters_declared
                        .iter()
                        .any(|p| p == parameter),
                    "env {}: without Cognito the service stack takes no {parameter}",
                    config.env
                );
            }
        }
    }
}

#[test]
fn the_service_stack_declares_every_pin_in_contract_order() {
    for (config, stacks) in rendered() {
        let (service_stack, doc) = &stacks[2];
        let parameters = keys(&doc["Parameters"]);
        let mut last = 0;
        let other_package: &[&str] = match config.lambda.package.value {
            Package::Zip => &pins::IMAGE_ONLY,
            Package::Image => &pins::ZIP_ONLY,
        };
        for pin in pins::ALL.into_iter().filter(|p| !other_package.contains(p)) {
            assert!(
                parameters.contains(pin),
                "env {}: the service stack does not declare pin {pin}",
                config.env
            );
            let at = service_stack
                .body
                .find(&format!("\n  {pin}:\n"))
                .unwrap_or_else(|| panic!("env {}: pin {pin} not a parameter line", config.env));
            assert!(
                at > last,
                "env {}: pin {pin} out of contract order",
                config.env
            );
            last = at;
        }
    }
}

#[test]
fn the_function_gets_exactly_the_contract_environment() {
    for (config, stacks) in rendered() {
        let (_, doc) = &stacks[2];
        let functions: Vec<&Value> = doc["Resources"]
            .as_object()
            .expect("the service stack has resources")
            .values()
            .filter(|r| r["Type"] == "AWS::Lambda::Function")
            .collect();
        assert_eq!(functions.len(), 1, "env {}: one function", config.env);
        let variables = &functions[0]["Properties"]["Environment"]["Variables"];
        // The template always sets the optional MAX_BATCH (from `lambda.max_batch`), so
        // the set is the whole contract.
        assert_eq!(
            keys(variables),
            set(&function_env::ALL),
            "env {}: the function's environment variables",
            config.env
        );
        assert_eq!(
            variables[function_env::MAX_BATCH],
            Value::String(config.lambda.max_batch.value.to_string()),
            "env {}: MAX_BATCH carries lambda.max_batch",
            config.env
        );
    }
}
