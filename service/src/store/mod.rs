//! The database: connection pools, migrations and the SQL that reads and writes rows.
//!
//! One code path serves both dialects through `sqlx::Any`: MySQL (Aurora MySQL 8 in production, MariaDB 10.11 in
//! tests) and SQLite (the embedded default). Only what differs is switched on [`Dialect`]: the migrations, and the
//! `FOR UPDATE` that takes the event's row lock on MySQL (SQLite serialises writers on the database lock instead,
//! and the service gives it a single writing connection).
//!
//! ```text
//!   store::events        events: create, read, list, update, close
//!   store::reservations  reservations: read one, list a buyer's
//!   store::ids           blocks of reservation ids (hi-lo allocator)
//!   store::holds         expiring lapsed holds in chunks, under the event's row lock and the sweeper's fence
//!   store::durability    the mark that makes an answer wait for the flush of what it read
//!   store::script        several statements with literal values in one round trip
//!   engine::batch        the reservation transaction itself (a script transaction on a connection from here)
//! ```

pub mod durability;
pub mod events;
pub mod holds;
pub mod ids;
pub mod reservations;
pub mod script;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions as _, Executor as _};

use crate::error::ApiError;

/// Which SQL dialect the database speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    MySql,
    Sqlite,
}

impl Dialect {
    /// The suffix that takes a row lock in a locking read.
    pub fn for_update(self) -> &'static str {
        match self {
            Self::MySql => " FOR UPDATE",
            Self::Sqlite => "",
        }
    }
}

/// Pool sizes.
#[derive(Debug, Clone, Copy)]
pub struct PoolSizes {
    /// Connections for MySQL (shared by reads and writes).
    pub max_connections: u32,
}

/// The database handle: a pool for writes and one for reads (the same pool on MySQL).
#[derive(Clone, Debug)]
pub struct Db {
    pub dialect: Dialect,
    pub writer: AnyPool,
    pub reader: AnyPool,
}

impl Db {
    /// Connects to `url` (`mysql://...` or `sqlite://...`) and applies the embedded migrations.
    pub async fn connect(url: &str, sizes: PoolSizes) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("mysql:") || url.starts_with("mariadb:") {
            Dialect::MySql
        } else if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            anyhow::bail!("unsupported database URL scheme: expected mysql:// or sqlite://");
        };
        let url = url.replacen("mariadb:", "mysql:", 1);
        // sqlx would log statements with their text, and a batch's text carries every buyer's id and key (see
        // `script`, which logs slow scripts without it).
        let options = AnyConnectOptions::from_str(&url).context("invalid database URL")?.disable_statement_logging();
        let db = match dialect {
            Dialect::MySql => {
                let pool = AnyPoolOptions::new()
                    .max_connections(sizes.max_connections)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(5))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await
                    .context("cannot connect to the MySQL database")?;
                Self { dialect, writer: pool.clone(), reader: pool }
            }
            Dialect::Sqlite => {
                let pool = |max: u32| {
                    AnyPoolOptions::new().max_connections(max).acquire_timeout(Duration::from_secs(10)).after_connect(
                        |conn, _| {
                            Box::pin(async move {
                                conn.execute(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                                )
                                .await?;
                                Ok(())
                            })
                        },
                    )
                };
                let writer = pool(1).connect_with(options.clone()).await.context("cannot open the SQLite database")?;
                let reader = pool(4).connect_with(options).await.context("cannot open the SQLite database")?;
                Self { dialect, writer, reader }
            }
        };
        db.migrate().await?;
        Ok(db)
    }

    /// The URL of the embedded default database inside `data_dir`.
    pub fn embedded_url(data_dir: &Path) -> String {
        format!("sqlite://{}?mode=rwc", data_dir.join("ticketing.db").display())
    }

    /// Applies the migrations of this dialect that have not run yet.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.dialect {
            Dialect::MySql => sqlx::migrate!("migrations/mysql"),
            Dialect::Sqlite => sqlx::migrate!("migrations/sqlite"),
        };
        migrator.run(&self.writer).await.context("database migration failed")?;
        Ok(())
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.reader).await.is_ok()
    }
}

/// A database error as logs may show it: its code and its message up to the first quoted value, at most
/// [`LOGGED_MESSAGE_CHARS`] characters. MySQL quotes values in its messages (`Duplicate entry '<user id>-<key>'`, a
/// syntax error `near '<statement text>'`), and statements carry buyers' ids and keys.
pub struct Redacted<'a>(pub &'a sqlx::Error);

/// The most characters of an error message that reach the log.
pub const LOGGED_MESSAGE_CHARS: usize = 200;

impl std::fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (prefix, text) = match self.0 {
            sqlx::Error::Database(db) => {
                let message = db.message();
                let end = message.find(['\'', '"']).unwrap_or(message.len());
                (format!("database error {}: ", db.code().unwrap_or_default()), message[..end].to_owned())
            }
            other => (String::new(), other.to_string()),
        };
        let mut kept: String = text.chars().take(LOGGED_MESSAGE_CHARS).collect();
        if kept.len() < text.len() {
            kept.push('…');
        }
        write!(f, "{prefix}{}", kept.trim_end())
    }
}

/// Whether a database error is worth retrying the whole transaction for: a unique-key race, a deadlock or a lock
/// wait timeout. The transaction was rolled back, so nothing of it is visible.
pub fn is_retryable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || matches!(db.code().as_deref(), Some("40001") | Some("1213") | Some("1205") | Some("5") | Some("6"))
                || db.message().contains("Deadlock")
                || db.message().contains("database is locked")
        }
        _ => false,
    }
}

/// Whether an error met after a `COMMIT` was sent leaves the commit's outcome unknown. An error the server reported
/// means that its statement failed and nothing after it in the script ran, so a `COMMIT` behind it was not applied;
/// an error of the connection itself (closed, reset, timed out, garbled) says nothing about what the server did.
pub fn commit_may_have_applied(error: &sqlx::Error) -> bool {
    !matches!(
        error,
        sqlx::Error::Database(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Configuration(_)
    )
}

/// The answer to a statement that carried a `COMMIT` and failed: `outcome_unknown` when the commit may have been
/// applied, `unavailable` otherwise.
pub fn commit_failed(error: sqlx::Error) -> ApiError {
    if commit_may_have_applied(&error) {
        ApiError::commit_lost(Redacted(&error))
    } else {
        error.into()
    }
}
