//! The operator's Prometheus metrics: reconciles, failures by reason, reconcile duration, and events by phase.
//! Recorded through the `metrics` facade; the binary installs the Prometheus recorder that `/metrics` renders.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kube::ResourceExt;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use ticketing_crds::{Phase, TicketEvent};

use crate::error::Error;

const RECONCILES: &str = "ticketing_operator_reconciles_total";
const FAILURES: &str = "ticketing_operator_reconcile_failures_total";
const DURATION: &str = "ticketing_operator_reconcile_duration_seconds";
const EVENTS: &str = "ticketing_operator_ticket_events";

/// Every phase, so that `ticketing_operator_ticket_events` reports zero for the empty ones.
const PHASES: [Phase; 7] =
    [Phase::Pending, Phase::Scheduled, Phase::Prewarming, Phase::OnSale, Phase::SoldOut, Phase::Closed, Phase::Failed];

/// Installs the process-wide Prometheus recorder and returns the handle that renders it.
pub fn install_recorder() -> Result<PrometheusHandle, Error> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(DURATION.into()), &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| Error::Startup(format!("installing the metrics recorder: {e}")))
}

/// The operator's metrics, with the phase of every known event for the per-phase gauge.
#[derive(Default)]
pub struct Metrics {
    phases: Mutex<HashMap<(String, String), Phase>>,
}

impl Metrics {
    /// Records one finished reconcile.
    pub fn reconciled(&self, took: Duration, error: Option<&Error>) {
        metrics::counter!(RECONCILES).increment(1);
        metrics::histogram!(DURATION).record(took.as_secs_f64());
        if let Some(error) = error {
            self.failed(error.metric_label());
        }
    }

    /// Records one failure of the given reason.
    pub fn failed(&self, reason: &'static str) {
        metrics::counter!(FAILURES, "reason" => reason).increment(1);
    }

    /// Records the phase of `event` (`None` forgets the event) and updates the per-phase gauge.
    pub fn phase(&self, event: &TicketEvent, phase: Option<Phase>) {
        let key = (event.namespace().unwrap_or_default(), event.name_any());
        let mut phases = self.phases.lock().expect("metrics lock poisoned");
        match phase {
            Some(phase) => phases.insert(key, phase),
            None => phases.remove(&key),
        };
        for phase in PHASES {
            let count = phases.values().filter(|p| **p == phase).count();
            metrics::gauge!(EVENTS, "phase" => phase.as_str()).set(count as f64);
        }
    }
}
