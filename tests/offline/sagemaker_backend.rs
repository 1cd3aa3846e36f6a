//! `backend: sagemaker`: the rendered endpoint (model by digest, endpoint config per mode,
//! auto scaling, alarms), the API's InvokeEndpoint integration and the roles scoped to
//! it, what stays of the function, and the env files refused. The snapshot of
//! environments/dev-sagemaker.yaml is in rendered_templates.rs with every other env's.

use std::path::Path;

use irisctl::config::{Backend, Config, SagemakerMode};
use irisctl::render::{self, RenderedStack, cfn};
use serde_json::{Value, json};

fn envs_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/environments"))
}

const SERVERLESS: &str = "region: us-east-1\nlambda:\n  package: image\nbackend: sagemaker\n";
const INSTANCE: &str = "region: us-east-1\nlambda:\n  package: image\nbackend: sagemaker\nsagemaker:\n  mode: instance\n  instance_type: ml.m5.large\n  min_instances: 2\n  max_instances: 6\n  target_invocations_per_instance: 700\n";

fn load(text: &str) -> Result<Config, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("qa.yaml"), text).expect("write");
    Config::load(dir.path(), "qa").map_err(|e| e.to_string())
}

fn service_doc(text: &str) -> Value {
    let config = load(text).expect("env loads");
    let stacks = render::render_env(&config).expect("renders");
    cfn::parse(&stacks[2].body).expect("parses")
}

fn of_type(doc: &Value, ty: &str) -> Vec<(String, Value)> {
    doc["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .map(|(id, r)| (id.clone(), r.clone()))
        .collect()
}

fn one(doc: &Value, ty: &str) -> Value {
    let found = of_type(doc, ty);
    assert_eq!(found.len(), 1, "exactly one {ty}");
    found[0].1["Properties"].clone()
}

fn statements(role: &Value) -> Vec<Value> {
    role["Policies"]
        .as_array()
        .expect("policies")
        .iter()
        .flat_map(|p| {
            p["PolicyDocument"]["Statement"]
                .as_array()
                .expect("statements")
                .clone()
        })
        .collect()
}

#[test]
fn the_model_serves_the_envs_image_by_digest_with_its_pinned_model() {
    let doc = service_doc(SERVERLESS);
    let model = one(&doc, "AWS::SageMaker::Model");
    let container = &model["PrimaryContainer"];
    assert_eq!(container["Image"], json!({"Ref": "ImageUri"}));
    let pattern = doc["Parameters"]["ImageUri"]["AllowedPattern"]
        .as_str()
        .expect("pattern");
    assert_eq!(pattern, "^[^@\\s]+@sha256:[0-9a-f]{64}$", "by digest only");
    // The function's image: Lambda and SageMaker run the same bytes.
    let function = one(&doc, "AWS::Lambda::Function");
    assert_eq!(function["Code"]["ImageUri"], container["Image"]);
    // `bootstrap serve` reads the same variables as the function, each from its pin.
    let env = &container["Environment"];
    for (var, pin) in [
        ("MODEL_BUCKET", "ModelBucketName"),
        ("MODEL_KEY", "ModelKey"),
        ("MODEL_VERSION_ID", "ModelVersionId"),
        ("MODEL_SHA256", "ModelSha256"),
        ("MANIFEST_KEY", "ManifestKey"),
        ("MANIFEST_VERSION_ID", "ManifestVersionId"),
    ] {
        assert_eq!(env[var], json!({"Ref": pin}), "{var}");
        assert_eq!(
            function["Environment"]["Variables"][var], env[var],
            "{var} as the function has it"
        );
    }
    assert!(container.get("ModelDataUrl").is_none());
    assert_eq!(
        model["ExecutionRoleArn"],
        json!({"Fn::GetAtt": ["EndpointRole", "Arn"]})
    );
}

#[test]
fn the_container_role_reads_only_its_image_pinned_objects_key_and_logs() {
    let doc = service_doc(SERVERLESS);
    let (_, role) = of_type(&doc, "AWS::IAM::Role")
        .into_iter()
        .find(|(id, _)| id == "EndpointRole")
        .expect("EndpointRole");
    let role = &role["Properties"];
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "sagemaker.amazonaws.com"
    );
    let by_sid = |sid: &str| {
        statements(role)
            .into_iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("statement {sid}"))
    };
    assert_eq!(
        by_sid("PullOnlyTheEnvImage")["Resource"],
        json!({"Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${RepositoryName}"})
    );
    assert_eq!(
        by_sid("ReadItsPinnedModelOnly")["Resource"],
        json!([{"Fn::Sub": "${ModelBucketArn}/${ModelKey}"}, {"Fn::Sub": "${ModelBucketArn}/${ManifestKey}"}])
    );
    assert_eq!(
        by_sid("UseOnlyTheEnvKey")["Resource"],
        json!({"Ref": "KmsKeyArn"})
    );
    assert_eq!(
        by_sid("WriteOnlyItsLogGroup")["Resource"],
        json!({"Fn::GetAtt": ["EndpointLogGroup", "Arn"]})
    );
    // The only "*": the registry token, which has no resource-level permissions.
    for s in statements(role) {
        if s["Resource"] == "*" {
            assert_eq!(s["Action"], "ecr:GetAuthorizationToken", "{s}");
        }
    }
    let log_group = of_type(&doc, "AWS::Logs::LogGroup")
        .into_iter()
        .find(|(id, _)| id == "EndpointLogGroup")
        .expect("EndpointLogGroup")
        .1;
    assert_eq!(
        log_group["Properties"]["LogGroupName"],
        "/aws/sagemaker/Endpoints/iris-qa-endpoint"
    );
    assert_eq!(
        log_group["Properties"]["KmsKeyId"],
        json!({"Ref": "KmsKeyArn"})
    );
    assert!(doc["Parameters"].get("RepositoryName").is_some());
}

