//! The env's API as an OpenAPI 3.0 document, built from the same [`ApiContract`] local
//! serve enforces (read from the rendered service template), and the comparison with API
//! Gateway's own export of a deployed stage. Pure: documents in, documents or differences
//! out; `cmd::openapi` reads the template and calls GetExport.
//!
//! What the document holds: each method with its request body schema per content type
//! (`$default` is OpenAPI's `*/*`), its security (the Cognito authorizer as API Gateway
//! exports it: an `apiKey` scheme on the token header with
//! `x-amazon-apigateway-authtype: cognito_user_pools`, the method's scopes as the
//! requirement), its answers (200 from the function, and every status API Gateway answers
//! itself for it with the gateway responses' JSON error shape), and the gateway responses
//! themselves in API Gateway's `x-amazon-apigateway-gateway-responses` extension.
//!
//! What the comparison looks at ([`projection`]): per `METHOD path`, the security scopes
//! and each request content type's schema, `$ref`s into `components.schemas` resolved and
//! the draft-04 keywords OpenAPI has no place for (`$schema`, `title`) dropped. It ignores
//! what API Gateway adds or words its own way: `servers` (the stage URL), `info`
//! (deployment date as version), scheme and model names, `x-amazon-apigateway-*`
//! extensions and response descriptions.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::definition::{ApiContract, Authorization};
use super::responses;

/// The security scheme's name in the document (API Gateway names it after the authorizer).
pub const SCHEME: &str = "cognito";

/// What the document says about the API besides its contract.
#[derive(Debug, Clone)]
pub struct Info {
    /// The REST API's name (`<base>-api`).
    pub title: String,
    /// The env, as the document's version.
    pub version: String,
    pub stage: String,
}

/// The OpenAPI 3.0 document of `api`.
pub fn document(api: &ApiContract, info: &Info) -> Value {
    let mut paths = Map::new();
    let mut header = None;
    for m in &api.methods {
        let mut op = Map::new();
        op.insert(
            "operationId".into(),
            json!(format!(
                "{}{}",
                m.verb.to_lowercase(),
                m.path.split('/').map(capitalised).collect::<String>()
            )),
        );
        if !m.body_models.is_empty() {
            let mut content = Map::new();
            for (content_type, schema) in &m.body_models {
                content.insert(
                    media_type(content_type).into(),
                    json!({ "schema": openapi_schema(schema) }),
                );
            }
            op.insert(
                "requestBody".into(),
                json!({ "required": true, "content": content }),
            );
        }
        let mut answers: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
        let mut types = vec!["THROTTLED", "INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT"];
        if !m.body_models.is_empty() {
            types.push("BAD_REQUEST_BODY");
        }
        match &m.authorization {
            Authorization::None => {
                op.insert("security".into(), json!([]));
            }
            Authorization::CognitoUserPools {
                header: name,
                scopes,
            } => {
                header = Some(name.clone());
                op.insert("security".into(), json!([{ SCHEME: scopes }]));
                types.extend(["UNAUTHORIZED", "ACCESS_DENIED"]);
            }
        }
        for ty in types {
            answers
                .entry(responses::answer(&api.responses, ty, "").status)
                .or_default()
                .push(ty);
        }
        let mut resp = Map::new();
        resp.insert(
            "200".into(),
            json!({
                "description": "The function's answer",
                "content": { "application/json": { "schema": { "type": "object" } } }
            }),
        );
        for (status, types) in answers {
            resp.insert(
                status.to_string(),
                json!({
                    "description": format!("API Gateway's own answer: {}", types.join(", ")),
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
                }),
            );
        }
        op.insert("responses".into(), Value::Object(resp));
        let item = paths
            .entry(m.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(m.verb.to_lowercase(), Value::Object(op));
        }
    }
    let mut components = Map::new();
    components.insert(
        "schemas".into(),
        json!({ "Error": error_schema(&api.responses) }),
    );
    if let Some(name) = header {
        components.insert(
            "securitySchemes".into(),
            json!({ SCHEME: {
                "type": "apiKey",
                "name": name,
                "in": "header",
                "x-amazon-apigateway-authtype": "cognito_user_pools"
            }}),
        );
    }
    let mut gateway = Map::new();
    for (ty, r) in &api.responses {
        let mut g = Map::new();
        if let Some(status) = r.status {
            g.insert("statusCode".into(), json!(status.to_string()));
        }
        if !r.headers.is_empty() {
            let params: Map<String, Value> = r
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        format!("gatewayresponse.header.{k}"),
                        json!(format!("'{v}'")),
                    )
                })
                .collect();
            g.insert("responseParameters".into(), Value::Object(params));
        }
        if let Some(t) = &r.template {
            g.insert("responseTemplates".into(), json!({ "application/json": t }));
        }
        gateway.insert(ty.clone(), Value::Object(g));
    }
    json!({
        "openapi": "3.0.1",
        "info": {
            "title": info.title,
            "version": info.version,
            "description": format!(
                "Rendered by irisctl from the env's service template (stage `{}`).",
                info.stage
            ),
        },
        "paths": paths,
        "components": components,
        "x-amazon-apigateway-gateway-responses": gateway,
    })
}

