//! The reservation engine: one writer per event that batches its pending requests into single transactions.
//!
//! ```text
//!   handler ──try_send──▶ [bounded queue of event 7] ──▶ writer task of event 7 ──▶ one transaction per batch
//!      ▲                        (full: 503 queue_full)          │ drains up to max_batch requests   (`writer`)
//!      └──────────── oneshot reply, sent only after COMMIT ◀────┘
//! ```
//!
//! Inside a replica every change to an event's seats goes through its writer, so requests never race each other
//! and never see "busy" (I2); across replicas the event's row lock, taken first in every batch, serialises
//! writers. Combining a batch in one transaction passes the hot-row limit of a single counter. Each writer keeps an
//! availability hint (the event as its last batch left it, `hint`) that answers a sold-out flood without touching
//! the database, for requests that carry no idempotency key (a keyed request may be a retry of a success and must
//! see its first result). The writers of a process share part of the connection pool and leave the rest to
//! everything else (`share`).
//!
//! ```text
//!   mod      Engine: the writers by event, the queue in front of each, the hint's answers
//!   writer   the task of one event: batches in flight, sessions, snapshots
//!   outcome  how a batch ended and what each request hears
//!   batch    the statements of a batch and the decision between them
//!   decide   the pure decision
//!   hint     the availability hint of one event
//!   share    the writers' share of the pool
//! ```

pub mod batch;
pub mod decide;
mod hint;
mod outcome;
mod share;
mod writer;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::domain::{now_millis, Reservation, ReservationRequest};
use crate::error::ApiError;
use crate::store::ids::IdAllocator;
use crate::store::{events, Db};
pub use batch::{Booked, Change, ChangeKind};
use decide::Refusal;
use hint::Hint;
use share::Share;
use writer::WriterTask;

/// Tuning of the engine.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Requests one event may have waiting; more are answered 503 `queue_full`.
    pub queue_depth: usize,
    /// The most requests one transaction combines.
    pub max_batch: usize,
    /// How long the availability hint may answer a refusal before the database is asked again.
    pub hint_ttl: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { queue_depth: 20_000, max_batch: 512, hint_ttl: Duration::from_millis(250) }
    }
}

/// Called after every commit that changed an event's seats (the cache invalidates the event).
pub type OnCommit = Arc<dyn Fn(i64) + Send + Sync>;

/// The per-event writers of this process.
pub struct Engine {
    db: Db,
    ids: Arc<IdAllocator>,
    config: EngineConfig,
    writers: Mutex<HashMap<i64, Writer>>,
    share: Arc<Share>,
    on_commit: OnCommit,
}

#[derive(Clone)]
struct Writer {
    queue: mpsc::Sender<Job>,
    hint: Arc<Hint>,
}

enum Job {
    Reserve(ReservationRequest, oneshot::Sender<Result<Booked, ApiError>>),
    Change(Change, oneshot::Sender<Result<Reservation, ApiError>>),
}

impl Engine {
    /// An engine over `db`; `on_commit` runs after each commit that changed an event's seats.
    pub fn new(db: Db, config: EngineConfig, on_commit: OnCommit) -> Self {
        Self {
            share: Arc::new(Share::of(&db.writer)),
            db,
            ids: Arc::new(IdAllocator::default()),
            config,
            writers: Mutex::new(HashMap::new()),
            on_commit,
        }
    }

    /// Reserves seats. Answers only after the transaction that booked them committed (I4).
    pub async fn reserve(&self, request: ReservationRequest) -> Result<Booked, ApiError> {
        let writer = self.writer(request.event_id).await?;
        if request.idempotency_key.is_none() {
            if let Some(refusal) = writer.hint.refusal(&request, self.config.hint_ttl, Instant::now(), now_millis()) {
                if matches!(refusal, Refusal::SoldOut { .. }) {
                    metrics::counter!("ticketing_sold_out_answers_total", "path" => "hint").increment(1);
                }
                return Err(refusal.into());
            }
        }
        let (reply, answer) = oneshot::channel();
        self.enqueue(&writer, Job::Reserve(request, reply))?;
        let result = answer.await.map_err(|_| ApiError::Internal)?;
        if let Err(ApiError::SoldOut { .. }) = &result {
            metrics::counter!("ticketing_sold_out_answers_total", "path" => "database").increment(1);
        }
        result
    }

    /// Cancels a reservation already read by the caller; seats come back exactly once (I3).
    pub async fn cancel(&self, reservation: Reservation) -> Result<Reservation, ApiError> {
        self.change(Change { reservation, kind: ChangeKind::Cancel }).await
    }

    /// Confirms a live hold already read by the caller.
    pub async fn confirm(&self, reservation: Reservation) -> Result<Reservation, ApiError> {
        self.change(Change { reservation, kind: ChangeKind::Confirm }).await
    }

    async fn change(&self, change: Change) -> Result<Reservation, ApiError> {
        let writer = self.writer(change.reservation.event_id).await?;
        let (reply, answer) = oneshot::channel();
        self.enqueue(&writer, Job::Change(change, reply))?;
        answer.await.map_err(|_| ApiError::Internal)?
    }

    /// Forgets the availability hint of an event whose seats or definition changed outside its writer (an edit, a
    /// close, a sweep, or a commit whose outcome is unknown), and keeps batches that began before from storing theirs.
    pub fn forget_hint(&self, event_id: i64) {
        if let Some(writer) = self.writers.lock().unwrap_or_else(|e| e.into_inner()).get(&event_id) {
            writer.hint.forget();
        }
    }

    fn enqueue(&self, writer: &Writer, job: Job) -> Result<(), ApiError> {
        writer.queue.try_send(job).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => {
                metrics::counter!("ticketing_queue_full_total").increment(1);
                ApiError::QueueFull
            }
            mpsc::error::TrySendError::Closed(_) => ApiError::Internal,
        })
    }

    /// The writer of `event_id`, started on first use once the event is known to exist.
    async fn writer(&self, event_id: i64) -> Result<Writer, ApiError> {
        if let Some(writer) = self.live_writer(event_id) {
            return Ok(writer);
        }
        if events::get(&self.db, event_id).await?.is_none() {
            return Err(ApiError::EventNotFound(event_id));
        }
        let mut writers = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(writer) = writers.get(&event_id).filter(|w| !w.queue.is_closed()) {
            return Ok(writer.clone());
        }
        let (queue, jobs) = mpsc::channel(self.config.queue_depth);
        let hint = Arc::new(Hint::default());
        let writer = Writer { queue, hint: hint.clone() };
        writers.insert(event_id, writer.clone());
        let task = WriterTask {
            event_id,
            db: self.db.clone(),
            ids: self.ids.clone(),
            max_batch: self.config.max_batch,
            hint,
            hint_ttl: self.config.hint_ttl,
            share: self.share.clone(),
            on_commit: self.on_commit.clone(),
            locks_taken: AtomicU64::new(0),
        };
        tokio::spawn(task.run(jobs));
        Ok(writer)
    }

    fn live_writer(&self, event_id: i64) -> Option<Writer> {
        let writers = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        writers.get(&event_id).filter(|w| !w.queue.is_closed()).cloned()
    }
}
