//! The side traffic of every case, beside its storm: every kind of request a buyer or an organiser sends, so that
//! each fault meets all of them.
//!
//! | worker | event | what it does |
//! |---|---|---|
//! | keyed buyers | sales | one order each, with a key, retried with it; a quarter of the bookings cancelled later |
//! | buyers without a key | sales | one order each, retried only after answers that promise nothing was written |
//! | duplicates | sales | one keyed order sent four times at once, twice to each replica |
//! | organiser | sales | adds seats to the event every few hundred milliseconds (an admin capacity edit) |
//! | holders | holds | one-second holds: half confirmed, some cancelled, the rest left to lapse |
//!
//! The sales event is small, so it sells out within the first second and then lives on the seats the organiser and
//! the cancels give back: that is where a stale sold-out answer would show.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use rand::Rng;
use serde_json::json;
use tokio::sync::mpsc;

use crate::api::EventRef;
use crate::auth::Credentials;
use crate::conn::{Call, Conn, Target};
use crate::outcome::{class_of, Ack, TRANSPORT};

use super::journal::{Increase, Shared};
use super::orders::{self, Change, Order};

/// The pause between two orders of one worker.
const PACE: Duration = Duration::from_millis(10);
/// How often the organiser adds seats, and how many.
const EDIT_EVERY: Duration = Duration::from_millis(300);
const EDIT_SEATS: i64 = 6;
/// Buyers of each kind.
const KEYED_BUYERS: usize = 4;
const UNKEYED_BUYERS: usize = 4;
const HOLDERS: usize = 2;
/// Copies of one keyed order sent at once, spread over the replicas.
const COPIES: usize = 4;

/// The events the side traffic uses.
#[derive(Debug, Clone, Copy)]
pub struct MixEvents {
    /// No holds; small, sold out early, refilled by edits and cancels.
    pub sales: EventRef,
    /// One-second holds.
    pub holds: EventRef,
}

/// The side traffic of a case, running until stopped.
pub struct Mix {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// What every worker shares.
#[derive(Clone)]
struct Ctx {
    credentials: Credentials,
    events: MixEvents,
    run: String,
    journal: Shared,
    stop: Arc<AtomicBool>,
    next: Arc<AtomicU64>,
}

impl Ctx {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }

    /// A user id no other order of the campaign uses.
    fn user(&self, kind: &str) -> String {
        format!("{}-{kind}{}", self.run, self.next.fetch_add(1, Ordering::Relaxed))
    }
}

impl Mix {
    /// Starts every worker; `replicas` holds one target per replica (the duplicates go to each), `all` spreads
    /// over them. `run` prefixes every user id.
    pub fn start(
        all: &Target,
        replicas: &[Target],
        credentials: &Credentials,
        events: MixEvents,
        run: &str,
        journal: &Shared,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ctx = Ctx {
            credentials: credentials.clone(),
            events,
            run: run.to_owned(),
            journal: journal.clone(),
            stop: stop.clone(),
            next: Arc::new(AtomicU64::new(0)),
        };
        let (cancels, to_cancel) = mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for _ in 0..KEYED_BUYERS {
            tasks.push(tokio::spawn(keyed_buyer(ctx.clone(), Conn::new(all), cancels.clone())));
        }
        for _ in 0..UNKEYED_BUYERS {
            tasks.push(tokio::spawn(unkeyed_buyer(ctx.clone(), Conn::new(all))));
        }
        for _ in 0..HOLDERS {
            tasks.push(tokio::spawn(holder(ctx.clone(), Conn::new(all), Conn::new(all))));
        }
        let copies = (0..COPIES).map(|copy| Conn::new(&replicas[copy % replicas.len()])).collect();
        tasks.push(tokio::spawn(duplicates(ctx.clone(), copies)));
        tasks.push(tokio::spawn(organiser(ctx.clone(), Conn::new(all))));
        tasks.push(tokio::spawn(canceller(ctx, Conn::new(all), to_cancel)));
        Self { stop, tasks }
    }

