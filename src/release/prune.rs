//! Which versions to delete: every published version beyond the newest `keep` releases,
//! never the live or the previous one (rollback needs it), nor one the alias splits
//! traffic to. A release published again (same code and model, new configuration)
//! counts once; its older versions go.

use std::collections::BTreeSet;

use super::{Published, Releases};

/// Version numbers to delete, oldest first. `keep` is at least 1 in effect: the live
/// release is always kept.
pub fn to_prune(versions: &[Published], releases: &Releases, keep: u32) -> Vec<u32> {
    let mut newest_first: Vec<&Published> = versions.iter().collect();
    newest_first.sort_by_key(|v| std::cmp::Reverse(v.version));
    let mut protected: BTreeSet<u32> = BTreeSet::new();
    protected.extend(releases.live.as_ref().map(|l| l.version));
    protected.extend(releases.previous.as_ref().map(|p| p.version));
    protected.extend(
        releases
            .split
            .iter()
            .filter_map(|s| s.version.parse::<u32>().ok()),
    );
    let mut kept_releases: Vec<Option<String>> = Vec::new();
    let mut delete = Vec::new();
    for v in newest_first {
        let id = v.release.as_ref().map(super::Release::id);
        if protected.contains(&v.version) {
            continue;
        }
        // Newest version of a release among the newest `keep` releases: kept.
        let counted = kept_releases.len()
            + usize::from(releases.live.is_some())
            + usize::from(releases.previous.is_some());
        let same_as_protected = releases
            .live
            .iter()
            .chain(releases.previous.iter())
            .any(|p| p.release.as_ref().map(super::Release::id) == id);
        if id.is_some()
            && !same_as_protected
            && !kept_releases.contains(&id)
            && counted < keep as usize
        {
            kept_releases.push(id);
            continue;
        }
        delete.push(v.version);
    }
    delete.sort_unstable();
    delete
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::facts::tests::v;
    use super::super::releases;
    use super::*;

    #[test]
    fn keeps_the_newest_releases_and_deletes_the_rest() {
        let versions: Vec<Published> = (1..=7)
            .map(|n| v(n, '1', char::from(b'a' + n as u8)))
            .collect();
        let r = releases(versions.clone(), "7", &BTreeMap::new());
        assert_eq!(to_prune(&versions, &r, 3), vec![1, 2, 3, 4]);
    }

    #[test]
    fn never_the_live_or_previous_even_when_old() {
        let versions: Vec<Published> = (1..=5)
            .map(|n| v(n, '1', char::from(b'a' + n as u8)))
            .collect();
        // Rolled back to 1: live is 1, previous is 5 (the newest other release).
        let r = releases(versions.clone(), "1", &BTreeMap::new());
        let pruned = to_prune(&versions, &r, 2);
        assert!(!pruned.contains(&1) && !pruned.contains(&5), "{pruned:?}");
        assert_eq!(pruned, vec![2, 3, 4]);
        // keep 0 or 1 still keeps live and previous.
        assert_eq!(to_prune(&versions, &r, 0), vec![2, 3, 4]);
    }

    #[test]
    fn older_copies_of_a_kept_release_and_foreign_versions_go() {
        let mut versions = vec![v(1, '1', 'a'), v(2, '1', 'b'), v(3, '1', 'a')];
        let mut foreign = v(4, '1', 'z');
        foreign.release = None;
        versions.push(foreign);
        let r = releases(versions.clone(), "3", &BTreeMap::new());
        assert_eq!(r.previous.as_ref().map(|p| p.version), Some(2));
        // 1 is release A again (live is 3 = A), 4 was not published by the stack.
        assert_eq!(to_prune(&versions, &r, 5), vec![1, 4]);
    }

    #[test]
    fn a_version_the_alias_splits_traffic_to_is_kept() {
        let versions: Vec<Published> = (1..=4)
            .map(|n| v(n, '1', char::from(b'a' + n as u8)))
            .collect();
        let weights: BTreeMap<String, f64> = [("1".to_string(), 0.1)].into();
        let r = releases(versions.clone(), "4", &weights);
        assert_eq!(to_prune(&versions, &r, 2), vec![2]);
    }
}
