//! Who is calling: STS GetCallerIdentity, one call. Must not decide what a mismatch means.

use aws_sdk_sts::Client;
use aws_sdk_sts::error::DisplayErrorContext;

/// The caller's account and ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub arn: String,
}

pub async fn caller(client: &Client) -> anyhow::Result<Caller> {
    let out = client.get_caller_identity().send().await.map_err(|e| {
        anyhow::anyhow!(
            "STS GetCallerIdentity failed (are credentials configured?): {}",
            DisplayErrorContext(&e)
        )
    })?;
    Ok(Caller {
        account: out.account().unwrap_or_default().to_owned(),
        arn: out.arn().unwrap_or_default().to_owned(),
    })
}
