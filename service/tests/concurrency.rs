//! Concurrency: thousands of buyers through real HTTP, then the invariants checked from the database.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use common::{Options, Storage, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// 1,000 concurrent buyers, 100 seats, 1 seat each: exactly 100 successes and 900 sold-out answers (I1, I2).
async fn thousand_buyers_for_a_hundred_seats(storage: Storage) {
    let app = Arc::new(TestApp::spawn_with(Options { storage, ..Options::default() }).await);
    let event = app.create_event(100, json!({})).await;
    let started = Instant::now();
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move { app.reserve(event, &format!("buyer-{i}"), 1, None).await })
        })
        .collect();
    let (mut created, mut sold_out, mut other) = (0, 0, Vec::new());
    for task in tasks {
        let response = task.await.unwrap();
        match (response.status, response.code()) {
            (StatusCode::CREATED, _) => created += 1,
            (StatusCode::CONFLICT, "sold_out") => sold_out += 1,
            (status, code) => other.push(format!("{status} {code}")),
        }
    }
    let (available, seats, rows) = app.check_conservation(event).await;
    println!(
        "{storage:?}: 1,000 buyers / 100 seats in {:?}: {created} created, {sold_out} sold out",
        started.elapsed()
    );
    assert_eq!((created, sold_out), (100, 900), "other answers: {other:?}");
    assert!(other.is_empty());
    assert_eq!((available, seats, rows), (0, 100, 100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mariadb_sells_exactly_the_capacity_to_a_crowd() {
    thousand_buyers_for_a_hundred_seats(Storage::MariaDb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_sells_exactly_the_capacity_to_a_crowd() {
    thousand_buyers_for_a_hundred_seats(Storage::Sqlite).await;
}

/// 10,000 seats, buyers asking 1-4 seats until sold out: the seats sold equal the capacity exactly, every 201 is in
/// the database, and every sold-out answer came when fewer seats were left than asked.
async fn storm_until_sold_out(storage: Storage) {
    let app = Arc::new(TestApp::spawn_with(Options { storage, ..Options::default() }).await);
    let event = app.create_event(10_000, json!({"perUserLimit": 8, "maxPerOrder": 4})).await;
    let started = Instant::now();
    let workers: Vec<_> = (0..500)
        .map(|worker| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                let mut round = 0;
                loop {
                    let quantity = 1 + (worker + round) % 4;
                    let user = format!("storm-{worker}-{round}");
                    let response =
                        app.reserve(event, &user, quantity as i64, Some(&format!("k-{worker}-{round}"))).await;
                    match (response.status, response.code()) {
                        (StatusCode::CREATED, _) => acknowledged.push(response.body["data"]["id"].as_i64().unwrap()),
                        (StatusCode::CONFLICT, "sold_out") => {
                            let left = response.body["message"].as_str().unwrap_or_default().to_owned();
                            if quantity == 1 {
                                return (acknowledged, left);
                            }
                        }
                        (status, code) => panic!("unexpected answer {status} {code}"),
                    }
                    round += 1;
                }
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for worker in workers {
        let (ids, _) = worker.await.unwrap();
        acknowledged.extend(ids);
    }
    let elapsed = started.elapsed();
    let (available, seats, rows) = app.check_conservation(event).await;
    let unique: HashSet<i64> = acknowledged.iter().copied().collect();
    println!(
        "{storage:?}: storm of 500 buyers over 10,000 seats sold out in {elapsed:?}: {} reservations, {seats} seats",
        acknowledged.len()
    );
    assert_eq!(available, 0, "sold out means nothing left");
    assert_eq!(seats, 10_000);
    assert_eq!(unique.len(), acknowledged.len(), "no duplicate ids");
    assert_eq!(rows as usize, acknowledged.len(), "every 201 and nothing else is in the database");
    for id in acknowledged.iter().step_by(97) {
        let found = app.call(Method::GET, &format!("/api/reservations/{id}"), Some(&TestApp::admin()), None).await;
        assert_eq!(found.status, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mariadb_storm_sells_out_exactly() {
    storm_until_sold_out(Storage::MariaDb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_storm_sells_out_exactly() {
    storm_until_sold_out(Storage::Sqlite).await;
}

/// The same Idempotency-Key sent 50 times at once books once; every answer carries the same reservation (I5).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_key_sent_fifty_times_books_once() {
    let app = Arc::new(TestApp::spawn().await);
    let event = app.create_event(100, json!({})).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.reserve(event, "alice", 2, Some("order-42")).await })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        let response = task.await.unwrap();
        assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
        ids.insert(response.body["data"]["id"].as_i64().unwrap());
    }
    assert_eq!(ids.len(), 1, "every answer names the same reservation");
    let (available, seats, rows) = app.check_conservation(event).await;
    assert_eq!((available, seats, rows), (98, 2, 1));
    let again = app.reserve(event, "alice", 2, Some("order-42")).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    let reused = app.reserve(event, "alice", 3, Some("order-42")).await;
    assert_eq!((reused.status, reused.code()), (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"));
    let other_buyer = app.reserve(event, "bob", 2, Some("order-42")).await;
    assert_eq!(other_buyer.status, StatusCode::CREATED, "keys are per buyer");
    assert_ne!(other_buyer.body["data"]["id"], again.body["data"]["id"]);
}

/// A cancel sent 20 times at once restores the seats once (I3): one 200, nineteen 409 already_cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancel_sent_twenty_times_restores_seats_once() {
    let app = Arc::new(TestApp::spawn().await);
    let event = app.create_event(10, json!({})).await;
    let booked = app.reserve(event, "carol", 3, None).await;
    let id = booked.body["data"]["id"].as_i64().unwrap();
    let token = TestApp::buyer("carol");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                app.call(Method::DELETE, &format!("/api/reservations/{id}"), Some(&token), None).await
            })
        })
        .collect();
    let (mut ok, mut already) = (0, 0);
    for task in tasks {
        let response = task.await.unwrap();
        match (response.status, response.code()) {
            (StatusCode::OK, _) => ok += 1,
            (StatusCode::CONFLICT, "already_cancelled") => already += 1,
            (status, code) => panic!("unexpected {status} {code}"),
        }
    }
    assert_eq!((ok, already), (1, 19));
    let (available, seats, rows) = app.check_conservation(event).await;
    assert_eq!((available, seats, rows), (10, 0, 0));
}

/// After the sell-out, keyed requests (which the hint cannot answer: a key may belong to a booking to replay) are
/// decided on a snapshot without the row lock, with the answers a locked batch gives: the retry of a booking is
/// replayed, a changed payload under its key is refused, a new key gets sold_out and stays unused, and seats a
/// cancel gives back go to the next buyer through the lock again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_the_sell_out_keyed_requests_are_decided_on_a_snapshot_with_the_same_answers() {
    // A long-lived hint, so that every request after the sell-out meets a fresh one and takes the snapshot path.
    let app = TestApp::spawn_with(Options { hint_ttl_ms: 600_000, ..Options::default() }).await;
    let event = app.create_event(4, json!({})).await;
    let booked = app.reserve(event, "alice", 4, Some("alice-1")).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{:?}", booked.body);
    let snapshots_before = snapshot_batches(&app).await;

    let replay = app.reserve(event, "alice", 4, Some("alice-1")).await;
    assert_eq!(replay.status, StatusCode::CREATED, "{:?}", replay.body);
    assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(replay.body["data"]["id"], booked.body["data"]["id"]);
    let reused = app.reserve(event, "alice", 2, Some("alice-1")).await;
    assert_eq!((reused.status, reused.code()), (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"));
    let refused = app.reserve(event, "bob", 1, Some("bob-1")).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::CONFLICT, "sold_out"));
    assert!(snapshot_batches(&app).await >= snapshots_before + 3, "the three were decided on snapshots");

    let id = booked.body["data"]["id"].as_i64().unwrap();
    let cancelled =
        app.call(Method::DELETE, &format!("/api/reservations/{id}"), Some(&TestApp::buyer("alice")), None).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:?}", cancelled.body);
    let later = app.reserve(event, "bob", 1, Some("bob-1")).await;
    assert_eq!(later.status, StatusCode::CREATED, "the refused key was not used up: {:?}", later.body);
    let (available, seats, _) = app.check_conservation(event).await;
    assert_eq!((available, seats), (3, 1));
}

/// `ticketing_snapshot_batches_total` from the app's `/metrics` (the recorder is shared by the tests of this binary,
/// so only increases are meaningful).
async fn snapshot_batches(app: &TestApp) -> u64 {
    let metrics = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("ticketing_snapshot_batches_total "))
        .map_or(0, |value| value.trim().parse::<f64>().unwrap() as u64)
}
