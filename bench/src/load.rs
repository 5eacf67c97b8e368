//! The two load models that drive a [`Workload`]: closed (N connections, each sends its next request when the
//! previous answer arrives) and open (a fixed arrival rate; latency is measured from the intended send time, so a
//! slow answer is charged for the requests it delayed: the coordinated-omission correction).
//!
//! ```text
//!  closed: worker k:  send -> answer -> send -> answer ...            latency = answer - send
//!  open:   worker k:  intended t0, t0+K/R, t0+2K/R ... (send at max(now, intended))
//!                                                                     latency = answer - intended
//! ```
//! Both connect every worker before the clock starts and show a progress bar on stderr while they run.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::Barrier;

use crate::conn::{Conn, Target};
use crate::recorder::{Measured, Recorder};

/// What a worker reports after one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The answer is what the scenario counts as a success.
    pub success: bool,
    /// This worker has nothing more to do (for example, the event is sold out).
    pub done: bool,
    /// Wait this long before the next request (the service asked to retry later); not counted as latency.
    pub pause: Duration,
}

impl Step {
    pub const SUCCESS: Step = Step { success: true, done: false, pause: Duration::ZERO };
    pub const FAILURE: Step = Step { success: false, done: false, pause: Duration::ZERO };
    pub const DONE: Step = Step { success: false, done: true, pause: Duration::ZERO };

    /// A failure after which the worker backs off for `pause`.
    pub fn back_off(pause: Duration) -> Step {
        Step { success: false, done: false, pause }
    }
}

/// A scenario's request logic. Each worker owns a `State`; `step` sends exactly one request on the worker's
/// connection and returns how it went.
pub trait Workload: Send + Sync + 'static {
    type State: Send + 'static;

    /// The initial state of worker `worker`.
    fn state(&self, worker: usize) -> Self::State;

    /// Sends one request.
    fn step(&self, conn: &mut Conn, state: &mut Self::State) -> impl Future<Output = Step> + Send;

    /// Progress towards completion as (done, total), for workloads that end by themselves.
    fn progress(&self) -> Option<(u64, u64)> {
        None
    }
}

/// How long a run lasts.
#[derive(Debug, Clone, Copy)]
pub enum Length {
    /// A fixed wall-clock duration.
    For(Duration),
    /// Until every worker reports `done`, but no longer than the given limit.
    UntilDone(Duration),
}

impl Length {
    fn limit(self) -> Duration {
        match self {
            Length::For(duration) | Length::UntilDone(duration) => duration,
        }
    }
}

/// Runs `workload` in the closed model with `connections` workers.
pub async fn run_closed<W: Workload>(
    label: &str,
    target: &Target,
    connections: usize,
    length: Length,
    workload: Arc<W>,
) -> anyhow::Result<Measured> {
    run(label, target, connections, length, workload, None).await
}

/// Runs `workload` in the open model: `rate` requests per second spread over `connections` workers for `duration`.
pub async fn run_open<W: Workload>(
    label: &str,
    target: &Target,
    connections: usize,
    rate: f64,
    duration: Duration,
    workload: Arc<W>,
) -> anyhow::Result<Measured> {
    anyhow::ensure!(rate > 0.0, "the open model needs a positive rate");
    run(label, target, connections, Length::For(duration), workload, Some(rate)).await
}

async fn run<W: Workload>(
    label: &str,
    target: &Target,
    connections: usize,
    length: Length,
    workload: Arc<W>,
    rate: Option<f64>,
) -> anyhow::Result<Measured> {
    anyhow::ensure!(connections > 0, "a run needs at least one connection");
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut conn = Conn::new(target);
        conn.connect().await?;
        conns.push(conn);
    }
    let barrier = Arc::new(Barrier::new(connections + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let recorder = Arc::new(Recorder::new(Instant::now()));
    let mut tasks = Vec::with_capacity(connections);
    for (worker, mut conn) in conns.into_iter().enumerate() {
        let (barrier, stop, recorder, workload) = (barrier.clone(), stop.clone(), recorder.clone(), workload.clone());
        tasks.push(tokio::spawn(async move {
            let mut state = workload.state(worker);
            barrier.wait().await;
            let start = recorder.start();
            let deadline = start + length.limit();
            // In the open model each worker sends at its own fixed interval, offset so the workers interleave.
            let schedule = rate.map(|rate| {
                let interval = Duration::from_secs_f64(connections as f64 / rate);
                (start + Duration::from_secs_f64(worker as f64 / rate), interval)
            });
            let mut intended = schedule.map(|(first, _)| first);
            loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let sent = match intended {
                    Some(at) => {
                        if at >= deadline {
                            break;
                        }
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    None => Instant::now(),
                };
                if sent >= deadline {
                    break;
                }
                let step = workload.step(&mut conn, &mut state).await;
                let completed = Instant::now();
                recorder.record(completed, completed.saturating_duration_since(sent), step.success);
                if let (Some(at), Some((_, interval))) = (intended.as_mut(), schedule) {
                    *at += interval;
                }
                if step.done {
                    break;
                }
                if !step.pause.is_zero() {
                    tokio::time::sleep(step.pause).await;
                }
            }
        }));
    }

    let bar = progress_bar(label, length, workload.progress().is_some());
    barrier.wait().await;
    let ticker = {
        let (bar, recorder, workload, stop) = (bar.clone(), recorder.clone(), workload.clone(), stop.clone());
        tokio::spawn(async move {
            let deadline = recorder.start() + length.limit();
            while !stop.load(Ordering::Relaxed) {
                let elapsed = recorder.start().elapsed();
                let requests = recorder.requests();
                let rate = requests as f64 / elapsed.as_secs_f64().max(1e-3);
                match workload.progress() {
                    Some((done, total)) => {
                        bar.set_length(total);
                        bar.set_position(done);
                    }
                    None => bar.set_position(elapsed.as_millis() as u64),
                }
                bar.set_message(format!("{requests} requests, {rate:.0}/s"));
                if Instant::now() >= deadline {
                    stop.store(true, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    for task in tasks {
        task.await?;
    }
    let end = Instant::now();
    stop.store(true, Ordering::Relaxed);
    ticker.await?;
    bar.finish_and_clear();
    let recorder = Arc::try_unwrap(recorder).map_err(|_| anyhow::anyhow!("recorder still shared after the run"))?;
    Ok(recorder.finish(end))
}

fn progress_bar(label: &str, length: Length, self_ending: bool) -> ProgressBar {
    let total = if self_ending { 1 } else { length.limit().as_millis() as u64 };
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{prefix:>16} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg}")
            .expect("static progress template is valid"),
    );
    bar.set_prefix(label.to_string());
    bar
}
