//! One batch of an event's pending requests, applied in one database transaction.
//!
//! ```text
//!   BEGIN
//!   SELECT event ... FOR UPDATE                 the row lock serialises this event across replicas
//!   UPDATE reservations ... status = ...        one per cancel or confirm, conditional on the current status:
//!                                               a cancel gives seats back once, a confirm ends a live hold
//!   SELECT ... WHERE (user_id, key) IN (...)    earlier results of the batch's idempotency keys
//!   SELECT user_id, SUM(quantity) ...           seats the batch's buyers already hold (per-user limit)
//!   decide (pure)
//!   UPDATE events SET available_seats = available_seats - n WHERE ... AND available_seats - n >= 0
//!   INSERT INTO reservations VALUES (...), (...), ...
//!   COMMIT                                      only then is any answer sent
//! ```
//!
//! The conditional update and the table's CHECK constraint make the database itself refuse an oversell, whatever
//! any cache, hint or lease believes (invariant I1).

use std::collections::HashMap;

use sqlx::{Any, Row as _, Transaction};

use super::decide::{decide, Decision, Inventory, Prior};
use crate::domain::{now_millis, Millis, Reservation, ReservationRequest, ReservationStatus};
use crate::error::ApiError;
use crate::store::{reservations, Db};

/// A change of state for a reservation already read (and checked for ownership) by the caller.
#[derive(Debug, Clone)]
pub struct Change {
    pub reservation: Reservation,
    pub kind: ChangeKind,
}

/// What a [`Change`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Gives the seats back (from `HELD` or `CONFIRMED`).
    Cancel,
    /// Turns a live hold into a confirmed reservation.
    Confirm,
}

/// The answer to a reservation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booked {
    pub reservation: Reservation,
    /// True when this answers a repeated `Idempotency-Key` and nothing new was booked.
    pub replayed: bool,
}

/// What a committed (or refused) batch answers, in the order of its requests.
pub struct BatchResult {
    pub reserves: Vec<Result<Booked, ApiError>>,
    pub changes: Vec<Result<Reservation, ApiError>>,
    /// The seats left after the batch, as read under the lock; `None` if the event does not exist.
    pub available_after: Option<i64>,
}

