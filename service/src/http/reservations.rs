//! `/api/reservations`: booking, reading and cancelling, each only by the buyer it belongs to (or an admin).
//!
//! A reservation that belongs to somebody else answers 404, not 403, so ids of other buyers' reservations cannot be
//! probed.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::json::{JsonBody, Reply};
use super::views::ReservationView;
use super::{idempotency_key, parse_id, AppState, PathParam};
use crate::auth::Principal;
use crate::domain::{validate_user_id, Reservation, ReservationInput, ReservationRequest, ReservationStatus};
use crate::error::ApiError;
use crate::store::reservations;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/reservations", post(create))
        .route("/api/reservations/{id}", get(read).delete(cancel))
        .route("/api/reservations/{id}/confirm", post(confirm))
        .route("/api/reservations/user/{user_id}", get(list_by_user))
}

/// Reserves seats. 201 only after the booking committed; a repeated `Idempotency-Key` answers with the first result.
#[utoipa::path(post, operation_id = "createReservation", path = "/api/reservations", tag = "reservations", security(("bearer" = [])), request_body = ReservationInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key never book twice")),
    responses((status = 201, description = "Booked (or the replay of a booking, with Idempotent-Replayed: true)", body = ReservationView),
        (status = 403, description = "forbidden: userId is not the caller"), (status = 404, description = "event_not_found"),
        (status = 409, description = "sold_out, user_limit_reached, sale_not_open, sale_closed"),
        (status = 421, description = "event_out_of_scope"), (status = 422, description = "invalid_input, idempotency_key_reused"),
        (status = 503, description = "queue_full, unavailable, outcome_unknown (Retry-After): retry with the same Idempotency-Key")))]
pub async fn create(
    principal: Principal,
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<ReservationInput>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let request = ReservationRequest::parse(input, key)?;
    if !principal.may_act_as(&request.user_id) {
        return Err(ApiError::Forbidden("a buyer can only reserve as themselves"));
    }
    state.limits.check_buyer(&request.user_id)?;
    if let Some(scope) = state.event_scope {
        if request.event_id != scope {
            return Err(ApiError::EventOutOfScope { scope });
        }
    }
    let booked = state.engine.reserve(request).await?;
    let message = match booked.reservation.status {
        ReservationStatus::Held => "seats held: confirm before expiresAt",
        _ => "reservation confirmed",
    };
    let mut response = Reply::created(ReservationView::from(&booked.reservation), message).into_response();
    if booked.replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Reads a reservation that is the caller's own (or any, for an admin).
async fn own_reservation(principal: &Principal, state: &AppState, id: &str) -> Result<Reservation, ApiError> {
    let id = parse_id(id)?;
    let reservation = reservations::get(&state.db, id).await?.ok_or(ApiError::ReservationNotFound(id))?;
    if principal.may_act_as(&reservation.user_id) {
        Ok(reservation)
    } else {
        Err(ApiError::ReservationNotFound(id))
    }
}

/// One reservation.
#[utoipa::path(get, operation_id = "getReservation", path = "/api/reservations/{id}", tag = "reservations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Reservation id")),
    responses((status = 200, description = "The reservation", body = ReservationView), (status = 404, description = "reservation_not_found")))]
pub async fn read(
    principal: Principal,
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> Result<Reply<ReservationView>, ApiError> {
    let reservation = own_reservation(&principal, &state, &id).await?;
    Ok(Reply::ok(ReservationView::from(&reservation)))
}

/// A buyer's reservations, newest first.
#[utoipa::path(get, operation_id = "listReservationsByUser", path = "/api/reservations/user/{userId}", tag = "reservations", security(("bearer" = [])),
    params(("userId" = String, Path, description = "The buyer")),
    responses((status = 200, description = "The buyer's reservations", body = [ReservationView]), (status = 403, description = "forbidden")))]
pub async fn list_by_user(
    principal: Principal,
    State(state): State<AppState>,
    PathParam(user_id): PathParam,
) -> Result<Reply<Vec<ReservationView>>, ApiError> {
    validate_user_id(&user_id)?;
    if !principal.may_act_as(&user_id) {
        return Err(ApiError::Forbidden("a buyer can only list their own reservations"));
    }
    let list = reservations::list_by_user(&state.db, &user_id).await?;
    Ok(Reply::ok(list.iter().map(ReservationView::from).collect()))
}

/// Cancels a reservation; its seats come back exactly once. (Every answer, a repeat's too, comes from the event's
/// writer, so it waits for the change it reports to be durable.)
#[utoipa::path(delete, operation_id = "cancelReservation", path = "/api/reservations/{id}", tag = "reservations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Reservation id")),
    responses((status = 200, description = "Cancelled", body = ReservationView), (status = 404, description = "reservation_not_found"),
        (status = 409, description = "already_cancelled, hold_expired"),
        (status = 503, description = "unavailable, outcome_unknown (Retry-After)")))]
pub async fn cancel(
    principal: Principal,
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> Result<Reply<ReservationView>, ApiError> {
    let reservation = own_reservation(&principal, &state, &id).await?;
    let cancelled = state.engine.cancel(reservation).await?;
    Ok(Reply::ok(ReservationView::from(&cancelled)).with_message("reservation cancelled"))
}

/// Confirms a held reservation before its `expiresAt`; confirming a confirmed one changes nothing. (Every answer
/// comes from the event's writer, as for a cancel.)
#[utoipa::path(post, operation_id = "confirmReservation", path = "/api/reservations/{id}/confirm", tag = "reservations", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Reservation id")),
    responses((status = 200, description = "Confirmed", body = ReservationView), (status = 404, description = "reservation_not_found"),
        (status = 409, description = "hold_expired, already_cancelled"),
        (status = 503, description = "unavailable, outcome_unknown (Retry-After)")))]
pub async fn confirm(
    principal: Principal,
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> Result<Reply<ReservationView>, ApiError> {
    let reservation = own_reservation(&principal, &state, &id).await?;
    let confirmed = state.engine.confirm(reservation).await?;
    Ok(Reply::ok(ReservationView::from(&confirmed)).with_message("reservation confirmed"))
}
