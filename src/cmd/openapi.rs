//! `irisctl openapi --env ENV [--out FILE] [--compare]`: the env's API as an OpenAPI 3.0
//! document, rendered from the same definition local serve enforces (the env's rendered
//! service template, `gateway::openapi`), with no AWS call. `--compare` also fetches API
//! Gateway's own export of the deployed stage (GetExport `oas30`) and exits 1 with one
//! line per difference; comparing is opt-in because rendering needs no credentials and
//! an env that is not deployed has nothing to compare with.

use std::path::PathBuf;

use anyhow::{Context as _, bail};

use super::args::EnvArgs;
use super::local_contract::prepare_contract;
use super::session::{self, Session};
use crate::aws::{self, apigateway};
use crate::config::Config;
use crate::contract;
use crate::exit::Status;
use crate::gateway::openapi::{self, Info};
use crate::render::Variant;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: EnvArgs,
    /// Write the document to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also compare with API Gateway's export of the deployed stage; exit 1 on a difference.
    #[arg(long)]
    pub compare: bool,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let config = args.target.load()?;
    // The contract a client meets; with --compare, the one deployed (they differ only for
    // the emulator env, whose deployed API has no authorizer).
    let variant = if args.compare {
        Variant::Deployed
    } else {
        Variant::LocalContract
    };
    let doc = rendered(&config, variant)?;
    let text = serde_json::to_string_pretty(&doc).context("writing the OpenAPI document")?;
    match &args.out {
        Some(path) => std::fs::write(path, format!("{text}\n"))
            .with_context(|| format!("writing {}", path.display()))?,
        None => println!("{text}"),
    }
    if !args.compare {
        return Ok(Status::Success);
    }
    session::runtime()?.block_on(compare(&args.target, &config, &doc))
}

/// The document of `config`'s env, as `variant` renders it.
pub fn rendered(config: &Config, variant: Variant) -> anyhow::Result<serde_json::Value> {
    let api = prepare_contract(config, variant)?;
    Ok(openapi::document(
        &api,
        &Info {
            title: config.names.rest_api.clone(),
            version: config.env.clone(),
            stage: config.api.stage_name.value.clone(),
        },
    ))
}

async fn compare(
    target: &EnvArgs,
    config: &Config,
    doc: &serde_json::Value,
) -> anyhow::Result<Status> {
    let env = &config.env;
    let session = Session::open(target).await?;
    let stacks = session.stacks(std::time::Duration::from_secs(60));
    let service = &config.names.service_stack;
    let Some(rest_api_id) = stacks
        .cfn
        .physical_id(service, contract::service::REST_API_RESOURCE)
        .await
        .with_context(|| format!("reading the REST API of stack {service}"))?
    else {
        bail!(
            "env `{env}` has no deployed API to compare with (stack {service} or its RestApi \
             does not exist); deploy it first, or leave out --compare"
        );
    };
    let stage = &config.api.stage_name.value;
    let body = apigateway::export_oas30(&aws::apigateway(&session.sdk), &rest_api_id, stage)
        .await
        .with_context(|| format!("exporting stage {stage} of REST API {rest_api_id}"))?;
    let exported: serde_json::Value = serde_json::from_slice(&body)
        .with_context(|| format!("API Gateway's export of {rest_api_id}/{stage} is not JSON"))?;
    compare_with(env, doc, &exported)
}

/// Exit 1 with the differences, or say they agree (on stderr: stdout holds the document).
pub fn compare_with(
    env: &str,
    doc: &serde_json::Value,
    exported: &serde_json::Value,
) -> anyhow::Result<Status> {
    let diff = openapi::differences(doc, exported).map_err(anyhow::Error::msg)?;
    if diff.is_empty() {
        eprintln!(
            "openapi: env `{env}`: the deployed stage matches the rendered template (methods, \
             security scopes, request schemas; servers, info and x-amazon-apigateway-* \
             extensions ignored)"
        );
        return Ok(Status::Success);
    }
    bail!(
        "env `{env}`: the deployed stage differs from the rendered template in {} place(s):\n  \
         {}\nDeploy the env again (`irisctl deploy --env {env}`) or find who changed the stage",
        diff.len(),
        diff.join("\n  ")
    )
}
