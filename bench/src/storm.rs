//! The hot-event storm driver, reusable by the suite and the fault campaign: many concurrent buyers, each with
//! its own JWT and `Idempotency-Key`, buy 1..=max seats of one event until it is sold out.
//!
//! Every connection serves a stream of buyers: a buyer sends one purchase and is replaced by the next. A buyer
//! retries with the same key after a transport failure, a 5xx or a 429 (so a lost answer cannot book twice), and
//! asks for one seat after a `sold_out` refusal of a larger order, so the event sells out exactly. A worker stops
//! when a one-seat order is refused as sold out.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::auth::Credentials;
use crate::conn::{Call, Conn, Target};
use crate::load::{run_closed, Length, Step, Workload};
use crate::outcome::{class_of, Ack, ErrorCounts, Refusal, TRANSPORT};
use crate::recorder::Measured;

/// The longest pause a `Retry-After` answer makes a buyer wait.
const MAX_PAUSE: Duration = Duration::from_secs(1);
/// The pause after a transport failure before the buyer tries again.
const TRANSPORT_PAUSE: Duration = Duration::from_millis(20);

/// What to storm and how hard.
#[derive(Debug, Clone)]
pub struct StormConfig {
    pub event: i64,
    /// Seats the event holds; the storm ends when all are sold.
    pub capacity: i64,
    /// Concurrent buyers (one keep-alive connection each).
    pub connections: usize,
    /// Each buyer asks for 1..=`max_quantity` seats.
    pub max_quantity: i64,
    /// Prefix of the generated user ids; must be unique per run so buyers never collide across runs.
    pub user_prefix: String,
    /// How often a buyer sends the same purchase before giving up.
    pub max_attempts: u32,
    /// The storm stops after this long even if seats remain.
    pub time_limit: Duration,
    /// Seats acknowledged so far, for a caller that watches the storm while it runs (the fault campaign).
    pub sold: SeatCounter,
}

/// A shared count of acknowledged seats.
#[derive(Debug, Clone, Default)]
pub struct SeatCounter(Arc<AtomicU64>);

impl SeatCounter {
    /// Seats acknowledged so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn add(&self, seats: u64) {
        self.0.fetch_add(seats, Ordering::Relaxed);
    }
}

/// What a storm observed.
#[derive(Debug, Clone)]
pub struct StormOutcome {
    pub measured: Measured,
    /// Every reservation acknowledged with 201.
    pub acknowledged: Vec<Ack>,
    /// Every answer other than a booking (sold out, 5xx, 429), with its timing.
    pub refusals: Vec<Refusal>,
    /// Non-201 answers and transport failures by class.
    pub errors: BTreeMap<String, u64>,
    /// Seats in the acknowledged reservations.
    pub seats_acknowledged: i64,
    /// Every worker ended on a one-seat `sold_out` answer (rather than the time limit).
    pub sold_out: bool,
    /// Buyers that gave up after `max_attempts`.
    pub abandoned: u64,
}

/// Runs a storm against `target` and collects what the buyers were told.
pub async fn run_storm(
    target: &Target,
    credentials: &Credentials,
    config: &StormConfig,
) -> anyhow::Result<StormOutcome> {
    let workload = Arc::new(Storm {
        config: config.clone(),
        credentials: credentials.clone(),
        next_buyer: AtomicU64::new(0),
        finished_workers: AtomicUsize::new(0),
        abandoned: AtomicU64::new(0),
        acknowledged: Mutex::new(Vec::new()),
        refusals: Mutex::new(Vec::new()),
        errors: ErrorCounts::default(),
    });
    let measured =
        run_closed("storm", target, config.connections, Length::UntilDone(config.time_limit), workload.clone()).await?;
    let storm = Arc::try_unwrap(workload).map_err(|_| anyhow::anyhow!("storm workload still shared"))?;
    Ok(StormOutcome {
        measured,
        seats_acknowledged: storm.config.sold.get() as i64,
        sold_out: storm.finished_workers.load(Ordering::Relaxed) == config.connections,
        abandoned: storm.abandoned.load(Ordering::Relaxed),
        errors: storm.errors.snapshot(),
        acknowledged: storm.acknowledged.into_inner().expect("acknowledged lock poisoned"),
        refusals: storm.refusals.into_inner().expect("refusals lock poisoned"),
    })
}

struct Storm {
    config: StormConfig,
    credentials: Credentials,
    next_buyer: AtomicU64,
    finished_workers: AtomicUsize,
    abandoned: AtomicU64,
    acknowledged: Mutex<Vec<Ack>>,
    refusals: Mutex<Vec<Refusal>>,
    errors: ErrorCounts,
}

