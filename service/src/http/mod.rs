//! The HTTP layer: the shared state, the router that composes every feature's routes, and the middleware around
//! them (metrics by route and status, security headers, rate limits and timeout, JSON 404/405).

pub mod events;
pub mod json;
pub mod limits;
pub mod ops;
pub mod reservations;
pub mod server;
pub mod views;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::Authenticator;
use crate::cache::Cache;
use crate::domain::validate_idempotency_key;
use crate::engine::Engine;
use crate::error::ApiError;
use crate::store::Db;

/// What every handler can reach: a handle that costs one reference count to clone, since the router clones the
/// state for every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The state shared by every request of the process.
pub struct Shared {
    pub db: Db,
    pub engine: Arc<Engine>,
    pub cache: Arc<Cache>,
    pub auth: Arc<Authenticator>,
    /// The one event this process takes reservations for, if scoped.
    pub event_scope: Option<i64>,
    pub metrics: PrometheusHandle,
    /// Rate limits, the client address and the request timeout.
    pub limits: Arc<limits::Limits>,
    /// The limits the server puts on each connection (read by [`crate::serve`], not by handlers).
    pub connection: server::ConnectionLimits,
    /// Tasks that run beside the requests (the hold sweeper).
    pub background: Arc<Background>,
}

/// The background tasks, stopped after the last request when the server shuts down.
pub struct Background {
    stop: tokio::sync::watch::Sender<bool>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Background {
    pub fn new(stop: tokio::sync::watch::Sender<bool>, task: tokio::task::JoinHandle<()>) -> Self {
        Self { stop, task: std::sync::Mutex::new(Some(task)) }
    }

    /// Asks the tasks to stop (the sweeper releases its lease) and waits for them.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

/// The security headers of every answer (a handler's own value wins).
const SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::CACHE_CONTROL, "no-store"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"),
];

/// The whole application. Everything around the handlers is one middleware ([`around`]): axum clones each
/// layer's boxed service for every request, so one layer instead of a stack of them is measurably cheaper.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(ops::router())
        .merge(events::router())
        .merge(reservations::router())
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(state.clone(), around))
        .with_state(state)
}

/// Around every request: the abuse limits and the timeout ([`limits`]), then the security headers and the
/// `http_request_duration_seconds` histogram by route template, method and status.
///
/// Every label value comes from a small set the service knows, never from the request itself: the route is the
/// template that matched (or `unmatched`), the method one of [`method_label`]'s, the status one the service answered.
/// A client that invents paths or methods therefore adds no time series (each costs memory for the life of the
/// process and bytes in every scrape).
async fn around(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = method_label(request.method());
    let mut response = limits::enforce(&state, request, next).await;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        if let header::Entry::Vacant(entry) = headers.entry(name) {
            entry.insert(HeaderValue::from_static(value));
        }
    }
    let status = response.status().as_str().to_owned();
    metrics::histogram!("http_request_duration_seconds", "route" => route, "method" => method, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The `method` label of a request: the standard methods by name, and `other` for any other token a client sends.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The one parameter of a route's path, as text. A value that is not valid UTF-8 is 422 `invalid_input` (axum's own
/// rejection would be plain text).
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|rejection| ApiError::Invalid(format!("bad path parameter: {}", rejection.body_text())))
    }
}

/// Parses an id from a path: a positive integer.
pub fn parse_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::Invalid(format!("the id in the path must be a positive integer, got {:?}", truncate(text)))
    })
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

/// The `Idempotency-Key` header, if present exactly once and valid.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    static NAME: HeaderName = HeaderName::from_static("idempotency-key");
    let mut values = headers.get_all(&NAME).iter();
    let Some(first) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(ApiError::Invalid("send at most one Idempotency-Key header".into()));
    }
    let key = first.to_str().map_err(|_| ApiError::Invalid("Idempotency-Key must be visible ASCII".into()))?;
    validate_idempotency_key(key)?;
    Ok(Some(key.to_owned()))
}
