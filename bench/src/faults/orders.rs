//! How the campaign's side traffic places, confirms and cancels one reservation, the way a careful client would,
//! recording what it was told in the [`Journal`](super::journal::Journal).
//!
//! A keyed order is retried with the same `Idempotency-Key` after any answer that is not final (a lost answer, a
//! 5xx, a 429), so it books at most once whatever happens. An order without a key is retried only after answers
//! that promise nothing was written (`503 unavailable`, `503 queue_full`, `429`); after an answer that leaves the
//! outcome unknown the buyer stops, since trying again could book twice.

use std::time::{Duration, Instant};

use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use serde_json::json;

use crate::auth::Credentials;
use crate::conn::{Call, Conn};
use crate::outcome::{class_of, Ack, Refusal, TRANSPORT};

use super::journal::{outcome_unknown, retry_safe, Increase, Shared};

/// How often one order is sent before the client gives up.
const ATTEMPTS: u32 = 40;
/// The pause before trying again (or `Retry-After`, capped at [`MAX_PAUSE`]).
const PAUSE: Duration = Duration::from_millis(25);
const MAX_PAUSE: Duration = Duration::from_millis(500);

/// One order of one buyer.
pub struct Order<'a> {
    pub event: i64,
    pub user: &'a str,
    pub quantity: i64,
    /// The `Idempotency-Key`, if the buyer sends one.
    pub key: Option<&'a str>,
}

/// Places `order` on `conn`; the acknowledgement if it booked. Refusals, unknown outcomes and errors go to the
/// journal.
pub async fn place(conn: &mut Conn, credentials: &Credentials, order: &Order<'_>, journal: &Shared) -> Option<Ack> {
    let body = json!({"eventId": order.event, "userId": order.user, "quantity": order.quantity});
    let mut call = Call::json(Method::POST, "/api/reservations", &body).auth(&credentials.buyer_bearer(order.user));
    if let Some(key) = order.key {
        let value = HeaderValue::from_str(key).expect("keys are visible ASCII");
        call = call.header(HeaderName::from_static("idempotency-key"), value);
    }
    if order.key.is_none() {
        journal.lock().unkeyed.entry(order.user.to_owned()).or_default().event = order.event;
    }
    let first_sent = Instant::now();
    for _ in 0..ATTEMPTS {
        let sent = Instant::now();
        let (class, reply) = match conn.send(&call).await {
            Ok(reply) if reply.status == StatusCode::CREATED || reply.status == StatusCode::OK => {
                let ack = Ack::from_created(&reply, order.event, order.user, order.key.unwrap_or(""), order.quantity);
                let Some(mut ack) = ack else {
                    journal.error("201 without id");
                    return None;
                };
                ack.sent = Some(first_sent);
                let mut journal = journal.lock();
                if order.key.is_none() {
                    journal.unkeyed.entry(order.user.to_owned()).or_default().acknowledged += 1;
                }
                journal.acknowledged.push(ack.clone());
                return Some(ack);
            }
            Ok(reply) => (class_of(&reply), Some(reply)),
            Err(_) => (TRANSPORT.to_owned(), None),
        };
        journal.error(&class);
        if let Some(reply) = &reply {
            if class.ends_with(" sold_out") || reply.status.is_server_error() || reply.status.as_u16() == 429 {
                let refusal = Refusal {
                    event: order.event,
                    quantity: order.quantity,
                    class: class.clone(),
                    keyed: order.key.is_some(),
                    sent,
                    received: Instant::now(),
                };
                journal.lock().refusals.push(refusal);
            }
        }
        let again =
            if order.key.is_some() { retry_safe(&class) || outcome_unknown(&class) } else { retry_safe(&class) };
        if order.key.is_none() && outcome_unknown(&class) {
            journal.lock().unkeyed.entry(order.user.to_owned()).or_default().unknown += 1;
        }
        if !again {
            return None;
        }
        let asked = reply.and_then(|reply| reply.retry_after).map(Duration::from_secs).unwrap_or(PAUSE);
        tokio::time::sleep(asked.clamp(PAUSE, MAX_PAUSE)).await;
    }
    journal.error("gave up");
    None
}

/// What a confirm or cancel led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Acknowledged (200), with the time the answer arrived.
    Done(Instant),
    /// Refused with a final answer (409: expired, already cancelled, ...): nothing changed.
    Refused,
    /// No final answer after every attempt: it may or may not have happened.
    Unknown,
}

/// Confirms (`confirm`) or cancels the buyer's reservation `ack`, retrying after answers that are not final.
pub async fn change(conn: &mut Conn, credentials: &Credentials, ack: &Ack, confirm: bool, journal: &Shared) -> Change {
    let bearer = credentials.buyer_bearer(&ack.user);
    let call = if confirm {
        Call::json(Method::POST, format!("/api/reservations/{}/confirm", ack.id), &json!({})).auth(&bearer)
    } else {
        let mut call = Call::get(format!("/api/reservations/{}", ack.id)).auth(&bearer);
        call.method = Method::DELETE;
        call
    };
    for attempt in 0..ATTEMPTS {
        let class = match conn.send(&call).await {
            // A retry told "already cancelled" follows an attempt that cancelled but whose answer was lost.
            Ok(reply)
                if reply.status == StatusCode::OK
                    || (!confirm && attempt > 0 && reply.code().as_deref() == Some("already_cancelled")) =>
            {
                let done = Instant::now();
                if !confirm {
                    let mut journal = journal.lock();
                    journal.cancelled.push(ack.id.clone());
                    let increase = Increase { event: ack.event, seats: ack.quantity, committed_by: Some(done) };
                    journal.increases.push(increase);
                }
                return Change::Done(done);
            }
            Ok(reply) if reply.status.is_client_error() && reply.status.as_u16() != 429 => {
                journal.error(&class_of(&reply));
                return Change::Refused;
            }
            Ok(reply) => class_of(&reply),
            Err(_) => TRANSPORT.to_owned(),
        };
        journal.error(&class);
        tokio::time::sleep(PAUSE).await;
    }
    if !confirm {
        let mut journal = journal.lock();
        journal.maybe_cancelled.push(ack.id.clone());
        journal.increases.push(Increase { event: ack.event, seats: ack.quantity, committed_by: None });
    }
    Change::Unknown
}
