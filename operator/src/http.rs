//! The operator's own HTTP endpoint: `/livez`, `/readyz` and `/metrics`.
//!
//! `/readyz` is 200 for a standby instance once its lease manager runs, and for the leader once its first watch of
//! TicketEvents has synced; 503 otherwise.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

/// What `/readyz` looks at.
#[derive(Debug, Default)]
pub struct Health {
    /// The lease manager runs (this instance is at least a standby).
    pub lease_running: AtomicBool,
    /// This instance holds the lease and runs the controller.
    pub leading: AtomicBool,
    /// The controller's first watch of TicketEvents has synced.
    pub synced: AtomicBool,
}

impl Health {
    /// Whether the instance is ready: a standby, or a leader whose watch has synced.
    pub fn is_ready(&self) -> bool {
        self.lease_running.load(Ordering::SeqCst)
            && (!self.leading.load(Ordering::SeqCst) || self.synced.load(Ordering::SeqCst))
    }
}

#[derive(Clone)]
struct AppState {
    health: Arc<Health>,
    metrics: Option<PrometheusHandle>,
}

/// Serves the endpoint on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    health: Arc<Health>,
    metrics: Option<PrometheusHandle>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(AppState { health, metrics });
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.health.is_ready() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

async fn render_metrics(State(state): State<AppState>) -> (StatusCode, String) {
    match &state.metrics {
        Some(handle) => (StatusCode::OK, handle.render()),
        None => (StatusCode::NOT_FOUND, "metrics are not recorded in this process".into()),
    }
}
