//! Which env names exist and which file each one reads. Owns the naming rules and the
//! ephemeral patterns (`pr-<number>`, `feature-<slug>`); must not parse env files.

use std::path::{Path, PathBuf};

use super::error::ConfigError;

/// The file every ephemeral env is built from.
pub const EPHEMERAL_BASE: &str = "ephemeral";
/// Longest env name accepted. Derived AWS names are shortened with a hash, so this only
/// keeps names readable in stack lists and tags.
pub const ENV_NAME_MAX: usize = 64;

/// Where an env's settings come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvKind {
    /// `environments/<name>.yaml` exists.
    Named,
    /// Built from `environments/ephemeral.yaml`; `pattern` says which pattern matched.
    Ephemeral { pattern: &'static str },
}

/// Check `name` against the charset rules: lowercase letters, digits and single hyphens,
/// starting with a letter and not ending with a hyphen.
pub fn check_name(name: &str) -> Result<(), ConfigError> {
    let fail = |reason: &str| {
        Err(ConfigError::EnvName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() {
        return fail("it is empty");
    }
    if name.len() > ENV_NAME_MAX {
        return fail(&format!("it is longer than {ENV_NAME_MAX} characters"));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return fail("it must start with a lowercase letter");
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return fail(&format!(
            "`{bad}` is not allowed (use lowercase letters, digits and hyphens)"
        ));
    }
    if name.ends_with('-') || name.contains("--") {
        return fail("hyphens must separate words (no trailing or doubled hyphen)");
    }
    if name == EPHEMERAL_BASE {
        return fail("`ephemeral` is the base of ephemeral envs, not an env; use e.g. pr-123");
    }
    Ok(())
}

/// The ephemeral pattern `name` matches, if any.
pub fn ephemeral_pattern(name: &str) -> Option<&'static str> {
    if let Some(n) = name.strip_prefix("pr-") {
        let digits = !n.is_empty() && n.len() <= 9 && n.chars().all(|c| c.is_ascii_digit());
        return (digits && !n.starts_with('0')).then_some("pr-<number>");
    }
    if let Some(slug) = name.strip_prefix("feature-") {
        return (!slug.is_empty()).then_some("feature-<slug>");
    }
    None
}

/// Resolve `name` to its kind and the file to read, or say why it cannot be an env.
pub fn locate(dir: &Path, name: &str) -> Result<(EnvKind, PathBuf), ConfigError> {
    check_name(name)?;
    let own = dir.join(format!("{name}.yaml"));
    if own.is_file() {
        return Ok((EnvKind::Named, own));
    }
    if name.starts_with("pr-") && ephemeral_pattern(name).is_none() {
        return Err(ConfigError::EnvName {
            name: name.to_string(),
            reason: "pr envs are named pr-<number> (digits, no leading zero), e.g. pr-123"
                .to_string(),
        });
    }
    if let Some(pattern) = ephemeral_pattern(name) {
        return Ok((
            EnvKind::Ephemeral { pattern },
            dir.join(format!("{EPHEMERAL_BASE}.yaml")),
        ));
    }
    Err(ConfigError::UnknownEnv {
        name: name.to_string(),
        file: own.display().to_string(),
        known: named_envs(dir).join(", "),
    })
}

/// The envs with their own file in `dir`, sorted (the ephemeral base excluded).
pub fn named_envs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            (path.extension()? == "yaml").then_some(())?;
            let stem = path.file_stem()?.to_str()?.to_string();
            (stem != EPHEMERAL_BASE && check_name(&stem).is_ok()).then_some(stem)
        })
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_pass() {
        for name in ["dev", "prod", "pr-123", "feature-new-model", "a1"] {
            assert!(check_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn bad_names_are_refused_with_the_rule() {
        for (name, rule) in [
            ("", "empty"),
            ("Prod", "lowercase letter"),
            ("1dev", "lowercase letter"),
            ("dev_1", "`_` is not allowed"),
            ("../etc", "lowercase letter"),
            ("dev/x", "`/` is not allowed"),
            ("dev-", "hyphens"),
            ("a--b", "hyphens"),
            ("ephemeral", "base of ephemeral"),
        ] {
            let err = check_name(name).expect_err(name).to_string();
            assert!(err.contains(rule), "{name}: {err}");
        }
        let long = "a".repeat(ENV_NAME_MAX + 1);
        assert!(check_name(&long).is_err());
    }

    #[test]
    fn ephemeral_patterns() {
        assert_eq!(ephemeral_pattern("pr-123"), Some("pr-<number>"));
        assert_eq!(ephemeral_pattern("feature-x"), Some("feature-<slug>"));
        assert_eq!(ephemeral_pattern("pr-abc"), None);
        assert_eq!(ephemeral_pattern("pr-012"), None);
        assert_eq!(ephemeral_pattern("qa"), None);
    }
}
