//! The API definition read back from a rendered service stack: each method's path, verb,
//! authorization and request models, the stage's throttle and the gateway responses.
//! Reading the rendered CloudFormation (not the config) is the point: whatever the
//! template says is what local serve enforces. Anything the template holds that this
//! reader does not understand is an error, never silently skipped, so the local contract
//! cannot quietly drift from the deployed one.

use std::collections::BTreeMap;

use serde_json::Value;

use super::responses::GatewayResponse;
use crate::render::cfn;

/// What API Gateway enforces for one env.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiContract {
    pub methods: Vec<MethodSpec>,
    /// The stage's default method throttle (`MethodSettings` for `/*` `*`).
    pub throttle: Option<Throttle>,
    /// Gateway responses by response type (`THROTTLED`, `DEFAULT_4XX`, ...).
    pub responses: BTreeMap<String, GatewayResponse>,
}

/// One method of the REST API.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodSpec {
    /// `POST`, `GET`, ...
    pub verb: String,
    /// The resource path, `/predict`.
    pub path: String,
    pub authorization: Authorization,
    /// Request models by content type (`application/json`, `$default`), present only
    /// when the method's request validator validates bodies.
    pub body_models: BTreeMap<String, Value>,
}

/// How a method authorizes a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Authorization {
    None,
    /// `COGNITO_USER_POOLS`: a user pool token in `header`; with `scopes`, an access
    /// token carrying one of them (without, an ID token).
    CognitoUserPools {
        header: String,
        scopes: Vec<String>,
    },
}

/// Stage throttling: steady requests per second and the bucket size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    pub rate: f64,
    pub burst: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("the service template does not parse: {0}")]
    Parse(#[from] cfn::CfnParseError),
    #[error("the service template's {resource}: {what}")]
    Shape { resource: String, what: String },
}

impl ApiContract {
    /// Whether any method needs a token.
    pub fn has_authorizer(&self) -> bool {
        self.methods
            .iter()
            .any(|m| matches!(m.authorization, Authorization::CognitoUserPools { .. }))
    }

    /// The method serving `verb path`, if the API has one.
    pub fn method(&self, verb: &str, path: &str) -> Option<&MethodSpec> {
        let path = match path.trim_end_matches('/') {
            "" => "/",
            p => p,
        };
        self.methods
            .iter()
            .find(|m| m.verb.eq_ignore_ascii_case(verb) && m.path == path)
    }

