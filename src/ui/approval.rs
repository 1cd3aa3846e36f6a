//! Asking before a change: `--yes` answers for the person; otherwise they are asked on the
//! terminal, and without one the change is refused (exit 3) rather than made unasked.

use crate::exit::Refusal;

/// Asks a person to confirm; `true` only for an explicit yes.
pub type Confirm<'a> = &'a (dyn Fn(&str) -> bool + Sync);

/// How this run gets a yes.
#[derive(Clone, Copy)]
pub struct Approval<'a> {
    /// `--yes`: approved without asking.
    pub yes: bool,
    /// A person can answer a prompt (stdin and stderr are terminals).
    pub can_prompt: bool,
    pub confirm: Confirm<'a>,
}

impl Approval<'_> {
    /// `Ok` when `--yes` was given or the person said yes to `question`; otherwise a
    /// [`Refusal::SafetyGate`] saying why nothing was changed.
    pub fn approve(&self, question: &str) -> anyhow::Result<()> {
        if self.yes {
            return Ok(());
        }
        if !self.can_prompt {
            return Err(Refusal::SafetyGate(format!(
                "{question} needs confirmation and there is no terminal; pass --yes"
            ))
            .into());
        }
        if (self.confirm)(question) {
            Ok(())
        } else {
            Err(Refusal::SafetyGate("not confirmed; nothing was changed".into()).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(result: anyhow::Result<()>) -> String {
        let err = result.expect_err("refused");
        match err.downcast_ref::<Refusal>() {
            Some(Refusal::SafetyGate(why)) => why.clone(),
            other => panic!("not a safety gate: {other:?}"),
        }
    }

    #[test]
    fn yes_approves_without_asking() {
        let asked = |_: &str| panic!("asked despite --yes");
        let approval = Approval {
            yes: true,
            can_prompt: false,
            confirm: &asked,
        };
        assert!(approval.approve("Go?").is_ok());
    }

    #[test]
    fn without_a_terminal_it_refuses_and_says_pass_yes() {
        let never = |_: &str| false;
        let approval = Approval {
            yes: false,
            can_prompt: false,
            confirm: &never,
        };
        let why = refusal(approval.approve("Create stack x?"));
        assert_eq!(
            why,
            "Create stack x? needs confirmation and there is no terminal; pass --yes"
        );
    }

    #[test]
    fn only_an_explicit_yes_on_the_terminal_approves() {
        let yes = |q: &str| q == "Go?";
        let approval = Approval {
            yes: false,
            can_prompt: true,
            confirm: &yes,
        };
        assert!(approval.approve("Go?").is_ok());
        assert_eq!(
            refusal(approval.approve("Other?")),
            "not confirmed; nothing was changed"
        );
    }
}
