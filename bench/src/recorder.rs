//! Latency and throughput recording: one HdrHistogram for the whole run plus per-second buckets for the timeline.
//!
//! Workers share one [`Recorder`]; a record is a short critical section (two histogram increments), which on a
//! two-core machine costs far less than the HTTP round trip it measures. [`Recorder::finish`] turns the recording
//! into a [`Measured`] summary with percentiles and a per-second [`TimelinePoint`] series for the plot.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency the histograms track, in microseconds (one hour); larger values are clamped to it.
const MAX_MICROS: u64 = 3_600_000_000;

/// Records the latency and outcome of every request of one scenario.
pub struct Recorder {
    start: Instant,
    inner: Mutex<Inner>,
}

struct Inner {
    all: Histogram<u64>,
    requests: u64,
    successes: u64,
    buckets: Vec<Bucket>,
}

struct Bucket {
    requests: u64,
    successes: u64,
    latency: Histogram<u64>,
}

impl Bucket {
    fn new() -> Self {
        Self { requests: 0, successes: 0, latency: histogram(2) }
    }
}

fn histogram(significant_figures: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, significant_figures).expect("static histogram bounds are valid")
}

/// The summary of one recorded run.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// Requests completed (answered or failed in transport).
    pub requests: u64,
    /// Requests that ended the way the scenario counts as a success.
    pub successes: u64,
    /// Wall-clock seconds from the start of the run to the last completion.
    pub elapsed_secs: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// One point per second of the run, in order.
    pub timeline: Vec<TimelinePoint>,
}

impl Measured {
    /// Requests per second over the whole run.
    pub fn requests_per_sec(&self) -> f64 {
        per_sec(self.requests, self.elapsed_secs)
    }

    /// Successes per second over the whole run.
    pub fn successes_per_sec(&self) -> f64 {
        per_sec(self.successes, self.elapsed_secs)
    }
}

fn per_sec(count: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

/// Throughput and latency of the requests that completed within one second of the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimelinePoint {
    /// Seconds since the start of the run at which this bucket begins.
    pub second: u64,
    pub requests: u64,
    pub successes: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Recorder {
    /// Starts a recording whose clock (and first timeline bucket) begins at `start`.
    pub fn new(start: Instant) -> Self {
        Self { start, inner: Mutex::new(Inner { all: histogram(3), requests: 0, successes: 0, buckets: Vec::new() }) }
    }

    /// The instant the run started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Records one request that completed at `completed` after taking `latency`.
    pub fn record(&self, completed: Instant, latency: Duration, success: bool) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(MAX_MICROS).clamp(1, MAX_MICROS);
        let second = completed.saturating_duration_since(self.start).as_secs() as usize;
        let mut inner = self.inner.lock().expect("recorder lock poisoned");
        inner.all.saturating_record(micros);
        inner.requests += 1;
        inner.successes += u64::from(success);
        if inner.buckets.len() <= second {
            inner.buckets.resize_with(second + 1, Bucket::new);
        }
        let bucket = &mut inner.buckets[second];
        bucket.requests += 1;
        bucket.successes += u64::from(success);
        bucket.latency.saturating_record(micros);
    }

    /// Requests recorded so far (for progress display).
    pub fn requests(&self) -> u64 {
        self.inner.lock().expect("recorder lock poisoned").requests
    }

    /// Ends the recording at `end` and summarises it.
    pub fn finish(self, end: Instant) -> Measured {
        let elapsed_secs = end.saturating_duration_since(self.start).as_secs_f64();
        let inner = self.inner.into_inner().expect("recorder lock poisoned");
        let timeline = inner
            .buckets
            .iter()
            .enumerate()
            .map(|(second, bucket)| TimelinePoint {
                second: second as u64,
                requests: bucket.requests,
                successes: bucket.successes,
                p50_ms: quantile_ms(&bucket.latency, 0.50),
                p99_ms: quantile_ms(&bucket.latency, 0.99),
            })
            .collect();
        Measured {
            requests: inner.requests,
            successes: inner.successes,
            elapsed_secs,
            p50_ms: quantile_ms(&inner.all, 0.50),
            p99_ms: quantile_ms(&inner.all, 0.99),
            p999_ms: quantile_ms(&inner.all, 0.999),
            max_ms: if inner.all.is_empty() { 0.0 } else { inner.all.max() as f64 / 1000.0 },
            timeline,
        }
    }
}

fn quantile_ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    if histogram.is_empty() {
        return 0.0;
    }
    histogram.value_at_quantile(quantile) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_follow_the_recorded_distribution() {
        let start = Instant::now();
        let recorder = Recorder::new(start);
        // 990 fast requests (1 ms) and 10 slow ones (100 ms): p50 is fast, p99.9 is slow.
        for i in 0..1000u64 {
            let latency = if i < 990 { Duration::from_millis(1) } else { Duration::from_millis(100) };
            recorder.record(start + Duration::from_millis(10), latency, i % 2 == 0);
        }
        let measured = recorder.finish(start + Duration::from_secs(2));
        assert_eq!(measured.requests, 1000);
        assert_eq!(measured.successes, 500);
        assert!((measured.p50_ms - 1.0).abs() < 0.01, "p50 {}", measured.p50_ms);
        assert!((measured.p99_ms - 1.0).abs() < 0.01, "p99 {}", measured.p99_ms);
        assert!((measured.p999_ms - 100.0).abs() < 0.1, "p99.9 {}", measured.p999_ms);
        assert!((measured.requests_per_sec() - 500.0).abs() < 1e-9);
        assert!((measured.successes_per_sec() - 250.0).abs() < 1e-9);
    }

    #[test]
    fn timeline_buckets_requests_by_completion_second() {
        let start = Instant::now();
        let recorder = Recorder::new(start);
        recorder.record(start + Duration::from_millis(100), Duration::from_millis(2), true);
        recorder.record(start + Duration::from_millis(2500), Duration::from_millis(8), false);
        recorder.record(start + Duration::from_millis(2900), Duration::from_millis(8), true);
        let measured = recorder.finish(start + Duration::from_secs(3));
        let shape: Vec<(u64, u64, u64)> =
            measured.timeline.iter().map(|point| (point.second, point.requests, point.successes)).collect();
        assert_eq!(shape, vec![(0, 1, 1), (1, 0, 0), (2, 2, 1)]);
        assert_eq!(measured.timeline[1].p99_ms, 0.0, "an empty second has no latency");
        assert!((measured.timeline[2].p50_ms - 8.0).abs() < 0.1);
    }

    #[test]
    fn an_empty_run_reports_zeroes() {
        let start = Instant::now();
        let measured = Recorder::new(start).finish(start);
        assert_eq!((measured.requests, measured.p99_ms, measured.requests_per_sec()), (0, 0.0, 0.0));
        assert!(measured.timeline.is_empty());
    }
}
