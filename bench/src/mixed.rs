//! The mixed workload: reads of events, reads of the buyer's own reservations, purchases across many events and
//! cancels of earlier purchases, in fixed proportions. Buyers rotate after a few orders so per-user limits do not
//! dominate. Acknowledged purchases and cancels are kept for the invariant check.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::auth::Credentials;
use crate::conn::{Call, Conn, Reply};
use crate::load::{Step, Workload};
use crate::outcome::{class_of, Ack, ErrorCounts, TRANSPORT};

/// Orders one buyer places before the next buyer takes over the connection.
const ORDERS_PER_BUYER: u32 = 2;

/// The mix, in percent of requests (the rest are cancels).
const READ_EVENT: u32 = 55;
const READ_OWN: u32 = 10;
const PURCHASE: u32 = 25;

pub struct Mixed {
    pub events: Vec<i64>,
    pub user_prefix: String,
    pub credentials: Credentials,
    pub errors: ErrorCounts,
    pub acknowledged: Mutex<Vec<Ack>>,
    pub cancelled: Mutex<Vec<String>>,
    next_user: AtomicU64,
}

impl Mixed {
    pub fn new(events: Vec<i64>, user_prefix: String, credentials: Credentials) -> Self {
        Self {
            events,
            user_prefix,
            credentials,
            errors: ErrorCounts::default(),
            acknowledged: Mutex::new(Vec::new()),
            cancelled: Mutex::new(Vec::new()),
            next_user: AtomicU64::new(0),
        }
    }

    fn new_buyer(&self) -> (String, HeaderValue) {
        let user = format!("{}{}", self.user_prefix, self.next_user.fetch_add(1, Ordering::Relaxed));
        let bearer = self.credentials.buyer_bearer(&user);
        (user, bearer)
    }

    /// Counts a non-success answer under the kind of request it answered, e.g. `cancel: 409 already_cancelled`.
    fn fail(&self, kind: &str, reply: &Reply) -> Step {
        self.errors.add(&format!("{kind}: {}", class_of(reply)));
        Step::FAILURE
    }
}

pub struct MixedState {
    rng: StdRng,
    user: String,
    bearer: HeaderValue,
    orders: u32,
    /// This buyer's confirmed reservations, the next cancel takes the last.
    held: Vec<String>,
}

impl Workload for Mixed {
    type State = MixedState;

    fn state(&self, worker: usize) -> MixedState {
        let (user, bearer) = self.new_buyer();
        MixedState { rng: StdRng::seed_from_u64(worker as u64 ^ 0x5eed), user, bearer, orders: 0, held: Vec::new() }
    }

    async fn step(&self, conn: &mut Conn, state: &mut MixedState) -> Step {
        let roll = state.rng.gen_range(0..100);
        let event = self.events[state.rng.gen_range(0..self.events.len())];
        let cancel = roll >= READ_EVENT + READ_OWN + PURCHASE && !state.held.is_empty();
        let own = (READ_EVENT..READ_EVENT + READ_OWN).contains(&roll);
        let kind = if cancel {
            "cancel"
        } else if own {
            "own reservations"
        } else {
            "event read"
        };
        let call = if cancel {
            let id = state.held.last().expect("checked non-empty");
            Call { method: Method::DELETE, ..Call::get(format!("/api/reservations/{id}")) }.auth(&state.bearer)
        } else if (READ_EVENT + READ_OWN..READ_EVENT + READ_OWN + PURCHASE).contains(&roll) {
            return self.purchase(conn, state, event).await;
        } else if own {
            Call::get(format!("/api/reservations/user/{}", state.user)).auth(&state.bearer)
        } else {
            Call::get(format!("/api/events/{event}")).auth(&state.bearer)
        };
        let reply = match conn.send(&call).await {
            Ok(reply) => reply,
            Err(_) => {
                // A cancel that got no answer stays in `held` and is sent again later.
                self.errors.add(&format!("{kind}: {TRANSPORT}"));
                return Step::FAILURE;
            }
        };
        let already = reply.status == StatusCode::CONFLICT && reply.code().as_deref() == Some("already_cancelled");
        if cancel && (reply.status == StatusCode::OK || already) {
            let id = state.held.pop().expect("checked non-empty");
            self.cancelled.lock().expect("cancelled lock poisoned").push(id);
            return Step::SUCCESS;
        }
        if reply.status == StatusCode::OK {
            Step::SUCCESS
        } else {
            self.fail(kind, &reply)
        }
    }
}

impl Mixed {
    async fn purchase(&self, conn: &mut Conn, state: &mut MixedState, event: i64) -> Step {
        if state.orders >= ORDERS_PER_BUYER {
            (state.user, state.bearer) = self.new_buyer();
            state.orders = 0;
            state.held.clear();
        }
        state.orders += 1;
        let quantity = state.rng.gen_range(1..=4);
        let key = uuid::Uuid::new_v4().to_string();
        let body = json!({"eventId": event, "userId": state.user, "quantity": quantity});
        let call = Call::json(Method::POST, "/api/reservations", &body)
            .auth(&state.bearer)
            .header(HeaderName::from_static("idempotency-key"), HeaderValue::from_str(&key).expect("uuid"));
        let reply = match conn.send(&call).await {
            Ok(reply) => reply,
            Err(_) => {
                self.errors.add(&format!("purchase: {TRANSPORT}"));
                return Step::FAILURE;
            }
        };
        if reply.status == StatusCode::CREATED {
            return match Ack::from_created(&reply, event, &state.user, &key, quantity) {
                Some(ack) => {
                    state.held.push(ack.id.clone());
                    self.acknowledged.lock().expect("acknowledged lock poisoned").push(ack);
                    Step::SUCCESS
                }
                None => self.fail("purchase", &reply),
            };
        }
        // A correct refusal is a successful answer of the service.
        match reply.code().as_deref() {
            Some("sold_out") | Some("user_limit_reached") if reply.status == StatusCode::CONFLICT => Step::SUCCESS,
            _ => self.fail("purchase", &reply),
        }
    }
}
