//! Events in the database: create, read, list, update and close.
//!
//! Changes to an event's seats by reservations live in `engine::batch`; what is here changes an event's definition,
//! under the same row lock, so an update and a reservation batch never interleave. A change whose connection is
//! lost at its `COMMIT` is answered `outcome_unknown`; an answer that repeats a change already stored (a create
//! with a known key, a close of a closed event) first makes that change durable (`store::durability`).

use sqlx::any::AnyRow;
use sqlx::Row as _;

use super::{commit_failed, durability, Db};
use crate::domain::{Event, EventDraft, Millis};
use crate::error::ApiError;

const COLUMNS: &str = "id, name, total_seats, available_seats, event_date, sales_open_at, sales_close_at, \
                       closed_at, per_user_limit, max_per_order, hold_seconds, created_at, updated_at";

/// Which events a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFilter {
    All,
    /// Events whose date is after now.
    Upcoming,
    /// Events with seats left whose sale has not ended.
    Available,
}

/// Reads an event row.
pub fn from_row(row: &AnyRow) -> Result<Event, sqlx::Error> {
    Ok(Event {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        total_seats: row.try_get("total_seats")?,
        available_seats: row.try_get("available_seats")?,
        event_date: row.try_get("event_date")?,
        sales_open_at: row.try_get("sales_open_at")?,
        sales_close_at: row.try_get("sales_close_at")?,
        closed_at: row.try_get("closed_at")?,
        per_user_limit: row.try_get("per_user_limit")?,
        max_per_order: row.try_get("max_per_order")?,
        hold_seconds: row.try_get("hold_seconds")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// One event, or `None`.
pub async fn get(db: &Db, id: i64) -> Result<Option<Event>, sqlx::Error> {
    let row =
        sqlx::query(&format!("SELECT {COLUMNS} FROM events WHERE id = ?")).bind(id).fetch_optional(&db.reader).await?;
    row.as_ref().map(from_row).transpose()
}

/// Events by `filter`, in id order.
pub async fn list(db: &Db, filter: EventFilter, now: Millis) -> Result<Vec<Event>, sqlx::Error> {
    let (condition, binds): (&str, Vec<i64>) = match filter {
        EventFilter::All => ("1 = 1", vec![]),
        EventFilter::Upcoming => ("event_date > ?", vec![now]),
        EventFilter::Available => {
            ("available_seats > 0 AND closed_at IS NULL AND (sales_close_at IS NULL OR sales_close_at > ?)", vec![now])
        }
    };
    let sql = format!("SELECT {COLUMNS} FROM events WHERE {condition} ORDER BY id LIMIT 1000");
    let mut query = sqlx::query(&sql);
    for value in binds {
        query = query.bind(value);
    }
    query.fetch_all(&db.reader).await?.iter().map(from_row).collect()
}

/// Creates an event. With an `external_key` (the `Idempotency-Key` of the request) a repeat returns the event
/// created the first time, and `false` says that nothing new was created.
pub async fn create(
    db: &Db,
    draft: &EventDraft,
    external_key: Option<&str>,
    now: Millis,
) -> Result<(Event, bool), ApiError> {
    if let Some(key) = external_key {
        if let Some(existing) = get_by_external_key(db, key).await? {
            durability::mark(db, existing.id).await?;
            return Ok((existing, false));
        }
    }
    let sales_open_at = draft.sales_open_at.unwrap_or(now);
    if draft.sales_close_at.is_some_and(|close| close <= sales_open_at) {
        return Err(ApiError::Invalid("salesCloseAt must be after salesOpenAt (which defaults to now)".into()));
    }
    let mut connection = db.writer.acquire().await?;
    let result = sqlx::query(
        "INSERT INTO events (name, total_seats, available_seats, event_date, sales_open_at, sales_close_at, \
         closed_at, per_user_limit, max_per_order, hold_seconds, external_key, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&draft.name)
    .bind(draft.total_seats)
    .bind(draft.total_seats)
    .bind(draft.event_date)
    .bind(sales_open_at)
    .bind(draft.sales_close_at)
    .bind(draft.per_user_limit)
    .bind(draft.max_per_order)
    .bind(draft.hold_seconds)
    .bind(external_key)
    .bind(now)
    .bind(now)
    .execute(&mut *connection)
    .await;
    match result {
        Ok(done) => {
            let id = match done.last_insert_id() {
                Some(id) => id,
                // SQLite through `Any` does not report it; the same connection can still be asked.
                None => sqlx::query_scalar("SELECT last_insert_rowid()").fetch_one(&mut *connection).await?,
            };
            drop(connection);
            let event = get(db, id).await?.ok_or(ApiError::Internal)?;
            Ok((event, true))
        }
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() && external_key.is_some() => {
            let key = external_key.unwrap_or_default();
            let existing = get_by_external_key(db, key).await?.ok_or(ApiError::Internal)?;
            durability::mark(db, existing.id).await?;
            Ok((existing, false))
        }
        // The insert commits on its own: an answer lost on the way leaves the event made or not.
        Err(e) => Err(commit_failed(e)),
    }
}

async fn get_by_external_key(db: &Db, key: &str) -> Result<Option<Event>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM events WHERE external_key = ?"))
        .bind(key)
        .fetch_optional(&db.writer)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Replaces an event's definition. Seats already sold stay sold: the new capacity must cover them.
pub async fn update(db: &Db, id: i64, draft: &EventDraft, now: Millis) -> Result<Event, ApiError> {
    let mut tx = db.writer.begin().await?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM events WHERE id = ?{}", db.dialect.for_update()))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let current = row.as_ref().map(from_row).transpose()?.ok_or(ApiError::EventNotFound(id))?;
    let sold = current.total_seats - current.available_seats;
    if draft.total_seats < sold {
        return Err(ApiError::Conflict(format!(
            "totalSeats cannot be {} because {sold} seat(s) are already sold",
            draft.total_seats
        )));
    }
    let sales_open_at = draft.sales_open_at.unwrap_or(current.sales_open_at);
    if draft.sales_close_at.is_some_and(|close| close <= sales_open_at) {
        return Err(ApiError::Invalid("salesCloseAt must be after salesOpenAt".into()));
    }
    sqlx::query(
        "UPDATE events SET name = ?, total_seats = ?, available_seats = ?, event_date = ?, sales_open_at = ?, \
         sales_close_at = ?, per_user_limit = ?, max_per_order = ?, hold_seconds = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&draft.name)
    .bind(draft.total_seats)
    .bind(draft.total_seats - sold)
    .bind(draft.event_date)
    .bind(sales_open_at)
    .bind(draft.sales_close_at)
    .bind(draft.per_user_limit)
    .bind(draft.max_per_order)
    .bind(draft.hold_seconds)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await.map_err(commit_failed)?;
    get(db, id).await?.ok_or(ApiError::Internal)
}

/// Ends the sale of an event now; closing a closed event changes nothing.
pub async fn close(db: &Db, id: i64, now: Millis) -> Result<Event, ApiError> {
    let closed = sqlx::query("UPDATE events SET closed_at = ?, updated_at = ? WHERE id = ? AND closed_at IS NULL")
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&db.writer)
        .await
        .map_err(commit_failed)?;
    let event = get(db, id).await?.ok_or(ApiError::EventNotFound(id))?;
    if closed.rows_affected() == 0 {
        // Closed before: the answer rests on that close, which must be durable first.
        durability::mark(db, id).await?;
    }
    Ok(event)
}
