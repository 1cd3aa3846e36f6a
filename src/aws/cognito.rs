//! Cognito user pools: who holds a hosted-UI domain prefix (DescribeUserPoolDomain, whose
//! answer for a free prefix is an empty description). Must not decide what it means.

use aws_sdk_cognitoidentityprovider::Client;

use super::error::CallFailed;

/// The user pool holding `domain`, or `None` when the prefix is free.
pub async fn domain_pool(client: &Client, domain: &str) -> Result<Option<String>, CallFailed> {
    let out = client
        .describe_user_pool_domain()
        .domain(domain)
        .send()
        .await
        .map_err(|e| CallFailed::from_sdk("Cognito", "DescribeUserPoolDomain", domain, &e))?;
    Ok(out
        .domain_description()
        .and_then(|d| d.user_pool_id())
        .filter(|id| !id.is_empty())
        .map(str::to_owned))
}
