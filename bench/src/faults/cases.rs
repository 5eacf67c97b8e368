//! The fault cases and how each one is run: a hot-event storm over both replicas ([`crate::storm`]), the fault
//! injected when the storm has sold a given share of its seats, and then the checks from the database.
//!
//! | case | fault |
//! |---|---|
//! | R0 | none: the control run, whose rate sizes the other storms |
//! | R1 | Redis stopped mid-storm, started again (empty) after an outage |
//! | R2 | MariaDB killed (SIGKILL) mid-storm and started again: crash recovery |
//! | R3 | a service replica SIGKILLed and restarted, five times, alternating replicas |
//! | R4 | Redis flushed mid-storm, then rolled back to an older snapshot (a failover that lost writes) |
//! | R5 | the hold sweeper's lease holder paused (SIGSTOP) past its lease; the other replica takes over |

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::json;

use crate::api::{self, EventRef};
use crate::auth::Credentials;
use crate::conn::{Conn, Target};
use crate::invariants::{self, EventExpectation, Expectations, Verdict};
use crate::storm::{run_storm, SeatCounter, StormConfig, StormOutcome};

use super::cluster::{Cluster, SWEEP_INTERVAL_MS};
use super::holds::HoldTraffic;
use super::recovery::{Sampler, Samples};
use super::report::CaseReport;

/// The hold sweeper's lease as named in the service's metrics.
const SWEEPER_LEASE: &str = r#"ticketing_lease_held{lease="hold-sweeper"}"#;
/// Seats the sweeper gave back, per replica.
const EXPIRED_SEATS: &str = "ticketing_holds_expired_seats_total";
/// Fenced-off sweep attempts, per replica.
const FENCED: &str = r#"ticketing_lease_fenced_total{lease="hold-sweeper"}"#;
/// How often a condition the campaign waits for is polled.
const POLL: Duration = Duration::from_millis(20);
/// How long the campaign waits for a condition that should follow a fault quickly.
const CONDITION_LIMIT: Duration = Duration::from_secs(15);
/// Seats per order in the storms.
const MAX_QUANTITY: i64 = 4;

/// One fault case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
}

impl Case {
    pub const ALL: [Case; 6] = [Case::R0, Case::R1, Case::R2, Case::R3, Case::R4, Case::R5];

    pub fn name(self) -> &'static str {
        match self {
            Case::R0 => "R0",
            Case::R1 => "R1",
            Case::R2 => "R2",
            Case::R3 => "R3",
            Case::R4 => "R4",
            Case::R5 => "R5",
        }
    }

    pub fn fault(self) -> &'static str {
        match self {
            Case::R0 => "none (control)",
            Case::R1 => "Redis stopped mid-storm, restarted empty",
            Case::R2 => "MariaDB SIGKILLed mid-storm, restarted (crash recovery)",
            Case::R3 => "a service replica SIGKILLed and restarted, 5 times",
            Case::R4 => "Redis flushed, then rolled back to an older snapshot",
            Case::R5 => "sweeper lease holder SIGSTOPped past its lease",
        }
    }
}

/// How big and how long the faults are.
#[derive(Debug, Clone)]
pub struct Plan {
    pub connections: usize,
    /// Seats of the control storm (R0).
    pub control_seats: i64,
    /// How long each faulted storm should last at the control rate; sizes its event.
    pub storm_secs: f64,
    /// How long Redis stays down in R1.
    pub redis_outage: Duration,
    /// How long MariaDB stays down in R2 before it is started again.
    pub database_outage: Duration,
    /// How long the lease holder stays paused in R5 (longer than its lease).
    pub pause: Duration,
    /// A storm that has not sold out after this long is reported as broken.
    pub storm_limit: Duration,
}

impl Plan {
    pub fn quick(connections: Option<usize>) -> Self {
        Self {
            connections: connections.unwrap_or(100),
            control_seats: 30_000,
            storm_secs: 6.0,
            redis_outage: Duration::from_millis(1500),
            database_outage: Duration::from_secs(1),
            pause: Duration::from_millis(1500),
            storm_limit: Duration::from_secs(120),
        }
    }

    pub fn full(connections: Option<usize>) -> Self {
        Self {
            connections: connections.unwrap_or(1000),
            control_seats: 50_000,
            storm_secs: 20.0,
            redis_outage: Duration::from_secs(5),
            database_outage: Duration::from_secs(3),
            pause: Duration::from_secs(3),
            storm_limit: Duration::from_secs(300),
        }
    }

