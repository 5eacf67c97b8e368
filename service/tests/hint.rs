//! The availability hint answers a request only as the database would: the sale rules come before "sold out", and a
//! hint cleared by a change of the event is never brought back by a batch that read the event before the change.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fault_proxy::FaultProxy;
use common::{Options, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Row as _;
use ticketing_service::domain::{format_timestamp, now_millis};

/// A hint that stays fresh for the whole test.
fn long_hint() -> Options {
    Options { hint_ttl_ms: 600_000, ..Options::default() }
}

#[tokio::test]
async fn a_sale_not_open_yet_is_never_answered_sold_out() {
    let app = TestApp::spawn_with(long_hint()).await;
    let event = app.create_event(2, json!({"salesOpenAt": "2030-01-01T00:00:00", "maxPerOrder": 4})).await;
    let first = app.reserve(event, "early", 1, None).await;
    assert_eq!((first.status, first.code()), (StatusCode::CONFLICT, "sale_not_open"));
    // The batch above left a hint of 2 seats; 3 is more than that, but the sale has not opened.
    let more = app.reserve(event, "early", 3, None).await;
    assert_eq!((more.status, more.code()), (StatusCode::CONFLICT, "sale_not_open"), "{more:?}");
}

#[tokio::test]
async fn a_sale_that_closed_by_the_clock_is_never_answered_sold_out() {
    let app = TestApp::spawn_with(long_hint()).await;
    let close = now_millis() + 3_000;
    let event = app.create_event(1, json!({"salesCloseAt": format_timestamp(close)})).await;
    assert_eq!(app.reserve(event, "buyer", 1, None).await.status, StatusCode::CREATED);
    let sold_out = app.reserve(event, "late", 1, None).await;
    assert_eq!(sold_out.code(), "sold_out", "the hint says no seats are left");
    // The close time is written to the second; wait until the clock has passed it.
    let closed_at = close / 1000 * 1000;
    while now_millis() <= closed_at + 50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let late = app.reserve(event, "late", 1, None).await;
    assert_eq!((late.status, late.code()), (StatusCode::CONFLICT, "sale_closed"), "{late:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_answered_after_a_capacity_edit_does_not_restore_its_hint() {
    let proxy = FaultProxy::in_front_of(&ticketing_testkit::mariadb::fresh_database().await).await;
    let app =
        Arc::new(TestApp::spawn_with(Options { database_url: Some(proxy.url().to_owned()), ..long_hint() }).await);
    let event = app.create_event(2, json!({})).await;

    // The batch that takes both seats commits, but its answer is held until the capacity edit is done.
    let mut trap = proxy.trap("INSERT INTO reservations");
    let buyer = app.clone();
    let pending = tokio::spawn(async move { buyer.reserve(event, "first", 2, None).await });
    trap.sprung().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let sql = format!("SELECT available_seats FROM events WHERE id = {event}");
        if sqlx::query(&sql).fetch_one(&app.db.reader).await.unwrap().get::<i64, _>(0) == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the held batch never committed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let edit = json!({"eventName": "Test event", "totalSeats": 4, "eventDate": "2030-12-31T19:00:00"});
    let edited = app.call(Method::PUT, &format!("/api/events/{event}"), Some(&TestApp::admin()), Some(edit)).await;
    assert_eq!((edited.status, edited.body["data"]["availableSeats"].as_i64()), (StatusCode::OK, Some(2)));
    trap.release();
    assert_eq!(pending.await.unwrap().status, StatusCode::CREATED);

    let after = app.reserve(event, "second", 1, None).await;
    assert_eq!(after.status, StatusCode::CREATED, "two seats are left after the edit: {after:?}");
    assert_eq!(app.check_conservation(event).await, (1, 3, 2));
}
