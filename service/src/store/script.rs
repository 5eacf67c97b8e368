//! Scripts: several SQL statements with their values written in, sent to the database in one round trip.
//!
//! A prepared statement costs a round trip (two when it is not cached yet), and a reservation batch needs about eight
//! statements. Sent as one text query, the statements that do not depend on each other's answers cost one round
//! trip together (see `engine::writer`). That needs the values written into the SQL, and nothing here escapes:
//! integers are printed as digits and every string is written as the hexadecimal form of its UTF-8 bytes, so a
//! value can only ever add `[0-9a-f]` to the SQL, whatever a buyer sends. On MySQL the `_utf8mb4` introducer makes
//! the hex a character string that compares in the column's collation (so indexes are used); on SQLite the blob is
//! cast to text.
//!
//! A script that takes [`SLOW_SCRIPT`] or longer is logged at WARN by the kinds and counts of its statements, never
//! its text (which is made of buyers' ids and keys, only hex-encoded); sqlx's own statement logging is off.
//!
//! A transaction may begin in one script and end in a later one. The [`Session`] that runs them knows whether one
//! is open, and when it is dropped with one open (a cancelled request, a failed rollback) it closes its connection
//! instead of returning it to the pool with the transaction and its locks.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::TryStreamExt as _;
use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use sqlx::{Any, Either};

use super::Dialect;

/// A script that takes at least this long to answer is logged as slow.
pub const SLOW_SCRIPT: Duration = Duration::from_secs(1);

/// SQL text with literal values, for one dialect.
#[derive(Debug)]
pub struct Script {
    dialect: Dialect,
    sql: String,
    statements: usize,
    /// Whether a transaction is open after the statement at each index that begins or ends one.
    transaction_marks: Vec<(usize, bool)>,
}

impl Script {
    /// An empty script for `dialect`.
    pub fn new(dialect: Dialect) -> Self {
        Self { dialect, sql: String::with_capacity(4096), statements: 0, transaction_marks: Vec::new() }
    }

    /// The dialect the script is written in.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Begins a writing transaction (on SQLite one that takes the write lock at once, so it never has to upgrade a
    /// read lock); returns the statement's index.
    pub fn begin(&mut self) -> usize {
        self.push(match self.dialect {
            Dialect::MySql => "BEGIN",
            Dialect::Sqlite => "BEGIN IMMEDIATE",
        });
        self.mark_transaction(true)
    }

    /// Begins a read-only transaction: its reads see one consistent snapshot and take no locks (MySQL only).
    pub fn begin_read_only(&mut self) -> usize {
        debug_assert_eq!(self.dialect, Dialect::MySql, "SQLite batches run one at a time on the writing connection");
        self.push("START TRANSACTION READ ONLY");
        self.mark_transaction(true)
    }

    /// Commits (or, with `commit` false, rolls back) the open transaction; returns the statement's index.
    pub fn end_transaction(&mut self, commit: bool) -> usize {
        self.push(if commit { "COMMIT" } else { "ROLLBACK" });
        self.mark_transaction(false)
    }

    fn mark_transaction(&mut self, open: bool) -> usize {
        let index = self.end();
        self.transaction_marks.push((index, open));
        index
    }

    /// Appends SQL written by the caller (never data).
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Ends the current statement and returns its index among the script's statements.
    pub fn end(&mut self) -> usize {
        self.sql.push_str(";\n");
        self.statements += 1;
        self.statements - 1
    }

    /// Appends an integer.
    pub fn int(&mut self, value: i64) -> &mut Self {
        let _ = write!(self.sql, "{value}");
        self
    }

    /// Appends an integer or `NULL`.
    pub fn opt_int(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(value) => self.int(value),
            None => self.push("NULL"),
        }
    }

    /// Appends a string as a literal.
    pub fn text(&mut self, value: &str) -> &mut Self {
        let (open, close) = match self.dialect {
            Dialect::MySql => ("_utf8mb4 X'", "'"),
            Dialect::Sqlite => ("CAST(X'", "' AS TEXT)"),
        };
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        self.sql.reserve(open.len() + close.len() + 2 * value.len());
        self.sql.push_str(open);
        // Two table lookups per byte: `write!` with a format spec per byte was a visible share of a batch's CPU.
        for byte in value.bytes() {
            self.sql.push(char::from(DIGITS[usize::from(byte >> 4)]));
            self.sql.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        self.sql.push_str(close);
        self
    }

    /// Appends a string or `NULL`.
    pub fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.text(value),
            None => self.push("NULL"),
        }
    }

    /// Appends `items` separated by `", "`, each written by `write`.
    pub fn list<T>(&mut self, items: impl IntoIterator<Item = T>, mut write: impl FnMut(&mut Self, T)) -> &mut Self {
        for (index, item) in items.into_iter().enumerate() {
            if index > 0 {
                self.sql.push_str(", ");
            }
            write(self, item);
        }
        self
    }

    /// The SQL written so far, without the separator after the last statement.
    pub fn as_str(&self) -> &str {
        self.sql.strip_suffix(";\n").unwrap_or(&self.sql)
    }

    /// The kinds of the script's statements with their counts (`BEGIN 1, INSERT 1, SELECT 3`): the first word of each
    /// statement, which is always SQL the service wrote (a value is never first), so this is safe to log.
    fn kinds(&self) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for statement in self.as_str().split(";\n") {
            *counts.entry(statement.split_whitespace().next().unwrap_or("")).or_default() += 1;
        }
        counts.iter().map(|(kind, count)| format!("{kind} {count}")).collect::<Vec<_>>().join(", ")
    }

    /// Whether a transaction is open after the first `answered` statements ran, given whether one was before.
    fn open_after(&self, answered: usize, open_before: bool) -> bool {
        self.transaction_marks.iter().take_while(|(index, _)| *index < answered).last().map_or(open_before, |m| m.1)
    }
}