    /// Seats for a faulted storm that lasts about [`Plan::storm_secs`] at `control_rate` seats per second.
    pub fn seats_for(&self, control_rate: f64) -> i64 {
        ((control_rate * self.storm_secs) as i64).clamp(5_000, 2_000_000)
    }
}

/// What a fault did, in seconds since the storm's clock started.
#[derive(Debug, Clone, Copy)]
struct Window {
    injected: f64,
    healed: f64,
}

/// What a running case gives its fault.
struct Ctx<'a> {
    cluster: &'a mut Cluster,
    credentials: &'a Credentials,
    plan: &'a Plan,
    sold: SeatCounter,
    capacity: i64,
    clock: Instant,
    storm_done: Arc<AtomicBool>,
    observations: BTreeMap<String, serde_json::Value>,
}

impl Ctx<'_> {
    fn now(&self) -> f64 {
        self.clock.elapsed().as_secs_f64()
    }

    fn observe(&mut self, name: &str, value: serde_json::Value) {
        self.observations.insert(name.to_owned(), value);
    }

    /// Waits until the storm has sold `share` of its seats.
    async fn at_share(&self, share: f64) -> anyhow::Result<()> {
        let seats = (self.capacity as f64 * share) as u64;
        while self.sold.get() < seats {
            if self.storm_done.load(Ordering::Relaxed) {
                bail!("the storm ended before it sold {seats} seats, so the fault could not be injected");
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(())
    }

    /// Polls `condition` until it holds, failing after [`CONDITION_LIMIT`]; returns the seconds it took.
    async fn wait_for<F, Fut>(&self, what: &str, mut condition: F) -> anyhow::Result<f64>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let start = Instant::now();
        while !condition().await {
            if start.elapsed() > CONDITION_LIMIT {
                bail!("{what} did not happen within {CONDITION_LIMIT:?}");
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(start.elapsed().as_secs_f64())
    }
}

/// Runs the control storm (R0) or a faulted one and checks it; `seats` sizes the storm's event.
pub async fn run_case(
    cluster: &mut Cluster,
    case: Case,
    plan: &Plan,
    credentials: &Credentials,
    seats: i64,
) -> anyhow::Result<(CaseReport, f64)> {
    eprintln!("faults: {} {}: {} seats, {} buyers over 2 replicas", case.name(), case.fault(), seats, plan.connections);
    cluster.begin_case(case.name(), 2).await?;
    let target = cluster.target().await?;
    let mut admin = Conn::new(&cluster.replica_target(0).await?);
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let event =
        api::create_event(&mut admin, credentials, &format!("faults-{}", case.name()), seats, MAX_QUANTITY, 8, 0)
            .await?;
    let holds = if case == Case::R5 {
        let hold_event = api::create_event(&mut admin, credentials, "faults-holds", 1_000_000, 1, 1, 1).await?;
        Some((hold_event, HoldTraffic::start(target.clone(), credentials.clone(), hold_event.id, &run)))
    } else {
        None
    };

    let sold = SeatCounter::default();
    let config = StormConfig {
        event: event.id,
        capacity: seats,
        connections: plan.connections,
        max_quantity: MAX_QUANTITY,
        user_prefix: format!("{}-{run}-", case.name()),
        max_attempts: 10_000,
        time_limit: plan.storm_limit,
        sold: sold.clone(),
    };
    let clock = Instant::now();
    let sampler = Sampler::start(sold.clone(), clock);
    let storm_done = Arc::new(AtomicBool::new(false));
    let storm = {
        let (target, credentials, done) = (target.clone(), credentials.clone(), storm_done.clone());
        tokio::spawn(async move {
            let outcome = run_storm(&target, &credentials, &config).await;
            done.store(true, Ordering::Relaxed);
            outcome
        })
    };
    let mut ctx =
        Ctx { cluster, credentials, plan, sold, capacity: seats, clock, storm_done, observations: BTreeMap::new() };
    let fault = inject(case, &mut ctx).await;
    let outcome = storm.await.context("the storm task failed")??;
    let samples = sampler.finish().await;
    let window = fault?;

    let mut expect = Expectations {
        events: vec![EventExpectation { id: event.id, capacity: seats, sold_out: true, one_order_per_user: true }],
        acknowledged: outcome.acknowledged.clone(),
        cancelled: Vec::new(),
    };
    let mut extra = Verdict::default();
    if case == Case::R4 {
        stale_reads_after(&mut ctx, event).await?;
    }
    if let Some((hold_event, traffic)) = holds {
        let traffic = traffic.stop().await;
        ctx.observe("holds_placed", json!(traffic.acknowledged.len()));
        ctx.observe("hold_traffic_errors", json!(traffic.errors));
        let drained = holds_drained(&mut ctx, hold_event).await?;
        if !drained {
            extra.add("holds_given_back", format!("event {}: holds still take seats after they lapsed", hold_event.id));
        }
        expect.events.push(EventExpectation {
            id: hold_event.id,
            capacity: hold_event.capacity,
            sold_out: false,
            one_order_per_user: true,
        });
        expect.acknowledged.extend(traffic.acknowledged);
    }
    if !outcome.sold_out {
        extra.add("sold_out_reached", format!("the storm stopped after {:?} without selling out", plan.storm_limit));
    }
    let report = check(ctx, case, &expect, &outcome, &samples, window, extra).await?;
    let rate = outcome.measured.successes as f64 / outcome.measured.elapsed_secs.max(1e-3);
    let seat_rate = report.seats_sold as f64 / outcome.measured.elapsed_secs.max(1e-3);
    eprintln!(
        "faults: {} done in {:.1} s ({rate:.0} reservations/s): oversold {}, acknowledged lost {}, {}",
        case.name(),
        outcome.measured.elapsed_secs,
        report.oversold,
        report.acknowledged_lost,
        if report.passed() { "ok" } else { "BROKEN" }
    );
    Ok((report, seat_rate))
}

/// Injects `case`'s fault into the running storm.
async fn inject(case: Case, ctx: &mut Ctx<'_>) -> anyhow::Result<Option<Window>> {
    match case {
        Case::R0 => Ok(None),
        Case::R1 => redis_stopped(ctx).await.map(Some),
        Case::R2 => database_crashed(ctx).await.map(Some),
        Case::R3 => replicas_killed(ctx).await.map(Some),
        Case::R4 => redis_rolled_back(ctx).await.map(Some),
        Case::R5 => lease_holder_paused(ctx).await.map(Some),
    }
}

async fn redis_stopped(ctx: &mut Ctx<'_>) -> anyhow::Result<Window> {
    ctx.at_share(0.25).await?;
    let injected = ctx.now();
    tokio::task::block_in_place(|| ctx.cluster.redis.stop());
    let replica = ctx.cluster.replica_target(0).await?;
    let noticed = ctx.wait_for("/readyz reporting Redis degraded", || redis_state_is(&replica, "degraded")).await?;
    ctx.observe("readyz_redis_degraded_after_secs", json!(round(noticed)));
    tokio::time::sleep_until((ctx.clock + Duration::from_secs_f64(injected) + ctx.plan.redis_outage).into()).await;
    tokio::task::block_in_place(|| ctx.cluster.redis.start_again())?;
    let healed = ctx.now();
    let back = ctx.wait_for("/readyz reporting Redis ok", || redis_state_is(&replica, "ok")).await?;
    ctx.observe("readyz_redis_ok_after_restart_secs", json!(round(back)));
    Ok(Window { injected, healed })
}

async fn database_crashed(ctx: &mut Ctx<'_>) -> anyhow::Result<Window> {
    ctx.at_share(0.25).await?;
    let injected = ctx.now();
    tokio::task::block_in_place(|| ctx.cluster.mariadb.crash());
    tokio::time::sleep(ctx.plan.database_outage).await;
    tokio::task::block_in_place(|| ctx.cluster.mariadb.start_again())?;
    let healed = ctx.now();
    ctx.observe("mariadb_down_secs", json!(round(healed - injected)));
    Ok(Window { injected, healed })
}

async fn replicas_killed(ctx: &mut Ctx<'_>) -> anyhow::Result<Window> {
    let mut injected = None;
    let mut restarts = Vec::new();
    for kill in 0..5 {
        ctx.at_share(0.15 + 0.1 * kill as f64).await?;
        let replica = kill % ctx.cluster.replica_count();
        let at = ctx.now();
        injected.get_or_insert(at);
        ctx.cluster.kill_replica(replica)?;
        ctx.cluster.restart_replica(replica).await?;
        restarts.push(round(ctx.now() - at));
    }
    ctx.observe("kills", json!(restarts.len()));
    ctx.observe("restart_to_ready_secs", json!(restarts));
    Ok(Window { injected: injected.expect("five kills"), healed: ctx.now() })
}

async fn redis_rolled_back(ctx: &mut Ctx<'_>) -> anyhow::Result<Window> {
    ctx.at_share(0.2).await?;
    tokio::task::block_in_place(|| ctx.cluster.redis.snapshot())?;
    let snapshot_at = ctx.sold.get();
    ctx.at_share(0.35).await?;
    let injected = ctx.now();
    tokio::task::block_in_place(|| ctx.cluster.redis.flush())?;
    ctx.at_share(0.5).await?;
    tokio::task::block_in_place(|| ctx.cluster.redis.restore_snapshot())?;
    let healed = ctx.now();
    ctx.observe("snapshot_taken_at_seats_sold", json!(snapshot_at));
    ctx.observe("rolled_back_at_seats_sold", json!(ctx.sold.get()));
    Ok(Window { injected, healed })
}

/// After R4's storm: how long each replica served an `availableSeats` other than the database's.
async fn stale_reads_after(ctx: &mut Ctx<'_>, event: EventRef) -> anyhow::Result<()> {
    let pool = invariants::connect(&ctx.cluster.database_url()).await?;
    let truth: i64 = sqlx::query_scalar::<_, i64>("SELECT available_seats FROM events WHERE id = ?")
        .bind(event.id)
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    let mut stale = Vec::new();
    for replica in 0..ctx.cluster.replica_count() {
        let mut conn = Conn::new(&ctx.cluster.replica_target(replica).await?);
        let start = Instant::now();
        while !api::available_seats(&mut conn, ctx.credentials, event.id).await.is_ok_and(|seen| seen == truth) {
            if start.elapsed() > CONDITION_LIMIT {
                bail!("replica {replica} still served stale availability {CONDITION_LIMIT:?} after the storm");
            }
            tokio::time::sleep(POLL).await;
        }
        stale.push(round(start.elapsed().as_secs_f64()));
    }
    ctx.observe("stale_read_secs_after_storm_per_replica", json!(stale));
    Ok(())
}

async fn lease_holder_paused(ctx: &mut Ctx<'_>) -> anyhow::Result<Window> {
    let replicas = ctx.cluster.replica_count();
    let holder = find_lease_holder(ctx).await?;
    let other = (holder + 1) % replicas;
    ctx.at_share(0.25).await?;
    let expired_before = gauge(ctx.cluster, holder, EXPIRED_SEATS).await.unwrap_or(0.0);
    let fenced_before = gauge(ctx.cluster, holder, FENCED).await.unwrap_or(0.0);

    let injected = ctx.now();
    ctx.cluster.signal_replica(holder, "STOP")?;
    let taken_over = ctx
        .wait_for("the other replica taking the lease", || {
            let cluster = &*ctx.cluster;
            async move { gauge(cluster, other, SWEEPER_LEASE).await == Some(1.0) }
        })
        .await;
    tokio::time::sleep_until((ctx.clock + Duration::from_secs_f64(injected) + ctx.plan.pause).into()).await;
    ctx.cluster.signal_replica(holder, "CONT")?;
    let healed = ctx.now();
    let taken_over = taken_over?;
    let stepped_down = ctx
        .wait_for("the paused replica giving the lease up", || {
            let cluster = &*ctx.cluster;
            async move { gauge(cluster, holder, SWEEPER_LEASE).await == Some(0.0) }
        })
        .await?;
    let written = gauge(ctx.cluster, holder, EXPIRED_SEATS).await.unwrap_or(0.0) - expired_before;
    let fenced = gauge(ctx.cluster, holder, FENCED).await.unwrap_or(0.0) - fenced_before;
    let lease_ms = SWEEP_INTERVAL_MS * 5;
    ctx.observe("lease_ttl_ms", json!(lease_ms));
    ctx.observe("paused_secs", json!(round(healed - injected)));
    ctx.observe("takeover_after_pause_secs", json!(round(taken_over)));
    ctx.observe("paused_holder_gave_up_after_resume_secs", json!(round(stepped_down)));
    ctx.observe("seats_released_by_paused_holder_after_takeover", json!(written));
    ctx.observe("fenced_sweeps_of_paused_holder", json!(fenced));
    if written > 0.0 {
        bail!("the paused lease holder released {written} seats after another replica took its lease");
    }
    Ok(Window { injected, healed })
}

/// The replica that holds the sweeper lease, once one does.
async fn find_lease_holder(ctx: &Ctx<'_>) -> anyhow::Result<usize> {
    let start = Instant::now();
    loop {
        for replica in 0..ctx.cluster.replica_count() {
            if gauge(ctx.cluster, replica, SWEEPER_LEASE).await == Some(1.0) {
                return Ok(replica);
            }
        }
        if start.elapsed() > CONDITION_LIMIT {
            bail!("no replica took the sweeper lease within {CONDITION_LIMIT:?}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// After R5's storm: waits until every hold has lapsed and been swept; `false` if some still take seats.
async fn holds_drained(ctx: &mut Ctx<'_>, event: EventRef) -> anyhow::Result<bool> {
    let pool = invariants::connect(&ctx.cluster.database_url()).await?;
    let drained = ctx
        .wait_for("every hold lapsing", || {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM reservations WHERE event_id = ? AND status = 'HELD'")
                    .bind(event.id)
                    .fetch_one(&pool)
                    .await
                    .is_ok_and(|held| held == 0)
            }
        })
        .await
        .is_ok();
    let available: i64 = sqlx::query_scalar::<_, i64>("SELECT available_seats FROM events WHERE id = ?")
        .bind(event.id)
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    Ok(drained && available == event.capacity)
}

/// Reads the database and builds the case's report.
async fn check(
    ctx: Ctx<'_>,
    case: Case,
    expect: &Expectations,
    outcome: &StormOutcome,
    samples: &Samples,
    window: Option<Window>,
    extra: Verdict,
) -> anyhow::Result<CaseReport> {
    let pool = invariants::connect(&ctx.cluster.database_url()).await?;
    let mut verdict = invariants::check(&pool, expect).await?;
    for violation in extra.violations {
        verdict.add(violation.invariant, violation.detail);
    }
    let storm_event = expect.events[0].id;
    let (total, taken): (i64, i64) = sqlx::query_as(
        "SELECT total_seats, (SELECT CAST(COALESCE(SUM(quantity), 0) AS SIGNED) FROM reservations \
         WHERE event_id = e.id AND status IN ('CONFIRMED', 'HELD')) FROM events e WHERE e.id = ?",
    )
    .bind(storm_event)
    .fetch_one(&pool)
    .await?;
    pool.close().await;
    let mut fenced = Vec::new();
    for replica in 0..ctx.cluster.replica_count() {
        fenced.push(gauge(ctx.cluster, replica, FENCED).await);
    }
    let mut observations = ctx.observations;
    observations.insert("fenced_sweeps_per_replica".to_owned(), json!(fenced));
    observations.insert("buyers_abandoned".to_owned(), json!(outcome.abandoned));
    observations.insert("seats_acknowledged".to_owned(), json!(outcome.seats_acknowledged));
    Ok(CaseReport {
        name: case.name().to_owned(),
        fault: case.fault().to_owned(),
        capacity: total,
        seats_sold: taken,
        oversold: (taken - total).max(0),
        acknowledged_lost: verdict.count("acknowledged_exist"),
        client_errors: outcome
            .errors
            .iter()
            .filter(|(class, _)| !class.ends_with(" sold_out"))
            .map(|(c, n)| (c.clone(), *n))
            .collect(),
        fault_secs: window.map(|window| round(window.healed - window.injected)),
        recovery_secs: window.and_then(|window| samples.recovery_secs(window.injected, window.healed)).map(round),
        storm_secs: round(outcome.measured.elapsed_secs),
        observations,
        timeline: samples.thinned(5),
        invariants_ok: verdict.ok(),
        violations: verdict.violations,
    })
}

/// The `redis` field of replica `target`'s `/readyz` equals `state`.
async fn redis_state_is(target: &Target, state: &str) -> bool {
    let mut conn = Conn::new(target);
    match conn.send(&crate::conn::Call::get("/readyz")).await {
        Ok(reply) => reply.json()["data"]["redis"] == state,
        Err(_) => false,
    }
}

/// The sample `name` of replica `replica`'s metrics (0 when the replica has not written it yet); `None` when the
/// metrics cannot be read.
async fn gauge(cluster: &Cluster, replica: usize, name: &str) -> Option<f64> {
    let text = cluster.metrics(replica).await.ok()?;
    Some(api::sample(&text, name).unwrap_or(0.0))
}

fn round(secs: f64) -> f64 {
    (secs * 1000.0).round() / 1000.0
}
