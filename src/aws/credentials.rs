//! Whether the SDK can load credentials at all, asked once before a command's first call,
//! so a missing or expired login reads as what to do about it instead of a dispatch
//! failure deep in the first request. Owns the list of sources the SDK's default chain
//! tries (aws-config's `DefaultCredentialsChain`, in its order) and the ways to configure
//! one. Must not print, or hold any credential beyond the call.

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;

use super::error::{debug, root_cause};

/// Credentials could not be loaded: the message says which sources were tried and how to
/// configure one.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CredentialsProblem(pub String);

/// Load credentials through the configuration's provider (nothing is kept).
pub async fn check(conf: &SdkConfig) -> Result<(), CredentialsProblem> {
    let Some(provider) = conf.credentials_provider() else {
        return Err(CredentialsProblem(advice(
            profile().as_deref(),
            "no credentials provider is configured",
            false,
        )));
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(err) => {
            let cause = root_cause(&err);
            let expired = is_expired(&err, &cause);
            let mut text = advice(profile().as_deref(), &cause, expired);
            if debug() {
                text.push_str(&format!("\nSDK error: {err:?}"));
            }
            Err(CredentialsProblem(text))
        }
    }
}

fn profile() -> Option<String> {
    std::env::var("AWS_PROFILE")
        .or_else(|_| std::env::var("AWS_DEFAULT_PROFILE"))
        .ok()
        .filter(|p| !p.is_empty())
}

/// An expired SSO session or token: the fix is a new login, not new configuration.
fn is_expired(err: &CredentialsError, cause: &str) -> bool {
    let text = format!("{err} {cause}").to_ascii_lowercase();
    text.contains("expired")
}

/// What failed, where the SDK looked, and the ways to configure credentials.
pub fn advice(profile: Option<&str>, cause: &str, expired: bool) -> String {
    let profile_name = profile.unwrap_or("default");
    let mut text = if expired {
        format!(
            "the AWS credentials have expired ({cause}). Log in again: `aws sso login \
             --profile {profile_name}` for an SSO profile, or get new temporary credentials \
             for AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN."
        )
    } else {
        format!("no AWS credentials could be loaded ({cause}).")
    };
    text.push_str(&format!(
        "\nThe SDK looked, in this order, at: the environment variables AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY; the profile `{profile_name}` (AWS_PROFILE) in ~/.aws/config \
         and ~/.aws/credentials (static keys, SSO, credential_process, role assumption); a \
         web identity token (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN); the container \
         credentials endpoint (ECS, EKS pod identity); the EC2 instance metadata service.\
         \nConfigure one of them: `aws configure sso` then `aws sso login --profile NAME` and \
         `export AWS_PROFILE=NAME`; or `aws configure --profile NAME` (access keys); or export \
         AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN). For the emulators: \
         `eval \"$(scripts/emulator env)\"`."
    ));
    if !debug() {
        text.push_str(" Run with --debug for the SDK's own error.");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_advice_names_every_source_and_every_way_to_configure_one() {
        let text = advice(
            Some("ml-dev"),
            "no providers in chain provided credentials",
            false,
        );
        for needle in [
            "no AWS credentials could be loaded",
            "AWS_ACCESS_KEY_ID",
            "profile `ml-dev`",
            "web identity",
            "container credentials",
            "instance metadata",
            "aws sso login",
            "aws configure",
            "--debug",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }

    #[test]
    fn an_expired_session_says_log_in_again() {
        let text = advice(None, "the SSO token has expired", true);
        assert!(
            text.starts_with("the AWS credentials have expired"),
            "{text}"
        );
        assert!(text.contains("aws sso login --profile default"), "{text}");
    }
}
