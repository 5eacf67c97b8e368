//! Reading reservations. Every change to a reservation goes through the event's writer (`engine`) or, for expired
//! holds, the sweeper (`sweeper`).

use sqlx::any::AnyRow;
use sqlx::Row as _;

use super::Db;
use crate::domain::{Reservation, ReservationStatus};

/// The columns [`from_row`] reads.
pub const COLUMNS: &str = "id, event_id, user_id, quantity, status, idempotency_key, created_at, expires_at";

/// Reads a reservation row.
pub fn from_row(row: &AnyRow) -> Result<Reservation, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(Reservation {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        user_id: row.try_get("user_id")?,
        quantity: row.try_get("quantity")?,
        status: ReservationStatus::from_db(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown reservation status {status:?}").into()))?,
        idempotency_key: row.try_get("idempotency_key")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

/// One reservation, or `None`.
pub async fn get(db: &Db, id: i64) -> Result<Option<Reservation>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM reservations WHERE id = ?"))
        .bind(id)
        .fetch_optional(&db.reader)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A buyer's reservations, newest first (at most 1,000).
pub async fn list_by_user(db: &Db, user_id: &str) -> Result<Vec<Reservation>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM reservations WHERE user_id = ? ORDER BY id DESC LIMIT 1000"))
        .bind(user_id)
        .fetch_all(&db.reader)
        .await?
        .iter()
        .map(from_row)
        .collect()
}