#[test]
fn serverless_is_the_default_and_takes_no_kms_key() {
    let config = load(SERVERLESS).expect("loads");
    assert_eq!(config.backend.value, Backend::Sagemaker);
    assert_eq!(config.sagemaker.mode.value, SagemakerMode::Serverless);
    let doc = service_doc(SERVERLESS);
    let ec = one(&doc, "AWS::SageMaker::EndpointConfig");
    let variants = ec["ProductionVariants"].as_array().expect("variants");
    assert_eq!(variants.len(), 1);
    assert_eq!(variants[0]["VariantName"], "primary");
    assert_eq!(
        variants[0]["ModelName"],
        json!({"Fn::GetAtt": ["Model", "ModelName"]})
    );
    assert_eq!(
        variants[0]["ServerlessConfig"],
        json!({"MemorySizeInMB": 1024, "MaxConcurrency": 10})
    );
    assert!(variants[0].get("InstanceType").is_none());
    assert!(ec.get("KmsKeyId").is_none(), "serverless refuses KmsKeyId");
    assert!(of_type(&doc, "AWS::ApplicationAutoScaling::ScalableTarget").is_empty());
    let endpoint = one(&doc, "AWS::SageMaker::Endpoint");
    assert_eq!(endpoint["EndpointName"], "iris-qa-endpoint");
    assert_eq!(
        endpoint["EndpointConfigName"],
        json!({"Fn::GetAtt": ["EndpointConfig", "EndpointConfigName"]})
    );
    // No fixed name on what a change replaces (a custom-named replacement fails).
    assert!(ec.get("EndpointConfigName").is_none());
    assert!(
        one(&doc, "AWS::SageMaker::Model")
            .get("ModelName")
            .is_none()
    );
}

