//! Watching holds from the database while a case runs: which lapsed holds stayed `HELD` too long (stranded), and
//! by when the sweeper had given lapsed seats back.
//!
//! A hold is stranded when, at some moment, it is still `HELD` more than the sweep interval plus one second after its
//! `expiresAt` (invariant I6). While a dependency the sweeper needs is down (Redis for its lease, MariaDB for
//! everything) nothing can be swept, so a hold that lapsed before or during such an outage is given until the
//! outage ended plus the same margin.
//!
//! The monitor polls every [`POLL`]: the overdue `HELD` holds (with the wall-clock time the query was sent, which is
//! before the snapshot it read), and the seats expired so far per event (with the time the answer arrived, which is
//! after those expiries committed). The latter are the seats the sweeper gave back, for the check of sold-out
//! answers ([`super::checks`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::{AnyPool, Row};

use super::journal::Increase;

/// How often the monitor reads the database.
const POLL: Duration = Duration::from_millis(100);
/// How long the final wait for the last holds to lapse may take beyond their margin.
const FINAL_GRACE: Duration = Duration::from_secs(2);

/// Milliseconds since the epoch, as the service writes `expires_at`.
pub fn wall_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|since| since.as_millis() as i64).unwrap_or(0)
}

/// What the monitor saw.
#[derive(Debug, Default)]
struct Seen {
    /// Overdue `HELD` holds: id -> (expires_at, the latest wall-clock ms at which it was seen still `HELD`).
    overdue: BTreeMap<i64, (i64, i64)>,
    /// Seats expired so far per event, and the answer time of the poll that first saw each increase.
    expired: BTreeMap<i64, i64>,
    increases: Vec<Increase>,
}

/// The background monitor of one case.
pub struct HoldMonitor {
    pool: AnyPool,
    events: Vec<i64>,
    margin_ms: i64,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

/// The verdict on a case's holds.
#[derive(Debug, Clone, Default)]
pub struct HoldVerdict {
    /// Holds seen `HELD` past their deadline.
    pub stranded: u64,
    /// The longest any hold was seen `HELD` after its `expiresAt`, in seconds.
    pub worst_overdue_secs: f64,
    /// Seats the sweeper gave back, as increases with the time they were known committed.
    pub increases: Vec<Increase>,
    /// Some holds were still not swept when the final wait ended.
    pub unswept_at_end: u64,
}

impl HoldMonitor {
    /// Starts watching the holds of `events`; `margin_ms` is the sweep interval plus one second.
    pub fn start(pool: AnyPool, events: Vec<i64>, margin_ms: i64) -> Self {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = {
            let (pool, events, seen, stop) = (pool.clone(), events.clone(), seen.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    poll(&pool, &events, margin_ms, &seen).await;
                    tokio::time::sleep(POLL).await;
                }
            })
        };
        Self { pool, events, margin_ms, seen, stop, task }
    }

    /// Waits until every hold has lapsed past its margin (or none is `HELD`), stops and judges: `outages` are the
    /// wall-clock windows (ms) in which the sweeper could not work.
    pub async fn finish(self, outages: &[(i64, i64)]) -> anyhow::Result<HoldVerdict> {
        let list = in_list(&self.events);
        let last: Option<i64> =
            sqlx::query_scalar(&format!("SELECT MAX(expires_at) FROM reservations WHERE event_id IN ({list})"))
                .fetch_one(&self.pool)
                .await?;
        let outage_end = outages.iter().map(|(_, end)| *end).max().unwrap_or(0);
        let deadline = last.unwrap_or(0).max(outage_end) + self.margin_ms + FINAL_GRACE.as_millis() as i64;
        loop {
            let held: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM reservations WHERE status = 'HELD' AND event_id IN ({list})"
            ))
            .fetch_one(&self.pool)
            .await?;
            if held == 0 || wall_ms() > deadline {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        poll(&self.pool, &self.events, self.margin_ms, &self.seen).await;
        let unswept_at_end: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM reservations WHERE status = 'HELD' AND expires_at < ? AND event_id IN ({list})"
        ))
        .bind(wall_ms() - self.margin_ms)
        .fetch_one(&self.pool)
        .await?;
        let seen = std::mem::take(&mut *self.seen.lock().unwrap_or_else(|e| e.into_inner()));
        Ok(judge(&seen, self.margin_ms, outages, unswept_at_end as u64))
    }
}

