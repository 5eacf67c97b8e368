//! The body of `POST /api/reservations`, decoded as the handler decodes it: `http::json::decode` into a
//! `ReservationInput`, then `ReservationRequest::parse`.
//!
//! Contract: no input panics; the answer is 400 `malformed_json` exactly when serde_json cannot read the bytes as a
//! JSON value, otherwise 422 `invalid_input` or success; an accepted body says what serde_json reads in it, meets
//! the documented bounds, and decodes to the same request once written out again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use ticketing_fuzz::decode_body;
use ticketing_service::domain::{validate_user_id, ReservationInput, ReservationRequest, MAX_ORDER_QUANTITY};
use ticketing_service::http::json::decode;

fuzz_target!(|body: &[u8]| {
    let Some((input, object)) = decode_body::<ReservationInput>(body) else { return };
    assert_eq!(object.len(), 3, "accepted fields beyond eventId, userId and quantity: {object:?}");
    assert_eq!(object["eventId"].as_i64(), Some(input.event_id));
    assert_eq!(object["userId"].as_str(), Some(input.user_id.as_str()));
    assert_eq!(object["quantity"].as_i64(), Some(input.quantity));

    let request = match ReservationRequest::parse(input, None) {
        Ok(request) => request,
        Err(error) => {
            assert_eq!(error.code(), "invalid_input", "{error}");
            return;
        }
    };
    assert!(request.event_id >= 1);
    assert!((1..=MAX_ORDER_QUANTITY).contains(&request.quantity));
    assert!(validate_user_id(&request.user_id).is_ok());
    let written = json!({"eventId": request.event_id, "userId": request.user_id, "quantity": request.quantity});
    let again = decode::<ReservationInput>(written.to_string().as_bytes()).expect("a written request decodes");
    assert_eq!(ReservationRequest::parse(again, None).expect("a written request is valid"), request);
});
