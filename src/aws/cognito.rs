//! Cognito user pools (served by moto on the emulators, through
//! `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`): the one call `irisctl token` needs, the
//! app client's secret. Must not print or log the secret, nor put it in an error.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata as _;

/// The client secret of `client_id` in `pool_id` (DescribeUserPoolClient).
pub async fn client_secret(
    client: &Client,
    pool_id: &str,
    client_id: &str,
) -> anyhow::Result<String> {
    let out = client
        .describe_user_pool_client()
        .user_pool_id(pool_id)
        .client_id(client_id)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "Cognito DescribeUserPoolClient for client {client_id} of pool {pool_id} failed: {} \
                 (the credentials need cognito-idp:DescribeUserPoolClient on the pool)",
                e.message().or(e.code()).unwrap_or("no answer from Cognito")
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
