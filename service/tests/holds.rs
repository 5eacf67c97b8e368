//! Holds and the lease that guards the hold sweeper: a held reservation is confirmed before its expiry or its
//! seats come back exactly once; a sweeper whose fencing token was overtaken writes nothing.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;
use ticketing_service::domain::now_millis;
use ticketing_service::lease::{next_fence, Lease};
use ticketing_service::redis_link::RedisLink;
use ticketing_service::sweeper::{sweep_once, SweepEnd};
use ticketing_testkit::redis::RedisProcess;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_seats_are_confirmed_in_time_or_given_back_once() {
    let app = TestApp::spawn().await;
    let event = app.create_event(10, json!({"holdSeconds": 1})).await;
    let buyer = TestApp::buyer("holder");

    let kept = app.reserve(event, "holder", 2, None).await;
    assert_eq!((kept.status, kept.body["data"]["status"].as_str()), (StatusCode::CREATED, Some("HELD")));
    assert!(kept.body["data"]["expiresAt"].is_string());
    let kept_id = kept.body["data"]["id"].as_i64().unwrap();
    let confirmed = app.call(Method::POST, &format!("/api/reservations/{kept_id}/confirm"), Some(&buyer), None).await;
    assert_eq!((confirmed.status, confirmed.body["data"]["status"].as_str()), (StatusCode::OK, Some("CONFIRMED")));
    let again = app.call(Method::POST, &format!("/api/reservations/{kept_id}/confirm"), Some(&buyer), None).await;
    assert_eq!(again.status, StatusCode::OK, "confirming twice changes nothing");
    let stranger = app
        .call(Method::POST, &format!("/api/reservations/{kept_id}/confirm"), Some(&TestApp::buyer("other")), None)
        .await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);

    let lapsing = app.reserve(event, "holder", 3, None).await;
    let lapsing_id = lapsing.body["data"]["id"].as_i64().unwrap();
    assert_eq!(app.check_conservation(event).await.0, 5, "held seats are taken while held");
    // The sweeper runs every 100 ms in tests; wait for it to expire the hold (deadline, not a fixed sleep).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let read = app.call(Method::GET, &format!("/api/reservations/{lapsing_id}"), Some(&buyer), None).await;
        if read.body["data"]["status"] == "EXPIRED" {
            break;
        }
        assert!(Instant::now() < deadline, "the hold never expired: {}", read.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let late = app.call(Method::POST, &format!("/api/reservations/{lapsing_id}/confirm"), Some(&buyer), None).await;
    assert_eq!((late.status, late.code()), (StatusCode::CONFLICT, "hold_expired"));
    let cancel = app.call(Method::DELETE, &format!("/api/reservations/{lapsing_id}"), Some(&buyer), None).await;
    assert_eq!((cancel.status, cancel.code()), (StatusCode::CONFLICT, "hold_expired"));
    // The expired hold gave its 3 seats back exactly once; the confirmed 2 stay taken.
    assert_eq!(app.check_conservation(event).await, (8, 2, 1));
}

#[tokio::test]
async fn a_lease_has_one_holder_and_only_its_holder_releases_it() {
    let prefix = format!("lease-test-{:x}:", rand::random::<u64>());
    let url = ticketing_testkit::redis::server_url();
    // Two replicas: each has its own link to Redis.
    let link = || Some(Arc::new(RedisLink::new(&url, &prefix).unwrap()));
    let first = Lease::new("job", link(), Duration::from_secs(30));
    let second = Lease::new("job", link(), Duration::from_secs(30));
    assert!(first.acquire().await.unwrap());
    assert!(!second.acquire().await.unwrap(), "a held lease is not granted twice");
    assert!(!second.release().await.unwrap(), "a non-holder cannot release it");
    assert!(!second.renew().await.unwrap(), "a non-holder cannot renew it");
    assert!(first.renew().await.unwrap());
    assert!(first.release().await.unwrap());
    assert!(second.acquire().await.unwrap(), "released: the next one takes it");
    assert!(!first.renew().await.unwrap(), "the old holder's renewal fails once another holds it");
}

/// How many connections the Redis at `url` has accepted so far.
async fn connections_received(url: &str) -> u64 {
    let mut admin = redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO").arg("stats").query_async(&mut admin).await.unwrap();
    let line = info.lines().find_map(|l| l.strip_prefix("total_connections_received:")).expect("the stat");
    line.trim().parse().unwrap()
}

#[tokio::test]
async fn a_lease_on_a_demoted_primary_is_taken_again_on_a_new_connection() {
    let primary = RedisProcess::start();
    let other = RedisProcess::start();
    let link = Arc::new(RedisLink::new(&primary.url(), "demotion:").unwrap());
    let holder = Lease::new("job", Some(link.clone()), Duration::from_secs(30));
    let next = Lease::new("job", Some(link), Duration::from_secs(30));
    assert!(holder.acquire().await.unwrap());

    // A failover demotes the primary: it still answers, but refuses writes, until it is promoted again (in a real
    // failover the endpoint's name moves to the new primary, which only a new connection reaches).
    let mut admin = redis::Client::open(primary.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let port = other.url().rsplit(':').next().unwrap().to_owned();
    let () = redis::cmd("REPLICAOF").arg("127.0.0.1").arg(&port).query_async(&mut admin).await.unwrap();
    let refused = next.acquire().await.expect_err("a replica refuses the lease's write");
    assert_eq!(refused.kind(), redis::ErrorKind::ReadOnly, "{refused}");
    let () = redis::cmd("REPLICAOF").arg("NO").arg("ONE").query_async(&mut admin).await.unwrap();
    // Whether the demoted primary had synced the other's (empty) data set or not, the lapsed lease is gone.
    let _: i64 = redis::cmd("DEL").arg("demotion:lease:job").query_async(&mut admin).await.unwrap();
    let before = connections_received(&primary.url()).await;

    let deadline = Instant::now() + Duration::from_secs(20);
    while !matches!(next.acquire().await, Ok(true)) {
        assert!(Instant::now() < deadline, "the lease was never taken again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let opened = connections_received(&primary.url()).await - before - 1;
    assert_eq!(opened, 1, "the lease's link left the demoted primary's connection for a new one");
}

#[tokio::test]
async fn a_sweeper_whose_lease_lapsed_is_fenced_off() {
    let app = TestApp::spawn().await;
    let event = app.create_event(10, json!({"holdSeconds": 600})).await;
    let held = app.reserve(event, "paused", 4, None).await;
    assert_eq!(held.status, StatusCode::CREATED);
    // Two sweepers take fencing tokens in turn, as when a paused holder's lease lapses and another takes over.
    let old = next_fence(&app.db, "hold-sweeper").await.unwrap();
    let new = next_fence(&app.db, "hold-sweeper").await.unwrap();
    assert!(new > old);
    let far_future = now_millis() + 3_600_000;
    let budget = Duration::from_secs(60);
    let fenced = sweep_once(&app.db, "hold-sweeper", old, far_future, budget).await;
    assert!(matches!(fenced.end, SweepEnd::Fenced) && fenced.expired.is_empty(), "the paused holder writes nothing");
    assert_eq!(app.check_conservation(event).await.0, 6, "the fenced sweep gave nothing back");
    let sweep = sweep_once(&app.db, "hold-sweeper", new, far_future, budget).await;
    assert!(matches!(sweep.end, SweepEnd::Done), "{sweep:?}");
    assert_eq!(sweep.expired, vec![(event, 4)]);
    let again = sweep_once(&app.db, "hold-sweeper", new, far_future, budget).await;
    assert!(again.expired.is_empty(), "seats come back once");
}
