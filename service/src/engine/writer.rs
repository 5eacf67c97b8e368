//! The writer of one event: it owns the event's queue and sends its batches to the database, overlapping the
//! durable commit of one batch with the next.
//!
//! ```text
//!   batch N     BEGIN; reads ──lock──▶ decide ──▶ writes; COMMIT ····· fsync ·····▶ answer N
//!   batch N+1            BEGIN; reads (waits for the lock) ──lock──▶ decide ──▶ writes; COMMIT ···▶ answer N+1
//!   batch N+2                                 BEGIN; reads (waits for the lock) ──lock──▶ ...
//! ```
//!
//! Each batch is one transaction of two round trips (see `batch`). A new batch starts, on a connection of its own,
//! as soon as the one before it holds the event's row lock: its `SELECT ... FOR UPDATE` waits in the database and
//! gets the lock the moment the batch before commits. The database releases the lock when a commit is done in
//! memory and before the log is flushed, so batches no longer wait for each other's disk flush, and the flushes of
//! several batches are made together (group commit). A batch reads under the lock only what the batches before it
//! committed, and the log is flushed in commit order, so a batch can never be durable without the batches it read.
//! Nothing is answered before its own COMMIT has answered (invariant I4), and a batch that writes nothing else
//! writes a durability mark so that its COMMIT waits for a flush covering the rows its answers rest on (I5, see
//! `store::durability`). At most [`PIPELINE_DEPTH`] batches are in flight, each on its own connection. Every
//! session of a writer holds a permit of the writers' share of the pool (`engine::share`): the first waits for one
//! in turn, further ones are taken only when a permit is free at once. A busy writer keeps its sessions (which saves
//! the pool's liveness check before every batch) and gives them back once its queue is empty, or after each batch
//! while other writers wait for the share. On SQLite every writer shares the one writing connection, so batches run
//! one at a time and the connection goes back to the pool after each.
//!
//! When the availability hint says that every request of a batch asks for more seats than are left (a sold-out flood
//! of keyed requests, which the hint cannot answer itself), the batch is first decided on a read-only snapshot
//! without the row lock, in one round trip ([`WriterTask::snapshot`]); only if that snapshot would book anything does
//! the batch take the lock. How a batch ended and what each of its requests hears is `engine::outcome`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt as _};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};

use super::batch::{Change, Decided, Reads};
use super::hint::Hint;
use super::outcome::{Jobs, Outcome};
use super::share::Share;
use super::{Job, OnCommit};
use crate::domain::{now_millis, ReservationRequest};
use crate::store::ids::IdAllocator;
use crate::store::script::{Script, Session};
use crate::store::{commit_may_have_applied, durability, is_retryable, Db, Dialect, Redacted};

/// How often a batch is tried again after a retryable database error (a key race or a deadlock).
const ATTEMPTS: usize = 3;
/// The most batches of one event in flight at once on MySQL: one holding the row lock, one waiting for it, the
/// others waiting for their commit to be flushed.
pub const PIPELINE_DEPTH: usize = 4;

/// The task that owns one event's queue.
pub(super) struct WriterTask {
    pub event_id: i64,
    pub db: Db,
    pub ids: Arc<IdAllocator>,
    pub max_batch: usize,
    pub hint: Arc<Hint>,
    /// How long the hint counts as fresh.
    pub hint_ttl: Duration,
    pub share: Arc<Share>,
    pub on_commit: OnCommit,
    /// Counts the batches in the order they took the row lock, which is the order they commit in.
    pub locks_taken: AtomicU64,
}

/// A session kept between batches, with its permit of the writers' share.
pub(super) struct Kept {
    session: Session,
    permit: OwnedSemaphorePermit,
}

impl WriterTask {
    pub async fn run(self, mut queue: mpsc::Receiver<Job>) {
        let depth = match self.db.dialect {
            Dialect::MySql => PIPELINE_DEPTH,
            Dialect::Sqlite => 1,
        };
        let mut idle: Vec<Kept> = Vec::new();
        let mut in_flight = FuturesUnordered::new();
        // Until the newest batch holds the row lock, the next one waits here rather than in the database.
        let mut locking: Option<oneshot::Receiver<()>> = None;
        let mut received = Vec::with_capacity(self.max_batch);
        let mut open = true;
        while open || !in_flight.is_empty() {
            // Once the hint says the event is sold out, the batches in flight are let finish first, so that the next
            // one can be decided on a snapshot (which needs none in flight) instead of queueing on the lock.
            let sold_out = self.hint.fresh(self.hint_ttl, Instant::now()).is_some_and(|event| event.available <= 0);
            let may_start = open
                && locking.is_none()
                && in_flight.len() < depth
                && (in_flight.is_empty() || (!sold_out && (!idle.is_empty() || self.room_for_another())));
            tokio::select! {
                Some(kept) = in_flight.next(), if !in_flight.is_empty() => {
                    idle.extend(kept);
                    let quiet = in_flight.is_empty() && queue.is_empty();
                    if self.db.dialect == Dialect::Sqlite || quiet || self.share.exhausted() {
                        idle.clear();
                    }
                }
                _ = async { locking.as_mut().expect("checked").await }, if locking.is_some() => {
                    locking = None;
                }
                count = queue.recv_many(&mut received, self.max_batch), if may_start => {
                    if count == 0 {
                        open = false;
                        continue;
                    }
                    metrics::gauge!("ticketing_queue_depth").set(queue.len() as f64);
                    metrics::histogram!("ticketing_batch_size").record(count as f64);
                    let (locked, lock_taken) = oneshot::channel();
                    locking = Some(lock_taken);
                    let jobs = Jobs::new(std::mem::take(&mut received));
                    let snapshot = in_flight.is_empty() && self.refused_by_hint(&jobs);
                    in_flight.push(self.batch(jobs, idle.pop(), locked, snapshot));
                }
                else => break,
            }
        }
    }

