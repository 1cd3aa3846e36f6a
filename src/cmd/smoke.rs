//! `irisctl smoke --env ENV`: the stage gate (`smoke`), with what it needs found out here:
//! the URL (`--url`, else the env's deployed API, on this machine for the emulator env),
//! the model `irisctl status` says is live (the service stack's `ModelSha256`), the golden
//! set, and tokens (the local issuer when the URL is a `local serve --env ENV`, else the
//! env's Cognito client). Exit 0 only when no check failed, else 1 with the failures named.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::args::EnvArgs;
use super::session::{self, Session};
use crate::aws;
use crate::aws::cloudformation::Cfn;
use crate::aws::s3::Bucket;
use crate::config::{AuthMode, Config};
use crate::contract::{pins, service, storage};
use crate::exit::Status;
use crate::http::Http;
use crate::render::Variant;
use crate::smoke::{self, Auth, Golden, Target};
use crate::token::{LocalIssuerRecord, LocalServeRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmokeOutput {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  irisctl smoke --env local
  irisctl smoke --env dev --url http://127.0.0.1:3000 --model .demo/model
  irisctl smoke --env staging --requests 200 --max-p99 800 --output markdown")]
pub struct Args {
    #[command(flatten)]
    pub target: EnvArgs,
    /// The API's base URL (a stage URL, or `local serve`'s http://127.0.0.1:PORT); default:
    /// the env's deployed API (for the emulator env, where it answers on this machine).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Requests for the latency figures (POST /predict, one flower each).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub requests: usize,
    /// Fail when p99 latency exceeds this many milliseconds (otherwise latency is reported only).
    #[arg(long, value_name = "MS")]
    pub max_p99: Option<f64>,
    /// The artifact directory whose recorded golden set is replayed; default: the live
    /// model, read from the env's bucket.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Output format: text, json (one document) or markdown (a table for a CI summary).
    #[arg(long, value_enum, default_value_t = SmokeOutput::Text, value_name = "FORMAT")]
    pub output: SmokeOutput,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    session::runtime()?.block_on(smoke_command(args))
}

/// Why the auth checks do not apply to an API without an authorizer.
fn not_applicable(config: &Config) -> String {
    let env = &config.env;
    if config.auth.mode.value == AuthMode::Cognito {
        format!(
            "env `{env}`'s deployed API has no authorizer: LocalStack cannot deploy its Cognito \
             authorizer (docs/emulator-gaps.md); `irisctl local serve --env {env}` enforces it, \
             smoke its URL to check it"
        )
    } else {
        format!("env `{env}` has no authorizer (auth.mode none)")
    }
}

/// What `irisctl status` knows of the env.
struct Deployed {
    url: Option<String>,
    live_sha256: Option<String>,
    model: Option<(String, String, String)>,
}

async fn smoke_command(args: Args) -> anyhow::Result<Status> {
    let config = args.target.load()?;
    let env = config.env.clone();
    let http = Http::new(std::time::Duration::from_secs(30))?;
    let deployed = deployed(&args.target).await;
    let url = match (&args.url, &deployed) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Ok(Deployed { url: Some(url), .. })) => url.clone(),
        (None, Ok(_)) => anyhow::bail!(
            "env `{env}` has no deployed API (no service stack output {}); deploy it or pass --url",
            service::API_URL
        ),
        (None, Err(why)) => anyhow::bail!("cannot find env `{env}`'s API: {why}; pass --url"),
    };
    let local = LocalServeRecord::read(&crate::token::local_dir(), &env)?
        .filter(|r| r.api_url.trim_end_matches('/') == url);
    // A local serve enforces the env's contract; a deployed API what was deployed (for the
    // emulator env, no authorizer: LocalStack cannot deploy one).
    let variant = if local.is_some() {
        Variant::LocalContract
    } else {
        Variant::Deployed
    };
    let contract = super::local_contract::prepare_contract(&config, variant)?;
    let auth = if !contract.has_authorizer() {
        Auth::NotApplicable(not_applicable(&config))
    } else {
        match local.as_ref().and_then(|l| l.issuer.as_ref()) {
            Some(record) => local_tokens(&http, record).await?,
            None => {
                let good = super::token::grant(&args.target, false, None).await?;
                Auth::Tokens {
                    good: good.access_token,
                    unscoped: Err(
                        "the env's pool has one machine client, allowed only the predict scope"
                            .into(),
                    ),
                    expiring: Err("Cognito's shortest access token lives 5 minutes".into()),
                }
            }
        }
    };
    // The env's live model; for a local serve of an env not deployed, the one it serves.
    let local_sha = local.as_ref().and_then(|l| l.model_sha256.clone());
    let live_sha256 = match (&deployed, local_sha) {
        (
            Ok(Deployed {
                live_sha256: Some(sha),
                ..
            }),
            _,
        ) => Ok(sha.clone()),
        (Ok(_), Some(sha)) => Ok(sha),
        (Ok(_), None) => Err(format!(
            "`irisctl status --env {env}` shows no live model (service stack not deployed)"
        )),
        (Err(why), Some(sha)) => {
            eprintln!(
                "smoke: `irisctl status --env {env}` cannot be read ({why}); the live model is the one local serve serves"
            );
            Ok(sha)
        }
        (Err(why), None) => Err(format!(
            "`irisctl status --env {env}` cannot be read: {why}"
        )),
    };
    let scratch = tempfile::tempdir().context("creating a temporary directory")?;
    let golden = match &args.model {
        Some(dir) => golden_of(dir),
        None => match &deployed {
            Ok(Deployed {
                model: Some((bucket, model_key, manifest_key)),
                ..
            }) => {
                match download(
                    &args.target,
                    bucket,
                    model_key,
                    manifest_key,
                    scratch.path(),
                )
                .await
                {
                    Ok(()) => golden_of(scratch.path()),
                    Err(e) => Err(format!(
                        "reading the live model from s3://{bucket}/{model_key}: {e:#}"
                    )),
                }
            }
            _ => Err("no live model to take the golden set from; pass --model DIR".to_owned()),
        },
    };
    let target = Target {
        base_url: url,
        auth,
        live_sha256,
        golden,
        max_batch: config.lambda.max_batch.value,
        requests: args.requests,
        max_p99_ms: args.max_p99,
        // LocalStack answers its own refusals with API Gateway's default body.
        gateway_templates: !(config.emulator.value && local.is_none()),
        pace: contract
            .throttle
            .filter(|t| t.rate > 0.0)
            .map(|t| std::time::Duration::from_secs_f64(1.0 / t.rate)),
    };
    let report = smoke::run(&http, &target).await;
    match args.output {
        SmokeOutput::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report.json()).context("writing JSON")?
        ),
        SmokeOutput::Markdown => print!("{}", report.markdown()),
        SmokeOutput::Text => print!("{}", report.text()),
    }
    if report.passed() {
        Ok(Status::Success)
    } else {
        let names: Vec<&str> = report.failed().iter().map(|c| c.name.as_str()).collect();
        anyhow::bail!("smoke failed for env `{env}`: {}", names.join("; "))
    }
}

