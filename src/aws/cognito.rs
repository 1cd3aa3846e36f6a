//! Cognito user pools (served by moto on the emulators, through
//! `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`): who holds a hosted-UI domain prefix
//! (preflight) and the machine client's secret (`irisctl token`). Must not decide what an
//! answer means, and must not print or log the secret, nor put it in an error.

use aws_sdk_cognitoidentityprovider::Client;

use super::error::CallFailed;

/// The user pool holding `domain`, or `None` when the prefix is free (DescribeUserPoolDomain,
/// whose answer for a free prefix is an empty description).
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

/// The client secret of `client_id` in `pool_id` (DescribeUserPoolClient).
pub async fn client_secret(
    client: &Client,
    pool_id: &str,
    client_id: &str,
) -> anyhow::Result<String> {
    let target = format!("client {client_id} of pool {pool_id}");
    let out = client
        .describe_user_pool_client()
        .user_pool_id(pool_id)
        .client_id(client_id)
        .send()
        .await
        .map_err(|e| {
            let failed = CallFailed::from_sdk("Cognito", "DescribeUserPoolClient", &target, &e);
            anyhow::anyhow!(
                "{failed} (the credentials need cognito-idp:DescribeUserPoolClient on the pool)"
            )
        })?;
    out.user_pool_client()
        .and_then(|c| c.client_secret())
        .map(str::to_owned)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "app client {client_id} of pool {pool_id} has no secret; the client-credentials grant needs one \
                 (the auth stack's machine client is created with GenerateSecret: true)"
            )
        })
}
