//! Whether destroy may go ahead, and what it must ask first. Pure: the caller supplies
//! whether stdin/stderr are a terminal and asks the question itself.
//!
//! Protected envs (prod) are never destroyed from a script: it takes `--force-protected`
//! and the env name typed back on a terminal; `--yes` does not replace the typing.
//! Unprotected envs need `--yes` or a `yes` typed on a terminal.

/// What the command line and the terminal allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub protected: bool,
    pub yes: bool,
    pub force_protected: bool,
    /// stdin and stderr are a terminal, so a question can be asked and answered.
    pub tty: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Proceed,
    /// Ask, and go ahead only on `yes`.
    ConfirmYes,
    /// Ask for the env name, and go ahead only when it is typed back exactly.
    TypeEnvName,
    /// Refuse (exit 3) with this explanation.
    Refuse(String),
}

pub fn decide(env: &str, r: Request) -> Gate {
    if r.protected {
        if !r.force_protected {
            return Gate::Refuse(format!(
                "env `{env}` is protected; destroying it needs `irisctl destroy --env {env} \
                 --force-protected` run on a terminal, where you type the env name back"
            ));
        }
        if !r.tty {
            return Gate::Refuse(format!(
                "env `{env}` is protected: destroying it needs the env name typed back on a \
                 terminal, and there is none (no TTY); this is never possible from a script"
            ));
        }
        return Gate::TypeEnvName;
    }
    if r.yes {
        Gate::Proceed
    } else if r.tty {
        Gate::ConfirmYes
    } else {
        Gate::Refuse(format!(
            "destroying env `{env}` needs confirmation: pass --yes (no terminal to ask on)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(protected: bool, yes: bool, force_protected: bool, tty: bool) -> Request {
        Request {
            protected,
            yes,
            force_protected,
            tty,
        }
    }

    #[test]
    fn protected_env_without_force_is_refused_even_with_yes_and_tty() {
        for (yes, tty) in [(false, false), (true, false), (false, true), (true, true)] {
            let gate = decide("prod", req(true, yes, false, tty));
            let Gate::Refuse(why) = gate else {
                panic!("expected a refusal, got {gate:?}");
            };
            assert!(why.contains("--force-protected"), "{why}");
        }
    }

    #[test]
    fn protected_env_is_never_destroyed_without_a_terminal() {
        for yes in [false, true] {
            let gate = decide("prod", req(true, yes, true, false));
            let Gate::Refuse(why) = gate else {
                panic!("expected a refusal, got {gate:?}");
            };
            assert!(why.contains("no TTY"), "{why}");
        }
    }

    #[test]
    fn protected_env_with_force_on_a_terminal_asks_for_the_name_even_with_yes() {
        assert_eq!(
            decide("prod", req(true, true, true, true)),
            Gate::TypeEnvName
        );
        assert_eq!(
            decide("prod", req(true, false, true, true)),
            Gate::TypeEnvName
        );
    }

    #[test]
    fn unprotected_env_needs_yes_or_a_terminal() {
        assert_eq!(decide("dev", req(false, true, false, false)), Gate::Proceed);
        assert_eq!(
            decide("dev", req(false, false, false, true)),
            Gate::ConfirmYes
        );
        let Gate::Refuse(why) = decide("dev", req(false, false, false, false)) else {
            panic!("expected a refusal");
        };
        assert!(why.contains("--yes"), "{why}");
    }
}