    /// Every scope a method of the API accepts.
    pub fn scopes(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .methods
            .iter()
            .flat_map(|m| match &m.authorization {
                Authorization::CognitoUserPools { scopes, .. } => scopes.clone(),
                Authorization::None => Vec::new(),
            })
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// Read the contract from a rendered service stack. `parameters` gives the values of the
/// stack parameters the API definition reads (`PredictScope`); a parameter read without a
/// value is an error.
pub fn read(
    body: &str,
    parameters: &BTreeMap<String, String>,
) -> Result<ApiContract, ContractError> {
    let doc = cfn::parse(body)?;
    let resources = doc
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or_else(|| shape("Resources", "missing"))?;
    let of_type = |ty: &str| -> Vec<(&String, &Value)> {
        resources
            .iter()
            .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
            .collect()
    };
    let mut methods = Vec::new();
    for (id, method) in of_type("AWS::ApiGateway::Method") {
        methods.push(read_method(id, method, resources, parameters)?);
    }
    methods.sort_by(|a, b| (&a.path, &a.verb).cmp(&(&b.path, &b.verb)));
    if methods.is_empty() {
        return Err(shape("Resources", "declares no AWS::ApiGateway::Method"));
    }
    let mut throttle = None;
    for (id, stage) in of_type("AWS::ApiGateway::Stage") {
        throttle = read_throttle(id, stage)?;
    }
    let mut responses = BTreeMap::new();
    for (id, response) in of_type("AWS::ApiGateway::GatewayResponse") {
        let props = props(id, response)?;
        let ty = string(id, props, "ResponseType")?;
        responses.insert(ty.to_owned(), GatewayResponse::read(id, props)?);
    }
    Ok(ApiContract {
        methods,
        throttle,
        responses,
    })
}

fn read_method(
    id: &str,
    method: &Value,
    resources: &serde_json::Map<String, Value>,
    parameters: &BTreeMap<String, String>,
) -> Result<MethodSpec, ContractError> {
    let p = props(id, method)?;
    let verb = string(id, p, "HttpMethod")?.to_owned();
    let path = resource_path(id, p.get("ResourceId"), resources)?;
    let authorization = match string(id, p, "AuthorizationType")? {
        "NONE" => Authorization::None,
        "COGNITO_USER_POOLS" => {
            let authorizer_id = reference(p.get("AuthorizerId"))
                .ok_or_else(|| shape(id, "COGNITO_USER_POOLS without an AuthorizerId Ref"))?;
            let authorizer = resources.get(authorizer_id).ok_or_else(|| {
                shape(
                    id,
                    format!("AuthorizerId names {authorizer_id}, which is not a resource"),
                )
            })?;
            let ap = props(authorizer_id, authorizer)?;
            if string(authorizer_id, ap, "Type")? != "COGNITO_USER_POOLS" {
                return Err(shape(
                    authorizer_id,
                    "is not a COGNITO_USER_POOLS authorizer",
                ));
            }
            let source = string(authorizer_id, ap, "IdentitySource")?;
            let header = source
                .strip_prefix("method.request.header.")
                .ok_or_else(|| {
                    shape(
                        authorizer_id,
                        format!("IdentitySource {source} is not a request header"),
                    )
                })?
                .to_owned();
            let scopes = match p.get("AuthorizationScopes") {
                None => Vec::new(),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| resolve(id, v, parameters))
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(shape(id, "AuthorizationScopes is not a list")),
            };
            Authorization::CognitoUserPools { header, scopes }
        }
        other => {
            return Err(shape(
                id,
                format!("AuthorizationType {other} is not one local serve enforces"),
            ));
        }
    };
    let validates_body = match reference(p.get("RequestValidatorId")) {
        None => false,
        Some(validator) => {
            let v = resources.get(validator).ok_or_else(|| {
                shape(
                    id,
                    format!("RequestValidatorId names {validator}, which is not a resource"),
                )
            })?;
            props(validator, v)?
                .get("ValidateRequestBody")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        }
    };
    let mut body_models = BTreeMap::new();
    if validates_body && let Some(models) = p.get("RequestModels").and_then(Value::as_object) {
        for (content_type, model_ref) in models {
            let model_id = reference(Some(model_ref)).ok_or_else(|| {
                shape(
                    id,
                    format!("RequestModels {content_type} is not a Ref to a model"),
                )
            })?;
            let model = resources.get(model_id).ok_or_else(|| {
                shape(
                    id,
                    format!("RequestModels names {model_id}, which is not a resource"),
                )
            })?;
            let schema = match props(model_id, model)?.get("Schema") {
                Some(Value::String(text)) => serde_json::from_str(text)
                    .map_err(|e| shape(model_id, format!("Schema is not JSON: {e}")))?,
                Some(v @ Value::Object(_)) => v.clone(),
                _ => return Err(shape(model_id, "has no Schema")),
            };
            super::schema::check_supported(&schema).map_err(|what| shape(model_id, what))?;
            body_models.insert(content_type.clone(), schema);
        }
    }
    Ok(MethodSpec {
        verb,
        path,
        authorization,
        body_models,
    })
}

/// `/a/b` for a method's `ResourceId`, walking `ParentId` up to the API's root.
fn resource_path(
    id: &str,
    resource_id: Option<&Value>,
    resources: &serde_json::Map<String, Value>,
) -> Result<String, ContractError> {
    let mut parts = Vec::new();
    let mut current = resource_id;
    for _ in 0..32 {
        if is_root(current) {
            parts.reverse();
            return Ok(format!("/{}", parts.join("/")));
        }
        let rid = reference(current)
            .ok_or_else(|| shape(id, "ResourceId is neither the root nor a Ref"))?;
        let r = resources.get(rid).ok_or_else(|| {
            shape(
                id,
                format!("ResourceId names {rid}, which is not a resource"),
            )
        })?;
        let rp = props(rid, r)?;
        parts.push(string(rid, rp, "PathPart")?.to_owned());
        current = rp.get("ParentId");
    }
    Err(shape(id, "resource path deeper than 32 levels"))
}

fn is_root(v: Option<&Value>) -> bool {
    v.and_then(|v| v.get("Fn::GetAtt"))
        .and_then(Value::as_array)
        .and_then(|a| a.get(1))
        .and_then(Value::as_str)
        == Some("RootResourceId")
}

fn read_throttle(id: &str, stage: &Value) -> Result<Option<Throttle>, ContractError> {
    let p = props(id, stage)?;
    let Some(settings) = p.get("MethodSettings").and_then(Value::as_array) else {
        return Ok(None);
    };
    for s in settings {
        let all = s.get("ResourcePath").and_then(Value::as_str) == Some("/*")
            && s.get("HttpMethod").and_then(Value::as_str) == Some("*");
        if !all {
            return Err(shape(
                id,
                "MethodSettings for single methods are not enforced locally",
            ));
        }
        let rate = s.get("ThrottlingRateLimit").and_then(Value::as_f64);
        let burst = s.get("ThrottlingBurstLimit").and_then(Value::as_u64);
        if let (Some(rate), Some(burst)) = (rate, burst) {
            let burst =
                u32::try_from(burst).map_err(|_| shape(id, "ThrottlingBurstLimit out of range"))?;
            return Ok(Some(Throttle { rate, burst }));
        }
    }
    Ok(None)
}

fn props<'a>(id: &str, r: &'a Value) -> Result<&'a serde_json::Map<String, Value>, ContractError> {
    r.get("Properties")
        .and_then(Value::as_object)
        .ok_or_else(|| shape(id, "has no Properties"))
}

