//! Every stack in the account and region with its tags and times ([`Cfn::list_stacks`]),
//! as [`TaggedStack`]s for the pure selection. Deleted stacks are not listed by
//! DescribeStacks, so they never reach the selection.

use aws_sdk_cloudformation::primitives::{DateTime, DateTimeFormat};

use super::select::TaggedStack;
use crate::aws::cloudformation::{Cfn, CfnError};

/// Takes the SDK client `cmd gc` already holds; the listing itself is [`Cfn`]'s.
pub async fn all_stacks(
    cfn: &aws_sdk_cloudformation::Client,
) -> Result<Vec<TaggedStack>, CfnError> {
    let listed = Cfn::new(cfn.clone()).list_stacks().await?;
    Ok(listed
        .into_iter()
        .map(|s| TaggedStack {
            name: s.name,
            tags: s.tags,
            created_ms: s.created_ms,
            updated_ms: s.updated_ms,
        })
        .collect())
}

/// An `irisctl:expires` tag value (RFC 3339, as deploy writes it) in ms since the epoch.
pub fn parse_expiry(value: &str) -> Option<i64> {
    DateTime::from_str(value, DateTimeFormat::DateTime)
        .ok()?
        .to_millis()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploy_s_expiry_format_parses_and_garbage_does_not() {
        assert_eq!(parse_expiry("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(
            parse_expiry("2026-11-29T14:13:46.123Z"),
            Some(1_795_961_626_123)
        );
        // What deploy writes (`ui::time::timestamp`) reads back exactly.
        let ms = 1_795_961_626_123;
        assert_eq!(parse_expiry(&crate::ui::time::timestamp(ms)), Some(ms));
        assert_eq!(parse_expiry("tomorrow"), None);
        assert_eq!(parse_expiry(""), None);
    }
}
