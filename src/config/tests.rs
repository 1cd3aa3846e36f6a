//! Every bad env file gets one clear error naming file:line:column; every good one
//! resolves with each value's source.

use std::path::Path;

use super::*;

fn write_env(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(format!("{name}.yaml")), text).expect("write env file");
}

fn load_err(text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    write_env(dir.path(), "qa", text);
    let err = Config::load(dir.path(), "qa").expect_err("config must be refused");
    err.to_string()
}

fn repo_envs() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("environments")
}

#[test]
fn unknown_key_names_file_line_column_and_suggests() {
    let err = load_err("region: us-east-1\nlambda:\n  memroy_mb: 512\n");
    assert!(err.contains("qa.yaml:3:3"), "{err}");
    assert!(err.contains("unknown key `memroy_mb`"), "{err}");
    assert!(err.contains("did you mean `memory_mb`?"), "{err}");
}

#[test]
fn unknown_top_level_key_suggests() {
    let err = load_err("regoin: us-east-1\n");
    assert!(err.contains("qa.yaml:1:1"), "{err}");
    assert!(err.contains("did you mean `region`?"), "{err}");
}

#[test]
fn wrong_type_names_the_position() {
    let err = load_err("lambda:\n  memory_mb: lots\n");
    assert!(err.contains("qa.yaml:2:14"), "{err}");
}

#[test]
fn wrong_type_bool() {
    let err = load_err("protected: maybe\n");
    assert!(err.contains("qa.yaml:1:12"), "{err}");
}

#[test]
fn out_of_range_names_key_value_and_range() {
    let err = load_err("lambda:\n  timeout_s: 60\n");
    assert!(err.contains("qa.yaml:2:14"), "{err}");
    assert!(
        err.contains("`lambda.timeout_s` is 60, out of range: allowed 1..=29"),
        "{err}"
    );
}

#[test]
fn negative_number_is_refused() {
    let err = load_err("api:\n  throttle_rate: -5\n");
    assert!(err.contains("qa.yaml:2:"), "{err}");
}

#[test]
fn log_retention_must_be_a_cloudwatch_value() {
    let err = load_err("logs:\n  retention_days: 10\n");
    assert!(err.contains("qa.yaml:2:19"), "{err}");
    assert!(err.contains("CloudWatch accepts only"), "{err}");
}

#[test]
fn auth_none_outside_an_emulator_env_is_refused() {
    let err = load_err("auth:\n  mode: none\n");
    assert!(err.contains("qa.yaml:2:9"), "{err}");
    assert!(
        err.contains("only allowed in an env marked `emulator: true`"),
        "{err}"
    );
    let err = load_err("emulator: false\nauth:\n  mode: none\n");
    assert!(err.contains("qa.yaml:3:9"), "{err}");
}

#[test]
fn other_ways_to_switch_auth_off_are_unknown_keys() {
    let err = load_err("auth:\n  enabled: false\n");
    assert!(err.contains("unknown key `enabled`"), "{err}");
    let err = load_err("auth:\n  mode: off\n");
    assert!(err.contains("allowed: cognito, none"), "{err}");
    let err = load_err("auth: none\n");
    assert!(err.contains("qa.yaml:1:"), "{err}");
}

#[test]
fn auth_none_in_an_emulator_env_is_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_env(
        dir.path(),
        "local-emu",
        "emulator: true\nauth:\n  mode: none\n",
    );
    let config = Config::load(dir.path(), "local-emu").expect("emulator env with auth none");
    assert_eq!(config.auth.mode.value, AuthMode::None);
}

#[test]
fn only_local_envs_may_be_emulator_envs() {
    // A real env cannot switch auth off by adding `emulator: true` as well.
    let err = load_err("emulator: true\nauth:\n  mode: none\n");
    assert!(err.contains("qa.yaml:1:11"), "{err}");
    assert!(err.contains("named `local` or `local-<name>`"), "{err}");
}

