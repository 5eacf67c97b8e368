//! How one case runs: its events, its storm over the hot event(s) ([`crate::storm`]) with the side traffic
//! ([`super::mix`]) beside it and the hold monitor ([`super::holds`]) watching, the fault injected when the storm
//! has sold a share of its seats ([`super::inject`]), then every check from the database ([`super::verdict`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use futures::future::join_all;

use crate::api::{self, EventRef};
use crate::auth::Credentials;
use crate::conn::{Conn, Target};
use crate::invariants;
use crate::storm::{run_storm, SeatCounter, StormConfig, StormOutcome};

use super::case::{Case, Plan};
use super::cluster::{Cluster, SWEEP_INTERVAL_MS};
use super::holds::{wall_ms, HoldMonitor};
use super::inject::{self, Ctx};
use super::journal::Shared;
use super::mix::{Mix, MixEvents};
use super::orders::{self, Order};
use super::recovery::Sampler;
use super::report::CaseReport;
use super::verdict::{self, Events};

/// Seats per order in the storms.
const MAX_QUANTITY: i64 = 4;
/// Seats of the side traffic's sales event (it sells out early and lives on what edits and cancels give back).
const SALES_SEATS: i64 = 300;
/// Seconds a hold of R10's mass lapse lasts.
const MASS_HOLD_SECS: i64 = 4;
/// Connections that place R10's holds.
const MASS_PLACERS: usize = 50;
/// The share of the storm after which the side traffic stops, so its last holds lapse while the storm ends.
const MIX_UNTIL: f64 = 0.85;

