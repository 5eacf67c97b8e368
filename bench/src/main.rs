//! The `ticketing-bench` command line.
//!
//! - `ticketing-bench [--quick] [--out DIR] ...`: the benchmark suite against a service it starts (embedded SQLite
//!   by default, MariaDB + Redis when `DATABASE_URL` / `REDIS_URL` are set) or a running one (`--target`); writes
//!   `results.json`, `results.md` and `plot.svg`, prints the table.
//! - `ticketing-bench faults [--quick] --out DIR`: the fault campaign (storms under Redis, MariaDB, service and lease
//!   faults); writes `faults.json` and `faults.md`.
//! - `ticketing-bench operator [--quick] --out DIR`: the operator at scale on the test control plane; writes
//!   `operator.json` and `operator.md`.
//!
//! Every form exits 0 when every invariant held, 1 when one broke, 2 when the run could not be carried out.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use ticketing_bench::auth::Credentials;
use ticketing_bench::service_proc::{locate_binary, Backend};
use ticketing_bench::suite::{run_suite, Sizes, Source, SuiteConfig};
use ticketing_bench::{faults, operator_scale, plot, report};

/// mimalloc, as in the service: a profile of the storm showed glibc's malloc and free at about a sixth of the
/// generator's CPU, which the generator takes from the two cores it shares with the service and the database (the
/// in-process ceiling server uses it too, so both sides of every ratio get the same allocator).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "ticketing-bench",
    about = "Benchmarks the reservation service against an in-run ceiling",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    suite: SuiteArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The fault campaign: R1-R5 during hot-event storms on a private MariaDB and Redis, checked from the database.
    Faults(faults::FaultsArgs),
    /// The operator at scale: many TicketEvents applied to the test API server until steady state.
    Operator(operator_scale::OperatorArgs),
}

#[derive(Debug, Args)]
struct SuiteArgs {
    /// The whole suite in well under two minutes (a 20,000-seat storm with fewer connections).
    #[arg(long)]
    quick: bool,
    /// Directory for results.json, results.md, plot.svg and the service logs.
    #[arg(long, default_value = "bench-results")]
    out: PathBuf,
    /// Drive a running service at this base URL instead of starting one (needs DATABASE_URL for the checks).
    #[arg(long)]
    target: Option<String>,
    /// The running service's static admin token (with --target).
    #[arg(long, env = "TICKETING_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// The running service's HS256 JWT secret, to mint buyer tokens (with --target).
    #[arg(long, env = "TICKETING_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// The ticketing-service binary (default: next to this executable).
    #[arg(long)]
    service_bin: Option<PathBuf>,
    /// MySQL/MariaDB URL: the started service uses it; with --target, the checks read it.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Redis URL for the started service.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    redis_url: Option<String>,
    /// Override the storm's seat count.
    #[arg(long)]
    seats: Option<i64>,
    /// Override the connection count of the storm, flood, reads and ceiling.
    #[arg(long)]
    connections: Option<usize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Some(Command::Faults(args)) => faults::run(args),
        Some(Command::Operator(args)) => operator_scale::run(args),
        None => run_suite_command(cli.suite),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("ticketing-bench: an invariant broke (see the table above)");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("ticketing-bench: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the benchmark suite; `Ok(false)` when an invariant broke.
fn run_suite_command(args: SuiteArgs) -> anyhow::Result<bool> {
    let mut sizes = if args.quick { Sizes::quick() } else { Sizes::full() };
    if let Some(seats) = args.seats {
        sizes.storm_seats = seats;
    }
    if let Some(connections) = args.connections {
        sizes.connections = connections;
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let (source, credentials) = match &args.target {
        Some(url) => {
            let (Some(admin), Some(secret)) = (args.admin_token.clone(), args.jwt_secret.clone()) else {
                bail!(
                    "--target needs --admin-token and --jwt-secret (or TICKETING_ADMIN_TOKEN / TICKETING_JWT_SECRET)"
                );
            };
            let Some(database_url) = args.database_url.clone() else {
                bail!(
                    "--target needs DATABASE_URL (or --database-url) so the invariants can be read from the database"
                );
            };
            (Source::Running { url: url.clone(), database_url }, Credentials::new(admin, secret))
        }
        None => {
            let binary = locate_binary(args.service_bin.as_deref())?;
            let backend = match &args.database_url {
                Some(database_url) => {
                    Backend::External { database_url: database_url.clone(), redis_url: args.redis_url.clone() }
                }
                None => Backend::Embedded,
            };
            (Source::Spawn { binary, backend }, Credentials::random())
        }
    };
    let config = SuiteConfig { sizes, source, credentials, log_dir: args.out.clone() };
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let mut rows = runtime.block_on(run_suite(&config))?;
    report::apply_ceiling(&mut rows);
    let table = report::to_markdown(&rows);
    std::fs::write(args.out.join("results.json"), report::to_json(&rows))?;
    std::fs::write(args.out.join("results.md"), &table)?;
    std::fs::write(args.out.join("plot.svg"), plot::render(&rows))?;
    println!("{table}");
    Ok(rows.iter().all(|row| row.invariants_ok))
}
