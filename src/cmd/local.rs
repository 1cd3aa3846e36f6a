//! `irisctl local serve`: run the function under the local Lambda runtime and HTTP front.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::args::EnvsDir;
use crate::exit::Status;
use crate::local::function::FunctionSpec;
use crate::local::model_upload::{self, ModelLocation};
use crate::local::{ServeOptions, serve};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: LocalCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum LocalCommand {
    /// Serve the function on 127.0.0.1 like API Gateway + Lambda (`sam local start-api`).
    Serve(Box<ServeArgs>),
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  irisctl local serve --bootstrap target/debug/bootstrap --model .demo/model
  irisctl local serve --env dev --zip .demo/package/lambda.zip --model .demo/model --port 0
  irisctl local serve --command 'python -m awslambdaric app.handler' --function-env LOG_LEVEL=debug")]
pub struct ServeArgs {
    /// Serve this env's API contract, read from its rendered service template: the
    /// COGNITO_USER_POOLS authorizer (tokens from a local issuer this command runs; `irisctl
    /// token --env ENV` asks it), the request model, the stage throttle and the gateway
    /// responses. Without it, every request goes straight to the function.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    #[command(flatten)]
    pub envs: EnvsDir,

    /// Port of the HTTP front on 127.0.0.1 (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 3000, value_name = "PORT")]
    pub port: u16,

    /// The bootstrap binary to run (e.g. target/debug/bootstrap).
    #[arg(long, value_name = "PATH", group = "runtime")]
    pub bootstrap: Option<PathBuf>,
    /// Run the bootstrap inside this lambda.zip (what `irisctl package` wrote).
    #[arg(long, value_name = "PATH", group = "runtime")]
    pub zip: Option<PathBuf>,
    /// Any runtime interface client instead, run with `sh -c 'exec COMMAND'` (e.g.
    /// "python -m awslambdaric app.handler").
    #[arg(long, value_name = "COMMAND", group = "runtime")]
    pub command: Option<String>,
    /// Working directory of the function (also LAMBDA_TASK_ROOT).
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,

    /// Upload this model artifact directory (model.bin + manifest.json) to the emulator
    /// (AWS_ENDPOINT_URL, loopback only) and serve it.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["model_key", "model_sha256", "manifest_key"])]
    pub model: Option<PathBuf>,
    /// Bucket holding the model (with --model: created on the emulator if missing).
    #[arg(
        long,
        value_name = "BUCKET",
        env = "MODEL_BUCKET",
        default_value_if(
            "model",
            clap::builder::ArgPredicate::IsPresent,
            "irisctl-local-models"
        )
    )]
    pub bucket: Option<String>,
    /// Serve an artifact already in S3: key of model.bin.
    #[arg(long, env = "MODEL_KEY", value_name = "KEY", requires_all = ["bucket", "model_sha256", "manifest_key"])]
    pub model_key: Option<String>,
    /// With --model-key: the S3 version id of model.bin (empty: the latest).
    #[arg(long, env = "MODEL_VERSION_ID", default_value = "", value_name = "ID")]
    pub model_version_id: String,
    /// With --model-key: the sha256 (hex) model.bin must have; the function refuses any
    /// other bytes.
    #[arg(long, env = "MODEL_SHA256", value_name = "HEX")]
    pub model_sha256: Option<String>,
    /// With --model-key: the key of manifest.json.
    #[arg(long, env = "MANIFEST_KEY", value_name = "KEY")]
    pub manifest_key: Option<String>,
    /// With --model-key: the S3 version id of manifest.json (empty: the latest).
    #[arg(
        long,
        env = "MANIFEST_VERSION_ID",
        default_value = "",
        value_name = "ID"
    )]
    pub manifest_version_id: String,
    /// Largest batch one request may score (the function's MAX_BATCH; unset: its default).
    #[arg(long, value_name = "N")]
    pub max_batch: Option<u32>,

    /// Invocation timeout (Lambda's function timeout), in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,
    /// Set an environment variable of the function, KEY=VALUE (repeatable). Not `--env`:
    /// everywhere else `--env` names the irisctl env.
    #[arg(long = "function-env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub function_env: Vec<(String, String)>,
    /// The function's name as the runtime sees it (AWS_LAMBDA_FUNCTION_NAME).
    #[arg(long, default_value = "iris-local", value_name = "NAME")]
    pub function_name: String,
}

fn parse_env(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {raw:?}")),
    }
}

/// Variables passed through from irisctl's environment: what a Lambda sandbox would get
/// from its role (credentials are passed, never printed) and the emulator endpoint.
const PASS_THROUGH: [&str; 8] = [
    "PATH",
    "LANG",
    "RUST_LOG",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
];

pub fn run(args: Args) -> anyhow::Result<Status> {
    let LocalCommand::Serve(args) = args.command;
    let args = *args;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve_command(args))?;
    Ok(Status::Success)
}