/// Runs one batch. `ids` holds at least one fresh id per reservation request.
pub async fn run(
    db: &Db,
    event_id: i64,
    reserves: &[&ReservationRequest],
    changes: &[Change],
    ids: &[i64],
) -> Result<BatchResult, sqlx::Error> {
    let now = now_millis();
    let mut tx = db.writer.begin().await?;
    let Some(inventory) = lock_event(&mut tx, db, event_id).await? else {
        tx.rollback().await?;
        return Ok(BatchResult {
            reserves: reserves.iter().map(|_| Err(ApiError::EventNotFound(event_id))).collect(),
            changes: changes.iter().map(|_| Err(ApiError::EventNotFound(event_id))).collect(),
            available_after: None,
        });
    };
    let mut inventory = inventory;

    let mut change_results = Vec::with_capacity(changes.len());
    let mut restored = 0;
    for change in changes {
        let result = apply_change(&mut tx, event_id, change, now).await?;
        if change.kind == ChangeKind::Cancel && result.is_ok() {
            restored += change.reservation.quantity;
        }
        change_results.push(result);
    }
    inventory.available += restored;

    let prior = read_prior(&mut tx, event_id, reserves, inventory.available > 0).await?;
    let (decisions, taken) = decide(&inventory, &prior, reserves, now);
    let delta = taken - restored;
    if delta != 0 {
        let done = sqlx::query(
            "UPDATE events SET available_seats = available_seats - ?, updated_at = ? \
             WHERE id = ? AND available_seats - ? >= 0 AND available_seats - ? <= total_seats",
        )
        .bind(delta)
        .bind(now)
        .bind(event_id)
        .bind(delta)
        .bind(delta)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            // The row lock makes this impossible; if it ever happens the database refused an oversell.
            tracing::error!(event_id, delta, "seat counter guard refused a batch; rolling back");
            tx.rollback().await?;
            return Err(sqlx::Error::Protocol("seat counter guard refused the batch".into()));
        }
    }

    let mut booked = Vec::new();
    let mut ids = ids.iter().copied();
    let mut results: Vec<Result<Booked, ApiError>> = Vec::with_capacity(reserves.len());
    for (request, decision) in reserves.iter().zip(&decisions) {
        results.push(match decision {
            Decision::Book => {
                let held = inventory.hold_seconds > 0;
                let reservation = Reservation {
                    id: ids.next().ok_or_else(|| sqlx::Error::Protocol("not enough reservation ids".into()))?,
                    event_id,
                    user_id: request.user_id.clone(),
                    quantity: request.quantity,
                    status: if held { ReservationStatus::Held } else { ReservationStatus::Confirmed },
                    idempotency_key: request.idempotency_key.clone(),
                    created_at: now,
                    expires_at: held.then(|| now + inventory.hold_seconds * 1000),
                };
                booked.push(reservation.clone());
                Ok(Booked { reservation, replayed: false })
            }
            Decision::Replay(existing) => Ok(Booked { reservation: existing.clone(), replayed: true }),
            // `decide` points only back, at a request of this batch that booked.
            Decision::SameAs(first) => match &results[*first] {
                Ok(booked) => Ok(Booked { reservation: booked.reservation.clone(), replayed: true }),
                Err(_) => Err(ApiError::Internal),
            },
            Decision::Refuse(refusal) => Err(refusal.clone().into()),
        });
    }
    insert_reservations(&mut tx, &booked, now).await?;
    if delta == 0 && booked.is_empty() && changes.is_empty() {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(BatchResult {
        reserves: results,
        changes: change_results,
        available_after: Some(inventory.available - taken),
    })
}

async fn lock_event(tx: &mut Transaction<'_, Any>, db: &Db, event_id: i64) -> Result<Option<Inventory>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT available_seats, per_user_limit, max_per_order, sales_open_at, sales_close_at, closed_at, \
         hold_seconds FROM events WHERE id = ?{}",
        db.dialect.for_update()
    ))
    .bind(event_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| {
        Ok(Inventory {
            available: row.try_get("available_seats")?,
            per_user_limit: row.try_get("per_user_limit")?,
            max_per_order: row.try_get("max_per_order")?,
            sales_open_at: row.try_get("sales_open_at")?,
            sales_close_at: row.try_get("sales_close_at")?,
            closed_at: row.try_get("closed_at")?,
            hold_seconds: row.try_get("hold_seconds")?,
        })
    })
    .transpose()
}

