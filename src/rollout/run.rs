//! Running a rollout: the checks, the steps, the bakes and the way back. Every traffic
//! move is a parameters-only service-stack update ([`Deployer::shift`]); the checks
//! invoke the two versions directly; the bakes read the env's alarms. The report records
//! each step, each check and every call made, also when the rollout stops.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use iris_model::GoldenRow;
use serde::Serialize;
use tokio::signal::unix::{Signal, SignalKind, signal};

use super::{
    Agreement, Answer, Strategy, agreement, golden_matches, none_parameters, parse_answers,
    predict_event, sample_inputs, weight_text,
};
use crate::aws;
use crate::aws::s3::Bucket;
use crate::contract::rollout as params;
use crate::deploy::{Deployer, Target};
use crate::release::Published;

/// What the checks compare and how often the alarms are read.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The share of sampled inputs the new release may answer another species for.
    pub tolerance: f64,
    /// How many inputs near the golden flowers are compared with the live release.
    pub samples: usize,
    /// Flowers per invocation (the function's `lambda.max_batch`).
    pub max_batch: usize,
}

/// How often a bake reads the alarms: a tenth of the bake, between 1 s and 15 s
/// (CloudWatch evaluates an alarm at most once a minute for standard-resolution metrics,
/// so a shorter poll would only cost calls).
pub fn poll_every(bake: Duration) -> Duration {
    (bake / 10).clamp(Duration::from_secs(1), Duration::from_secs(15))
}

/// The env a rollout runs in and the two versions it moves traffic between.
pub struct Rollout<'a> {
    pub deployer: &'a Deployer<'a>,
    pub target: &'a Target<'a>,
    pub lambda: aws_sdk_lambda::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub function: String,
    /// The names of the env's alarms (the service stack's AWS::CloudWatch::Alarm), or why
    /// they could not be listed (the rollout then stops before any traffic moves).
    pub alarms: Result<Vec<String>, String>,
    /// The new release's golden set, from its own artifact, or why it could not be read.
    pub golden: Result<Vec<GoldenRow>, String>,
    pub settings: Settings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The new release takes all traffic.
    Completed,
    /// Stopped; the previous release takes all traffic again.
    RolledBack,
    /// Stopped, and putting the weight back failed too: the stack says where it is.
    Failed,
}

/// Why a rollout stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoppedBy {
    Alarm,
    Disagreement,
    Interrupt,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// The new release's share after this step.
    pub weight: f64,
    /// Seconds from the rollout's start when the step's update finished.
    pub at_s: f64,
    /// Seconds the step's stack update took.
    pub update_s: f64,
    pub baked_s: f64,
    /// Alarm reads during its bake.
    pub alarm_reads: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The new release's share when checked.
    pub weight: f64,
    pub golden_rows: usize,
    pub agreement: Agreement,
    pub took_s: f64,
}

/// The AWS calls a rollout made, by kind.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Calls {
    pub invoke: u32,
    pub describe_alarms: u32,
    pub stack_updates: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct RolloutReport {
    pub strategy: String,
    pub from: u32,
    pub to: u32,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<StoppedBy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub steps: Vec<StepReport>,
    pub checks: Vec<CheckReport>,
    pub calls: Calls,
    /// Seconds of bake the schedule asked for (the part a rollout spends by design).
    pub bake_s: f64,
    pub took_s: f64,
}

/// A stop: what and why.
struct Stop(StoppedBy, String);

fn stop(by: StoppedBy) -> impl Fn(String) -> Stop {
    move |why| Stop(by, why)
}

