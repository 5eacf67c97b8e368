//! Durable answers: an answer decided on rows the database already holds is sent only after a commit whose log flush
//! covers those rows (I4, I5).
//!
//! InnoDB makes a commit visible, and releases its row locks, once it is done in memory and before its log is
//! flushed. A transaction may therefore read a row that another has just committed before that row is durable. If
//! it then answers without writing anything itself (a replay of a booking, a refusal, a repeated confirm or cancel,
//! a repeated event creation), its `ROLLBACK` or read-only `COMMIT` waits for no flush, and a crash right after the
//! answer loses the row the answer relied on, on this replica or on another one. The log is flushed in order, so a
//! commit that writes anything and waits for its own flush (`innodb_flush_log_at_trx_commit = 1`) makes every commit
//! before it durable, including everything it read. So a transaction that would otherwise end without writing
//! writes a mark first: one counter per event in `durability_marks`, bumped by the event's writer under the
//! event's row lock or, for answers decided outside the writer, in a statement of its own after the reads.
//!
//! This covers refusals too. A `sold_out` decided on a booking that a crash then loses would have turned a buyer
//! away from a seat that is for sale again (I2), and the mark costs only a flush shared with the other commits of
//! the moment (group commit). Plain reads (`GET`) are not answers to a write and show what is committed, without a
//! mark.
//!
//! SQLite needs no mark: in WAL mode with `synchronous = FULL` a commit is synced before readers can see it.

use super::script::Script;
use super::{Db, Dialect};

/// Appends the mark of `event_id` to `script` on MySQL; returns its statement's index (`None` on SQLite).
pub fn push_mark(script: &mut Script, event_id: i64) -> Option<usize> {
    (script.dialect() == Dialect::MySql).then(|| {
        script
            .push("INSERT INTO durability_marks (event_id, marks) VALUES (")
            .int(event_id)
            .push(", 1) ON DUPLICATE KEY UPDATE marks = marks + 1")
            .end()
    })
}

/// Writes the mark of `event_id` in a transaction of its own and waits for its commit, which makes everything
/// committed before it durable. Called before answering with rows read outside the writer.
pub async fn mark(db: &Db, event_id: i64) -> Result<(), sqlx::Error> {
    if db.dialect == Dialect::MySql {
        sqlx::query(
            "INSERT INTO durability_marks (event_id, marks) VALUES (?, 1) ON DUPLICATE KEY UPDATE marks = marks + 1",
        )
        .bind(event_id)
        .execute(&db.writer)
        .await?;
    }
    Ok(())
}
