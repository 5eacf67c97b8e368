//! The reservation invariants checked from the database after every run (never from the API, which could hide a
//! lost write): seat conservation, exact sell-out, no reservation without seats, every acknowledged reservation
//! stored, every cancel stored, and no duplicates.
//!
//! The checker reads the service's own tables (`events`, `reservations`, see `service/migrations/`) through
//! `sqlx::AnyPool`, so the same code checks MariaDB and the embedded SQLite file.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Context;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::outcome::Ack;

/// The status of a bought reservation.
const CONFIRMED: &str = "CONFIRMED";
/// The status of a hold that has not lapsed or been confirmed yet.
const HELD: &str = "HELD";
/// The status of a cancelled reservation.
const CANCELLED: &str = "CANCELLED";
/// The status of a hold whose seats the sweeper gave back.
const EXPIRED: &str = "EXPIRED";

/// Whether a reservation in `status` takes seats (see the state machine in `ticketing_service::domain`).
fn takes_seats(status: &str) -> bool {
    status == CONFIRMED || status == HELD
}
/// How many examples of one broken invariant a report lists.
const EXAMPLES: usize = 5;

/// What a run expects of one event it created.
#[derive(Debug, Clone)]
pub struct EventExpectation {
    pub id: i64,
    pub capacity: i64,
    /// The run sold it out: every seat must be taken by an active reservation.
    pub sold_out: bool,
    /// Each buyer of this event placed one order, so no user may hold two reservations of it.
    pub one_order_per_user: bool,
}

/// Everything a run knows that the database must agree with.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    pub events: Vec<EventExpectation>,
    /// Reservations acknowledged with 201.
    pub acknowledged: Vec<Ack>,
    /// Reservation ids whose cancel was acknowledged with 200.
    pub cancelled: Vec<String>,
}

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

/// The verdict of one check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdict {
    /// Up to a few examples of each broken invariant.
    pub violations: Vec<Violation>,
    /// How many times each invariant broke in all (examples beyond the first few are only counted).
    pub counts: BTreeMap<&'static str, u64>,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// The names of the broken invariants.
    pub fn broken(&self) -> BTreeSet<&'static str> {
        self.violations.iter().map(|violation| violation.invariant).collect()
    }

    /// How many times `invariant` broke.
    pub fn count(&self, invariant: &str) -> u64 {
        self.counts.get(invariant).copied().unwrap_or(0)
    }

    /// Records one breach of `invariant`.
    pub fn add(&mut self, invariant: &'static str, detail: String) {
        *self.counts.entry(invariant).or_default() += 1;
        if self.violations.iter().filter(|violation| violation.invariant == invariant).count() < EXAMPLES {
            self.violations.push(Violation { invariant, detail });
        }
    }
}

/// A reservation row as stored.
#[derive(Debug, Clone)]
struct Stored {
    id: String,
    event: i64,
    user: String,
    quantity: i64,
    status: String,
    key: Option<String>,
}

/// Opens a pool on `database_url` (`mysql://...` or `sqlite://...`).
pub async fn connect(database_url: &str) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(database_url)
        .await
        .context("connecting to the database for the invariant check")
}

/// Checks every invariant against the database behind `pool`.
pub async fn check(pool: &AnyPool, expect: &Expectations) -> anyhow::Result<Verdict> {
    let mut verdict = Verdict::default();
    let mut stored_by_id: HashMap<String, Stored> = HashMap::new();
    for event in &expect.events {
        let rows = load_reservations(pool, event.id).await?;
        check_event(pool, event, &rows, &mut verdict).await?;
        for row in rows {
            stored_by_id.insert(row.id.clone(), row);
        }
    }
    let orphans: i64 =
        sqlx::query("SELECT COUNT(*) FROM reservations r LEFT JOIN events e ON e.id = r.event_id WHERE e.id IS NULL")
            .fetch_one(pool)
            .await
            .map(|row| integer(&row, 0))??;
    if orphans > 0 {
        verdict.add("no_reservation_without_seats", format!("{orphans} reservations reference no event"));
    }
    check_acknowledged(expect, &stored_by_id, &mut verdict);
    Ok(verdict)
}

async fn load_reservations(pool: &AnyPool, event: i64) -> anyhow::Result<Vec<Stored>> {
    let rows = sqlx::query(
        "SELECT id, event_id, user_id, quantity, status, idempotency_key FROM reservations WHERE event_id = ?",
    )
    .bind(event)
    .fetch_all(pool)
    .await
    .with_context(|| format!("reading the reservations of event {event}"))?;
    rows.iter()
        .map(|row| {
            Ok(Stored {
                id: integer(row, 0)?.to_string(),
                event: integer(row, 1)?,
                user: row.try_get(2)?,
                quantity: integer(row, 3)?,
                status: row.try_get(4)?,
                key: row.try_get(5)?,
            })
        })
        .collect()
}