impl Rollout<'_> {
    fn say(&self, line: &str) {
        self.deployer.stacks.ui.say(line);
    }

    /// Move traffic from version `from` to `to` by `strategy`, from `start_weight` (0 for
    /// a new rollout; the stack's weight when resumed). Stops and puts the weight back to
    /// 0 on an alarm, a disagreement, a failed step or Ctrl-C.
    pub async fn run(
        &self,
        strategy: &Strategy,
        from: u32,
        to: u32,
        start_weight: f64,
    ) -> RolloutReport {
        let started = Instant::now();
        let mut report = RolloutReport {
            strategy: strategy.to_string(),
            from,
            to,
            outcome: Outcome::Completed,
            stopped_by: None,
            reason: None,
            steps: Vec::new(),
            checks: Vec::new(),
            calls: Calls::default(),
            bake_s: strategy.total_bake().as_secs_f64(),
            took_s: 0.0,
        };
        let outcome = match signal(SignalKind::interrupt()) {
            Ok(mut interrupt) => {
                self.steps(
                    strategy,
                    from,
                    to,
                    start_weight,
                    started,
                    &mut interrupt,
                    &mut report,
                )
                .await
            }
            Err(e) => Err(Stop(
                StoppedBy::Error,
                format!("cannot watch for Ctrl-C ({e}), so the rollout did not start"),
            )),
        };
        if let Err(Stop(by, why)) = outcome {
            self.say(&format!("rollout stopped: {why}"));
            report.stopped_by = Some(by);
            report.outcome = match self.hold_back(from, &mut report.calls).await {
                Ok(()) => {
                    self.say(&format!(
                        "version {from} takes all traffic again; version {to} none"
                    ));
                    report.reason = Some(why);
                    Outcome::RolledBack
                }
                Err(err) => {
                    report.reason = Some(format!(
                        "{why}; then putting the weight back to 0 failed: {err:#}. Run `irisctl \
                         rollout abort --env {}` once the stack has settled",
                        self.target.env()
                    ));
                    Outcome::Failed
                }
            };
        }
        report.took_s = started.elapsed().as_secs_f64();
        report
    }

    #[allow(clippy::too_many_arguments)]
    async fn steps(
        &self,
        strategy: &Strategy,
        from: u32,
        to: u32,
        start_weight: f64,
        started: Instant,
        interrupt: &mut Signal,
        report: &mut RolloutReport,
    ) -> Result<(), Stop> {
        // Before any traffic moves: nothing in ALARM, and the new version answers right.
        self.read_alarms(&mut report.calls).await?;
        let check = self
            .check(from, to, start_weight, &mut report.calls)
            .await?;
        report.checks.push(check);
        for step in strategy.schedule() {
            const SAME: f64 = 1e-9;
            let last = step.weight >= 1.0;
            if !last && step.weight < start_weight - SAME {
                continue;
            }
            let update_started = Instant::now();
            if last || (step.weight - start_weight).abs() > SAME {
                let values = if last {
                    none_parameters()
                } else {
                    running(from, step.weight, strategy)
                };
                self.say(&format!(
                    "rollout: version {to} gets {:.0}% of traffic",
                    step.weight * 100.0
                ));
                report.calls.stack_updates += 1;
                self.deployer
                    .shift(self.target, &values)
                    .await
                    .map_err(|e| {
                        Stop(
                            StoppedBy::Error,
                            format!("the step to {} failed: {e:#}", weight_text(step.weight)),
                        )
                    })?;
            }
            let mut done = StepReport {
                weight: step.weight,
                at_s: started.elapsed().as_secs_f64(),
                update_s: update_started.elapsed().as_secs_f64(),
                baked_s: 0.0,
                alarm_reads: 0,
            };
            if last {
                report.steps.push(done);
                self.say(&format!("rollout complete: version {to} takes all traffic"));
                return Ok(());
            }
            let baked = Instant::now();
            let reads = self.bake(step.bake, interrupt, &mut report.calls).await;
            done.baked_s = baked.elapsed().as_secs_f64();
            done.alarm_reads = *reads.as_ref().unwrap_or(&0);
            report.steps.push(done);
            reads?;
            let check = self.check(from, to, step.weight, &mut report.calls).await?;
            report.checks.push(check);
        }
        Ok(())
    }

    /// Hold `bake` while reading the alarms every [`poll_every`]; returns the reads.
    async fn bake(
        &self,
        bake: Duration,
        interrupt: &mut Signal,
        calls: &mut Calls,
    ) -> Result<u32, Stop> {
        let deadline = Instant::now() + bake;
        let every = poll_every(bake);
        self.say(&format!(
            "rollout: baking {} (alarms read every {})",
            humantime::format_duration(bake),
            humantime::format_duration(every)
        ));
        let mut reads = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(reads);
            }
            tokio::select! {
                () = tokio::time::sleep(left.min(every)) => {}
                _ = interrupt.recv() => {
                    return Err(Stop(StoppedBy::Interrupt, "interrupted (Ctrl-C)".to_owned()));
                }
            }
            self.read_alarms(calls).await?;
            reads += 1;
        }
    }

    /// Stop on any alarm in ALARM (and when the alarms cannot be read: unwatched traffic
    /// is not a rollout).
    async fn read_alarms(&self, calls: &mut Calls) -> Result<(), Stop> {
        let names = self
            .alarms
            .as_ref()
            .map_err(|e| Stop(StoppedBy::Error, e.clone()))?;
        if names.is_empty() {
            return Ok(());
        }
        calls.describe_alarms += 1;
        let states = aws::cloudwatch::alarm_states(&self.cloudwatch, names)
            .await
            .map_err(|e| {
                Stop(
                    StoppedBy::Error,
                    format!("the env's alarms cannot be read: {e}"),
                )
            })?;
        match states.iter().find(|a| a.is_alarm()) {
            Some(a) => Err(Stop(
                StoppedBy::Alarm,
                format!("alarm {} is in ALARM: {}", a.name, a.reason),
            )),
            None => Ok(()),
        }
    }

    /// The new version's golden set as recorded, and its species against the live
    /// version's on the sampled inputs, within the tolerance.
    async fn check(
        &self,
        from: u32,
        to: u32,
        weight: f64,
        calls: &mut Calls,
    ) -> Result<CheckReport, Stop> {
        let started = Instant::now();
        let golden = self
            .golden
            .as_ref()
            .map_err(|e| Stop(StoppedBy::Error, e.clone()))?;
        let flowers: Vec<[f64; 4]> = golden.iter().map(|r| r.features).collect();
        let answered = self
            .answers(to, &flowers, calls)
            .await
            .map_err(stop(StoppedBy::Error))?;
        golden_matches(golden, &answered).map_err(|e| {
            Stop(
                StoppedBy::Disagreement,
                format!("version {to} does not answer its golden set as recorded: {e}"),
            )
        })?;
        let inputs = sample_inputs(golden, self.settings.samples);
        let live = self
            .answers(from, &inputs, calls)
            .await
            .map_err(stop(StoppedBy::Error))?;
        let new = self
            .answers(to, &inputs, calls)
            .await
            .map_err(stop(StoppedBy::Error))?;
        let agreed = agreement(&inputs, &live, &new, self.settings.tolerance);
        if !agreed.within_tolerance() {
            return Err(Stop(
                StoppedBy::Disagreement,
                format!(
                    "version {to} answers another species than live version {from} for {} of {} \
                     inputs near the golden flowers ({:.1}%, tolerance {:.1}%), e.g. {}",
                    agreed.disagreed,
                    agreed.compared,
                    agreed.share * 100.0,
                    agreed.tolerance * 100.0,
                    agreed.examples.join("; ")
                ),
            ));
        }
        self.say(&format!(
            "rollout: version {to} answers its {} golden rows as recorded and agrees with version \
             {from} on {} of {} nearby inputs",
            golden.len(),
            agreed.compared - agreed.disagreed,
            agreed.compared
        ));
        Ok(CheckReport {
            weight,
            golden_rows: golden.len(),
            agreement: agreed,
            took_s: started.elapsed().as_secs_f64(),
        })
    }

    /// `flowers` scored by `version` (invoked directly, in batches of `max_batch`).
    async fn answers(
        &self,
        version: u32,
        flowers: &[[f64; 4]],
        calls: &mut Calls,
    ) -> Result<Vec<Answer>, String> {
        let qualifier = version.to_string();
        let mut out = Vec::with_capacity(flowers.len());
        for (i, chunk) in flowers.chunks(self.settings.max_batch.max(1)).enumerate() {
            let event = predict_event(chunk, &format!("irisctl-rollout-{version}-{i}"));
            calls.invoke += 1;
            let invoked = aws::lambda::invoke(
                &self.lambda,
                &self.function,
                Some(&qualifier),
                event.to_string().into_bytes(),
            )
            .await
            .map_err(|e| format!("invoking version {version}: {e}"))?;
            if let Some(kind) = invoked.function_error {
                let message = String::from_utf8_lossy(&invoked.payload);
                let shown: String = message.chars().take(200).collect();
                return Err(format!("version {version} failed ({kind}): {shown}"));
            }
            out.extend(
                parse_answers(&invoked.payload, chunk.len())
                    .map_err(|e| format!("version {version}: {e}"))?,
            );
        }
        Ok(out)
    }

    /// All traffic back to `from`; the rollout is over (held back until the next change).
    pub async fn hold_back(&self, from: u32, calls: &mut Calls) -> anyhow::Result<()> {
        calls.stack_updates += 1;
        let values: BTreeMap<String, String> = [
            (params::FROM.to_owned(), from.to_string()),
            (params::WEIGHT.to_owned(), "0".to_owned()),
            (params::STRATEGY.to_owned(), String::new()),
        ]
        .into();
        self.deployer.shift(self.target, &values).await.map(|_| ())
    }
}

