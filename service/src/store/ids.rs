//! Reservation ids handed out in blocks (a hi-lo allocator).
//!
//! A writer that inserts hundreds of reservations in one statement needs their ids before the insert. Asking the
//! database for a block of ids at a time (one short transaction per block) gives every process its own disjoint
//! range, keeps ids unique across replicas, and keeps them small enough for JavaScript clients.

use sqlx::pool::PoolConnection;
use sqlx::{Any, Connection as _};
use tokio::sync::Mutex;

/// How many ids one trip to the database reserves.
const BLOCK_SIZE: i64 = 10_000;

/// A process-wide source of reservation ids.
#[derive(Debug, Default)]
pub struct IdAllocator {
    range: Mutex<(i64, i64)>,
}

impl IdAllocator {
    /// Takes `count` ids, fetching new blocks on `connection` (which must have no transaction open) when the
    /// current one runs out. Ids need not be consecutive.
    pub async fn take(&self, connection: &mut PoolConnection<Any>, count: usize) -> Result<Vec<i64>, sqlx::Error> {
        let mut range = self.range.lock().await;
        let mut ids = Vec::with_capacity(count);
        while ids.len() < count {
            if range.0 >= range.1 {
                let wanted = BLOCK_SIZE.max(i64::try_from(count - ids.len()).unwrap_or(BLOCK_SIZE));
                *range = fetch_block(connection, wanted).await?;
            }
            ids.push(range.0);
            range.0 += 1;
        }
        Ok(ids)
    }
}

/// Reserves `size` ids in the database and returns them as a half-open range.
async fn fetch_block(connection: &mut PoolConnection<Any>, size: i64) -> Result<(i64, i64), sqlx::Error> {
    let mut tx = connection.begin().await?;
    sqlx::query("UPDATE id_blocks SET next_id = next_id + ? WHERE name = 'reservations'")
        .bind(size)
        .execute(&mut *tx)
        .await?;
    let end: i64 =
        sqlx::query_scalar("SELECT next_id FROM id_blocks WHERE name = 'reservations'").fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok((end - size, end))
}