    /// Whether the writer may take another session without making anybody wait: a permit of the writers' share is
    /// free and so is a connection of the pool.
    fn room_for_another(&self) -> bool {
        let pool = &self.db.writer;
        !self.share.exhausted() && (pool.num_idle() > 0 || pool.size() < pool.options().get_max_connections())
    }

    /// Whether the hint says every request of `jobs` asks for more seats than are left (on MySQL, with no cancel or
    /// confirm among them): such a batch is first decided on a snapshot, without the row lock.
    fn refused_by_hint(&self, jobs: &Jobs) -> bool {
        let Some(event) = self.hint.fresh(self.hint_ttl, Instant::now()) else { return false };
        self.db.dialect == Dialect::MySql
            && jobs.changes.is_empty()
            && !jobs.reserves.is_empty()
            && jobs.reserves.iter().all(|request| request.quantity > event.available)
    }

    /// Runs one batch to its end and answers it; `locked` is told once the batch holds the row lock (or gave up).
    /// With `snapshot`, the batch is first decided on a snapshot (see [`Self::snapshot`]). Returns the session to
    /// keep for the next batch, if it is still good.
    async fn batch(&self, jobs: Jobs, kept: Option<Kept>, locked: oneshot::Sender<()>, snapshot: bool) -> Option<Kept> {
        // Read before anything of the event is, so that a change the batch may not see stops it storing a hint.
        let generation = self.hint.generation();
        let (mut permit, mut session) = kept.map_or((None, None), |kept| (Some(kept.permit), Some(kept.session)));
        let mut locked = Some(locked);
        let requests: Vec<&ReservationRequest> = jobs.reserves.iter().collect();
        if snapshot {
            match self.snapshot(&mut permit, &mut session, &requests).await {
                Ok(Some(decided)) => {
                    metrics::counter!("ticketing_snapshot_batches_total").increment(1);
                    drop(locked);
                    drop(requests);
                    self.answer(jobs, Outcome::Refused(decided), generation);
                    return keep(permit, session);
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::debug!(event_id = self.event_id, error = %Redacted(&error), "snapshot read failed; deciding under the lock");
                    session = None;
                }
            }
        }
        let outcome = match self.take_ids(&mut permit, &mut session, requests.len()).await {
            Ok(ids) => {
                let mut attempt = 1;
                loop {
                    match self.attempt(&mut permit, &mut session, &requests, &jobs.changes, &ids, &mut locked).await {
                        Ok(outcome) => break outcome,
                        Err(error) => {
                            // The session rolled the transaction back; the next try starts on a connection the pool
                            // has checked (the session's goes back to the pool, or is closed if the rollback failed).
                            session = None;
                            if attempt < ATTEMPTS && is_retryable(&error) {
                                tracing::warn!(event_id = self.event_id, attempt, error = %Redacted(&error), "retrying a batch");
                                attempt += 1;
                            } else {
                                break Outcome::Failed(error);
                            }
                        }
                    }
                }
            }
            Err(error) => {
                session = None;
                Outcome::Failed(error)
            }
        };
        drop(locked);
        drop(requests);
        self.answer(jobs, outcome, generation);
        keep(permit, session)
    }