/// The rollout parameters while `strategy` runs at `weight`.
fn running(from: u32, weight: f64, strategy: &Strategy) -> BTreeMap<String, String> {
    [
        (params::FROM.to_owned(), from.to_string()),
        (params::WEIGHT.to_owned(), weight_text(weight)),
        (params::STRATEGY.to_owned(), strategy.to_string()),
    ]
    .into()
}

/// The golden set of the release `version` holds, from its pinned model in the env's
/// bucket (content-addressed keys, the version's own S3 object versions), verified as
/// `iris_model::Artifact::load` verifies any artifact.
pub async fn golden_of(bucket: &Bucket, version: &Published) -> anyhow::Result<Vec<GoldenRow>> {
    let release = version
        .release
        .as_ref()
        .with_context(|| format!("version {} is not an irisctl release", version.version))?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let sha = &release.model_sha256;
    for (key, version_id, file) in [
        (
            format!("models/{sha}/model.bin"),
            &version.model_version_id,
            iris_model::MODEL_FILE,
        ),
        (
            format!("models/{sha}/manifest.json"),
            &version.manifest_version_id,
            iris_model::MANIFEST_FILE,
        ),
    ] {
        let body = bucket
            .get_version(&key, version_id.as_deref().unwrap_or(""))
            .await?
            .with_context(|| {
                format!(
                    "s3://{}/{key} (the model of version {}) does not exist",
                    bucket.name(),
                    version.version
                )
            })?;
        std::fs::write(dir.path().join(file), body).with_context(|| format!("writing {file}"))?;
    }
    let artifact = iris_model::Artifact::load(dir.path()).with_context(|| {
        format!(
            "the model of version {} (s3://{}/models/{sha}/)",
            version.version,
            bucket.name()
        )
    })?;
    let rows = artifact.golden().to_vec();
    anyhow::ensure!(
        !rows.is_empty(),
        "model {sha} records no golden set, so a rollout cannot check it; retrain it with \
         `iris-model train`, or deploy it with --strategy all-at-once"
    );
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarms_are_read_a_tenth_of_the_bake_between_one_and_fifteen_seconds() {
        assert_eq!(poll_every(Duration::from_secs(5)), Duration::from_secs(1));
        assert_eq!(poll_every(Duration::from_secs(60)), Duration::from_secs(6));
        assert_eq!(
            poll_every(Duration::from_secs(300)),
            Duration::from_secs(15)
        );
    }

    #[test]
    fn a_running_step_names_its_version_weight_and_strategy() {
        let s = Strategy::parse("linear:20,1m").expect("linear");
        let p = running(7, 0.4, &s);
        assert_eq!(p[params::FROM], "7");
        assert_eq!(p[params::WEIGHT], "0.4");
        assert_eq!(p[params::STRATEGY], "linear:20,1m");
    }
}
