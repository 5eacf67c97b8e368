//! The benchmark suite: the ceiling, then every scenario against each service under test, an invariant check
//! after each scenario, and the rows for the report.
//!
//! ```text
//!  ceiling (in-process axum) ──► rows[0]
//!  service under test (spawned on sqlite or MariaDB+Redis, or --target)
//!     storm ─► sold-out flood ─► event reads ─► mixed      each followed by the invariant check
//!  (with MariaDB+Redis) a second service on the embedded SQLite: storm
//! ```

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;

use crate::api::{self, EventRef};
use crate::auth::Credentials;
use crate::ceiling;
use crate::conn::{Conn, Target};
use crate::invariants::{self, EventExpectation, Expectations, Verdict, Violation};
use crate::load::{run_closed, run_open, Length};
use crate::mixed::Mixed;
use crate::outcome::{Ack, ErrorCounts};
use crate::report::{Row, CEILING};
use crate::service_proc::{cpu_seconds, ensure_database, peak_rss_mb, reset_peak_rss, Backend, ServiceProcess};
use crate::storm::{run_storm, SeatCounter, StormConfig};
use crate::traffic::{EventReads, SoldOutFlood, TrivialGet};

/// How big each scenario is.
#[derive(Debug, Clone)]
pub struct Sizes {
    pub storm_seats: i64,
    /// Connections of the storm, the flood, the reads and the ceiling.
    pub connections: usize,
    pub max_quantity: i64,
    pub storm_limit: Duration,
    pub ceiling: Duration,
    pub flood: Duration,
    pub reads: Duration,
    pub mixed: Duration,
    pub mixed_rate: f64,
    pub mixed_connections: usize,
    pub mixed_events: usize,
    pub mixed_seats: i64,
}

impl Sizes {
    /// The full suite: the issue's 100,000-seat storm with 1,000 buyers.
    pub fn full() -> Self {
        Self {
            storm_seats: 100_000,
            connections: 1000,
            max_quantity: 4,
            storm_limit: Duration::from_secs(300),
            ceiling: Duration::from_secs(10),
            flood: Duration::from_secs(10),
            reads: Duration::from_secs(10),
            mixed: Duration::from_secs(15),
            mixed_rate: 5000.0,
            mixed_connections: 200,
            mixed_events: 20,
            mixed_seats: 20_000,
        }
    }

    /// The quick suite (well under two minutes on two cores).
    pub fn quick() -> Self {
        Self {
            storm_seats: 20_000,
            connections: 200,
            max_quantity: 4,
            storm_limit: Duration::from_secs(45),
            ceiling: Duration::from_secs(3),
            flood: Duration::from_secs(3),
            reads: Duration::from_secs(3),
            mixed: Duration::from_secs(5),
            mixed_rate: 2000.0,
            mixed_connections: 50,
            mixed_events: 10,
            mixed_seats: 5000,
        }
    }
}

/// Where the service under test comes from.
#[derive(Debug)]
pub enum Source {
    /// Start the binary on `backend`; with an external backend, also storm a second instance on the embedded
    /// default.
    Spawn { binary: PathBuf, backend: Backend },
    /// Drive a running service, checking invariants in `database_url`.
    Running { url: String, database_url: String },
}

/// Everything one suite run needs.
#[derive(Debug)]
pub struct SuiteConfig {
    pub sizes: Sizes,
    pub source: Source,
    pub credentials: Credentials,
    /// Where service logs go.
    pub log_dir: PathBuf,
}

/// A service the scenarios run against.
struct UnderTest {
    target: Target,
    backend: String,
    database_url: String,
    pid: Option<u32>,
    credentials: Credentials,
    run_id: String,
    /// Where the `/metrics` scrape after each scenario is saved.
    log_dir: PathBuf,
}

impl UnderTest {
    fn prefix(&self, scenario: &str) -> String {
        format!("{scenario}-{}-", self.run_id)
    }

    /// Starts watching the service's resources for one scenario: resets its peak RSS and notes its CPU time.
    fn watch(&self) -> Watch {
        if let Some(pid) = self.pid {
            reset_peak_rss(pid);
        }
        Watch { cpu: self.pid.and_then(cpu_seconds), generator: generator_cpu(), since: std::time::Instant::now() }
    }

