//! The hold sweeper: gives the seats of lapsed holds back, run by one replica at a time under a fenced lease.
//!
//! Every tick the sweeper takes or renews the `hold-sweeper` lease; while it holds it, it makes one pass over the
//! events that have lapsed holds and expires them set-based, in chunks (`store::holds`), each chunk a short
//! transaction that first checks its fencing token. Expiring is conditional on the `HELD` status under the event's
//! row lock, so seats come back exactly once even if two sweepers overlapped, and a sweeper overtaken in the middle
//! of a pass writes nothing after its current chunk. A pass stops after one sweep interval so that the lease is
//! renewed; the next tick goes on where it stopped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::cache::Cache;
use crate::domain::{now_millis, Millis};
use crate::engine::Engine;
use crate::lease::{self, Lease};
use crate::store::holds::{self, Chunk, CHUNK};
use crate::store::{Db, Redacted};

/// What one pass did.
#[derive(Debug)]
pub struct Sweep {
    /// Seats given back, by event (in id order): (event id, seats).
    pub expired: Vec<(i64, i64)>,
    pub end: SweepEnd,
}

/// Why a pass ended.
#[derive(Debug)]
pub enum SweepEnd {
    /// Every hold lapsed by the pass's `now` is expired.
    Done,
    /// The pass used up its time between two chunks; the next pass goes on.
    OutOfTime,
    /// The fencing token was overtaken: another sweeper took over, and nothing more was written.
    Fenced,
    /// A database error stopped the pass. `unsure` is the event whose last chunk may have been applied without this
    /// pass knowing (its `COMMIT` went unanswered).
    Failed { error: sqlx::Error, unsure: Option<i64> },
}

/// Expires the holds lapsed by `now`, with fencing token `fence` of `lease_name`, starting no chunk after `budget`.
pub async fn sweep_once(db: &Db, lease_name: &str, fence: i64, now: Millis, budget: Duration) -> Sweep {
    let started = Instant::now();
    let mut expired = Vec::new();
    let events = match holds::lapsed_events(db, now).await {
        Ok(events) => events,
        Err(error) => return Sweep { expired, end: SweepEnd::Failed { error, unsure: None } },
    };
    for event_id in events {
        let (mut seats, mut after) = (0, None);
        let end = loop {
            if started.elapsed() >= budget {
                break Some(SweepEnd::OutOfTime);
            }
            match holds::expire_chunk(db, lease_name, fence, event_id, now, after).await {
                Ok(Chunk::Expired { holds, seats: given, last }) => {
                    seats += given;
                    if holds < CHUNK {
                        break None;
                    }
                    after = last;
                }
                Ok(Chunk::Fenced) => break Some(SweepEnd::Fenced),
                Ok(Chunk::CommitLost(error)) => break Some(SweepEnd::Failed { error, unsure: Some(event_id) }),
                Err(error) => break Some(SweepEnd::Failed { error, unsure: None }),
            }
        };
        if seats > 0 {
            expired.push((event_id, seats));
        }
        if let Some(end) = end {
            return Sweep { expired, end };
        }
    }
    Sweep { expired, end: SweepEnd::Done }
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
                        tracing::warn!(error = %Redacted(&error), "cannot take a fencing token");
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
        let sweep = sweep_once(&db, lease.name(), current, now_millis(), interval).await;
        for &(event_id, seats) in &sweep.expired {
            metrics::counter!("ticketing_holds_expired_seats_total").increment(u64::try_from(seats).unwrap_or(0));
            engine.forget_hint(event_id);
            cache.invalidate_event(event_id).await;
        }
        match sweep.end {
            SweepEnd::Done | SweepEnd::OutOfTime => {}
            SweepEnd::Fenced => {
                tracing::warn!(lease = lease.name(), fence = current, "fenced off: a newer lease holder exists");
                metrics::counter!("ticketing_lease_fenced_total", "lease" => lease.name().to_owned()).increment(1);
                set_lease_held(lease.name(), false);
                fence = None;
            }
            SweepEnd::Failed { error, unsure } => {
                if let Some(event_id) = unsure {
                    // The chunk may have given seats back: what is cached of the event may be wrong either way.
                    metrics::counter!("ticketing_commit_outcome_unknown_total").increment(1);
                    engine.forget_hint(event_id);
                    cache.invalidate_event(event_id).await;
                }
                tracing::warn!(error = %Redacted(&error), "hold sweep failed; retrying next tick");
            }
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