#[test]
fn instance_mode_has_a_kms_key_and_target_tracking_auto_scaling() {
    let doc = service_doc(INSTANCE);
    let ec = one(&doc, "AWS::SageMaker::EndpointConfig");
    let v = &ec["ProductionVariants"][0];
    assert_eq!(v["InstanceType"], "ml.m5.large");
    assert_eq!(v["InitialInstanceCount"], 2);
    assert!(v.get("ServerlessConfig").is_none());
    assert_eq!(ec["KmsKeyId"], json!({"Ref": "KmsKeyArn"}));
    let target = one(&doc, "AWS::ApplicationAutoScaling::ScalableTarget");
    assert_eq!(target["ServiceNamespace"], "sagemaker");
    assert_eq!(
        target["ScalableDimension"],
        "sagemaker:variant:DesiredInstanceCount"
    );
    assert_eq!(
        target["ResourceId"],
        json!({"Fn::Sub": "endpoint/${Endpoint.EndpointName}/variant/primary"})
    );
    assert_eq!(
        (target["MinCapacity"].clone(), target["MaxCapacity"].clone()),
        (json!(2), json!(6))
    );
    let policy = one(&doc, "AWS::ApplicationAutoScaling::ScalingPolicy");
    assert_eq!(policy["PolicyType"], "TargetTrackingScaling");
    assert_eq!(
        policy["ScalingTargetId"],
        json!({"Ref": "EndpointScalableTarget"})
    );
    let tracking = &policy["TargetTrackingScalingPolicyConfiguration"];
    assert_eq!(tracking["TargetValue"], 700);
    assert_eq!(
        tracking["PredefinedMetricSpecification"]["PredefinedMetricType"],
        "SageMakerVariantInvocationsPerInstance"
    );
}

#[test]
fn predict_invokes_the_endpoint_through_a_role_scoped_to_it_and_model_stays_on_the_function() {
    let doc = service_doc(SERVERLESS);
    let resources = &doc["Resources"];
    let predict = &resources["PredictMethod"]["Properties"];
    let integration = &predict["Integration"];
    assert_eq!(integration["Type"], "AWS");
    assert_eq!(integration["IntegrationHttpMethod"], "POST");
    assert_eq!(
        integration["Uri"],
        json!({"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:runtime.sagemaker:path//endpoints/${Endpoint.EndpointName}/invocations"})
    );
    assert_eq!(
        integration["Credentials"],
        json!({"Fn::GetAtt": ["ApiInvokeEndpointRole", "Arn"]})
    );
    assert_eq!(
        integration["RequestParameters"]["integration.request.header.Content-Type"],
        "'application/json'"
    );
    // The same front as the Lambda path: authorizer, scope, validator, schema.
    assert_eq!(predict["AuthorizationType"], "COGNITO_USER_POOLS");
    assert_eq!(
        predict["AuthorizationScopes"],
        json!([{"Ref": "PredictScope"}])
    );
    assert_eq!(
        predict["RequestValidatorId"],
        json!({"Ref": "BodyValidator"})
    );
    assert!(predict["RequestModels"].get("$default").is_some());
    // The container's own 4xx keeps its status and body; busy is 503 with Retry-After.
    let responses = integration["IntegrationResponses"]
        .as_array()
        .expect("responses");
    let by_pattern = |p: &str| {
        responses
            .iter()
            .find(|r| r["SelectionPattern"] == p)
            .unwrap_or_else(|| panic!("a response for {p}"))
    };
    let model_error = by_pattern("424")["ResponseTemplates"]["application/json"]
        .as_str()
        .expect("template")
        .to_string();
    assert!(
        model_error
            .contains("$context.responseOverride.status = $input.path('$.OriginalStatusCode')")
    );
    assert!(model_error.ends_with("$input.path('$.OriginalMessage')"));
    let busy = by_pattern("429|503");
    assert_eq!(busy["StatusCode"], "503");
    assert_eq!(
        busy["ResponseParameters"]["method.response.header.Retry-After"],
        "'1'"
    );
    let other = responses
        .iter()
        .find(|r| r["StatusCode"] == "500")
        .expect("500")["SelectionPattern"]
        .as_str()
        .expect("pattern")
        .to_string();
    let re = |code: u16| {
        // API Gateway matches the whole status against the pattern.
        let c = code.to_string();
        top_level_alternatives(&other)
            .iter()
            .any(|alt| full_match(alt, &c))
    };
    for code in [400, 403, 404, 408, 413, 415, 500, 502, 504, 599] {
        assert!(re(code), "{code} falls to 500");
    }
    for code in [424, 429, 503] {
        assert!(!re(code), "{code} has its own response");
    }

    // GET /model and the batch rule still go to the function's live alias.
    let model = &resources["ModelMethod"]["Properties"]["Integration"];
    assert_eq!(model["Type"], "AWS_PROXY");
    assert!(resources.get("ModelMethodPermission").is_some());
    assert!(
        resources.get("PredictMethodPermission").is_none(),
        "no Lambda permission for a method that never invokes it"
    );
    assert!(resources.get("BatchRule").is_some());

    // The integration's role may call InvokeEndpoint on this endpoint only.
    let role = &resources["ApiInvokeEndpointRole"]["Properties"];
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "apigateway.amazonaws.com"
    );
    let s = statements(role);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["Action"], "sagemaker:InvokeEndpoint");
    assert_eq!(
        s[0]["Resource"],
        json!({"Ref": "Endpoint"}),
        "Ref of an endpoint is its ARN"
    );
    assert_eq!(
        doc["Outputs"]["EndpointName"]["Value"],
        json!({"Fn::GetAtt": ["Endpoint", "EndpointName"]})
    );
}

