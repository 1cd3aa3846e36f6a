//! Releases: what runs behind the `live` alias. A release is the pinned pair (Lambda code
//! sha256, model sha256); the service stack publishes one Lambda version per release and
//! writes the pair (and the digest of the function configuration the version snapshots)
//! into the version's description, which is how irisctl later knows which release a
//! version holds. From the facts (the function's versions, the alias) this module decides
//! which release is live, which came before it, and which versions are beyond the ones
//! kept. Pure but for `lookup.rs`, which reads those facts (the calls themselves are in
//! `aws::lambda`); the commands are in `cmd::model` and `cmd::status`.

mod facts;
mod lookup;
mod prune;

pub use facts::{Published, Releases, Split, releases};
pub use lookup::{published, release_facts};
pub use prune::to_prune;

use serde_json::Value;

/// The alias every consumer (API integration, permissions, batch rule, async-invoke
/// settings) invokes.
pub const ALIAS: &str = "live";

/// How a version's description starts when the service stack published it.
pub const DESCRIPTION_PREFIX: &str = "irisctl release";

/// How many releases (newest versions with distinct releases) are kept when not set:
/// Lambda's code storage per region is bounded (75 GB by default), and every version
/// keeps its own copy of the zip.
pub const DEFAULT_KEEP: u32 = 5;

/// Hex digits of the configuration digest kept in a description.
const DIGEST_LEN: usize = 12;

/// The function partial: an edit to it may change what a version snapshots.
const FUNCTION_PARTIAL: &str = include_str!("../../templates/service/function.yaml.j2");

/// A digest of what a Lambda version snapshots besides code and model: the rendered
/// function settings, the batch limits the function reads, its name and the partial that
/// declares it. A change of any publishes a new version on the next deploy (the alias
/// would otherwise keep invoking the old configuration). Over-inclusive on purpose: a
/// spurious version costs nothing, a missed one serves stale settings.
pub fn config_digest(lambda: &Value, batch: &Value, function: &str) -> String {
    let text = format!("{lambda}\n{batch}\n{function}\n{FUNCTION_PARTIAL}");
    let mut digest = crate::digest::sha256_hex(&text);
    digest.truncate(DIGEST_LEN);
    digest
}

/// What a version's description says, when the service stack wrote it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Release {
    pub code_sha256: String,
    pub model_sha256: String,
    pub config_digest: String,
}

impl Release {
    /// The release's identity: code and model. Two versions of the same pair with another
    /// configuration are the same release, republished.
    pub fn id(&self) -> String {
        release_id(&self.code_sha256, &self.model_sha256)
    }

    /// `irisctl release code <sha> model <sha> config <digest>`, as the template writes
    /// it; anything else (a version published by hand) is not a release.
    pub fn parse(description: &str) -> Option<Release> {
        let rest = description.strip_prefix(DESCRIPTION_PREFIX)?;
        let words: Vec<&str> = rest.split_whitespace().collect();
        match words.as_slice() {
            ["code", code, "model", model, "config", config]
                if is_sha256(code) && is_sha256(model) =>
            {
                Some(Release {
                    code_sha256: (*code).to_owned(),
                    model_sha256: (*model).to_owned(),
                    config_digest: (*config).to_owned(),
                })
            }
            _ => None,
        }
    }
}

/// The first 16 hex digits of sha256("<code sha>:<model sha>").
pub fn release_id(code_sha256: &str, model_sha256: &str) -> String {
    let mut id = crate::digest::sha256_hex(format!("{code_sha256}:{model_sha256}"));
    id.truncate(16);
    id
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const MODEL: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn a_description_the_template_writes_parses_back() {
        let d = format!("{DESCRIPTION_PREFIX} code {CODE} model {MODEL} config abc123");
        let r = Release::parse(&d).expect("parses");
        assert_eq!(r.code_sha256, CODE);
        assert_eq!(r.model_sha256, MODEL);
        assert_eq!(r.config_digest, "abc123");
        assert_eq!(r.id(), release_id(CODE, MODEL));
        assert_eq!(r.id().len(), 16);
    }

    #[test]
    fn other_descriptions_are_not_releases() {
        for d in [
            "",
            "published by hand",
            &format!("{DESCRIPTION_PREFIX} code {CODE} model short config x"),
            &format!("{DESCRIPTION_PREFIX} model {MODEL} code {CODE} config x"),
            &format!("{DESCRIPTION_PREFIX} code {CODE} model {MODEL}"),
        ] {
            assert_eq!(Release::parse(d), None, "{d}");
        }
    }

    #[test]
    fn the_digest_follows_the_settings() {
        let a = config_digest(&serde_json::json!({"memory_mb": 512}), &Value::Null, "f");
        let b = config_digest(&serde_json::json!({"memory_mb": 1024}), &Value::Null, "f");
        assert_eq!(a.len(), DIGEST_LEN);
        assert_ne!(a, b);
        assert_eq!(
            a,
            config_digest(&serde_json::json!({"memory_mb": 512}), &Value::Null, "f")
        );
    }
}