    /// One try of a batch: its reads under the row lock, the decision, its writes and the commit.
    async fn attempt(
        &self,
        permit: &mut Option<OwnedSemaphorePermit>,
        session: &mut Option<Session>,
        requests: &[&ReservationRequest],
        changes: &[Change],
        ids: &[i64],
        locked: &mut Option<oneshot::Sender<()>>,
    ) -> Result<Outcome, sqlx::Error> {
        let dialect = self.db.dialect;
        let held = self.session(permit, session).await?;
        let mut script = Script::new(dialect);
        script.begin();
        let reads = Reads::push(&mut script, dialect, self.event_id, requests, changes, now_millis(), true);
        let started = Instant::now();
        let answers = held.run(&script).await;
        metrics::histogram!("ticketing_batch_seconds", "phase" => "reads").record(started.elapsed().as_secs_f64());
        if let Some(locked) = locked.take() {
            let _ = locked.send(());
        }
        if let Some(error) = answers.error {
            return Err(error);
        }
        let place = self.locks_taken.fetch_add(1, Ordering::AcqRel);
        let read = match reads.parse(&answers.answers, changes) {
            Ok(Some(read)) => read,
            Ok(None) => {
                held.rollback().await;
                return Ok(Outcome::NoEvent);
            }
            Err(error) => {
                held.rollback().await;
                return Err(error);
            }
        };
        let now = now_millis();
        let decided = match Decided::new(read, self.event_id, requests, ids, now) {
            Ok(decided) => decided,
            Err(error) => {
                held.rollback().await;
                return Err(error);
            }
        };
        let mut script = Script::new(dialect);
        let writes = decided.push_writes(&mut script, self.event_id, now);
        let started = Instant::now();
        let answers = held.run(&script).await;
        metrics::histogram!("ticketing_batch_seconds", "phase" => "writes").record(started.elapsed().as_secs_f64());
        if let Some(error) = answers.error {
            if commit_may_have_applied(&error) {
                // The connection failed with the COMMIT on its way: nothing about it can be learnt on it any more.
                *session = None;
                return Ok(Outcome::CommitLost(decided, error));
            }
            return Err(error);
        }
        if writes.counter.is_some_and(|index| answers.answers[index].rows_affected != 1) {
            // The row lock makes this impossible. It committed, so the clients must retry with their keys to learn
            // what it did.
            let error = sqlx::Error::Protocol("the seat counter update changed no row".into());
            return Ok(Outcome::CommitLost(decided, error));
        }
        Ok(Outcome::Committed(decided, place))
    }

    /// Decides a batch on one consistent snapshot, without the row lock: a read-only transaction whose reads are those
    /// of a locked batch, sent with its `COMMIT` and a durability mark (which makes every commit the snapshot saw
    /// durable) in one round trip. Returns the decision when it books nothing (every request refused or replayed
    /// from the snapshot); `None` when the snapshot leaves seats for some request (or the event is gone), and the
    /// batch is then decided under the lock as usual.
    ///
    /// An answer from the snapshot is one the requests could have had at the snapshot's instant, which lies within
    /// each request's lifetime: no earlier batch of this writer is in flight, so the snapshot sees every booking
    /// that came before them here, and any batch of another replica that commits later is ordered after them, just
    /// as when a locked batch of this replica takes the lock first. A sold-out flood of keyed requests (which the hint
    /// cannot answer, since a key may belong to a booking to replay) thus costs no row lock and one round trip.
    async fn snapshot(
        &self,
        permit: &mut Option<OwnedSemaphorePermit>,
        session: &mut Option<Session>,
        requests: &[&ReservationRequest],
    ) -> Result<Option<Decided>, sqlx::Error> {
        let dialect = self.db.dialect;
        let held = self.session(permit, session).await?;
        let mut script = Script::new(dialect);
        script.begin_read_only();
        let reads = Reads::push(&mut script, dialect, self.event_id, requests, &[], now_millis(), false);
        script.end_transaction(true);
        durability::push_mark(&mut script, self.event_id);
        let answers = held.run(&script).await;
        if let Some(error) = answers.error {
            return Err(error);
        }
        let Some(read) = reads.parse(&answers.answers, &[])? else { return Ok(None) };
        // No ids: a request that would book makes `Decided::new` fail, and the batch goes under the lock.
        Ok(Decided::new(read, self.event_id, requests, &[], now_millis()).ok().filter(Decided::books_nothing))
    }

    /// The batch's session: on a connection from the pool if it has none, after its permit of the writers' share if
    /// it has none either (waiting for its turn).
    async fn session<'s>(
        &self,
        permit: &mut Option<OwnedSemaphorePermit>,
        session: &'s mut Option<Session>,
    ) -> Result<&'s mut Session, sqlx::Error> {
        if session.is_none() {
            if permit.is_none() {
                *permit = Some(self.share.wait().await);
            }
            *session = Some(Session::new(self.db.writer.acquire().await?, self.db.dialect));
        }
        Ok(session.as_mut().expect("set above"))
    }

    /// Ids for the batch's reservations, fetched (when the allocator's block runs out) on the batch's own
    /// connection, so that a writer never waits for a second connection while it holds one.
    async fn take_ids(
        &self,
        permit: &mut Option<OwnedSemaphorePermit>,
        session: &mut Option<Session>,
        count: usize,
    ) -> Result<Vec<i64>, sqlx::Error> {
        let held = self.session(permit, session).await?;
        self.ids.take(held.connection(), count).await
    }
}

/// What a batch gives back to keep for the next one: its session and permit, when it still has both.
fn keep(permit: Option<OwnedSemaphorePermit>, session: Option<Session>) -> Option<Kept> {
    Some(Kept { session: session?, permit: permit? })
}
