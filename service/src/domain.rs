//! Plain domain types and the rules that need no I/O.
//!
//! Input crosses the HTTP edge as loosely typed JSON and is turned here into validated values ([`EventDraft`],
//! [`ReservationRequest`]) whose constructors refuse anything invalid, so nothing past the edge handles a bad value.
//! Times are UTC milliseconds since the epoch ([`Millis`]); they are written to clients as `YYYY-MM-DDTHH:MM:SS`
//! (UTC), the format of the original system.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// The longest event name accepted.
pub const MAX_EVENT_NAME_CHARS: usize = 200;
/// The longest user id accepted (the JWT `sub`).
pub const MAX_USER_ID_CHARS: usize = 128;
/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
/// The most seats one event may have.
pub const MAX_TOTAL_SEATS: i64 = 10_000_000;
/// The most seats a single order may ask for, whatever the event allows.
pub const MAX_ORDER_QUANTITY: i64 = 100;
/// Defaults for the fields the original system did not have.
pub const DEFAULT_PER_USER_LIMIT: i64 = 8;
pub const DEFAULT_MAX_PER_ORDER: i64 = 4;

/// The current time in [`Millis`].
pub fn now_millis() -> Millis {
    Utc::now().timestamp_millis()
}

/// Parses a timestamp as the original system wrote it (`2024-12-31T19:00:00`, taken as UTC) or as RFC 3339.
pub fn parse_timestamp(field: &str, text: &str) -> Result<Millis, ApiError> {
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(text) {
        return Ok(with_offset.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(naive.and_utc().timestamp_millis());
        }
    }
    Err(ApiError::Invalid(format!("{field} must be a date-time such as 2024-12-31T19:00:00, got {text:?}")))
}

/// Formats [`Millis`] as `YYYY-MM-DDTHH:MM:SS` in UTC.
pub fn format_timestamp(millis: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis).unwrap_or_default().format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Optional values are written as `null` when absent.
pub fn format_optional_timestamp(millis: Option<Millis>) -> Option<String> {
    millis.map(format_timestamp)
}

/// The event as clients send it to create or replace one (`POST` and `PUT /api/events`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventInput {
    /// The event's name, 1 to 200 characters.
    pub event_name: String,
    /// The number of seats, 1 to 10,000,000.
    pub total_seats: i64,
    /// When the event takes place: `2024-12-31T19:00:00` (UTC) or RFC 3339.
    pub event_date: String,
    /// When the sale opens; absent means now.
    #[serde(default)]
    pub sales_open_at: Option<String>,
    /// When the sale closes; absent means never (until sold out or closed by an admin).
    #[serde(default)]
    pub sales_close_at: Option<String>,
    /// The most seats one buyer may hold for this event (default 8).
    #[serde(default)]
    pub per_user_limit: Option<i64>,
    /// The most seats one order may ask for (default 4).
    #[serde(default)]
    pub max_per_order: Option<i64>,
    /// Seconds a reservation is held before it must be confirmed; 0 confirms at once (the default).
    #[serde(default)]
    pub hold_seconds: Option<i64>,
}

/// A validated event definition, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDraft {
    pub name: String,
    pub total_seats: i64,
    pub event_date: Millis,
    /// `None` on create means "open now"; on update it keeps the stored value.
    pub sales_open_at: Option<Millis>,
    pub sales_close_at: Option<Millis>,
    pub per_user_limit: i64,
    pub max_per_order: i64,
    pub hold_seconds: i64,
}

