//! The statements of one batch and the decision between them; the writer (`engine::writer`) sends them.
//!
//! ```text
//!   reads (after BEGIN, in one script)
//!     SELECT event ... FOR UPDATE                 the row lock serialises this event across replicas
//!     UPDATE reservations ... status = ...        per cancel or confirm, conditional on the current status (a
//!     SELECT status FROM reservations ...         cancel gives seats back once, a confirm ends a live hold)
//!     SELECT ... WHERE (user_id = ? AND key = ?)  earlier results of the batch's idempotency keys (an OR of pairs,
//!                      OR ...                     which both dialects answer from the unique index)
//!     SELECT user_id, SUM(quantity) ...           seats the batch's buyers already hold (per-user limit)
//!   decide (pure, `engine::decide`)
//!   writes (in one script, ending with the transaction)
//!     UPDATE events SET available_seats = available_seats - n
//!     INSERT INTO reservations VALUES (...), (...), ...
//!     INSERT INTO durability_marks ...            only when the batch writes nothing else (see below)
//!     COMMIT                                      only then is any answer sent
//! ```
//!
//! A batch that changes no row (every request replayed or refused, every change a repeat) still commits, with a
//! mark written first (`store::durability`): its answers rest on rows that earlier commits made visible, perhaps
//! before their log flush, and only a commit that writes waits for a flush that covers them.
//!
//! The reads come after the row lock, so they see every batch committed before it, from any replica. The table's
//! CHECK constraint (`0 <= available_seats <= total_seats`) makes the database itself refuse an oversell, whatever
//! any cache, hint or lease believes (invariant I1): the counter update fails, the statements after it do not run
//! and the transaction is rolled back. (A guard in the update's `WHERE` would not do inside a script: updating no
//! row is not an error, and the `COMMIT` after it would still run.)

use sqlx::any::AnyRow;
use sqlx::Row as _;

use super::decide::{decide, Decision, Inventory, Prior};
use crate::domain::{Millis, Reservation, ReservationRequest, ReservationStatus};
use crate::error::ApiError;
use crate::store::script::{Answer, Script};
use crate::store::{durability, reservations, Dialect};

/// A change of state for a reservation already read (and checked for ownership) by the caller.
#[derive(Debug, Clone)]
pub struct Change {
    pub reservation: Reservation,
    pub kind: ChangeKind,
}

/// What a [`Change`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Gives the seats back (from `HELD` or `CONFIRMED`).
    Cancel,
    /// Turns a live hold into a confirmed reservation.
    Confirm,
}

/// The answer to a reservation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booked {
    pub reservation: Reservation,
    /// True when this answers a repeated `Idempotency-Key` and nothing new was booked.
    pub replayed: bool,
}

/// The most key pairs one statement looks up (SQLite limits the depth of an expression to 1,000).
const KEYS_PER_STATEMENT: usize = 200;

/// Where the answers to a batch's reads are in the script that carries them.
pub struct Reads {
    lock: usize,
    /// Per change: the conditional update, then the status read after it.
    changes: Vec<(usize, usize)>,
    keys: Vec<usize>,
    held: Option<usize>,
}

/// What a batch's reads found.
pub struct Read {
    inventory: Inventory,
    prior: Prior,
    change_results: Vec<Result<Reservation, ApiError>>,
    /// Per change, whether its update changed the row.
    change_wrote: Vec<bool>,
    /// Seats the batch's cancels gave back.
    restored: i64,
}

impl Reads {
    /// Appends the reads of a batch to `script`, inside the transaction it has begun; with `lock`, the event's row
    /// is read `FOR UPDATE`. (On SQLite the read takes no row lock: the transaction holds the database's write lock.)
    pub fn push(
        script: &mut Script,
        dialect: Dialect,
        event_id: i64,
        reserves: &[&ReservationRequest],
        changes: &[Change],
        now: Millis,
        lock: bool,
    ) -> Self {
        script
            .push(
                "SELECT available_seats, per_user_limit, max_per_order, sales_open_at, sales_close_at, closed_at, \
                 hold_seconds FROM events WHERE id = ",
            )
            .int(event_id)
            .push(if lock { dialect.for_update() } else { "" });
        let lock = script.end();
        let changes = changes.iter().map(|change| change_statements(script, event_id, change, now)).collect();
        let keyed: Vec<(&str, &str)> =
            reserves.iter().filter_map(|r| r.idempotency_key.as_deref().map(|k| (r.user_id.as_str(), k))).collect();
        let keys = keyed
            .chunks(KEYS_PER_STATEMENT)
            .map(|chunk| {
                script.push("SELECT ").push(reservations::COLUMNS).push(" FROM reservations WHERE ");
                for (index, (user, key)) in chunk.iter().enumerate() {
                    script.push(if index == 0 { "(user_id = " } else { " OR (user_id = " });
                    script.text(user).push(" AND idempotency_key = ").text(key).push(")");
                }
                script.end()
            })
            .collect();
        let held = (!reserves.is_empty()).then(|| {
            let mut users: Vec<&str> = reserves.iter().map(|r| r.user_id.as_str()).collect();
            users.sort_unstable();
            users.dedup();
            script
                .push("SELECT user_id, CAST(SUM(quantity) AS SIGNED) AS held FROM reservations WHERE event_id = ")
                .int(event_id)
                .push(" AND status IN ('CONFIRMED', 'HELD') AND user_id IN (")
                .list(users, |script, user| {
                    script.text(user);
                })
                .push(") GROUP BY user_id")
                .end()
        });
        Self { lock, changes, keys, held }
    }