/// What one statement of a script answered.
#[derive(Default)]
pub struct Answer {
    pub rows: Vec<AnyRow>,
    pub rows_affected: u64,
}

/// What a script answered: one [`Answer`] per statement that ran, and the error that stopped the rest, if any.
pub struct Answers {
    pub answers: Vec<Answer>,
    pub error: Option<sqlx::Error>,
}

/// A connection that runs scripts and keeps track of the transaction they leave open.
pub struct Session {
    connection: PoolConnection<Any>,
    dialect: Dialect,
    open: bool,
}

impl Session {
    /// A session on `connection`, with no transaction open.
    pub fn new(connection: PoolConnection<Any>, dialect: Dialect) -> Self {
        Self { connection, dialect, open: false }
    }

    /// The connection, for statements sent outside scripts while no transaction is open.
    pub fn connection(&mut self) -> &mut PoolConnection<Any> {
        debug_assert!(!self.open, "a script transaction is open");
        &mut self.connection
    }

    /// Runs `script`. When a statement fails the rest do not run, and an open transaction is rolled back; the
    /// answers of the statements before it are returned with the error (a `COMMIT` among them did commit).
    pub async fn run(&mut self, script: &Script) -> Answers {
        let open_before = self.open;
        // Until the answers arrive, a transaction the script begins counts as open (for a drop in between).
        self.open = open_before || !script.transaction_marks.is_empty();
        let (answers, error) = run(&mut self.connection, script).await;
        self.open = script.open_after(answers.len(), open_before);
        if error.is_some() {
            self.rollback().await;
        }
        Answers { answers, error }
    }

    /// Rolls back the open transaction, if any. If even that fails, the connection is closed when the session is
    /// dropped.
    pub async fn rollback(&mut self) {
        if self.open {
            let mut rollback = Script::new(self.dialect);
            rollback.end_transaction(false);
            if run(&mut self.connection, &rollback).await.1.is_none() {
                self.open = false;
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.open {
            self.connection.close_on_drop();
        }
    }
}

/// Sends `script` and logs it if it was slow (see the module docs).
async fn run(connection: &mut PoolConnection<Any>, script: &Script) -> (Vec<Answer>, Option<sqlx::Error>) {
    let started = Instant::now();
    let (answers, error) = send(connection, script).await;
    let elapsed = started.elapsed();
    if elapsed >= SLOW_SCRIPT {
        tracing::warn!(
            elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            statements = %script.kinds(),
            answered = answers.len(),
            failed = error.is_some(),
            "slow database script"
        );
    }
    (answers, error)
}

/// Sends `script` as one text query and splits the answer by statement. (Boxed: the compiler cannot prove the
/// unboxed future `Send` for every lifetime of the stream it holds.)
fn send<'a>(
    connection: &'a mut PoolConnection<Any>,
    script: &'a Script,
) -> BoxFuture<'a, (Vec<Answer>, Option<sqlx::Error>)> {
    Box::pin(async move {
        let mut answers = Vec::with_capacity(script.statements);
        let mut current = Answer::default();
        let mut stream = sqlx::raw_sql(script.as_str()).fetch_many(&mut **connection);
        loop {
            match stream.try_next().await {
                Ok(Some(Either::Left(done))) => {
                    current.rows_affected = done.rows_affected();
                    answers.push(std::mem::take(&mut current));
                }
                Ok(Some(Either::Right(row))) => current.rows.push(row),
                Ok(None) if answers.len() == script.statements => return (answers, None),
                Ok(None) => {
                    let error = format!("a script of {} statements got {} answers", script.statements, answers.len());
                    return (answers, Some(sqlx::Error::Protocol(error)));
                }
                Err(error) => return (answers, Some(error)),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_become_hex_whatever_they_contain() {
        let mut sql = Script::new(Dialect::MySql);
        sql.text("a'b\\é");
        assert_eq!(sql.as_str(), "_utf8mb4 X'6127625cc3a9'");
        let mut sql = Script::new(Dialect::Sqlite);
        sql.text("');--");
        assert_eq!(sql.as_str(), "CAST(X'27293b2d2d' AS TEXT)");
    }

    #[test]
    fn numbers_nulls_lists_and_statements() {
        let mut sql = Script::new(Dialect::MySql);
        sql.push("SELECT (").int(-7).push(", ").opt_int(None).push(", ").opt_text(None).push(") IN (");
        sql.list([1, 2, 3], |sql, n| {
            sql.int(n);
        });
        assert_eq!(sql.push(")").end(), 0);
        assert_eq!(sql.end_transaction(true), 1);
        assert_eq!(sql.as_str(), "SELECT (-7, NULL, NULL) IN (1, 2, 3);\nCOMMIT");
        assert_eq!(sql.kinds(), "COMMIT 1, SELECT 1");
    }

    #[test]
    fn the_transaction_state_follows_the_statements_that_ran() {
        let mut sql = Script::new(Dialect::Sqlite);
        sql.push("UPDATE t SET a = 1").end();
        sql.end_transaction(true);
        sql.begin();
        sql.push("SELECT 1").end();
        assert_eq!(sql.as_str(), "UPDATE t SET a = 1;\nCOMMIT;\nBEGIN IMMEDIATE;\nSELECT 1");
        assert!(sql.open_after(1, true), "the update ran, the commit did not");
        assert!(!sql.open_after(2, true), "committed");
        assert!(sql.open_after(4, true), "the next transaction began");
        assert!(!sql.open_after(0, false));
    }
}
