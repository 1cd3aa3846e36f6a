//! `irisctl model rollback --env ENV [--to SHA]`: pin the previous release again (or the
//! newest release with that model sha256): its code and its model, at the S3 versions
//! that release ran. Refused, with nothing changed, when no version holds that release
//! any more (pruned) or its objects are gone from the bucket; warns when the bucket's
//! lifecycle will expire the model's S3 version.

use super::{ChangeOpts, ChangeReport, Keep, apply, describe_version, finish, open, release_facts};
use crate::cmd::args::OutputFormat;
use crate::cmd::session::CommonArgs;
use crate::deploy::artifacts::{self, lambda_key, manifest_key, model_key};
use crate::exit::{Refusal, Status};
use crate::release::{Published, Releases};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Go back to the newest release with this model sha256 (or a unique prefix of it, at
    /// least 6 hex digits) instead of the previous one.
    #[arg(long, value_name = "SHA")]
    pub to: Option<String>,
    /// Change a protected env without asking.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub keep: Keep,
    #[command(flatten)]
    pub output: OutputFormat,
}

/// The release to go back to.
fn choose<'a>(
    versions: &'a [Published],
    facts: &'a Releases,
    to: Option<&str>,
    env: &str,
) -> Result<&'a Published, Refusal> {
    let Some(to) = to else {
        return facts.previous.as_ref().ok_or_else(|| {
            Refusal::SafetyGate(format!(
                "env `{env}` has no previous release to go back to (one release published so \
                 far, or the older ones were pruned); nothing was changed"
            ))
        });
    };
    if to.len() < 6 || !to.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Refusal::SafetyGate(format!(
            "--to {to}: give a model sha256 or at least its first 6 hex digits; nothing was \
             changed"
        )));
    }
    let to = to.to_ascii_lowercase();
    let live_model = facts
        .live
        .as_ref()
        .and_then(|l| l.release.as_ref())
        .map(|r| r.model_sha256.as_str());
    let mut matching: Vec<&Published> = versions
        .iter()
        .filter(|v| {
            v.release
                .as_ref()
                .is_some_and(|r| r.model_sha256.starts_with(&to))
        })
        .collect();
    matching.sort_by_key(|v| std::cmp::Reverse(v.version));
    let models: std::collections::BTreeSet<&str> = matching
        .iter()
        .filter_map(|v| v.release.as_ref().map(|r| r.model_sha256.as_str()))
        .collect();
    if models.len() > 1 {
        return Err(Refusal::SafetyGate(format!(
            "--to {to} matches several models ({}); give more digits; nothing was changed",
            models.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    if models.iter().next().copied() == live_model && live_model.is_some() {
        return Err(Refusal::SafetyGate(format!(
            "model {to} is already live in env `{env}`; nothing was changed"
        )));
    }
    matching.first().copied().ok_or_else(|| {
        Refusal::SafetyGate(format!(
            "no Lambda version of env `{env}` holds model {to} any more (never pushed, or \
             pruned: only the last releases are kept); push it again with `irisctl model \
             push --env {env} --model DIR`; nothing was changed"
        ))
    })
}

pub async fn run(args: Args) -> anyhow::Result<Status> {
    let opened = open(&args.common.target).await?;
    let env = opened.session.config.env.clone();
    let mut report = ChangeReport::new(&env, "rollback");
    let outcome = async {
        let (versions, facts) = release_facts(&opened.lambda, &opened.resources.function).await?;
        report.before = facts.live.clone();
        let chosen = choose(&versions, &facts, args.to.as_deref(), &env)?.clone();
        let release = chosen
            .release
            .clone()
            .ok_or_else(|| anyhow::anyhow!("internal: chose a version without a release"))?;
        let what = describe_version(&chosen);
        // The bytes that release ran must still be in the bucket, at the versions it ran.
        let model_version = chosen.model_version_id.clone().unwrap_or_default();
        let manifest_version = chosen.manifest_version_id.clone().unwrap_or_default();
        let bucket = &opened.bucket;
        for (key, version) in [
            (model_key(&release.model_sha256), &model_version),
            (manifest_key(&release.model_sha256), &manifest_version),
        ] {
            if bucket.head_version(&key, version).await?.is_none() {
                return Err(Refusal::SafetyGate(format!(
                    "{what}: s3://{}/{key} (S3 version {}) no longer exists (expired by the \
                     bucket's lifecycle, or deleted); push that model again with `irisctl \
                     model push`; nothing was changed",
                    bucket.name(),
                    if version.is_empty() {
                        "latest"
                    } else {
                        version
                    }
                ))
                .into());
            }
            let current = bucket.head_version(&key, "").await?;
            if !version.is_empty() && current.is_some_and(|c| &c.version_id != version) {
                report.warnings.push(format!(
                    "s3://{}/{key} version {version} is no longer the current one: the \
                     bucket's lifecycle expires noncurrent versions {} days after they were \
                     replaced (beyond the newest {} kept; storage.noncurrent_version_days)",
                    bucket.name(),
                    opened.session.config.storage.noncurrent_version_days.value,
                    opened.session.config.storage.keep_noncurrent_versions.value,
                ));
            }
        }
        let code_key = lambda_key(&release.code_sha256);
        let code = bucket.head_version(&code_key, "").await?;
        let expected = crate::digest::hex_to_b64(&release.code_sha256);
        let code_version = match code {
            Some(info) if info.sha256_b64.is_some() && info.sha256_b64 == expected => {
                info.version_id
            }
            _ => {
                return Err(Refusal::SafetyGate(format!(
                    "{what}: its code s3://{}/{code_key} is gone or does not carry sha256 {}; \
                     deploy that code again with `irisctl deploy`; nothing was changed",
                    bucket.name(),
                    release.code_sha256
                ))
                .into());
            }
        };
        let mut pins = artifacts::code_pins(&release.code_sha256, &code_version);
        pins.extend(artifacts::model_pins(
            &release.model_sha256,
            &model_version,
            &manifest_version,
        ));
        let opts = ChangeOpts {
            common: args.common.clone(),
            yes: args.yes,
            keep: args.keep.releases,
            strategy: None,
        };
        apply(&opened, &pins, &opts, &mut report).await
    }
    .await;
    finish(report, outcome, args.output)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::release::{Release, releases};

    fn v(version: u32, model: char) -> Published {
        Published {
            version,
            release: Some(Release {
                code_sha256: "c".repeat(64),
                model_sha256: model.to_string().repeat(64),
                config_digest: "x".into(),
            }),
            model_version_id: None,
            manifest_version_id: None,
            description: String::new(),
        }
    }

    #[test]
    fn without_to_the_previous_release_and_refused_when_there_is_none() {
        let versions = vec![v(1, 'a'), v(2, 'b')];
        let facts = releases(versions.clone(), "2", &BTreeMap::new());
        assert_eq!(
            choose(&versions, &facts, None, "dev")
                .map(|p| p.version)
                .ok(),
            Some(1)
        );
        let one = vec![v(1, 'a')];
        let facts = releases(one.clone(), "1", &BTreeMap::new());
        let err = choose(&one, &facts, None, "dev").expect_err("none");
        assert!(err.to_string().contains("no previous release"), "{err}");
    }

    #[test]
    fn to_picks_the_newest_version_of_that_model_and_refuses_what_is_not_there() {
        let versions = vec![v(1, 'a'), v(2, 'b'), v(3, 'a'), v(4, 'c')];
        let facts = releases(versions.clone(), "4", &BTreeMap::new());
        let picked = choose(&versions, &facts, Some("aaaaaa"), "dev").expect("found");
        assert_eq!(picked.version, 3);
        for (to, says) in [
            ("dddddd", "no Lambda version"),
            ("cccccc", "already live"),
            ("abc", "at least its first 6"),
        ] {
            let err = choose(&versions, &facts, Some(to), "dev").expect_err(to);
            assert!(err.to_string().contains(says), "{to}: {err}");
        }
    }
}