#[test]
fn emulator_env_cannot_be_protected_or_ephemeral() {
    let err = load_err("protected: true\nemulator: true\n");
    assert!(err.contains("qa.yaml:2:11"), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    write_env(dir.path(), EPHEMERAL_BASE, "emulator: true\n");
    let err = Config::load(dir.path(), "pr-7")
        .expect_err("ephemeral emulator")
        .to_string();
    assert!(err.contains("ephemeral.yaml:1:11"), "{err}");
}

#[test]
fn account_id_must_be_twelve_quoted_digits() {
    let err = load_err("account_id: \"1234\"\n");
    assert!(err.contains("12 digits"), "{err}");
    let err = load_err("account_id: 12345678901x\n");
    assert!(err.contains("qa.yaml:1:13"), "{err}");
    // The scalar's text is kept as written, so an unquoted leading zero is not lost.
    let dir = tempfile::tempdir().expect("tempdir");
    write_env(dir.path(), "qa", "account_id: 012345678901\n");
    let c = Config::load(dir.path(), "qa").expect("unquoted account id");
    assert_eq!(c.account_id.value.as_deref(), Some("012345678901"));
}

#[test]
fn access_logging_off_needs_a_reason() {
    let err = load_err("storage:\n  access_logging: false\n");
    assert!(
        err.contains("needs `storage.access_logging_exemption"),
        "{err}"
    );
}

#[test]
fn ttl_only_in_ephemeral_envs() {
    let err = load_err("ttl_hours: 5\n");
    assert!(err.contains("only applies to ephemeral envs"), "{err}");
}

#[test]
fn p99_alarm_above_timeout_is_refused() {
    let err = load_err("lambda:\n  timeout_s: 5\nalarms:\n  lambda_p99_duration_ms: 6000\n");
    assert!(err.contains("qa.yaml:4:27"), "{err}");
}

#[test]
fn bad_email_and_reserved_tag() {
    let err = load_err("alarms:\n  emails: [not-an-email]\n");
    assert!(err.contains("not an email address"), "{err}");
    let err = load_err("tags:\n  team: ml\n  aws:owner: me\n");
    assert!(err.contains("qa.yaml:3:14"), "{err}");
    assert!(err.contains("reserved"), "{err}");
}

#[test]
fn broken_yaml_names_the_position() {
    let err = load_err("lambda:\n  memory_mb: [1, 2\n");
    assert!(err.contains("qa.yaml:"), "{err}");
}

#[test]
fn missing_env_file_lists_known_envs() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_env(dir.path(), "dev", "");
    let err = Config::load(dir.path(), "qa")
        .expect_err("missing")
        .to_string();
    assert!(err.contains("qa.yaml does not exist"), "{err}");
    assert!(err.contains("known envs: dev"), "{err}");
}

#[test]
fn invalid_env_names_are_refused_before_any_file_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["Prod", "../dev", "pr-abc", "ephemeral", "a_b"] {
        let err = Config::load(dir.path(), name).expect_err(name).to_string();
        assert!(err.contains("invalid env name"), "{name}: {err}");
    }
}

#[test]
fn values_know_their_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_env(
        dir.path(),
        "qa",
        "region: eu-west-1\nlambda:\n  memory_mb: 1024\n",
    );
    let c = Config::load(dir.path(), "qa").expect("valid");
    let file = dir.path().join("qa.yaml");
    assert_eq!(c.lambda.memory_mb.value, 1024);
    assert_eq!(
        c.lambda.memory_mb.source,
        Source::File {
            path: file.clone(),
            line: 3,
            column: 14
        }
    );
    assert_eq!(c.lambda.timeout_s.source, Source::Default);
    assert!(matches!(
        c.alarms.lambda_p99_duration_ms.source,
        Source::Derived(_)
    ));
    assert_eq!(c.alarms.lambda_p99_duration_ms.value, 8000);
    let entries = c.entries();
    let region = entries
        .iter()
        .find(|e| e.key == "region")
        .expect("region row");
    assert_eq!(region.value, "eu-west-1");
    assert_eq!(region.source.to_string(), format!("{}:1:9", file.display()));
}

