//! Personal data never reaches the log, even when the database is slow: a batch whose statements wait on a real row
//! lock on MariaDB is logged as slow by the kinds of its statements, without any buyer's id or key (in clear or in
//! the hex the scripts carry them in), and every line stays short. Everything sqlx emits, at any level, is captured.

mod common;

use std::time::{Duration, Instant};

use common::logs::capture;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection as _;
use ticketing_service::store::Redacted;

const BUYERS: usize = 40;
/// The longest line the log may hold.
const MAX_LINE_BYTES: usize = 2048;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_batch_is_logged_without_buyer_ids_or_keys() {
    let log = capture("info,sqlx=trace,ticketing_service=trace");
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let event = app.create_event(1000, json!({})).await;
    let buyer = |i: usize| format!("private-buyer-{i}");
    let key = |i: usize| format!("private-key-{i}");

    // Another session holds the event's row lock: the next batch waits on it in the database.
    let mut holder = sqlx::MySqlConnection::connect(&app.database_url).await.unwrap();
    sqlx::raw_sql(&format!("BEGIN; SELECT id FROM events WHERE id = {event} FOR UPDATE"))
        .execute(&mut holder)
        .await
        .unwrap();
    let requests: Vec<_> = (0..BUYERS)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move { app.reserve(event, &buyer(i), 1, Some(&key(i))).await })
        })
        .collect();
    // A batch waits on the lock from the moment its locking read runs (MariaDB may list the statement in the
    // optimizer's `Statistics` phase rather than as a lock wait, so the running statement is what is watched).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.processlist \
             WHERE db = DATABASE() AND id <> CONNECTION_ID() AND command = 'Query' AND info LIKE '%FOR UPDATE%'",
        )
        .fetch_one(&mut holder)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no batch ever waited for the row lock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The fault itself: the lock is held past the slow-statement threshold.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap();
    for request in requests {
        assert_eq!(request.await.unwrap().status, StatusCode::CREATED);
    }

    // A duplicate entry's message quotes the values; what is logged of it does not.
    let duplicate = sqlx::query(
        "INSERT INTO reservations (id, event_id, user_id, quantity, status, idempotency_key, created_at, updated_at) \
         SELECT id + 1000000, event_id, user_id, quantity, status, idempotency_key, created_at, updated_at \
         FROM reservations WHERE idempotency_key = ?",
    )
    .bind(key(0))
    .execute(&app.db.writer)
    .await
    .expect_err("the unique index refuses a second row with the same buyer and key");
    let redacted = Redacted(&duplicate).to_string();
    assert!(duplicate.to_string().contains("Duplicate entry '"), "the raw message quotes the values");
    assert!(!redacted.contains(&key(0)) && !redacted.contains(&buyer(0)), "{redacted}");
    assert!(redacted.contains("23000"), "the SQLSTATE stays: {redacted}");

    let lines = log.lines();
    let slow: Vec<&String> = lines.iter().filter(|line| line.contains("slow")).collect();
    assert!(!slow.is_empty(), "the slow batch is logged:\n{}", lines.join("\n"));
    for line in &lines {
        for i in 0..BUYERS {
            for secret in [buyer(i), key(i)] {
                let hex = hex::encode(&secret);
                let shown = &line[..line.len().min(300)];
                assert!(!line.contains(&secret) && !line.contains(&hex), "{secret} is in the log: {shown}…");
            }
        }
    }
    for line in &lines {
        assert!(line.len() <= MAX_LINE_BYTES, "a log line of {} bytes: {}…", line.len(), &line[..200]);
    }
    println!("slow lines: {slow:#?}");
}
