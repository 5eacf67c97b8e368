//! Leases for work that one replica must do alone, with fencing tokens that the database checks.
//!
//! A lease is a Redis key set with `SET NX PX` to a token unique to its holder; the holder renews it before it
//! lapses and releases it by compare-and-delete, so nobody ever frees another holder's lease (the original system's
//! plain `DEL` could). A lease alone is not enough: a holder paused past its lease (a GC pause, SIGSTOP) may wake
//! up and write after another holder took over, and Redis may lose the key in a failover. So every new holder
//! takes a fencing token from the database ([`next_fence`], one higher than any before) and every write it makes
//! first checks, under a row lock in the same transaction, that its token is still the newest ([`push_fence_check`]).
//! A holder whose token was overtaken writes nothing.
//!
//! Without Redis (the embedded default, a single process) the lease is always granted; the fence still applies.

use std::sync::Arc;
use std::time::Duration;

use sqlx::Row as _;

use crate::redis_link::RedisLink;
use crate::store::script::{Answer, Script};
use crate::store::Db;

/// Releases the key only if it still holds our token.
const RELEASE: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
/// Extends the key only if it still holds our token.
const RENEW: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";

/// One holder's handle on a named lease.
pub struct Lease {
    name: String,
    token: String,
    ttl: Duration,
    redis: Option<RedisBackend>,
}

struct RedisBackend {
    link: Arc<RedisLink>,
    key: String,
    renew: redis::Script,
    release: redis::Script,
}

impl Lease {
    /// A lease called `name` in Redis over `link` (or in this process when `None`), lasting `ttl` unless renewed.
    /// The link reconnects after Redis restarts or fails over, so a lease lost to an outage is taken again once
    /// Redis answers.
    pub fn new(name: &str, link: Option<Arc<RedisLink>>, ttl: Duration) -> Self {
        let redis = link.map(|link| RedisBackend {
            key: link.key(&format!("lease:{name}")),
            link,
            renew: redis::Script::new(RENEW),
            release: redis::Script::new(RELEASE),
        });
        Self { name: name.to_owned(), token: hex::encode(rand::random::<[u8; 16]>()), ttl, redis }
    }

    /// The lease's name, which is also its row in `lease_fences`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes the lease if nobody holds it.
    pub async fn acquire(&self) -> redis::RedisResult<bool> {
        let Some(backend) = &self.redis else { return Ok(true) };
        let set: Option<String> = backend
            .link
            .run(|mut connection| async move {
                redis::cmd("SET")
                    .arg(&backend.key)
                    .arg(&self.token)
                    .arg("NX")
                    .arg("PX")
                    .arg(self.ttl_millis())
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        Ok(set.is_some())
    }

    /// Extends the lease; `false` means it lapsed or someone else holds it now.
    pub async fn renew(&self) -> redis::RedisResult<bool> {
        let Some(backend) = &self.redis else { return Ok(true) };
        let renewed: i64 = backend
            .link
            .run(|mut connection| async move {
                backend
                    .renew
                    .key(&backend.key)
                    .arg(&self.token)
                    .arg(self.ttl_millis())
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        Ok(renewed == 1)
    }

    /// Gives the lease up if we still hold it.
    pub async fn release(&self) -> redis::RedisResult<bool> {
        let Some(backend) = &self.redis else { return Ok(true) };
        let released: i64 = backend
            .link
            .run(|mut connection| async move {
                backend.release.key(&backend.key).arg(&self.token).invoke_async(&mut connection).await
            })
            .await?;
        Ok(released == 1)
    }

    fn ttl_millis(&self) -> u64 {
        u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX)
    }
}

/// Takes the next fencing token of lease `name`: one higher than every token handed out before.
pub async fn next_fence(db: &Db, name: &str) -> Result<i64, sqlx::Error> {
    let mut tx = db.writer.begin().await?;
    sqlx::query("UPDATE lease_fences SET fence = fence + 1 WHERE name = ?").bind(name).execute(&mut *tx).await?;
    let fence: i64 =
        sqlx::query_scalar("SELECT fence FROM lease_fences WHERE name = ?").bind(name).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(fence)
}

/// Appends to `script`, inside its transaction, the read of lease `name`'s newest token; returns its index. The read
/// locks the fence row until the transaction ends, so a new holder cannot take a token between this check and the
/// commit.
pub fn push_fence_check(script: &mut Script, name: &str) -> usize {
    let locking = script.dialect().for_update();
    script.push("SELECT fence FROM lease_fences WHERE name = ").text(name).push(locking).end()
}

/// Whether the answer to [`push_fence_check`] says that `fence` is still the newest token.
pub fn fence_is_current(answer: &Answer, fence: i64) -> Result<bool, sqlx::Error> {
    let row = answer.rows.first().ok_or_else(|| sqlx::Error::Protocol("no fence row for the lease".into()))?;
    Ok(row.try_get::<i64, _>("fence")? == fence)
}
