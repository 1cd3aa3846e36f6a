//! The env lock: one object per env, `locks/<env>.json` in the env's model bucket,
//! created with `If-None-Match: *` so exactly one writer wins. It is released by deleting
//! exactly the object version this run wrote (the bucket is versioned): that can never
//! remove a lock written after it, leaves no delete marker, and is one call on AWS and on
//! the emulators alike. Without a version id (an unversioned bucket) the release is a
//! DeleteObject with `If-Match` on the entity tag. An expired lock is taken over the same
//! way (delete the version read, then the conditional put again). Must not decide when to
//! lock; deploy does (see docs/decisions.md for the first deploy, before the bucket
//! exists).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::progress::timestamp;
use super::waiter::poll_delays;
use crate::aws::s3::{Bucket, S3Error, Written};
use crate::exit::Refusal;

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

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
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
#[derive(Debug)]
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
/// [`Refusal::LockTimeout`] (exit 4).
pub async fn acquire(
    bucket: &Bucket,
    env: &str,
    record: LockRecord,
    lock_timeout: Duration,
    say: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<HeldLock> {
    let key = lock_key(env);
    let body = serde_json::to_vec_pretty(&record)?;
    let started = Instant::now();
    let mut delays = poll_delays();
    let mut told = false;
    let mut contended = false;
    loop {
        match bucket.put_if_absent(&key, body.clone()).await {
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

    /// Release the lock if it is still ours (a taken-over lock is left to its new holder).
    pub async fn release(self) -> Result<(), S3Error> {
        match delete_if_still(&self.bucket, &self.key, &self.written).await {
            Err(err) if err.is_precondition_failed() || err.is_not_found() => Ok(()),
            other => other,
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
    fn lock_keys_are_per_env() {
        assert_eq!(lock_key("local-ab12"), "locks/local-ab12.json");
    }
}
