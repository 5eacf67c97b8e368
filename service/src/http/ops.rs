//! Operational endpoints: health for the original's clients, liveness, readiness, metrics and the OpenAPI document.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use super::json::Reply;
use super::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/health", get(health))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi))
}

/// The health document of `/api/health` and `/readyz`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `UP` or `DOWN` (as in the original), with the detail below.
    pub status: &'static str,
    /// `ok` or `down`.
    pub database: &'static str,
    /// `ok`, `degraded` (unreachable: selling continues from the database) or `disabled` (not configured).
    pub redis: &'static str,
}

async fn check(state: &AppState) -> Health {
    let database_up = state.db.ping().await;
    let redis = state.cache.probe().await;
    Health {
        status: if database_up { "UP" } else { "DOWN" },
        database: if database_up { "ok" } else { "down" },
        redis: redis.as_str(),
    }
}

/// Health of the service and its dependencies (no credential needed).
#[utoipa::path(get, path = "/api/health", tag = "operations", responses((status = 200, description = "Health", body = Health)))]
pub async fn health(State(state): State<AppState>) -> Reply<Health> {
    Reply::ok(check(&state).await)
}

/// The process is alive.
#[utoipa::path(get, path = "/livez", tag = "operations", responses((status = 200, description = "Alive")))]
pub async fn livez() -> Reply<&'static str> {
    Reply::ok("alive")
}

/// Ready to take traffic: the database answers. Redis being away makes it `degraded`, not unready.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready", body = Health), (status = 503, description = "The database does not answer", body = Health)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let health = check(&state).await;
    let status = if health.database == "ok" { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut reply = Reply::ok(health);
    reply.0 = status;
    reply.1.success = status == StatusCode::OK;
    reply.into_response()
}

/// Prometheus metrics in the text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi::json()).into_response()
}
