//! Redis is a cache and a hint, never the source of truth: with Redis stopped before or during a run the service
//! keeps selling from the database, reports itself degraded, and the invariants hold.

mod common;

use std::sync::Arc;

use common::{Options, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;
use ticketing_testkit::redis::RedisProcess;

async fn sell(app: &Arc<TestApp>, event: i64, buyers: std::ops::Range<usize>) -> (usize, usize) {
    let tasks: Vec<_> = buyers
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move { app.reserve(event, &format!("r{i}"), 1, Some(&format!("key-{i}"))).await })
        })
        .collect();
    let (mut created, mut sold_out) = (0, 0);
    for task in tasks {
        let response = task.await.unwrap();
        match (response.status, response.code()) {
            (StatusCode::CREATED, _) => created += 1,
            (StatusCode::CONFLICT, "sold_out") => sold_out += 1,
            (status, code) => panic!("unexpected {status} {code}"),
        }
    }
    (created, sold_out)
}

/// Polls `/readyz` until it reports Redis in `state` (the service retries Redis after a one-second backoff).
async fn wait_until_redis_is(app: &TestApp, state: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let health = app.call(Method::GET, "/readyz", None, None).await;
        if health.body["data"]["redis"] == state {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "redis never became {state}: {}", health.body);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn selling_goes_on_with_redis_stopped_before_and_during_a_run() {
    let mut redis = RedisProcess::start();
    redis.stop();
    let app = Arc::new(TestApp::spawn_with(Options { redis_url: Some(redis.url()), ..Options::default() }).await);
    let event = app.create_event(300, json!({})).await;

    let health = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!((health.status, health.body["data"]["redis"].as_str()), (StatusCode::OK, Some("degraded")));
    let (created, _) = sell(&app, event, 0..100).await;
    assert_eq!(created, 100, "Redis down before the run: every buyer still gets a seat");

    redis.restart();
    wait_until_redis_is(&app, "ok").await;
    let reader = TestApp::buyer("reader");
    let read = app.call(Method::GET, &format!("/api/events/{event}"), Some(&reader), None).await;
    assert_eq!(read.body["data"]["availableSeats"].as_i64(), Some(200));
    let during = {
        let app = app.clone();
        tokio::spawn(async move { sell(&app, event, 100..400).await })
    };
    redis.stop();
    let (created, sold_out) = during.await.unwrap();
    assert_eq!((created, sold_out), (200, 100), "Redis stopped during the run: exactly the remaining seats are sold");
    assert_eq!(app.check_conservation(event).await, (0, 300, 300));
    let health = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!((health.status, health.body["data"]["redis"].as_str()), (StatusCode::OK, Some("degraded")));
    let metrics = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("ticketing_redis_up 0"), "the metric says Redis is down");

    redis.restart();
    wait_until_redis_is(&app, "ok").await;
    let read = app.call(Method::GET, &format!("/api/events/{event}"), Some(&reader), None).await;
    assert_eq!(read.body["data"]["availableSeats"].as_i64(), Some(0), "no stale cache entry survives the outage");
}
