//! The time source of every schedule decision, behind a trait so tests can move time forward.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

/// Tells the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is set; tests use it to cross schedule boundaries. Every move is announced
/// to the receivers of [`ManualClock::moves`], which the operator takes as a cue to reconcile every event.
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
    moved: Arc<watch::Sender<()>>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self { now: Arc::new(Mutex::new(now)), moved: Arc::new(watch::Sender::new(())) }
    }

    /// Moves the clock to `now` and announces the move.
    pub fn set(&self, now: DateTime<Utc>) {
        *self.now.lock().expect("clock lock poisoned") = now;
        self.moved.send_replace(());
    }

    /// A receiver that sees every later move.
    pub fn moves(&self) -> watch::Receiver<()> {
        self.moved.subscribe()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock lock poisoned")
    }
}
