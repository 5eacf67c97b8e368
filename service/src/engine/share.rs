//! The writers' share of the connection pool: how many connections the event writers of this process may hold
//! together, so that a few hot events cannot take every connection (I2).
//!
//! ```text
//!   pool of N connections
//!   ├── writers' share: N - reserve, handed out by a fair semaphore, one permit per writer session
//!   └── reserve: max(2, N/4) (at most N - 1), never taken by writers: /readyz, reads, the sweeper, event edits
//! ```
//!
//! A busy writer would otherwise keep its sessions (up to its pipeline depth) for as long as its queue is not empty,
//! and with a handful of hot events nothing else would get a connection before the pool's acquire timeout: another
//! event's reservations, `/readyz` and the hold sweeper would answer 503 while seats remain. Every writer session now
//! holds a permit of the share. A writer's first session waits for a permit in arrival order, so requests of a cold
//! event wait their turn instead of failing; further sessions (to pipeline) are taken only when a permit is free at
//! once. When the share is used up, a writer gives its sessions back after each batch, so the permits go round the
//! writers that wait, in order.

use std::sync::Arc;

use sqlx::AnyPool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The connections of a pool of `max_connections` that writers may hold together.
pub fn writers_share(max_connections: u32) -> usize {
    let max = usize::try_from(max_connections).unwrap_or(usize::MAX).max(1);
    let reserve = (max / 4).max(2).min(max - 1);
    max - reserve
}

/// The permits of the writers' share.
#[derive(Debug)]
pub struct Share {
    permits: Arc<Semaphore>,
}

impl Share {
    /// The share of `pool`.
    pub fn of(pool: &AnyPool) -> Self {
        Self { permits: Arc::new(Semaphore::new(writers_share(pool.options().get_max_connections()))) }
    }

    /// A permit, once one is free and every writer that asked before has had its turn.
    pub async fn wait(&self) -> OwnedSemaphorePermit {
        self.permits.clone().acquire_owned().await.expect("the share is never closed")
    }

    /// Whether every permit is taken (and writers may be waiting): sessions should then go back after their batch.
    pub fn exhausted(&self) -> bool {
        self.permits.available_permits() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_a_quarter_of_the_pool_and_at_least_two_connections() {
        assert_eq!(writers_share(16), 12);
        assert_eq!(writers_share(100), 75);
        assert_eq!(writers_share(4), 2);
        assert_eq!(writers_share(3), 1);
        assert_eq!(writers_share(2), 1, "a writer can always run");
        assert_eq!(writers_share(1), 1, "the single writing connection of SQLite");
        assert_eq!(writers_share(0), 1);
    }

    #[tokio::test]
    async fn a_released_permit_goes_to_the_writer_that_waits() {
        let share = Share { permits: Arc::new(Semaphore::new(1)) };
        let held = share.wait().await;
        assert!(share.exhausted());
        let waiting = tokio::spawn({
            let permits = share.permits.clone();
            async move { permits.acquire_owned().await.unwrap() }
        });
        // The waiting writer asks for its permit (a current-thread runtime runs it at this yield) and queues.
        tokio::task::yield_now().await;
        drop(held);
        assert!(share.exhausted(), "the released permit went to the writer that waited, not back to the share");
        drop(waiting.await.unwrap());
        assert!(!share.exhausted());
    }
}
