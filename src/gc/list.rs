//! Every stack in the account and region with its tags and times (DescribeStacks without
//! a name, paginated), as [`TaggedStack`]s for the pure selection. Deleted stacks are not
//! listed by DescribeStacks, so they never reach the selection.

use aws_sdk_cloudformation::primitives::{DateTime, DateTimeFormat};

use super::select::TaggedStack;

pub async fn all_stacks(
    cfn: &aws_sdk_cloudformation::Client,
) -> Result<Vec<TaggedStack>, aws_sdk_cloudformation::Error> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = cfn
            .describe_stacks()
            .set_next_token(token.clone())
            .send()
            .await?;
        for s in page.stacks() {
            out.push(TaggedStack {
                name: s.stack_name().unwrap_or_default().to_owned(),
                tags: s
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                    .collect(),
                created_ms: s.creation_time().map(millis).unwrap_or_default(),
                updated_ms: s.last_updated_time().map(millis),
            });
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(out);
        }
    }
}

fn millis(t: &DateTime) -> i64 {
    t.to_millis().unwrap_or_default()
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
