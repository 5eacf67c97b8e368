//! How each case's fault is injected into its running storm, and what the case observes while it lasts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::json;
use ticketing_testkit::toxiproxy::{Proxy, Stream, Toxic};

use crate::auth::Credentials;
use crate::conn::{Conn, Target};
use crate::storm::SeatCounter;

use super::case::{Case, Plan};
use super::cluster::Cluster;
use super::lease;

/// How often a condition the campaign waits for is polled.
pub const POLL: Duration = Duration::from_millis(20);
/// How long the campaign waits for a condition that should follow a fault quickly.
pub const CONDITION_LIMIT: Duration = Duration::from_secs(15);

/// What a fault did, in seconds since the case's clock started.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub injected: f64,
    pub healed: f64,
    /// Stretches in which a dependency of the hold sweeper was unreachable.
    pub outages: Vec<(f64, f64)>,
}

/// What a running case gives its fault.
pub struct Ctx<'a> {
    pub cluster: &'a mut Cluster,
    pub credentials: &'a Credentials,
    pub plan: &'a Plan,
    pub sold: SeatCounter,
    pub capacity: i64,
    pub clock: Instant,
    pub storm_done: Arc<AtomicBool>,
    pub observations: BTreeMap<String, serde_json::Value>,
    pub pool: sqlx::AnyPool,
    /// R5's takeover, to be checked again at the end.
    pub fence_check: Option<lease::FenceCheck>,
}

