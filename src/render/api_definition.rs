//! The API Deployment's identity. API Gateway serves a snapshot of the REST API taken when
//! a Deployment is created, and CloudFormation creates a Deployment only when its logical
//! id is new. So the service template names its Deployment after a hash of the API
//! definition: the `service/api.yaml.j2` partial rendered on its own, with the same
//! context as the full template. A change to anything in that text (paths, methods,
//! authorization, the request model and the batch limit in it, gateway responses) gives a
//! new Deployment; a change outside it (memory, stage throttling, alarms) does not.
//!
//! What the text cannot show: values the partial receives as CloudFormation parameters
//! (`UserPoolArn`, `PredictScope`) appear in it only by name, yet API Gateway needs a new
//! Deployment after an authorizer changes (a replaced user pool otherwise keeps being
//! checked against the old one: every request 401). Those values are known only once the
//! auth stack is deployed, after rendering, so [`bind_parameters`] renames the Deployment
//! once they are: the hash becomes that of the partial's hash plus the values of every
//! parameter the API definition reads. deploy and plan bind before they compare or
//! deploy the service stack; `irisctl render` (no stack outputs) shows the unbound name.
//! References CloudFormation resolves (`${Function.Arn}`) are not covered: the function's
//! name derives from the same `<project>-<env>` as the API's name, which is in the text.
//!
//! Must not render anything but the API partial.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::Environment;
use serde_json::Value;

use super::{RenderError, RenderedStack, cfn};

/// The partial that holds the API definition (and nothing else).
pub const API_PARTIAL: &str = "service/api.yaml.j2";

/// The context key the service template reads the hash from. The API partial must not
/// read it (it is not set while the partial is hashed, and strict undefined behaviour
/// turns a use into an error).
pub const HASH_KEY: &str = "api_definition_hash";

/// Hex digits of the sha256 kept in the Deployment's logical id and description.
const HASH_LEN: usize = 12;

/// The API partial's rendering and the hash derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiDefinition {
    /// The partial's text, exactly as the service template includes it.
    pub text: String,
    /// The first [`HASH_LEN`] hex digits of the text's sha256.
    pub hash: String,
}

/// Render the API partial with `ctx` and hash the result.
pub fn render(templates: &Environment<'_>, ctx: &Value) -> Result<ApiDefinition, RenderError> {
    let text = templates
        .get_template(API_PARTIAL)
        .and_then(|t| t.render(ctx))
        .map_err(|source| RenderError::Template {
            template: API_PARTIAL,
            source,
        })?;
    let mut hash = crate::digest::sha256_hex(&text);
    hash.truncate(HASH_LEN);
    Ok(ApiDefinition { text, hash })
}

impl ApiDefinition {
    /// Whether `body` holds this definition exactly once, as rendered on its own: what
    /// makes the hash the hash of what is deployed (an indented or duplicated include, or
    /// a partial that renders differently inside the service template, fails it).
    pub fn is_included_once_in(&self, body: &str) -> bool {
        body.matches(self.text.as_str()).count() == 1
    }
}

/// `ctx` with [`HASH_KEY`] set to the definition's hash, for rendering the service template.
pub fn with_hash(ctx: &Value, api: &ApiDefinition) -> Value {
    let mut ctx = ctx.clone();
    if let Value::Object(map) = &mut ctx {
        map.insert(HASH_KEY.to_string(), Value::String(api.hash.clone()));
    }
    ctx
}

/// The resource types an API Gateway Deployment snapshots: what the API partial holds.
const API_DEFINITION_TYPES: [&str; 7] = [
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Authorizer",
    "AWS::ApiGateway::RequestValidator",
    "AWS::ApiGateway::Model",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::GatewayResponse",
];