impl EventDraft {
    /// Validates client input; the error names the first field that is wrong.
    pub fn parse(input: EventInput) -> Result<Self, ApiError> {
        let name = input.event_name.trim().to_owned();
        let name_chars = name.chars().count();
        if name_chars == 0 || name_chars > MAX_EVENT_NAME_CHARS {
            return Err(ApiError::Invalid(format!("eventName must be 1 to {MAX_EVENT_NAME_CHARS} characters")));
        }
        if name.chars().any(char::is_control) {
            return Err(ApiError::Invalid("eventName must not contain control characters".into()));
        }
        if !(1..=MAX_TOTAL_SEATS).contains(&input.total_seats) {
            return Err(ApiError::Invalid(format!("totalSeats must be between 1 and {MAX_TOTAL_SEATS}")));
        }
        let event_date = parse_timestamp("eventDate", &input.event_date)?;
        let sales_open_at = input.sales_open_at.as_deref().map(|t| parse_timestamp("salesOpenAt", t)).transpose()?;
        let sales_close_at = input.sales_close_at.as_deref().map(|t| parse_timestamp("salesCloseAt", t)).transpose()?;
        if let (Some(open), Some(close)) = (sales_open_at, sales_close_at) {
            if close <= open {
                return Err(ApiError::Invalid("salesCloseAt must be after salesOpenAt".into()));
            }
        }
        let per_user_limit = input.per_user_limit.unwrap_or(DEFAULT_PER_USER_LIMIT);
        if !(1..=MAX_TOTAL_SEATS).contains(&per_user_limit) {
            return Err(ApiError::Invalid("perUserLimit must be at least 1".into()));
        }
        let max_per_order = input.max_per_order.unwrap_or(DEFAULT_MAX_PER_ORDER.min(per_user_limit));
        if !(1..=MAX_ORDER_QUANTITY).contains(&max_per_order) {
            return Err(ApiError::Invalid(format!("maxPerOrder must be between 1 and {MAX_ORDER_QUANTITY}")));
        }
        let hold_seconds = input.hold_seconds.unwrap_or(0);
        if !(0..=86_400).contains(&hold_seconds) {
            return Err(ApiError::Invalid("holdSeconds must be between 0 and 86400".into()));
        }
        Ok(Self {
            name,
            total_seats: input.total_seats,
            event_date,
            sales_open_at,
            sales_close_at,
            per_user_limit,
            max_per_order,
            hold_seconds,
        })
    }
}

/// Where an event's sale stands, derived from its row and the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventStatus {
    Scheduled,
    OnSale,
    SoldOut,
    Closed,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub name: String,
    pub total_seats: i64,
    pub available_seats: i64,
    pub event_date: Millis,
    pub sales_open_at: Millis,
    pub sales_close_at: Option<Millis>,
    pub closed_at: Option<Millis>,
    pub per_user_limit: i64,
    pub max_per_order: i64,
    pub hold_seconds: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Event {
    /// The sale's state at `now`.
    pub fn status(&self, now: Millis) -> EventStatus {
        if self.closed_at.is_some() || self.sales_close_at.is_some_and(|close| now >= close) {
            EventStatus::Closed
        } else if self.available_seats == 0 {
            EventStatus::SoldOut
        } else if now < self.sales_open_at {
            EventStatus::Scheduled
        } else {
            EventStatus::OnSale
        }
    }
}

/// The state of a reservation.
///
/// ```text
///   HELD ──confirm──▶ CONFIRMED ──cancel──▶ CANCELLED
///     │ └───────────────cancel───────────────▲
///     └──expires_at passes (sweeper)──▶ EXPIRED
/// ```
/// `HELD` and `CONFIRMED` take seats; `CANCELLED` and `EXPIRED` gave them back exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationStatus {
    Held,
    Confirmed,
    Cancelled,
    Expired,
}

impl ReservationStatus {
    /// The value stored in the `status` column.
    pub fn as_db(self) -> &'static str {
        match self {
            Self::Held => "HELD",
            Self::Confirmed => "CONFIRMED",
            Self::Cancelled => "CANCELLED",
            Self::Expired => "EXPIRED",
        }
    }

    /// Reads the `status` column.
    pub fn from_db(text: &str) -> Option<Self> {
        match text {
            "HELD" => Some(Self::Held),
            "CONFIRMED" => Some(Self::Confirmed),
            "CANCELLED" => Some(Self::Cancelled),
            "EXPIRED" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// A reservation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub id: i64,
    pub event_id: i64,
    pub user_id: String,
    pub quantity: i64,
    pub status: ReservationStatus,
    pub idempotency_key: Option<String>,
    pub created_at: Millis,
    /// When a `HELD` reservation lapses unless confirmed.
    pub expires_at: Option<Millis>,
}

/// The reservation as clients send it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReservationInput {
    pub event_id: i64,
    pub user_id: String,
    pub quantity: i64,
}

/// A validated reservation request, ready for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationRequest {
    pub event_id: i64,
    pub user_id: String,
    pub quantity: i64,
    pub idempotency_key: Option<String>,
}

impl ReservationRequest {
    /// Validates what can be checked without the event (the event's own per-order maximum is checked by the engine).
    pub fn parse(input: ReservationInput, idempotency_key: Option<String>) -> Result<Self, ApiError> {
        if input.event_id < 1 {
            return Err(ApiError::Invalid("eventId must be a positive integer".into()));
        }
        validate_user_id(&input.user_id)?;
        if !(1..=MAX_ORDER_QUANTITY).contains(&input.quantity) {
            return Err(ApiError::Invalid(format!("quantity must be between 1 and {MAX_ORDER_QUANTITY}")));
        }
        if let Some(key) = &idempotency_key {
            validate_idempotency_key(key)?;
        }
        Ok(Self { event_id: input.event_id, user_id: input.user_id, quantity: input.quantity, idempotency_key })
    }
}