fn capitalised(part: &str) -> String {
    let mut chars = part.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn media_type(content_type: &str) -> &str {
    if content_type == "$default" {
        "*/*"
    } else {
        content_type
    }
}

/// A draft-04 model as an OpenAPI 3.0 schema: the keywords OpenAPI has no place for
/// dropped, everything else kept.
fn openapi_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "$schema" | "title" | "id"))
                .map(|(k, v)| (k.clone(), openapi_schema(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(openapi_schema).collect()),
        other => other.clone(),
    }
}

/// The JSON error shape of the gateway responses, as a schema: the default 4XX template
/// filled with sample values and described field by field.
fn error_schema(configured: &BTreeMap<String, responses::GatewayResponse>) -> Value {
    let sample = responses::answer(configured, "BAD_REQUEST_BODY", "request-id");
    match serde_json::from_str::<Value>(&sample.body) {
        Ok(v) => shape_of(&v),
        Err(_) => json!({ "type": "object" }),
    }
}

fn shape_of(v: &Value) -> Value {
    match v {
        Value::Object(map) => json!({
            "type": "object",
            "required": map.keys().collect::<Vec<_>>(),
            "properties": map.iter().map(|(k, v)| (k.clone(), shape_of(v))).collect::<Map<String, Value>>(),
        }),
        Value::Array(_) => json!({ "type": "array" }),
        Value::String(_) => json!({ "type": "string" }),
        Value::Number(_) => json!({ "type": "number" }),
        Value::Bool(_) => json!({ "type": "boolean" }),
        Value::Null => json!({}),
    }
}

/// What two documents must agree on: per `METHOD path`, the security scopes (`None`: no
/// authorizer) and each request content type's schema.
pub fn projection(doc: &Value) -> Result<BTreeMap<String, Value>, String> {
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .ok_or("the document has no `paths`")?;
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (verb, op) in item {
            if !matches!(
                verb.as_str(),
                "get" | "put" | "post" | "delete" | "options" | "head" | "patch"
            ) {
                continue;
            }
            let mut scopes: Option<Vec<String>> = None;
            if let Some(reqs) = op.get("security").and_then(Value::as_array) {
                for req in reqs.iter().filter_map(Value::as_object) {
                    for v in req.values().filter_map(Value::as_array) {
                        let list = scopes.get_or_insert_with(Vec::new);
                        list.extend(v.iter().filter_map(Value::as_str).map(str::to_owned));
                    }
                }
            }
            if let Some(list) = scopes.as_mut() {
                list.sort();
                list.dedup();
            }
            let mut request = Map::new();
            if let Some(content) = op
                .pointer("/requestBody/content")
                .and_then(Value::as_object)
            {
                for (ct, media) in content {
                    let schema = media.get("schema").cloned().unwrap_or(Value::Null);
                    // API Gateway's `$default` model key is OpenAPI's `*/*`.
                    request.insert(
                        media_type(ct).to_owned(),
                        openapi_schema(&resolve(&schema, &schemas, 0)?),
                    );
                }
            }
            out.insert(
                format!("{} {path}", verb.to_uppercase()),
                json!({ "scopes": scopes, "request": request }),
            );
        }
    }
    Ok(out)
}