/// `pattern` split at its `|`s outside parentheses.
fn top_level_alternatives(pattern: &str) -> Vec<String> {
    let (mut out, mut current, mut depth) = (Vec::new(), String::new(), 0);
    for c in pattern.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '|' if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out
}

/// `alt` is a regex of digits, `\d`, `[...]` classes and one level of `(a|b)` groups:
/// enough to check the rendered pattern without a regex crate.
fn full_match(alt: &str, s: &str) -> bool {
    fn expand(p: &str) -> Vec<String> {
        if let Some(open) = p.find('(') {
            let close = open + p[open..].find(')').expect("closing paren");
            let (head, body, tail) = (&p[..open], &p[open + 1..close], &p[close + 1..]);
            body.split('|')
                .flat_map(|b| expand(&format!("{head}{b}{tail}")))
                .collect()
        } else {
            vec![p.to_string()]
        }
    }
    fn matches(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (None, _) | (_, None) => false,
            (Some(b'\\'), Some(c)) => {
                p.get(1) == Some(&b'd') && c.is_ascii_digit() && matches(&p[2..], &s[1..])
            }
            (Some(b'['), Some(c)) => {
                let end = p.iter().position(|&b| b == b']').expect("class end");
                let class = &p[1..end];
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == b'-' {
                        hit |= (class[i]..=class[i + 2]).contains(c);
                        i += 3;
                    } else {
                        hit |= class[i] == *c;
                        i += 1;
                    }
                }
                hit && matches(&p[end + 1..], &s[1..])
            }
            (Some(a), Some(c)) => a == c && matches(&p[1..], &s[1..]),
        }
    }
    expand(alt)
        .iter()
        .any(|p| matches(p.as_bytes(), s.as_bytes()))
}

#[test]
fn the_endpoint_alarms_watch_errors_and_model_latency() {
    let doc = service_doc(SERVERLESS);
    let alarms = of_type(&doc, "AWS::CloudWatch::Alarm");
    let get = |id: &str| {
        alarms
            .iter()
            .find(|(i, _)| i == id)
            .unwrap_or_else(|| panic!("alarm {id}"))
            .1["Properties"]
            .clone()
    };
    for (id, metric) in [
        ("Endpoint4xxAlarm", "Invocation4XXErrors"),
        ("Endpoint5xxAlarm", "Invocation5XXErrors"),
        ("EndpointModelLatencyP99Alarm", "ModelLatency"),
    ] {
        let a = get(id);
        assert_eq!(a["Namespace"], "AWS/SageMaker", "{id}");
        assert_eq!(a["MetricName"], metric, "{id}");
        assert_eq!(
            a["Dimensions"],
            json!([
                {"Name": "EndpointName", "Value": {"Fn::GetAtt": ["Endpoint", "EndpointName"]}},
                {"Name": "VariantName", "Value": "primary"},
            ]),
            "{id}"
        );
        assert_eq!(a["AlarmActions"], json!([{"Ref": "AlarmTopic"}]), "{id}");
    }
    // ModelLatency is in microseconds: the 1000 ms default is 1,000,000.
    assert_eq!(get("EndpointModelLatencyP99Alarm")["Threshold"], 1_000_000);
    assert_eq!(
        get("EndpointModelLatencyP99Alarm")["ExtendedStatistic"],
        "p99"
    );
}

