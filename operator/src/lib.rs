//! The ticketing operator: for every `TicketEvent` it registers the event with the reservation service and runs a
//! reservation service scoped to it, scaled up before the sale opens and back down after.
//!
//! Layout:
//! - [`cli`]: the command line and its flags; [`config`]: what reconciles are told at start-up.
//! - The reconcile pipeline ([`reconcile`]), stage by stage: [`validate`] (pure), [`service_api`] (the event in the
//!   database), [`schedule`] and [`children`] (pure: phase, replica bounds, child objects), [`apply`] (server-side
//!   apply of what the event owns, and prune), [`status`] (pure status and conditions). [`ledger`] and [`triggers`]
//!   keep the watches' view of the children that spares unneeded applies and reconciles.
//! - Around it: [`controller`] (watches, backoff), [`leader`] (the Lease), [`http`] (probes and metrics endpoint),
//!   [`metrics`], [`telemetry`] (logs), [`clock`] (injectable time), [`rbac`] (the printed RBAC), [`error`].
//! - [`uninstall`]: the `delete-events` subcommand of the chart's pre-delete hook.
//!
//! ```text
//!  run ─> leader (Lease) ──holder──> controller ──> reconcile: validate → register → schedule → build → apply → prune → status
//!     └─> http: /livez /readyz /metrics
//! ```

pub mod apply;
pub mod children;
pub mod cli;
pub mod clock;
pub mod config;
pub mod controller;
pub mod error;
pub mod http;
pub mod leader;
pub mod ledger;
pub mod metrics;
pub mod rbac;
pub mod reconcile;
pub mod schedule;
pub mod service_api;
pub mod status;
pub mod telemetry;
pub mod triggers;
pub mod uninstall;
pub mod validate;

#[cfg(test)]
mod test_fixtures;

use std::sync::Arc;

use futures::Stream;
use kube::runtime::events::{Recorder, Reporter};
use kube::Client;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::children::MANAGER;
use crate::clock::Clock;
use crate::config::OperatorConfig;
use crate::error::Error;
use crate::http::Health;
use crate::leader::LeaseSettings;
use crate::reconcile::Context;
use crate::service_api::ServiceApi;

/// Everything one operator instance runs with.
pub struct Operator {
    /// The Kubernetes client.
    pub client: Client,
    /// The configuration of every reconcile.
    pub config: OperatorConfig,
    /// The reservation service's admin API.
    pub service_api: ServiceApi,
    /// The time source of the schedule.
    pub clock: Arc<dyn Clock>,
    /// Leader election.
    pub lease: LeaseSettings,
    /// When it changes, every event is reconciled again (a moved test clock); `None` in production.
    pub reconcile_all: Option<watch::Receiver<()>>,
}

/// Runs the instance until `shutdown` becomes true: the probe and metrics endpoint on `listener` at once, the
/// controller whenever this instance holds the Lease. Returns after the Lease is released.
pub async fn run(
    operator: Operator,
    listener: TcpListener,
    metrics: Option<PrometheusHandle>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), Error> {
    let health = Arc::new(Health::default());
    let mut http_shutdown = shutdown.clone();
    let http = tokio::spawn(http::serve(listener, health.clone(), metrics, async move {
        let _ = http_shutdown.wait_for(|stop| *stop).await;
    }));
    let reporter = Reporter { controller: MANAGER.into(), instance: Some(operator.lease.identity.clone()) };
    let ctx = Arc::new(Context {
        client: operator.client.clone(),
        config: operator.config,
        service_api: operator.service_api,
        clock: operator.clock,
        recorder: Recorder::new(operator.client.clone(), reporter),
        metrics: metrics::Metrics::default(),
        pruned: Default::default(),
        ledger: Default::default(),
    });
    let reconcile_all = operator.reconcile_all;
    let led = leader::lead(operator.client, &operator.lease, shutdown, health.clone(), |stop| {
        controller::run_controller(ctx.clone(), triggers(reconcile_all.clone()), stop, health.clone())
    })
    .await;
    if led.is_err() {
        http.abort();
        return led;
    }
    let served = http.await.map_err(|e| Error::Startup(format!("the HTTP endpoint panicked: {e}")))?;
    served.map_err(|e| Error::Startup(format!("the HTTP endpoint failed: {e}")))
}

/// A stream yielding once per change seen by `receiver`; empty without one.
fn triggers(receiver: Option<watch::Receiver<()>>) -> impl Stream<Item = ()> + Send + 'static {
    futures::stream::unfold(receiver, |receiver| async move {
        let mut receiver = receiver?;
        receiver.changed().await.ok()?;
        Some(((), Some(receiver)))
    })
}