    /// Reads the answers; `None` when the event does not exist.
    pub fn parse(&self, answers: &[Answer], changes: &[Change]) -> Result<Option<Read>, sqlx::Error> {
        let Some(row) = answers[self.lock].rows.first() else { return Ok(None) };
        let inventory = Inventory {
            available: row.try_get("available_seats")?,
            per_user_limit: row.try_get("per_user_limit")?,
            max_per_order: row.try_get("max_per_order")?,
            sales_open_at: row.try_get("sales_open_at")?,
            sales_close_at: row.try_get("sales_close_at")?,
            closed_at: row.try_get("closed_at")?,
            hold_seconds: row.try_get("hold_seconds")?,
        };
        let mut restored = 0;
        let mut change_results = Vec::with_capacity(changes.len());
        let mut change_wrote = Vec::with_capacity(changes.len());
        for (change, &(update, status)) in changes.iter().zip(&self.changes) {
            let changed = answers[update].rows_affected;
            let result = change_result(change, changed, answers[status].rows.first())?;
            if change.kind == ChangeKind::Cancel && changed == 1 {
                restored += change.reservation.quantity;
            }
            change_results.push(result);
            change_wrote.push(changed == 1);
        }
        let mut prior = Prior::default();
        for row in self.keys.iter().flat_map(|&index| &answers[index].rows) {
            let reservation = reservations::from_row(row)?;
            let key = reservation.idempotency_key.clone().unwrap_or_default();
            prior.by_idempotency_key.insert((reservation.user_id.clone(), key), reservation);
        }
        for row in self.held.map_or(&[][..], |index| &answers[index].rows) {
            prior.held_by_user.insert(row.try_get("user_id")?, row.try_get("held")?);
        }
        Ok(Some(Read { inventory, prior, change_results, change_wrote, restored }))
    }
}

/// Writes one cancel or confirm, conditional on the reservation's current status so that a repeat changes
/// nothing, and the read of the status after it; returns the indexes of both.
fn change_statements(script: &mut Script, event_id: i64, change: &Change, now: Millis) -> (usize, usize) {
    let id = change.reservation.id;
    let new_status = match change.kind {
        ChangeKind::Cancel => "CANCELLED",
        ChangeKind::Confirm => "CONFIRMED",
    };
    script.push("UPDATE reservations SET status = '").push(new_status).push("', expires_at = NULL, updated_at = ");
    script.int(now).push(" WHERE id = ").int(id).push(" AND event_id = ").int(event_id);
    match change.kind {
        ChangeKind::Cancel => script.push(" AND status IN ('CONFIRMED', 'HELD')"),
        ChangeKind::Confirm => script.push(" AND status = 'HELD' AND expires_at > ").int(now),
    };
    let update = script.end();
    let status = script.push("SELECT status FROM reservations WHERE id = ").int(id).end();
    (update, status)
}

/// The answer to a change, from whether its update changed the row and the status read after it.
fn change_result(
    change: &Change,
    changed: u64,
    status: Option<&AnyRow>,
) -> Result<Result<Reservation, ApiError>, sqlx::Error> {
    let new_status = match change.kind {
        ChangeKind::Cancel => ReservationStatus::Cancelled,
        ChangeKind::Confirm => ReservationStatus::Confirmed,
    };
    if changed == 1 {
        return Ok(Ok(Reservation { status: new_status, expires_at: None, ..change.reservation.clone() }));
    }
    let current = status.map(|row| row.try_get::<String, _>("status")).transpose()?;
    let id = change.reservation.id;
    Ok(match (change.kind, current.as_deref().and_then(ReservationStatus::from_db)) {
        (ChangeKind::Confirm, Some(ReservationStatus::Confirmed)) => {
            Ok(Reservation { status: ReservationStatus::Confirmed, expires_at: None, ..change.reservation.clone() })
        }
        (_, Some(ReservationStatus::Cancelled)) => Err(ApiError::AlreadyCancelled(id)),
        (_, Some(ReservationStatus::Expired | ReservationStatus::Held)) => Err(ApiError::HoldExpired(id)),
        _ => Err(ApiError::ReservationNotFound(id)),
    })
}

