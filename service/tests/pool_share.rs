//! Hot events do not starve the connection pool (I2): with ten events under a storm in one process and a pool of four
//! connections, another event's reservations, `/readyz` and the hold sweeper keep working, and no request anywhere is
//! answered 503 while seats remain. (The writers share part of the pool and wait their turn for it; the rest is kept
//! for everything else.)
//!
//! The database answers through a [`FaultProxy`] 20 ms late, as in a latency spike, so that the storm's batches queue
//! up behind each other and every hot writer is busy all the time (on a fast local database a handful of buyers per
//! event leaves the writers idle between batches, and they give their connections back).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::fault_proxy::FaultProxy;
use common::{Options, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

const HOT_EVENTS: usize = 10;
const BUYERS_PER_EVENT: usize = 30;
/// Longer than the pool's acquire timeout (5 s), so a starved caller would have given up within it.
const PROBING: Duration = Duration::from_secs(7);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_hot_events_leave_connections_for_everything_else() {
    let proxy = FaultProxy::in_front_of(&ticketing_testkit::mariadb::fresh_database().await).await;
    let options = Options { db_max_connections: 4, database_url: Some(proxy.url().to_owned()), ..Options::default() };
    let app = Arc::new(TestApp::spawn_with(options).await);
    let mut hot = Vec::new();
    for _ in 0..HOT_EVENTS {
        hot.push(app.create_event(1_000_000, json!({})).await);
    }
    let (cold, held) =
        (app.create_event(1_000, json!({})).await, app.create_event(10, json!({"holdSeconds": 1})).await);
    proxy.set_latency(Duration::from_millis(20));
    let stop = Arc::new(AtomicBool::new(false));
    let booked = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));

    let mut storm = Vec::new();
    for (e, &event) in hot.iter().enumerate() {
        for b in 0..BUYERS_PER_EVENT {
            let (app, stop, booked, failures) = (app.clone(), stop.clone(), booked.clone(), failures.clone());
            storm.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let response = app.reserve(event, &format!("hot-{e}-{b}-{n}"), 1, None).await;
                    n += 1;
                    if response.status == StatusCode::CREATED {
                        booked.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("hot event {event}: {} {}", response.status, response.body));
                    }
                }
            }));
        }
    }
    // Every hot writer is busy before the probes start.
    let deadline = Instant::now() + Duration::from_secs(60);
    while booked.load(Ordering::Relaxed) < HOT_EVENTS * BUYERS_PER_EVENT * 2 {
        assert!(Instant::now() < deadline, "the storm never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let hold = app.reserve(held, "holder", 2, None).await;
    assert_eq!((hold.status, hold.body["data"]["status"].as_str()), (StatusCode::CREATED, Some("HELD")), "{hold:?}");
    let hold_path = format!("/api/reservations/{}", hold.body["data"]["id"]);
    let started = Instant::now();
    let mut probes: i64 = 0;
    while started.elapsed() < PROBING {
        let ready = app.call(Method::GET, "/readyz", None, None).await;
        assert_eq!(ready.status, StatusCode::OK, "/readyz during the storm: {}", ready.body);
        let other = app.reserve(cold, &format!("cold-{probes}"), 1, None).await;
        assert_eq!(other.status, StatusCode::CREATED, "another event's reservation during the storm: {other:?}");
        probes += 1;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let read = app.call(Method::GET, &hold_path, Some(&TestApp::buyer("holder")), None).await;
        if read.body["data"]["status"] == "EXPIRED" {
            break;
        }
        assert!(Instant::now() < deadline, "the sweeper never expired the hold during the storm: {}", read.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    stop.store(true, Ordering::Relaxed);
    for task in storm {
        task.await.unwrap();
    }
    let failures = std::mem::take(&mut *failures.lock().unwrap());
    assert!(failures.is_empty(), "{} hot requests failed, first: {:?}", failures.len(), failures.first());
    assert_eq!(app.check_conservation(held).await, (10, 0, 0), "the hold gave its seats back");
    assert_eq!(app.check_conservation(cold).await.1, probes);
    for event in hot {
        app.check_conservation(event).await;
    }
}