#[test]
fn the_sample_env_renders_and_passes_validation() {
    let config = Config::load(envs_dir(), "dev-sagemaker").expect("dev-sagemaker loads");
    assert!(config.is_sagemaker());
    let findings = irisctl::validate::validate_env(&config).expect("validates");
    assert!(findings.is_empty(), "{findings:?}");
    for text in [SERVERLESS, INSTANCE] {
        let config = load(text).expect("loads");
        let findings = irisctl::validate::validate_env(&config).expect("validates");
        assert!(findings.is_empty(), "{findings:?}");
    }
}

#[test]
fn lambda_envs_render_no_sagemaker_resource() {
    for env in ["dev", "staging", "prod", "local"] {
        let config = Config::load(envs_dir(), env).expect("loads");
        assert_eq!(
            config.backend.value,
            Backend::Lambda,
            "{env}: lambda is the default"
        );
        let stacks: Vec<RenderedStack> = render::render_env(&config).expect("renders");
        for stack in &stacks {
            assert!(!stack.body.contains("SageMaker"), "{env}: {}", stack.name);
            assert!(!stack.body.contains("sagemaker"), "{env}: {}", stack.name);
        }
    }
}

#[test]
fn bad_sagemaker_settings_are_refused_with_their_position() {
    let image = "lambda:\n  package: image\n";
    for (text, expected) in [
        (
            "backend: ec2\n".to_string(),
            "qa.yaml:1:10: `backend` is `ec2`; allowed: lambda, sagemaker".to_string(),
        ),
        (
            "backend: sagemaker\n".to_string(),
            "needs `lambda.package: image`".to_string(),
        ),
        (
            "sagemaker:\n  mode: serverless\n".to_string(),
            "`sagemaker:` only applies with `backend: sagemaker`".to_string(),
        ),
        (
            "alarms:\n  endpoint_5xx: 3\n".to_string(),
            "`alarms.endpoint_5xx` only applies with `backend: sagemaker`".to_string(),
        ),
        (
            format!("{image}backend: sagemaker\nsagemaker:\n  memory_mb: 1500\n"),
            "qa.yaml:5:14: `sagemaker.memory_mb` is 1500; serverless inference takes [1024, 2048, 3072, 4096, 5120, 6144]".to_string(),
        ),
        (
            format!("{image}backend: sagemaker\nsagemaker:\n  memory_mb: 8192\n"),
            "`sagemaker.memory_mb` is 8192".to_string(),
        ),
        (
            format!("{image}backend: sagemaker\nsagemaker:\n  max_concurrency: 201\n"),
            "`sagemaker.max_concurrency` is 201, out of range: allowed 1..=200".to_string(),
        ),
        (
            format!("{image}backend: sagemaker\nsagemaker:\n  mode: batch\n"),
            "`sagemaker.mode` is `batch`; allowed: serverless, instance".to_string(),
        ),
        (
            format!("{image}backend: sagemaker\nsagemaker:\n  instance_type: ml.m5.large\n"),
            "`sagemaker.instance_type` only applies with `sagemaker.mode: instance`".to_string(),
        ),
        (
            format!("{image}backend: sagemaker\nsagemaker:\n  mode: instance\n  memory_mb: 2048\n"),
            "`sagemaker.memory_mb` only applies with `sagemaker.mode: serverless`".to_string(),
        ),
        (
            format!("{image}backend: sagemaker\nsagemaker:\n  mode: instance\n  instance_type: ml.m6g.large\n"),
            "no Graviton".to_string(),
        ),
        (
            format!("{image}backend: sagemaker\nsagemaker:\n  mode: instance\n  instance_type: ml.m5d.large\n"),
            "`sagemaker.instance_type` is `ml.m5d.large`".to_string(),
        ),
        (
            format!("{image}backend: sagemaker\nsagemaker:\n  mode: instance\n  instance_type: m5.large\n"),
            "`sagemaker.instance_type` is `m5.large`".to_string(),
        ),
        (
            format!("{image}backend: sagemaker\nsagemaker:\n  mode: instance\n  min_instances: 3\n  max_instances: 2\n"),
            "`sagemaker.min_instances` 3 is more than `sagemaker.max_instances` 2".to_string(),
        ),
        (
            format!("{image}backend: sagemaker\nsagemaker:\n  mode: instance\n  min_instances: 0\n"),
            "`sagemaker.min_instances` is 0, out of range: allowed 1..=100".to_string(),
        ),
        (
            format!("{image}backend: sagemaker\nsagemaker:\n  memory: 1024\n"),
            "did you mean `memory_mb`?".to_string(),
        ),
    ] {
        let err = load(&text).expect_err(&text);
        assert!(err.contains(&expected), "{text}\n  gave: {err}\n  want: {expected}");
    }
}

