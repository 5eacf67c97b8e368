//! The hold sweeper: gives the seats of lapsed holds back, run by one replica at a time under a fenced lease.
//!
//! Every tick the sweeper takes or renews the `hold-sweeper` lease; while it holds it, it expires `HELD`
//! reservations whose `expires_at` has passed, in one transaction per tick that first checks its fencing token.
//! Expiring is conditional on the `HELD` status, so seats come back exactly once even if two sweepers overlapped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Row as _;
use tokio::sync::watch;

use crate::cache::Cache;
use crate::domain::{now_millis, Millis};
use crate::engine::Engine;
use crate::lease::{self, Lease};
use crate::store::Db;

/// How many lapsed holds one tick expires at most.
const BATCH: i64 = 500;

/// What one sweep did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sweep {
    /// Holds expired, by event: (event id, seats given back).
    Expired(Vec<(i64, i64)>),
    /// Our fencing token was overtaken: another sweeper took over, nothing was written.
    Fenced,
}

/// Expires lapsed holds at `now` with fencing token `fence` of `lease_name`.
pub async fn sweep_once(db: &Db, lease_name: &str, fence: i64, now: Millis) -> Result<Sweep, sqlx::Error> {
    let mut tx = db.writer.begin().await?;
    if !lease::check_fence(&mut tx, db, lease_name, fence).await? {
        tx.rollback().await?;
        return Ok(Sweep::Fenced);
    }
    let lapsed = sqlx::query(
        "SELECT id, event_id, quantity FROM reservations WHERE status = 'HELD' AND expires_at <= ? ORDER BY event_id, id LIMIT ?",
    )
    .bind(now)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let mut by_event: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for row in &lapsed {
        by_event.entry(row.try_get("event_id")?).or_default().push((row.try_get("id")?, row.try_get("quantity")?));
    }
    let mut given_back = Vec::new();
    for (event_id, holds) in by_event {
        sqlx::query(&format!("SELECT id FROM events WHERE id = ?{}", db.dialect.for_update()))
            .bind(event_id)
            .fetch_one(&mut *tx)
            .await?;
        let mut seats = 0;
        for (id, quantity) in holds {
            let done = sqlx::query(
                "UPDATE reservations SET status = 'EXPIRED', updated_at = ? WHERE id = ? AND status = 'HELD'",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                seats += quantity;
            }
        }
        if seats > 0 {
            sqlx::query("UPDATE events SET available_seats = available_seats + ?, updated_at = ? WHERE id = ?")
                .bind(seats)
                .bind(now)
                .bind(event_id)
                .execute(&mut *tx)
                .await?;
            given_back.push((event_id, seats));
        }
    }
    tx.commit().await?;
    Ok(Sweep::Expired(given_back))
}

/// Runs the sweeper every `interval` until `stop` turns true, then releases the lease.
pub async fn run(
    db: Db,
    lease: Lease,
    engine: Arc<Engine>,
    cache: Arc<Cache>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut fence: Option<i64> = None;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        let held_before = fence.is_some();
        fence = match fence {
            Some(current) => match lease.renew().await {
                Ok(true) => Some(current),
                Ok(false) | Err(_) => {
                    tracing::info!(lease = lease.name(), "lease lost; another replica sweeps holds now");
                    None
                }
            },
            None => match lease.acquire().await {
                Ok(true) => match lease::next_fence(&db, lease.name()).await {
                    Ok(next) => {
                        tracing::info!(lease = lease.name(), fence = next, "took the lease");
                        Some(next)
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "cannot take a fencing token");
                        let _ = lease.release().await;
                        None
                    }
                },
                Ok(false) | Err(_) => None,
            },
        };
        if fence.is_some() != held_before {
            set_lease_held(lease.name(), fence.is_some());
        }
        let Some(current) = fence else { continue };
        match sweep_once(&db, lease.name(), current, now_millis()).await {
            Ok(Sweep::Expired(events)) => {
                for (event_id, seats) in events {
                    metrics::counter!("ticketing_holds_expired_seats_total")
                        .increment(u64::try_from(seats).unwrap_or(0));
                    engine.forget_hint(event_id);
                    cache.invalidate_event(event_id).await;
                }
            }
            Ok(Sweep::Fenced) => {
                tracing::warn!(lease = lease.name(), fence = current, "fenced off: a newer lease holder exists");
                metrics::counter!("ticketing_lease_fenced_total", "lease" => lease.name().to_owned()).increment(1);
                set_lease_held(lease.name(), false);
                fence = None;
            }
            Err(error) => tracing::warn!(error = %error, "hold sweep failed; retrying next tick"),
        }
    }
    if fence.is_some() {
        let _ = lease.release().await;
        set_lease_held(lease.name(), false);
    }
}

/// Publishes whether this process holds lease `name` (`ticketing_lease_held`, 1 or 0), so operators and the fault
/// campaign can see who sweeps.
fn set_lease_held(name: &str, held: bool) {
    metrics::gauge!("ticketing_lease_held", "lease" => name.to_owned()).set(if held { 1.0 } else { 0.0 });
}
