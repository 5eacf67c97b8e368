//! The auth matrix: buyer A, buyer B, admin, the admin token, no token, an expired token and a forged one, over every
//! endpoint, each with its exact status.

mod common;

use common::{token, TestApp, ADMIN_TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use ticketing_service::auth::{mint, Claims, Secret};

#[derive(Clone, Copy, Debug)]
enum Caller {
    BuyerA,
    BuyerB,
    Admin,
    AdminToken,
    Nobody,
    Expired,
    Forged,
}

const CALLERS: [Caller; 7] = [
    Caller::BuyerA,
    Caller::BuyerB,
    Caller::Admin,
    Caller::AdminToken,
    Caller::Nobody,
    Caller::Expired,
    Caller::Forged,
];

fn credential(caller: Caller) -> Option<String> {
    match caller {
        Caller::BuyerA => Some(TestApp::buyer("alice")),
        Caller::BuyerB => Some(TestApp::buyer("bob")),
        Caller::Admin => Some(TestApp::admin()),
        Caller::AdminToken => Some(ADMIN_TOKEN.into()),
        Caller::Nobody => None,
        Caller::Expired => Some(token("alice", false, -3600)),
        Caller::Forged => {
            let now = chrono::Utc::now().timestamp();
            let claims = Claims { sub: "alice".into(), exp: now + 600, iat: now, admin: true, iss: None, aud: None };
            Some(mint(&Secret::new("not-the-service-secret-0123456789abcdef"), &claims).unwrap())
        }
    }
}

/// The expected status of each caller, in the order of `CALLERS`.
type Row = [u16; 7];

#[tokio::test]
async fn every_endpoint_answers_each_caller_exactly() {
    let app = TestApp::spawn().await;
    let event = app.create_event(1000, json!({"perUserLimit": 100})).await;
    let alice_reservation = app.reserve(event, "alice", 1, None).await.body["data"]["id"].as_i64().unwrap();
    let event_body = json!({"eventName": "E", "totalSeats": 10, "eventDate": "2030-01-01T00:00:00"});
    const U: u16 = 401;
    // Each row: method, path, body, then the statuses for BuyerA, BuyerB, Admin, AdminToken, Nobody, Expired, Forged.
    let matrix: Vec<(Method, String, Option<Value>, Row)> = vec![
        (Method::GET, "/api/health".into(), None, [200, 200, 200, 200, 200, 200, 200]),
        (Method::GET, "/api/events".into(), None, [200, 200, 200, 200, U, U, U]),
        (Method::GET, "/api/events/upcoming".into(), None, [200, 200, 200, 200, U, U, U]),
        (Method::GET, "/api/events/available".into(), None, [200, 200, 200, 200, U, U, U]),
        (Method::GET, format!("/api/events/{event}"), None, [200, 200, 200, 200, U, U, U]),
        (Method::POST, "/api/events".into(), Some(event_body.clone()), [403, 403, 201, 201, U, U, U]),
        (
            Method::PUT,
            format!("/api/events/{event}"),
            Some(
                json!({"eventName": "E2", "totalSeats": 1000, "eventDate": "2030-01-01T00:00:00", "perUserLimit": 100}),
            ),
            [403, 403, 200, 200, U, U, U],
        ),
        (
            Method::POST,
            "/api/reservations".into(),
            Some(json!({"eventId": event, "userId": "alice", "quantity": 1})),
            [201, 403, 201, 201, U, U, U],
        ),
        (Method::GET, format!("/api/reservations/{alice_reservation}"), None, [200, 404, 200, 200, U, U, U]),
        (Method::GET, "/api/reservations/user/alice".into(), None, [200, 403, 200, 200, U, U, U]),
    ];
    for (method, path, body, expected) in matrix {
        for (caller, want) in CALLERS.iter().zip(expected) {
            let response = app.call(method.clone(), &path, credential(*caller).as_deref(), body.clone()).await;
            assert_eq!(response.status.as_u16(), want, "{caller:?} {method} {path}: {}", response.body);
            if want == 401 {
                assert_eq!(response.code(), "unauthenticated");
                assert_eq!(response.headers.get("www-authenticate").unwrap(), "Bearer");
            }
        }
    }
    // Cancelling: bob, nobody, expired and forged cannot; alice can, once; an admin can cancel anybody's.
    for caller in [Caller::BuyerB, Caller::Nobody, Caller::Expired, Caller::Forged] {
        let response = app
            .call(
                Method::DELETE,
                &format!("/api/reservations/{alice_reservation}"),
                credential(caller).as_deref(),
                None,
            )
            .await;
        assert!(
            matches!(response.status, StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED),
            "{caller:?}: {}",
            response.status
        );
    }
    let own = app
        .call(
            Method::DELETE,
            &format!("/api/reservations/{alice_reservation}"),
            credential(Caller::BuyerA).as_deref(),
            None,
        )
        .await;
    assert_eq!(own.status, StatusCode::OK);
    let another = app.reserve(event, "alice", 1, None).await.body["data"]["id"].as_i64().unwrap();
    let by_admin = app
        .call(Method::DELETE, &format!("/api/reservations/{another}"), credential(Caller::Admin).as_deref(), None)
        .await;
    assert_eq!(by_admin.status, StatusCode::OK);
    // The malformed headers: two Authorization headers, a non-bearer scheme.
    let twice = app
        .http
        .get(format!("{}/api/events", app.base))
        .header("authorization", format!("Bearer {}", TestApp::buyer("alice")))
        .header("authorization", format!("Bearer {}", TestApp::buyer("bob")))
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), StatusCode::UNAUTHORIZED);
    let basic = app
        .http
        .get(format!("{}/api/events", app.base))
        .header("authorization", "Basic YWxpY2U6eA==")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
}