#[test]
fn an_emulator_env_cannot_take_the_sagemaker_backend() {
    let text =
        "emulator: true\nauth:\n  mode: none\nlambda:\n  package: image\nbackend: sagemaker\n";
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("local.yaml"), text).expect("write");
    let err = Config::load(dir.path(), "local")
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("LocalStack's CloudFormation has no SageMaker"),
        "{err}"
    );
}

#[test]
fn a_model_push_may_replace_the_model_and_roll_out_its_endpoint_config() {
    let doc = service_doc(SERVERLESS);
    let allowed = irisctl::deploy::pins::touched_by_pins(
        &doc,
        &["ModelKey", "ModelSha256", "ModelVersionId"],
    );
    for id in [
        "Function",
        "Model",
        "EndpointConfig",
        "Endpoint",
        "EndpointRole",
    ] {
        assert!(allowed.contains(id), "{id} in {allowed:?}");
    }
    assert!(!allowed.contains("ApiInvokeEndpointRole"));
}

#[test]
fn destroys_receipt_looks_for_the_endpoints_log_group_and_the_stack_declares_it() {
    let config = load(SERVERLESS).expect("loads");
    let prefixes = irisctl::destroy::look::log_group_prefixes(&config);
    assert!(
        prefixes.contains(&"/aws/sagemaker/Endpoints/iris-qa-endpoint".to_string()),
        "{prefixes:?}"
    );
    let lambda = load("region: us-east-1\n").expect("loads");
    assert!(
        !irisctl::destroy::look::log_group_prefixes(&lambda)
            .iter()
            .any(|p| p.contains("sagemaker"))
    );
    // Everything SageMaker-side is a resource of the service stack, so DeleteStack takes
    // it; a protected env keeps only the log group, like the function's.
    let doc = service_doc(SERVERLESS);
    for (id, r) in doc["Resources"].as_object().expect("resources") {
        let ty = r["Type"].as_str().expect("type");
        if ty.starts_with("AWS::SageMaker::") || ty.starts_with("AWS::ApplicationAutoScaling::") {
            assert!(
                r.get("DeletionPolicy").is_none(),
                "{id}: deleted with the stack"
            );
        }
    }
    let protected = service_doc(&format!("protected: true\n{SERVERLESS}"));
    assert_eq!(
        protected["Resources"]["EndpointLogGroup"]["DeletionPolicy"],
        "RetainExceptOnCreate"
    );
}