    /// Fills the row's peak RSS and CPU use since `watch`.
    fn record_resources(&self, watch: &Watch, row: &mut Row) {
        row.peak_rss_mb = self.pid.and_then(peak_rss_mb);
        let used = self.pid.and_then(cpu_seconds).zip(watch.cpu).map(|(now, then)| now - then);
        row.service_cpu_cores = used.map(|seconds| seconds / watch.since.elapsed().as_secs_f64().max(1e-3));
        row.generator_cpu_cores = watch.generator_cores();
    }

    async fn admin_conn(&self) -> Conn {
        Conn::new(&self.target)
    }

    /// Scrapes `/metrics`, saving the text as `metrics-<scenario>-<backend>.txt` for later diagnosis.
    async fn scrape(&self, scenario: &str) -> anyhow::Result<String> {
        let text = api::metrics(&mut self.admin_conn().await, &self.credentials).await?;
        let file = self.log_dir.join(format!("metrics-{scenario}-{}.txt", self.backend.replace('+', "-")));
        std::fs::write(&file, &text).with_context(|| format!("writing {}", file.display()))?;
        Ok(text)
    }
}

/// The service's and the generator's CPU time when a scenario started.
struct Watch {
    cpu: Option<f64>,
    generator: Option<f64>,
    since: std::time::Instant,
}

impl Watch {
    /// Cores this process used on average since the watch began.
    fn generator_cores(&self) -> Option<f64> {
        let used = generator_cpu().zip(self.generator).map(|(now, then)| now - then)?;
        Some(used / self.since.elapsed().as_secs_f64().max(1e-3))
    }
}

/// CPU time this load generator's process has used so far, in seconds.
fn generator_cpu() -> Option<f64> {
    cpu_seconds(std::process::id())
}

/// Runs the whole suite and returns its rows (ceiling first); the ratios are not yet applied.
pub async fn run_suite(config: &SuiteConfig) -> anyhow::Result<Vec<Row>> {
    let sizes = &config.sizes;
    let mut rows = vec![measure_ceiling(sizes).await?];
    match &config.source {
        Source::Running { url, database_url } => {
            let under_test = UnderTest {
                target: Target::resolve(url).await?,
                backend: "target".into(),
                database_url: database_url.clone(),
                pid: None,
                credentials: config.credentials.clone(),
                run_id: run_id(),
                log_dir: config.log_dir.clone(),
            };
            rows.extend(all_scenarios(&under_test, sizes, "storm").await);
        }
        Source::Spawn { binary, backend } => {
            let process = start(binary, backend, config).await?;
            let under_test = attach(&process, config).await?;
            rows.extend(all_scenarios(&under_test, sizes, "storm").await);
            process.stop()?;
            if *backend != Backend::Embedded {
                let process = start(binary, &Backend::Embedded, config).await?;
                let under_test = attach(&process, config).await?;
                let name = "storm_sqlite";
                rows.push(
                    storm(&under_test, sizes, name).await.map_or_else(|e| failed(name, "sqlite", &e), |(row, _)| row),
                );
                process.stop()?;
            }
        }
    }
    Ok(rows)
}

fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

async fn start(binary: &std::path::Path, backend: &Backend, config: &SuiteConfig) -> anyhow::Result<ServiceProcess> {
    if let Backend::External { database_url, .. } = backend {
        ensure_database(database_url).await?;
    }
    let log = config.log_dir.join(format!("service-{}.log", backend.label().replace('+', "-")));
    eprintln!("starting {} on {} (log: {})", binary.display(), backend.label(), log.display());
    ServiceProcess::start(binary, backend, &config.credentials, &log, "127.0.0.1:0", &[])
}

async fn attach(process: &ServiceProcess, config: &SuiteConfig) -> anyhow::Result<UnderTest> {
    let target = Target::resolve(&process.url).await?;
    api::wait_ready(&target, Duration::from_secs(60)).await?;
    Ok(UnderTest {
        target,
        backend: process.backend.label().to_owned(),
        database_url: process.database_url(),
        pid: Some(process.pid()),
        credentials: config.credentials.clone(),
        run_id: run_id(),
        log_dir: config.log_dir.clone(),
    })
}

