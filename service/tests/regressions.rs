//! Regressions: service bugs the bad-input corpus and the property tests found, each pinned by the test that
//! showed it (a non-UTF-8 path id, JSON arrays read as objects, malformed JSON called invalid, a refused request
//! using up its idempotency key, a sale closing before it opens).

mod common;

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;
use ticketing_service::domain::{EventInput, ReservationInput, ReservationRequest};
use ticketing_service::engine::decide::{decide, Decision, Inventory, Prior, Refusal};
use ticketing_service::error::ApiError;
use ticketing_service::http::json::decode;

async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: Option<&[u8]>) -> (StatusCode, String) {
    let mut request = app.http.request(method, format!("{}{path}", app.base)).bearer_auth(token);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_vec());
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

fn code(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|b| b["code"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("no error code in {text:?}"))
}

/// B1: an id (or user id) in the path that is not UTF-8 after percent-decoding gets axum's plain-text 400.
#[tokio::test]
async fn b1_a_path_id_that_is_not_utf8_gets_the_json_envelope() {
    let app = TestApp::spawn().await;
    let (admin, alice) = (TestApp::admin(), TestApp::buyer("alice"));
    let event_body = br#"{"eventName":"x","totalSeats":1,"eventDate":"2030-01-01T00:00:00"}"#;
    for (method, path, token, body) in [
        (Method::GET, "/api/events/%FF", &alice, None),
        (Method::PUT, "/api/events/%FF", &admin, Some(&event_body[..])),
        (Method::POST, "/api/events/%FF/close", &admin, None),
        (Method::GET, "/api/reservations/%FF", &alice, None),
        (Method::DELETE, "/api/reservations/%FF", &alice, None),
        (Method::POST, "/api/reservations/%FF/confirm", &alice, None),
        (Method::GET, "/api/reservations/user/%FF", &alice, None),
    ] {
        let (status, text) = send(&app, method.clone(), path, token, body).await;
        assert_eq!(
            (status, code(&text)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input".to_owned()),
            "{method} {path}"
        );
    }
}

/// B2: a JSON array is read as the struct's fields in order, so it creates events, replaces them and books seats.
#[tokio::test]
async fn b2_a_json_array_is_not_an_object() {
    let app = TestApp::spawn().await;
    let event = app.create_event(10, json!({"maxPerOrder": 2})).await;
    let (admin, alice) = (TestApp::admin(), TestApp::buyer("alice"));
    let array_event = br#"["Fuzz",10,"2030-12-31T19:00:00"]"#;
    let array_reservation = format!(r#"[{event},"alice",1]"#);
    for (method, path, token, body) in [
        (Method::POST, "/api/events".to_owned(), &admin, array_event.to_vec()),
        (Method::PUT, format!("/api/events/{event}"), &admin, array_event.to_vec()),
        (Method::POST, "/api/reservations".to_owned(), &alice, array_reservation.into_bytes()),
    ] {
        let (status, text) = send(&app, method.clone(), &path, token, Some(&body)).await;
        assert_eq!(
            (status, code(&text)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input".to_owned()),
            "{method} {path}: {text}"
        );
    }
    assert_eq!(app.check_conservation(event).await, (10, 0, 0));
    // Well-formed JSON answered 400 malformed_json: the fourth element is a "trailing character" to serde.
    assert!(matches!(decode::<ReservationInput>(br#"[0,"",0,null]"#), Err(ApiError::Invalid(_))));
}

/// B3: malformed JSON is answered 422 invalid_input when a shape error comes before the syntax error.
#[test]
fn b3_malformed_json_is_always_malformed_json() {
    for body in [
        &b"{\"extra\":1,"[..],
        b"{\"a\":1,}",
        b"{}{}",
        b"1; DROP TABLE events",
        b"{\"quantity\":\"1\",\x00",
        b"{\"eventName\"\x00:1}",
    ] {
        assert!(
            matches!(decode::<ReservationInput>(body), Err(ApiError::MalformedJson(_))),
            "{:?}",
            String::from_utf8_lossy(body)
        );
        assert!(
            matches!(decode::<EventInput>(body), Err(ApiError::MalformedJson(_))),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
}

/// B4: a keyed request refused in a batch makes a later request of the same batch with the same key and another
/// quantity `idempotency_key_reused`, although a refused request stores nothing and, one at a time, it would book.
#[test]
fn b4_a_refused_request_does_not_use_up_its_key_in_the_batch() {
    let inventory = Inventory {
        available: 1,
        per_user_limit: 8,
        max_per_order: 4,
        sales_open_at: 0,
        sales_close_at: None,
        closed_at: None,
        hold_seconds: 0,
    };
    let request = |quantity| ReservationRequest {
        event_id: 1,
        user_id: "ann".into(),
        quantity,
        idempotency_key: Some("k".into()),
    };
    let (too_many, corrected) = (request(2), request(1));
    let (decisions, taken) = decide(&inventory, &Prior::default(), &[&too_many, &corrected], 10);
    assert_eq!(decisions[0], Decision::Refuse(Refusal::SoldOut { available: 1, requested: 2 }));
    let (alone, _) = decide(&inventory, &Prior::default(), &[&corrected], 10);
    assert_eq!(alone[0], Decision::Book, "one at a time, the corrected retry books");
    assert_eq!((&decisions[1], taken), (&Decision::Book, 1), "in one batch it must book too");
}

/// B5: a sale that closes before it opens is refused only when both ends are sent; without salesOpenAt (opens now)
/// an event whose sale closed in the past is created.
#[tokio::test]
async fn b5_a_sale_cannot_close_before_it_opens() {
    let app = TestApp::spawn().await;
    let body =
        br#"{"eventName":"x","totalSeats":1,"eventDate":"2030-01-01T00:00:00","salesCloseAt":"2020-01-01T00:00:00"}"#;
    let (status, text) = send(&app, Method::POST, "/api/events", &TestApp::admin(), Some(body)).await;
    assert_eq!((status, code(&text)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input".to_owned()), "{text}");
}