async fn local_tokens(http: &Http, record: &LocalIssuerRecord) -> anyhow::Result<Auth> {
    let ask = |scope: String, extra: &'static [(&'static str, &'static str)]| async move {
        crate::token::client_credentials(
            http,
            &record.token_url,
            &record.client_id,
            &record.client_secret,
            Some(&scope),
            extra,
        )
        .await
    };
    let good = ask(record.api_scopes.join(" "), &[]).await?;
    let unscoped: Vec<String> = record
        .scopes
        .iter()
        .filter(|s| !record.api_scopes.contains(s))
        .cloned()
        .collect();
    let unscoped = match unscoped.first() {
        Some(scope) => Ok(ask(scope.clone(), &[]).await?.access_token),
        None => Err("the local issuer grants no scope outside the API's".to_owned()),
    };
    let expiring = ask(record.api_scopes.join(" "), &[("lifetime", "1")]).await?;
    let exp = crate::local::issuer::unix_now() + expiring.expires_in;
    Ok(Auth::Tokens {
        good: good.access_token,
        unscoped,
        expiring: Ok((expiring.access_token, exp)),
    })
}

async fn deployed(target: &EnvArgs) -> Result<Deployed, String> {
    let session = Session::open(target).await.map_err(|e| format!("{e:#}"))?;
    let cfn = Cfn::new(aws::cloudformation(&session.sdk));
    let describe = |name: String| {
        let cfn = &cfn;
        async move { cfn.describe(&name).await.map_err(|e| format!("{e:#}")) }
    };
    let storage_stack = describe(session.config.names.storage_stack.clone()).await?;
    let service_stack = describe(session.config.names.service_stack.clone()).await?;
    let Some(svc) = service_stack else {
        return Ok(Deployed {
            url: None,
            live_sha256: None,
            model: None,
        });
    };
    let url = svc
        .outputs
        .get(service::API_URL)
        .map(|u| session.local_api_url(u).unwrap_or_else(|| u.clone()))
        .map(|u| u.trim_end_matches('/').to_owned());
    let p = |k: &str| svc.parameters.get(k).cloned();
    let bucket = storage_stack.and_then(|s| s.outputs.get(storage::MODEL_BUCKET_NAME).cloned());
    let model = match (bucket, p(pins::MODEL_KEY), p(pins::MANIFEST_KEY)) {
        (Some(b), Some(m), Some(f)) => Some((b, m, f)),
        _ => None,
    };
    Ok(Deployed {
        url,
        live_sha256: p(pins::MODEL_SHA256),
        model,
    })
}

async fn download(
    target: &EnvArgs,
    bucket: &str,
    model_key: &str,
    manifest_key: &str,
    dir: &Path,
) -> anyhow::Result<()> {
    let sdk = aws::sdk_config_in(&target.load()?.region.value).await;
    let bucket = Bucket::new(aws::s3(&sdk), bucket);
    for (key, file) in [
        (model_key, iris_model::MODEL_FILE),
        (manifest_key, iris_model::MANIFEST_FILE),
    ] {
        let fetched = bucket
            .get(key)
            .await?
            .with_context(|| format!("s3://{}/{key} does not exist", bucket.name()))?;
        std::fs::write(dir.join(file), fetched.body).with_context(|| format!("writing {file}"))?;
    }
    Ok(())
}

/// The golden set the artifact in `dir` records (its manifest is verified against its
/// checksum and the model's sha256 on load).
fn golden_of(dir: &Path) -> Result<Golden, String> {
    let artifact = iris_model::Artifact::load(dir)
        .map_err(|e| format!("the model in {}: {e}", dir.display()))?;
    let sha = &artifact.manifest.sha256;
    let rows = artifact.golden().to_vec();
    if rows.is_empty() {
        return Err(format!(
            "model {sha} records no golden set; retrain it with `iris-model train`"
        ));
    }
    Ok(Golden {
        source: format!(
            "the golden set recorded in model {}",
            &sha[..sha.len().min(12)]
        ),
        rows,
    })
}