/// Reads an integer column whatever width the driver reports.
fn integer(row: &AnyRow, index: usize) -> anyhow::Result<i64> {
    if let Ok(value) = row.try_get::<i64, _>(index) {
        return Ok(value);
    }
    Ok(i64::from(row.try_get::<i32, _>(index).with_context(|| format!("column {index} is not an integer"))?))
}

async fn check_event(
    pool: &AnyPool,
    event: &EventExpectation,
    rows: &[Stored],
    verdict: &mut Verdict,
) -> anyhow::Result<()> {
    let id = event.id;
    let Some(row) = sqlx::query("SELECT total_seats, available_seats FROM events WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await
        .with_context(|| format!("reading event {id}"))?
    else {
        verdict.add("conservation", format!("event {id} is missing"));
        return Ok(());
    };
    let (total, available) = (integer(&row, 0)?, integer(&row, 1)?);
    let held: i64 = rows.iter().filter(|r| takes_seats(&r.status)).map(|r| r.quantity).sum();
    if total != event.capacity {
        verdict.add("conservation", format!("event {id}: total_seats {total}, created with {}", event.capacity));
    }
    if available + held != total {
        verdict.add(
            "conservation",
            format!("event {id}: available {available} + held {held} = {} != capacity {total}", available + held),
        );
    }
    if event.sold_out && (available != 0 || held != event.capacity) {
        verdict.add(
            "sold_equals_capacity",
            format!("event {id}: sold-out run left available {available}, held {held} of {}", event.capacity),
        );
    }
    if !(0..=total).contains(&available) {
        verdict.add("no_reservation_without_seats", format!("event {id}: available {available} outside 0..={total}"));
    }
    for row in rows.iter().filter(|r| r.quantity < 1) {
        verdict.add("no_reservation_without_seats", format!("reservation {} holds {} seats", row.id, row.quantity));
    }
    for row in rows.iter().filter(|r| ![CONFIRMED, HELD, CANCELLED, EXPIRED].contains(&r.status.as_str())) {
        verdict.add("no_reservation_without_seats", format!("reservation {} has status {:?}", row.id, row.status));
    }
    let mut keys: HashMap<(&str, &str), &str> = HashMap::new();
    for row in rows {
        if let Some(key) = &row.key {
            if let Some(first) = keys.insert((&row.user, key), &row.id) {
                verdict.add("no_duplicates", format!("reservations {first} and {} share user and key", row.id));
            }
        }
    }
    if event.one_order_per_user {
        let mut per_user: BTreeMap<&str, u32> = BTreeMap::new();
        for row in rows {
            *per_user.entry(&row.user).or_default() += 1;
        }
        for (user, count) in per_user.into_iter().filter(|(_, count)| *count > 1) {
            verdict.add("no_duplicates", format!("event {id}: user {user} placed one order but holds {count}"));
        }
    }
    Ok(())
}

fn check_acknowledged(expect: &Expectations, stored: &HashMap<String, Stored>, verdict: &mut Verdict) {
    let cancelled: BTreeSet<&str> = expect.cancelled.iter().map(String::as_str).collect();
    let mut by_id: HashMap<&str, (&str, &str)> = HashMap::new();
    let mut by_order: HashMap<(&str, &str), &str> = HashMap::new();
    for ack in &expect.acknowledged {
        let order = (ack.user.as_str(), ack.key.as_str());
        if let Some(other) = by_id.insert(&ack.id, order).filter(|other| *other != order) {
            verdict.add("no_duplicates", format!("id {} acknowledged to two orders {other:?} and {order:?}", ack.id));
        }
        if let Some(first) = by_order.insert(order, &ack.id).filter(|first| *first != ack.id) {
            verdict.add("no_duplicates", format!("order {order:?} acknowledged twice, as {first} and {}", ack.id));
        }
        match stored.get(&ack.id) {
            None => verdict.add("acknowledged_exist", format!("acknowledged reservation {} is not stored", ack.id)),
            Some(row) if row.event != ack.event || row.user != ack.user || row.quantity != ack.quantity => verdict.add(
                "acknowledged_exist",
                format!(
                    "reservation {} stored as event {} user {} x{}, acknowledged as event {} user {} x{}",
                    ack.id, row.event, row.user, row.quantity, ack.event, ack.user, ack.quantity
                ),
            ),
            // A hold may lapse on its own; anything else that lost its seats must have been cancelled by the run.
            Some(row)
                if (row.status == CANCELLED && !cancelled.contains(ack.id.as_str()))
                    || (row.status == EXPIRED && !ack.held) =>
            {
                verdict.add(
                    "acknowledged_exist",
                    format!("acknowledged reservation {} is {} though nobody cancelled it", ack.id, row.status),
                )
            }
            Some(_) => {}
        }
    }
    for id in &expect.cancelled {
        match stored.get(id) {
            Some(row) if row.status == CANCELLED => {}
            Some(row) => verdict.add("cancels_stored", format!("cancelled reservation {id} is {}", row.status)),
            None => verdict.add("cancels_stored", format!("cancelled reservation {id} is not stored")),
        }
    }
}
