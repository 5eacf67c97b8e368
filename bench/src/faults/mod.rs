//! The fault campaign, `ticketing-bench faults`: hot-event storms over two service replicas on a private MariaDB
//! and Redis, each hit by one fault in the middle, then checked from the database (issue 7, Jepsen-style: cause
//! the fault under load, then read the truth from the store).
//!
//! ```text
//!  cluster (servers): mariadbd + redis-server + 2 x ticketing-service on fixed ports
//!  for R0..R5 (cases): fresh database -> storm (crate::storm) ──► fault at a share of seats sold ──► storm ends
//!                      -> invariants + oversold + acknowledged-but-lost (crate::invariants) -> CaseReport
//!  report: faults.json + faults.md;  recovery: time back to 70 % of the pre-fault rate
//! ```
//! R0 is the control storm without a fault; its rate sizes the others so each lasts a few seconds on any machine.

mod cases;
mod cluster;
mod holds;
mod recovery;
mod report;
mod servers;

use std::path::PathBuf;

use anyhow::Context;

use crate::auth::Credentials;
use crate::service_proc::locate_binary;

use self::cases::{run_case, Case, Plan};
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
    #[arg(long = "case", value_parser = ["R1", "R2", "R3", "R4", "R5"])]
    pub cases: Vec<String>,
}

/// Runs the campaign; `Ok(false)` when a case broke the promise (or could not be run).
pub fn run(args: FaultsArgs) -> anyhow::Result<bool> {
    let binary = locate_binary(args.service_bin.as_deref())?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let plan = if args.quick { Plan::quick(args.connections) } else { Plan::full(args.connections) };
    let credentials = Credentials::random();
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let reports = runtime.block_on(async {
        let mut cluster = Cluster::start(&binary, &credentials, &args.out)?;
        let mut reports = Vec::new();
        let mut seats = plan.control_seats;
        for case in Case::ALL {
            if case != Case::R0 && !args.cases.is_empty() && !args.cases.iter().any(|name| name == case.name()) {
                continue;
            }
            match run_case(&mut cluster, case, &plan, &credentials, seats).await {
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
                    // Whatever the failed case left behind (a stopped server, a paused replica) must not spoil
                    // the next one.
                    cluster.stop_replicas();
                    tokio::task::block_in_place(|| cluster.heal())?;
                }
            }
        }
        anyhow::Ok(reports)
    })?;
    let passed = reports.iter().all(CaseReport::passed);
    let campaign = Campaign { quick: args.quick, connections: plan.connections, replicas: 2, passed, cases: &reports };
    let table = report::to_markdown(&campaign);
    std::fs::write(args.out.join("faults.json"), report::to_json(&campaign))?;
    std::fs::write(args.out.join("faults.md"), &table)?;
    println!("{table}");
    Ok(passed)
}
