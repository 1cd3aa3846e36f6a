//! The function and irisctl agree on the function's environment: the service template
//! irisctl renders sets exactly the variables the function reads, and `irisctl local
//! serve` sets all of them but the optional limits (`MAX_BATCH`, `BATCH_MAX_*`). irisctl spells the names in
//! `irisctl::contract::function_env` (the template is checked against it by irisctl's
//! tests/offline/contract.rs), the function in `iris_lambda::config`; this test is what keeps the
//! two equal.

use std::collections::BTreeSet;
use std::path::Path;

use iris_lambda::config::{ENV_BATCH_MAX_BYTES, ENV_BATCH_MAX_ROWS, ENV_MAX_BATCH, ENV_VARS};
use irisctl::contract::function_env;
use irisctl::local::model_upload::ModelLocation;
use irisctl::naming::StackKind;

/// The keys of the `Variables:` mapping in a rendered template.
fn environment_variables(template: &str) -> BTreeSet<String> {
    let mut lines = template.lines().skip_while(|l| l.trim() != "Variables:");
    let header = lines.next().expect("the template sets Variables");
    let indent = |l: &str| l.len() - l.trim_start().len();
    let depth = indent(header);
    lines
        .take_while(|l| indent(l) > depth)
        .filter_map(|l| l.trim().split_once(':').map(|(k, _)| k.to_owned()))
        .collect()
}

#[test]
fn the_function_reads_exactly_the_contract_names() {
    // Same names, same order: required ones first, the optional limits last.
    assert_eq!(ENV_VARS, function_env::ALL);
    assert_eq!(ENV_MAX_BATCH, function_env::MAX_BATCH);
    assert_eq!(ENV_BATCH_MAX_ROWS, function_env::BATCH_MAX_ROWS);
    assert_eq!(ENV_BATCH_MAX_BYTES, function_env::BATCH_MAX_BYTES);
}

#[test]
fn the_service_template_sets_exactly_what_the_function_reads() {
    let envs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
    let wanted: BTreeSet<String> = ENV_VARS.iter().map(|v| (*v).to_owned()).collect();
    for env in ["dev", "prod", "local"] {
        let config = irisctl::config::Config::load(&envs, env).expect("env loads");
        let stacks = irisctl::render::render_env(&config).expect("renders");
        let service = stacks
            .iter()
            .find(|s| s.kind == StackKind::Service)
            .expect("a service stack");
        assert_eq!(environment_variables(&service.body), wanted, "env {env}");
    }
}

#[test]
fn local_serve_sets_every_variable_but_the_optional_limits() {
    let location = ModelLocation {
        bucket: "b".into(),
        model_key: "k".into(),
        model_version_id: String::new(),
        model_sha256: "0".repeat(64),
        manifest_key: "m".into(),
        manifest_version_id: String::new(),
    };
    let set: BTreeSet<String> = location.env().into_iter().map(|(k, _)| k).collect();
    let wanted: BTreeSet<String> = ENV_VARS
        .iter()
        .filter(|v| ![ENV_MAX_BATCH, ENV_BATCH_MAX_ROWS, ENV_BATCH_MAX_BYTES].contains(*v))
        .map(|v| (*v).to_owned())
        .collect();
    assert_eq!(set, wanted);
}
