//! Background hold traffic for the lease case (R5): one buyer after another places a one-seat hold on an event
//! whose holds lapse after a second, so the hold sweeper always has seats to give back while its lease is fought
//! over.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use serde_json::json;

use crate::auth::Credentials;
use crate::conn::{Call, Conn, Target};
use crate::outcome::{class_of, Ack, TRANSPORT};

/// The pause between two holds (about a hundred holds a second).
const PACE: Duration = Duration::from_millis(10);

/// The holds placed and the answers that were not 201.
#[derive(Debug, Default)]
pub struct HoldOutcome {
    pub acknowledged: Vec<Ack>,
    pub errors: BTreeMap<String, u64>,
}

/// Hold traffic running in the background.
pub struct HoldTraffic {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<HoldOutcome>,
}

impl HoldTraffic {
    /// Starts placing holds on `event`; buyer ids start with `run` so they never collide with another run's.
    pub fn start(target: Target, credentials: Credentials, event: i64, run: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let prefix = format!("hold-{run}-");
        let task = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut conn = Conn::new(&target);
                let mut outcome = HoldOutcome::default();
                let mut buyer = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    buyer += 1;
                    place_hold(&mut conn, &credentials, event, &format!("{prefix}{buyer}"), &mut outcome).await;
                    tokio::time::sleep(PACE).await;
                }
                outcome
            })
        };
        Self { stop, task }
    }

    /// Stops placing holds and returns what happened.
    pub async fn stop(self) -> HoldOutcome {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or_default()
    }
}

/// Places one hold, retrying with the same key after a failure without an answer (at most a few times).
async fn place_hold(conn: &mut Conn, credentials: &Credentials, event: i64, user: &str, outcome: &mut HoldOutcome) {
    let key = uuid::Uuid::new_v4().to_string();
    let call = Call::json(Method::POST, "/api/reservations", &json!({"eventId": event, "userId": user, "quantity": 1}))
        .auth(&credentials.buyer_bearer(user))
        .header(HeaderName::from_static("idempotency-key"), HeaderValue::from_str(&key).expect("uuid"));
    for _ in 0..5 {
        match conn.send(&call).await {
            Ok(reply) if reply.status == StatusCode::CREATED || reply.status == StatusCode::OK => {
                match Ack::from_created(&reply, event, user, &key, 1) {
                    Some(ack) => outcome.acknowledged.push(ack),
                    None => *outcome.errors.entry("201 without id".to_owned()).or_default() += 1,
                }
                return;
            }
            Ok(reply) => {
                *outcome.errors.entry(class_of(&reply)).or_default() += 1;
                if !reply.status.is_server_error() {
                    return;
                }
            }
            Err(_) => *outcome.errors.entry(TRANSPORT.to_owned()).or_default() += 1,
        }
        tokio::time::sleep(PACE).await;
    }
}
