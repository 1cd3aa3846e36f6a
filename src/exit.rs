//! The stable exit codes (docs/design.md). CI scripts depend on these numbers, so they
//! live in one place and never change meaning.

use std::process::ExitCode;

/// What a command finished with, when it finished without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Success, including "no changes".
    Success,
    /// `plan --detailed-exitcode`: changes are pending.
    ChangesPending,
}

/// An error that must exit with a code other than the generic 1.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// A safety gate said no (protected env without confirmation, stateful replacement,
    /// account mismatch).
    #[error("refused: {0}")]
    SafetyGate(String),
    /// The env's lock was not acquired within `--lock-timeout`.
    #[error("lock not acquired: {0}")]
    LockTimeout(String),
}

pub const SUCCESS: u8 = 0;
pub const ERROR: u8 = 1;
pub const CHANGES_PENDING: u8 = 2;
pub const REFUSED: u8 = 3;
pub const LOCK_TIMEOUT: u8 = 4;

/// The exit code for an outcome: errors print their whole context chain to stderr.
pub fn code(outcome: &anyhow::Result<Status>) -> u8 {
    match outcome {
        Ok(Status::Success) => SUCCESS,
        Ok(Status::ChangesPending) => CHANGES_PENDING,
        Err(err) => match err.downcast_ref::<Refusal>() {
            Some(Refusal::SafetyGate(_)) => REFUSED,
            Some(Refusal::LockTimeout(_)) => LOCK_TIMEOUT,
            None => ERROR,
        },
    }
}

/// Print an error (with every layer of context) and turn the outcome into an exit code.
pub fn report(outcome: anyhow::Result<Status>) -> ExitCode {
    if let Err(err) = &outcome {
        eprintln!("error: {err:#}");
    }
    ExitCode::from(code(&outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_map_to_their_own_codes() {
        let gate: anyhow::Result<Status> = Err(Refusal::SafetyGate("prod".into()).into());
        let lock: anyhow::Result<Status> = Err(Refusal::LockTimeout("held".into()).into());
        let plain: anyhow::Result<Status> = Err(anyhow::anyhow!("boom"));
        assert_eq!(code(&gate), REFUSED);
        assert_eq!(code(&lock), LOCK_TIMEOUT);
        assert_eq!(code(&plain), ERROR);
        assert_eq!(code(&Ok(Status::ChangesPending)), CHANGES_PENDING);
        assert_eq!(code(&Ok(Status::Success)), SUCCESS);
    }

    #[test]
    fn refusal_keeps_its_code_under_added_context() {
        let err = anyhow::Error::from(Refusal::SafetyGate("prod".into())).context("deploy prod");
        assert_eq!(code(&Err(err)), REFUSED);
    }
}
