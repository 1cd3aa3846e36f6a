//! The facts the release decisions are made from, read through `aws::lambda`: the
//! function's published versions and its `live` alias. The one part of `release` that
//! calls AWS.

use std::collections::BTreeMap;

use crate::aws;
use crate::aws::lambda::VersionInfo;
use crate::contract::function_env;

use super::{Published, Release, Releases};

/// One published version as the release facts need it (`None` for `$LATEST`).
pub fn published(v: &VersionInfo) -> Option<Published> {
    let version = v.version.parse().ok()?;
    let env = |name: &str| v.environment.get(name).cloned();
    Some(Published {
        version,
        release: Release::parse(&v.description),
        model_version_id: env(function_env::MODEL_VERSION_ID),
        manifest_version_id: env(function_env::MANIFEST_VERSION_ID),
        description: v.description.clone(),
    })
}

/// The function's published versions and what is live behind its alias. A function
/// without the alias (deployed before releases) has no live release.
pub async fn release_facts(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
) -> anyhow::Result<(Vec<Published>, Releases)> {
    let versions: Vec<Published> = aws::lambda::versions(lambda, function)
        .await?
        .iter()
        .filter_map(published)
        .collect();
    let alias = aws::lambda::alias(lambda, function, super::ALIAS).await?;
    let (target, weights) = match alias {
        Some(a) => (a.function_version, a.weights),
        None => (String::new(), BTreeMap::new()),
    };
    let facts = super::releases(versions.clone(), &target, &weights);
    Ok((versions, facts))
}
