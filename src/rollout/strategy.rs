//! How a new release takes traffic: all at once, a canary share then the rest, or equal
//! linear steps. Written as `--strategy` and `rollout.strategy` take it, which is also the
//! form the service stack's `RolloutStrategy` parameter keeps while a rollout runs (so
//! `irisctl rollout resume` continues the same schedule). The names and defaults follow
//! CodeDeploy's Lambda configurations (Canary10Percent5Minutes, Linear10PercentEvery1Minute).

use std::fmt;
use std::time::Duration;

/// The canary share and bake when `canary` is written alone.
pub const DEFAULT_CANARY: (u32, Duration) = (10, Duration::from_secs(300));
/// The linear step and interval when `linear` is written alone.
pub const DEFAULT_LINEAR: (u32, Duration) = (10, Duration::from_secs(60));
/// The longest bake one step may take: the env lock and the run's terminal stay with it.
pub const MAX_BAKE: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The alias moves to the new release in one update.
    AllAtOnce,
    /// `percent` of the traffic for `bake`, then all of it.
    Canary { percent: u32, bake: Duration },
    /// `step` more percent every `interval` until all of it.
    Linear { step: u32, interval: Duration },
}

/// One step of a schedule: the new release's share, held for `bake` while the alarms are
/// watched. The last step (weight 1) has no bake: the rollout ends there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub weight: f64,
    pub bake: Duration,
}

impl Strategy {
    /// Parse `all-at-once`, `canary[:PCT,BAKE]` or `linear[:STEP,INTERVAL]` (BAKE and
    /// INTERVAL as humantime durations: `30s`, `5m`, `1h`).
    pub fn parse(text: &str) -> Result<Strategy, String> {
        let text = text.trim();
        let (name, args) = match text.split_once(':') {
            Some((name, args)) => (name, Some(args)),
            None => (text, None),
        };
        let pair = |what: &str, (pct, dur): (u32, Duration)| -> Result<(u32, Duration), String> {
            let Some(args) = args else {
                return Ok((pct, dur));
            };
            let (p, d) = args.split_once(',').ok_or_else(|| {
                format!("`{text}`: write {name}:PERCENT,{what} (e.g. {name}:10,5m)")
            })?;
            let pct: u32 = p
                .trim()
                .parse()
                .map_err(|_| format!("`{text}`: `{p}` is not a whole percentage"))?;
            if !(1..=99).contains(&pct) {
                return Err(format!(
                    "`{text}`: the percentage must be 1 to 99, not {pct}"
                ));
            }
            let dur = humantime::parse_duration(d.trim())
                .map_err(|e| format!("`{text}`: `{d}` is not a duration ({e}); e.g. 30s, 5m"))?;
            if dur > MAX_BAKE {
                return Err(format!(
                    "`{text}`: a {what} longer than {} holds the env lock too long",
                    humantime::format_duration(MAX_BAKE)
                ));
            }
            Ok((pct, dur))
        };
        match name {
            "all-at-once" if args.is_none() => Ok(Strategy::AllAtOnce),
            "canary" => {
                let (percent, bake) = pair("BAKE", DEFAULT_CANARY)?;
                Ok(Strategy::Canary { percent, bake })
            }
            "linear" => {
                let (step, interval) = pair("INTERVAL", DEFAULT_LINEAR)?;
                Ok(Strategy::Linear { step, interval })
            }
            _ => Err(format!(
                "`{text}` is not a strategy: use all-at-once, canary[:PCT,BAKE] or \
                 linear[:STEP,INTERVAL] (e.g. canary:10,5m, linear:20,1m)"
            )),
        }
    }

    /// The default for an env: a canary where a bad release reaches users (protected
    /// envs), all at once elsewhere.
    pub fn default_for(protected: bool) -> Strategy {
        if protected {
            let (percent, bake) = DEFAULT_CANARY;
            Strategy::Canary { percent, bake }
        } else {
            Strategy::AllAtOnce
        }
    }