#[test]
fn ephemeral_envs_use_the_base_file_and_get_a_ttl() {
    let c = Config::load(&repo_envs(), "pr-123").expect("pr-123");
    assert!(c.is_ephemeral());
    assert!(c.file.ends_with("ephemeral.yaml"));
    assert_eq!(c.ttl_hours.value, Some(72));
    assert!(!c.protected.value);
    assert_eq!(c.auth.mode.value, AuthMode::Cognito);
    assert_eq!(c.names.storage_stack, "iris-pr-123-storage");
}

#[test]
fn every_repo_env_loads() {
    for env in named_envs(&repo_envs()) {
        let c = Config::load(&repo_envs(), &env).unwrap_or_else(|e| panic!("{env}: {e}"));
        // Every shipped env states its authorizer, the emulator env too.
        assert_eq!(c.auth.mode.value, AuthMode::Cognito, "{env}");
    }
    assert_eq!(
        named_envs(&repo_envs()),
        ["dev", "dev-sagemaker", "local", "prod", "staging"]
    );
    let prod = Config::load(&repo_envs(), "prod").expect("prod");
    assert!(prod.protected.value);
}

#[test]
fn manage_account_log_role_is_refused_with_bootstrap_as_its_replacement() {
    for value in ["true", "false"] {
        let err = load_err(&format!(
            "region: us-east-1\napi:\n  manage_account_log_role: {value}\n"
        ));
        assert!(err.contains("qa.yaml:3:"), "{err}");
        assert!(
            err.contains("`api.manage_account_log_role` is no longer a setting"),
            "{err}"
        );
        assert!(err.contains("irisctl bootstrap --region"), "{err}");
    }
}

#[test]
fn usage_plan_quota_keys_are_refused_with_what_replaced_them() {
    for line in ["quota_limit: 10000", "quota_period: DAY"] {
        let err = load_err(&format!("api:\n  {line}\n"));
        assert!(err.contains("qa.yaml:2:"), "{err}");
        assert!(err.contains("is no longer a setting"), "{err}");
        assert!(err.contains("api.client_requests_per_5min"), "{err}");
    }
}

#[test]
fn reserved_concurrency_is_none_unless_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_env(dir.path(), "qa", "region: us-east-1\n");
    let config = Config::load(dir.path(), "qa").expect("loads");
    assert_eq!(config.lambda.reserved_concurrency.value, None);
    assert_eq!(config.lambda.reserved_concurrency.source, Source::Default);
    write_env(dir.path(), "qa", "lambda:\n  reserved_concurrency: 40\n");
    let config = Config::load(dir.path(), "qa").expect("loads");
    assert_eq!(config.lambda.reserved_concurrency.value, Some(40));
    assert!(matches!(
        config.lambda.reserved_concurrency.source,
        Source::File { line: 2, .. }
    ));
    let err = load_err("lambda:\n  reserved_concurrency: 0\n");
    assert!(err.contains("out of range: allowed 1..=1000"), "{err}");
}

#[test]
fn the_per_client_rate_is_derived_from_the_stage_rate_unless_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_env(dir.path(), "qa", "api:\n  throttle_rate: 50\n");
    let config = Config::load(dir.path(), "qa").expect("loads");
    assert_eq!(config.api.client_requests_per_5min.value, 1500);
    assert!(matches!(
        config.api.client_requests_per_5min.source,
        Source::Derived(_)
    ));
    let err = load_err("api:\n  client_requests_per_5min: 5\n");
    assert!(err.contains("out of range: allowed 10..="), "{err}");
}

