//! `irisctl token --env ENV`: an access token for the env's machine client. Envs on AWS:
//! the client-credentials grant against the auth stack's `TokenUrl` with the client secret
//! read from Cognito (never printed). The emulator env, or `--local`: the local issuer of
//! a running `irisctl local serve --env ENV`. Text output is the token alone on stdout
//! (for `$(irisctl token ...)`), its expiry and scope on stderr.

use anyhow::{Context as _, bail};
use serde::Serialize;

use super::args::{EnvArgs, OutputFormat};
use super::session::{self, Session};
use crate::aws;
use crate::aws::cloudformation::Cfn;
use crate::contract::auth;
use crate::exit::Status;
use crate::http::Http;
use crate::token::{self, LocalIssuerRecord, LocalServeRecord, Token};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: EnvArgs,
    /// Ask the local issuer of `irisctl local serve --env ENV` even for an env on AWS
    /// (the emulator env always does).
    #[arg(long)]
    pub local: bool,
    #[command(flatten)]
    pub output: OutputFormat,
}

/// Where a token came from.
#[derive(Debug, Clone, Serialize)]
pub struct Granted {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    /// Unix time the token expires.
    pub expires_at: u64,
    pub scope: String,
    /// `cognito` or `local`.
    pub issuer: &'static str,
    pub token_url: String,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    session::runtime()?.block_on(async {
        let granted = grant(&args.target, args.local, None).await?;
        if args.output.is_json() {
            println!(
                "{}",
                serde_json::to_string_pretty(&granted).context("writing JSON")?
            );
        } else {
            println!("{}", granted.access_token);
            eprintln!(
                "token for env {} from {} ({}): expires in {} s, scope {}",
                args.target.env,
                granted.issuer,
                granted.token_url,
                granted.expires_in,
                granted.scope
            );
        }
        Ok(Status::Success)
    })
}

/// A token for `target`'s machine client, with the API's scope or `scope`.
pub async fn grant(target: &EnvArgs, local: bool, scope: Option<&str>) -> anyhow::Result<Granted> {
    let config = target.load()?;
    let http = Http::new(std::time::Duration::from_secs(30))?;
    if local || config.emulator.value {
        let record = local_record(&config.env)?;
        let scope = scope.map_or_else(|| record.api_scopes.join(" "), str::to_owned);
        let t = token::client_credentials(
            &http,
            &record.token_url,
            &record.client_id,
            &record.client_secret,
            Some(&scope),
            &[],
        )
        .await?;
        return Ok(granted(t, "local", record.token_url));
    }
    let session = Session::open(target).await?;
    let cfn = Cfn::new(aws::cloudformation(&session.sdk));
    let stack_name = &session.config.names.auth_stack;
    let stack = cfn.describe(stack_name).await?.with_context(|| {
        format!(
            "the auth stack {stack_name} of env `{}` does not exist; deploy the env first (`irisctl deploy --env {}`)",
            config.env, config.env
        )
    })?;
    let output = |name: &str| {
        stack.outputs.get(name).cloned().with_context(|| {
            format!("the auth stack {stack_name} has no output {name}; redeploy it (`irisctl deploy --env {}`)", config.env)
        })
    };
    let (pool, client_id, token_url) = (
        output(auth::USER_POOL_ID)?,
        output(auth::USER_POOL_CLIENT_ID)?,
        output(auth::TOKEN_URL)?,
    );
    let scope = match scope {
        Some(s) => s.to_owned(),
        None => output(auth::PREDICT_SCOPE)?,
    };
    let secret =
        aws::cognito::client_secret(&aws::cognito(&session.sdk), &pool, &client_id).await?;
    let t = token::client_credentials(&http, &token_url, &client_id, &secret, Some(&scope), &[])
        .await?;
    Ok(granted(t, "cognito", token_url))
}

/// The record of the local serve running for `env`, or what to do to start one.
pub fn local_record(env: &str) -> anyhow::Result<LocalIssuerRecord> {
    let dir = token::local_dir();
    match LocalServeRecord::read(&dir, env)? {
        Some(LocalServeRecord {
            issuer: Some(issuer),
            ..
        }) => Ok(issuer),
        Some(_) => bail!(
            "the `irisctl local serve --env {env}` that runs has no token issuer: env `{env}`'s methods have no authorizer"
        ),
        None => bail!(
            "no `irisctl local serve --env {env}` is running (no live record in {}); start one, e.g. \
             `irisctl local serve --env {env} --zip .demo/package/lambda.zip --model .demo/model`, \
             or set IRISCTL_LOCAL_DIR to where it runs",
            dir.display()
        ),
    }
}

fn granted(t: Token, issuer: &'static str, token_url: String) -> Granted {
    Granted {
        expires_at: crate::local::issuer::unix_now() + t.expires_in,
        access_token: t.access_token,
        token_type: t.token_type,
        expires_in: t.expires_in,
        scope: t.scope,
        issuer,
        token_url,
    }
}
