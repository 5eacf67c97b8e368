//! What the clients of one case were told, kept for the checks from the database ([`super::checks`]): bookings
//! with the time their order was first sent, refusals with the time they were sent and answered, the seats given
//! back on purpose (cancels, capacity edits) with the time that was acknowledged, and the orders whose outcome the
//! client could not know.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::outcome::{Ack, Refusal};

/// Seats that came back to an event (a cancel, a capacity edit, lapsed holds), and by when the database had them.
#[derive(Debug, Clone)]
pub struct Increase {
    pub event: i64,
    pub seats: i64,
    /// When the change was known to be committed; `None` when that is unknown (the answer was lost), in which case
    /// the change may have committed at any time.
    pub committed_by: Option<Instant>,
}

/// A buyer without an `Idempotency-Key`, placing one order: what it was told.
#[derive(Debug, Clone, Default)]
pub struct Unkeyed {
    pub event: i64,
    /// Bookings acknowledged (201).
    pub acknowledged: u32,
    /// Attempts whose answer left the outcome unknown (no answer, 500, 504, `503 outcome_unknown`): after one, the
    /// buyer stops, as it cannot tell whether it booked.
    pub unknown: u32,
}

/// Everything one case's clients were told.
#[derive(Debug, Default)]
pub struct Journal {
    pub acknowledged: Vec<Ack>,
    pub refusals: Vec<Refusal>,
    pub increases: Vec<Increase>,
    /// Reservation ids whose cancel was acknowledged.
    pub cancelled: Vec<String>,
    /// Reservation ids whose cancel got no final answer: the checks read from the database whether it happened.
    pub maybe_cancelled: Vec<String>,
    /// Buyers without a key, by user id.
    pub unkeyed: BTreeMap<String, Unkeyed>,
    /// Answers other than a booking, by class, for the report.
    pub errors: BTreeMap<String, u64>,
}

/// A journal shared by the tasks of a case.
#[derive(Debug, Clone, Default)]
pub struct Shared(Arc<Mutex<Journal>>);

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Journal> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn error(&self, class: &str) {
        *self.lock().errors.entry(class.to_owned()).or_default() += 1;
    }

    /// Takes the journal out once every task has stopped.
    pub fn take(&self) -> Journal {
        std::mem::take(&mut *self.lock())
    }
}

/// Whether an answer of class `class` (see [`crate::outcome::class_of`]) leaves the outcome of a booking unknown:
/// no answer, a timeout, an internal error, or the service saying it does not know.
pub fn outcome_unknown(class: &str) -> bool {
    class == crate::outcome::TRANSPORT
        || class.starts_with("500")
        || class.starts_with("504")
        || class.ends_with(" outcome_unknown")
}

/// Whether an answer of class `class` promises that nothing was booked and the client may simply try again:
/// `503 unavailable` and `503 queue_full` (the README's contract), `429 rate_limited`.
pub fn retry_safe(class: &str) -> bool {
    class == "503 unavailable" || class == "503 queue_full" || class.starts_with("429")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_outcomes_and_safe_retries_are_told_apart() {
        for class in ["transport", "504 timeout", "500 internal", "503 outcome_unknown"] {
            assert!(outcome_unknown(class), "{class}");
            assert!(!retry_safe(class), "{class}");
        }
        for class in ["503 unavailable", "503 queue_full", "429 rate_limited"] {
            assert!(retry_safe(class), "{class}");
            assert!(!outcome_unknown(class), "{class}");
        }
        assert!(!outcome_unknown("409 sold_out") && !retry_safe("409 sold_out"));
    }
}
