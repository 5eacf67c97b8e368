//! The operator at scale (issue 6): `N` TicketEvents applied to a real test control plane, with the real
//! `ticketing-operator` binary and a reservation service on SQLite for its admin API, timed until steady state,
//! with the operator's peak memory and CPU time, its reconcile counts and the control plane's CPU time.
//!
//! ```text
//!  cluster (control plane, CRD, big fake node) ─> service + operator ─> apply N ─> watch until all Ready
//!     └─> report: operator.json, operator.md (each figure beside its target)
//! ```
//! Modules: [`cluster`], [`operator_proc`], [`workload`], [`steady`] (the steady-state predicate and the watches
//! that evaluate it), [`report`].

pub mod cluster;
pub mod operator_proc;
pub mod report;
pub mod steady;
pub mod workload;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::auth::Credentials;
use crate::conn::{Call, Conn, Target};
use crate::service_proc::{cpu_seconds, locate_binary, peak_rss_mb, Backend, ServiceProcess};

use self::cluster::Cluster;
use self::operator_proc::{locate_operator, OperatorProcess, OperatorSetup};
use self::report::{counter, Report};
use self::steady::Tracker;

/// How often steady state is evaluated (the resolution of the measured time).
const TICK: Duration = Duration::from_millis(100);

/// Flags of `ticketing-bench operator`.
#[derive(Debug, clap::Args)]
pub struct OperatorArgs {
    /// A smaller run for CI (100 TicketEvents unless --events says otherwise).
    #[arg(long)]
    pub quick: bool,
    /// Directory for operator.json and operator.md.
    #[arg(long, default_value = "bench-results")]
    pub out: PathBuf,
    /// TicketEvents to apply (default 1,000; 100 with --quick).
    #[arg(long)]
    pub events: Option<usize>,
    /// Seconds to wait for steady state before the run counts as not converged.
    #[arg(long, default_value_t = 600)]
    pub limit_seconds: u64,
    /// The ticketing-operator binary (default: next to this executable).
    #[arg(long)]
    pub operator_bin: Option<PathBuf>,
    /// The ticketing-service binary (default: next to this executable).
    #[arg(long)]
    pub service_bin: Option<PathBuf>,
}