#[test]
fn batch_limits_default_and_must_fit_the_function() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_env(dir.path(), "qa", "region: us-east-1\n");
    let c = Config::load(dir.path(), "qa").expect("valid");
    assert_eq!(
        (c.batch.max_rows.value, c.batch.max_mb.value),
        (100_000, 16)
    );
    assert_eq!(c.batch.max_bytes(), 16 << 20);

    let err = load_err("batch:\n  max_rows: 0\n");
    assert!(err.contains("`batch.max_rows` is 0, out of range"), "{err}");
    let err = load_err("batch:\n  max_mb: 300\n");
    assert!(err.contains("`batch.max_mb` is 300, out of range"), "{err}");
    // 1,000,000 rows need ~400 MB: more than 3/4 of 512 MB.
    let err = load_err("batch:\n  max_rows: 1000000\n");
    assert!(err.contains("qa.yaml:2:13"), "{err}");
    assert!(err.contains("raise `lambda.memory_mb`"), "{err}");
    // 600,000 rows fit 1024 MB but not a 10 s timeout at 50,000 rows/s.
    let err = load_err("lambda:\n  memory_mb: 1024\nbatch:\n  max_rows: 600000\n");
    assert!(err.contains("`lambda.timeout_s` 10"), "{err}");
    let err = load_err("lambda:\n  memory_mb: 128\nbatch:\n  max_mb: 64\n");
    assert!(err.contains("qa.yaml:4:11"), "{err}");
    assert!(
        err.contains("`batch.max_rows` 100000 and `batch.max_mb` 64"),
        "{err}"
    );
    write_env(
        dir.path(),
        "qa",
        "lambda:\n  memory_mb: 1024\n  timeout_s: 20\nbatch:\n  max_rows: 600000\n  max_mb: 64\n",
    );
    let c = Config::load(dir.path(), "qa").expect("fits");
    assert_eq!(c.batch.max_rows.value, 600_000);
}

#[test]
fn lambda_package_defaults_to_zip_takes_image_and_refuses_anything_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_env(dir.path(), "qa", "region: us-east-1\n");
    let zip = Config::load(dir.path(), "qa").expect("loads");
    assert_eq!(zip.lambda.package.value, Package::Zip);
    assert_eq!(zip.lambda.package.source, Source::Default);
    write_env(dir.path(), "qa", "lambda:\n  package: image\n");
    let image = Config::load(dir.path(), "qa").expect("loads");
    assert_eq!(image.lambda.package.value, Package::Image);
    assert!(
        image
            .lambda
            .package
            .source
            .to_string()
            .contains("qa.yaml:2:12"),
        "{}",
        image.lambda.package.source
    );

    let err = load_err("lambda:\n  package: docker\n");
    assert!(err.contains("qa.yaml:2:12"), "{err}");
    assert!(
        err.contains("`lambda.package` is `docker`; allowed: zip, image"),
        "{err}"
    );
    // A list where one word belongs: the position, not a silent default.
    let err = load_err("lambda:\n  package: [zip]\n");
    assert!(err.contains("qa.yaml:2:"), "{err}");
    let err = load_err("lambda:\n  packge: image\n");
    assert!(err.contains("did you mean `package`?"), "{err}");
}

#[test]
fn rollout_settings_are_checked_where_they_are_written() {
    let err = load_err("rollout:\n  stratgy: canary\n");
    assert!(err.contains("qa.yaml:2:3"), "{err}");
    assert!(err.contains("did you mean `strategy`?"), "{err}");
    let err = load_err("rollout:\n  strategy: blue-green\n");
    assert!(err.contains("qa.yaml:2:13"), "{err}");
    assert!(
        err.contains("`rollout.strategy`") && err.contains("canary[:PCT,BAKE]"),
        "{err}"
    );
    let err = load_err("rollout:\n  strategy: canary:150,5m\n");
    assert!(err.contains("1 to 99"), "{err}");
    let err = load_err("rollout:\n  max_disagreement_pct: 101\n");
    assert!(
        err.contains("`rollout.max_disagreement_pct` is 101, out of range"),
        "{err}"
    );
    let err = load_err("rollout:\n  samples: 0\n");
    assert!(
        err.contains("`rollout.samples` is 0, out of range"),
        "{err}"
    );
    let err = load_err("rollout:\n  samples: many\n");
    assert!(err.contains("qa.yaml:2:12"), "{err}");
}

