//! How fast a storm gets back to full throughput after a fault: the campaign samples the storm's sold-seat counter
//! every [`SAMPLE_EVERY`] and compares the rate after the fault with the rate just before it.
//!
//! ```text
//!  seats ▲                    ╱
//!        │           ____   ╱   rate over [t, t + WINDOW] >= RECOVERED x baseline  ->  recovered at t
//!        │         ╱ fault ╲╱
//!        │   ╱╱╱╱╱  (inj..healed)
//!        └──────────────────────────► time
//!          baseline = rate over the BASELINE before the fault
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::storm::SeatCounter;

/// How often the counter is read.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(50);
/// The stretch before the fault whose rate is the baseline.
const BASELINE: f64 = 1.0;
/// The stretch over which the rate after the fault is measured.
const WINDOW: f64 = 0.5;
/// The share of the baseline rate that counts as recovered.
const RECOVERED: f64 = 0.7;

/// Sold seats over time: `(seconds since the clock's start, seats)`.
#[derive(Debug, Clone, Default)]
pub struct Samples(pub Vec<(f64, u64)>);

impl Samples {
    /// Seats sold per second over `[from, to]`, from the samples nearest those times; `None` without samples
    /// spanning it.
    fn rate(&self, from: f64, to: f64) -> Option<f64> {
        let at = |time: f64| self.0.iter().rev().find(|(t, _)| *t <= time).copied();
        let (start, end) = (at(from)?, at(to)?);
        let span = end.0 - start.0;
        (span > 0.0).then(|| (end.1 - start.1) as f64 / span)
    }

    /// Every `every`-th sample, for the report.
    pub fn thinned(&self, every: usize) -> Vec<(f64, u64)> {
        self.0.iter().step_by(every.max(1)).map(|(t, seats)| ((t * 1000.0).round() / 1000.0, *seats)).collect()
    }

    /// Seconds from `healed` until the rate over a [`WINDOW`] starting then is back to [`RECOVERED`] of the rate in
    /// the [`BASELINE`] before `injected`. `None` when there is no baseline or the storm ended before it recovered.
    pub fn recovery_secs(&self, injected: f64, healed: f64) -> Option<f64> {
        let baseline = self.rate((injected - BASELINE).max(0.0), injected).filter(|rate| *rate > 0.0)?;
        let last = self.0.last()?.0;
        self.0
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| *t >= healed && t + WINDOW <= last)
            .find(|t| self.rate(*t, t + WINDOW).is_some_and(|rate| rate >= RECOVERED * baseline))
            .map(|t| (t - healed).max(0.0))
    }
}

/// Samples a storm's counter in the background until stopped.
pub struct Sampler {
    samples: Arc<Mutex<Samples>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    /// Starts sampling `sold`; times are measured from `clock`.
    pub fn start(sold: SeatCounter, clock: Instant) -> Self {
        let samples = Arc::new(Mutex::new(Samples::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = {
            let (samples, stop) = (samples.clone(), stop.clone());
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(SAMPLE_EVERY);
                while !stop.load(Ordering::Relaxed) {
                    ticker.tick().await;
                    let point = (clock.elapsed().as_secs_f64(), sold.get());
                    samples.lock().expect("samples lock poisoned").0.push(point);
                }
            })
        };
        Self { samples, stop, task }
    }

    /// Stops sampling and returns what was seen.
    pub async fn finish(self) -> Samples {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        let samples = self.samples.lock().expect("samples lock poisoned");
        samples.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1,000 seats per second, nothing from `stall_from` to `stall_to`, then `after` seats per second.
    fn storm(stall_from: f64, stall_to: f64, after: f64, until: f64) -> Samples {
        let mut seats = 0.0;
        let mut points = Vec::new();
        let mut t = 0.0;
        while t <= until {
            points.push((t, seats as u64));
            let rate = if t < stall_from {
                1000.0
            } else if t < stall_to {
                0.0
            } else {
                after
            };
            seats += rate * 0.05;
            t += 0.05;
        }
        Samples(points)
    }

    #[test]
    fn a_storm_that_resumes_at_once_recovers_in_no_time() {
        let samples = storm(2.0, 3.0, 1000.0, 6.0);
        let recovery = samples.recovery_secs(2.0, 3.0).expect("recovered");
        assert!(recovery < 0.06, "{recovery}");
    }

    #[test]
    fn a_storm_that_stalls_after_the_fault_recovers_when_the_rate_returns() {
        // The fault is healed at 3 s but sales only resume at 4.5 s: the first half-second window that sells at
        // 70 % of the old rate starts 0.15 s before that.
        let samples = storm(2.0, 4.5, 1000.0, 8.0);
        let recovery = samples.recovery_secs(2.0, 3.0).expect("recovered");
        assert!((recovery - 1.35).abs() < 0.11, "{recovery}");
    }

    #[test]
    fn a_storm_that_stays_slow_never_recovers() {
        let samples = storm(2.0, 3.0, 300.0, 8.0);
        assert_eq!(samples.recovery_secs(2.0, 3.0), None);
    }

    #[test]
    fn without_sales_before_the_fault_there_is_no_baseline() {
        let samples = storm(0.0, 3.0, 1000.0, 8.0);
        assert_eq!(samples.recovery_secs(0.0, 3.0), None);
    }
}