/// Reads earlier results of the batch's idempotency keys and, when seats remain, what its buyers already hold.
async fn read_prior(
    tx: &mut Transaction<'_, Any>,
    event_id: i64,
    reserves: &[&ReservationRequest],
    seats_left: bool,
) -> Result<Prior, sqlx::Error> {
    let mut prior = Prior::default();
    let keyed: Vec<(&str, &str)> = reserves
        .iter()
        .filter_map(|r| r.idempotency_key.as_deref().map(|k| (r.user_id.as_str(), k)))
        .collect();
    if !keyed.is_empty() {
        let tuples = vec!["(?, ?)"; keyed.len()].join(", ");
        let sql = format!(
            "SELECT {} FROM reservations WHERE (user_id, idempotency_key) IN ({tuples})",
            reservations::COLUMNS
        );
        let mut query = sqlx::query(&sql);
        for (user, key) in &keyed {
            query = query.bind(*user).bind(*key);
        }
        for row in query.fetch_all(&mut **tx).await? {
            let reservation = reservations::from_row(&row)?;
            let key = reservation.idempotency_key.clone().unwrap_or_default();
            prior.by_idempotency_key.insert((reservation.user_id.clone(), key), reservation);
        }
    }
    if seats_left && !reserves.is_empty() {
        let mut users: Vec<&str> = reserves.iter().map(|r| r.user_id.as_str()).collect();
        users.sort_unstable();
        users.dedup();
        let marks = vec!["?"; users.len()].join(", ");
        let sql = format!(
            "SELECT user_id, CAST(SUM(quantity) AS SIGNED) AS held FROM reservations \
             WHERE event_id = ? AND status IN ('CONFIRMED', 'HELD') AND user_id IN ({marks}) GROUP BY user_id"
        );
        let mut query = sqlx::query(&sql).bind(event_id);
        for user in &users {
            query = query.bind(*user);
        }
        let held: HashMap<String, i64> = query
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| Ok((row.try_get::<String, _>("user_id")?, row.try_get::<i64, _>("held")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        prior.held_by_user = held;
    }
    Ok(prior)
}

/// Inserts the batch's new reservations with multi-row statements.
async fn insert_reservations(
    tx: &mut Transaction<'_, Any>,
    booked: &[Reservation],
    now: Millis,
) -> Result<(), sqlx::Error> {
    for chunk in booked.chunks(500) {
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO reservations (id, event_id, user_id, quantity, status, idempotency_key, created_at, \
             updated_at, expires_at) VALUES {rows}"
        );
        let mut query = sqlx::query(&sql);
        for reservation in chunk {
            query = query
                .bind(reservation.id)
                .bind(reservation.event_id)
                .bind(reservation.user_id.as_str())
                .bind(reservation.quantity)
                .bind(reservation.status.as_db())
                .bind(reservation.idempotency_key.as_deref())
                .bind(now)
                .bind(now)
                .bind(reservation.expires_at);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Applies one cancel or confirm, conditional on the reservation's current status, so a repeat changes nothing.
async fn apply_change(
    tx: &mut Transaction<'_, Any>,
    event_id: i64,
    change: &Change,
    now: Millis,
) -> Result<Result<Reservation, ApiError>, sqlx::Error> {
    let id = change.reservation.id;
    let (done, new_status) = match change.kind {
        ChangeKind::Cancel => (
            sqlx::query(
                "UPDATE reservations SET status = 'CANCELLED', expires_at = NULL, updated_at = ? \
                 WHERE id = ? AND event_id = ? AND status IN ('CONFIRMED', 'HELD')",
            )
            .bind(now)
            .bind(id)
            .bind(event_id)
            .execute(&mut **tx)
            .await?,
            ReservationStatus::Cancelled,
        ),
        ChangeKind::Confirm => (
            sqlx::query(
                "UPDATE reservations SET status = 'CONFIRMED', expires_at = NULL, updated_at = ? \
                 WHERE id = ? AND event_id = ? AND status = 'HELD' AND expires_at > ?",
            )
            .bind(now)
            .bind(id)
            .bind(event_id)
            .bind(now)
            .execute(&mut **tx)
            .await?,
            ReservationStatus::Confirmed,
        ),
    };
    if done.rows_affected() == 1 {
        return Ok(Ok(Reservation { status: new_status, expires_at: None, ..change.reservation.clone() }));
    }
    let current: Option<String> = sqlx::query_scalar("SELECT status FROM reservations WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let current = current.as_deref().and_then(ReservationStatus::from_db);
    Ok(match (change.kind, current) {
        (ChangeKind::Confirm, Some(ReservationStatus::Confirmed)) => {
            Ok(Reservation { status: ReservationStatus::Confirmed, expires_at: None, ..change.reservation.clone() })
        }
        (_, Some(ReservationStatus::Cancelled)) => Err(ApiError::AlreadyCancelled(id)),
        (_, Some(ReservationStatus::Expired | ReservationStatus::Held)) => Err(ApiError::HoldExpired(id)),
        _ => Err(ApiError::ReservationNotFound(id)),
    })
}
