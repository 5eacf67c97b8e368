//! The pure decision of a batch: which requests get seats, and why the others do not.
//!
//! The writer has locked the event's row and read what the decision needs ([`Inventory`], [`Prior`]); this module
//! decides every request of the batch in arrival order, exactly as if they had come one at a time, so batching
//! changes throughput but never an answer. It does no I/O and is unit-tested on its own.

use std::collections::HashMap;

use crate::domain::{format_timestamp, Millis, Reservation, ReservationRequest};
use crate::error::ApiError;

/// The event's row as read under its lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    pub available: i64,
    pub per_user_limit: i64,
    pub max_per_order: i64,
    pub sales_open_at: Millis,
    pub sales_close_at: Option<Millis>,
    pub closed_at: Option<Millis>,
    /// Seconds a new reservation is held before it must be confirmed; 0 confirms at once.
    pub hold_seconds: i64,
}

/// What the database already holds that bears on the batch.
#[derive(Debug, Default)]
pub struct Prior {
    /// Seats each buyer of the batch already holds for this event.
    pub held_by_user: HashMap<String, i64>,
    /// Reservations already made with a buyer's idempotency key, by `(user_id, key)`.
    pub by_idempotency_key: HashMap<(String, String), Reservation>,
}

/// Why a request gets no seats. Cloneable, so a duplicate in the same batch gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    SoldOut { available: i64, requested: i64 },
    UserLimitReached { limit: i64, held: i64 },
    SaleNotOpen(Millis),
    SaleClosed,
    AboveMaxPerOrder(i64),
    IdempotencyKeyReused,
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::SoldOut { available, requested } => ApiError::SoldOut { available, requested },
            Refusal::UserLimitReached { limit, held } => ApiError::UserLimitReached { limit, held },
            Refusal::SaleNotOpen(at) => ApiError::SaleNotOpen(format_timestamp(at)),
            Refusal::SaleClosed => ApiError::SaleClosed,
            Refusal::AboveMaxPerOrder(max) => {
                ApiError::Invalid(format!("quantity must not exceed this event's maximum of {max} per order"))
            }
            Refusal::IdempotencyKeyReused => ApiError::IdempotencyKeyReused,
        }
    }
}

/// The answer to one request of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// New seats: the writer inserts a reservation.
    Book,
    /// A repeat of a request already stored: answer with that reservation, book nothing.
    Replay(Reservation),
    /// A repeat of an earlier request in this batch (by index) that booked: answer with its reservation.
    SameAs(usize),
    /// No seats.
    Refuse(Refusal),
}

/// Decides the batch. Returns one decision per request and the seats the batch takes.
pub fn decide(
    inventory: &Inventory,
    prior: &Prior,
    requests: &[&ReservationRequest],
    now: Millis,
) -> (Vec<Decision>, i64) {
    let mut available = inventory.available;
    let mut held = prior.held_by_user.clone();
    let mut first_with_key: HashMap<(&str, &str), usize> = HashMap::new();
    let mut decisions = Vec::with_capacity(requests.len());
    for (index, request) in requests.iter().enumerate() {
        if let Some(key) = request.idempotency_key.as_deref() {
            if let Some(existing) = prior.by_idempotency_key.get(&(request.user_id.clone(), key.to_owned())) {
                decisions.push(if existing.event_id == request.event_id && existing.quantity == request.quantity {
                    Decision::Replay(existing.clone())
                } else {
                    Decision::Refuse(Refusal::IdempotencyKeyReused)
                });
                continue;
            }
            if let Some(&first) = first_with_key.get(&(request.user_id.as_str(), key)) {
                let same = requests[first].quantity == request.quantity;
                decisions.push(if same {
                    Decision::SameAs(first)
                } else {
                    Decision::Refuse(Refusal::IdempotencyKeyReused)
                });
                continue;
            }
        }
        let decision = match refusal(inventory, available, &held, request, now) {
            // A refusal stores nothing, so it does not use up the key: a later request with it is decided anew.
            Some(refusal) => Decision::Refuse(refusal),
            None => {
                available -= request.quantity;
                *held.entry(request.user_id.clone()).or_default() += request.quantity;
                if let Some(key) = request.idempotency_key.as_deref() {
                    first_with_key.insert((request.user_id.as_str(), key), index);
                }
                Decision::Book
            }
        };
        decisions.push(decision);
    }
    (decisions, inventory.available - available)
}

