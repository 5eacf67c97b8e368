//! The availability hint of one event: the event as its writer's latest batch left it, which answers a flood of
//! requests that cannot be served without touching the database.
//!
//! ```text
//!   batch begins ── reads generation g ── ... ── COMMIT ── store(g, place, event after the batch)
//!   forget() (an edit, a close, the sweeper, an unknown outcome) ── generation g+1, hint empty
//! ```
//!
//! A batch may finish after a change of the event that it did not see: it read the row before an admin's capacity
//! edit (or a sweep that gave seats back) committed, and its answer comes back after the edit forgot the hint. What it
//! stores would then bring back the state before the edit for a whole TTL. So every change that forgets the hint
//! also moves its generation on, and a batch stores only if the generation it read when it began is still current.
//! Batches also finish out of order among themselves; the hint keeps the one that took the row lock last.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::decide::{hint_refusal, Inventory, Refusal};
use crate::domain::{Millis, ReservationRequest};

/// The hint of one event.
#[derive(Debug, Default)]
pub struct Hint {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Moved on by every [`Hint::forget`].
    generation: u64,
    seen: Option<Seen>,
}

/// What a batch left.
#[derive(Debug)]
struct Seen {
    /// The event after the batch (`available` is the seats it left).
    inventory: Inventory,
    /// When it was stored.
    at: Instant,
    /// The batch's place in the order of taking the row lock.
    place: u64,
}

impl Hint {
    /// The generation a batch reads when it begins, and gives back to [`Hint::store`].
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Stores the event as a batch left it. Ignored when the hint was forgotten since the batch began (its view may be
    /// older than the change that made it forget) or when a batch that took the row lock later already stored.
    pub fn store(&self, generation: u64, place: u64, inventory: Inventory, now: Instant) {
        let mut state = self.lock();
        if state.generation != generation || state.seen.as_ref().is_some_and(|seen| seen.place > place) {
            return;
        }
        state.seen = Some(Seen { inventory, at: now, place });
    }

    /// Forgets the hint, and makes every batch that began before now unable to store one.
    pub fn forget(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.seen = None;
    }

    /// The event as the latest batch left it, if that is younger than `ttl`.
    pub fn fresh(&self, ttl: Duration, now: Instant) -> Option<Inventory> {
        let state = self.lock();
        let seen = state.seen.as_ref()?;
        (now.saturating_duration_since(seen.at) < ttl).then(|| seen.inventory.clone())
    }

    /// The refusal the fresh hint gives `request` at `clock`, if any (see [`hint_refusal`]).
    pub fn refusal(&self, request: &ReservationRequest, ttl: Duration, now: Instant, clock: Millis) -> Option<Refusal> {
        hint_refusal(&self.fresh(ttl, now)?, request, clock)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(1);

    fn left(available: i64) -> Inventory {
        Inventory {
            available,
            per_user_limit: 8,
            max_per_order: 4,
            sales_open_at: 0,
            sales_close_at: None,
            closed_at: None,
            hold_seconds: 0,
        }
    }

    #[test]
    fn a_batch_that_began_before_a_forget_cannot_bring_its_view_back() {
        let (hint, now) = (Hint::default(), Instant::now());
        let began = hint.generation();
        // An edit commits and forgets the hint while the batch waits for its COMMIT to be answered.
        hint.forget();
        hint.store(began, 0, left(0), now);
        assert_eq!(hint.fresh(TTL, now), None, "the view from before the edit stays forgotten");
        let after = hint.generation();
        hint.store(after, 1, left(2), now);
        assert_eq!(hint.fresh(TTL, now).map(|i| i.available), Some(2), "a batch that began after it stores");
    }

    #[test]
    fn the_batch_that_locked_last_wins_and_the_hint_ages_out() {
        let (hint, now) = (Hint::default(), Instant::now());
        let generation = hint.generation();
        hint.store(generation, 5, left(3), now);
        hint.store(generation, 4, left(9), now);
        assert_eq!(hint.fresh(TTL, now).map(|i| i.available), Some(3), "an earlier batch finishing late is ignored");
        assert_eq!(hint.fresh(TTL, now + TTL), None, "too old");
    }

    #[test]
    fn only_a_fresh_hint_refuses() {
        let (hint, now) = (Hint::default(), Instant::now());
        let request = ReservationRequest { event_id: 1, user_id: "a".into(), quantity: 2, idempotency_key: None };
        assert_eq!(hint.refusal(&request, TTL, now, 0), None, "no hint yet");
        hint.store(hint.generation(), 0, left(1), now);
        assert_eq!(hint.refusal(&request, TTL, now, 0), Some(Refusal::SoldOut { available: 1, requested: 2 }));
        assert_eq!(hint.refusal(&request, TTL, now + TTL, 0), None);
    }
}
