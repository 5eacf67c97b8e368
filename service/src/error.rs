//! The one error type of the service and how it becomes an HTTP answer.
//!
//! Every failure a client can see is an [`ApiError`]: a stable machine-readable `code`, an HTTP status and a
//! message written for people. Internal failures (database, Redis, bugs) are logged once, with their cause, and
//! reach the client only as a generic `unavailable` or `internal` answer, so no internals leak.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to a client, in the `{"success": false, "message", "code", "data": null}` envelope.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not well-formed JSON.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// No credential, or one that does not verify.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// A valid credential that is not allowed to do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The event does not exist.
    #[error("event {0} not found")]
    EventNotFound(i64),
    /// The reservation does not exist (or belongs to somebody else, which is not disclosed).
    #[error("reservation {0} not found")]
    ReservationNotFound(i64),
    /// No route matches the path.
    #[error("no such resource")]
    NotFound,
    /// The route exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Fewer seats are left than asked for.
    #[error("sold out: {available} seat(s) left, {requested} requested")]
    SoldOut { available: i64, requested: i64 },
    /// The buyer would hold more seats for this event than its per-user limit allows.
    #[error("per-user limit reached: the limit is {limit} seat(s) and {held} are already held")]
    UserLimitReached { limit: i64, held: i64 },
    /// The reservation was cancelled before.
    #[error("reservation {0} is already cancelled")]
    AlreadyCancelled(i64),
    /// The hold lapsed before it was confirmed; its seats went back on sale.
    #[error("reservation {0} was held until its expiry and is no longer held")]
    HoldExpired(i64),
    /// The sale has not opened yet.
    #[error("the sale opens at {0}")]
    SaleNotOpen(String),
    /// The sale has ended.
    #[error("the sale is closed")]
    SaleClosed,
    /// An idempotency key was reused for a different request.
    #[error("the Idempotency-Key was already used for a different request")]
    IdempotencyKeyReused,
    /// A change that would leave the event with fewer seats than are already sold.
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the limit.
    #[error("request body too large (limit {0} bytes)")]
    PayloadTooLarge(usize),
    /// The request line and headers are larger than the limit.
    #[error("request line and headers too large (limit {0} bytes)")]
    HeadersTooLarge(usize),
    /// The body is not `application/json`.
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// This process serves reservations for another event only.
    #[error("this endpoint takes reservations for event {scope} only")]
    EventOutOfScope { scope: i64 },
    /// Well-formed input that breaks a rule; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// Too many requests from one buyer or address.
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    /// The event's queue is full: try again shortly. Never a statement about the seats.
    #[error("too many requests are waiting for this event; retry shortly")]
    QueueFull,
    /// The request took longer than the server allows. A reservation may still commit: retry with the same
    /// `Idempotency-Key` to learn its outcome.
    #[error("the request timed out; retry (with the same Idempotency-Key for a reservation)")]
    Timeout,
    /// A dependency failed before anything the request asked for was written (the cause is logged, not sent).
    #[error("the service cannot answer right now; retry shortly")]
    Unavailable,
    /// The connection to the database was lost after the request's `COMMIT` was sent: it may or may not have been
    /// applied. Retry with the same `Idempotency-Key` to learn which; a retry without one may act twice.
    #[error("the outcome is unknown: the change may have been applied; retry with the same Idempotency-Key")]
    OutcomeUnknown,
    /// A bug (the cause is logged, not sent).
    #[error("internal error")]
    Internal,
}

impl ApiError {
    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed_json",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::EventNotFound(_) => "event_not_found",
            Self::ReservationNotFound(_) => "reservation_not_found",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::SoldOut { .. } => "sold_out",
            Self::UserLimitReached { .. } => "user_limit_reached",
            Self::AlreadyCancelled(_) => "already_cancelled",
            Self::HoldExpired(_) => "hold_expired",
            Self::SaleNotOpen(_) => "sale_not_open",
            Self::SaleClosed => "sale_closed",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::HeadersTooLarge(_) => "headers_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::EventOutOfScope { .. } => "event_out_of_scope",
            Self::Invalid(_) => "invalid_input",
            Self::RateLimited { .. } => "rate_limited",
            Self::QueueFull => "queue_full",
            Self::Timeout => "timeout",
            Self::Unavailable => "unavailable",
            Self::OutcomeUnknown => "outcome_unknown",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::EventNotFound(_) | Self::ReservationNotFound(_) | Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::SoldOut { .. }
            | Self::UserLimitReached { .. }
            | Self::AlreadyCancelled(_)
            | Self::HoldExpired(_)
            | Self::SaleNotOpen(_)
            | Self::SaleClosed
            | Self::Conflict(_) => StatusCode::CONFLICT,
            Self::IdempotencyKeyReused | Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::EventOutOfScope { .. } => StatusCode::MISDIRECTED_REQUEST,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::QueueFull | Self::Unavailable | Self::OutcomeUnknown => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Logs a dependency failure once, with its cause, and turns it into the generic `unavailable` answer.
    pub fn dependency(what: &'static str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(dependency = what, error = %cause, "dependency failure");
        metrics::counter!("ticketing_dependency_errors_total", "dependency" => what).increment(1);
        Self::Unavailable
    }

    /// Logs a database connection lost at `COMMIT` once, with its cause, and turns it into `outcome_unknown`.
    pub fn commit_lost(cause: impl std::fmt::Display) -> Self {
        tracing::error!(dependency = "database", error = %cause, "connection lost at COMMIT; the outcome is unknown");
        metrics::counter!("ticketing_dependency_errors_total", "dependency" => "database").increment(1);
        metrics::counter!("ticketing_commit_outcome_unknown_total").increment(1);
        Self::OutcomeUnknown
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::dependency("database", crate::store::Redacted(&error))
    }
}

/// The envelope of every error body.
#[derive(Serialize)]
struct ErrorBody<'a> {
    success: bool,
    message: String,
    code: &'a str,
    data: Option<()>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, Self::Internal) {
            tracing::error!("answering 500 internal: an invariant of the service's own code failed");
        }
        let status = self.status();
        let body = ErrorBody { success: false, message: self.to_string(), code: self.code(), data: None };
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match &self {
            Self::QueueFull | Self::Unavailable | Self::OutcomeUnknown | Self::Timeout => Some(1),
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if matches!(self, Self::Unauthenticated(_)) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