/// Runs the operator benchmark; `Ok(false)` when the operator did not reach steady state within the limit.
pub fn run(args: OperatorArgs) -> anyhow::Result<bool> {
    let events = args.events.unwrap_or(if args.quick { 100 } else { 1000 });
    if events == 0 {
        bail!("--events must be at least 1");
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let operator_bin = locate_operator(args.operator_bin.as_deref())?;
    let service_bin = locate_binary(args.service_bin.as_deref())?;
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let plan = Plan {
        mode: if args.quick { "quick" } else { "full" },
        events,
        limit: Duration::from_secs(args.limit_seconds),
        settle: if args.quick { Duration::from_secs(3) } else { Duration::from_secs(5) },
        operator_bin,
        service_bin,
        out: args.out.clone(),
    };
    let report = runtime.block_on(measure(&plan))?;
    let table = report.to_markdown();
    std::fs::write(args.out.join("operator.json"), report.to_json())?;
    std::fs::write(args.out.join("operator.md"), &table)?;
    println!("{table}");
    if !report.converged {
        eprintln!(
            "ticketing-bench operator: {} of {} TicketEvents reached steady state within {} s",
            report.ready_events, report.events, args.limit_seconds
        );
    }
    Ok(report.converged)
}

/// What one run does.
struct Plan {
    mode: &'static str,
    events: usize,
    limit: Duration,
    /// The length of each of the two windows after steady state: the first lets the last reconciles finish, the
    /// second measures the quiet reconcile rate.
    settle: Duration,
    operator_bin: PathBuf,
    service_bin: PathBuf,
    out: PathBuf,
}

/// Sets everything up, applies the TicketEvents and measures until steady state or the limit.
async fn measure(plan: &Plan) -> anyhow::Result<Report> {
    eprintln!("operator scale: starting the control plane");
    let cluster = Cluster::start(plan.events).await?;
    let credentials = Credentials::random();
    let service = ServiceProcess::start(
        &plan.service_bin,
        &Backend::Embedded,
        &credentials,
        &plan.out.join("service.log"),
        "127.0.0.1:0",
        &[],
    )?;
    let kubeconfig = cluster.control_plane.kubeconfig_path();
    let mut operator = OperatorProcess::start(&OperatorSetup {
        binary: &plan.operator_bin,
        kubeconfig: &kubeconfig,
        namespace: &cluster.namespace,
        api_url: &service.url,
        admin_token: credentials.admin_token(),
        log_path: &plan.out.join("operator.log"),
    })?;
    let metrics = Target::resolve(&format!("http://{}", operator.metrics_addr)).await?;
    wait_ready(&metrics).await?;
    let client = cluster.control_plane.client();
    let tracker = Tracker::start(&client, &cluster.namespace);
    let reconciles_before = scrape(&metrics).await?;
    let cpu_before = cluster.component_cpu();

    eprintln!("operator scale: applying {} TicketEvents in {}", plan.events, cluster.namespace);
    let bar = progress_bar(plan.events);
    let applied = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let applies = tokio::spawn(workload::apply_all(client, cluster.namespace.clone(), plan.events, applied.clone()));
    let mut reconciled_at = None;
    let mut steady_at = None;
    let mut counts = steady::Counts::default();
    while started.elapsed() < plan.limit {
        tokio::time::sleep(TICK).await;
        counts = tracker.counts();
        let all = counts.seen == plan.events;
        if all && counts.reconciled == plan.events && reconciled_at.is_none() {
            reconciled_at = Some(started.elapsed());
        }
        bar.set_position(counts.ready as u64);
        bar.set_message(format!("applied {}, reconciled {}", applied.load(Ordering::Relaxed), counts.reconciled));
        if all && counts.ready == plan.events {
            steady_at = Some(started.elapsed());
            break;
        }
        if !operator.is_running() {
            bail!("the operator exited during the run; see {}", plan.out.join("operator.log").display());
        }
        if applies.is_finished() && applied.load(Ordering::Relaxed) < plan.events {
            break;
        }
    }
    bar.finish_and_clear();
    let apply_time = applies.await.context("the apply task panicked")??;
    let cpu_after = cluster.component_cpu();
    let reconciles_at_steady = scrape(&metrics).await?;
    // The last status writes and Deployment updates still trigger a reconcile each right after steady state; the
    // quiet rate is taken over a second window, which only a reconcile loop keeps busy.
    tokio::time::sleep(plan.settle).await;
    let reconciles_settled = scrape(&metrics).await?;
    tokio::time::sleep(plan.settle).await;
    let reconciles_after = scrape(&metrics).await?;
    let pid = operator.pid();
    let report = Report {
        mode: plan.mode.into(),
        events: plan.events,
        converged: steady_at.is_some(),
        apply_seconds: apply_time.as_secs_f64(),
        apply_rate: plan.events as f64 / apply_time.as_secs_f64().max(f64::EPSILON),
        reconciled_seconds: reconciled_at.map(|t| t.as_secs_f64()),
        steady_seconds: steady_at.map(|t| t.as_secs_f64()),
        ready_events: counts.ready,
        operator_peak_rss_mb: peak_rss_mb(pid).context("reading the operator's peak RSS")?,
        operator_cpu_seconds: cpu_seconds(pid).context("reading the operator's CPU time")?,
        reconciles: reconciles_at_steady.0 - reconciles_before.0,
        reconcile_failures: reconciles_at_steady.1 - reconciles_before.1,
        idle_reconciles_per_second: (reconciles_after.0 - reconciles_settled.0) / plan.settle.as_secs_f64(),
        control_plane_cpu_seconds: cpu_before
            .iter()
            .zip(&cpu_after)
            .map(|((name, before), (_, after))| (name.to_string(), after - before))
            .collect(),
    };
    drop(tracker);
    drop(operator);
    service.stop()?;
    Ok(report)
}

/// Polls the operator's `/readyz` until it holds the lease and its first watch has synced.
async fn wait_ready(target: &Target) -> anyhow::Result<()> {
    crate::api::wait_ready(target, Duration::from_secs(60)).await.context("the operator did not become ready")
}

/// The operator's reconcile and failure counters.
async fn scrape(target: &Target) -> anyhow::Result<(f64, f64)> {
    let reply = Conn::new(target).send(&Call::get("/metrics")).await.context("scraping the operator's /metrics")?;
    let text = String::from_utf8_lossy(&reply.body);
    Ok((
        counter(&text, "ticketing_operator_reconciles_total"),
        counter(&text, "ticketing_operator_reconcile_failures_total"),
    ))
}

fn progress_bar(events: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(events as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{elapsed_precise}] {wide_bar} {pos}/{len} ready, {msg}")
            .expect("static progress template is valid"),
    );
    bar.set_prefix("operator");
    bar
}
