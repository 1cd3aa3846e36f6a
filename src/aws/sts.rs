//! Who is calling: STS GetCallerIdentity, one call. Must not decide what a mismatch means.

use aws_sdk_sts::Client;

use super::error::CallFailed;

/// The caller's account and ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub arn: String,
}

/// Error codes STS answers with for credentials it no longer accepts.
const EXPIRED: [&str; 3] = ["ExpiredToken", "ExpiredTokenException", "RequestExpired"];

pub async fn caller(client: &Client) -> anyhow::Result<Caller> {
    let out = client.get_caller_identity().send().await.map_err(|e| {
        let failure = CallFailed::from_sdk("STS", "GetCallerIdentity", "caller", &e);
        if failure
            .code
            .as_deref()
            .is_some_and(|code| EXPIRED.contains(&code))
        {
            anyhow::anyhow!(
                "{}",
                super::credentials::advice(
                    std::env::var("AWS_PROFILE").ok().as_deref(),
                    &failure.message,
                    true
                )
            )
        } else if failure.code.as_deref() == Some("InvalidClientTokenId") {
            anyhow::anyhow!(
                "{failure}: the access key is not known to AWS; check AWS_ACCESS_KEY_ID or the \
                 profile's keys (`aws configure list` shows which are used)"
            )
        } else {
            anyhow::Error::new(failure)
        }
    })?;
    Ok(Caller {
        account: out.account().unwrap_or_default().to_owned(),
        arn: out.arn().unwrap_or_default().to_owned(),
    })
}