async fn measure_ceiling(sizes: &Sizes) -> anyhow::Result<Row> {
    let server = ceiling::start()?;
    let target = Target::resolve(&server.url).await?;
    let watch = Watch { cpu: None, generator: generator_cpu(), since: std::time::Instant::now() };
    let workload = Arc::new(TrivialGet { path: ceiling::PATH, errors: ErrorCounts::default() });
    let measured =
        run_closed(CEILING, &target, sizes.connections, Length::For(sizes.ceiling), workload.clone()).await?;
    drop(server);
    let mut row = Row::new(CEILING, "in-process", "closed", sizes.connections, &measured);
    row.generator_cpu_cores = watch.generator_cores();
    row.errors = workload.errors.snapshot();
    Ok(row)
}

async fn all_scenarios(under_test: &UnderTest, sizes: &Sizes, storm_name: &str) -> Vec<Row> {
    let backend = under_test.backend.as_str();
    let mut rows = Vec::with_capacity(4);
    match storm(under_test, sizes, storm_name).await {
        Ok((row, event)) => {
            rows.push(row);
            rows.push(flood(under_test, sizes, event).await.unwrap_or_else(|e| failed("soldout_flood", backend, &e)));
            rows.push(reads(under_test, sizes, event).await.unwrap_or_else(|e| failed("event_reads", backend, &e)));
        }
        Err(error) => {
            rows.push(failed(storm_name, backend, &error));
            let skipped = anyhow::anyhow!("not run: the storm that sells out its event failed");
            rows.push(failed("soldout_flood", backend, &skipped));
            rows.push(failed("event_reads", backend, &skipped));
        }
    }
    rows.push(mixed(under_test, sizes).await.unwrap_or_else(|e| failed("mixed", backend, &e)));
    rows
}

/// The row of a scenario that could not be carried out: no figures, and a failure whatever else happened.
fn failed(name: &str, backend: &str, error: &anyhow::Error) -> Row {
    eprintln!("{name} on {backend} failed: {error:#}");
    let empty = crate::recorder::Recorder::new(std::time::Instant::now()).finish(std::time::Instant::now());
    let mut row = Row::new(name, backend, "-", 0, &empty);
    row.invariants_ok = false;
    row.violations.push(Violation { invariant: "run_completed", detail: format!("{error:#}") });
    row
}

/// Sells out a fresh event and checks it from the database.
async fn storm(under_test: &UnderTest, sizes: &Sizes, name: &str) -> anyhow::Result<(Row, EventRef)> {
    let mut admin = under_test.admin_conn().await;
    let event =
        api::create_event(&mut admin, &under_test.credentials, name, sizes.storm_seats, sizes.max_quantity, 8, 0)
            .await?;
    let before = under_test.scrape(&format!("{name}-before")).await?;
    let watch = under_test.watch();
    let config = StormConfig {
        event: event.id,
        capacity: event.capacity,
        connections: sizes.connections,
        max_quantity: sizes.max_quantity,
        user_prefix: under_test.prefix(name),
        max_attempts: 50,
        time_limit: sizes.storm_limit,
        sold: SeatCounter::default(),
    };
    let outcome = run_storm(&under_test.target, &under_test.credentials, &config).await?;
    let mut row = Row::new(name, &under_test.backend, "closed", sizes.connections, &outcome.measured);
    under_test.record_resources(&watch, &mut row);
    row.seats_per_sec = Some(outcome.seats_acknowledged as f64 / outcome.measured.elapsed_secs.max(1e-3));
    row.mean_batch_size = api::mean_batch_size(&before, &under_test.scrape(name).await?);
    row.errors = outcome.errors.clone();
    let expect = Expectations {
        events: vec![EventExpectation {
            id: event.id,
            capacity: event.capacity,
            sold_out: true,
            one_order_per_user: true,
        }],
        acknowledged: outcome.acknowledged,
        cancelled: Vec::new(),
    };
    let mut verdict = check(under_test, &expect).await?;
    if outcome.seats_acknowledged != event.capacity {
        verdict.add(
            "sold_equals_capacity",
            format!("buyers were acknowledged {} seats of {}", outcome.seats_acknowledged, event.capacity),
        );
    }
    set_verdict(&mut row, verdict);
    Ok((row, event))
}

