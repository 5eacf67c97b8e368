//! The OpenAPI 3 document, generated from the handlers' annotations.
//!
//! `ticketing-service openapi` prints it, `GET /api/openapi.json` serves it, and the committed copy in
//! `service/openapi.json` is checked for drift by the tests (`cargo test -p ticketing-service openapi`;
//! regenerate with `cargo run -p ticketing-service -- openapi > service/openapi.json`).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::{events, ops, reservations};

#[derive(OpenApi)]
#[openapi(
    info(title = "ticketing-service", description = "Sells seats for high-demand events without overselling. \
        Every body is the envelope {\"success\", \"message\", \"data\"}; errors add a stable \"code\"."),
    paths(
        ops::health, ops::livez, ops::readyz, ops::metrics, ops::openapi,
        events::list_all, events::list_upcoming, events::list_available, events::read, events::create, events::update, events::close,
        reservations::create, reservations::read, reservations::list_by_user, reservations::cancel, reservations::confirm,
    ),
    components(schemas(crate::domain::EventInput, crate::domain::ReservationInput, crate::domain::EventStatus,
        crate::domain::ReservationStatus, crate::http::views::EventView, crate::http::views::ReservationView, ops::Health)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The document as pretty JSON.
pub fn json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|_| "{}".into())
}