/// A user id is 1 to 128 printable characters.
pub fn validate_user_id(user_id: &str) -> Result<(), ApiError> {
    let chars = user_id.chars().count();
    if chars == 0 || chars > MAX_USER_ID_CHARS || user_id.chars().any(char::is_control) {
        return Err(ApiError::Invalid(format!("userId must be 1 to {MAX_USER_ID_CHARS} printable characters")));
    }
    Ok(())
}

/// An idempotency key is 1 to 128 visible ASCII characters.
pub fn validate_idempotency_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::Invalid(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, seats: i64) -> EventInput {
        EventInput {
            event_name: name.into(),
            total_seats: seats,
            event_date: "2030-12-31T19:00:00".into(),
            sales_open_at: None,
            sales_close_at: None,
            per_user_limit: None,
            max_per_order: None,
            hold_seconds: None,
        }
    }

    #[test]
    fn an_original_event_gets_the_defaults_and_opens_now() {
        let draft = EventDraft::parse(input("Concert", 100)).unwrap();
        assert_eq!(draft.per_user_limit, DEFAULT_PER_USER_LIMIT);
        assert_eq!(draft.max_per_order, DEFAULT_MAX_PER_ORDER);
        assert_eq!(draft.sales_open_at, None);
        assert_eq!(format_timestamp(draft.event_date), "2030-12-31T19:00:00");
    }

    #[test]
    fn names_seats_and_windows_are_checked() {
        assert!(EventDraft::parse(input("", 10)).is_err());
        assert!(EventDraft::parse(input(&"x".repeat(201), 10)).is_err());
        assert!(EventDraft::parse(input("a\u{0}b", 10)).is_err());
        assert!(EventDraft::parse(input("ok", 0)).is_err());
        assert!(EventDraft::parse(input("ok", MAX_TOTAL_SEATS + 1)).is_err());
        let mut bad_window = input("ok", 10);
        bad_window.sales_open_at = Some("2030-01-02T00:00:00Z".into());
        bad_window.sales_close_at = Some("2030-01-01T00:00:00Z".into());
        assert!(EventDraft::parse(bad_window).is_err());
        let mut bad_date = input("ok", 10);
        bad_date.event_date = "tomorrow".into();
        assert!(EventDraft::parse(bad_date).is_err());
    }

    #[test]
    fn timestamps_accept_the_original_format_and_rfc3339() {
        let naive = parse_timestamp("t", "2024-12-31T19:00:00").unwrap();
        let zoned = parse_timestamp("t", "2024-12-31T20:00:00+01:00").unwrap();
        assert_eq!(naive, zoned);
    }

    #[test]
    fn status_follows_the_clock_and_the_seats() {
        let mut event = Event {
            id: 1,
            name: "e".into(),
            total_seats: 10,
            available_seats: 10,
            event_date: 0,
            sales_open_at: 100,
            sales_close_at: Some(200),
            closed_at: None,
            per_user_limit: 8,
            max_per_order: 4,
            hold_seconds: 0,
            created_at: 0,
            updated_at: 0,
        };
        assert_eq!(event.status(99), EventStatus::Scheduled);
        assert_eq!(event.status(100), EventStatus::OnSale);
        assert_eq!(event.status(200), EventStatus::Closed);
        event.available_seats = 0;
        assert_eq!(event.status(150), EventStatus::SoldOut);
        event.closed_at = Some(120);
        assert_eq!(event.status(150), EventStatus::Closed);
    }

    #[test]
    fn reservation_requests_are_checked_at_the_edge() {
        let ok = ReservationInput { event_id: 1, user_id: "u".into(), quantity: 2 };
        assert!(ReservationRequest::parse(ok.clone(), Some("key-1".into())).is_ok());
        assert!(ReservationRequest::parse(ReservationInput { quantity: 0, ..ok.clone() }, None).is_err());
        assert!(ReservationRequest::parse(ReservationInput { event_id: 0, ..ok.clone() }, None).is_err());
        assert!(ReservationRequest::parse(ReservationInput { user_id: String::new(), ..ok.clone() }, None).is_err());
        assert!(ReservationRequest::parse(ok, Some("bad key".into())).is_err());
    }
}
