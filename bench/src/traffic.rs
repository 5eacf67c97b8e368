//! The simple timed workloads: the sold-out flood (purchases of a sold-out event, where the right answer is a
//! fast 409 `sold_out`) and event reads (`GET /api/events/{id}`, the cache path), plus the ceiling's trivial GET.

use std::sync::Mutex;

use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use serde_json::json;

use crate::auth::Credentials;
use crate::conn::{Call, Conn};
use crate::load::{Step, Workload};
use crate::outcome::{class_of, Ack, ErrorCounts, TRANSPORT};

/// Purchases of one seat of a sold-out event, each with a new idempotency key; one buyer per connection.
pub struct SoldOutFlood {
    pub event: i64,
    pub user_prefix: String,
    pub credentials: Credentials,
    pub errors: ErrorCounts,
    /// Reservations the service wrongly acknowledged (the invariant checker sees them too).
    pub acknowledged: Mutex<Vec<Ack>>,
}

/// A flood worker's fixed buyer.
pub struct FloodBuyer {
    user: String,
    bearer: HeaderValue,
}

impl Workload for SoldOutFlood {
    type State = FloodBuyer;

    fn state(&self, worker: usize) -> FloodBuyer {
        let user = format!("{}{worker}", self.user_prefix);
        FloodBuyer { bearer: self.credentials.buyer_bearer(&user), user }
    }

    async fn step(&self, conn: &mut Conn, buyer: &mut FloodBuyer) -> Step {
        let key = uuid::Uuid::new_v4().to_string();
        let body = json!({"eventId": self.event, "userId": buyer.user, "quantity": 1});
        let call = Call::json(Method::POST, "/api/reservations", &body)
            .auth(&buyer.bearer)
            .header(HeaderName::from_static("idempotency-key"), HeaderValue::from_str(&key).expect("uuid"));
        match conn.send(&call).await {
            Ok(reply) if reply.status == StatusCode::CONFLICT && reply.code().as_deref() == Some("sold_out") => {
                Step::SUCCESS
            }
            Ok(reply) => {
                self.errors.add(&class_of(&reply));
                if let Some(ack) = (reply.status == StatusCode::CREATED)
                    .then(|| Ack::from_created(&reply, self.event, &buyer.user, &key, 1))
                    .flatten()
                {
                    self.acknowledged.lock().expect("acknowledged lock poisoned").push(ack);
                }
                Step::FAILURE
            }
            Err(_) => {
                self.errors.add(TRANSPORT);
                Step::FAILURE
            }
        }
    }
}

/// Reads of one event by id, each worker with its own buyer token.
pub struct EventReads {
    pub event: i64,
    pub user_prefix: String,
    pub credentials: Credentials,
    pub errors: ErrorCounts,
}

impl Workload for EventReads {
    type State = Call;

    fn state(&self, worker: usize) -> Call {
        let user = format!("{}{worker}", self.user_prefix);
        Call::get(format!("/api/events/{}", self.event)).auth(&self.credentials.buyer_bearer(&user))
    }

    async fn step(&self, conn: &mut Conn, call: &mut Call) -> Step {
        get_expecting_ok(conn, call, &self.errors).await
    }
}

/// The ceiling's request: a GET of the trivial handler.
pub struct TrivialGet {
    pub path: &'static str,
    pub errors: ErrorCounts,
}

impl Workload for TrivialGet {
    type State = Call;

    fn state(&self, _worker: usize) -> Call {
        Call::get(self.path)
    }

    async fn step(&self, conn: &mut Conn, call: &mut Call) -> Step {
        get_expecting_ok(conn, call, &self.errors).await
    }
}

async fn get_expecting_ok(conn: &mut Conn, call: &Call, errors: &ErrorCounts) -> Step {
    match conn.send(call).await {
        Ok(reply) if reply.status == StatusCode::OK => Step::SUCCESS,
        Ok(reply) => {
            errors.add(&class_of(&reply));
            Step::FAILURE
        }
        Err(_) => {
            errors.add(TRANSPORT);
            Step::FAILURE
        }
    }
}
