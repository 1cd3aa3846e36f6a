//! The smoke report: one row per check, latency figures, and the three ways it prints
//! (text, JSON, markdown). Pure data; `passed` is the gate's verdict.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    /// Not a criterion (latency without `--max-p99`).
    Info,
    NotApplicable,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub outcome: Outcome,
    pub detail: String,
}

impl Check {
    fn new(name: &str, outcome: Outcome, detail: String) -> Check {
        Check {
            name: name.to_owned(),
            outcome,
            detail,
        }
    }
    pub fn pass(name: &str, detail: String) -> Check {
        Check::new(name, Outcome::Pass, detail)
    }
    pub fn fail(name: &str, detail: String) -> Check {
        Check::new(name, Outcome::Fail, detail)
    }
    pub fn info(name: &str, detail: String) -> Check {
        Check::new(name, Outcome::Info, detail)
    }
    pub fn not_applicable(name: &str, detail: String) -> Check {
        Check::new(name, Outcome::NotApplicable, detail)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub requests: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Latency {
    /// Nearest-rank percentiles of `ms` (sorted in place); `None` when empty.
    pub fn of(ms: &mut [f64]) -> Option<Latency> {
        if ms.is_empty() {
            return None;
        }
        ms.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let i = ((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1;
            ms[i]
        };
        Some(Latency {
            requests: ms.len(),
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub url: String,
    pub checks: Vec<Check>,
    pub latency: Option<Latency>,
}

impl Report {
    /// The gate: no check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.outcome != Outcome::Fail)
    }

    pub fn failed(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        v["passed"] = self.passed().into();
        v
    }

    pub fn text(&self) -> String {
        let mut out = format!("smoke {}\n", self.url);
        for c in &self.checks {
            out.push_str(&format!(
                "  {:<6} {:<45} {}\n",
                label(&c.outcome),
                c.name,
                c.detail
            ));
        }
        out.push_str(&self.verdict());
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = format!(
            "### smoke `{}`\n\n| result | check | detail |\n|---|---|---|\n",
            self.url
        );
        for c in &self.checks {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                label(&c.outcome),
                c.name,
                c.detail.replace('|', "\\|")
            ));
        }
        out.push('\n');
        out.push_str(&self.verdict());
        out
    }

    fn verdict(&self) -> String {
        let failed = self.failed();
        if failed.is_empty() {
            "passed\n".to_owned()
        } else {
            let names: Vec<&str> = failed.iter().map(|c| c.name.as_str()).collect();
            format!("FAILED: {}\n", names.join("; "))
        }
    }
}

fn label(o: &Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "FAIL",
        Outcome::Info => "info",
        Outcome::NotApplicable => "n/a",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut ms: Vec<f64> = (1..=100).map(f64::from).rev().collect();
        let l = Latency::of(&mut ms).expect("some");
        assert_eq!((l.p50_ms, l.p99_ms, l.requests), (50.0, 99.0, 100));
        assert!(Latency::of(&mut []).is_none());
        let l = Latency::of(&mut [7.0]).expect("one");
        assert_eq!((l.p50_ms, l.p99_ms), (7.0, 7.0));
    }

    #[test]
    fn one_failure_fails_the_gate_and_is_named() {
        let r = Report {
            url: "http://x".into(),
            checks: vec![
                Check::pass("a", String::new()),
                Check::not_applicable("b", "no authorizer".into()),
                Check::fail("c | d", "wrong".into()),
            ],
            latency: None,
        };
        assert!(!r.passed());
        assert!(r.text().ends_with("FAILED: c | d\n"), "{}", r.text());
        assert!(
            r.markdown().contains("| FAIL | c | d | wrong |"),
            "{}",
            r.markdown()
        );
        assert_eq!(r.json()["passed"], false);
        let ok = Report {
            checks: r.checks[..2].to_vec(),
            ..r
        };
        assert!(ok.passed());
    }
}
