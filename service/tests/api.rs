//! The REST contract through real HTTP: every endpoint, its success shape and every error class, and that no error
//! writes anything.

mod common;

use common::{Options, TestApp, ADMIN_TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn an_original_client_creates_an_event_and_books_it() {
    let app = TestApp::spawn().await;
    let admin = TestApp::admin();
    let created = app
        .call(
            Method::POST,
            "/api/events",
            Some(&admin),
            Some(json!({"eventName": "Concert", "totalSeats": 10000, "eventDate": "2030-12-31T19:00:00"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["success"], true);
    let event = &created.body["data"];
    for field in ["id", "eventName", "totalSeats", "availableSeats", "eventDate", "createdAt", "updatedAt"] {
        assert!(!event[field].is_null(), "field {field} is in the original's contract");
    }
    assert_eq!(event["eventDate"], "2030-12-31T19:00:00");
    assert_eq!(event["status"], "ON_SALE", "an original event is on sale at once");
    let id = event["id"].as_i64().unwrap();

    let booked = app.reserve(id, "user123", 2, None).await;
    assert_eq!(booked.status, StatusCode::CREATED);
    let reservation = &booked.body["data"];
    assert_eq!(
        (reservation["eventId"].as_i64(), reservation["userId"].as_str(), reservation["quantity"].as_i64()),
        (Some(id), Some("user123"), Some(2))
    );
    assert_eq!(reservation["status"], "CONFIRMED");
    let reservation_id = reservation["id"].as_i64().unwrap();

    let buyer = TestApp::buyer("user123");
    let read = app.call(Method::GET, &format!("/api/reservations/{reservation_id}"), Some(&buyer), None).await;
    assert_eq!((read.status, read.body["data"]["id"].as_i64()), (StatusCode::OK, Some(reservation_id)));
    let listed = app.call(Method::GET, "/api/reservations/user/user123", Some(&buyer), None).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    let event_after = app.call(Method::GET, &format!("/api/events/{id}"), Some(&buyer), None).await;
    assert_eq!(
        (event_after.body["data"]["availableSeats"].as_i64(), event_after.body["data"]["soldSeats"].as_i64()),
        (Some(9998), Some(2))
    );

    let cancelled = app.call(Method::DELETE, &format!("/api/reservations/{reservation_id}"), Some(&buyer), None).await;
    assert_eq!((cancelled.status, cancelled.body["data"]["status"].as_str()), (StatusCode::OK, Some("CANCELLED")));
    let again = app.call(Method::DELETE, &format!("/api/reservations/{reservation_id}"), Some(&buyer), None).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "already_cancelled"));
    assert_eq!(app.check_conservation(id).await, (10000, 0, 0));
}

#[tokio::test]
async fn lists_filter_upcoming_and_available_events() {
    let app = TestApp::spawn().await;
    let future = app.create_event(5, json!({"eventName": "Future"})).await;
    let past = app.create_event(5, json!({"eventName": "Past", "eventDate": "2001-01-01T00:00:00"})).await;
    let sold_out = app.create_event(1, json!({"eventName": "Gone"})).await;
    assert_eq!(app.reserve(sold_out, "x", 1, None).await.status, StatusCode::CREATED);
    let token = TestApp::buyer("reader");
    let ids = |body: &serde_json::Value| -> Vec<i64> {
        body["data"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect()
    };
    let all = app.call(Method::GET, "/api/events", Some(&token), None).await;
    assert_eq!(ids(&all.body), vec![future, past, sold_out]);
    let upcoming = app.call(Method::GET, "/api/events/upcoming", Some(&token), None).await;
    assert_eq!(ids(&upcoming.body), vec![future, sold_out]);
    let available = app.call(Method::GET, "/api/events/available", Some(&token), None).await;
    assert_eq!(ids(&available.body), vec![future, past]);
    let health = app.call(Method::GET, "/api/health", None, None).await;
    assert_eq!(
        (health.status, health.body["data"]["status"].as_str(), health.body["data"]["redis"].as_str()),
        (StatusCode::OK, Some("UP"), Some("ok"))
    );
}

#[tokio::test]
async fn admins_update_and_close_events_and_the_sale_window_is_enforced() {
    let app = TestApp::spawn().await;
    let admin = TestApp::admin();
    let id = app.create_event(10, json!({})).await;
    assert_eq!(app.reserve(id, "a", 4, None).await.status, StatusCode::CREATED);

    let shrink = json!({"eventName": "Renamed", "totalSeats": 3, "eventDate": "2030-12-31T19:00:00"});
    let refused = app.call(Method::PUT, &format!("/api/events/{id}"), Some(&admin), Some(shrink)).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::CONFLICT, "conflict"));
    let grow = json!({"eventName": "Renamed", "totalSeats": 20, "eventDate": "2030-12-31T19:00:00", "perUserLimit": 5});
    let updated = app.call(Method::PUT, &format!("/api/events/{id}"), Some(&admin), Some(grow)).await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(
        (updated.body["data"]["availableSeats"].as_i64(), updated.body["data"]["eventName"].as_str()),
        (Some(16), Some("Renamed"))
    );
    let limited = app.reserve(id, "a", 2, None).await;
    assert_eq!((limited.status, limited.code()), (StatusCode::CONFLICT, "user_limit_reached"));

    let closed = app.call(Method::POST, &format!("/api/events/{id}/close"), Some(ADMIN_TOKEN), None).await;
    assert_eq!((closed.status, closed.body["data"]["status"].as_str()), (StatusCode::OK, Some("CLOSED")));
    let after_close = app.reserve(id, "b", 1, None).await;
    assert_eq!((after_close.status, after_close.code()), (StatusCode::CONFLICT, "sale_closed"));

    let later = app.create_event(10, json!({"salesOpenAt": "2099-01-01T00:00:00Z"})).await;
    let early = app.reserve(later, "b", 1, None).await;
    assert_eq!((early.status, early.code()), (StatusCode::CONFLICT, "sale_not_open"));
    assert_eq!(app.check_conservation(later).await, (10, 0, 0));

    let key = "ticketevent/default/concert/uid-1";
    let body = json!({"eventName": "Keyed", "totalSeats": 5, "eventDate": "2030-12-31T19:00:00"});
    let send = || {
        app.http
            .post(format!("{}/api/events", app.base))
            .bearer_auth(&admin)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let (first, second) = (send().await.unwrap(), send().await.unwrap());
    assert_eq!((first.status(), second.status()), (StatusCode::CREATED, StatusCode::OK));
    let (first, second): (serde_json::Value, serde_json::Value) =
        (first.json().await.unwrap(), second.json().await.unwrap());
    assert_eq!(first["data"]["id"], second["data"]["id"]);
}

#[tokio::test]
async fn bad_input_gets_a_json_error_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = app.create_event(10, json!({"maxPerOrder": 2})).await;
    let admin = TestApp::admin();
    let buyer = TestApp::buyer("alice");
    // Method, path, body, content type, bearer token, expected status and code.
    type Case<'a> = (Method, String, Option<&'a str>, Option<&'a str>, &'a str, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            "/api/reservations".into(),
            Some("{\"eventId\": 1,"),
            Some("application/json"),
            &buyer,
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            Method::POST,
            "/api/reservations".into(),
            Some("{\"eventId\":\"1\",\"userId\":\"alice\",\"quantity\":1}"),
            Some("application/json"),
            &buyer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            Method::POST,
            "/api/reservations".into(),
            Some(&*format!("{{\"eventId\":{id},\"userId\":\"alice\",\"quantity\":0}}").leak()),
            Some("application/json"),
            &buyer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            Method::POST,
            "/api/reservations".into(),
            Some(&*format!("{{\"eventId\":{id},\"userId\":\"alice\",\"quantity\":3}}").leak()),
            Some("application/json"),
            &buyer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            Method::POST,
            "/api/reservations".into(),
            Some(&*format!("{{\"eventId\":{id},\"userId\":\"alice\",\"quantity\":1,\"extra\":1}}").leak()),
            Some("application/json"),
            &buyer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            Method::POST,
            "/api/reservations".into(),
            Some(&*format!("{{\"eventId\":{id},\"userId\":\"alice\",\"quantity\":1}}").leak()),
            Some("text/plain"),
            &buyer,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            "/api/reservations".into(),
            Some(
                &*format!(
                    "{{\"eventId\":{id},\"userId\":\"alice\",\"quantity\":1,\"pad\":\"{}\"}}",
                    "x".repeat(40_000)
                )
                .leak(),
            ),
            Some("application/json"),
            &buyer,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            Method::POST,
            "/api/reservations".into(),
            Some("{\"eventId\":999999,\"userId\":\"alice\",\"quantity\":1}"),
            Some("application/json"),
            &buyer,
            StatusCode::NOT_FOUND,
            "event_not_found",
        ),
        (
            Method::POST,
            "/api/events".into(),
            Some("{\"eventName\":\"\",\"totalSeats\":10,\"eventDate\":\"2030-01-01T00:00:00\"}"),
            Some("application/json"),
            &admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            Method::POST,
            "/api/events".into(),
            Some(
                &*format!(
                    "{{\"eventName\":\"{}\",\"totalSeats\":10,\"eventDate\":\"2030-01-01T00:00:00\"}}",
                    "n".repeat(201)
                )
                .leak(),
            ),
            Some("application/json"),
            &admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            Method::POST,
            "/api/events".into(),
            Some("{\"eventName\":\"x\",\"totalSeats\":-5,\"eventDate\":\"2030-01-01T00:00:00\"}"),
            Some("application/json"),
            &admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            Method::POST,
            "/api/events".into(),
            Some("{\"eventName\":\"x\",\"totalSeats\":10,\"eventDate\":\"not a date\"}"),
            Some("application/json"),
            &admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            Method::POST,
            "/api/events".into(),
            Some("{\"eventName\":\"x\",\"totalSeats\":99999999999999999999,\"eventDate\":\"2030-01-01T00:00:00\"}"),
            Some("application/json"),
            &admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            Method::PUT,
            "/api/events/999999".into(),
            Some("{\"eventName\":\"x\",\"totalSeats\":10,\"eventDate\":\"2030-01-01T00:00:00\"}"),
            Some("application/json"),
            &admin,
            StatusCode::NOT_FOUND,
            "event_not_found",
        ),
        (Method::GET, "/api/events/abc".into(), None, None, &buyer, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        (Method::GET, "/api/events/999999".into(), None, None, &buyer, StatusCode::NOT_FOUND, "event_not_found"),
        (
            Method::GET,
            "/api/reservations/999999".into(),
            None,
            None,
            &buyer,
            StatusCode::NOT_FOUND,
            "reservation_not_found",
        ),
        (
            Method::DELETE,
            "/api/reservations/-1".into(),
            None,
            None,
            &buyer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (Method::GET, "/api/nothing-here".into(), None, None, &buyer, StatusCode::NOT_FOUND, "not_found"),
        (Method::PATCH, "/api/events".into(), None, None, &admin, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
    ];
    for (method, path, body, content_type, token, status, code) in cases {
        let mut request = app.http.request(method.clone(), format!("{}{path}", app.base)).bearer_auth(token);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let got = response.status();
        assert_eq!(response.headers().get("x-content-type-options").unwrap(), "nosniff");
        let json: serde_json::Value =
            response.json().await.unwrap_or_else(|_| panic!("{method} {path}: body is not JSON"));
        assert_eq!((got, json["code"].as_str().unwrap_or("")), (status, code), "{method} {path}: {json}");
        assert_eq!(json["success"], false);
    }
    let duplicate_keys = app
        .http
        .post(format!("{}/api/reservations", app.base))
        .bearer_auth(&buyer)
        .header("Idempotency-Key", "a")
        .header("Idempotency-Key", "b")
        .json(&json!({"eventId": id, "userId": "alice", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate_keys.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(&app.db.reader).await.unwrap();
    assert_eq!(events, 1, "no failed request created an event");
    assert_eq!(app.check_conservation(id).await, (10, 0, 0), "no failed request took seats");
}

#[tokio::test]
async fn a_scoped_process_takes_reservations_for_its_event_only() {
    let app = TestApp::spawn().await;
    let first = app.create_event(5, json!({})).await;
    let second = app.create_event(5, json!({})).await;
    drop(app);
    let scoped = TestApp::spawn_with(Options { event_scope: Some(first), ..Options::default() }).await;
    // The scoped app has its own fresh database: create the two events again so the ids match.
    let (a, b) = (scoped.create_event(5, json!({})).await, scoped.create_event(5, json!({})).await);
    assert_eq!((a, b), (first, second));
    assert_eq!(scoped.reserve(first, "u", 1, None).await.status, StatusCode::CREATED);
    let other = scoped.reserve(second, "u", 1, None).await;
    assert_eq!((other.status, other.code()), (StatusCode::MISDIRECTED_REQUEST, "event_out_of_scope"));
    let read = scoped.call(Method::GET, &format!("/api/events/{second}"), Some(&TestApp::buyer("u")), None).await;
    assert_eq!(read.status, StatusCode::OK, "reads work on any pod");
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after_never_sold_out() {
    let app = std::sync::Arc::new(TestApp::spawn_with(Options { queue_depth: 1, ..Options::default() }).await);
    let id = app.create_event(100_000, json!({"perUserLimit": 100})).await;
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move { app.reserve(id, &format!("q{i}"), 1, None).await })
        })
        .collect();
    let (mut created, mut queue_full) = (0, 0);
    for task in tasks {
        let response = task.await.unwrap();
        match (response.status, response.code()) {
            (StatusCode::CREATED, _) => created += 1,
            (StatusCode::SERVICE_UNAVAILABLE, "queue_full") => {
                assert_eq!(response.headers.get("retry-after").unwrap(), "1");
                queue_full += 1;
            }
            (status, code) => panic!("unexpected {status} {code}"),
        }
    }
    assert_eq!(created + queue_full, 300);
    assert!(created >= 1 && queue_full >= 1, "{created} created, {queue_full} queue_full: both paths are taken");
    let (_, seats, _) = app.check_conservation(id).await;
    assert_eq!(seats, created);
}

#[tokio::test]
async fn metrics_and_the_openapi_document_are_served() {
    let app = TestApp::spawn().await;
    let id = app.create_event(1, json!({})).await;
    app.reserve(id, "m", 1, None).await;
    app.call(Method::GET, &format!("/api/events/{id}"), Some(&TestApp::buyer("m")), None).await;
    let metrics = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    for name in [
        "http_request_duration_seconds_bucket",
        "ticketing_reservations_total",
        "ticketing_cache_requests_total",
        "ticketing_batch_size",
    ] {
        assert!(metrics.contains(name), "metric {name} is exported");
    }
    let openapi: serde_json::Value =
        app.http.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    assert!(openapi["paths"]["/api/reservations"]["post"].is_object());
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!((ready.status, ready.body["data"]["database"].as_str()), (StatusCode::OK, Some("ok")));
}

/// The committed `service/openapi.json` matches the code (regenerate with `ticketing-service openapi`).
#[test]
fn the_committed_openapi_document_is_current() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"))
        .expect("service/openapi.json exists");
    assert!(
        committed.trim_end() == ticketing_service::openapi::json().trim_end(),
        "service/openapi.json is stale: run `cargo run -p ticketing-service -- openapi > service/openapi.json`"
    );
}

#[tokio::test]
async fn buyers_and_addresses_over_their_rate_get_429_with_retry_after() {
    let app =
        TestApp::spawn_with(Options { rate_limit_per_buyer: 1.0, rate_limit_per_address: 0.0, ..Options::default() })
            .await;
    let id = app.create_event(100, json!({"perUserLimit": 100})).await;
    let answers = three_in_a_row(&app, id).await;
    assert_eq!(answers[..2], [StatusCode::CREATED, StatusCode::CREATED], "the burst is twice the rate");
    assert_eq!(answers[2], StatusCode::TOO_MANY_REQUESTS);
    let limited = app.reserve(id, "eager", 1, None).await;
    assert_eq!((limited.status, limited.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    assert_eq!(limited.headers.get("retry-after").unwrap(), "1");
    assert_eq!(app.reserve(id, "patient", 1, None).await.status, StatusCode::CREATED, "other buyers are not affected");
    assert_eq!(app.check_conservation(id).await, (97, 3, 3));

    let by_address =
        TestApp::spawn_with(Options { rate_limit_per_buyer: 0.0, rate_limit_per_address: 1.0, ..Options::default() })
            .await;
    let send = |forwarded: &'static str| {
        by_address.http.get(format!("{}/api/health", by_address.base)).header("x-forwarded-for", forwarded).send()
    };
    // The test client's address (127.0.0.1) is a trusted proxy here, so X-Forwarded-For names the client.
    let statuses = [
        send("203.0.113.1").await.unwrap().status(),
        send("203.0.113.1").await.unwrap().status(),
        send("203.0.113.1").await.unwrap().status(),
    ];
    assert_eq!(statuses, [StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);
    assert_eq!(send("203.0.113.2").await.unwrap().status(), StatusCode::OK, "another address has its own bucket");
}

/// Three reservations by the same buyer, one after the other.
async fn three_in_a_row(app: &TestApp, id: i64) -> Vec<StatusCode> {
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(app.reserve(id, "eager", 1, None).await.status);
    }
    answers
}

#[tokio::test]
async fn the_embedded_sqlite_default_creates_keyed_events_once() {
    let app =
        TestApp::spawn_with(Options { storage: common::Storage::Sqlite, redis_url: None, ..Options::default() }).await;
    let body = json!({"eventName": "Keyed", "totalSeats": 5, "eventDate": "2030-12-31T19:00:00"});
    let send = || {
        app.http
            .post(format!("{}/api/events", app.base))
            .bearer_auth(TestApp::admin())
            .header("Idempotency-Key", "ns/name/uid")
            .json(&body)
            .send()
    };
    let (first, second) = (send().await.unwrap(), send().await.unwrap());
    assert_eq!((first.status(), second.status()), (StatusCode::CREATED, StatusCode::OK));
    let (first, second): (serde_json::Value, serde_json::Value) =
        (first.json().await.unwrap(), second.json().await.unwrap());
    assert_eq!(first["data"]["id"], second["data"]["id"]);
    let id = first["data"]["id"].as_i64().unwrap();
    assert_eq!(app.reserve(id, "s", 2, Some("k")).await.status, StatusCode::CREATED);
    assert_eq!(app.check_conservation(id).await, (3, 2, 1));
}
