//! `/api/events`: reading events (any authenticated caller, through the cache) and managing them (admins).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::json::{JsonBody, Reply};
use super::views::EventView;
use super::{idempotency_key, parse_id, AppState, PathParam};
use crate::auth::Principal;
use crate::cache::{event_key, EVENT_TTL, LIST_TTL};
use crate::domain::{now_millis, EventDraft, EventInput};
use crate::error::ApiError;
use crate::store::events::{self, EventFilter};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/events", get(list_all).post(create))
        .route("/api/events/upcoming", get(list_upcoming))
        .route("/api/events/available", get(list_available))
        .route("/api/events/{id}", get(read).put(update))
        .route("/api/events/{id}/close", post(close))
}

/// A cached JSON document wrapped in the success envelope without decoding it again.
fn cached_reply(data: &str) -> Response {
    let body = format!("{{\"success\":true,\"message\":null,\"data\":{data}}}");
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Events (at most 1,000, in id order).
#[utoipa::path(get, operation_id = "listEvents", path = "/api/events", tag = "events", security(("bearer" = [])),
    responses((status = 200, description = "All events", body = [EventView]), (status = 401, description = "No valid token")))]
pub async fn list_all(_: Principal, State(state): State<AppState>) -> Result<Response, ApiError> {
    list(state, EventFilter::All, "events:all").await
}

/// Events whose date is in the future.
#[utoipa::path(get, operation_id = "listUpcomingEvents", path = "/api/events/upcoming", tag = "events", security(("bearer" = [])),
    responses((status = 200, description = "Upcoming events", body = [EventView])))]
pub async fn list_upcoming(_: Principal, State(state): State<AppState>) -> Result<Response, ApiError> {
    list(state, EventFilter::Upcoming, "events:upcoming").await
}

/// Events with seats left whose sale has not ended.
#[utoipa::path(get, operation_id = "listAvailableEvents", path = "/api/events/available", tag = "events", security(("bearer" = [])),
    responses((status = 200, description = "Events with seats left", body = [EventView])))]
pub async fn list_available(_: Principal, State(state): State<AppState>) -> Result<Response, ApiError> {
    list(state, EventFilter::Available, "events:available").await
}

async fn list(state: AppState, filter: EventFilter, key: &str) -> Result<Response, ApiError> {
    if let Some(cached) = state.cache.get(key).await {
        return Ok(cached_reply(&cached));
    }
    let now = now_millis();
    let views: Vec<EventView> =
        events::list(&state.db, filter, now).await?.iter().map(|e| EventView::new(e, now)).collect();
    let json = serde_json::to_string(&views).map_err(|_| ApiError::Internal)?;
    state.cache.put(key, json.clone(), LIST_TTL).await;
    Ok(cached_reply(&json))
}

/// One event.
#[utoipa::path(get, operation_id = "getEvent", path = "/api/events/{id}", tag = "events", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Event id")),
    responses((status = 200, description = "The event", body = EventView), (status = 404, description = "event_not_found")))]
pub async fn read(_: Principal, State(state): State<AppState>, PathParam(id): PathParam) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let key = event_key(id);
    if let Some(cached) = state.cache.get(&key).await {
        return Ok(cached_reply(&cached));
    }
    let event = events::get(&state.db, id).await?.ok_or(ApiError::EventNotFound(id))?;
    let json = serde_json::to_string(&EventView::new(&event, now_millis())).map_err(|_| ApiError::Internal)?;
    state.cache.put(&key, json.clone(), EVENT_TTL).await;
    Ok(cached_reply(&json))
}

/// Creates an event (admin). With an `Idempotency-Key`, a repeat answers 200 with the event made the first time.
#[utoipa::path(post, operation_id = "createEvent", path = "/api/events", tag = "events", security(("bearer" = [])), request_body = EventInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the create idempotent")),
    responses((status = 201, description = "Created", body = EventView), (status = 200, description = "Created before with this key", body = EventView),
        (status = 403, description = "forbidden"), (status = 422, description = "invalid_input"),
        (status = 503, description = "unavailable, outcome_unknown (Retry-After): retry with the same Idempotency-Key")))]
pub async fn create(
    principal: Principal,
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<EventInput>,
) -> Result<Reply<EventView>, ApiError> {
    principal.require_admin()?;
    let key = idempotency_key(&headers)?;
    let draft = EventDraft::parse(input)?;
    let now = now_millis();
    let (event, created) = events::create(&state.db, &draft, key.as_deref(), now).await?;
    state.cache.invalidate_event(event.id).await;
    let view = EventView::new(&event, now);
    Ok(if created {
        Reply::created(view, "event created")
    } else {
        Reply::ok(view).with_message("event already created with this Idempotency-Key")
    })
}

/// Replaces an event's definition (admin). Seats already sold stay sold.
#[utoipa::path(put, operation_id = "updateEvent", path = "/api/events/{id}", tag = "events", security(("bearer" = [])), request_body = EventInput,
    params(("id" = i64, Path, description = "Event id")),
    responses((status = 200, description = "Updated", body = EventView), (status = 404, description = "event_not_found"),
        (status = 409, description = "conflict: fewer seats than sold"), (status = 422, description = "invalid_input"),
        (status = 503, description = "unavailable, outcome_unknown (Retry-After)")))]
pub async fn update(
    principal: Principal,
    State(state): State<AppState>,
    PathParam(id): PathParam,
    JsonBody(input): JsonBody<EventInput>,
) -> Result<Reply<EventView>, ApiError> {
    principal.require_admin()?;
    let id = parse_id(&id)?;
    let draft = EventDraft::parse(input)?;
    let now = now_millis();
    let updated = events::update(&state.db, id, &draft, now).await;
    forget_if_changed(&state, id, &updated).await;
    Ok(Reply::ok(EventView::new(&updated?, now)).with_message("event updated"))
}

/// Ends an event's sale now (admin); idempotent.
#[utoipa::path(post, operation_id = "closeEvent", path = "/api/events/{id}/close", tag = "events", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Event id")),
    responses((status = 200, description = "Closed", body = EventView), (status = 404, description = "event_not_found"),
        (status = 503, description = "unavailable, outcome_unknown (Retry-After)")))]
pub async fn close(
    principal: Principal,
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> Result<Reply<EventView>, ApiError> {
    principal.require_admin()?;
    let id = parse_id(&id)?;
    let now = now_millis();
    let closed = events::close(&state.db, id, now).await;
    forget_if_changed(&state, id, &closed).await;
    Ok(Reply::ok(EventView::new(&closed?, now)).with_message("sale closed"))
}

/// Drops the hint and the cached reads of an event that a change did (or, its outcome unknown, may have) change.
async fn forget_if_changed<T>(state: &AppState, id: i64, result: &Result<T, ApiError>) {
    if matches!(result, Ok(_) | Err(ApiError::OutcomeUnknown)) {
        state.engine.forget_hint(id);
        state.cache.invalidate_event(id).await;
    }
}