/// The first rule a new request breaks, if any, checked in the order a buyer would want to hear them.
fn refusal(
    inventory: &Inventory,
    available: i64,
    held: &HashMap<String, i64>,
    request: &ReservationRequest,
    now: Millis,
) -> Option<Refusal> {
    if let Some(refusal) = sale_refusal(inventory, request, now) {
        return Some(refusal);
    }
    let already = held.get(&request.user_id).copied().unwrap_or(0);
    if already + request.quantity > inventory.per_user_limit {
        return Some(Refusal::UserLimitReached { limit: inventory.per_user_limit, held: already });
    }
    if request.quantity > available {
        return Some(Refusal::SoldOut { available, requested: request.quantity });
    }
    None
}

/// The rules that come before the buyer's own seats: the sale window and the order maximum.
fn sale_refusal(inventory: &Inventory, request: &ReservationRequest, now: Millis) -> Option<Refusal> {
    if inventory.closed_at.is_some() || inventory.sales_close_at.is_some_and(|close| now >= close) {
        return Some(Refusal::SaleClosed);
    }
    if now < inventory.sales_open_at {
        return Some(Refusal::SaleNotOpen(inventory.sales_open_at));
    }
    if request.quantity > inventory.max_per_order {
        return Some(Refusal::AboveMaxPerOrder(inventory.max_per_order));
    }
    None
}

