//! The env lock: one object per env, `locks/<env>.json` in the env's model bucket,
//! created with `If-None-Match: *` so exactly one writer wins. It is released by deleting
//! exactly the object version this run wrote (the bucket is versioned): that can never
//! remove a lock written after it, leaves no delete marker, and is one call on AWS and on
//! the emulators alike. Without a version id (an unversioned bucket) the release is a
//! DeleteObject with `If-Match` on the entity tag. An expired lock is taken over the same
//! way (delete the version read, then the conditional put again). Must not decide when to
//! lock; deploy, recover and destroy do (see docs/decisions.md for the first deploy, before
//! the bucket exists).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::waiter::poll_delays;
use crate::aws::cloudformation::Stack;
use crate::aws::s3::{Bucket, S3Error, Written};
use crate::contract;
use crate::exit::Refusal;
use crate::ui::Ui;
use crate::ui::time::{now_ms, timestamp};

/// The lock object's key for `env`.
pub fn lock_key(env: &str) -> String {
    format!("locks/{env}.json")
}

/// What the lock object says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    pub owner: String,
    pub host: String,
    pub pid: u32,
    pub command: String,
    /// Milliseconds since the epoch.
    pub acquired_ms: i64,
    /// After this instant (ms since the epoch) anyone may take the lock over.
    pub expires_ms: i64,
}

impl LockRecord {
    /// A record for this process, expiring `ttl` from now.
    pub fn for_this_process(owner: &str, ttl: Duration) -> LockRecord {
        let now = now_ms();
        LockRecord {
            owner: owner.to_owned(),
            host: hostname(),
            pid: std::process::id(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            acquired_ms: now,
            expires_ms: now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
        }
    }

    /// The same record stamped at `now`: acquired now, expiring as long after it as
    /// before. Called before every put attempt, so a long wait for the lock never
    /// publishes an expiry computed before the wait.
    pub fn stamped_at(&self, now: i64) -> LockRecord {
        let ttl = self.expires_ms.saturating_sub(self.acquired_ms);
        LockRecord {
            acquired_ms: now,
            expires_ms: now.saturating_add(ttl),
            ..self.clone()
        }
    }

    pub fn is_expired(&self, now_ms: i64) -> bool {
        now_ms >= self.expires_ms
    }

    /// `owner@host pid N running `cmd` since T (expires T)`.
    pub fn describe(&self) -> String {
        format!(
            "{}@{} (pid {}) running `{}` since {} (expires {})",
            self.owner,
            self.host,
            self.pid,
            self.command,
            timestamp(self.acquired_ms),
            timestamp(self.expires_ms)
        )
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// A lock this process holds.
#[derive(Debug, Clone)]
pub struct HeldLock {
    bucket: Bucket,
    key: String,
    written: Written,
    pub record: LockRecord,
    /// The first conditional put lost (the lock was held, or being released, by another
    /// run): state read before acquiring must be read again.
    pub contended: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(transparent)]
    S3(#[from] S3Error),
    /// A renewal found the lock object replaced or gone: someone took it over (it had
    /// expired) or ran `irisctl unlock`. The run stops before starting anything else.
    #[error(
        "the lock of env `{env}` is no longer ours ({now}); irisctl stopped without starting \
         another stack operation. An operation already started keeps running in \
         CloudFormation: check `irisctl status --env {env}` before running again"
    )]
    Lost { env: String, now: String },
    #[error(
        "lock object s3://{bucket}/{key} is not an irisctl lock ({why}); if no deploy is running, remove it with `irisctl unlock --env {env}`"
    )]
    Unreadable {
        bucket: String,
        key: String,
        env: String,
        why: String,
    },
}

