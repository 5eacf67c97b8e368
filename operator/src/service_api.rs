//! The reservation service's admin API as the operator uses it: create or update an event, read its seats, close
//! its sale. The admin token is sent as a bearer token and never logged.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use ticketing_crds::TicketEventSpec;

/// A secret that formats as `***`.
#[derive(Clone)]
pub struct AdminToken(String);

impl AdminToken {
    /// Wraps a token, dropping surrounding whitespace (a file usually ends with a newline).
    pub fn new(token: &str) -> Self {
        Self(token.trim().to_string())
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(***)")
    }
}

/// Why a call to the admin API failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request did not get an answer (connection refused, timeout, unreadable body).
    #[error("reservation service unreachable: {0}")]
    Transport(#[from] reqwest::Error),
    /// The service answered with an error status.
    #[error("reservation service answered {status} ({code}): {message}")]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The stable error code of the body, or `unknown`.
        code: String,
        /// The message of the body.
        message: String,
    },
}

impl ApiError {
    /// Whether the service refused the event itself (422 invalid, or 409 for a capacity below the seats sold), so
    /// retrying without a spec change is pointless.
    pub fn is_refusal(&self) -> bool {
        matches!(self, ApiError::Status { status, .. }
            if *status == StatusCode::UNPROCESSABLE_ENTITY || *status == StatusCode::CONFLICT)
    }

    /// Whether the event does not exist (any more) in the service.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Status { status, .. } if *status == StatusCode::NOT_FOUND)
    }
}

/// The event as the operator sends it.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventBody {
    event_name: String,
    total_seats: i64,
    event_date: String,
    sales_open_at: String,
    sales_close_at: String,
    per_user_limit: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_per_order: Option<i32>,
    hold_seconds: i32,
}

impl EventBody {
    /// The body describing `spec`, with the name trimmed as the service stores it.
    pub fn from_spec(spec: &TicketEventSpec) -> Self {
        Self {
            event_name: spec.event_name.trim().to_string(),
            total_seats: spec.capacity,
            event_date: timestamp(spec.event_date),
            sales_open_at: timestamp(spec.sale.opens_at),
            sales_close_at: timestamp(spec.sale.closes_at),
            per_user_limit: spec.per_user_limit,
            max_per_order: spec.max_per_order,
            hold_seconds: spec.hold_seconds,
        }
    }

    /// Whether the service's copy of the event already says what this body says (an unset `maxPerOrder` is the
    /// service's to choose).
    pub fn matches(&self, record: &EventRecord) -> bool {
        record.event_name == self.event_name
            && record.total_seats == self.total_seats
            && record.event_date == self.event_date
            && record.sales_open_at.as_deref() == Some(self.sales_open_at.as_str())
            && record.sales_close_at.as_deref() == Some(self.sales_close_at.as_str())
            && record.per_user_limit == self.per_user_limit
            && self.max_per_order.is_none_or(|max| record.max_per_order == max)
            && record.hold_seconds == self.hold_seconds
    }
}

/// The event as the service returns it (the fields the operator reads).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    /// The database id.
    pub id: i64,
    /// The name.
    pub event_name: String,
    /// The capacity.
    pub total_seats: i64,
    /// Seats still for sale.
    pub available_seats: i64,
    /// Seats held by active reservations.
    pub sold_seats: i64,
    /// When the event takes place, `YYYY-MM-DDTHH:MM:SS` in UTC.
    pub event_date: String,
    /// When the sale opens.
    pub sales_open_at: Option<String>,
    /// When the sale closes.
    pub sales_close_at: Option<String>,
    /// Most seats per buyer.
    pub per_user_limit: i32,
    /// Most seats per order.
    pub max_per_order: i32,
    /// Hold time in seconds.
    pub hold_seconds: i32,
    /// `SCHEDULED`, `ON_SALE`, `SOLD_OUT` or `CLOSED`.
    pub status: String,
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    message: Option<String>,
    code: Option<String>,
}

/// A client of the admin API.
#[derive(Clone, Debug)]
pub struct ServiceApi {
    http: reqwest::Client,
    base: String,
    token: AdminToken,
}