impl Ctx<'_> {
    pub fn now(&self) -> f64 {
        self.clock.elapsed().as_secs_f64()
    }

    pub fn observe(&mut self, name: &str, value: serde_json::Value) {
        self.observations.insert(name.to_owned(), value);
    }

    /// Waits until the storm has sold `share` of its seats.
    pub async fn at_share(&self, share: f64) -> anyhow::Result<()> {
        let seats = (self.capacity as f64 * share) as u64;
        while self.sold.get() < seats {
            if self.storm_done.load(Ordering::Relaxed) {
                bail!("the storm ended before it sold {seats} seats, so the fault could not be injected");
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(())
    }

    /// Polls `condition` until it holds, failing after [`CONDITION_LIMIT`]; returns the seconds it took.
    pub async fn wait_for<F, Fut>(&self, what: &str, mut condition: F) -> anyhow::Result<f64>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let start = Instant::now();
        while !condition().await {
            if start.elapsed() > CONDITION_LIMIT {
                bail!("{what} did not happen within {CONDITION_LIMIT:?}");
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(start.elapsed().as_secs_f64())
    }

    /// Sleeps until `secs` after `from` on the case's clock.
    async fn until(&self, from: f64, secs: Duration) {
        tokio::time::sleep_until((self.clock + Duration::from_secs_f64(from) + secs).into()).await;
    }
}

/// Injects `case`'s fault into the running storm.
pub async fn inject(case: Case, ctx: &mut Ctx<'_>) -> anyhow::Result<Option<Window>> {
    match case {
        Case::R0 | Case::R9 | Case::R10 => Ok(None),
        Case::R1 => redis_stopped(ctx).await.map(Some),
        Case::R2 => database_crashed(ctx).await.map(Some),
        Case::R3 => replicas_killed(ctx).await.map(Some),
        Case::R4 => redis_rolled_back(ctx).await.map(Some),
        Case::R5 => lease::holder_paused(ctx).await.map(Some),
        Case::R6 => database_slowed(ctx).await.map(Some),
        Case::R7 => connections_cut(ctx).await.map(Some),
        Case::R8 => redis_restarted(ctx).await.map(Some),
    }
}

async fn redis_stopped(ctx: &mut Ctx<'_>) -> anyhow::Result<Window> {
    ctx.at_share(0.25).await?;
    let injected = ctx.now();
    tokio::task::block_in_place(|| ctx.cluster.redis.stop());
    let replica = ctx.cluster.replica_target(0).await?;
    let noticed = ctx.wait_for("/readyz reporting Redis degraded", || redis_state_is(&replica, "degraded")).await?;
    ctx.observe("readyz_redis_degraded_after_secs", json!(round(noticed)));
    ctx.until(injected, ctx.plan.redis_outage).await;
    tokio::task::block_in_place(|| ctx.cluster.redis.start_again())?;
    let healed = ctx.now();
    let back = ctx.wait_for("/readyz reporting Redis ok", || redis_state_is(&replica, "ok")).await?;
    ctx.observe("readyz_redis_ok_after_restart_secs", json!(round(back)));
    Ok(Window { injected, healed, outages: vec![(injected, healed)] })
}

async fn database_crashed(ctx: &mut Ctx<'_>) -> anyhow::Result<Window> {
    ctx.at_share(0.25).await?;
    let injected = ctx.now();
    tokio::task::block_in_place(|| ctx.cluster.mariadb.crash());
    tokio::time::sleep(ctx.plan.database_outage).await;
    tokio::task::block_in_place(|| ctx.cluster.mariadb.start_again())?;
    let healed = ctx.now();
    ctx.observe("mariadb_down_secs", json!(round(healed - injected)));
    Ok(Window { injected, healed, outages: vec![(injected, healed)] })
}

async fn replicas_killed(ctx: &mut Ctx<'_>) -> anyhow::Result<Window> {
    let mut injected = None;
    let mut restarts = Vec::new();
    let mut outages = Vec::new();
    for kill in 0..5 {
        ctx.at_share(0.15 + 0.1 * kill as f64).await?;
        let replica = kill % ctx.cluster.replica_count();
        let at = ctx.now();
        injected.get_or_insert(at);
        ctx.cluster.kill_replica(replica)?;
        ctx.cluster.restart_replica(replica).await?;
        restarts.push(round(ctx.now() - at));
        // A killed lease holder stops sweeping until its lease lapses and another replica takes it; kills in quick
        // succession may each hit the holder of the moment, so each kill counts as an outage of the sweeper.
        outages.push((at, ctx.now()));
    }
    ctx.observe("kills", json!(restarts.len()));
    ctx.observe("restart_to_ready_secs", json!(restarts));
    Ok(Window { injected: injected.expect("five kills"), healed: ctx.now(), outages })
}

async fn redis_rolled_back(ctx: &mut Ctx<'_>) -> anyhow::Result<Window> {
    ctx.at_share(0.2).await?;
    tokio::task::block_in_place(|| ctx.cluster.redis.snapshot())?;
    let snapshot_at = ctx.sold.get();
    ctx.at_share(0.35).await?;
    let injected = ctx.now();
    tokio::task::block_in_place(|| ctx.cluster.redis.flush())?;
    ctx.at_share(0.5).await?;
    let restart = ctx.now();
    tokio::task::block_in_place(|| ctx.cluster.redis.restore_snapshot())?;
    let healed = ctx.now();
    ctx.observe("snapshot_taken_at_seats_sold", json!(snapshot_at));
    ctx.observe("rolled_back_at_seats_sold", json!(ctx.sold.get()));
    Ok(Window { injected, healed, outages: vec![(restart, healed)] })
}

/// R6: latency on what MariaDB answers, in spikes (the last one past sqlx's one-second slow-statement threshold),
/// then a bandwidth limit with the answers sliced into small pieces.
async fn database_slowed(ctx: &mut Ctx<'_>) -> anyhow::Result<Window> {
    let proxy = ctx.cluster.database_proxy.clone();
    let spikes = [(100, 50, 600), (300, 100, 400), (1200, 0, 1300)];
    ctx.at_share(0.2).await?;
    let injected = ctx.now();
    for (latency_ms, jitter_ms, lasting_ms) in spikes {
        proxy.add("spike", Stream::Downstream, Toxic::Latency { latency_ms, jitter_ms }).await?;
        tokio::time::sleep(Duration::from_millis(lasting_ms)).await;
        proxy.remove("spike").await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    proxy.add("narrow", Stream::Downstream, Toxic::Bandwidth { rate_kb: 200 }).await?;
    proxy
        .add("sliced", Stream::Downstream, Toxic::Slicer { average_size: 64, size_variation: 32, delay_us: 200 })
        .await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    proxy.remove("narrow").await?;
    proxy.remove("sliced").await?;
    let healed = ctx.now();
    ctx.observe("latency_spikes_ms", json!(spikes.iter().map(|spike| spike.0).collect::<Vec<_>>()));
    Ok(Window { injected, healed, outages: vec![(injected, healed)] })
}

/// R7: (a) every MariaDB connection reset at the next script the service sends (a batch cut before its statements
/// arrive); (b) twice, every connection cut at the next answer MariaDB sends, so each batch whose `COMMIT` was on
/// its way committed but is never answered (and each batch still reading is rolled back); (c) every Redis
/// connection reset.
async fn connections_cut(ctx: &mut Ctx<'_>) -> anyhow::Result<Window> {
    let database = ctx.cluster.database_proxy.clone();
    let redis = ctx.cluster.redis_proxy.clone();
    ctx.at_share(0.2).await?;
    let injected = ctx.now();
    cut(&database, Stream::Upstream, Duration::from_millis(200)).await?;
    let mut after_commit = Vec::new();
    for share in [0.3, 0.4] {
        ctx.at_share(share).await?;
        after_commit.push(round(ctx.now()));
        cut(&database, Stream::Downstream, Duration::from_millis(200)).await?;
    }
    let database_healed = ctx.now();
    ctx.at_share(0.5).await?;
    let redis_cut = ctx.now();
    cut(&redis, Stream::Downstream, Duration::from_millis(200)).await?;
    cut(&redis, Stream::Upstream, Duration::from_millis(200)).await?;
    let healed = ctx.now();
    ctx.observe("cut_after_commit_at_secs", json!(after_commit));
    Ok(Window { injected, healed, outages: vec![(injected, database_healed), (redis_cut, healed)] })
}

/// Resets every connection of `proxy` at its next data in `stream`, for `lasting`.
async fn cut(proxy: &Proxy, stream: Stream, lasting: Duration) -> anyhow::Result<()> {
    proxy.add("cut", stream, Toxic::ResetPeer { timeout_ms: 0 }).await?;
    tokio::time::sleep(lasting).await;
    proxy.remove("cut").await
}

/// R8: Redis killed and started again at once (empty), while the mix's one-second holds keep lapsing.
async fn redis_restarted(ctx: &mut Ctx<'_>) -> anyhow::Result<Window> {
    ctx.at_share(0.25).await?;
    let injected = ctx.now();
    tokio::task::block_in_place(|| {
        ctx.cluster.redis.stop();
        ctx.cluster.redis.start_again()
    })?;
    let healed = ctx.now();
    ctx.observe("redis_down_secs", json!(round(healed - injected)));
    Ok(Window { injected, healed, outages: vec![(injected, healed)] })
}

/// The `redis` field of replica `target`'s `/readyz` equals `state`.
async fn redis_state_is(target: &Target, state: &str) -> bool {
    let mut conn = Conn::new(target);
    match conn.send(&crate::conn::Call::get("/readyz")).await {
        Ok(reply) => reply.json()["data"]["redis"] == state,
        Err(_) => false,
    }
}

pub fn round(secs: f64) -> f64 {
    (secs * 1000.0).round() / 1000.0
}
