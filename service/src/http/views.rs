//! The JSON shapes of events and reservations, camelCase as in the original system.

use serde::Serialize;

use crate::domain::{
    format_optional_timestamp, format_timestamp, Event, EventStatus, Millis, Reservation, ReservationStatus,
};

/// An event as clients see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: i64,
    pub event_name: String,
    pub total_seats: i64,
    pub available_seats: i64,
    /// Seats taken by held and confirmed reservations.
    pub sold_seats: i64,
    pub event_date: String,
    pub sales_open_at: String,
    pub sales_close_at: Option<String>,
    pub per_user_limit: i64,
    pub max_per_order: i64,
    pub hold_seconds: i64,
    pub status: EventStatus,
    pub created_at: String,
    pub updated_at: String,
}

impl EventView {
    pub fn new(event: &Event, now: Millis) -> Self {
        Self {
            id: event.id,
            event_name: event.name.clone(),
            total_seats: event.total_seats,
            available_seats: event.available_seats,
            sold_seats: event.total_seats - event.available_seats,
            event_date: format_timestamp(event.event_date),
            sales_open_at: format_timestamp(event.sales_open_at),
            sales_close_at: format_optional_timestamp(event.sales_close_at.or(event.closed_at)),
            per_user_limit: event.per_user_limit,
            max_per_order: event.max_per_order,
            hold_seconds: event.hold_seconds,
            status: event.status(now),
            created_at: format_timestamp(event.created_at),
            updated_at: format_timestamp(event.updated_at),
        }
    }
}

/// A reservation as clients see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReservationView {
    pub id: i64,
    pub event_id: i64,
    pub user_id: String,
    pub quantity: i64,
    pub status: ReservationStatus,
    pub created_at: String,
    /// When a `HELD` reservation lapses unless confirmed (`null` otherwise).
    pub expires_at: Option<String>,
}

impl From<&Reservation> for ReservationView {
    fn from(r: &Reservation) -> Self {
        Self {
            id: r.id,
            event_id: r.event_id,
            user_id: r.user_id.clone(),
            quantity: r.quantity,
            status: r.status,
            created_at: format_timestamp(r.created_at),
            expires_at: format_optional_timestamp(r.expires_at.filter(|_| r.status == ReservationStatus::Held)),
        }
    }
}