impl ServiceApi {
    /// A client of the service at `base_url` (e.g. `http://ticketing-api.ticketing.svc`).
    pub fn new(base_url: &str, token: AdminToken) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client with a timeout always builds");
        Self { http, base: base_url.trim_end_matches('/').to_string(), token }
    }

    /// Creates the event; a repeat with the same `idempotency_key` returns the event created first.
    pub async fn create(&self, body: &EventBody, idempotency_key: &str) -> Result<EventRecord, ApiError> {
        let request = self.request(Method::POST, "/api/events").header("Idempotency-Key", idempotency_key);
        Self::send(request.json(body)).await
    }

    /// Replaces the event's settings.
    pub async fn update(&self, id: i64, body: &EventBody) -> Result<EventRecord, ApiError> {
        Self::send(self.request(Method::PUT, &format!("/api/events/{id}")).json(body)).await
    }

    /// Reads the event.
    pub async fn get(&self, id: i64) -> Result<EventRecord, ApiError> {
        Self::send(self.request(Method::GET, &format!("/api/events/{id}"))).await
    }

    /// Ends the event's sale now; closing a closed sale succeeds.
    pub async fn close(&self, id: i64) -> Result<EventRecord, ApiError> {
        Self::send(self.request(Method::POST, &format!("/api/events/{id}/close"))).await
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token.0)
    }

    async fn send(request: reqwest::RequestBuilder) -> Result<EventRecord, ApiError> {
        let response = request.send().await?;
        let status = response.status();
        let envelope: Option<Envelope<EventRecord>> = response.json().await.ok();
        match envelope {
            Some(Envelope { data: Some(record), .. }) if status.is_success() => Ok(record),
            other => {
                let (code, message) = other.map(|e| (e.code, e.message)).unwrap_or_default();
                Err(ApiError::Status {
                    status,
                    code: code.unwrap_or_else(|| "unknown".into()),
                    message: message.unwrap_or_else(|| "no message".into()),
                })
            }
        }
    }
}

/// A timestamp as the service writes them: `YYYY-MM-DDTHH:MM:SS` in UTC.
fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::spec;

    #[test]
    fn the_body_carries_the_spec_in_the_service_timestamp_format() {
        let body = serde_json::to_value(EventBody::from_spec(&spec())).unwrap();

        assert_eq!(body["totalSeats"], 5000);
        assert_eq!(body["salesOpenAt"], "2027-03-01T10:00:00");
        assert_eq!(body["salesCloseAt"], "2027-03-01T22:00:00");
        assert_eq!(body["eventDate"], "2027-05-01T19:00:00");
    }

    fn record_of(body: &EventBody) -> EventRecord {
        EventRecord {
            id: 1,
            event_name: body.event_name.clone(),
            total_seats: body.total_seats,
            available_seats: body.total_seats,
            sold_seats: 0,
            event_date: body.event_date.clone(),
            sales_open_at: Some(body.sales_open_at.clone()),
            sales_close_at: Some(body.sales_close_at.clone()),
            per_user_limit: body.per_user_limit,
            max_per_order: body.max_per_order.unwrap_or(4),
            hold_seconds: body.hold_seconds,
            status: "SCHEDULED".into(),
        }
    }

    #[test]
    fn an_unchanged_spec_needs_no_update_and_a_changed_one_does() {
        let body = EventBody::from_spec(&spec());
        let mut changed = spec();
        changed.per_user_limit += 1;

        assert!(body.matches(&record_of(&body)));
        assert!(!EventBody::from_spec(&changed).matches(&record_of(&body)));
    }

    #[test]
    fn a_name_with_surrounding_spaces_matches_the_trimmed_copy_the_service_keeps() {
        let mut spaced = spec();
        spaced.event_name = "  Spring Concert ".into();
        let stored = record_of(&EventBody::from_spec(&spec()));

        assert!(EventBody::from_spec(&spaced).matches(&stored), "no update on every reconcile");
    }

    #[test]
    fn a_max_per_order_is_sent_and_compared_only_when_the_spec_sets_it() {
        let mut limited = spec();
        limited.max_per_order = Some(2);
        let stored = record_of(&EventBody::from_spec(&spec()));

        assert!(serde_json::to_value(EventBody::from_spec(&spec())).unwrap().get("maxPerOrder").is_none());
        assert_eq!(serde_json::to_value(EventBody::from_spec(&limited)).unwrap()["maxPerOrder"], 2);
        assert!(!EventBody::from_spec(&limited).matches(&stored));
    }

    #[test]
    fn the_admin_token_never_prints() {
        let token = AdminToken::new("s3cret\n");

        assert_eq!(format!("{token:?}"), "AdminToken(***)");
        assert_eq!(token.0, "s3cret");
    }
}
