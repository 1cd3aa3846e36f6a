//! `irisctl model list --env ENV`: every model in the env's bucket (models/<sha>/), with
//! its S3 version, when it was stored, its held-out accuracy (from its manifest), and
//! which is live and previous; newest first.

use anyhow::Context;
use serde::Serialize;

use super::{open, release_facts, short};
use crate::cmd::args::{EnvArgs, OutputFormat};
use crate::deploy::artifacts::{MANIFEST_FILE, MODEL_FILE, manifest_key};
use crate::exit::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: EnvArgs,
    #[command(flatten)]
    pub output: OutputFormat,
}

#[derive(Debug, Serialize)]
struct Row {
    sha256: String,
    /// The current S3 version of model.bin (empty in an unversioned bucket).
    version_id: String,
    /// When model.bin was stored (the manifest carries no time: it is a function of its
    /// inputs).
    created: Option<String>,
    accuracy: Option<f64>,
    live: bool,
    previous: bool,
}

pub async fn run(args: Args) -> anyhow::Result<Status> {
    let opened = open(&args.target).await?;
    let (_, facts) = release_facts(&opened.lambda, &opened.resources.function).await?;
    let model_of = |p: &Option<crate::release::Published>| {
        p.as_ref()
            .and_then(|p| p.release.as_ref())
            .map(|r| r.model_sha256.clone())
    };
    let live = model_of(&facts.live);
    let previous = model_of(&facts.previous);
    let mut rows = Vec::new();
    for listed in opened.bucket.keys("models/").await? {
        let Some(sha) = listed
            .key
            .strip_prefix("models/")
            .and_then(|k| k.strip_suffix(&format!("/{MODEL_FILE}")))
        else {
            continue;
        };
        let head = opened.bucket.head(&listed.key).await?;
        let manifest = opened
            .bucket
            .get_version(&manifest_key(sha), "")
            .await?
            .with_context(|| format!("models/{sha}/ has no {MANIFEST_FILE}"));
        let accuracy = manifest.ok().and_then(|bytes| {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()?
                .pointer("/metrics/accuracy")?
                .as_f64()
        });
        rows.push(Row {
            sha256: sha.to_owned(),
            version_id: head.map(|h| h.version_id).unwrap_or_default(),
            created: listed.last_modified.clone(),
            accuracy,
            live: live.as_deref() == Some(sha),
            previous: previous.as_deref() == Some(sha),
        });
    }
    rows.sort_by(|a, b| b.created.cmp(&a.created).then(a.sha256.cmp(&b.sha256)));
    if args.output.is_json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).context("writing JSON")?
        );
        return Ok(Status::Success);
    }
    if rows.is_empty() {
        println!(
            "env {}: no models in s3://{}/models/",
            args.target.env,
            opened.bucket.name()
        );
        return Ok(Status::Success);
    }
    println!(
        "{:<14} {:<34} {:<22} {:>8}  ",
        "SHA256", "S3 VERSION", "CREATED", "ACCURACY"
    );
    for r in &rows {
        let mark = if r.live {
            "live"
        } else if r.previous {
            "previous"
        } else {
            ""
        };
        println!(
            "{:<14} {:<34} {:<22} {:>8}  {mark}",
            short(&r.sha256),
            if r.version_id.is_empty() {
                "-"
            } else {
                &r.version_id
            },
            r.created.as_deref().unwrap_or("-"),
            r.accuracy
                .map(|a| format!("{:.1}%", a * 100.0))
                .unwrap_or_else(|| "-".into()),
        );
    }
    Ok(Status::Success)
}