/// Take the lock of `env`, waiting up to `lock_timeout` for a holder to release it.
/// Expired locks are taken over (saying so through `say`). Not acquired in time →
/// [`Refusal::LockTimeout`] (exit 4). `record`'s lifetime (expires − acquired) is kept and
/// re-stamped at each put attempt; the held lock carries the record actually written.
pub async fn acquire(
    bucket: &Bucket,
    env: &str,
    record: LockRecord,
    lock_timeout: Duration,
    say: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<HeldLock> {
    let key = lock_key(env);
    let started = Instant::now();
    let mut delays = poll_delays();
    let mut told = false;
    let mut contended = false;
    loop {
        let record = record.stamped_at(now_ms());
        let body = serde_json::to_vec_pretty(&record)?;
        match bucket.put_if_absent(&key, body).await {
            Ok(written) => {
                return Ok(HeldLock {
                    bucket: bucket.clone(),
                    key,
                    written,
                    record,
                    contended,
                });
            }
            Err(err) if err.is_precondition_failed() => contended = true,
            Err(err) => return Err(LockError::S3(err).into()),
        }
        // Someone holds it: who, and is it stale?
        let Some(held) = bucket.get(&key).await.map_err(LockError::S3)? else {
            continue; // released between our put and get
        };
        let holder: LockRecord =
            serde_json::from_slice(&held.body).map_err(|e| LockError::Unreadable {
                bucket: bucket.name().to_owned(),
                key: key.clone(),
                env: env.to_owned(),
                why: e.to_string(),
            })?;
        if holder.is_expired(now_ms()) {
            say(&format!(
                "taking over the expired lock of env `{env}` held by {}",
                holder.describe()
            ));
            match delete_if_still(bucket, &key, &held.written()).await {
                Ok(()) => continue,
                Err(err) if err.is_precondition_failed() || err.is_not_found() => continue,
                Err(err) => return Err(LockError::S3(err).into()),
            }
        }
        if started.elapsed() >= lock_timeout {
            return Err(Refusal::LockTimeout(format!(
                "env `{env}` is locked by {} (waited {:?}). Wait for it to finish, raise \
                 --lock-timeout, or, if that run is dead, `irisctl unlock --env {env}`",
                holder.describe(),
                started.elapsed()
            ))
            .into());
        }
        if !told {
            say(&format!(
                "env `{env}` is locked by {}; waiting up to {lock_timeout:?}",
                holder.describe()
            ));
            told = true;
        }
        let delay = delays.next().unwrap_or(Duration::from_secs(2));
        tokio::time::sleep(delay.min(lock_timeout.saturating_sub(started.elapsed()))).await;
    }
}

impl HeldLock {
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The lock object this run wrote, as the version listing names it (destroy empties
    /// the bucket around it while it still holds the lock).
    pub fn version(&self) -> crate::aws::s3::VersionRef {
        crate::aws::s3::VersionRef {
            key: self.key.clone(),
            version_id: self.written.version_id.clone(),
        }
    }

    /// Rewrite the lock with a fresh expiry, only while it is still the object this run
    /// wrote (`If-Match` on its entity tag). In a versioned bucket the version replaced is
    /// deleted, so a release (which deletes the version written) never uncovers an older
    /// record of this run. Another holder, or no lock at all → [`LockError::Lost`].
    pub async fn renew(&mut self, env: &str) -> Result<(), LockError> {
        let record = self.record.stamped_at(now_ms());
        let body = serde_json::to_vec_pretty(&record).map_err(|e| LockError::Unreadable {
            bucket: self.bucket.name().to_owned(),
            key: self.key.clone(),
            env: env.to_owned(),
            why: e.to_string(),
        })?;
        let written = match self
            .bucket
            .put_if_match(&self.key, body, &self.written.etag)
            .await
        {
            Ok(written) => written,
            Err(err) if err.is_precondition_failed() || err.is_not_found() => {
                let now = match self.bucket.get(&self.key).await {
                    Ok(Some(held)) => serde_json::from_slice::<LockRecord>(&held.body)
                        .map(|r| format!("now held by {}", r.describe()))
                        .unwrap_or_else(|_| "replaced by an unreadable object".into()),
                    Ok(None) => "removed".into(),
                    Err(_) => "replaced".into(),
                };
                return Err(LockError::Lost {
                    env: env.to_owned(),
                    now,
                });
            }
            Err(err) => return Err(err.into()),
        };
        if let Some(old) = &self.written.version_id
            && written.version_id.as_ref() != Some(old)
        {
            // Best effort: a leftover noncurrent version is only clutter.
            let _ = self.bucket.delete_version(&self.key, old).await;
        }
        self.written = written;
        self.record = record;
        Ok(())
    }

    /// Release the lock if it is still ours (a taken-over lock is left to its new holder).
    pub async fn release(self) -> Result<(), S3Error> {
        match delete_if_still(&self.bucket, &self.key, &self.written).await {
            Err(err) if err.is_precondition_failed() || err.is_not_found() => Ok(()),
            other => other,
        }
    }
}

/// How long a run may hold the lock: `operations` stack operations, each bounded by
/// `timeout`, plus five minutes for everything around them. A lock must outlive the run
/// that holds it, or a second run could take over a healthy one.
pub fn hold_for(operations: u32, timeout: Duration) -> Duration {
    timeout * operations + Duration::from_secs(300)
}

/// The bucket that holds the env lock: the storage stack's model bucket.
pub fn bucket_of(storage: &Stack) -> Option<&str> {
    storage
        .outputs
        .get(contract::storage::MODEL_BUCKET_NAME)
        .map(String::as_str)
}

/// Take the lock of `env` in `bucket` for this process, naming `owner` and held for at
/// most `hold`, waiting up to `wait` for a holder; waits and take-overs are told on `ui`.
pub async fn take(
    bucket: &Bucket,
    env: &str,
    owner: &str,
    hold: Duration,
    wait: Duration,
    ui: &Ui,
) -> anyhow::Result<HeldLock> {
    let record = LockRecord::for_this_process(owner, hold);
    let say = |m: &str| ui.say(m);
    acquire(bucket, env, record, wait, &say).await
}

/// Where a held lock is kept while a command runs, outside the future doing the work, so
/// a run interrupted by Ctrl-C (the future dropped) still releases it.
pub type LockSlot = std::sync::Arc<std::sync::Mutex<Option<HeldLock>>>;

/// Put `held` into `slot`.
pub fn keep(slot: &LockSlot, held: HeldLock) -> anyhow::Result<()> {
    *slot
        .lock()
        .map_err(|_| anyhow::anyhow!("lock slot poisoned"))? = Some(held);
    Ok(())
}

/// Whether `slot` holds a lock.
pub fn holds(slot: &LockSlot) -> bool {
    slot.lock().map(|s| s.is_some()).unwrap_or(false)
}

/// Release whatever lock `slot` holds.
pub async fn release(slot: &LockSlot) -> anyhow::Result<()> {
    let held = slot
        .lock()
        .map_err(|_| anyhow::anyhow!("lock slot poisoned"))?
        .take();
    if let Some(held) = held {
        held.release().await?;
    }
    Ok(())
}

/// Who holds `env`'s lock now (`irisctl status`), without touching it. `None`: nobody,
/// or an object that is not a lock record.
pub async fn holder(bucket: &Bucket, env: &str) -> Result<Option<LockRecord>, S3Error> {
    Ok(bucket
        .get(&lock_key(env))
        .await?
        .and_then(|held| serde_json::from_slice(&held.body).ok()))
}

/// How often deploy renews its lock: well inside the shortest lock lifetime
/// ([`hold_for`] adds five minutes to the stack operations it covers).
pub const RENEW_EVERY: Duration = Duration::from_secs(60);

/// How often [`renewing`] rewrites the lock: a third of its lifetime, so two renewals
/// may fail in a row before it could expire, and at least every minute.
pub fn renew_every(record: &LockRecord) -> Duration {
    let ttl = Duration::from_millis(
        u64::try_from(record.expires_ms.saturating_sub(record.acquired_ms)).unwrap_or(0),
    );
    (ttl / 3).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// Run `work` (a deploy, a destroy) while renewing whatever lock `slot` holds every
/// `every`, so a long stack wait never lets the lock expire under a healthy run. A
/// renewal that finds another holder stops `work` at its next await point (the future is
/// dropped, exactly as on Ctrl-C: no further stack operation starts) and returns
/// [`LockError::Lost`]; the slot is emptied so the other holder's lock is never released.
/// A renewal that fails for another reason (S3 unreachable) is retried at the next tick.
pub async fn renewing<T>(
    slot: &LockSlot,
    env: &str,
    every: Duration,
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::pin!(work);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate
    loop {
        tokio::select! {
            outcome = &mut work => return outcome,
            _ = ticks.tick() => {
                let Some(mut held) = slot.lock().ok().and_then(|s| s.clone()) else {
                    continue;
                };
                match held.renew(env).await {
                    Ok(()) => {
                        if let Ok(mut s) = slot.lock()
                            && s.as_ref().is_some_and(|h| h.key == held.key)
                        {
                            *s = Some(held);
                        }
                    }
                    Err(lost @ LockError::Lost { .. }) => {
                        if let Ok(mut s) = slot.lock() {
                            s.take();
                        }
                        return Err(lost.into());
                    }
                    Err(_) => {}
                }
            }
        }
    }
}

/// `irisctl unlock`: remove the lock whoever holds it. Returns the record removed.
pub async fn force_unlock(bucket: &Bucket, env: &str) -> anyhow::Result<Option<LockRecord>> {
    let key = lock_key(env);
    let Some(held) = bucket.get(&key).await? else {
        return Ok(None);
    };
    let record = serde_json::from_slice(&held.body).ok();
    delete_if_still(bucket, &key, &held.written()).await?;
    Ok(record)
}

/// Remove the lock object `written` and nothing newer. In a versioned bucket: delete that
/// version (gone already → success). Otherwise DeleteObject with `If-Match`; where the store
/// does not implement that (LocalStack 2026.3), compare-then-delete, which leaves a race
/// window of one round trip (docs/emulator-gaps.md).
async fn delete_if_still(bucket: &Bucket, key: &str, written: &Written) -> Result<(), S3Error> {
    if let Some(version) = &written.version_id {
        return bucket.delete_version(key, version).await;
    }
    let etag = written.etag.as_str();
    match bucket.delete_if_match(key, etag).await {
        Err(err) if err.is_not_implemented() => match bucket.get(key).await? {
            Some(current) if current.etag == etag => bucket.delete(key).await,
            Some(_) => Err(S3Error {
                status: Some(412),
                code: Some("PreconditionFailed".into()),
                message: "the lock changed hands".into(),
                ..err
            }),
            None => Ok(()),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_expire_after_their_ttl_and_describe_their_holder() {
        let r = LockRecord::for_this_process("alice", Duration::from_secs(60));
        assert!(!r.is_expired(r.acquired_ms));
        assert!(!r.is_expired(r.acquired_ms + 59_000));
        assert!(r.is_expired(r.acquired_ms + 60_000));
        assert_eq!(r.pid, std::process::id());
        let text = r.describe();
        assert!(text.starts_with("alice@"), "{text}");
        assert!(text.contains(&format!("(pid {})", r.pid)), "{text}");
        let back: LockRecord =
            serde_json::from_slice(&serde_json::to_vec(&r).expect("json")).expect("parse");
        assert_eq!(back, r);
    }

    #[test]
    fn restamping_keeps_the_lifetime_and_moves_both_instants() {
        let r = LockRecord::for_this_process("alice", Duration::from_secs(60));
        let later = r.stamped_at(r.acquired_ms + 3_600_000);
        assert_eq!(later.acquired_ms, r.acquired_ms + 3_600_000);
        assert_eq!(later.expires_ms - later.acquired_ms, 60_000);
        assert_eq!((later.owner, later.pid), (r.owner, r.pid));
    }

    /// The lock is held for the first attempt and free at the second: the record written
    /// at the second attempt expires its full lifetime after that attempt, not after the
    /// time the caller made the record (a long `--lock-timeout` must not publish an
    /// already expired lock).
    #[tokio::test]
    async fn the_expiry_is_stamped_at_the_put_that_wins_not_before_the_wait() {
        use aws_sdk_s3::operation::get_object::GetObjectOutput;
        use aws_sdk_s3::operation::put_object::{PutObjectError, PutObjectOutput};
        use aws_sdk_s3::primitives::ByteStream;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        let holder = LockRecord::for_this_process("bob", Duration::from_secs(3600));
        let holder_body = serde_json::to_vec(&holder).expect("json");
        let put = mock!(aws_sdk_s3::Client::put_object)
            .sequence()
            .error(|| {
                PutObjectError::generic(
                    aws_sdk_s3::error::ErrorMetadata::builder()
                        .code("PreconditionFailed")
                        .message("At least one of the pre-conditions you specified did not hold")
                        .build(),
                )
            })
            .output(|| {
                PutObjectOutput::builder()
                    .e_tag("\"e2\"")
                    .version_id("v2")
                    .build()
            })
            .build();
        let get = mock!(aws_sdk_s3::Client::get_object).then_output(move || {
            GetObjectOutput::builder()
                .e_tag("\"e1\"")
                .version_id("v1")
                .body(ByteStream::from(holder_body.clone()))
                .build()
        });
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put, &get]);
        let bucket = Bucket::new(s3, "b");
        // A record made an hour "ago" with a 60 s lifetime: stamped as is it would be
        // expired on arrival.
        let stale = LockRecord::for_this_process("alice", Duration::from_secs(60))
            .stamped_at(now_ms() - 3_600_000);
        let before = now_ms();
        let held = acquire(&bucket, "dev", stale, Duration::from_secs(30), &|_| {})
            .await
            .expect("acquired at the second attempt");
        assert_eq!(put.num_calls(), 2);
        assert!(held.record.acquired_ms >= before, "{:?}", held.record);
        assert_eq!(held.record.expires_ms - held.record.acquired_ms, 60_000);
        assert!(!held.record.is_expired(now_ms()));
    }

    fn held(bucket: Bucket, ttl: Duration) -> HeldLock {
        HeldLock {
            bucket,
            key: lock_key("dev"),
            written: Written {
                etag: "\"e1\"".into(),
                version_id: Some("v1".into()),
            },
            record: LockRecord::for_this_process("alice", ttl),
            contended: false,
        }
    }

    /// During a long wait the lock is renewed (If-Match on the entity tag written, the
    /// replaced version deleted); the next renewal meets S3's 412 because bob took the
    /// lock over: the work is stopped before it finishes, the error names bob, and the
    /// slot no longer holds a lock, so bob's is never released by us.
    #[tokio::test]
    async fn a_renewal_that_finds_another_holder_stops_the_work_safely() {
        use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
        use aws_sdk_s3::operation::get_object::GetObjectOutput;
        use aws_sdk_s3::operation::put_object::{PutObjectError, PutObjectOutput};
        use aws_sdk_s3::primitives::ByteStream;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let renew = mock!(aws_sdk_s3::Client::put_object)
            .match_requests(|r| r.if_match().is_some() && r.if_none_match().is_none())
            .sequence()
            .output(|| {
                PutObjectOutput::builder()
                    .e_tag("\"e2\"")
                    .version_id("v2")
                    .build()
            })
            .error(|| {
                PutObjectError::generic(
                    aws_sdk_s3::error::ErrorMetadata::builder()
                        .code("PreconditionFailed")
                        .message("At least one of the pre-conditions you specified did not hold")
                        .build(),
                )
            })
            .build();
        let old_version = mock!(aws_sdk_s3::Client::delete_object)
            .match_requests(|r| r.version_id() == Some("v1"))
            .then_output(|| DeleteObjectOutput::builder().build());
        let bob = LockRecord::for_this_process("bob", Duration::from_secs(600));
        let bob_body = serde_json::to_vec(&bob).expect("json");
        let get = mock!(aws_sdk_s3::Client::get_object).then_output(move || {
            GetObjectOutput::builder()
                .e_tag("\"bob\"")
                .body(ByteStream::from(bob_body.clone()))
                .build()
        });
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&renew, &old_version, &get]);
        let slot: LockSlot = Default::default();
        keep(&slot, held(Bucket::new(s3, "b"), Duration::from_secs(600))).expect("keep");
        let finished = Arc::new(AtomicBool::new(false));
        let work = {
            let finished = finished.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                finished.store(true, Ordering::SeqCst);
                anyhow::Ok(())
            }
        };
        let err = renewing(&slot, "dev", Duration::from_millis(20), work)
            .await
            .expect_err("stopped by the lost lock");
        assert!(!finished.load(Ordering::SeqCst), "the work was stopped");
        assert_eq!(renew.num_calls(), 2);
        assert_eq!(
            old_version.num_calls(),
            1,
            "the replaced version was deleted"
        );
        let text = err.to_string();
        assert!(text.contains("no longer ours"), "{text}");
        assert!(text.contains("bob@"), "{text}");
        assert!(
            !holds(&slot),
            "the other holder's lock is not ours to release"
        );
    }

    #[test]
    fn renewals_come_three_times_per_lifetime_at_most_a_minute_apart() {
        let r = LockRecord::for_this_process("a", Duration::from_secs(90));
        assert_eq!(renew_every(&r), Duration::from_secs(30));
        let r = LockRecord::for_this_process("a", Duration::from_secs(3600));
        assert_eq!(renew_every(&r), Duration::from_secs(60));
    }

    #[test]
    fn a_lock_outlives_every_operation_it_covers() {
        let timeout = Duration::from_secs(600);
        assert_eq!(hold_for(7, timeout), Duration::from_secs(7 * 600 + 300));
        assert_eq!(hold_for(1, timeout), Duration::from_secs(900));
    }

    #[test]
    fn lock_keys_are_per_env() {
        assert_eq!(lock_key("local-ab12"), "locks/local-ab12.json");
    }
}
