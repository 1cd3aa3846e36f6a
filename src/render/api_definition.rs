//! The API Deployment's identity. API Gateway serves a snapshot of the REST API taken when
//! a Deployment is created, and CloudFormation creates a Deployment only when its logical
//! id is new. So the service template names its Deployment after a hash of the API
//! definition: the `service/api.yaml.j2` partial rendered on its own, with the same
//! context as the full template. A change to anything in that text (paths, methods,
//! authorization, the request model and the batch limit in it, gateway responses) gives a
//! new Deployment; a change outside it (memory, stage throttling, alarms) does not.
//!
//! What the hash cannot see: values the partial receives as CloudFormation parameters
//! (`UserPoolArn`, `PredictScope`) and references resolved by CloudFormation
//! (`${Function.Arn}`) appear in the text only by name, so a change of their value alone
//! does not give a new Deployment. The function's name derives from the same
//! `<project>-<env>` as the API's name, which is in the text; parameter values are not
//! covered yet and are to be handled separately.
//!
//! Must not render anything but the API partial.

use minijinja::Environment;
use serde_json::Value;

use super::RenderError;

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
            let api = render(&templates, &context::build(&config)).expect("api renders");
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
}