async fn serve_command(args: ServeArgs) -> anyhow::Result<()> {
    let unzipped = tempfile::tempdir().context("creating a temporary directory")?;
    let (program, program_args) = runtime_command(&args, unzipped.path())?;

    let location = match (&args.model, &args.model_key) {
        (Some(dir), _) => {
            let bucket = args
                .bucket
                .clone()
                .unwrap_or_else(|| "irisctl-local-models".into());
            let client = model_upload::emulator_client().await?;
            let loc = model_upload::upload(&client, &bucket, dir).await?;
            eprintln!(
                "local: uploaded {} to s3://{}/{} (version {:?})",
                dir.display(),
                loc.bucket,
                loc.model_key,
                loc.model_version_id
            );
            Some(loc)
        }
        (None, Some(key)) => Some(ModelLocation {
            bucket: args
                .bucket
                .clone()
                .context("--model-key needs --bucket (or MODEL_BUCKET)")?,
            model_key: key.clone(),
            model_version_id: args.model_version_id.clone(),
            model_sha256: args
                .model_sha256
                .clone()
                .context("--model-key needs --model-sha256 (or MODEL_SHA256)")?,
            manifest_key: args
                .manifest_key
                .clone()
                .context("--model-key needs --manifest-key (or MANIFEST_KEY)")?,
            manifest_version_id: args.manifest_version_id.clone(),
        }),
        (None, None) => None,
    };

    let mut env: Vec<(String, String)> = PASS_THROUGH
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|_| "us-east-1".into());
    let task_root = match &args.workdir {
        Some(dir) => dir
            .canonicalize()
            .with_context(|| format!("--workdir {}", dir.display()))?,
        None => std::env::current_dir().context("reading the current directory")?,
    };
    if let Some(loc) = &location {
        env.extend(loc.env());
    }
    let contract = match &args.env {
        Some(name) => Some(super::local_contract::prepare(&args.envs, name).await?),
        None => None,
    };
    let max_batch = args.max_batch.or(contract.as_ref().map(|c| c.max_batch));
    if let Some(n) = max_batch {
        env.push(("MAX_BATCH".into(), n.to_string()));
    }
    env.extend(args.function_env.iter().cloned());
    let (gate, issuer, record) = match contract {
        Some(mut c) => {
            c.record.model_sha256 = location.as_ref().map(|l| l.model_sha256.clone());
            (Some(c.gate), c.issuer, Some(c.record))
        }
        None => (None, None, None),
    };

    let options = ServeOptions {
        port: args.port,
        function: FunctionSpec {
            program,
            args: program_args,
            env,
            workdir: Some(task_root),
            function_name: args.function_name.clone(),
            region,
        },
        timeout: Duration::from_secs(args.timeout.max(1)),
        gate,
        issuer,
    };
    let dir = crate::token::local_dir();
    let mut written = None;
    let outcome = serve(options, |addr| {
        if let Some(mut record) = record {
            record.api_url = format!("http://{addr}");
            match record.write(&dir) {
                Ok(path) => {
                    if let Some(issuer) = &record.issuer {
                        eprintln!(
                            "local: token issuer at {} (`irisctl token --env {}` reads {})",
                            issuer.issuer,
                            record.env,
                            path.display()
                        );
                    }
                    written = Some(path);
                }
                Err(err) => eprintln!(
                    "local: cannot record this run for `irisctl token` and `smoke`: {err:#}"
                ),
            }
        }
        // Tests and scripts read this line; keep its shape.
        println!("listening on http://{addr}");
    })
    .await;
    if let Some(path) = written {
        let _ = std::fs::remove_file(path);
    }
    outcome
}

fn runtime_command(args: &ServeArgs, scratch: &Path) -> anyhow::Result<(OsString, Vec<OsString>)> {
    if let Some(command) = &args.command {
        return Ok((
            "sh".into(),
            vec!["-c".into(), format!("exec {command}").into()],
        ));
    }
    let bootstrap = match (&args.bootstrap, &args.zip) {
        (Some(path), _) => path
            .canonicalize()
            .with_context(|| format!("--bootstrap {}", path.display()))?,
        (None, Some(zip)) => extract_bootstrap(zip, scratch)?,
        (None, None) => {
            bail!("say what to run: --bootstrap PATH, --zip lambda.zip or --command COMMAND")
        }
    };
    Ok((bootstrap.into_os_string(), Vec::new()))
}

/// Unpacks `bootstrap` from a Lambda zip into `dir`, executable.
fn extract_bootstrap(zip: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let file = std::fs::File::open(zip).with_context(|| format!("opening {}", zip.display()))?;
    let mut archive = ::zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a zip file", zip.display()))?;
    let mut entry = archive
        .by_name("bootstrap")
        .with_context(|| format!("{} has no `bootstrap` entry at its root", zip.display()))?;
    let out = dir.join("bootstrap");
    let mut target =
        std::fs::File::create(&out).with_context(|| format!("creating {}", out.display()))?;
    std::io::copy(&mut entry, &mut target)
        .with_context(|| format!("extracting bootstrap from {}", zip.display()))?;
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755))
        .context("marking bootstrap executable")?;
    Ok(out)
}
