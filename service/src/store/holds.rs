//! Expiring lapsed holds, set-based: one event at a time, in chunks of at most [`CHUNK`] holds, each chunk a short
//! transaction that checks the sweeper's fencing token and holds the event's row lock only while it runs.
//!
//! ```text
//!   BEGIN                                           one round trip:
//!   SELECT fence FROM lease_fences ... FOR UPDATE     the token, locked until the end (a new holder waits)
//!   SELECT id FROM events ... FOR UPDATE              the event's row lock, as every writer of its seats takes it
//!   SELECT id, quantity FROM reservations ...         up to CHUNK lapsed holds of the event, in expiry order after
//!                                                     the previous chunk's last, locked
//!   (token overtaken: ROLLBACK, nothing written)
//!   UPDATE reservations SET status = 'EXPIRED',     one round trip:
//!          expired_fence = <token> WHERE id IN (...)  the chunk, in one statement
//!   UPDATE events SET available_seats + <seats>       the seats back, in one statement
//!   COMMIT                                          once the update is seen to have changed every hold read
//! ```
//!
//! Under the event's row lock nothing else changes the event's holds (every confirm, cancel and booking takes that
//! lock first), so the holds read are exactly the holds expired, and their seats come back exactly once. A chunk
//! keeps a buyer's batch waiting for the lock for a few milliseconds at most; the batch runs between two chunks. Each
//! expired hold records the token that expired it (`expired_fence`), so the database shows which lease holder wrote.
//!
//! A chunk starts its index range after the last hold of the chunk before ([`Cursor`]): the entries of the holds just
//! expired stay in the index, delete-marked, until InnoDB purges them, and a range that began at the start every time
//! would step over all of them again, which makes a mass lapse quadratic.

use sqlx::Row as _;

use super::script::{Script, Session};
use super::Db;
use crate::domain::Millis;
use crate::lease;

/// The most holds one chunk expires.
pub const CHUNK: usize = 2000;

/// Where a chunk ended in its event's lapsed holds: the expiry and the id of its last hold.
pub type Cursor = (Millis, i64);

/// What one chunk did.
#[derive(Debug)]
pub enum Chunk {
    /// Committed: this many holds expired, giving back this many seats, the last of them at `last` (fewer than
    /// [`CHUNK`] holds: none are left).
    Expired { holds: usize, seats: i64, last: Option<Cursor> },
    /// The token was overtaken; nothing was written.
    Fenced,
    /// The connection failed with the `COMMIT` on its way: the chunk may or may not have been applied.
    CommitLost(sqlx::Error),
}

/// The events that have holds lapsed by `now`, in id order.
pub async fn lapsed_events(db: &Db, now: Millis) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM events WHERE EXISTS (SELECT 1 FROM reservations WHERE reservations.event_id = events.id \
         AND reservations.status = 'HELD' AND reservations.expires_at <= ?) ORDER BY id",
    )
    .bind(now)
    .fetch_all(&db.reader)
    .await
}

/// Expires up to [`CHUNK`] holds of `event_id` lapsed by `now` (after `after`, the end of the chunk before), if
/// `fence` is still the newest token of `lease_name`.
pub async fn expire_chunk(
    db: &Db,
    lease_name: &str,
    fence: i64,
    event_id: i64,
    now: Millis,
    after: Option<Cursor>,
) -> Result<Chunk, sqlx::Error> {
    let dialect = db.dialect;
    let mut session = Session::new(db.writer.acquire().await?, dialect);
    let mut script = Script::new(dialect);
    script.begin();
    let token = lease::push_fence_check(&mut script, lease_name);
    script.push("SELECT id FROM events WHERE id = ").int(event_id).push(dialect.for_update()).end();
    script.push("SELECT id, quantity, expires_at FROM reservations WHERE event_id = ").int(event_id);
    script.push(" AND status = 'HELD' AND expires_at <= ").int(now);
    if let Some((expires_at, id)) = after {
        script.push(" AND (expires_at > ").int(expires_at);
        script.push(" OR (expires_at = ").int(expires_at).push(" AND id > ").int(id).push("))");
    }
    let lapsed = script.push(" ORDER BY expires_at, id LIMIT ").int(CHUNK as i64).push(dialect.for_update()).end();
    let answers = session.run(&script).await;
    if let Some(error) = answers.error {
        return Err(error);
    }
    if !lease::fence_is_current(&answers.answers[token], fence)? {
        session.rollback().await;
        return Ok(Chunk::Fenced);
    }
    let mut ids = Vec::new();
    let mut seats = 0;
    let mut last = None;
    for row in &answers.answers[lapsed].rows {
        let id = row.try_get::<i64, _>("id")?;
        ids.push(id);
        seats += row.try_get::<i64, _>("quantity")?;
        last = Some((row.try_get::<i64, _>("expires_at")?, id));
    }
    if ids.is_empty() {
        session.rollback().await;
        return Ok(Chunk::Expired { holds: 0, seats: 0, last: None });
    }
    let mut script = Script::new(dialect);
    script.push("UPDATE reservations SET status = 'EXPIRED', expired_fence = ").int(fence);
    script.push(", updated_at = ").int(now).push(" WHERE status = 'HELD' AND id IN (");
    let expire = script.list(ids.iter().copied(), |script, id| {
        script.int(id);
    });
    let expire = expire.push(")").end();
    script.push("UPDATE events SET available_seats = available_seats + ").int(seats);
    script.push(", updated_at = ").int(now).push(" WHERE id = ").int(event_id).end();
    let answers = session.run(&script).await;
    if let Some(error) = answers.error {
        return Err(error);
    }
    let expired = answers.answers[expire].rows_affected;
    if usize::try_from(expired).ok() != Some(ids.len()) {
        session.rollback().await;
        let message = format!("expired {expired} of {} locked holds of event {event_id}", ids.len());
        return Err(sqlx::Error::Protocol(message));
    }
    let mut commit = Script::new(dialect);
    commit.end_transaction(true);
    match session.run(&commit).await.error {
        None => Ok(Chunk::Expired { holds: ids.len(), seats, last }),
        Some(error) if super::commit_may_have_applied(&error) => Ok(Chunk::CommitLost(error)),
        Some(error) => Err(error),
    }
}