/// The holds seen past their deadline, given the outages.
fn judge(seen: &Seen, margin_ms: i64, outages: &[(i64, i64)], unswept_at_end: u64) -> HoldVerdict {
    let deadline = |expires_at: i64| {
        let excused = outages.iter().filter(|(start, end)| expires_at + margin_ms > *start && expires_at <= *end);
        excused.map(|(_, end)| *end).max().unwrap_or(expires_at) + margin_ms
    };
    let stranded: BTreeSet<i64> = seen
        .overdue
        .iter()
        .filter(|(_, (expires_at, last_seen))| *last_seen > deadline(*expires_at))
        .map(|(id, _)| *id)
        .collect();
    let worst = seen.overdue.values().map(|(expires_at, last_seen)| last_seen - expires_at).max().unwrap_or(0);
    HoldVerdict {
        stranded: stranded.len() as u64,
        worst_overdue_secs: worst as f64 / 1000.0,
        increases: seen.increases.clone(),
        unswept_at_end,
    }
}

/// One look at the database; a failed read (the database is down) is skipped.
async fn poll(pool: &AnyPool, events: &[i64], margin_ms: i64, seen: &Mutex<Seen>) {
    let list = in_list(events);
    let asked = wall_ms();
    let overdue = sqlx::query(&format!(
        "SELECT id, expires_at FROM reservations WHERE status = 'HELD' AND expires_at < ? AND event_id IN ({list})"
    ))
    .bind(asked - margin_ms)
    .fetch_all(pool)
    .await;
    let expired = sqlx::query(&format!(
        "SELECT event_id, CAST(SUM(quantity) AS SIGNED) FROM reservations WHERE status = 'EXPIRED' \
         AND event_id IN ({list}) GROUP BY event_id"
    ))
    .fetch_all(pool)
    .await;
    let answered = Instant::now();
    let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    for row in overdue.iter().flatten() {
        let (Ok(id), Ok(expires_at)) = (row.try_get::<i64, _>(0), row.try_get::<i64, _>(1)) else { continue };
        seen.overdue.insert(id, (expires_at, asked));
    }
    for row in expired.iter().flatten() {
        let (Ok(event), Ok(total)) = (row.try_get::<i64, _>(0), row.try_get::<i64, _>(1)) else { continue };
        let before = seen.expired.insert(event, total).unwrap_or(0);
        if total > before {
            seen.increases.push(Increase { event, seats: total - before, committed_by: Some(answered) });
        }
    }
}

/// `1, 2, 3` for an SQL `IN` list of ids.
pub fn in_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "NULL".to_owned();
    }
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(holds: &[(i64, i64, i64)]) -> Seen {
        let mut seen = Seen::default();
        for (id, expires_at, last_seen) in holds {
            seen.overdue.insert(*id, (*expires_at, *last_seen));
        }
        seen
    }

    #[test]
    fn a_hold_is_stranded_only_past_its_margin_or_past_the_outage_that_excused_it() {
        let margin = 1_100;
        // Hold 1 lapsed at 10 s and was seen held at 11.2 s: stranded. Hold 2 lapsed at 20 s, seen at 21.0 s: not.
        let verdict = judge(&seen(&[(1, 10_000, 11_200), (2, 20_000, 21_000)]), margin, &[], 0);
        assert_eq!(verdict.stranded, 1);
        assert_eq!(verdict.worst_overdue_secs, 1.2);
        // Redis was down from 9.5 s to 12 s: hold 1 is given until 13.1 s; hold 3, lapsed after the outage, is not.
        let outages = [(9_500, 12_000)];
        let verdict = judge(&seen(&[(1, 10_000, 13_000), (3, 12_500, 13_700)]), margin, &outages, 0);
        assert_eq!(verdict.stranded, 1);
        let verdict = judge(&seen(&[(1, 10_000, 13_000)]), margin, &outages, 0);
        assert_eq!(verdict.stranded, 0);
        // A hold whose margin ended before the outage began is not excused by it.
        let verdict = judge(&seen(&[(4, 5_000, 7_000)]), margin, &outages, 0);
        assert_eq!(verdict.stranded, 1);
    }
}
