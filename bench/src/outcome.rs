//! What the generator remembers about answers beyond latency: the reservations the service acknowledged (checked
//! against the database afterwards) and failed requests counted by class.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use crate::conn::Reply;

/// A reservation the service acknowledged with 201.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ack {
    /// The reservation id from the 201 body, as text (numeric ids are written in decimal).
    pub id: String,
    pub event: i64,
    pub user: String,
    /// The `Idempotency-Key` the buyer sent.
    pub key: String,
    pub quantity: i64,
    /// The service answered with a hold (`HELD`) that may lapse on its own (a confirmed hold may not).
    pub held: bool,
    /// The answer was the replay of a booking made by an earlier attempt with the same key.
    pub replayed: bool,
    /// When the order was first sent (the first attempt with this key), for checks that order answers in time.
    #[serde(skip)]
    pub sent: Option<Instant>,
}

impl Ack {
    /// Builds an acknowledgement from a 201 body, if it carries a reservation id.
    pub fn from_created(reply: &Reply, event: i64, user: &str, key: &str, quantity: i64) -> Option<Ack> {
        let body = reply.json();
        let id = id_text(&body["data"]["id"])?;
        let held = body["data"]["status"] == "HELD";
        let (user, key) = (user.to_owned(), key.to_owned());
        Some(Ack { id, event, user, key, quantity, held, replayed: reply.replayed, sent: None })
    }
}

/// An order the service answered with something other than a booking, and when: the fault campaign checks from the
/// database whether seats remained while it was decided.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub event: i64,
    pub quantity: i64,
    /// The answer's class, e.g. `409 sold_out` (see [`class_of`]).
    pub class: String,
    /// The order carried an `Idempotency-Key` (the service's sold-out hint answers only orders without one).
    pub keyed: bool,
    /// When this attempt was sent and when its answer arrived.
    pub sent: Instant,
    pub received: Instant,
}

/// Writes a JSON id (number or string) as text; `None` for anything else.
pub fn id_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::String(text) => Some(text.clone()),
        _ => None,
    }
}

/// The class of an answer for error accounting: `"<status> <code>"`, e.g. `"409 sold_out"`.
pub fn class_of(reply: &Reply) -> String {
    match reply.code() {
        Some(code) => format!("{} {code}", reply.status.as_u16()),
        None => reply.status.as_u16().to_string(),
    }
}

/// The class of a request that got no answer.
pub const TRANSPORT: &str = "transport";

/// Counts of non-success answers by class, shared by all workers.
#[derive(Debug, Default)]
pub struct ErrorCounts(Mutex<BTreeMap<String, u64>>);

impl ErrorCounts {
    pub fn add(&self, class: &str) {
        *self.0.lock().expect("error counts lock poisoned").entry(class.to_owned()).or_default() += 1;
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().expect("error counts lock poisoned").clone()
    }
}
