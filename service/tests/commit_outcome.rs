//! A connection lost after its `COMMIT` was sent: the database may have applied it, so the requests whose writes it
//! carried hear 503 `outcome_unknown` with `Retry-After` (never `unavailable`, which says nothing was written), the
//! event's cached reads and availability hint are dropped, and a retry with the same `Idempotency-Key` books once.
//!
//! The loss is real: the app reaches MariaDB through a [`FaultProxy`] that forwards the batch's writes and their
//! `COMMIT`, waits until the database shows them committed, and closes the connection without passing on the answer.

mod common;

use std::time::{Duration, Instant};

use common::fault_proxy::FaultProxy;
use common::{Options, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Row as _;

/// An app whose database connections go through a fault proxy, with a hint that lives long enough to matter.
async fn proxied_app() -> (FaultProxy, TestApp) {
    let proxy = FaultProxy::in_front_of(&ticketing_testkit::mariadb::fresh_database().await).await;
    let options = Options { database_url: Some(proxy.url().to_owned()), hint_ttl_ms: 600_000, ..Options::default() };
    let app = TestApp::spawn_with(options).await;
    (proxy, app)
}

/// Polls `sql` (one integer) until it returns `expected`.
async fn wait_for(app: &TestApp, sql: &str, expected: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value: i64 = sqlx::query(sql).fetch_one(&app.db.reader).await.unwrap().get(0);
        if value == expected {
            return;
        }
        assert!(Instant::now() < deadline, "{sql} stayed {value}, expected {expected}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The seats an event shows to readers (through the cache).
async fn shown_available(app: &TestApp, event: i64) -> i64 {
    let read = app.call(Method::GET, &format!("/api/events/{event}"), Some(&TestApp::buyer("reader")), None).await;
    read.body["data"]["availableSeats"].as_i64().expect("availableSeats")
}

fn assert_outcome_unknown(response: &common::Response) {
    assert_eq!(
        (response.status, response.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "outcome_unknown"),
        "{response:?}"
    );
    assert_eq!(response.headers.get("retry-after").map(|v| v.to_str().unwrap()), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_whose_commit_answer_is_lost_is_an_unknown_outcome_and_its_retry_books_once() {
    let (proxy, app) = proxied_app().await;
    let event = app.create_event(10, json!({})).await;
    assert_eq!(shown_available(&app, event).await, 10, "the event is cached with 10 seats");

    let mut trap = proxy.trap("INSERT INTO reservations");
    let app = std::sync::Arc::new(app);
    let buyer = app.clone();
    let pending = tokio::spawn(async move { buyer.reserve(event, "buyer", 2, Some("the-key")).await });
    trap.sprung().await;
    wait_for(&app, &format!("SELECT COUNT(*) FROM reservations WHERE event_id = {event}"), 1).await;
    trap.cut();
    let lost = pending.await.unwrap();

    assert_outcome_unknown(&lost);
    assert_eq!(shown_available(&app, event).await, 8, "the cached event was dropped when the outcome was unknown");
    let retry = app.reserve(event, "buyer", 2, Some("the-key")).await;
    assert_eq!(retry.status, StatusCode::CREATED, "{retry:?}");
    assert_eq!(retry.headers.get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    assert_eq!(app.check_conservation(event).await, (8, 2, 1), "booked once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_whose_commit_answer_is_lost_drops_the_sold_out_hint() {
    let (proxy, app) = proxied_app().await;
    let event = app.create_event(2, json!({})).await;
    let booked = app.reserve(event, "first", 2, None).await;
    assert_eq!(booked.status, StatusCode::CREATED);
    let refused = app.reserve(event, "second", 1, None).await;
    assert_eq!(refused.code(), "sold_out", "the hint now says the event is sold out");
    assert_eq!(shown_available(&app, event).await, 0);

    let mut trap = proxy.trap("UPDATE events SET available_seats");
    let app = std::sync::Arc::new(app);
    let canceller = app.clone();
    let id = booked.body["data"]["id"].as_i64().unwrap();
    let pending = tokio::spawn(async move {
        let path = format!("/api/reservations/{id}");
        canceller.call(Method::DELETE, &path, Some(&TestApp::buyer("first")), None).await
    });
    trap.sprung().await;
    wait_for(&app, &format!("SELECT COUNT(*) FROM reservations WHERE id = {id} AND status = 'CANCELLED'"), 1).await;
    trap.cut();
    let lost = pending.await.unwrap();

    assert_outcome_unknown(&lost);
    assert_eq!(shown_available(&app, event).await, 2, "the cached event was dropped");
    let after = app.reserve(event, "second", 1, None).await;
    assert_eq!(after.status, StatusCode::CREATED, "the hint was dropped, so the returned seats sell: {after:?}");
    assert_eq!(app.check_conservation(event).await, (1, 1, 1));
}
