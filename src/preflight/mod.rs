//! `irisctl preflight`: read-only checks of what a first (or next) deploy of an env needs
//! from its account, each one pass, warn or fail with a one-line fix. `deploy` and `plan`
//! run them too, before anything changes: any fail refuses (exit 3), a warn does not.
//!
//! Owns the list of checks and their verdicts: [`facts`] reads the account through the
//! thin `aws` wrappers (every read may fail on its own and becomes a fact of its own),
//! [`checks`] turns the facts and the env into verdicts as pure functions. Must not
//! change anything in the account, print, or decide exit codes (cmd/preflight.rs does).

pub mod checks;
pub mod facts;

use serde::Serialize;

pub use facts::{Clients, Facts, gather};

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }
}

/// One check: what was looked at, what was found, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Short stable name (`account`, `logging-role`, `concurrency`, `names`, `throttle`).
    pub check: &'static str,
    pub result: Verdict,
    /// What was found, in one line.
    pub detail: String,
    /// What to do, in one line (warn and fail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(check: &'static str, detail: impl Into<String>) -> Check {
        Check {
            check,
            result: Verdict::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn warn(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            check,
            result: Verdict::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn fail(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            check,
            result: Verdict::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Every check of one env.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub env: String,
    pub region: String,
    /// The worst verdict of all checks.
    pub result: Verdict,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn new(env: &str, region: &str, checks: Vec<Check>) -> Report {
        let result = checks
            .iter()
            .map(|c| c.result)
            .max()
            .unwrap_or(Verdict::Pass);
        Report {
            env: env.to_owned(),
            region: region.to_owned(),
            result,
            checks,
        }
    }

    pub fn failed(&self) -> bool {
        self.result == Verdict::Fail
    }

    /// The checks that did not pass.
    pub fn problems(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.result != Verdict::Pass)
    }

    /// One line per check (and one per fix), for a person.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            out.push_str(&line(c));
        }
        out.push_str(&format!(
            "preflight of env `{}` in {}: {}\n",
            self.env,
            self.region,
            self.result.as_str()
        ));
        out
    }
}

/// `pass  check  detail` and, under it, `      fix: ...`.
pub fn line(c: &Check) -> String {
    let mut out = format!("{:<4}  {:<12}  {}\n", c.result.as_str(), c.check, c.detail);
    if let Some(fix) = &c.fix {
        out.push_str(&format!("{:<4}  {:<12}  fix: {fix}\n", "", ""));
    }
    out
}
