//! Config errors, written for the person at the terminal: the file, line and column,
//! what is wrong, and (for a misspelt key) the key they probably meant.

use std::path::Path;

use super::raw::KNOWN_KEYS;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A problem at a known position in an env file.
    #[error("{file}:{line}:{column}: {message}")]
    At {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },
    /// A problem with a whole file (unreadable, empty position).
    #[error("{file}: {message}")]
    File { file: String, message: String },
    /// The env name itself is not allowed.
    #[error("invalid env name `{name}`: {reason}")]
    EnvName { name: String, reason: String },
    /// No file for this env and it matches no ephemeral pattern.
    #[error(
        "no env `{name}`: {file} does not exist and `{name}` matches no ephemeral pattern \
         (pr-<number>, feature-<slug>); known envs: {known}"
    )]
    UnknownEnv {
        name: String,
        file: String,
        known: String,
    },
}

impl ConfigError {
    pub(crate) fn at(path: &Path, line: u64, column: u64, message: impl Into<String>) -> Self {
        ConfigError::At {
            file: path.display().to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    /// Turn a YAML/serde error into one line with the position and, for an unknown key,
    /// a suggestion.
    pub(crate) fn from_yaml(path: &Path, err: &serde_saphyr::Error) -> Self {
        let message = first_line(&err.without_snippet().to_string());
        let message = match unknown_key(&message) {
            Some(key) => unknown_key_message(&key),
            None => message,
        };
        match err.location() {
            Some(loc) if loc.line() > 0 => ConfigError::at(path, loc.line(), loc.column(), message),
            _ => ConfigError::File {
                file: path.display().to_string(),
                message,
            },
        }
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid YAML")
        .trim_start_matches("error: ")
        .to_string()
}

/// The key named in serde's "unknown field `x`, expected ..." message.
fn unknown_key(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    Some(rest.split('`').next()?.to_string())
}

fn unknown_key_message(key: &str) -> String {
    let section_keys = KNOWN_KEYS
        .iter()
        .find(|(_, keys)| keys.contains(&key))
        .map(|(section, _)| *section);
    let mut message = format!("unknown key `{key}`");
    match did_you_mean(key) {
        Some(near) => message.push_str(&format!("; did you mean `{near}`?")),
        None if section_keys.is_none() => {
            message.push_str("; see environments/README.md for the keys each section takes")
        }
        None => {}
    }
    message
}

/// The known key closest to `key`, if it is close enough to be a typo.
pub(crate) fn did_you_mean(key: &str) -> Option<&'static str> {
    KNOWN_KEYS
        .iter()
        .flat_map(|(_, keys)| keys.iter().copied())
        .map(|known| (strsim::jaro_winkler(key, known), known))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, known)| known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_get_a_suggestion() {
        assert_eq!(did_you_mean("memroy_mb"), Some("memory_mb"));
        assert_eq!(did_you_mean("throtle_rate"), Some("throttle_rate"));
        assert_eq!(did_you_mean("regoin"), Some("region"));
    }

    #[test]
    fn unrelated_words_get_none() {
        assert_eq!(did_you_mean("banana"), None);
    }
}
