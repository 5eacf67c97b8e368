//! Cache-aside for event reads, in Redis or, without Redis, in this process.
//!
//! In front of Redis sits a near cache in this process whose entries live at most [`NEAR_TTL`], so a hot event is
//! read from memory and other replicas' changes are seen within that time. Reads of events and event lists are
//! served from here; every write that changes an event (a definition change,
//! a committed batch of reservations or cancellations) deletes the event's entry and the lists. Entries also expire
//! after a short time, which bounds staleness if an invalidation is lost (Redis down, or a failover that lost
//! writes). Redis is never the source of truth: when it fails, reads fall through to the database, the service
//! reports `redis: degraded` in `/readyz` and in `ticketing_redis_up`, and invalidations that could not be sent are
//! sent once Redis answers again.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::AsyncCommands as _;

/// How long an event entry lives.
pub const EVENT_TTL: Duration = Duration::from_secs(5);
/// How long a list entry lives (lists depend on the clock too).
pub const LIST_TTL: Duration = Duration::from_secs(2);
/// The list keys every event change invalidates.
pub const LIST_KEYS: [&str; 3] = ["events:all", "events:upcoming", "events:available"];
/// How long an entry lives in the near cache in front of Redis.
pub const NEAR_TTL: Duration = Duration::from_millis(100);
/// How long Redis is left alone after a failure before it is tried again.
const BACKOFF: Duration = Duration::from_secs(1);

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
    redis: Option<RedisLink>,
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

/// A Redis connection that tolerates Redis being away.
struct RedisLink {
    client: redis::Client,
    manager: tokio::sync::RwLock<Option<ConnectionManager>>,
    prefix: String,
    /// Milliseconds since `epoch` until which Redis is not tried; 0 when healthy.
    down_until: AtomicI64,
    healthy: AtomicBool,
    /// Keys whose deletion failed; deleted once Redis answers again.
    missed_invalidations: Mutex<HashSet<String>>,
    epoch: Instant,
}

impl Cache {
    /// A cache in this process.
    pub fn local() -> Self {
        Self { near: NearMap::default(), redis: None }
    }

    /// A cache in Redis at `url`, with every key under `prefix`. Redis need not be up yet.
    pub fn redis(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        metrics::gauge!("ticketing_redis_up").set(0.0);
        Ok(Self {
            near: NearMap::default(),
            redis: Some(RedisLink {
                client,
                manager: tokio::sync::RwLock::new(None),
                prefix: prefix.to_owned(),
                down_until: AtomicI64::new(0),
                healthy: AtomicBool::new(false),
                missed_invalidations: Mutex::new(HashSet::new()),
                epoch: Instant::now(),
            }),
        })
    }

    /// How Redis is doing.
    pub fn redis_state(&self) -> RedisState {
        match &self.redis {
            None => RedisState::Disabled,
            Some(link) if link.healthy.load(Ordering::Acquire) => RedisState::Ok,
            Some(_) => RedisState::Degraded,
        }
    }

    /// Checks Redis now (used by `/readyz` and at start) and reconnects if it was away.
    pub async fn probe(&self) -> RedisState {
        if let Some(link) = &self.redis {
            let _: Option<String> = link.run(|mut c| async move { redis::cmd("PING").query_async(&mut c).await }).await;
        }
        self.redis_state()
    }

    /// The cached value of `key`, if any.
    pub async fn get(&self, key: &str) -> Option<String> {
        let mut value = self.near.get(key);
        if value.is_none() {
            if let Some(link) = &self.redis {
                let full = link.key(key);
                value = link.run(|mut c| async move { c.get::<_, Option<String>>(full).await }).await.flatten();
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
            Some(link) => {
                self.near.put(key, value.clone(), ttl.min(NEAR_TTL));
                let full = link.key(key);
                let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
                let _: Option<()> =
                    link.run(|mut c| async move { c.pset_ex::<_, _, ()>(full, value, millis).await }).await;
            }
        }
    }

    /// Deletes the event's entry and every list.
    pub async fn invalidate_event(&self, event_id: i64) {
        let keys = self.invalidate_near(event_id);
        if let Some(link) = &self.redis {
            link.delete(keys).await;
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

impl RedisLink {
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// Runs one Redis operation, or nothing while Redis is backing off. Failures are counted and start a backoff.
    async fn run<T, F, Fut>(&self, operation: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if self.now_ms() < self.down_until.load(Ordering::Acquire) {
            return None;
        }
        // The read guard must be released before `connect` takes the write lock.
        let existing = self.manager.read().await.clone();
        let manager = match existing {
            Some(manager) => manager,
            None => self.connect().await?,
        };
        match operation(manager).await {
            Ok(value) => {
                if !self.healthy.swap(true, Ordering::AcqRel) {
                    tracing::info!("redis is reachable");
                    metrics::gauge!("ticketing_redis_up").set(1.0);
                    self.flush_missed_invalidations().await;
                }
                Some(value)
            }
            Err(error) => {
                self.mark_down(&error);
                None
            }
        }
    }

    async fn connect(&self) -> Option<ConnectionManager> {
        let mut slot = self.manager.write().await;
        if let Some(manager) = slot.as_ref() {
            return Some(manager.clone());
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_millis(500))
            .set_response_timeout(Duration::from_millis(500))
            .set_number_of_retries(1);
        match ConnectionManager::new_with_config(self.client.clone(), config).await {
            Ok(manager) => {
                *slot = Some(manager.clone());
                Some(manager)
            }
            Err(error) => {
                self.mark_down(&error);
                None
            }
        }
    }

    fn mark_down(&self, error: &redis::RedisError) {
        let backoff = i64::try_from(BACKOFF.as_millis()).unwrap_or(1000);
        self.down_until.store(self.now_ms() + backoff, Ordering::Release);
        if self.healthy.swap(false, Ordering::AcqRel) {
            tracing::warn!(error = %error, "redis is unreachable; serving from the database");
        }
        metrics::gauge!("ticketing_redis_up").set(0.0);
        metrics::counter!("ticketing_dependency_errors_total", "dependency" => "redis").increment(1);
    }

    async fn delete(&self, keys: Vec<String>) {
        let full: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let sent = self.run(|mut c| async move { c.del::<_, ()>(full).await }).await;
        if sent.is_none() {
            self.missed_invalidations.lock().unwrap_or_else(|e| e.into_inner()).extend(keys);
        }
    }

    async fn flush_missed_invalidations(&self) {
        let keys: Vec<String> = {
            let mut missed = self.missed_invalidations.lock().unwrap_or_else(|e| e.into_inner());
            missed.drain().map(|k| self.key(&k)).collect()
        };
        if keys.is_empty() {
            return;
        }
        let existing = self.manager.read().await.clone();
        if let Some(mut manager) = existing {
            if let Err(error) = manager.del::<_, ()>(keys.clone()).await {
                self.mark_down(&error);
                let prefix_len = self.prefix.len();
                let mut missed = self.missed_invalidations.lock().unwrap_or_else(|e| e.into_inner());
                missed.extend(keys.into_iter().map(|k| k[prefix_len..].to_owned()));
            }
        }
    }
}
