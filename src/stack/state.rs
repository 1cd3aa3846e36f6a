//! What to do with a stack given its CloudFormation status: a pure decision, so every
//! state (including those no emulator reaches) is unit-tested. Must not call AWS.

/// What `deploy` does next with a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// No stack by that name: create it.
    Create,
    /// A settled stack: update it through a change set.
    Update,
    /// A failed first create (or an empty review stack): delete it, then create it again.
    Recreate { why: String },
    /// Another operation is running: wait for it to settle, then decide again.
    WaitToSettle,
    /// Refused, with the exact next step for the person at the terminal.
    Refuse { message: String },
    /// Cannot continue; the message says how to get out of the state.
    Stuck { message: String },
}

/// Everything the decision depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Situation<'a> {
    pub env: &'a str,
    pub stack: &'a str,
    pub region: &'a str,
    /// `None`: no stack by that name.
    pub status: Option<&'a str>,
    /// Resources the stack holds (only asked for REVIEW_IN_PROGRESS).
    pub resources: Option<usize>,
    pub protected: bool,
    pub termination_protection: bool,
}

/// Decide what to do with a stack.
pub fn decide(s: &Situation<'_>) -> Next {
    let Some(status) = s.status else {
        return Next::Create;
    };
    let recreate = |why: &str| {
        if s.protected {
            let unprotect = if s.termination_protection {
                format!(
                    "aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name {} --region {} && ",
                    s.stack, s.region
                )
            } else {
                String::new()
            };
            Next::Refuse {
                message: format!(
                    "stack {} is {status} ({why}); env `{}` is protected, so irisctl will not \
                     delete it for you. Check the stack's events, then run: {unprotect}aws \
                     cloudformation delete-stack --stack-name {} --region {} && aws \
                     cloudformation wait stack-delete-complete --stack-name {} --region {} && \
                     irisctl deploy --env {}",
                    s.stack, s.env, s.stack, s.region, s.stack, s.region, s.env
                ),
            }
        } else {
            Next::Recreate {
                why: format!("{status}: {why}"),
            }
        }
    };
    match status {
        "CREATE_COMPLETE"
        | "UPDATE_COMPLETE"
        | "UPDATE_ROLLBACK_COMPLETE"
        | "IMPORT_COMPLETE"
        | "IMPORT_ROLLBACK_COMPLETE" => Next::Update,
        "ROLLBACK_COMPLETE" => recreate("its first create failed and was rolled back"),
        "CREATE_FAILED" => recreate("its first create failed"),
        "ROLLBACK_FAILED" => recreate("its first create failed and so did the rollback"),
        "REVIEW_IN_PROGRESS" => match s.resources {
            Some(0) => recreate("a change set was created but never executed"),
            _ => Next::Stuck {
                message: format!(
                    "stack {} is REVIEW_IN_PROGRESS but holds resources; inspect it with \
                     `aws cloudformation describe-stack-resources --stack-name {}`",
                    s.stack, s.stack
                ),
            },
        },
        "UPDATE_ROLLBACK_FAILED" => Next::Stuck {
            message: format!(
                "stack {} is UPDATE_ROLLBACK_FAILED: its last update failed and so did the \
                 rollback. Run `irisctl recover --env {}` to continue the rollback (it proposes \
                 the resources to skip), then deploy again",
                s.stack, s.env
            ),
        },
        "DELETE_FAILED" => Next::Stuck {
            message: format!(
                "stack {} is DELETE_FAILED: a delete left resources behind. Finish it with \
                 `irisctl destroy --env {}` (or fix the resource named in the stack's events), \
                 then deploy again",
                s.stack, s.env
            ),
        },
        "UPDATE_FAILED" | "IMPORT_ROLLBACK_FAILED" => Next::Stuck {
            message: format!(
                "stack {} is {status}; irisctl does not handle this state. Inspect its events \
                 (`aws cloudformation describe-stack-events --stack-name {}`) and repair it by hand",
                s.stack, s.stack
            ),
        },
        other if other.ends_with("_IN_PROGRESS") => Next::WaitToSettle,
        other => Next::Stuck {
            message: format!(
                "stack {} is in state `{other}`, which irisctl does not know; inspect it with \
                 `aws cloudformation describe-stacks --stack-name {}`",
                s.stack, s.stack
            ),
        },
    }
}

/// How an operation ended, from the stack's status once it stops moving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Succeeded,
    Failed,
}

/// The operation a waiter waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
    /// ContinueUpdateRollback.
    Rollback,
    /// Somebody else's operation: any settled state ends the wait.
    Other,
}