/// Floods the sold-out event with purchases.
async fn flood(under_test: &UnderTest, sizes: &Sizes, event: EventRef) -> anyhow::Result<Row> {
    let watch = under_test.watch();
    let workload = Arc::new(SoldOutFlood {
        event: event.id,
        user_prefix: under_test.prefix("flood"),
        credentials: under_test.credentials.clone(),
        errors: ErrorCounts::default(),
        acknowledged: Mutex::new(Vec::new()),
    });
    let measured =
        run_closed("soldout_flood", &under_test.target, sizes.connections, Length::For(sizes.flood), workload.clone())
            .await?;
    let mut row = Row::new("soldout_flood", &under_test.backend, "closed", sizes.connections, &measured);
    under_test.record_resources(&watch, &mut row);
    under_test.scrape("soldout_flood").await?;
    row.errors = workload.errors.snapshot();
    let acknowledged: Vec<Ack> = workload.acknowledged.lock().expect("acknowledged lock poisoned").clone();
    let oversold = acknowledged.len();
    let mut verdict = check(under_test, &sold_out_event(event, acknowledged)).await?;
    if oversold > 0 {
        verdict.add("sold_equals_capacity", format!("{oversold} purchases were acknowledged after the sell-out"));
    }
    set_verdict(&mut row, verdict);
    Ok(row)
}

/// Reads the sold-out event by id and reports the cache hit rate.
async fn reads(under_test: &UnderTest, sizes: &Sizes, event: EventRef) -> anyhow::Result<Row> {
    let before = under_test.scrape("event_reads-before").await?;
    let watch = under_test.watch();
    let workload = Arc::new(EventReads {
        event: event.id,
        user_prefix: under_test.prefix("reader"),
        credentials: under_test.credentials.clone(),
        errors: ErrorCounts::default(),
    });
    let measured =
        run_closed("event_reads", &under_test.target, sizes.connections, Length::For(sizes.reads), workload.clone())
            .await?;
    let after = under_test.scrape("event_reads").await?;
    let mut row = Row::new("event_reads", &under_test.backend, "closed", sizes.connections, &measured);
    under_test.record_resources(&watch, &mut row);
    row.cache_hit_rate = api::cache_hit_rate(&before, &after);
    row.errors = workload.errors.snapshot();
    set_verdict(&mut row, check(under_test, &sold_out_event(event, Vec::new())).await?);
    Ok(row)
}

/// Reads, purchases and cancels across many events in the open model.
async fn mixed(under_test: &UnderTest, sizes: &Sizes) -> anyhow::Result<Row> {
    let mut admin = under_test.admin_conn().await;
    let mut events = Vec::with_capacity(sizes.mixed_events);
    for index in 0..sizes.mixed_events {
        let name = format!("mixed-{}-{index}", under_test.run_id);
        events.push(api::create_event(&mut admin, &under_test.credentials, &name, sizes.mixed_seats, 4, 8, 0).await?);
    }
    let watch = under_test.watch();
    let workload = Arc::new(Mixed::new(
        events.iter().map(|event| event.id).collect(),
        under_test.prefix("mixed"),
        under_test.credentials.clone(),
    ));
    let measured =
        run_open("mixed", &under_test.target, sizes.mixed_connections, sizes.mixed_rate, sizes.mixed, workload.clone())
            .await?;
    let mut row = Row::new("mixed", &under_test.backend, "open", sizes.mixed_connections, &measured);
    under_test.record_resources(&watch, &mut row);
    under_test.scrape("mixed").await?;
    row.errors = workload.errors.snapshot();
    let expect = Expectations {
        events: events
            .iter()
            .map(|event| EventExpectation {
                id: event.id,
                capacity: event.capacity,
                sold_out: false,
                one_order_per_user: false,
            })
            .collect(),
        acknowledged: workload.acknowledged.lock().expect("acknowledged lock poisoned").clone(),
        cancelled: workload.cancelled.lock().expect("cancelled lock poisoned").clone(),
    };
    set_verdict(&mut row, check(under_test, &expect).await?);
    Ok(row)
}

fn sold_out_event(event: EventRef, acknowledged: Vec<Ack>) -> Expectations {
    Expectations {
        events: vec![EventExpectation {
            id: event.id,
            capacity: event.capacity,
            sold_out: true,
            one_order_per_user: false,
        }],
        acknowledged,
        cancelled: Vec::new(),
    }
}

async fn check(under_test: &UnderTest, expect: &Expectations) -> anyhow::Result<Verdict> {
    let pool = invariants::connect(&under_test.database_url).await?;
    let verdict = invariants::check(&pool, expect).await.context("checking invariants")?;
    pool.close().await;
    Ok(verdict)
}

fn set_verdict(row: &mut Row, verdict: Verdict) {
    row.invariants_ok = verdict.ok();
    row.violations = verdict.violations;
}