/// The refusal the availability hint may give without the database: `inventory` is the event as the writer's last
/// batch left it. The rules are checked in the order of [`decide`], so a request hears `sold_out` only when the sale
/// is open and the order within its maximum. The per-user limit, which needs the buyer's reservations, is left to
/// the database: a request the hint lets through is decided there in full.
pub fn hint_refusal(inventory: &Inventory, request: &ReservationRequest, now: Millis) -> Option<Refusal> {
    sale_refusal(inventory, request, now).or_else(|| {
        (request.quantity > inventory.available)
            .then_some(Refusal::SoldOut { available: inventory.available, requested: request.quantity })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ReservationStatus;

    fn inventory(available: i64) -> Inventory {
        Inventory {
            available,
            per_user_limit: 4,
            max_per_order: 4,
            sales_open_at: 0,
            sales_close_at: None,
            closed_at: None,
            hold_seconds: 0,
        }
    }

    fn request(user: &str, quantity: i64, key: Option<&str>) -> ReservationRequest {
        ReservationRequest { event_id: 1, user_id: user.into(), quantity, idempotency_key: key.map(Into::into) }
    }

    #[test]
    fn seats_go_in_arrival_order_and_a_smaller_later_request_still_fits() {
        let (a, b, c) = (request("a", 3, None), request("b", 2, None), request("c", 1, None));
        let (decisions, taken) = decide(&inventory(4), &Prior::default(), &[&a, &b, &c], 10);
        assert_eq!(decisions[0], Decision::Book);
        assert_eq!(decisions[1], Decision::Refuse(Refusal::SoldOut { available: 1, requested: 2 }));
        assert_eq!(decisions[2], Decision::Book);
        assert_eq!(taken, 4);
    }

    #[test]
    fn the_per_user_limit_counts_prior_seats_and_the_batch() {
        let mut prior = Prior::default();
        prior.held_by_user.insert("a".into(), 2);
        let (first, second) = (request("a", 2, None), request("a", 1, None));
        let (decisions, taken) = decide(&inventory(100), &prior, &[&first, &second], 10);
        assert_eq!(decisions[0], Decision::Book);
        assert_eq!(decisions[1], Decision::Refuse(Refusal::UserLimitReached { limit: 4, held: 4 }));
        assert_eq!(taken, 2);
    }

    #[test]
    fn a_repeated_key_books_once_inside_a_batch_and_across_batches() {
        let (first, again) = (request("a", 1, Some("k")), request("a", 1, Some("k")));
        let (decisions, taken) = decide(&inventory(10), &Prior::default(), &[&first, &again], 10);
        assert_eq!(decisions, vec![Decision::Book, Decision::SameAs(0)]);
        assert_eq!(taken, 1);

        let stored = Reservation {
            id: 7,
            event_id: 1,
            user_id: "a".into(),
            quantity: 1,
            status: ReservationStatus::Confirmed,
            idempotency_key: Some("k".into()),
            created_at: 1,
            expires_at: None,
        };
        let mut prior = Prior::default();
        prior.by_idempotency_key.insert(("a".into(), "k".into()), stored.clone());
        let different = request("a", 2, Some("k"));
        let (decisions, taken) = decide(&inventory(0), &prior, &[&first, &different], 10);
        assert_eq!(decisions, vec![Decision::Replay(stored), Decision::Refuse(Refusal::IdempotencyKeyReused)]);
        assert_eq!(taken, 0);
    }

    #[test]
    fn a_refused_request_does_not_use_up_its_key() {
        let (too_many, corrected) = (request("a", 2, Some("k")), request("a", 1, Some("k")));
        let (decisions, taken) = decide(&inventory(1), &Prior::default(), &[&too_many, &corrected], 10);
        assert_eq!(decisions, vec![Decision::Refuse(Refusal::SoldOut { available: 1, requested: 2 }), Decision::Book]);
        assert_eq!(taken, 1);
    }

    #[test]
    fn the_sale_window_and_the_order_maximum_are_enforced() {
        let mut window = inventory(10);
        window.sales_open_at = 100;
        window.sales_close_at = Some(200);
        let one = request("a", 1, None);
        assert_eq!(decide(&window, &Prior::default(), &[&one], 99).0[0], Decision::Refuse(Refusal::SaleNotOpen(100)));
        assert_eq!(decide(&window, &Prior::default(), &[&one], 200).0[0], Decision::Refuse(Refusal::SaleClosed));
        assert_eq!(decide(&window, &Prior::default(), &[&one], 150).0[0], Decision::Book);
        let five = request("a", 5, None);
        assert_eq!(
            decide(&inventory(10), &Prior::default(), &[&five], 0).0[0],
            Decision::Refuse(Refusal::AboveMaxPerOrder(4))
        );
    }

    #[test]
    fn the_hint_refuses_as_the_database_would_and_sale_rules_come_before_sold_out() {
        let mut sold_out = inventory(0);
        sold_out.sales_open_at = 100;
        sold_out.sales_close_at = Some(200);
        let one = request("a", 1, None);
        assert_eq!(hint_refusal(&sold_out, &one, 99), Some(Refusal::SaleNotOpen(100)));
        assert_eq!(hint_refusal(&sold_out, &one, 200), Some(Refusal::SaleClosed));
        assert_eq!(hint_refusal(&sold_out, &one, 150), Some(Refusal::SoldOut { available: 0, requested: 1 }));
        sold_out.closed_at = Some(120);
        assert_eq!(hint_refusal(&sold_out, &one, 150), Some(Refusal::SaleClosed));
        assert_eq!(
            hint_refusal(&inventory(0), &request("a", 5, None), 0),
            Some(Refusal::AboveMaxPerOrder(4)),
            "an order above the maximum is invalid whatever is left"
        );
        assert_eq!(hint_refusal(&inventory(1), &one, 0), None, "seats left: the database decides");
        // Whenever the hint refuses, the database would refuse too (the per-user limit aside, which it cannot see).
        for available in 0..3 {
            for quantity in 1..6 {
                let asked = request("a", quantity, None);
                if let Some(refusal) = hint_refusal(&inventory(available), &asked, 0) {
                    let (decided, _) = decide(&inventory(available), &Prior::default(), &[&asked], 0);
                    assert_eq!(decided[0], Decision::Refuse(refusal));
                }
            }
        }
    }
}