pub(super) fn string<'a>(
    id: &str,
    p: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<&'a str, ContractError> {
    p.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| shape(id, format!("{key} is missing or not a string")))
}

fn reference(v: Option<&Value>) -> Option<&str> {
    v?.get("Ref")?.as_str()
}

/// A string, or a `Ref` to a parameter whose value is known.
fn resolve(
    id: &str,
    v: &Value,
    parameters: &BTreeMap<String, String>,
) -> Result<String, ContractError> {
    if let Some(s) = v.as_str() {
        return Ok(s.to_owned());
    }
    let name = reference(Some(v))
        .ok_or_else(|| shape(id, format!("{v} is neither a string nor a Ref")))?;
    parameters.get(name).cloned().ok_or_else(|| {
        shape(
            id,
            format!("reads parameter {name}, whose value is not known"),
        )
    })
}

pub(super) fn shape(resource: &str, what: impl Into<String>) -> ContractError {
    ContractError::Shape {
        resource: resource.to_owned(),
        what: what.into(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    pub(crate) fn contract_of(env: &str) -> ApiContract {
        contract_as(env, crate::render::Variant::Deployed)
    }

    fn contract_as(env: &str, variant: crate::render::Variant) -> ApiContract {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/environments"));
        let config = Config::load(dir, env).expect("env loads");
        let service = crate::render::render_variant(&config, variant)
            .expect("renders")
            .pop()
            .expect("service stack last");
        let params = BTreeMap::from([(
            "PredictScope".to_owned(),
            crate::render::context::predict_scope(&config),
        )]);
        read(&service.body, &params).expect("contract reads")
    }

    #[test]
    fn dev_requires_the_predict_scope_on_every_method() {
        let c = contract_of("dev");
        let scope = "iris-dev-api/predict";
        let paths: Vec<(&str, &str)> = c
            .methods
            .iter()
            .map(|m| (m.verb.as_str(), m.path.as_str()))
            .collect();
        assert_eq!(paths, [("GET", "/model"), ("POST", "/predict")]);
        for m in &c.methods {
            assert_eq!(
                m.authorization,
                Authorization::CognitoUserPools {
                    header: "Authorization".into(),
                    scopes: vec![scope.into()],
                },
                "{}",
                m.path
            );
        }
        let predict = c.method("POST", "/predict").expect("predict");
        assert_eq!(
            predict.body_models.keys().collect::<Vec<_>>(),
            ["$default", "application/json"]
        );
        assert!(
            c.method("GET", "/model")
                .expect("model")
                .body_models
                .is_empty()
        );
        assert_eq!(
            c.throttle,
            Some(Throttle {
                rate: 10.0,
                burst: 20
            })
        );
        assert!(c.responses.contains_key("THROTTLED"));
        assert!(c.has_authorizer());
        assert_eq!(c.scopes(), [scope]);
    }

    #[test]
    fn the_emulator_env_deploys_open_methods_and_local_serve_enforces_its_authorizer() {
        let c = contract_of("local");
        assert!(!c.has_authorizer());
        assert!(c.method("post", "/predict/").is_some());
        assert!(c.method("GET", "/predict").is_none());
        let enforced = contract_as("local", crate::render::Variant::LocalContract);
        assert!(enforced.has_authorizer());
        assert_eq!(enforced.scopes(), ["iris-local-api/predict"]);
        // Everything but the authorizer is the same contract.
        assert_eq!(enforced.throttle, c.throttle);
        assert_eq!(enforced.methods.len(), c.methods.len());
        // Envs on AWS render one contract.
        let dev = contract_of("dev");
        assert_eq!(
            contract_as("dev", crate::render::Variant::LocalContract).scopes(),
            dev.scopes()
        );
    }

    #[test]
    fn an_unknown_parameter_or_authorization_is_an_error() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/environments"));
        let config = Config::load(dir, "dev").expect("env loads");
        let body = crate::render::render_env(&config)
            .expect("renders")
            .pop()
            .expect("service")
            .body;
        let err = read(&body, &BTreeMap::new()).expect_err("no PredictScope value");
        assert!(err.to_string().contains("PredictScope"), "{err}");
        let iam = body.replace(
            "AuthorizationType: COGNITO_USER_POOLS",
            "AuthorizationType: AWS_IAM",
        );
        let params = BTreeMap::from([("PredictScope".to_owned(), "x/predict".to_owned())]);
        let err = read(&iam, &params).expect_err("AWS_IAM is not enforced");
        assert!(err.to_string().contains("AWS_IAM"), "{err}");
    }
}