/// A decided batch: the answers, and what its writes store.
pub struct Decided {
    pub results: Vec<Result<Booked, ApiError>>,
    pub change_results: Vec<Result<Reservation, ApiError>>,
    /// Per change, whether its update changed the row.
    change_wrote: Vec<bool>,
    booked: Vec<Reservation>,
    /// Seats the counter loses (negative when cancels gave back more than the batch took).
    delta: i64,
    /// The event as the batch leaves it (`available` is the seats left).
    pub inventory_after: Inventory,
}

/// Where the answers to a batch's writes are in the script that carries them.
pub struct Writes {
    /// The counter update, if the batch changes the counter.
    pub counter: Option<usize>,
    /// The `COMMIT` (or the `ROLLBACK` of a batch that changed nothing).
    pub end: usize,
}

impl Decided {
    /// Decides the batch on what its reads found; `ids` holds at least one fresh id per reservation request.
    pub fn new(
        read: Read,
        event_id: i64,
        reserves: &[&ReservationRequest],
        ids: &[i64],
        now: Millis,
    ) -> Result<Self, sqlx::Error> {
        let Read { mut inventory, prior, change_results, change_wrote, restored } = read;
        inventory.available += restored;
        let (decisions, taken) = decide(&inventory, &prior, reserves, now);
        let mut booked = Vec::new();
        let mut ids = ids.iter().copied();
        let mut results: Vec<Result<Booked, ApiError>> = Vec::with_capacity(reserves.len());
        for (request, decision) in reserves.iter().zip(&decisions) {
            results.push(match decision {
                Decision::Book => {
                    let held = inventory.hold_seconds > 0;
                    let reservation = Reservation {
                        id: ids.next().ok_or_else(|| sqlx::Error::Protocol("not enough reservation ids".into()))?,
                        event_id,
                        user_id: request.user_id.clone(),
                        quantity: request.quantity,
                        status: if held { ReservationStatus::Held } else { ReservationStatus::Confirmed },
                        idempotency_key: request.idempotency_key.clone(),
                        created_at: now,
                        expires_at: held.then(|| now + inventory.hold_seconds * 1000),
                    };
                    booked.push(reservation.clone());
                    Ok(Booked { reservation, replayed: false })
                }
                Decision::Replay(existing) => Ok(Booked { reservation: existing.clone(), replayed: true }),
                // `decide` points only back, at a request of this batch that booked.
                Decision::SameAs(first) => match &results[*first] {
                    Ok(booked) => Ok(Booked { reservation: booked.reservation.clone(), replayed: true }),
                    Err(_) => Err(ApiError::Internal),
                },
                Decision::Refuse(refusal) => Err(refusal.clone().into()),
            });
        }
        inventory.available -= taken;
        Ok(Self { results, change_results, change_wrote, booked, delta: taken - restored, inventory_after: inventory })
    }

    /// Whether the batch books nothing and changes no reservation (every request refused or replayed).
    pub fn books_nothing(&self) -> bool {
        self.booked.is_empty() && self.change_results.is_empty() && self.delta == 0
    }

    /// Whether the batch changes any row: its commit then waits for a flush of its own.
    pub fn wrote(&self) -> bool {
        self.delta != 0 || !self.booked.is_empty() || self.change_wrote.contains(&true)
    }

    /// The answers when the connection was lost after the batch's `COMMIT` was sent: `outcome_unknown` for each
    /// request whose booking or change the commit carried, and `unavailable` (nothing of it was written) for the
    /// others, whose replay or refusal could not be made durable and is decided again on their retry.
    pub fn answers_after_lost_commit(&self) -> (Vec<ApiError>, Vec<ApiError>) {
        let unknown = |carried: bool| if carried { ApiError::OutcomeUnknown } else { ApiError::Unavailable };
        let reserves = self
            .results
            .iter()
            .map(|result| {
                let booked_here = |booked: &Booked| self.booked.iter().any(|new| new.id == booked.reservation.id);
                unknown(result.as_ref().is_ok_and(booked_here))
            })
            .collect();
        let changes = self.change_wrote.iter().map(|&wrote| unknown(wrote)).collect();
        (reserves, changes)
    }

