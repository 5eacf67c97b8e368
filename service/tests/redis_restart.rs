//! Every use of Redis in the service recovers from a Redis restart (what an ElastiCache failover looks like from the
//! service): the hold sweeper's lease is taken again and lapsed holds are swept within the sweep interval plus a
//! second (invariant I6), the event cache stores entries in Redis again, `/readyz` and `ticketing_redis_up` say so,
//! and the log says once that Redis was lost and once that it is back.

mod common;

use std::time::{Duration, Instant};

use common::logs::capture;
use common::{Options, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Row as _;
use ticketing_testkit::redis::RedisProcess;

/// The sweep interval of the test app (`TestApp` runs the sweeper every 100 ms).
const SWEEP_INTERVAL_MS: i64 = 100;
/// The longest any wait here may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// Places a hold of one seat as `buyer` and waits until the sweeper has expired it; returns how long after its
/// expiry the sweeper gave the seat back, from the times the database recorded.
async fn hold_and_wait_for_expiry(app: &TestApp, event: i64, buyer: &str) -> i64 {
    let held = app.reserve(event, buyer, 1, None).await;
    assert_eq!((held.status, held.body["data"]["status"].as_str()), (StatusCode::CREATED, Some("HELD")), "{held:?}");
    let id = held.body["data"]["id"].as_i64().unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let row = sqlx::query("SELECT status, expires_at, updated_at FROM reservations WHERE id = ?")
            .bind(id)
            .fetch_one(&app.db.reader)
            .await
            .unwrap();
        let status: String = row.get("status");
        if status == "EXPIRED" {
            let expires_at: i64 = row.get("expires_at");
            let expired_at: i64 = row.get("updated_at");
            return expired_at - expires_at;
        }
        assert!(Instant::now() < deadline, "the hold of {buyer} is still {status} long after its expiry");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the Redis at `url` holds the cache entry of `event` (under whatever prefix the app uses).
fn redis_has_event_entry(url: &str, event: i64) -> bool {
    let mut connection = redis::Client::open(url).unwrap().get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("*event:{event}")).query(&mut connection).unwrap();
    !keys.is_empty()
}

async fn metric_line(app: &TestApp, name: &str) -> String {
    let metrics = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    metrics.lines().find(|line| line.starts_with(name)).unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lease_and_the_cache_work_again_after_redis_restarts() {
    let log = capture("warn,ticketing_service=info");
    let mut redis = RedisProcess::start();
    let app = TestApp::spawn_with(Options { redis_url: Some(redis.url()), ..Options::default() }).await;
    let event = app.create_event(10, json!({"holdSeconds": 1})).await;
    let reader = TestApp::buyer("reader");

    let lag_before = hold_and_wait_for_expiry(&app, event, "before").await;
    redis.restart();
    let lag_after = hold_and_wait_for_expiry(&app, event, "after").await;
    println!("holds given back {lag_before} ms (before the restart) and {lag_after} ms (after) past their expiry");
    assert!(
        lag_after <= SWEEP_INTERVAL_MS + 1000,
        "I6: a hold placed after the restart was given back {lag_after} ms after its expiry (before: {lag_before} ms)"
    );
    assert_eq!(app.check_conservation(event).await.0, 10, "both holds gave their seat back exactly once");

    let deadline = Instant::now() + PATIENCE;
    while !redis_has_event_entry(&redis.url(), event) {
        assert!(Instant::now() < deadline, "the cache never stored the event in the restarted Redis");
        let read = app.call(Method::GET, &format!("/api/events/{event}"), Some(&reader), None).await;
        assert_eq!(read.status, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.body["data"]["redis"], "ok", "{:?}", ready.body);
    assert_eq!(metric_line(&app, "ticketing_redis_up").await, "ticketing_redis_up 1");
    assert_eq!(metric_line(&app, "ticketing_lease_held").await, r#"ticketing_lease_held{lease="hold-sweeper"} 1"#);

    let lines = log.lines();
    let count = |needle: &str| lines.iter().filter(|line| line.contains(needle)).count();
    assert_eq!(count("redis is unreachable"), 1, "one line when Redis is lost:\n{}", lines.join("\n"));
    assert_eq!(count("redis is reachable"), 2, "one line at start and one when it is back:\n{}", lines.join("\n"));
    app.stop().await;
}