/// `schema` with every `$ref` to `#/components/schemas/X` replaced by X.
fn resolve(schema: &Value, schemas: &Map<String, Value>, depth: u8) -> Result<Value, String> {
    if depth > 16 {
        return Err("schema references nest deeper than 16 levels".into());
    }
    match schema {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                let name = r
                    .strip_prefix("#/components/schemas/")
                    .ok_or_else(|| format!("schema reference {r} is not to components.schemas"))?;
                let target = schemas
                    .get(name)
                    .ok_or_else(|| format!("schema reference {r} names no schema"))?;
                return resolve(target, schemas, depth + 1);
            }
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), resolve(v, schemas, depth + 1)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|v| resolve(v, schemas, depth + 1))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// Where the rendered document and API Gateway's export differ, one line each; empty when
/// they agree.
pub fn differences(ours: &Value, exported: &Value) -> Result<Vec<String>, String> {
    let ours = projection(ours).map_err(|e| format!("the rendered document: {e}"))?;
    let theirs = projection(exported).map_err(|e| format!("API Gateway's export: {e}"))?;
    let mut diff = Vec::new();
    for (op, mine) in &ours {
        match theirs.get(op) {
            None => diff.push(format!(
                "{op}: in the rendered template, not in the deployed stage"
            )),
            Some(deployed) => {
                if mine["scopes"] != deployed["scopes"] {
                    diff.push(format!(
                        "{op}: security scopes {} rendered, {} deployed",
                        mine["scopes"], deployed["scopes"]
                    ));
                }
                let (a, b) = (&mine["request"], &deployed["request"]);
                let types = |v: &Value| -> Vec<String> {
                    v.as_object()
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default()
                };
                let mut all = types(a);
                all.extend(types(b));
                all.sort();
                all.dedup();
                for ct in all {
                    match (a.get(&ct), b.get(&ct)) {
                        (Some(x), Some(y)) if x == y => {}
                        (Some(x), Some(y)) => diff.push(format!(
                            "{op}: request schema for {ct} differs: rendered {x}, deployed {y}"
                        )),
                        (Some(_), None) => diff.push(format!(
                            "{op}: request body {ct} validated in the rendered template, not in \
                             the deployed stage"
                        )),
                        (None, _) => diff.push(format!(
                            "{op}: request body {ct} in the deployed stage, not in the rendered \
                             template"
                        )),
                    }
                }
            }
        }
    }
    for op in theirs.keys().filter(|op| !ours.contains_key(*op)) {
        diff.push(format!(
            "{op}: in the deployed stage, not in the rendered template"
        ));
    }
    Ok(diff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::definition::tests::contract_of;

    fn info() -> Info {
        Info {
            title: "iris-dev-api".into(),
            version: "dev".into(),
            stage: "v1".into(),
        }
    }

    #[test]
    fn the_document_has_each_method_its_schema_scopes_and_error_answers() {
        let api = contract_of("dev");
        let doc = document(&api, &info());
        assert_eq!(doc["openapi"], "3.0.1");
        let predict = &doc["paths"]["/predict"]["post"];
        let schema = &predict["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(schema["oneOf"][0]["type"], "object", "{doc:#}");
        assert_eq!(
            schema["oneOf"][1]["required"],
            json!(["instances"]),
            "{doc:#}"
        );
        assert!(schema.get("$schema").is_none() && schema.get("title").is_none());
        assert_eq!(
            predict["requestBody"]["content"]["*/*"]["schema"], *schema,
            "every other content type gets the same model"
        );
        let scopes = predict["security"][0][SCHEME].as_array().expect("scopes");
        assert_eq!(scopes.len(), 1, "{doc:#}");
        assert!(
            scopes[0].as_str().is_some_and(|s| s.ends_with("/predict")),
            "{doc:#}"
        );
        for status in ["200", "400", "401", "403", "429", "503"] {
            assert!(
                predict["responses"].get(status).is_some(),
                "{status}: {:#}",
                predict["responses"]
            );
        }
        assert_eq!(
            doc["components"]["securitySchemes"][SCHEME]["x-amazon-apigateway-authtype"],
            "cognito_user_pools"
        );
        assert_eq!(
            doc["components"]["securitySchemes"][SCHEME]["name"],
            "Authorization"
        );
        let model = &doc["paths"]["/model"]["get"];
        assert!(model.get("requestBody").is_none(), "{model:#}");
        assert!(model["responses"].get("400").is_none(), "{model:#}");
        let error = &doc["components"]["schemas"]["Error"];
        assert!(error["properties"].get("error").is_some(), "{error:#}");
        let throttled = &doc["x-amazon-apigateway-gateway-responses"]["THROTTLED"];
        assert!(
            throttled["responseParameters"]
                .get("gatewayresponse.header.Retry-After")
                .is_some(),
            "{throttled:#}"
        );
    }

    #[test]
    fn an_env_without_an_authorizer_has_no_scheme_and_open_methods() {
        let api = contract_of("local");
        let doc = document(&api, &info());
        assert!(
            doc["components"].get("securitySchemes").is_none(),
            "{doc:#}"
        );
        assert_eq!(doc["paths"]["/predict"]["post"]["security"], json!([]));
        assert_eq!(
            projection(&doc).expect("projects")["POST /predict"]["scopes"],
            Value::Null
        );
    }

    /// API Gateway's export: models under components.schemas by name, a stage server,
    /// its own info, scheme named after the authorizer, extensions.
    fn exported_like_api_gateway(doc: &Value) -> Value {
        let mut e = doc.clone();
        let schema =
            e["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
                .clone();
        e["components"]["schemas"]["PredictRequest"] = schema;
        for ct in ["application/json", "*/*"] {
            e["paths"]["/predict"]["post"]["requestBody"]["content"][ct]["schema"] =
                json!({ "$ref": "#/components/schemas/PredictRequest" });
        }
        e["servers"] = json!([{ "url": "https://abc123.execute-api.us-east-1.amazonaws.com/{basePath}",
                                "variables": { "basePath": { "default": "v1" } } }]);
        e["info"] = json!({ "title": "iris-dev-api", "version": "2026-12-02T04:00:00Z" });
        if let Some(map) = e.as_object_mut() {
            map.remove("x-amazon-apigateway-gateway-responses");
        }
        e["paths"]["/predict"]["post"]["x-amazon-apigateway-integration"] =
            json!({"type": "aws_proxy"});
        e
    }

    #[test]
    fn api_gateway_s_additions_are_no_difference() {
        let doc = document(&contract_of("dev"), &info());
        let exported = exported_like_api_gateway(&doc);
        assert_eq!(
            differences(&doc, &exported).expect("compares"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_changed_schema_scope_or_method_is_a_difference() {
        let doc = document(&contract_of("dev"), &info());
        let mut exported = exported_like_api_gateway(&doc);
        exported["components"]["schemas"]["PredictRequest"]["additionalProperties"] = json!(true);
        exported["paths"]["/model"]["get"]["security"] = json!([{ "cognito": ["other/scope"] }]);
        exported["paths"]["/extra"] = json!({ "get": { "responses": {} } });
        let diff = differences(&doc, &exported).expect("compares");
        assert_eq!(diff.len(), 4, "{diff:#?}");
        assert!(
            diff.iter()
                .any(|d| d.starts_with("POST /predict: request schema for */*")),
            "{diff:#?}"
        );
        assert!(
            diff.iter()
                .any(|d| d.starts_with("GET /model: security scopes")),
            "{diff:#?}"
        );
        assert!(
            diff.iter()
                .any(|d| d == "GET /extra: in the deployed stage, not in the rendered template"),
            "{diff:#?}"
        );
    }

    #[test]
    fn a_broken_reference_in_the_export_is_an_error_not_a_pass() {
        let doc = document(&contract_of("dev"), &info());
        let mut exported = doc.clone();
        exported["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"] =
            json!({ "$ref": "#/components/schemas/Missing" });
        let err = differences(&doc, &exported).expect_err("unresolvable");
        assert!(err.contains("names no schema"), "{err}");
    }
}
