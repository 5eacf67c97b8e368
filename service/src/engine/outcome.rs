//! How a batch ended, and what each of its requests hears.
//!
//! ```text
//!   Committed   answers as decided; the hint keeps the event as the batch left it; caches of the event dropped
//!   Refused     decided on a snapshot, nothing booked: answers as decided
//!   NoEvent     404 to everyone
//!   Failed      nothing the batch carried was applied: 503 unavailable to everyone, who may retry
//!   CommitLost  the connection failed with the COMMIT on its way: 503 outcome_unknown to each request whose
//!               booking or change the commit carried, 503 unavailable to the others; the hint and the caches of
//!               the event are dropped, since the commit may have changed its seats
//! ```

use std::time::Instant;

use tokio::sync::oneshot;

use super::batch::{Booked, Change, Decided};
use super::writer::WriterTask;
use super::Job;
use crate::domain::{Reservation, ReservationRequest};
use crate::error::ApiError;
use crate::store::Redacted;

/// Requests taken from the queue together, with the channels for their answers.
#[derive(Default)]
pub(super) struct Jobs {
    pub reserves: Vec<ReservationRequest>,
    reserve_replies: Vec<oneshot::Sender<Result<Booked, ApiError>>>,
    pub changes: Vec<Change>,
    change_replies: Vec<oneshot::Sender<Result<Reservation, ApiError>>>,
}

impl Jobs {
    pub fn new(jobs: Vec<Job>) -> Self {
        let mut split = Self::default();
        for job in jobs {
            match job {
                Job::Reserve(request, reply) => {
                    split.reserves.push(request);
                    split.reserve_replies.push(reply);
                }
                Job::Change(change, reply) => {
                    split.changes.push(change);
                    split.change_replies.push(reply);
                }
            }
        }
        split
    }
}

/// How a batch ended.
pub(super) enum Outcome {
    /// Committed; with the batch's place in the lock order.
    Committed(Decided, u64),
    /// Decided on a snapshot without the lock: every request refused or replayed, nothing written.
    Refused(Decided),
    NoEvent,
    /// Nothing of the batch was applied.
    Failed(sqlx::Error),
    /// The `COMMIT` was sent and its answer never came (or it committed something impossible): it may have applied.
    CommitLost(Decided, sqlx::Error),
}

impl WriterTask {
    /// Sends every answer of a batch that has ended and updates the hint; `generation` is the hint's generation when
    /// the batch began.
    pub(super) fn answer(&self, jobs: Jobs, outcome: Outcome, generation: u64) {
        let Jobs { reserve_replies, change_replies, .. } = jobs;
        match outcome {
            Outcome::Committed(decided, place) => {
                self.hint.store(generation, place, decided.inventory_after.clone(), Instant::now());
                if decided.wrote() {
                    (self.on_commit)(self.event_id);
                }
                let booked = decided.results.iter().filter(|r| matches!(r, Ok(b) if !b.replayed)).count();
                let changed = decided.change_results.iter().filter(|r| r.is_ok()).count();
                metrics::counter!("ticketing_reservations_total", "outcome" => "booked").increment(booked as u64);
                metrics::counter!("ticketing_reservation_changes_total").increment(changed as u64);
                send_all(reserve_replies, decided.results);
                send_all(change_replies, decided.change_results);
            }
            Outcome::Refused(decided) => send_all(reserve_replies, decided.results),
            Outcome::NoEvent => {
                send_all(reserve_replies, std::iter::repeat_with(|| Err(ApiError::EventNotFound(self.event_id))));
                send_all(change_replies, std::iter::repeat_with(|| Err(ApiError::EventNotFound(self.event_id))));
            }
            Outcome::Failed(error) => {
                // Nothing was committed that the clients were told about: each may retry (with its key).
                let _ = ApiError::dependency("database", Redacted(&error));
                send_all(reserve_replies, std::iter::repeat_with(|| Err(ApiError::Unavailable)));
                send_all(change_replies, std::iter::repeat_with(|| Err(ApiError::Unavailable)));
            }
            Outcome::CommitLost(decided, error) => {
                let _ = ApiError::commit_lost(Redacted(&error));
                if decided.wrote() {
                    self.hint.forget();
                    (self.on_commit)(self.event_id);
                }
                let (reserves, changes) = decided.answers_after_lost_commit();
                send_all(reserve_replies, reserves.into_iter().map(Err));
                send_all(change_replies, changes.into_iter().map(Err));
            }
        }
    }
}

/// Sends each answer to its request (a request whose client went away is skipped).
fn send_all<T>(replies: Vec<oneshot::Sender<T>>, answers: impl IntoIterator<Item = T>) {
    for (reply, answer) in replies.into_iter().zip(answers) {
        let _ = reply.send(answer);
    }
}
