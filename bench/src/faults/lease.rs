//! R5: the hold sweeper's lease holder paused (SIGSTOP) past its lease, and the check, from the database, that the
//! fence kept it from writing once another replica had taken over.
//!
//! The check is exact: while the holder is paused the campaign polls `lease_fences` until a newer fencing token is
//! committed, and in that same snapshot counts the holds expired under the paused holder's token (each expired hold
//! records the token that expired it, `reservations.expired_fence`). Any hold expired under that token later, after
//! the holder woke up, is a write the fence let through. A sweep that committed before the newer token existed is
//! legitimate however late its holder counted it in its metrics; counting those metrics instead is what made the
//! earlier version of this check fail about one run in twelve (issue 12 item 9): the scrape before the pause and the
//! pause itself are not atomic, and a sweep that commits between them, or whose counter is bumped only after the
//! pause, looked like a write after the takeover.

use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::json;

use super::cluster::{Cluster, SWEEP_INTERVAL_MS};
use super::inject::{round, Ctx, Window, CONDITION_LIMIT, POLL};

/// The hold sweeper's lease as named in the service's metrics and in `lease_fences`.
const LEASE: &str = "hold-sweeper";
const SWEEPER_LEASE: &str = r#"ticketing_lease_held{lease="hold-sweeper"}"#;
/// Seats the sweeper gave back, per replica.
const EXPIRED_SEATS: &str = "ticketing_holds_expired_seats_total";

/// Pauses the lease holder past its lease, waits for the takeover and checks that the paused holder wrote nothing
/// after it.
pub async fn holder_paused(ctx: &mut Ctx<'_>) -> anyhow::Result<Window> {
    let replicas = ctx.cluster.replica_count();
    let holder = find_lease_holder(ctx).await?;
    let other = (holder + 1) % replicas;
    ctx.at_share(0.25).await?;
    let injected = ctx.now();
    ctx.cluster.signal_replica(holder, "STOP")?;
    let paused_fence = fence(&ctx.pool).await?;
    // The takeover as the database sees it: a newer token committed, and what the old one had expired by then.
    let started = std::time::Instant::now();
    let takeover = loop {
        let snapshot = fence_snapshot(&ctx.pool, paused_fence).await;
        match snapshot {
            Ok((newest, expired)) if newest > paused_fence => break Ok(Some(expired)),
            Ok(_) if started.elapsed() > CONDITION_LIMIT => break Ok(None),
            Ok(_) => tokio::time::sleep(POLL).await,
            Err(error) => break Err(error),
        }
    };
    let taken_over = started.elapsed().as_secs_f64();
    ctx.until_pause_ends(injected).await;
    ctx.cluster.signal_replica(holder, "CONT")?;
    let healed = ctx.now();
    let Some(expired_before_takeover) = takeover? else {
        bail!("no other replica took a newer fencing token within {CONDITION_LIMIT:?} of the pause");
    };
    let stepped_down = ctx
        .wait_for("the paused replica giving the lease up", || {
            let cluster = &*ctx.cluster;
            async move { gauge(cluster, holder, SWEEPER_LEASE).await == Some(0.0) }
        })
        .await?;
    let other_holds = gauge(ctx.cluster, other, SWEEPER_LEASE).await == Some(1.0);
    ctx.observe("lease_ttl_ms", json!(SWEEP_INTERVAL_MS * 5));
    ctx.observe("paused_secs", json!(round(healed - injected)));
    ctx.observe("paused_fence", json!(paused_fence));
    ctx.observe("newer_fence_committed_after_pause_secs", json!(round(taken_over)));
    ctx.observe("other_replica_holds_lease_after_resume", json!(other_holds));
    ctx.observe("paused_holder_gave_up_after_resume_secs", json!(round(stepped_down)));
    ctx.observe("holds_expired_by_paused_holder_before_takeover", json!(expired_before_takeover));
    ctx.observe("seats_counted_by_paused_holder", json!(gauge(ctx.cluster, holder, EXPIRED_SEATS).await));
    ctx.fence_check = Some(FenceCheck { paused_fence, expired_before_takeover });
    Ok(Window { injected, healed, outages: Vec::new() })
}

/// What R5 saw at the takeover, checked again once the case is over.
#[derive(Debug, Clone, Copy)]
pub struct FenceCheck {
    /// The paused holder's token.
    pub paused_fence: i64,
    /// Holds expired under that token (or an older one) when a newer token was committed.
    pub expired_before_takeover: i64,
}

impl FenceCheck {
    /// Holds expired under the paused holder's token after the takeover: writes the fence let through.
    pub async fn late_writes(&self, pool: &sqlx::AnyPool) -> anyhow::Result<i64> {
        let (_, expired) = fence_snapshot(pool, self.paused_fence).await?;
        Ok(expired - self.expired_before_takeover)
    }
}

impl Ctx<'_> {
    async fn until_pause_ends(&self, injected: f64) {
        let end = self.clock + Duration::from_secs_f64(injected) + self.plan.pause;
        tokio::time::sleep_until(end.into()).await;
    }
}

/// The newest fencing token of the sweeper's lease.
async fn fence(pool: &sqlx::AnyPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT fence FROM lease_fences WHERE name = ?").bind(LEASE).fetch_one(pool).await?)
}

/// In one snapshot: the newest token, and how many holds token `fence` (or an older one) expired.
async fn fence_snapshot(pool: &sqlx::AnyPool, fence: i64) -> anyhow::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT f.fence, (SELECT COUNT(*) FROM reservations WHERE status = 'EXPIRED' AND expired_fence <= ?) \
         FROM lease_fences f WHERE f.name = ?",
    )
    .bind(fence)
    .bind(LEASE)
    .fetch_one(pool)
    .await
    .context("counting the holds each fencing token expired (reservations.expired_fence, migration 0003)")
}

/// The replica that holds the sweeper lease, once one does.
async fn find_lease_holder(ctx: &Ctx<'_>) -> anyhow::Result<usize> {
    let start = std::time::Instant::now();
    loop {
        for replica in 0..ctx.cluster.replica_count() {
            if gauge(ctx.cluster, replica, SWEEPER_LEASE).await == Some(1.0) {
                return Ok(replica);
            }
        }
        if start.elapsed() > CONDITION_LIMIT {
            bail!("no replica took the sweeper lease within {CONDITION_LIMIT:?}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The sample `name` of replica `replica`'s metrics (0 when the replica has not written it yet); `None` when the
/// metrics cannot be read.
pub async fn gauge(cluster: &Cluster, replica: usize, name: &str) -> Option<f64> {
    let text = cluster.metrics(replica).await.ok()?;
    Some(crate::api::sample(&text, name).unwrap_or(0.0))
}