#[test]
fn protected_envs_roll_out_as_a_canary_unless_set() {
    let prod = Config::load(&repo_envs(), "prod").expect("prod loads");
    assert_eq!(prod.rollout.strategy.value.to_string(), "canary:10,5m");
    assert_eq!(prod.rollout.strategy.source, Source::Default);
    let dev = Config::load(&repo_envs(), "dev").expect("dev loads");
    assert_eq!(
        dev.rollout.strategy.value,
        crate::rollout::Strategy::AllAtOnce
    );
    assert_eq!(dev.rollout.tolerance(), 0.05);
    let dir = tempfile::tempdir().expect("tempdir");
    write_env(
        dir.path(),
        "qa",
        "rollout:\n  strategy: linear:25,30s\n  max_disagreement_pct: 0\n",
    );
    let qa = Config::load(dir.path(), "qa").expect("qa loads");
    assert_eq!(qa.rollout.strategy.value.to_string(), "linear:25,30s");
    assert!(matches!(
        qa.rollout.strategy.source,
        Source::File { line: 2, .. }
    ));
    assert_eq!(qa.rollout.tolerance(), 0.0);
}

#[test]
fn backend_defaults_to_lambda_and_sagemaker_settings_know_their_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_env(dir.path(), "qa", "region: us-east-1\n");
    let lambda = Config::load(dir.path(), "qa").expect("loads");
    assert_eq!(lambda.backend.value, Backend::Lambda);
    assert_eq!(lambda.backend.source, Source::Default);
    assert!(!lambda.is_sagemaker());
    assert!(
        !lambda
            .entries()
            .iter()
            .any(|e| e.key.starts_with("sagemaker."))
    );

    write_env(
        dir.path(),
        "qa",
        "lambda:\n  package: image\nbackend: sagemaker\nsagemaker:\n  max_concurrency: 20\n",
    );
    let sm = Config::load(dir.path(), "qa").expect("loads");
    assert_eq!(sm.backend.value, Backend::Sagemaker);
    assert!(sm.backend.source.to_string().contains("qa.yaml:3:10"));
    assert_eq!(sm.sagemaker.mode.value, SagemakerMode::Serverless);
    assert_eq!(sm.sagemaker.mode.source, Source::Default);
    assert_eq!(sm.sagemaker.memory_mb.value, 1024);
    assert_eq!(sm.sagemaker.max_concurrency.value, 20);
    assert!(
        sm.sagemaker
            .max_concurrency
            .source
            .to_string()
            .contains("qa.yaml:5:20")
    );
    // config show lists the mode's keys only.
    let keys: Vec<String> = sm.entries().into_iter().map(|e| e.key).collect();
    for key in [
        "backend",
        "sagemaker.mode",
        "sagemaker.memory_mb",
        "sagemaker.max_concurrency",
        "alarms.endpoint_5xx",
        "names.endpoint",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} in {keys:?}");
    }
    assert!(!keys.iter().any(|k| k == "sagemaker.instance_type"));
    assert_eq!(sm.names.endpoint, "iris-qa-endpoint");
}

#[test]
fn endpoint_instance_types_are_x86_cpu_types_without_local_storage() {
    use super::resolve::is_endpoint_instance_type as ok;
    for good in [
        "ml.c5.large",
        "ml.m5.xlarge",
        "ml.m6i.2xlarge",
        "ml.t2.medium",
        "ml.r7i.large",
    ] {
        assert!(ok(good), "{good}");
    }
    for bad in [
        "c5.large",
        "ml.c5",
        "ml.c5.large.x",
        "ML.C5.LARGE",
        "ml.m6g.large",
        "ml.c7gn.xlarge",
        "ml.m5d.large",
        "ml.c6id.large",
        "ml.g4dn.xlarge",
        "ml.g5.xlarge",
        "ml.p3.2xlarge",
        "ml.inf1.xlarge",
        "ml.cx.large",
        "",
    ] {
        assert!(!ok(bad), "{bad}");
    }
}

#[test]
fn a_sagemaker_env_rolls_out_all_at_once() {
    let dev = Config::load(&repo_envs(), "dev-sagemaker").expect("dev-sagemaker loads");
    assert_eq!(
        dev.rollout.strategy.value,
        crate::rollout::Strategy::AllAtOnce
    );
    let text = std::fs::read_to_string(repo_envs().join("dev-sagemaker.yaml")).expect("read");
    let err = load_err(&format!("{text}rollout:\n  strategy: canary:10,5m\n"));
    assert!(err.contains("rolls out all at once"), "{err}");
}