/// `None` while the stack is still moving; otherwise whether `op` succeeded.
pub fn settled(op: Operation, status: &str) -> Option<Settled> {
    if status.ends_with("_IN_PROGRESS") {
        return None;
    }
    let ok = match op {
        Operation::Create => status == "CREATE_COMPLETE",
        Operation::Update => status == "UPDATE_COMPLETE",
        Operation::Delete => status == "DELETE_COMPLETE",
        Operation::Rollback => status == "UPDATE_ROLLBACK_COMPLETE",
        Operation::Other => true,
    };
    Some(if ok {
        Settled::Succeeded
    } else {
        Settled::Failed
    })
}

/// A stack whose last operation finished and left it running what its parameters say
/// (not a failed create, not mid-operation), so its artifact pins can be trusted.
pub fn settled_healthy(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" | "IMPORT_COMPLETE"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation(status: Option<&str>, protected: bool) -> Situation<'_> {
        Situation {
            env: "prod",
            stack: "iris-prod-storage",
            region: "us-east-1",
            status,
            resources: None,
            protected,
            termination_protection: protected,
        }
    }

    #[test]
    fn missing_stack_is_created_and_settled_ones_updated() {
        assert_eq!(decide(&situation(None, true)), Next::Create);
        for status in [
            "CREATE_COMPLETE",
            "UPDATE_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE",
        ] {
            assert_eq!(
                decide(&situation(Some(status), true)),
                Next::Update,
                "{status}"
            );
        }
    }

    #[test]
    fn failed_first_creates_are_recreated_only_when_unprotected() {
        for status in ["ROLLBACK_COMPLETE", "CREATE_FAILED", "ROLLBACK_FAILED"] {
            match decide(&situation(Some(status), false)) {
                Next::Recreate { why } => assert!(why.starts_with(status), "{why}"),
                other => panic!("{status}: {other:?}"),
            }
            match decide(&situation(Some(status), true)) {
                Next::Refuse { message } => {
                    assert!(message.contains("protected"), "{message}");
                    assert!(
                        message.contains(
                            "aws cloudformation delete-stack --stack-name iris-prod-storage --region us-east-1"
                        ),
                        "{message}"
                    );
                    assert!(message.contains("--no-enable-termination-protection"));
                    assert!(message.ends_with("irisctl deploy --env prod"), "{message}");
                }
                other => panic!("{status}: {other:?}"),
            }
        }
    }

    #[test]
    fn review_in_progress_is_recreated_only_when_empty() {
        let mut s = situation(Some("REVIEW_IN_PROGRESS"), false);
        s.resources = Some(0);
        assert!(matches!(decide(&s), Next::Recreate { .. }));
        s.resources = Some(2);
        assert!(matches!(decide(&s), Next::Stuck { .. }));
    }

    #[test]
    fn review_in_progress_is_not_waited_for_although_it_ends_in_in_progress() {
        let mut s = situation(Some("REVIEW_IN_PROGRESS"), false);
        s.resources = Some(0);
        assert_ne!(decide(&s), Next::WaitToSettle);
    }

    #[test]
    fn update_rollback_failed_points_at_recover() {
        match decide(&situation(Some("UPDATE_ROLLBACK_FAILED"), false)) {
            Next::Stuck { message } => assert!(message.contains("irisctl recover --env prod")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn in_progress_states_are_waited_for() {
        for status in [
            "CREATE_IN_PROGRESS",
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "DELETE_IN_PROGRESS",
        ] {
            assert_eq!(decide(&situation(Some(status), false)), Next::WaitToSettle);
        }
    }

    #[test]
    fn unknown_states_are_a_clear_error() {
        match decide(&situation(Some("SOMETHING_NEW"), false)) {
            Next::Stuck { message } => {
                assert!(message.contains("`SOMETHING_NEW`"));
                assert!(message.contains("does not know"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn settled_judges_by_operation() {
        assert_eq!(settled(Operation::Create, "CREATE_IN_PROGRESS"), None);
        assert_eq!(
            settled(Operation::Create, "CREATE_COMPLETE"),
            Some(Settled::Succeeded)
        );
        assert_eq!(
            settled(Operation::Create, "ROLLBACK_COMPLETE"),
            Some(Settled::Failed)
        );
        assert_eq!(
            settled(Operation::Update, "UPDATE_ROLLBACK_COMPLETE"),
            Some(Settled::Failed)
        );
        assert_eq!(
            settled(Operation::Update, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            None
        );
        assert_eq!(
            settled(Operation::Rollback, "UPDATE_ROLLBACK_COMPLETE"),
            Some(Settled::Succeeded)
        );
        assert_eq!(
            settled(Operation::Other, "UPDATE_ROLLBACK_FAILED"),
            Some(Settled::Succeeded)
        );
    }
}
