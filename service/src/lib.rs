//! The ticketing reservation service: sells seats for high-demand events without overselling.
//!
//! # Layout
//!
//! ```text
//!   main.rs        the `ticketing-service` binary: serve | migrate | token | openapi
//!   config         flags and environment, secrets from files
//!   domain         validated types and rules, no I/O
//!   engine/        per-event writers that batch requests into one transaction each
//!     decide       the pure decision of a batch (unit-tested)
//!     batch        the transaction: lock, decide, conditional update, multi-row insert, commit
//!   store/         the database (MySQL or SQLite through sqlx::Any), migrations in service/migrations/
//!   cache          cache-aside for event reads, in Redis or in process
//!   redis_link     the one Redis connection of the process, replaced after a restart or failover of Redis
//!   lease          Redis leases with database-checked fencing tokens, for single-replica work
//!   sweeper        gives back the seats of lapsed holds, under the `hold-sweeper` lease
//!   auth           JWT and admin-token authentication
//!   http/          the router, middleware and the handlers of each resource
//!   openapi        the OpenAPI document generated from the handlers
//! ```
//!
//! [`start`] builds the state from configuration, [`serve`] runs the router on a listener (with the server of
//! `http::server`) until a shutdown future completes; tests call both in-process on port 0.

pub mod auth;
pub mod cache;
pub mod config;
pub mod domain;
pub mod engine;
pub mod error;
pub mod http;
pub mod lease;
pub mod openapi;
pub mod redis_link;
pub mod store;
pub mod sweeper;

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::cache::Cache;
use crate::config::ServeArgs;
use crate::engine::{Engine, EngineConfig};
pub use crate::http::{app, AppState};
use crate::redis_link::RedisLink;
use crate::store::{Db, PoolSizes};

/// Builds the application state: connects and migrates the database, connects the cache and starts the engine.
pub async fn start(args: &ServeArgs) -> anyhow::Result<AppState> {
    // The recorder comes first, so that metrics set while starting are kept.
    let metrics = metrics_handle();
    let auth = args.auth.authenticator(&args.storage)?;
    let url = args.storage.resolve_url()?;
    let db = Db::connect(&url, PoolSizes { max_connections: args.db_max_connections }).await?;
    let redis = match &args.redis_url {
        Some(url) => Some(Arc::new(RedisLink::new(url, &args.redis_key_prefix)?)),
        None => None,
    };
    let cache = Arc::new(match &redis {
        Some(link) => Cache::redis(link.clone()),
        None => Cache::local(),
    });
    if cache.probe().await == cache::RedisState::Degraded {
        tracing::warn!("redis is not reachable at start; selling from the database until it is");
    }
    let invalidate = cache.clone();
    let on_commit: engine::OnCommit = Arc::new(move |event_id| {
        invalidate.invalidate_near(event_id);
        let cache = invalidate.clone();
        tokio::spawn(async move { cache.invalidate_event(event_id).await });
    });
    let engine_config = EngineConfig {
        queue_depth: args.queue_depth.max(1),
        max_batch: args.max_batch.max(1),
        hint_ttl: Duration::from_millis(args.hint_ttl_ms),
    };
    let engine = Arc::new(Engine::new(db.clone(), engine_config, on_commit));
    let sweep_interval = Duration::from_millis(args.sweep_interval_ms.max(10));
    let lease = lease::Lease::new("hold-sweeper", redis, sweep_interval * 5);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sweeper = tokio::spawn(sweeper::run(db.clone(), lease, engine.clone(), cache.clone(), sweep_interval, stopped));
    Ok(AppState::new(http::Shared {
        engine,
        background: Arc::new(http::Background::new(stop, sweeper)),
        limits: Arc::new(http::limits::Limits::new(
            http::limits::Quota { per_second: args.rate_limit_per_buyer, burst: args.rate_limit_per_buyer * 2.0 },
            http::limits::Quota { per_second: args.rate_limit_per_address, burst: args.rate_limit_per_address * 2.0 },
            args.trusted_proxies.clone(),
            Duration::from_millis(args.request_timeout_ms.max(1)),
        )),
        connection: http::server::ConnectionLimits::new(&args.connection),
        db,
        cache,
        auth: Arc::new(auth),
        event_scope: args.event_scope,
        metrics,
    }))
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let background = state.background.clone();
    let limits = state.connection;
    http::server::run(listener, app(state), limits, shutdown).await;
    background.stop().await;
    Ok(())
}

/// The process-wide Prometheus recorder, installed on first use.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let seconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
            let sizes = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full("http_request_duration_seconds".into()), &seconds)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full("ticketing_batch_seconds".into()), &seconds))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full("ticketing_batch_size".into()), &sizes));
            match builder.and_then(|b| b.install_recorder()) {
                Ok(handle) => handle,
                Err(error) => {
                    tracing::warn!(error = %error, "metrics recorder not installed");
                    PrometheusBuilder::new().build_recorder().handle()
                }
            }
        })
        .clone()
}