/// `service` with its Deployment renamed after the API definition's hash and the values
/// (from `values`, normally the earlier stacks' outputs) of every parameter the API
/// definition reads, so a change of any of them creates a new Deployment. A parameter
/// without a value is hashed as absent. A template without a Deployment (not the service
/// stack) comes back unchanged.
pub fn bind_parameters(
    service: &RenderedStack,
    values: &BTreeMap<String, String>,
) -> Result<RenderedStack, cfn::CfnParseError> {
    let doc = cfn::parse(&service.body)?;
    let Some(resources) = doc.get("Resources").and_then(Value::as_object) else {
        return Ok(service.clone());
    };
    let Some(unbound) = resources.iter().find_map(|(id, r)| {
        (r.get("Type").and_then(Value::as_str) == Some("AWS::ApiGateway::Deployment"))
            .then(|| id.strip_prefix(DEPLOYMENT_PREFIX))
            .flatten()
    }) else {
        return Ok(service.clone());
    };
    let mut read = BTreeSet::new();
    for r in resources.values() {
        if r.get("Type")
            .and_then(Value::as_str)
            .is_some_and(|t| API_DEFINITION_TYPES.contains(&t))
        {
            parameters_read(r, &service.parameters_declared, &mut read);
        }
    }
    let mut identity = format!("{unbound}\n");
    for name in &read {
        match values.get(name) {
            Some(value) => identity.push_str(&format!("{name}={value}\n")),
            None => identity.push_str(&format!("{name} absent\n")),
        }
    }
    let mut bound = crate::digest::sha256_hex(&identity);
    bound.truncate(HASH_LEN);
    let mut stack = service.clone();
    stack.body = service
        .body
        .replace(
            &format!("{DEPLOYMENT_PREFIX}{unbound}"),
            &format!("{DEPLOYMENT_PREFIX}{bound}"),
        )
        .replace(
            &format!("API definition {unbound}"),
            &format!(
                "API definition {bound} (template {unbound}, parameters: {})",
                join(&read)
            ),
        );
    Ok(stack)
}

/// The logical id prefix of the Deployment (service/stage.yaml.j2).
const DEPLOYMENT_PREFIX: &str = "ApiDeployment";

