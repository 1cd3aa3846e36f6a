//! `irisctl batch submit --env ENV FILE [--wait]` and `irisctl batch get --env ENV NAME`:
//! put a file under `batch/in/` in the env's bucket (the function scores it
//! asynchronously), wait for its summary, and fetch its output.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::args::{EnvArgs, OutputFormat};
use super::session::{self, Session};
use crate::aws;
use crate::aws::cloudformation::Cfn;
use crate::aws::s3::Bucket;
use crate::batch::{self, Upload, resources};
use crate::exit::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Upload a CSV (training header) or JSON-lines file to batch/in/ for scoring.
    #[command(after_help = "Examples:
  irisctl batch submit --env local flowers.csv --wait
  irisctl batch submit --env dev rows.jsonl --name 2026-12/run-1.jsonl --output json")]
    Submit(SubmitArgs),
    /// Print (or save) the scored output of a batch file.
    #[command(after_help = "Examples:
  irisctl batch get --env local flowers.csv
  irisctl batch get --env dev flowers.csv --out scored.jsonl")]
    Get(GetArgs),
}

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub target: EnvArgs,
    /// The file to score: CSV with the header sepal_length,sepal_width,petal_length,petal_width[,species], or one JSON flower per line.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The name under batch/in/ (default: the file's name); submitting a name again replaces the file and scores it again.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Wait for the function's summary (or its error report) and print it.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits (e.g. 2m, 90s).
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub wait_timeout: Duration,
    #[command(flatten)]
    pub output: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    #[command(flatten)]
    pub target: EnvArgs,
    /// The batch file's name under batch/in/ (as `batch submit` printed it).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Write the output to this file and print the summary, instead of printing the output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let rt = session::runtime()?;
    match args.command {
        Command::Submit(a) => rt.block_on(submit(a)),
        Command::Get(a) => rt.block_on(get(a)),
    }
}

async fn bucket(session: &Session) -> anyhow::Result<Bucket> {
    let cfn = Cfn::new(aws::cloudformation(&session.sdk));
    let found = resources::find(&cfn, &session.config).await?;
    Ok(Bucket::new(aws::s3(&session.sdk), found.bucket))
}

async fn submit(args: SubmitArgs) -> anyhow::Result<Status> {
    let name = match &args.name {
        Some(name) => name.clone(),
        None => args
            .file
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
            .with_context(|| {
                format!(
                    "{} has no UTF-8 file name; pass --name NAME",
                    args.file.display()
                )
            })?,
    };
    batch::check_name(&name).map_err(|e| anyhow::anyhow!("{e}; pass a valid --name"))?;
    let body = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let session = Session::open(&args.target).await?;
    let limit = session.config.batch.max_bytes();
    if body.len() as u64 > limit {
        bail!(
            "{} has {} bytes, over the env's batch limit of {limit} (batch.max_mb {} at {}); split it into smaller files",
            args.file.display(),
            body.len(),
            session.config.batch.max_mb.value,
            session.config.batch.max_mb.source
        );
    }
    let bucket = bucket(&session).await?;
    let key = batch::input_key(&name);
    let content_type = if body.first() == Some(&b'{') {
        "application/x-ndjson"
    } else {
        "text/csv"
    };
    let written = bucket.put(&key, body, content_type).await?;
    let upload = Upload {
        version_id: written.version_id.clone(),
        etag: written.etag.clone(),
    };
    let location = match &written.version_id {
        Some(v) => format!("s3://{}/{key} (version {v})", bucket.name()),
        None => format!("s3://{}/{key}", bucket.name()),
    };
    if !args.wait {
        if args.output.is_json() {
            println!(
                "{}",
                json!({"name": name, "bucket": bucket.name(), "key": key, "version_id": written.version_id, "summary": null})
            );
        } else {
            println!("submitted {location}");
            println!(
                "the function scores it asynchronously; then: irisctl batch get --env {} {name}",
                session.config.env
            );
        }
        return Ok(Status::Success);
    }
    if !args.output.is_json() {
        eprintln!("submitted {location}; waiting for its summary");
    }
    match wait(&bucket, &name, &upload, args.wait_timeout).await? {
        Outcome::Scored(summary) => {
            if args.output.is_json() {
                println!(
                    "{}",
                    json!({"name": name, "bucket": bucket.name(), "key": key, "version_id": written.version_id, "summary": summary})
                );
            } else {
                println!("{}", batch::summary_text(&summary));
            }
            Ok(Status::Success)
        }
        Outcome::Failed(report) => bail!(
            "the function could not score {location}: {}\nLambda retries it twice, then puts it in the dead-letter queue (`irisctl dlq list --env {}`); fix the file and submit it again",
            report["error"]["message"]
                .as_str()
                .unwrap_or("(no message)"),
            session.config.env
        ),
    }
}

enum Outcome {
    Scored(Value),
    Failed(Value),
}

/// Polls for this upload's summary or error report, every second, until `timeout`.
async fn wait(
    bucket: &Bucket,
    name: &str,
    upload: &Upload,
    timeout: Duration,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    loop {
        if let Some(summary) = report(bucket, &batch::summary_key(name)).await?
            && upload.matches(&summary)
        {
            return Ok(Outcome::Scored(summary));
        }
        if let Some(error) = report(bucket, &batch::error_key(name)).await?
            && upload.matches(&error)
        {
            return Ok(Outcome::Failed(error));
        }
        if started.elapsed() >= timeout {
            bail!(
                "no summary for s3://{}/{} after {}; the function may still be running or retrying: check later with `irisctl batch get`, or `irisctl dlq list`",
                bucket.name(),
                batch::input_key(name),
                humantime::format_duration(timeout)
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn report(bucket: &Bucket, key: &str) -> anyhow::Result<Option<Value>> {
    let Some(fetched) = bucket.get(key).await? else {
        return Ok(None);
    };
    let value = serde_json::from_slice(&fetched.body).with_context(|| {
        format!(
            "s3://{}/{key} is not the JSON the function writes",
            bucket.name()
        )
    })?;
    Ok(Some(value))
}

async fn get(args: GetArgs) -> anyhow::Result<Status> {
    batch::check_name(&args.name).map_err(|e| anyhow::anyhow!(e))?;
    let session = Session::open(&args.target).await?;
    let bucket = bucket(&session).await?;
    let env = &session.config.env;
    let Some(output) = bucket.get(&batch::output_key(&args.name)).await? else {
        if let Some(error) = report(&bucket, &batch::error_key(&args.name)).await? {
            bail!(
                "batch file {} was not scored: {}\nfix it and submit it again (`irisctl batch submit --env {env} FILE --name {}`)",
                args.name,
                error["error"]["message"].as_str().unwrap_or("(no message)"),
                args.name
            );
        }
        bail!(
            "no output for batch file {} in s3://{}/{} yet; submit it (`irisctl batch submit --env {env} FILE`) or wait for the function",
            args.name,
            bucket.name(),
            batch::output_key(&args.name)
        );
    };
    match &args.out {
        None => {
            use std::io::Write as _;
            std::io::stdout()
                .write_all(&output.body)
                .context("writing the output to stdout")?;
        }
        Some(path) => {
            std::fs::write(path, &output.body)
                .with_context(|| format!("cannot write {}", path.display()))?;
            match report(&bucket, &batch::summary_key(&args.name)).await? {
                Some(summary) => println!("{}", batch::summary_text(&summary)),
                None => println!("wrote {}", path.display()),
            }
        }
    }
    Ok(Status::Success)
}
