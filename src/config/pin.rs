//! The account an env may act in. Every env meant for AWS pins one (`account_id`), so a
//! shell holding the wrong credentials can never deploy there; emulator envs need none
//! (their account is the emulator's). Owns the rule and the message saying how to set the
//! pin; must not call AWS (the caller's account is compared by preflight and `Session`).

use super::{Config, EnvKind};

/// Account ids that only ever stand in for a real one: AWS's documentation examples
/// (`111122223333`, `123456789012`, also moto's account) and LocalStack's `000000000000`.
pub const PLACEHOLDER_ACCOUNTS: [&str; 3] = ["111122223333", "123456789012", "000000000000"];

impl Config {
    /// The account this env may act in: `Ok(None)` for an emulator env, `Ok(Some(id))`
    /// for an env on AWS with a real pin, and an error saying how to set it otherwise.
    pub fn account_pin(&self) -> Result<Option<&str>, String> {
        if self.emulator.value {
            return Ok(None);
        }
        let file = self.file.display();
        let where_ = match self.kind {
            EnvKind::Ephemeral { .. } => format!(
                "in {file}: ephemeral envs (pr-<number>, feature-<slug>) all take their \
                 settings, account_id included, from that base file"
            ),
            _ => format!("in {file}"),
        };
        let how = "the 12-digit id of the AWS account the env deploys to, in quotes \
                   (`aws sts get-caller-identity --query Account --output text` prints the \
                   id of the credentials you have)";
        match self.account_id.value.as_deref() {
            None => Err(format!(
                "env `{}` runs on AWS but pins no account: set `account_id` {where_} to {how}; \
                 irisctl then refuses to act with credentials of any other account",
                self.env
            )),
            Some("") => Err(format!(
                "env `{}` has an empty `account_id` ({}): set it {where_} to {how}",
                self.env, self.account_id.source
            )),
            Some(id) if PLACEHOLDER_ACCOUNTS.contains(&id) => Err(format!(
                "env `{}` pins account {id} ({}), an example id, not a real account: set \
                 `account_id` {where_} to {how}",
                self.env, self.account_id.source
            )),
            Some(id) => Ok(Some(id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn env(name: &str, kind: EnvKind, text: &str) -> Config {
        Config::from_text(name, kind, Path::new("environments/x.yaml"), text).expect("valid")
    }

    #[test]
    fn a_real_pin_is_the_account() {
        let c = env("qa", EnvKind::Named, "account_id: \"210987654321\"\n");
        assert_eq!(c.account_pin(), Ok(Some("210987654321")));
    }

    #[test]
    fn an_emulator_env_needs_no_pin() {
        let c = env(
            "local",
            EnvKind::Named,
            "emulator: true\nauth:\n  mode: none\n",
        );
        assert_eq!(c.account_pin(), Ok(None));
    }

    #[test]
    fn a_missing_empty_or_placeholder_pin_is_refused_saying_how_to_set_it() {
        for text in [
            "region: us-east-1\n",
            "account_id: \"\"\n",
            "account_id: \"111122223333\"\n",
        ] {
            let err = env("qa", EnvKind::Named, text)
                .account_pin()
                .expect_err("refused");
            assert!(err.contains("environments/x.yaml"), "{text}: {err}");
            assert!(err.contains("aws sts get-caller-identity"), "{text}: {err}");
        }
    }

    #[test]
    fn an_ephemeral_env_is_told_where_its_pin_comes_from() {
        let c = env(
            "pr-7",
            EnvKind::Ephemeral {
                pattern: "pr-<number>",
            },
            "ttl_hours: 72\n",
        );
        let err = c.account_pin().expect_err("refused");
        assert!(
            err.contains("take their settings, account_id included"),
            "{err}"
        );
    }
}