/// One buyer's purchase in flight.
struct Buyer {
    user: String,
    bearer: HeaderValue,
    key: String,
    quantity: i64,
    attempts: u32,
    /// When the first attempt with this key was sent.
    first_sent: Option<Instant>,
}

struct WorkerState {
    rng: StdRng,
    buyer: Option<Buyer>,
}

impl Storm {
    fn new_buyer(&self, rng: &mut StdRng) -> Buyer {
        let number = self.next_buyer.fetch_add(1, Ordering::Relaxed);
        let user = format!("{}{number}", self.config.user_prefix);
        Buyer {
            bearer: self.credentials.buyer_bearer(&user),
            user,
            key: uuid::Uuid::new_v4().to_string(),
            quantity: rng.gen_range(1..=self.config.max_quantity.max(1)),
            attempts: 0,
            first_sent: None,
        }
    }

    /// Counts a failed attempt and drops the buyer once it has used up its attempts.
    fn retry_or_abandon(&self, state: &mut WorkerState, pause: Duration) -> Step {
        let buyer = state.buyer.as_mut().expect("a buyer is in flight");
        if buyer.attempts >= self.config.max_attempts {
            state.buyer = None;
            self.abandoned.fetch_add(1, Ordering::Relaxed);
            return Step::FAILURE;
        }
        Step::back_off(pause)
    }
}

impl Workload for Storm {
    type State = WorkerState;

    fn state(&self, worker: usize) -> WorkerState {
        WorkerState { rng: StdRng::seed_from_u64(worker as u64), buyer: None }
    }

    async fn step(&self, conn: &mut Conn, state: &mut WorkerState) -> Step {
        if state.buyer.is_none() {
            state.buyer = Some(self.new_buyer(&mut state.rng));
        }
        let buyer = state.buyer.as_mut().expect("set above");
        buyer.attempts += 1;
        let sent = Instant::now();
        buyer.first_sent.get_or_insert(sent);
        let body = json!({"eventId": self.config.event, "userId": buyer.user, "quantity": buyer.quantity});
        let call = Call::json(Method::POST, "/api/reservations", &body)
            .auth(&buyer.bearer)
            .header(HeaderName::from_static("idempotency-key"), HeaderValue::from_str(&buyer.key).expect("uuid"));
        let reply = match conn.send(&call).await {
            Ok(reply) => reply,
            Err(_) => {
                self.errors.add(TRANSPORT);
                return self.retry_or_abandon(state, TRANSPORT_PAUSE);
            }
        };
        if reply.status == StatusCode::CREATED || reply.status == StatusCode::OK {
            let buyer = state.buyer.take().expect("a buyer is in flight");
            match Ack::from_created(&reply, self.config.event, &buyer.user, &buyer.key, buyer.quantity) {
                Some(mut ack) => {
                    ack.sent = buyer.first_sent;
                    self.config.sold.add(buyer.quantity as u64);
                    self.acknowledged.lock().expect("acknowledged lock poisoned").push(ack);
                    return Step::SUCCESS;
                }
                None => {
                    self.errors.add("201 without id");
                    return Step::FAILURE;
                }
            }
        }
        let class = class_of(&reply);
        self.errors.add(&class);
        let refused = class.ends_with(" sold_out");
        if refused || reply.status.is_server_error() || reply.status == StatusCode::TOO_MANY_REQUESTS {
            let (event, quantity) = (self.config.event, buyer.quantity);
            let received = Instant::now();
            let refusal = Refusal { event, quantity, class: class.clone(), keyed: true, sent, received };
            self.refusals.lock().expect("refusals lock poisoned").push(refusal);
        }
        if refused {
            if buyer.quantity > 1 {
                // Smaller orders may still fit; a new key, because the refused order booked nothing.
                buyer.quantity = 1;
                buyer.key = uuid::Uuid::new_v4().to_string();
                buyer.attempts = 0;
                buyer.first_sent = None;
                return Step::FAILURE;
            }
            state.buyer = None;
            self.finished_workers.fetch_add(1, Ordering::Relaxed);
            return Step::DONE;
        }
        if reply.status.is_server_error() || reply.status == StatusCode::TOO_MANY_REQUESTS {
            let pause = Duration::from_secs(reply.retry_after.unwrap_or(0)).min(MAX_PAUSE).max(TRANSPORT_PAUSE);
            return self.retry_or_abandon(state, pause);
        }
        // Any other refusal is final for this buyer.
        state.buyer = None;
        self.abandoned.fetch_add(1, Ordering::Relaxed);
        Step::FAILURE
    }

    fn progress(&self) -> Option<(u64, u64)> {
        Some((self.config.sold.get(), self.config.capacity.max(1) as u64))
    }
}
