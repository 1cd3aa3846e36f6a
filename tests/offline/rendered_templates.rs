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
    assert!(
        prod[0]
            .body
            .contains("DeletionPolicy: RetainExceptOnCreate")
    );
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

// Each test below fails if one of the defects an audit against AWS's documentation found
// comes back (the emulators and linters accept every one of them).

fn doc(stack: &RenderedStack) -> serde_json::Value {
    cfn::parse(&stack.body).expect("parses")
}

fn resources_of_type(stack: &RenderedStack, ty: &str) -> Vec<(String, serde_json::Value)> {
    doc(stack)["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .map(|(id, r)| (id.clone(), r.clone()))
        .collect()
}

fn service(env: &str) -> RenderedStack {
    render(env).pop().expect("service stack last")
}

#[test]
fn no_env_manages_the_account_wide_api_gateway_logging_role() {
    for env in all_envs() {
        for stack in render(&env) {
            assert!(
                resources_of_type(&stack, "AWS::ApiGateway::Account").is_empty(),
                "{env} {}: the account setting belongs to `irisctl bootstrap`",
                stack.kind
            );
            assert!(
                !stack.body.contains("AmazonAPIGatewayPushToCloudWatchLogs"),
                "{env}"
            );
        }
    }
}

#[test]
fn retained_resources_are_deleted_when_their_own_create_rolls_back() {
    for env in all_envs() {
        for stack in render(&env) {
            let d = doc(&stack);
            for (id, r) in d["Resources"].as_object().expect("resources") {
                let deletion = r.get("DeletionPolicy").and_then(|v| v.as_str());
                assert_ne!(
                    deletion,
                    Some("Retain"),
                    "{env} {id}: Retain keeps a rolled-back create's fixed name"
                );
                if deletion == Some("RetainExceptOnCreate") {
                    assert_eq!(
                        r["UpdateReplacePolicy"], "Retain",
                        "{env} {id}: a replacement keeps the old resource too"
                    );
                }
            }
        }
    }
    let prod = render("prod");
    let retained: usize = prod
        .iter()
        .map(|s| {
            s.body
                .matches("DeletionPolicy: RetainExceptOnCreate")
                .count()
        })
        .sum();
    assert!(retained >= 6, "prod keeps its data: {retained}");
}

#[test]
fn reserved_concurrency_is_set_only_where_an_env_sets_it() {
    for env in ["dev", "local", "pr-123", "feature-sample"] {
        let functions = resources_of_type(&service(env), "AWS::Lambda::Function");
        assert!(
            functions[0].1["Properties"]
                .get("ReservedConcurrentExecutions")
                .is_none(),
            "{env}"
        );
    }
    let prod = resources_of_type(&service("prod"), "AWS::Lambda::Function");
    assert_eq!(prod[0].1["Properties"]["ReservedConcurrentExecutions"], 400);
}

#[test]
fn a_replaced_user_pool_or_scope_gives_a_new_deployment() {
    let unbound = service("dev");
    let bind = |pool: &str, scope: &str| {
        let values = std::collections::BTreeMap::from([
            ("UserPoolArn".to_string(), pool.to_string()),
            ("PredictScope".to_string(), scope.to_string()),
        ]);
        deployment_id(&render::api_definition::bind_parameters(&unbound, &values).expect("binds"))
    };
    let a = bind(
        "arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_A",
        "iris-dev/predict",
    );
    assert_eq!(
        a,
        bind(
            "arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_A",
            "iris-dev/predict"
        )
    );
    assert_ne!(
        a,
        bind(
            "arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_B",
            "iris-dev/predict"
        )
    );
    assert_ne!(
        a,
        bind(
            "arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_A",
            "iris-dev/other"
        )
    );
}

#[test]
fn a_model_that_fails_to_load_raises_an_alarm() {
    // The marker the filter counts is what the function logs.
    let handler = include_str!("../../lambda/src/handler.rs");
    assert!(handler.contains("event = \"model_load_failed\""));
    for env in all_envs() {
        let stack = service(&env);
        let filters = resources_of_type(&stack, "AWS::Logs::MetricFilter");
        // The model-load filter, next to the two batch ones (rows scored, failed files).
        assert_eq!(filters.len(), 3, "{env}");
        let f = &filters
            .iter()
            .find(|(id, _)| id == "ModelLoadFailuresFilter")
            .expect("the model-load filter")
            .1["Properties"];
        assert_eq!(f["FilterPattern"], "\"model_load_failed\"", "{env}");
        assert_eq!(f["LogGroupName"]["Ref"], "FunctionLogGroup", "{env}");
        let t = &f["MetricTransformations"][0];
        let alarms = resources_of_type(&stack, "AWS::CloudWatch::Alarm");
        let alarm = alarms
            .iter()
            .find(|(id, _)| id == "ModelLoadFailuresAlarm")
            .map(|(_, a)| &a["Properties"])
            .expect("model-load alarm");
        assert_eq!(alarm["Namespace"], t["MetricNamespace"], "{env}");
        assert_eq!(alarm["MetricName"], t["MetricName"], "{env}");
        assert_eq!(alarm["Threshold"], 1, "{env}");
        assert!(
            alarm["AlarmActions"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        );
    }
}

#[test]
fn every_content_type_is_validated_against_a_strict_schema() {
    for env in all_envs() {
        let stack = service(&env);
        let methods = resources_of_type(&stack, "AWS::ApiGateway::Method");
        let predict = methods
            .iter()
            .find(|(id, _)| id == "PredictMethod")
            .map(|(_, m)| &m["Properties"])
            .expect("predict method");
        let models = predict["RequestModels"]
            .as_object()
            .expect("request models");
        for content_type in ["$default", "application/json"] {
            assert_eq!(models[content_type]["Ref"], "PredictRequestModel", "{env}");
        }
        assert_eq!(predict["RequestValidatorId"]["Ref"], "BodyValidator");
        let model = resources_of_type(&stack, "AWS::ApiGateway::Model");
        let schema = model[0].1["Properties"]["Schema"].clone();
        let [flower, batch] = [&schema["oneOf"][0], &schema["oneOf"][1]];
        assert_eq!(flower["additionalProperties"], false, "{env}");
        assert_eq!(
            flower["required"].as_array().map(Vec::len),
            Some(4),
            "{env}"
        );
        assert_eq!(batch["additionalProperties"], false, "{env}");
        assert_eq!(batch["required"], serde_json::json!(["instances"]));
        assert_eq!(batch["properties"]["instances"]["items"], *flower, "{env}");
    }
}

#[test]
fn throttled_and_failed_integrations_answer_503_with_retry_after() {
    let stack = service("dev");
    let responses = resources_of_type(&stack, "AWS::ApiGateway::GatewayResponse");
    let by_type = |ty: &str| {
        responses
            .iter()
            .find(|(_, r)| r["Properties"]["ResponseType"] == ty)
            .map(|(_, r)| r["Properties"].clone())
            .unwrap_or_else(|| panic!("no {ty} gateway response"))
    };
    let failure = by_type("INTEGRATION_FAILURE");
    assert_eq!(failure["StatusCode"], "503");
    assert_eq!(
        failure["ResponseParameters"]["gatewayresponse.header.Retry-After"],
        "'1'"
    );
    let throttled = by_type("THROTTLED");
    assert_eq!(
        throttled["ResponseParameters"]["gatewayresponse.header.Retry-After"],
        "'1'"
    );
}

#[test]
fn per_client_limits_come_from_a_web_acl_not_a_usage_plan() {
    for env in all_envs() {
        let stack = service(&env);
        assert!(
            resources_of_type(&stack, "AWS::ApiGateway::UsagePlan").is_empty(),
            "{env}: usage-plan limits apply only per API key"
        );
        let acls = resources_of_type(&stack, "AWS::WAFv2::WebACL");
        let associations = resources_of_type(&stack, "AWS::WAFv2::WebACLAssociation");
        if env == "local" {
            assert!(
                acls.is_empty() && associations.is_empty(),
                "emulators have no WAF"
            );
            continue;
        }
        assert_eq!((acls.len(), associations.len()), (1, 1), "{env}");
        let rules = acls[0].1["Properties"]["Rules"]
            .as_array()
            .expect("rules")
            .clone();
        let rate = &rules[0]["Statement"]["RateBasedStatement"];
        assert_eq!(rate["AggregateKeyType"], "IP", "{env}");
        assert!(rate["Limit"].as_u64().is_some_and(|l| l >= 10), "{env}");
        let size = &rules[1]["Statement"]["SizeConstraintStatement"];
        assert_eq!(size["FieldToMatch"]["Body"]["OversizeHandling"], "MATCH");
        assert_eq!(size["ComparisonOperator"], "GT");
        let association = &associations[0].1["Properties"];
        assert!(
            association["ResourceArn"]["Fn::Sub"]
                .as_str()
                .is_some_and(|a| a.ends_with("/restapis/${RestApi}/stages/${Stage}")),
            "{env}"
        );
    }
}

#[test]
fn the_function_reads_only_its_pinned_model_and_can_tell_a_missing_one() {
    for env in all_envs() {
        let stack = service(&env);
        assert!(
            !stack.body.contains("/models/*"),
            "{env}: every model in the bucket"
        );
        let roles = resources_of_type(&stack, "AWS::IAM::Role");
        let role = roles
            .iter()
            .find(|(id, _)| id == "FunctionRole")
            .map(|(_, r)| &r["Properties"])
            .expect("function role");
        let statements = role["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .expect("statements");
        let read = statements
            .iter()
            .find(|s| {
                s["Action"]
                    .as_array()
                    .is_some_and(|a| a.contains(&"s3:GetObject".into()))
            })
            .expect("read statement");
        assert_eq!(
            read["Resource"],
            serde_json::json!([
                {"Fn::Sub": "${ModelBucketArn}/${ModelKey}"},
                {"Fn::Sub": "${ModelBucketArn}/${ManifestKey}"},
            ]),
            "{env}"
        );
        let list = statements
            .iter()
            .find(|s| s["Action"] == "s3:ListBucket")
            .expect("list statement: a missing key is 404, not 403");
        assert_eq!(list["Resource"]["Ref"], "ModelBucketArn");
        assert_eq!(
            list["Condition"]["StringEquals"]["s3:prefix"],
            serde_json::json!([{"Ref": "ModelKey"}, {"Ref": "ManifestKey"}]),
            "{env}"
        );
    }
}

#[test]
fn the_execution_log_group_is_the_stacks_and_exists_before_the_stage() {
    for env in all_envs() {
        let stack = service(&env);
        let d = doc(&stack);
        let group = &d["Resources"]["ExecutionLogGroup"];
        assert_eq!(group["Type"], "AWS::Logs::LogGroup", "{env}");
        assert_eq!(
            group["Properties"]["LogGroupName"]["Fn::Sub"],
            "API-Gateway-Execution-Logs_${RestApi}/v1",
            "{env}"
        );
        assert!(group["Properties"]["RetentionInDays"].is_u64(), "{env}");
        assert_eq!(group["Properties"]["KmsKeyId"]["Ref"], "KmsKeyArn", "{env}");
        assert_eq!(
            d["Resources"]["Stage"]["DependsOn"], "ExecutionLogGroup",
            "{env}"
        );
    }
}

#[test]
fn batch_files_reach_the_function_through_eventbridge_with_least_privilege() {
    for env in all_envs() {
        let stacks = render(&env);
        let storage = &stacks[0];
        let bucket = resources_of_type(storage, "AWS::S3::Bucket")
            .into_iter()
            .find(|(id, _)| id == "ModelBucket")
            .map(|(_, r)| r)
            .expect("model bucket");
        assert_eq!(
            bucket["Properties"]["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"],
            true,
            "{env}: the bucket sends its events to EventBridge"
        );
        // The storage stack refers to nothing of the service stack (no cycle); an image
        // env's repository policy names the function by ARN pattern, not by reference.
        assert!(
            !storage.body.contains("Ref Function") && !storage.body.contains("GetAtt Function"),
            "{env}"
        );

        let service = stacks.last().expect("service");
        let rules = resources_of_type(service, "AWS::Events::Rule");
        assert_eq!(rules.len(), 1, "{env}: one batch rule");
        let rule = &rules[0].1["Properties"];
        let pattern = &rule["EventPattern"];
        assert_eq!(pattern["source"], serde_json::json!(["aws.s3"]), "{env}");
        assert_eq!(
            pattern["detail-type"],
            serde_json::json!(["Object Created"]),
            "{env}"
        );
        assert_eq!(
            pattern["detail"]["bucket"]["name"],
            serde_json::json!([{"Ref": "ModelBucketName"}]),
            "{env}"
        );
        assert_eq!(
            pattern["detail"]["object"]["key"],
            serde_json::json!([{"prefix": "batch/in/"}]),
            "{env}"
        );
        assert_eq!(
            rule["Targets"][0]["Arn"]["Ref"], "LiveAlias",
            "{env}: the batch rule invokes the live alias"
        );
        let permission = resources_of_type(service, "AWS::Lambda::Permission")
            .into_iter()
            .find(|(_, r)| r["Properties"]["Principal"] == "events.amazonaws.com")
            .map(|(_, r)| r)
            .expect("EventBridge may invoke the function");
        assert_eq!(
            permission["Properties"]["SourceArn"]["Fn::GetAtt"][0],
            rules[0].0.as_str(),
            "{env}: only this rule"
        );

        let config = resources_of_type(service, "AWS::Lambda::EventInvokeConfig");
        let props = &config[0].1["Properties"];
        assert_eq!(props["MaximumRetryAttempts"], 2, "{env}");
        assert!(
            props.get("DestinationConfig").is_none(),
            "{env}: a destination on the DLQ too would queue every failure twice"
        );
        let function = resources_of_type(service, "AWS::Lambda::Function");
        assert_eq!(
            function[0].1["Properties"]["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0],
            "DeadLetterQueue"
        );

        let role = resources_of_type(service, "AWS::IAM::Role")
            .into_iter()
            .find(|(id, _)| id == "FunctionRole")
            .map(|(_, r)| r)
            .expect("function role");
        let statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .expect("statements")
            .clone();
        let by_sid = |sid: &str| {
            statements
                .iter()
                .find(|s| s["Sid"] == sid)
                .unwrap_or_else(|| panic!("{env}: statement {sid}"))
                .clone()
        };
        assert_eq!(
            by_sid("ReadBatchInputsOnly")["Resource"],
            serde_json::json!({"Fn::Sub": "${ModelBucketArn}/batch/in/*"})
        );
        let write = by_sid("WriteBatchOutputsOnly");
        assert_eq!(write["Action"], "s3:PutObject");
        assert_eq!(
            write["Resource"],
            serde_json::json!({"Fn::Sub": "${ModelBucketArn}/batch/out/*"})
        );
        let puts: Vec<_> = statements
            .iter()
            .filter(|s| s.to_string().contains("s3:PutObject"))
            .collect();
        assert_eq!(puts.len(), 1, "{env}: the function writes only batch/out/");
    }
}

#[test]
fn an_image_function_is_pinned_by_digest_and_has_no_zip_properties() {
    let zip = render_text("qa", "region: us-east-1\n");
    let image = render_text("qa", "region: us-east-1\nlambda:\n  package: image\n");
    let function = |stacks: &[RenderedStack]| {
        let found = resources_of_type(&stacks[2], "AWS::Lambda::Function");
        assert_eq!(found.len(), 1, "one function");
        found[0].1["Properties"].clone()
    };
    let (z, i) = (function(&zip), function(&image));
    assert_eq!(i["PackageType"], "Image");
    assert_eq!(
        i["Code"],
        serde_json::json!({ "ImageUri": { "Ref": "ImageUri" } })
    );
    for gone in ["Runtime", "Handler"] {
        assert!(i.get(gone).is_none(), "an image function has no {gone}");
        assert!(z.get(gone).is_some(), "a zip function keeps {gone}");
    }
    assert!(z.get("PackageType").is_none() && z["Code"].get("S3Key").is_some());
    // Everything else about the function is the same.
    let strip = |mut p: serde_json::Value| {
        let o = p.as_object_mut().expect("properties");
        for key in ["PackageType", "Runtime", "Handler", "Code"] {
            o.remove(key);
        }
        p
    };
    assert_eq!(strip(z), strip(i));

    let params = doc(&image[2])["Parameters"].clone();
    let pattern = params["ImageUri"]["AllowedPattern"]
        .as_str()
        .expect("ImageUri has a pattern");
    assert_eq!(pattern, "^[^@\\s]+@sha256:[0-9a-f]{64}$", "by digest only");
    for zip_only in irisctl::contract::pins::ZIP_ONLY {
        assert!(params.get(zip_only).is_none(), "{zip_only}");
    }
    assert!(params.get("LambdaCodeSha256").is_some());
    assert!(
        doc(&image[2])["Conditions"]
            .get("HasLambdaCodeVersion")
            .is_none()
    );
    assert!(image[2].body.find("LambdaCodeKey").is_none());

    // Lambda may pull only this env's function's image; a zip env's repository is as before.
    let repository = |stacks: &[RenderedStack]| {
        resources_of_type(&stacks[0], "AWS::ECR::Repository")[0].1["Properties"].clone()
    };
    let policy = repository(&image)["RepositoryPolicyText"].clone();
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], "lambda.amazonaws.com");
    assert_eq!(
        statement["Action"],
        serde_json::json!(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"])
    );
    assert!(
        statement["Condition"]["StringLike"]["aws:sourceArn"]
            .to_string()
            .contains(":function:iris-qa-"),
        "{statement}"
    );
    assert!(repository(&zip).get("RepositoryPolicyText").is_none());
    assert_eq!(repository(&image)["ImageTagMutability"], "IMMUTABLE");
    assert_eq!(
        repository(&image)["ImageScanningConfiguration"]["ScanOnPush"],
        true
    );
    assert_eq!(
        repository(&image)["EncryptionConfiguration"]["EncryptionType"],
        "KMS"
    );

    // The rendered image env passes irisctl's own validation.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("qa.yaml"),
        "region: us-east-1\nlambda:\n  package: image\n",
    )
    .expect("write");
    let config = Config::load(dir.path(), "qa").expect("loads");
    let findings = irisctl::validate::validate_env(&config).expect("validates");
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn every_consumer_invokes_the_live_alias_of_a_retained_release_version() {
    for env in all_envs() {
        let service = service(&env);
        let d = doc(&service);
        let config = Config::load(envs_dir(), &env).expect("env loads");
        let versions = resources_of_type(&service, "AWS::Lambda::Version");
        assert_eq!(versions.len(), 1, "{env}: one release version");
        let (id, version) = &versions[0];
        assert_eq!(id, "ReleaseVersion", "{env}");
        // A replaced version stays (the previous release), and a failed first create
        // leaves none behind.
        assert_eq!(version["UpdateReplacePolicy"], "Retain", "{env}");
        assert_eq!(version["DeletionPolicy"], "RetainExceptOnCreate", "{env}");
        let description = version["Properties"]["Description"]["Fn::Sub"]
            .as_str()
            .expect("description is a Sub");
        assert!(
            description.starts_with(irisctl::release::DESCRIPTION_PREFIX)
                && description.contains("code ${LambdaCodeSha256} model ${ModelSha256} config "),
            "{env}: {description}"
        );

        let aliases = resources_of_type(&service, "AWS::Lambda::Alias");
        assert_eq!(aliases.len(), 1, "{env}");
        let (alias_id, alias) = &aliases[0];
        assert_eq!(alias_id, "LiveAlias");
        assert_eq!(
            alias["Properties"]["Name"],
            irisctl::release::ALIAS,
            "{env}"
        );
        // Every env, emulator envs too: the primary is the new release's version unless a
        // rollout runs, when it is the version rolled out from and the new one gets the
        // rollout's weight.
        let primary = &alias["Properties"]["FunctionVersion"]["Fn::If"];
        assert_eq!(primary[0], "RollingOut", "{env}");
        assert_eq!(primary[1]["Ref"], "RolloutFrom", "{env}");
        assert_eq!(
            primary[2]["Fn::GetAtt"],
            serde_json::json!(["ReleaseVersion", "Version"]),
            "{env}"
        );
        let routing = &alias["Properties"]["RoutingConfig"]["Fn::If"];
        assert_eq!(routing[0], "RollingOut", "{env}");
        let extra = &routing[1]["AdditionalVersionWeights"][0];
        assert_eq!(extra["FunctionWeight"]["Ref"], "RolloutWeight", "{env}");
        assert_eq!(
            extra["FunctionVersion"]["Fn::GetAtt"],
            serde_json::json!(["ReleaseVersion", "Version"]),
            "{env}"
        );
        assert_eq!(routing[2]["Ref"], "AWS::NoValue", "{env}");
        assert_eq!(d["Parameters"]["RolloutFrom"]["Default"], "", "{env}");
        assert_eq!(d["Parameters"]["RolloutWeight"]["MaxValue"], 1, "{env}");

        // The API's integrations, every invoke permission, the batch rule and the
        // async-invoke settings: the alias, never the unqualified function or $LATEST.
        // (A sagemaker env's `POST /predict` invokes its endpoint: sagemaker_backend.rs.)
        for (id, method) in resources_of_type(&service, "AWS::ApiGateway::Method") {
            let uri = method["Properties"]["Integration"]["Uri"]["Fn::Sub"]
                .as_str()
                .expect("integration uri")
                .to_owned();
            if config.is_sagemaker() && id == "PredictMethod" {
                assert!(
                    uri.contains(":runtime.sagemaker:path//endpoints/"),
                    "{env} {id}: {uri}"
                );
                continue;
            }
            assert!(
                uri.contains("/functions/${LiveAlias}/invocations"),
                "{env} {id}: {uri}"
            );
        }
        let permissions = resources_of_type(&service, "AWS::Lambda::Permission");
        assert!(permissions.len() >= 2, "{env}");
        for (id, p) in permissions {
            assert_eq!(
                p["Properties"]["FunctionName"]["Ref"], "LiveAlias",
                "{env} {id}"
            );
        }
        let invoke = resources_of_type(&service, "AWS::Lambda::EventInvokeConfig");
        assert_eq!(
            invoke[0].1["Properties"]["Qualifier"],
            irisctl::release::ALIAS,
            "{env}"
        );
        assert!(
            !service.body.contains("$LATEST") || config.emulator.value,
            "{env}: nothing names $LATEST"
        );
    }
}
