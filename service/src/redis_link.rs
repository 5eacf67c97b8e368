//! The process's one link to Redis, shared by everything that uses Redis (the event cache and the leases), so that
//! every use of Redis survives a restart or a failover of Redis in the same way.
//!
//! ```text
//!   cache ──┐                       ┌─ up: commands go out on one multiplexed connection
//!           ├── RedisLink::run ─────┤
//!   lease ──┘                       └─ down: commands fail at once for BACKOFF, then a new connection is tried
//! ```
//!
//! The link holds one multiplexed connection and replaces it whenever a command fails in a way that says the
//! connection or the server behind it is no longer usable: the connection dropped or was refused (a restart), a
//! command timed out (a node that vanished without closing its connections, as a failed-over primary does), or the
//! server answers that it is read-only or still loading (a demoted primary, a replica being promoted). The next
//! command after the backoff opens a new connection, resolving the endpoint's name anew, so it reaches the new
//! primary after a failover. A command error from a healthy server (a wrong type, say) keeps the connection.
//!
//! The link logs each transition once (`redis is unreachable` at WARN when it goes down, `redis is reachable` at INFO
//! when it answers again) and publishes it in `ticketing_redis_up`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{ErrorKind, RedisError, RedisResult};

/// How long Redis is left alone after a failure before a new connection is tried.
pub const BACKOFF: Duration = Duration::from_secs(1);
/// How long opening a connection, and each command, may take.
const TIMEOUT: Duration = Duration::from_millis(500);

/// A link to one Redis endpoint that reconnects after failures.
pub struct RedisLink {
    client: redis::Client,
    prefix: String,
    /// The current connection and its generation, if one is open.
    connection: RwLock<Option<(u64, MultiplexedConnection)>>,
    /// Serialises opening connections, so that a crowd of requests after an outage opens one, not one each.
    connecting: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    /// Milliseconds since `epoch` until which no command is sent; 0 when healthy.
    down_until: AtomicI64,
    up: AtomicBool,
    epoch: Instant,
}

impl RedisLink {
    /// A link to the Redis at `url`, with every key under `prefix`. Redis need not be up yet: nothing is sent
    /// before the first command.
    pub fn new(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        metrics::gauge!("ticketing_redis_up").set(0.0);
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            connection: RwLock::new(None),
            connecting: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            down_until: AtomicI64::new(0),
            up: AtomicBool::new(false),
            epoch: Instant::now(),
        })
    }

    /// The full Redis key of `key` (under this deployment's prefix).
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Whether the last command succeeded.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Runs one command on the link's connection, opening one if needed. While the link backs off after a failure
    /// the command is not sent and fails at once.
    pub async fn run<T, F, Fut>(&self, command: F) -> RedisResult<T>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        if self.now_ms() < self.down_until.load(Ordering::Acquire) {
            return Err(RedisError::from((ErrorKind::IoError, "redis is unreachable; waiting before trying again")));
        }
        let (generation, connection) = match self.connection().await {
            Ok(current) => current,
            Err(error) => {
                self.mark_down(&error);
                return Err(error);
            }
        };
        match command(connection).await {
            Ok(value) => {
                self.mark_up();
                Ok(value)
            }
            Err(error) => {
                if ends_connection(&error) {
                    self.forget(generation);
                    self.mark_down(&error);
                }
                Err(error)
            }
        }
    }

    fn current(&self) -> Option<(u64, MultiplexedConnection)> {
        self.connection.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn connection(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        if let Some(current) = self.current() {
            return Ok(current);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(current) = self.current() {
            return Ok(current);
        }
        let config = redis::AsyncConnectionConfig::new().set_connection_timeout(TIMEOUT).set_response_timeout(TIMEOUT);
        let connection = self.client.get_multiplexed_async_connection_with_config(&config).await?;
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        *self.connection.write().unwrap_or_else(|e| e.into_inner()) = Some((generation, connection.clone()));
        Ok((generation, connection))
    }

    /// Drops connection `generation` if it is still the current one (a newer one may have replaced it already).
    fn forget(&self, generation: u64) {
        let mut slot = self.connection.write().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|(current, _)| *current == generation) {
            *slot = None;
        }
    }

    fn mark_up(&self) {
        if !self.up.swap(true, Ordering::AcqRel) {
            self.down_until.store(0, Ordering::Release);
            tracing::info!("redis is reachable");
            metrics::gauge!("ticketing_redis_up").set(1.0);
        }
    }

    fn mark_down(&self, error: &RedisError) {
        let backoff = i64::try_from(BACKOFF.as_millis()).unwrap_or(1000);
        self.down_until.store(self.now_ms() + backoff, Ordering::Release);
        if self.up.swap(false, Ordering::AcqRel) {
            tracing::warn!(error = %error, "redis is unreachable; the cache is bypassed and leases wait until it answers");
        }
        metrics::gauge!("ticketing_redis_up").set(0.0);
        metrics::counter!("ticketing_dependency_errors_total", "dependency" => "redis").increment(1);
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(i64::MAX)
    }
}

/// Whether `error` says the connection, or the server behind it, cannot serve us any more: then the connection is
/// replaced. A command error from a healthy server does not end it.
fn ends_connection(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_unrecoverable_error()
        || matches!(
            error.kind(),
            ErrorKind::ReadOnly | ErrorKind::BusyLoadingError | ErrorKind::MasterDown | ErrorKind::TryAgain
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_of_the_link_end_the_connection_and_command_errors_do_not() {
        let dropped = RedisError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        let timed_out = RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
        let demoted = RedisError::from((ErrorKind::ReadOnly, "READONLY"));
        let wrong_type = RedisError::from((ErrorKind::TypeError, "WRONGTYPE"));
        assert!(ends_connection(&dropped));
        assert!(ends_connection(&timed_out), "a node that vanished only ever times out");
        assert!(ends_connection(&demoted), "a demoted primary answers, but read-only");
        assert!(!ends_connection(&wrong_type));
    }
}
