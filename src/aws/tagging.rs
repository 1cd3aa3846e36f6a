//! The Resource Groups Tagging API: every resource in the client's region that carries a
//! set of tags (GetResources, all pages). AWS documents that GetResources returns "tagged
//! or previously tagged" resources, so a hit is only a lead: whoever reads it must confirm
//! it with the owning service. Must not decide what a hit means (destroy's receipt does).

use std::collections::BTreeMap;

use aws_sdk_resourcegroupstagging::Client;
use aws_sdk_resourcegroupstagging::types::TagFilter;

use super::error::CallFailed;

/// One resource GetResources listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    pub arn: String,
    pub tags: BTreeMap<String, String>,
}

/// Every resource carrying each `(key, value)` of `tags` (the filters are ANDed).
pub async fn tagged(client: &Client, tags: &[(&str, &str)]) -> Result<Vec<Tagged>, CallFailed> {
    let target = tags
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let filters: Vec<TagFilter> = tags
        .iter()
        .map(|(k, v)| TagFilter::builder().key(*k).values(*v).build())
        .collect();
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_resources()
            .set_tag_filters(Some(filters.clone()))
            .set_pagination_token(token.clone())
            .send()
            .await
            .map_err(|e| CallFailed::from_sdk("Tagging", "GetResources", &target, &e))?;
        for mapping in page.resource_tag_mapping_list() {
            let Some(arn) = mapping.resource_arn() else {
                continue;
            };
            found.push(Tagged {
                arn: arn.to_owned(),
                tags: mapping
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect(),
            });
        }
        // The last page has an empty (or no) token.
        match page.pagination_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(found),
        }
    }
}