/// Runs the control storm (R0) or a faulted one and checks it; `seats` sizes the storm. Returns the report and
/// the storm's rate in seats per second.
pub async fn run_case(
    cluster: &mut Cluster,
    case: Case,
    plan: &Plan,
    credentials: &Credentials,
    seats: i64,
) -> anyhow::Result<(CaseReport, f64)> {
    let replicas = case.replicas();
    eprintln!(
        "faults: {} {}: {seats} seats, {} buyers over {replicas} replica(s)",
        case.name(),
        case.fault(),
        plan.connections
    );
    cluster.begin_case(case.name(), replicas).await?;
    let target = cluster.target().await?;
    let mut per_replica = Vec::new();
    for replica in 0..replicas {
        per_replica.push(cluster.replica_target(replica).await?);
    }
    let mut admin = Conn::new(&per_replica[0]);
    let run = format!("{}-{}", case.name(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let hot_count = case.hot_events() as i64;
    let mut hot = Vec::new();
    for index in 0..hot_count {
        let name = format!("faults-{}-{index}", case.name());
        hot.push(api::create_event(&mut admin, credentials, &name, seats / hot_count, MAX_QUANTITY, 8, 0).await?);
    }
    let sales = api::create_event(&mut admin, credentials, "faults-sales", SALES_SEATS, 2, 8, 0).await?;
    let holds = api::create_event(&mut admin, credentials, "faults-holds", 1_000_000, 1, 1, 1).await?;
    let journal = Shared::default();
    let mass = match case {
        Case::R10 => Some(place_mass_holds(&target, credentials, plan.mass_holds, &run, &journal, &mut admin).await?),
        _ => None,
    };
    let pool = invariants::connect(&cluster.database_url()).await?;
    let hold_events = [Some(holds.id), mass.map(|event| event.id)].into_iter().flatten().collect();
    let monitor = HoldMonitor::start(pool.clone(), hold_events, SWEEP_INTERVAL_MS as i64 + 1000);

    let capacity: i64 = hot.iter().map(|event| event.capacity).sum();
    let sold = SeatCounter::default();
    let clock = Instant::now();
    let clock_wall = wall_ms();
    let sampler = Sampler::start(sold.clone(), clock);
    let mix = Mix::start(&target, &per_replica, credentials, MixEvents { sales, holds }, &run, &journal);
    let storm_done = Arc::new(AtomicBool::new(false));
    // R9's storms all go to its one replica, three times the buyers of a storm split over its ten events, so every
    // writer keeps a queue; the others spread over both replicas.
    let connections = if hot.len() > 1 { plan.connections * 3 / hot.len() } else { plan.connections };
    let storms: Vec<_> = hot
        .iter()
        .map(|event| {
            let config = StormConfig {
                event: event.id,
                capacity: event.capacity,
                connections,
                max_quantity: MAX_QUANTITY,
                user_prefix: format!("{run}-e{}-", event.id),
                max_attempts: 10_000,
                time_limit: plan.storm_limit,
                sold: sold.clone(),
            };
            let (target, credentials) = (target.clone(), credentials.clone());
            async move { run_storm(&target, &credentials, &config).await }
        })
        .collect();
    let storm = {
        let done = storm_done.clone();
        tokio::spawn(async move {
            let outcomes = join_all(storms).await;
            done.store(true, Ordering::Relaxed);
            outcomes.into_iter().collect::<anyhow::Result<Vec<StormOutcome>>>()
        })
    };
    let mut ctx = Ctx {
        cluster,
        credentials,
        plan,
        sold,
        capacity,
        clock,
        storm_done,
        observations: BTreeMap::new(),
        pool: pool.clone(),
        fence_check: None,
    };
    let fault = inject::inject(case, &mut ctx).await;
    if fault.is_ok() {
        // The side traffic goes on to near the end of the storm, past any fault.
        let _ = ctx.at_share(MIX_UNTIL).await;
    }
    mix.stop().await;
    let outcomes = storm.await.context("the storm task failed")??;
    let samples = sampler.finish().await;
    let window = fault?;
    let outages: Vec<(i64, i64)> = window
        .iter()
        .flat_map(|window| window.outages.iter())
        .map(|(from, to)| (clock_wall + (from * 1000.0) as i64, clock_wall + (to * 1000.0) as i64))
        .collect();
    if case == Case::R4 {
        stale_reads_after(&mut ctx, hot[0]).await?;
    }
    let held = monitor.finish(&outages).await?;
    let events = Events { hot, sales, holds, mass };
    let report = verdict::judge(ctx, case, &events, &outcomes, journal.take(), held, &samples, window).await?;
    pool.close().await;
    let elapsed = outcomes.iter().map(|outcome| outcome.measured.elapsed_secs).fold(0.0, f64::max).max(1e-3);
    let seat_rate = report.seats_sold as f64 / elapsed;
    eprintln!(
        "faults: {} done in {elapsed:.1} s ({seat_rate:.0} seats/s): oversold {}, acknowledged lost {}, stranded {}, \
         double-booked {}, refused while available {}: {}",
        case.name(),
        report.oversold,
        report.acknowledged_lost,
        report.stranded_holds,
        report.double_booked,
        report.refused_while_available,
        if report.passed() { "ok" } else { "BROKEN" }
    );
    Ok((report, seat_rate))
}

/// R10's holds: `count` one-seat holds of [`MASS_HOLD_SECS`] on an event of exactly that many seats, placed as
/// fast as [`MASS_PLACERS`] connections can, before the storm starts; they lapse together in its middle.
async fn place_mass_holds(
    target: &Target,
    credentials: &Credentials,
    count: i64,
    run: &str,
    journal: &Shared,
    admin: &mut Conn,
) -> anyhow::Result<EventRef> {
    let event = api::create_event(admin, credentials, "faults-mass-lapse", count, 1, 1, MASS_HOLD_SECS).await?;
    let started = Instant::now();
    let placers = (0..MASS_PLACERS).map(|placer| {
        let (target, credentials, journal, run) =
            (target.clone(), credentials.clone(), journal.clone(), run.to_owned());
        async move {
            let mut conn = Conn::new(&target);
            let mut placed = 0;
            for index in (placer as i64..count).step_by(MASS_PLACERS) {
                let (user, key) = (format!("{run}-m{index}"), uuid::Uuid::new_v4().to_string());
                let order = Order { event: event.id, user: &user, quantity: 1, key: Some(&key) };
                placed += i64::from(orders::place(&mut conn, &credentials, &order, &journal).await.is_some());
            }
            placed
        }
    });
    let placed: i64 = join_all(placers).await.into_iter().sum();
    eprintln!("faults: placed {placed} holds of {MASS_HOLD_SECS} s in {:.1} s", started.elapsed().as_secs_f64());
    Ok(event)
}

/// After R4's storm: how long each replica served an `availableSeats` other than the database's.
async fn stale_reads_after(ctx: &mut Ctx<'_>, event: EventRef) -> anyhow::Result<()> {
    let truth: i64 = sqlx::query_scalar::<_, i64>("SELECT available_seats FROM events WHERE id = ?")
        .bind(event.id)
        .fetch_one(&ctx.pool)
        .await?;
    let mut stale = Vec::new();
    for replica in 0..ctx.cluster.replica_count() {
        let mut conn = Conn::new(&ctx.cluster.replica_target(replica).await?);
        let start = Instant::now();
        while !api::available_seats(&mut conn, ctx.credentials, event.id).await.is_ok_and(|seen| seen == truth) {
            if start.elapsed() > inject::CONDITION_LIMIT {
                anyhow::bail!("replica {replica} still served stale availability after the storm");
            }
            tokio::time::sleep(inject::POLL).await;
        }
        stale.push(inject::round(start.elapsed().as_secs_f64()));
    }
    ctx.observe("stale_read_secs_after_storm_per_replica", serde_json::json!(stale));
    Ok(())
}
