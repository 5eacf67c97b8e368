//! Cache-aside for event reads, in Redis or, without Redis, in this process.
//!
//! In front of Redis sits a near cache in this process whose entries live at most [`NEAR_TTL`], so a hot event is
//! read from memory and other replicas' changes are seen within that time. Reads of events and event lists are
//! served from here; every write that changes an event (a definition change,
//! a committed batch of reservations or cancellations) deletes the event's entry and the lists. Entries also expire
//! after a short time, which bounds staleness if an invalidation is lost (Redis down, or a failover that lost
//! writes). Redis is never the source of truth: when it fails, reads fall through to the database, the service
//! reports `redis: degraded` in `/readyz` and in `ticketing_redis_up`, and invalidations that could not be sent are
//! sent once Redis answers again. The connection to Redis, and its recovery after a restart or a failover, belong to
//! `redis_link`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::AsyncCommands as _;

use crate::redis_link::RedisLink;

/// How long an event entry lives.
pub const EVENT_TTL: Duration = Duration::from_secs(5);
/// How long a list entry lives (lists depend on the clock too).
pub const LIST_TTL: Duration = Duration::from_secs(2);
/// The list keys every event change invalidates.
pub const LIST_KEYS: [&str; 3] = ["events:all", "events:upcoming", "events:available"];
/// How long an entry lives in the near cache in front of Redis.
pub const NEAR_TTL: Duration = Duration::from_millis(100);

/// The state of the Redis dependency as `/readyz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisState {
    Ok,
    Degraded,
    Disabled,
}

impl RedisState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Degraded => "degraded",
            Self::Disabled => "disabled",
        }
    }
}

/// The event cache.
pub struct Cache {
    /// Entries in this process: the whole cache without Redis, the near cache in front of it otherwise.
    near: NearMap,
    redis: Option<RedisCache>,
}

/// Entries with their expiry time, in this process.
#[derive(Default)]
struct NearMap(Mutex<HashMap<String, (Instant, String)>>);

impl NearMap {
    fn get(&self, key: &str) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).filter(|(expires, _)| *expires > Instant::now()).map(|(_, v)| v.clone())
    }

    fn put(&self, key: &str, value: String, ttl: Duration) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(key.to_owned(), (Instant::now() + ttl, value));
    }

    fn remove(&self, keys: &[String]) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            map.remove(key);
        }
    }
}

/// Redis, and the invalidations it missed while it was away.
struct RedisCache {
    link: Arc<RedisLink>,
    /// Keys whose deletion failed; deleted once Redis answers again.
    missed_invalidations: Mutex<HashSet<String>>,
    /// Whether `missed_invalidations` may hold keys (read on every command without taking the lock).
    has_missed: AtomicBool,
}

impl Cache {
    /// A cache in this process.
    pub fn local() -> Self {
        Self { near: NearMap::default(), redis: None }
    }

    /// A cache in Redis over `link`. Redis need not be up yet.
    pub fn redis(link: Arc<RedisLink>) -> Self {
        Self {
            near: NearMap::default(),
            redis: Some(RedisCache {
                link,
                missed_invalidations: Mutex::new(HashSet::new()),
                has_missed: AtomicBool::new(false),
            }),
        }
    }

    /// How Redis is doing.
    pub fn redis_state(&self) -> RedisState {
        match &self.redis {
            None => RedisState::Disabled,
            Some(redis) if redis.link.is_up() => RedisState::Ok,
            Some(_) => RedisState::Degraded,
        }
    }

    /// Checks Redis now (used by `/readyz` and at start) and reconnects if it was away.
    pub async fn probe(&self) -> RedisState {
        if let Some(redis) = &self.redis {
            let _: Option<String> =
                redis.run(|mut c| async move { redis::cmd("PING").query_async(&mut c).await }).await;
        }
        self.redis_state()
    }

    /// The cached value of `key`, if any.
    pub async fn get(&self, key: &str) -> Option<String> {
        let mut value = self.near.get(key);
        if value.is_none() {
            if let Some(redis) = &self.redis {
                let full = redis.link.key(key);
                value = redis.run(|mut c| async move { c.get::<_, Option<String>>(full).await }).await.flatten();
                if let Some(found) = &value {
                    self.near.put(key, found.clone(), NEAR_TTL);
                }
            }
        }
        let result = if value.is_some() { "hit" } else { "miss" };
        metrics::counter!("ticketing_cache_requests_total", "result" => result).increment(1);
        value
    }

    /// Stores `value` under `key` for `ttl` (at most [`NEAR_TTL`] in the near cache when Redis is there).
    pub async fn put(&self, key: &str, value: String, ttl: Duration) {
        match &self.redis {
            None => self.near.put(key, value, ttl),
            Some(redis) => {
                self.near.put(key, value.clone(), ttl.min(NEAR_TTL));
                let full = redis.link.key(key);
                let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
                let _: Option<()> =
                    redis.run(|mut c| async move { c.pset_ex::<_, _, ()>(full, value, millis).await }).await;
            }
        }
    }

    /// Deletes the event's entry and every list.
    pub async fn invalidate_event(&self, event_id: i64) {
        let keys = self.invalidate_near(event_id);
        if let Some(redis) = &self.redis {
            redis.delete(keys).await;
        }
    }

    /// Deletes the event's entry and every list from this process at once (the commit path calls this before it
    /// answers, and sends the Redis deletion in the background); returns the keys.
    pub fn invalidate_near(&self, event_id: i64) -> Vec<String> {
        let mut keys = vec![event_key(event_id)];
        keys.extend(LIST_KEYS.iter().map(|k| (*k).to_owned()));
        self.near.remove(&keys);
        keys
    }
}

/// The cache key of one event.
pub fn event_key(event_id: i64) -> String {
    format!("event:{event_id}")
}

impl RedisCache {
    /// Runs one Redis command, or nothing while Redis is away (the link logs and counts the failure). Once Redis
    /// answers again, the invalidations it missed are sent first.
    async fn run<T, F, Fut>(&self, command: F) -> Option<T>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let value = self.link.run(command).await.ok()?;
        if self.has_missed.load(Ordering::Acquire) {
            self.flush_missed_invalidations().await;
        }
        Some(value)
    }

    async fn delete(&self, keys: Vec<String>) {
        let full: Vec<String> = keys.iter().map(|k| self.link.key(k)).collect();
        if self.link.run(|mut c| async move { c.del::<_, ()>(full).await }).await.is_err() {
            self.remember(keys);
        } else if self.has_missed.load(Ordering::Acquire) {
            self.flush_missed_invalidations().await;
        }
    }

    fn remember(&self, keys: impl IntoIterator<Item = String>) {
        self.missed_invalidations.lock().unwrap_or_else(|e| e.into_inner()).extend(keys);
        self.has_missed.store(true, Ordering::Release);
    }

    async fn flush_missed_invalidations(&self) {
        let keys: Vec<String> = {
            let mut missed = self.missed_invalidations.lock().unwrap_or_else(|e| e.into_inner());
            self.has_missed.store(false, Ordering::Release);
            missed.drain().collect()
        };
        if keys.is_empty() {
            return;
        }
        let full: Vec<String> = keys.iter().map(|k| self.link.key(k)).collect();
        if self.link.run(|mut c| async move { c.del::<_, ()>(full).await }).await.is_err() {
            self.remember(keys);
        }
    }
}