    /// Appends the writes to `script`: the counter, the new reservations, the durability mark when there is nothing
    /// else to write, and the end of the transaction (a rollback only where no mark is needed: SQLite).
    pub fn push_writes(&self, script: &mut Script, event_id: i64, now: Millis) -> Writes {
        let counter = (self.delta != 0).then(|| {
            script
                .push("UPDATE events SET available_seats = available_seats - ")
                .int(self.delta)
                .push(", updated_at = ")
                .int(now)
                .push(" WHERE id = ")
                .int(event_id)
                .end()
        });
        for chunk in self.booked.chunks(500) {
            script.push(
                "INSERT INTO reservations (id, event_id, user_id, quantity, status, idempotency_key, created_at, \
                 updated_at, expires_at) VALUES ",
            );
            script.list(chunk, |script, reservation| {
                script.push("(").int(reservation.id).push(", ").int(reservation.event_id).push(", ");
                script.text(&reservation.user_id).push(", ").int(reservation.quantity).push(", '");
                script.push(reservation.status.as_db()).push("', ").opt_text(reservation.idempotency_key.as_deref());
                script.push(", ").int(now).push(", ").int(now).push(", ").opt_int(reservation.expires_at).push(")");
            });
            script.end();
        }
        let commit = self.wrote() || durability::push_mark(script, event_id).is_some();
        let end = script.end_transaction(commit);
        Writes { counter, end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(available: i64, replayable: Option<Reservation>) -> Read {
        let mut prior = Prior::default();
        if let Some(stored) = replayable {
            prior.by_idempotency_key.insert((stored.user_id.clone(), "k".into()), stored);
        }
        let inventory = Inventory {
            available,
            per_user_limit: 8,
            max_per_order: 4,
            sales_open_at: 0,
            sales_close_at: None,
            closed_at: None,
            hold_seconds: 0,
        };
        Read { inventory, prior, change_results: vec![], change_wrote: vec![], restored: 0 }
    }

    fn stored(id: i64, user: &str) -> Reservation {
        Reservation {
            id,
            event_id: 1,
            user_id: user.into(),
            quantity: 1,
            status: ReservationStatus::Confirmed,
            idempotency_key: Some("k".into()),
            created_at: 0,
            expires_at: None,
        }
    }

    fn request(user: &str, key: Option<&str>) -> ReservationRequest {
        ReservationRequest { event_id: 1, user_id: user.into(), quantity: 1, idempotency_key: key.map(Into::into) }
    }

    #[test]
    fn a_batch_that_only_replays_or_refuses_writes_a_mark_and_commits() {
        let (replay, refused) = (request("a", Some("k")), request("b", None));
        let decided = Decided::new(read(0, Some(stored(7, "a"))), 1, &[&replay, &refused], &[], 5).unwrap();
        assert!(decided.books_nothing() && !decided.wrote());
        for (dialect, end) in [(Dialect::MySql, "COMMIT"), (Dialect::Sqlite, "ROLLBACK")] {
            let mut script = Script::new(dialect);
            decided.push_writes(&mut script, 1, 5);
            let sql = script.as_str();
            assert!(sql.ends_with(end), "{dialect:?}: {sql}");
            assert_eq!(sql.contains("durability_marks"), dialect == Dialect::MySql, "{sql}");
        }
    }

    #[test]
    fn a_batch_that_books_commits_its_writes_without_a_mark() {
        let (new, replay) = (request("b", None), request("a", Some("k")));
        let decided = Decided::new(read(3, Some(stored(7, "a"))), 1, &[&new, &replay], &[11, 12], 5).unwrap();
        assert!(decided.wrote());
        let mut script = Script::new(Dialect::MySql);
        let writes = decided.push_writes(&mut script, 1, 5);
        assert!(writes.counter.is_some() && script.as_str().ends_with("COMMIT"));
        assert!(!script.as_str().contains("durability_marks"));
    }

    #[test]
    fn after_a_lost_commit_only_the_requests_it_carried_have_an_unknown_outcome() {
        let (new, same, replay, refused) =
            (request("b", Some("n")), request("b", Some("n")), request("a", Some("k")), request("c", None));
        let mut read = read(1, Some(stored(7, "a")));
        read.change_results = vec![Err(ApiError::AlreadyCancelled(3)), Ok(stored(4, "d"))];
        read.change_wrote = vec![false, true];
        let decided = Decided::new(read, 1, &[&new, &same, &replay, &refused], &[11, 12, 13, 14], 5).unwrap();
        let codes = |errors: Vec<ApiError>| errors.iter().map(ApiError::code).collect::<Vec<_>>();
        let (reserves, changes) = decided.answers_after_lost_commit();
        assert_eq!(codes(reserves), ["outcome_unknown", "outcome_unknown", "unavailable", "unavailable"]);
        assert_eq!(codes(changes), ["unavailable", "outcome_unknown"]);
    }
}