fn join(names: &BTreeSet<String>) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Declared parameters `v` reads through `Ref` or a `Sub` variable.
fn parameters_read(v: &Value, declared: &[String], out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(name)) = map.get("Ref")
                && declared.contains(name)
            {
                out.insert(name.clone());
            }
            if let Some(sub) = map.get("Fn::Sub") {
                let text = match sub {
                    Value::String(s) => s.as_str(),
                    Value::Array(items) => items.first().and_then(Value::as_str).unwrap_or(""),
                    _ => "",
                };
                for name in declared {
                    if text.contains(&format!("${{{name}}}")) {
                        out.insert(name.clone());
                    }
                }
            }
            map.values()
                .for_each(|child| parameters_read(child, declared, out));
        }
        Value::Array(items) => items
            .iter()
            .for_each(|child| parameters_read(child, declared, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;
    use crate::render::{context, environment, render_env};

    fn config(env: &str) -> Config {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/environments"));
        Config::load(dir, env).expect("env loads")
    }

    #[test]
    fn the_deployment_is_named_after_the_api_partial_as_rendered() {
        for env in ["dev", "local", "prod"] {
            let config = config(env);
            let templates = environment().expect("templates compile");
            let api = render(
                &templates,
                &context::build(&config, context::Variant::Deployed),
            )
            .expect("api renders");
            let expected = &crate::digest::sha256_hex(&api.text)[..HASH_LEN];
            assert_eq!(api.hash, expected);
            let service = render_env(&config)
                .expect("renders")
                .pop()
                .expect("service stack last");
            assert!(api.is_included_once_in(&service.body), "{env}");
            assert!(api.text.contains("AWS::ApiGateway::RestApi"), "{env}");
            assert!(!api.text.contains("AWS::ApiGateway::Deployment"), "{env}");
            assert!(
                service
                    .body
                    .contains(&format!("  ApiDeployment{expected}:\n")),
                "{env}"
            );
            assert!(
                service
                    .body
                    .contains(&format!("DeploymentId: !Ref ApiDeployment{expected}\n")),
                "{env}"
            );
        }
    }

    #[test]
    fn a_definition_not_included_verbatim_once_is_noticed() {
        let api = ApiDefinition {
            text: "  RestApi:\n    Type: AWS::ApiGateway::RestApi\n".into(),
            hash: "0".repeat(HASH_LEN),
        };
        assert!(api.is_included_once_in(&format!("Resources:\n{}\n", api.text)));
        assert!(!api.is_included_once_in(
            "Resources:\n    RestApi:\n      Type: AWS::ApiGateway::RestApi\n"
        ));
        assert!(!api.is_included_once_in(&format!("{0}{0}", api.text)));
    }

    #[test]
    fn the_hash_is_only_in_the_service_context() {
        let api = ApiDefinition {
            text: String::new(),
            hash: "abc".into(),
        };
        let ctx = serde_json::json!({"env": "dev"});
        let with = with_hash(&ctx, &api);
        assert_eq!(with[HASH_KEY], "abc");
        assert_eq!(with["env"], "dev");
        assert!(ctx.get(HASH_KEY).is_none());
    }

    fn service(env: &str) -> RenderedStack {
        render_env(&config(env))
            .expect("renders")
            .pop()
            .expect("service stack last")
    }

    fn deployment_ids(stack: &RenderedStack) -> Vec<String> {
        let doc = cfn::parse(&stack.body).expect("parses");
        doc["Resources"]
            .as_object()
            .expect("resources")
            .iter()
            .filter(|(_, r)| r["Type"] == "AWS::ApiGateway::Deployment")
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn outputs(pool: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("UserPoolArn".to_string(), pool.to_string()),
            ("PredictScope".to_string(), "iris-dev/predict".to_string()),
            ("ModelSha256".to_string(), "a".repeat(64)),
        ])
    }

    #[test]
    fn a_replaced_user_pool_names_a_new_deployment() {
        let unbound = service("dev");
        let a = bind_parameters(
            &unbound,
            &outputs("arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_A"),
        )
        .expect("binds");
        let b = bind_parameters(
            &unbound,
            &outputs("arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_B"),
        )
        .expect("binds");
        let again = bind_parameters(
            &unbound,
            &outputs("arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_A"),
        )
        .expect("binds");
        assert_eq!(a, again, "the same values name the same Deployment");
        let (ida, idb) = (deployment_ids(&a), deployment_ids(&b));
        assert_eq!((ida.len(), idb.len()), (1, 1));
        assert_ne!(ida, idb, "another pool, another Deployment");
        assert_ne!(ida, deployment_ids(&unbound));
        // The Stage serves the renamed Deployment: no reference to the old name is left.
        assert!(a.body.contains(&format!("DeploymentId: !Ref {}\n", ida[0])));
        let old = &deployment_ids(&unbound)[0];
        assert!(!a.body.contains(&format!("{old}:")), "{old} still declared");
        assert!(a.body.contains("parameters: PredictScope, UserPoolArn)"));
    }

    #[test]
    fn a_value_the_api_does_not_read_keeps_the_deployment() {
        let unbound = service("dev");
        let mut other = outputs("arn:pool");
        let a = bind_parameters(&unbound, &other).expect("binds");
        other.insert("ModelSha256".into(), "b".repeat(64));
        let b = bind_parameters(&unbound, &other).expect("binds");
        assert_eq!(deployment_ids(&a), deployment_ids(&b));
    }

    #[test]
    fn a_scope_change_names_a_new_deployment_and_envs_without_auth_bind_nothing() {
        let unbound = service("dev");
        let mut values = outputs("arn:pool");
        let a = bind_parameters(&unbound, &values).expect("binds");
        values.insert("PredictScope".into(), "iris-dev/other".into());
        let b = bind_parameters(&unbound, &values).expect("binds");
        assert_ne!(deployment_ids(&a), deployment_ids(&b));
        // local's deployed API has no authorizer: it reads no parameter, so only the template
        // counts.
        let local = service("local");
        let x = bind_parameters(&local, &outputs("arn:pool")).expect("binds");
        let y = bind_parameters(&local, &outputs("arn:other")).expect("binds");
        assert_eq!(x, y);
        assert!(x.body.contains("parameters: none)"));
    }

    #[test]
    fn a_template_without_a_deployment_is_left_alone() {
        let storage = render_env(&config("dev")).expect("renders").remove(0);
        assert_eq!(
            bind_parameters(&storage, &outputs("arn:pool")).expect("binds"),
            storage
        );
    }
}
