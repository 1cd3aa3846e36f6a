//! `irisctl model promote --from ENV --to ENV`: the model live in the source env (its
//! service stack's pins) goes to the target env's bucket by server-side copy, at the exact
//! S3 versions the source runs, never rebuilt. Refused when the source runs no model or its
//! stored bytes fail the checks deploy makes (model.bin against the pinned sha256 and the
//! manifest, the manifest's seal, the accuracy gate). Each copy is verified by the SHA-256
//! S3 computes for it (CopyObject asked for one), else by reading it back. Then the
//! target's model pins change as with `model push`.

use anyhow::{Context, bail};

use super::{ChangeOpts, ChangeReport, Keep, apply, finish, open, release_facts};
use crate::aws::cloudformation::Cfn;
use crate::aws::s3::Bucket;
use crate::cmd::args::{EnvArgs, EnvsDir, LockTimeout, OperationTimeout, OutputFormat};
use crate::cmd::session::CommonArgs;
use crate::contract::pins;
use crate::deploy::artifacts::{self, ModelArtifact, manifest_key, model_key};
use crate::exit::{Refusal, Status};
use crate::naming::StackKind;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The env whose live model is promoted.
    #[arg(long, value_name = "ENV")]
    pub from: String,
    /// The env that gets it.
    #[arg(long, value_name = "ENV")]
    pub to: String,
    #[command(flatten)]
    pub envs: EnvsDir,
    #[command(flatten)]
    pub timeout: OperationTimeout,
    #[command(flatten)]
    pub lock_timeout: LockTimeout,
    /// Change a protected target env without asking.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub keep: Keep,
    #[command(flatten)]
    pub strategy: super::StrategyArg,
    #[command(flatten)]
    pub output: OutputFormat,
}

/// The model a service stack pins: (sha256, model.bin version, manifest.json version).
fn live_pins(
    params: &std::collections::BTreeMap<String, String>,
) -> Option<(String, String, String)> {
    let sha = params.get(pins::MODEL_SHA256).filter(|s| !s.is_empty())?;
    Some((
        sha.clone(),
        params
            .get(pins::MODEL_VERSION_ID)
            .cloned()
            .unwrap_or_default(),
        params
            .get(pins::MANIFEST_VERSION_ID)
            .cloned()
            .unwrap_or_default(),
    ))
}

pub async fn run(args: Args) -> anyhow::Result<Status> {
    if args.from == args.to {
        return Err(Refusal::SafetyGate(format!(
            "--from and --to are both `{}`; promote copies between two envs",
            args.to
        ))
        .into());
    }
    let env_args = |env: &str| EnvArgs {
        env: env.to_owned(),
        envs: args.envs.clone(),
    };
    let source = open(&env_args(&args.from)).await?;
    let target = open(&env_args(&args.to)).await?;
    let mut report = ChangeReport::new(&args.to, "promote");
    let outcome = async {
        let cfn = Cfn::new(crate::aws::cloudformation(&source.session.sdk));
        let service = source
            .session
            .config
            .names
            .stack(StackKind::Service)
            .to_owned();
        let stack = cfn.describe(&service).await?;
        let Some((sha, model_version, manifest_version)) =
            stack.as_ref().and_then(|s| live_pins(&s.parameters))
        else {
            return Err(Refusal::SafetyGate(format!(
                "env `{}` runs no model (stack {service} is missing or pins none); nothing \
                 was changed",
                args.from
            ))
            .into());
        };
        // The source's bytes, checked as deploy checks a model directory.
        let read = |key: String, version: String| {
            let bucket = &source.bucket;
            async move {
                bucket.get_version(&key, &version).await?.with_context(|| {
                    format!(
                        "s3://{}/{key} (version {}) is gone",
                        bucket.name(),
                        if version.is_empty() {
                            "latest"
                        } else {
                            &version
                        }
                    )
                })
            }
        };
        let checked = async {
            let model = read(model_key(&sha), model_version.clone()).await?;
            let manifest = read(manifest_key(&sha), manifest_version.clone()).await?;
            let where_ = format!("s3://{}/models/{sha}", source.bucket.name());
            let artifact = ModelArtifact::verify_bytes(model, manifest, &sha, &where_)?;
            artifact.check_gate()?;
            anyhow::Ok(artifact)
        }
        .await;
        let artifact = checked.map_err(|err| {
            Refusal::SafetyGate(format!(
                "the model live in env `{}` fails verification, so it is not promoted; \
                 nothing was changed: {err:#}",
                args.from
            ))
        })?;
        let (_, facts) = release_facts(&target.lambda, &target.resources.function).await?;
        report.before = facts.live;
        let copied_model = copy_verified(
            &target.bucket,
            &source.bucket,
            &model_key(&sha),
            &model_version,
            &artifact.model.sha256_b64(),
            &mut report,
        )
        .await?;
        let copied_manifest = copy_verified(
            &target.bucket,
            &source.bucket,
            &manifest_key(&sha),
            &manifest_version,
            &artifact.manifest.sha256_b64(),
            &mut report,
        )
        .await?;
        let pins = artifacts::model_pins(&sha, &copied_model, &copied_manifest);
        let opts = ChangeOpts {
            common: CommonArgs {
                target: env_args(&args.to),
                timeout: args.timeout.clone(),
                lock_timeout: args.lock_timeout.clone(),
            },
            yes: args.yes,
            keep: args.keep.releases,
            strategy: Some(args.strategy.or_env(&target.session.config)?),
        };
        apply(&target, &pins, &opts, &mut report).await
    }
    .await;
    finish(report, outcome, args.output)
}

/// Copy `key` at `version` from `source` unless the target already holds an object with
/// the same checksum; check the copy's SHA-256 against `sha256_b64`. Returns the target's
/// version id.
async fn copy_verified(
    target: &Bucket,
    source: &Bucket,
    key: &str,
    version: &str,
    sha256_b64: &str,
    report: &mut ChangeReport,
) -> anyhow::Result<String> {
    if let Some(existing) = target.head(key).await?
        && existing.sha256_b64.as_deref() == Some(sha256_b64)
    {
        return Ok(existing.version_id);
    }
    let copied = target
        .copy_from(source, key, version)
        .await
        .with_context(|| {
            format!(
                "copying s3://{}/{key} to s3://{}",
                source.name(),
                target.name()
            )
        })?;
    let verified = match &copied.sha256_b64 {
        Some(sum) => sum == sha256_b64,
        None => target
            .get_version(key, &copied.version_id)
            .await?
            .is_some_and(|bytes| crate::digest::sha256_b64(bytes) == sha256_b64),
    };
    if !verified {
        bail!(
            "the copy s3://{}/{key} (version {}) does not have the source's SHA-256 {sha256_b64}; \
             the target's pins were not changed. Delete that version and promote again",
            target.name(),
            copied.version_id
        );
    }
    report.uploaded.push(key.to_owned());
    Ok(copied.version_id)
}