    pub fn is_gradual(&self) -> bool {
        !matches!(self, Strategy::AllAtOnce)
    }

    /// The weights the new release goes through, each with its bake; the last is 1.
    pub fn schedule(&self) -> Vec<Step> {
        let mut steps = Vec::new();
        match *self {
            Strategy::AllAtOnce => {}
            Strategy::Canary { percent, bake } => steps.push(Step {
                weight: f64::from(percent) / 100.0,
                bake,
            }),
            Strategy::Linear { step, interval } => {
                let mut pct = step;
                while pct < 100 {
                    steps.push(Step {
                        weight: f64::from(pct) / 100.0,
                        bake: interval,
                    });
                    pct += step;
                }
            }
        }
        steps.push(Step {
            weight: 1.0,
            bake: Duration::ZERO,
        });
        steps
    }

    /// The bake time the whole schedule adds.
    pub fn total_bake(&self) -> Duration {
        self.schedule().iter().map(|s| s.bake).sum()
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dur = |d: &Duration| humantime::format_duration(*d).to_string().replace(' ', "");
        match self {
            Strategy::AllAtOnce => write!(f, "all-at-once"),
            Strategy::Canary { percent, bake } => write!(f, "canary:{percent},{}", dur(bake)),
            Strategy::Linear { step, interval } => write!(f, "linear:{step},{}", dur(interval)),
        }
    }
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Strategy::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(s: &str) -> Vec<f64> {
        Strategy::parse(s)
            .expect("strategy")
            .schedule()
            .iter()
            .map(|s| s.weight)
            .collect()
    }

    #[test]
    fn canary_and_linear_schedules_end_at_all_traffic() {
        assert_eq!(weights("all-at-once"), [1.0]);
        assert_eq!(weights("canary"), [0.1, 1.0]);
        assert_eq!(weights("canary:25,30s"), [0.25, 1.0]);
        assert_eq!(weights("linear:30,1m"), [0.3, 0.6, 0.9, 1.0]);
        assert_eq!(weights("linear:50,1s"), [0.5, 1.0]);
        let canary = Strategy::parse("canary:5,2m").expect("canary");
        assert_eq!(canary.schedule()[0].bake, Duration::from_secs(120));
        assert_eq!(canary.schedule()[1].bake, Duration::ZERO);
        assert_eq!(
            Strategy::parse("linear:25,10s")
                .expect("linear")
                .total_bake(),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn the_written_form_parses_back_to_the_same_strategy() {
        for s in [
            "all-at-once",
            "canary",
            "canary:10,5m",
            "linear:20,90s",
            "canary:1,1h",
        ] {
            let parsed = Strategy::parse(s).expect(s);
            assert_eq!(Strategy::parse(&parsed.to_string()), Ok(parsed), "{s}");
            // What the RolloutStrategy parameter's AllowedPattern takes.
            assert!(
                parsed
                    .to_string()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ":,.-".contains(c)),
                "{parsed}"
            );
        }
    }

    #[test]
    fn bad_strategies_are_refused_with_the_forms_that_work() {
        for (bad, says) in [
            ("blue-green", "not a strategy"),
            ("canary:10", "canary:PERCENT,BAKE"),
            ("canary:0,5m", "1 to 99"),
            ("canary:100,5m", "1 to 99"),
            ("canary:-5,5m", "not a whole percentage"),
            ("canary:ten,5m", "not a whole percentage"),
            ("linear:10,soon", "not a duration"),
            ("linear:10,2h", "lock too long"),
            ("all-at-once:10,1m", "not a strategy"),
            ("", "not a strategy"),
        ] {
            let err = Strategy::parse(bad).expect_err(bad);
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn protected_envs_default_to_a_canary() {
        assert_eq!(
            Strategy::default_for(true),
            Strategy::Canary {
                percent: 10,
                bake: Duration::from_secs(300)
            }
        );
        assert_eq!(Strategy::default_for(false), Strategy::AllAtOnce);
    }
}
