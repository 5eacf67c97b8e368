//! The fault campaign, `ticketing-bench faults`: hot-event storms over service replicas on a private MariaDB and
//! Redis behind toxiproxy, each hit by one fault in the middle while every other kind of request runs beside the
//! storm, then checked from the database (issues 7 and 12, Jepsen-style: cause the fault under load, then read the
//! truth from the store).
//!
//! ```text
//!  cluster: mariadbd + redis-server, toxiproxy in front of both, 1-2 x ticketing-service on fixed ports
//!  for R0..R10 (run): fresh database -> storm (crate::storm) + side traffic (mix) + hold monitor (holds)
//!                     ──► fault at a share of seats sold (inject, lease) ──► storm ends
//!                     -> verdict: invariants, oversold, acknowledged lost, stranded holds, double bookings,
//!                        refusals while seats remained (checks, from the journal of what clients were told)
//!  abuse: 1,000 hostile requests per unauthenticated surface, RSS / CPU / metric series
//!  report: faults.json + faults.md;  recovery: time back to 70 % of the pre-fault rate
//! ```
//! R0 is the control storm without a fault; its rate sizes the others so each lasts a few seconds on any machine.

mod abuse;
mod case;
mod checks;
mod cluster;
mod holds;
mod inject;
mod journal;
mod lease;
mod mix;
mod orders;
mod recovery;
mod report;
mod run;
mod servers;
mod verdict;

use std::path::PathBuf;

use anyhow::Context;

use crate::auth::Credentials;
use crate::service_proc::locate_binary;

use self::case::{Case, Plan};
use self::cluster::Cluster;
use self::report::{Campaign, CaseReport};

/// Flags of `ticketing-bench faults`.
#[derive(Debug, clap::Args)]
pub struct FaultsArgs {
    /// The short campaign CI runs (smaller storms, shorter outages).
    #[arg(long)]
    pub quick: bool,
    /// Directory for faults.json, faults.md and the server logs.
    #[arg(long, default_value = "bench-results")]
    pub out: PathBuf,
    /// The ticketing-service binary (default: next to this executable).
    #[arg(long)]
    pub service_bin: Option<PathBuf>,
    /// Buyer connections per storm (default 100 quick, 1000 full).
    #[arg(long)]
    pub connections: Option<usize>,
    /// Run only these cases (R0 always runs first, to size the others), e.g. `--case R2 --case R5`.
    #[arg(long = "case", value_parser = Case::NAMES)]
    pub cases: Vec<String>,
    /// Leave out the abuse budget.
    #[arg(long)]
    pub no_abuse: bool,
}

/// Runs the campaign; `Ok(false)` when a case broke the promise (or could not be run).
pub fn run(args: FaultsArgs) -> anyhow::Result<bool> {
    let binary = locate_binary(args.service_bin.as_deref())?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let plan = if args.quick { Plan::quick(args.connections) } else { Plan::full(args.connections) };
    let credentials = Credentials::random();
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let (reports, abuse) = runtime.block_on(async {
        let mut cluster = Cluster::start(&binary, &credentials, &args.out).await?;
        let mut reports = Vec::new();
        let mut seats = plan.control_seats;
        for case in Case::ALL {
            if case != Case::R0 && !args.cases.is_empty() && !args.cases.iter().any(|name| name == case.name()) {
                continue;
            }
            match run::run_case(&mut cluster, case, &plan, &credentials, seats).await {
                Ok((report, rate)) => {
                    if case == Case::R0 {
                        seats = plan.seats_for(rate);
                        eprintln!("faults: the control storm sold {rate:.0} seats/s; faulted storms get {seats} seats");
                    }
                    reports.push(report);
                }
                Err(error) => {
                    eprintln!("faults: {} could not be run: {error:#}", case.name());
                    reports.push(CaseReport::failed(case.name(), case.fault(), &error));
                    // Whatever the failed case left behind (a stopped server, a paused replica, a toxic) must not
                    // spoil the next one.
                    cluster.stop_replicas();
                    cluster.heal_proxies().await?;
                    tokio::task::block_in_place(|| cluster.heal())?;
                }
            }
        }
        let abuse = if args.no_abuse { Vec::new() } else { abuse::measure(&mut cluster).await? };
        anyhow::Ok((reports, abuse))
    })?;
    let passed = reports.iter().all(CaseReport::passed) && abuse.iter().all(abuse::SurfaceCost::within_budget);
    let campaign = Campaign {
        quick: args.quick,
        connections: plan.connections,
        replicas: 2,
        passed,
        cases: &reports,
        abuse: &abuse,
    };
    let table = report::to_markdown(&campaign);
    std::fs::write(args.out.join("faults.json"), report::to_json(&campaign))?;
    std::fs::write(args.out.join("faults.md"), &table)?;
    println!("{table}");
    Ok(passed)
}
