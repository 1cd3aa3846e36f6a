//! `local serve --env ENV`: ENV's API contract from its rendered service template, and
//! the local token issuer its authorizer trusts. The scope values the template takes as
//! parameters are the ones deploy would pass (`PredictScope` of the auth stack, derived
//! from the env's names), so the local contract is the deployed one.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use anyhow::Context as _;

use super::args::EnvsDir;
use crate::config::Config;
use crate::contract;
use crate::gateway::ApiContract;
use crate::local::IssuerServer;
use crate::local::gate::Gate;
use crate::local::issuer::LocalIssuer;
use crate::naming::StackKind;
use crate::render::Variant;
use crate::token::{LocalIssuerRecord, LocalServeRecord};

pub struct LocalContract {
    pub gate: Gate,
    pub issuer: Option<IssuerServer>,
    pub record: LocalServeRecord,
    /// The env's `lambda.max_batch`, for the function's MAX_BATCH.
    pub max_batch: u32,
}

/// A scope the local issuer grants that no method accepts, so a client can see the
/// authorizer refuse a valid token without the method's scope.
pub const UNUSED_SCOPE: &str = "unused";

/// The API contract of `config`'s env, from its rendered service template: the one local
/// serve enforces (`Variant::LocalContract`) or the one deployed (`Variant::Deployed`;
/// they differ only for an emulator env's authorizer, which LocalStack cannot deploy).
pub fn prepare_contract(config: &Config, variant: Variant) -> anyhow::Result<ApiContract> {
    let env = &config.env;
    let stacks = crate::render::render_variant(config, variant)
        .with_context(|| format!("rendering env `{env}`"))?;
    let service = stacks
        .iter()
        .find(|s| s.kind == StackKind::Service)
        .with_context(|| format!("env `{env}` renders no service stack"))?;
    let parameters = BTreeMap::from([(
        contract::auth::PREDICT_SCOPE.to_owned(),
        crate::render::context::predict_scope(config),
    )]);
    crate::gateway::definition::read(&service.body, &parameters).with_context(|| {
        format!("reading the API contract of env `{env}` from its service template")
    })
}

pub async fn prepare(envs: &EnvsDir, env: &str) -> anyhow::Result<LocalContract> {
    let config = envs.load(env)?;
    let api = prepare_contract(&config, Variant::LocalContract)?;
    eprintln!(
        "local: env {env}: {} methods, {}, throttle {}, {} gateway responses (from the rendered service template)",
        api.methods.len(),
        if api.has_authorizer() {
            "COGNITO_USER_POOLS authorizer"
        } else {
            "no authorizer"
        },
        api.throttle.map_or("none".to_owned(), |t| format!(
            "{}/s burst {}",
            t.rate, t.burst
        )),
        api.responses.len(),
    );
    let (issuer, record) = if api.has_authorizer() {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding the local token issuer on 127.0.0.1")?;
        let addr = listener
            .local_addr()
            .context("reading the issuer's address")?;
        let url = format!("http://{addr}");
        let api_scopes = api.scopes();
        let mut scopes = api_scopes.clone();
        scopes.push(format!("{}/{UNUSED_SCOPE}", config.names.resource_server));
        let lifetime = u64::from(config.auth.access_token_minutes.value) * 60;
        let issuer = Arc::new(LocalIssuer::new(url.clone(), scopes.clone(), lifetime)?);
        let record = LocalIssuerRecord {
            issuer: url.clone(),
            token_url: format!("{url}{}", crate::local::issuer::TOKEN_PATH),
            client_id: issuer.client_id.clone(),
            client_secret: issuer.client_secret.clone(),
            scopes,
            api_scopes,
        };
        (Some(IssuerServer { listener, issuer }), Some(record))
    } else {
        (None, None)
    };
    let verifier = issuer.as_ref().map(|s| s.issuer.verifier());
    Ok(LocalContract {
        gate: Gate::new(api, verifier),
        issuer,
        record: LocalServeRecord {
            env: env.to_owned(),
            api_url: String::new(),
            model_sha256: None,
            issuer: record,
            pid: std::process::id(),
        },
        max_batch: config.lambda.max_batch.value,
    })
}
