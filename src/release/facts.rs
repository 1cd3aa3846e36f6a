//! Which release is live, which was before it, and any traffic split, from what Lambda
//! says: the function's published versions (ListVersionsByFunction) and the `live`
//! alias (GetAlias). "Previous" is the newest version holding another release than the
//! live one: after a push it is the release pushed over, after a rollback the release
//! rolled back from, so two rollbacks in a row come back to where they started.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Release;

/// One published version (never `$LATEST`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Published {
    pub version: u32,
    /// `None`: the description is not one the service stack writes.
    pub release: Option<Release>,
    /// The model's S3 object version the version's environment pins (MODEL_VERSION_ID).
    pub model_version_id: Option<String>,
    pub manifest_version_id: Option<String>,
    pub description: String,
}

impl Published {
    fn release_id(&self) -> Option<String> {
        self.release.as_ref().map(Release::id)
    }
}

/// Part of the alias's traffic going to a second version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Split {
    pub version: String,
    pub weight: f64,
}

/// The releases behind the alias.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Releases {
    /// What the alias names: a version number (or `$LATEST`, for an alias set by hand).
    pub alias_target: String,
    pub live: Option<Published>,
    pub previous: Option<Published>,
    pub split: Vec<Split>,
}

/// Decide live and previous from the versions and the alias. `alias_target` is the
/// alias's FunctionVersion (its primary: during a rollout the release rolled out from);
/// `$LATEST` (an alias set by hand) counts as the newest published version.
pub fn releases(
    mut versions: Vec<Published>,
    alias_target: &str,
    weights: &BTreeMap<String, f64>,
) -> Releases {
    versions.sort_by_key(|v| std::cmp::Reverse(v.version));
    let live = if alias_target == "$LATEST" {
        versions.first().cloned()
    } else {
        alias_target
            .parse::<u32>()
            .ok()
            .and_then(|n| versions.iter().find(|v| v.version == n).cloned())
    };
    let live_id = live.as_ref().and_then(Published::release_id);
    let previous = versions
        .iter()
        .filter(|v| Some(v.version) != live.as_ref().map(|l| l.version))
        .find(|v| v.release.is_some() && v.release_id() != live_id)
        .cloned();
    Releases {
        alias_target: alias_target.to_owned(),
        live,
        previous,
        split: weights
            .iter()
            .map(|(version, weight)| Split {
                version: version.clone(),
                weight: *weight,
            })
            .collect(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A version holding release (code `c`, model `m`), shas made of one repeated digit.
    pub(crate) fn v(version: u32, c: char, m: char) -> Published {
        let sha = |d: char| d.to_string().repeat(64);
        Published {
            version,
            release: Some(Release {
                code_sha256: sha(c),
                model_sha256: sha(m),
                config_digest: "cfg".into(),
            }),
            model_version_id: Some(format!("mv{version}")),
            manifest_version_id: None,
            description: String::new(),
        }
    }

    #[test]
    fn live_is_the_alias_version_and_previous_the_newest_other_release() {
        let r = releases(
            vec![v(1, '1', 'a'), v(3, '1', 'c'), v(2, '1', 'b')],
            "3",
            &BTreeMap::new(),
        );
        assert_eq!(r.live.map(|l| l.version), Some(3));
        assert_eq!(r.previous.map(|p| p.version), Some(2));
    }

    #[test]
    fn after_a_rollback_previous_is_the_release_rolled_back_from() {
        // 1 = A, 2 = B, rollback published 3 = A again.
        let r = releases(
            vec![v(1, '1', 'a'), v(2, '1', 'b'), v(3, '1', 'a')],
            "3",
            &BTreeMap::new(),
        );
        assert_eq!(r.previous.map(|p| p.version), Some(2));
    }

    #[test]
    fn a_republished_release_is_not_its_own_previous() {
        // 2 is release A with another configuration (memory changed).
        let r = releases(vec![v(1, '1', 'a'), v(2, '1', 'a')], "2", &BTreeMap::new());
        assert_eq!(r.live.map(|l| l.version), Some(2));
        assert_eq!(r.previous, None);
    }

    #[test]
    fn latest_counts_as_the_newest_version_and_weights_are_reported() {
        let weights: BTreeMap<String, f64> = [("2".to_string(), 0.1)].into();
        let r = releases(vec![v(1, '1', 'a'), v(2, '1', 'b')], "$LATEST", &weights);
        assert_eq!(r.live.map(|l| l.version), Some(2));
        assert_eq!(r.previous.map(|p| p.version), Some(1));
        assert_eq!(
            r.split,
            vec![Split {
                version: "2".into(),
                weight: 0.1
            }]
        );
    }

    #[test]
    fn no_versions_means_no_live_release() {
        let r = releases(Vec::new(), "$LATEST", &BTreeMap::new());
        assert_eq!(r.live, None);
        assert_eq!(r.previous, None);
    }
}
