//! Which envs `irisctl gc` destroys: pure selection over the stacks' tags and times, so
//! the rules are tested without AWS. Only ephemeral envs (`pr-<n>`, `feature-<slug>`)
//! that irisctl tagged with an expiry are ever candidates: a stack without the expiry tag,
//! or whose env name is not an ephemeral one, is never selected whatever its age.

use std::collections::BTreeMap;

use crate::config::ephemeral_pattern;

/// Tag keys irisctl's deploy puts on every stack (see `cmd::session::Session::tags`).
pub const TAG_ENV: &str = "irisctl:env";
pub const TAG_PROJECT: &str = "irisctl:project";
pub const TAG_EXPIRES: &str = "irisctl:expires";

/// A stack as gc sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedStack {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    /// Creation time, ms since the epoch.
    pub created_ms: i64,
    /// Last update, ms since the epoch (None: never updated).
    pub updated_ms: Option<i64>,
}

impl TaggedStack {
    fn last_deployed_ms(&self) -> i64 {
        self.updated_ms
            .unwrap_or(self.created_ms)
            .max(self.created_ms)
    }
}

/// An env gc will destroy, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub project: String,
    pub env: String,
    pub stacks: Vec<String>,
    pub reason: String,
}

/// The envs to destroy at `now_ms`: every ephemeral env whose latest expiry tag has
/// passed, or (with `older_than_ms`) whose last deploy is older than that. An env is
/// judged by its newest stack, so a stack deployed yesterday keeps its older siblings.
/// `parse_time` turns a tag value into ms since the epoch; an unreadable expiry makes the
/// env ineligible (never destroy on a guess).
pub fn select(
    stacks: &[TaggedStack],
    now_ms: i64,
    older_than_ms: Option<i64>,
    parse_time: impl Fn(&str) -> Option<i64>,
) -> Vec<Candidate> {
    #[derive(Default)]
    struct Env {
        stacks: Vec<String>,
        expires: Vec<Option<i64>>,
        last_deployed: i64,
    }
    let mut envs: BTreeMap<(String, String), Env> = BTreeMap::new();
    for stack in stacks {
        let (Some(env), Some(project), Some(expires)) = (
            stack.tags.get(TAG_ENV),
            stack.tags.get(TAG_PROJECT),
            stack.tags.get(TAG_EXPIRES),
        ) else {
            continue;
        };
        if ephemeral_pattern(env).is_none() {
            continue;
        }
        let entry = envs.entry((project.clone(), env.clone())).or_default();
        entry.stacks.push(stack.name.clone());
        entry.expires.push(parse_time(expires));
        entry.last_deployed = entry.last_deployed.max(stack.last_deployed_ms());
    }
    let mut chosen = Vec::new();
    for ((project, env), mut e) in envs {
        let Some(expires) = e.expires.iter().copied().collect::<Option<Vec<i64>>>() else {
            continue;
        };
        let latest_expiry = expires.into_iter().max().unwrap_or(i64::MAX);
        let age = now_ms - e.last_deployed;
        let reason = if latest_expiry <= now_ms {
            format!("expired {} ago", hours(now_ms - latest_expiry))
        } else if let Some(limit) = older_than_ms.filter(|limit| age > *limit) {
            format!(
                "last deployed {} ago (older than {})",
                hours(age),
                hours(limit)
            )
        } else {
            continue;
        };
        e.stacks.sort();
        chosen.push(Candidate {
            project,
            env,
            stacks: e.stacks,
            reason,
        });
    }
    chosen
}

fn hours(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    format!("{}h{:02}m", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const NOW: i64 = 1_000 * HOUR;

    fn stack(name: &str, env: &str, expires: Option<&str>, created_h: i64) -> TaggedStack {
        let mut tags = BTreeMap::from([
            (TAG_ENV.to_owned(), env.to_owned()),
            (TAG_PROJECT.to_owned(), "iris".to_owned()),
        ]);
        if let Some(e) = expires {
            tags.insert(TAG_EXPIRES.to_owned(), e.to_owned());
        }
        TaggedStack {
            name: name.to_owned(),
            tags,
            created_ms: created_h * HOUR,
            updated_ms: None,
        }
    }

    /// Test tag values are plain hour counts.
    fn parse(v: &str) -> Option<i64> {
        v.parse::<i64>().ok().map(|h| h * HOUR)
    }

    #[test]
    fn expired_ephemeral_env_is_selected_with_all_its_stacks() {
        let stacks = [
            stack("iris-pr-7-storage", "pr-7", Some("990"), 900),
            stack("iris-pr-7-service", "pr-7", Some("990"), 900),
            stack("iris-pr-8-storage", "pr-8", Some("1010"), 990),
        ];
        let chosen = select(&stacks, NOW, None, parse);
        assert_eq!(chosen.len(), 1, "{chosen:?}");
        assert_eq!(chosen[0].env, "pr-7");
        assert_eq!(chosen[0].stacks, ["iris-pr-7-service", "iris-pr-7-storage"]);
        assert!(
            chosen[0].reason.contains("expired 10h00m ago"),
            "{}",
            chosen[0].reason
        );
    }

    #[test]
    fn older_than_selects_unexpired_envs_by_last_deploy() {
        let stacks = [
            stack("iris-feature-x-storage", "feature-x", Some("2000"), 900),
            stack("iris-pr-9-storage", "pr-9", Some("2000"), 990),
        ];
        assert!(select(&stacks, NOW, None, parse).is_empty());
        let chosen = select(&stacks, NOW, Some(72 * HOUR), parse);
        assert_eq!(chosen.len(), 1, "{chosen:?}");
        assert_eq!(chosen[0].env, "feature-x");
        assert!(chosen[0].reason.contains("100h00m"), "{}", chosen[0].reason);
    }

    #[test]
    fn a_recent_update_of_one_stack_keeps_the_env() {
        let mut fresh = stack("iris-pr-5-service", "pr-5", Some("2000"), 100);
        fresh.updated_ms = Some(999 * HOUR);
        let stacks = [stack("iris-pr-5-storage", "pr-5", Some("2000"), 100), fresh];
        assert!(select(&stacks, NOW, Some(72 * HOUR), parse).is_empty());
    }

    #[test]
    fn the_latest_expiry_of_an_env_counts() {
        let stacks = [
            stack("iris-pr-5-storage", "pr-5", Some("10"), 1),
            stack("iris-pr-5-service", "pr-5", Some("1500"), 1),
        ];
        assert!(select(&stacks, NOW, None, parse).is_empty());
    }

    #[test]
    fn non_ephemeral_or_untagged_stacks_are_never_selected() {
        let stacks = [
            // A real env that somehow carries an expiry tag.
            stack("iris-prod-storage", "prod", Some("1"), 1),
            stack("iris-dev-storage", "dev", Some("1"), 1),
            // An ephemeral-looking env without irisctl's expiry tag.
            stack("iris-pr-1-storage", "pr-1", None, 1),
            // Not irisctl's at all.
            TaggedStack {
                name: "someone-elses".into(),
                tags: BTreeMap::new(),
                created_ms: 0,
                updated_ms: None,
            },
        ];
        assert!(select(&stacks, NOW, Some(HOUR), parse).is_empty());
    }

    #[test]
    fn an_unreadable_expiry_makes_the_env_ineligible() {
        let stacks = [
            stack("iris-pr-2-storage", "pr-2", Some("not a time"), 1),
            stack("iris-pr-2-service", "pr-2", Some("5"), 1),
        ];
        assert!(select(&stacks, NOW, Some(HOUR), parse).is_empty());
    }
}
