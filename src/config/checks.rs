//! Checks of single values of the env file (names, region, account id, email, tags):
//! pure functions that say whether a value is well formed, so resolve.rs reads as the
//! list of settings and their rules. Must not know where a value came from.

pub fn is_project(s: &str) -> bool {
    (1..=16).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// Whether `s` is spelled like an AWS region name (`us-east-1`); also checks `bootstrap --region`.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    (3..=4).contains(&parts.len())
        && parts[0].len() == 2
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
}

pub(super) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

pub(super) fn is_email(s: &str) -> bool {
    let mut parts = s.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

pub(super) fn tag_problem(key: &str, value: &str) -> Option<String> {
    if key.is_empty() || key.len() > 128 {
        return Some(format!("tag key `{key}` must be 1-128 characters"));
    }
    if value.len() > 256 {
        return Some(format!(
            "tag `{key}` has a value longer than 256 characters"
        ));
    }
    let lower = key.to_ascii_lowercase();
    if lower.starts_with("aws:") || lower.starts_with("irisctl:") {
        return Some(format!(
            "tag key `{key}`: the `aws:` and `irisctl:` prefixes are reserved"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in ["us-east-1", "eu-west-2", "ap-southeast-5", "us-gov-west-1"] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in ["", "us-east", "US-EAST-1", "useast1", "us-east-x"] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(is_email("ops@example.com"));
        for bad in ["ops", "ops@", "@example.com", "a@b", "a b@c.d", "a@b@c.d"] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