    /// Stops every worker and waits for them.
    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn keyed_buyer(ctx: Ctx, mut conn: Conn, cancels: mpsc::UnboundedSender<Ack>) {
    while ctx.running() {
        let (user, key) = (ctx.user("k"), uuid::Uuid::new_v4().to_string());
        let quantity = rand::thread_rng().gen_range(1..=2);
        let order = Order { event: ctx.events.sales.id, user: &user, quantity, key: Some(&key) };
        if let Some(ack) = orders::place(&mut conn, &ctx.credentials, &order, &ctx.journal).await {
            if rand::thread_rng().gen_ratio(1, 4) {
                let _ = cancels.send(ack);
            }
        }
        tokio::time::sleep(PACE).await;
    }
}

async fn unkeyed_buyer(ctx: Ctx, mut conn: Conn) {
    while ctx.running() {
        let user = ctx.user("u");
        let quantity = rand::thread_rng().gen_range(1..=2);
        let order = Order { event: ctx.events.sales.id, user: &user, quantity, key: None };
        orders::place(&mut conn, &ctx.credentials, &order, &ctx.journal).await;
        tokio::time::sleep(PACE).await;
    }
}

/// Cancels the bookings the keyed buyers hand over, until they stop.
async fn canceller(ctx: Ctx, mut conn: Conn, mut to_cancel: mpsc::UnboundedReceiver<Ack>) {
    while let Some(ack) = to_cancel.recv().await {
        orders::change(&mut conn, &ctx.credentials, &ack, false, &ctx.journal).await;
    }
}

/// Sends one keyed order [`COPIES`] times at once, to every replica in turn.
async fn duplicates(ctx: Ctx, mut copies: Vec<Conn>) {
    while ctx.running() {
        let (user, key) = (ctx.user("d"), uuid::Uuid::new_v4().to_string());
        let order = Order { event: ctx.events.sales.id, user: &user, quantity: 1, key: Some(&key) };
        let sends = copies.iter_mut().map(|conn| orders::place(conn, &ctx.credentials, &order, &ctx.journal));
        futures::future::join_all(sends).await;
        tokio::time::sleep(PACE * 3).await;
    }
}

/// Adds [`EDIT_SEATS`] seats to the sales event every [`EDIT_EVERY`].
async fn organiser(ctx: Ctx, mut conn: Conn) {
    let event = ctx.events.sales;
    let mut total = event.capacity;
    while ctx.running() {
        tokio::time::sleep(EDIT_EVERY).await;
        let body = json!({
            "eventName": "faults-sales",
            "totalSeats": total + EDIT_SEATS,
            "eventDate": "2031-06-01T19:00:00",
            "maxPerOrder": 2,
            "perUserLimit": 8,
            "holdSeconds": 0,
        });
        let call =
            Call::json(Method::PUT, format!("/api/events/{}", event.id), &body).auth(&ctx.credentials.admin_bearer());
        let (class, committed_by) = match conn.send(&call).await {
            Ok(reply) if reply.status == StatusCode::OK => {
                total += EDIT_SEATS;
                (None, Some(Instant::now()))
            }
            Ok(reply) if reply.status.is_client_error() => (Some(class_of(&reply)), None),
            Ok(reply) => (Some(class_of(&reply)), None),
            Err(_) => (Some(TRANSPORT.to_owned()), None),
        };
        match (class, committed_by) {
            (None, committed_by) => {
                ctx.journal.lock().increases.push(Increase { event: event.id, seats: EDIT_SEATS, committed_by })
            }
            (Some(class), _) => {
                // A lost answer may still have committed: the edit counts as seats that came back at an unknown
                // time, and the next edit sets the total this one aimed at (an edit sets, it does not add).
                if !class.starts_with('4') {
                    ctx.journal.lock().increases.push(Increase { event: event.id, seats: EDIT_SEATS, committed_by });
                }
                ctx.journal.error(&format!("edit {class}"));
            }
        }
    }
}

/// Places one-second holds; confirms half of them before they lapse, cancels some, lets the rest lapse.
async fn holder(ctx: Ctx, mut conn: Conn, mut changes: Conn) {
    while ctx.running() {
        let (user, key) = (ctx.user("h"), uuid::Uuid::new_v4().to_string());
        let order = Order { event: ctx.events.holds.id, user: &user, quantity: 1, key: Some(&key) };
        if let Some(mut ack) = orders::place(&mut conn, &ctx.credentials, &order, &ctx.journal).await {
            let fate = rand::thread_rng().gen_range(0..10);
            if fate < 5 {
                // Confirmed well before the hold lapses; a confirmed hold must never lapse.
                let change = orders::change(&mut changes, &ctx.credentials, &ack, true, &ctx.journal).await;
                if matches!(change, Change::Done(_)) {
                    confirmed(&ctx, &mut ack);
                }
            } else if fate < 7 {
                orders::change(&mut changes, &ctx.credentials, &ack, false, &ctx.journal).await;
            }
        }
        tokio::time::sleep(PACE).await;
    }
}

/// Marks a journalled hold as confirmed: it may no longer lapse.
fn confirmed(ctx: &Ctx, ack: &mut Ack) {
    ack.held = false;
    let mut journal = ctx.journal.lock();
    if let Some(entry) = journal.acknowledged.iter_mut().rev().find(|entry| entry.id == ack.id) {
        entry.held = false;
    }
}
