//! One identity (invariant I7): a user id or an idempotency key compares the same in Rust and in every backend, so
//! near-duplicates (a trailing or leading space, another case, another Unicode form of the same letter) are distinct
//! buyers and keys everywhere: in listings, ownership checks, replays and per-user limits. And a buyer whose id
//! the database would once have confused with another's never fails the batch of other buyers it lands in.
//! Run on MariaDB (whose `utf8mb4_bin` collation ignores trailing spaces) and on SQLite.

mod common;

use std::sync::Arc;

use common::{token, Options, Storage, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Ids that a PAD SPACE or case-insensitive collation, or a normalising one, would take for `alice`.
const NEAR_ALICE: [&str; 6] = ["alice ", "alice  ", "ALICE", "Alice", " alice", "alic\u{0065}\u{0301}"];

/// `text` percent-encoded for a path segment.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

async fn listed_ids(app: &TestApp, user: &str) -> Vec<i64> {
    let path = format!("/api/reservations/user/{}", path_segment(user));
    let list = app.call(Method::GET, &path, Some(&token(user, false, 600)), None).await;
    assert_eq!(list.status, StatusCode::OK, "{user:?}: {:?}", list.body);
    let mut ids: Vec<i64> = list.body["data"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    ids
}

async fn near_duplicates_are_distinct_buyers_and_keys(storage: Storage) {
    let app = Arc::new(TestApp::spawn_with(Options { storage, ..Options::default() }).await);
    let event = app.create_event(1000, json!({"perUserLimit": 4, "maxPerOrder": 2})).await;
    let alice = app.reserve(event, "alice", 2, Some("k-1")).await;
    assert_eq!(alice.status, StatusCode::CREATED, "{:?}", alice.body);
    let alice_id = alice.body["data"]["id"].as_i64().unwrap();

    // Each near-duplicate books with alice's key, in the same batches as many other buyers: all are new bookings.
    let mut tasks = Vec::new();
    for (index, user) in NEAR_ALICE.iter().enumerate() {
        let app = app.clone();
        tasks.push(tokio::spawn(async move { (index, app.reserve(event, user, 2, Some("k-1")).await) }));
    }
    for other in 0..60 {
        let app = app.clone();
        let user = format!("other-{other}");
        tasks.push(tokio::spawn(async move { (usize::MAX, app.reserve(event, &user, 1, Some("k-1")).await) }));
    }
    let long_id: String = "\u{1F3AB}".repeat(128);
    {
        let app = app.clone();
        tasks.push(tokio::spawn(async move { (usize::MAX, app.reserve(event, &long_id, 1, Some("k-1")).await) }));
    }
    let mut near_ids = vec![0; NEAR_ALICE.len()];
    for task in tasks {
        let (index, response) = task.await.unwrap();
        assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
        assert!(response.headers.get("idempotent-replayed").is_none(), "a new buyer's booking is not a replay");
        if index != usize::MAX {
            near_ids[index] = response.body["data"]["id"].as_i64().unwrap();
        }
    }
    // Listing and ownership: each sees and touches its own reservation only, never alice's.
    for user in NEAR_ALICE {
        let caller = token(user, false, 600);
        let read = app.call(Method::GET, &format!("/api/reservations/{alice_id}"), Some(&caller), None).await;
        assert_eq!(read.status, StatusCode::NOT_FOUND, "{user:?} reads alice's reservation");
        let cancel = app.call(Method::DELETE, &format!("/api/reservations/{alice_id}"), Some(&caller), None).await;
        assert_eq!(cancel.status, StatusCode::NOT_FOUND, "{user:?} cancels alice's reservation");
    }
    for (user, id) in NEAR_ALICE.iter().zip(&near_ids) {
        assert_ne!(*id, alice_id);
        assert_eq!(listed_ids(&app, user).await, vec![*id], "{user:?} lists exactly its own reservation");
    }
    assert_eq!(listed_ids(&app, "alice").await, vec![alice_id]);

    // Replays go to each buyer's own booking; a key in another case is another key.
    for (user, id) in NEAR_ALICE.iter().zip(&near_ids) {
        let again = app.reserve(event, user, 2, Some("k-1")).await;
        assert_eq!((again.status, again.body["data"]["id"].as_i64()), (StatusCode::CREATED, Some(*id)), "{user:?}");
        assert_eq!(again.headers.get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    }
    let upper_key = app.reserve(event, "alice", 2, Some("K-1")).await;
    assert_eq!(upper_key.status, StatusCode::CREATED, "{:?}", upper_key.body);
    assert!(upper_key.headers.get("idempotent-replayed").is_none(), "K-1 is not k-1");
    let replay = app.reserve(event, "alice", 2, Some("k-1")).await;
    assert_eq!(replay.body["data"]["id"].as_i64(), Some(alice_id));

    // Per-user limits count each buyer's own seats: alice holds her 4, each near-duplicate 2 of its own 4.
    let over = app.reserve(event, "alice", 1, None).await;
    assert_eq!((over.status, over.code()), (StatusCode::CONFLICT, "user_limit_reached"));
    for user in NEAR_ALICE {
        let more = app.reserve(event, user, 2, None).await;
        assert_eq!(more.status, StatusCode::CREATED, "{user:?} has its own limit: {:?}", more.body);
    }
    let sold = 4 + 2 * 2 * NEAR_ALICE.len() as i64 + 61;
    assert_eq!(app.check_conservation(event).await.1, sold);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn near_duplicates_are_distinct_on_mariadb() {
    near_duplicates_are_distinct_buyers_and_keys(Storage::MariaDb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn near_duplicates_are_distinct_on_sqlite() {
    near_duplicates_are_distinct_buyers_and_keys(Storage::Sqlite).await;
}

/// A buyer who sends one key to two events at once races two writers to the same unique-index entry: one books,
/// the other is refused as a reused key, and the batches of the other buyers on both events are unaffected (a lost
/// race is retried, and the retry sees the booking that won).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_key_sent_to_two_events_at_once_fails_no_batch() {
    let app = Arc::new(TestApp::spawn().await);
    let events = [app.create_event(10_000, json!({})).await, app.create_event(10_000, json!({})).await];
    for round in 0..20 {
        let (racer_id, key) = (format!("racer-{round}"), format!("race-{round}"));
        let mut tasks = Vec::new();
        for event in events {
            for other in 0..20 {
                let app = app.clone();
                let user = format!("bystander-{event}-{round}-{other}");
                tasks.push(tokio::spawn(async move { (false, app.reserve(event, &user, 1, Some("k")).await) }));
            }
            let (app, racer_id, key) = (app.clone(), racer_id.clone(), key.clone());
            tasks.push(tokio::spawn(async move { (true, app.reserve(event, &racer_id, 1, Some(&key)).await) }));
        }
        let mut racer = Vec::new();
        for task in tasks {
            let (is_racer, response) = task.await.unwrap();
            if is_racer {
                racer.push((response.status, response.code().to_owned()));
            } else {
                assert_eq!(response.status, StatusCode::CREATED, "round {round}: {:?}", response.body);
            }
        }
        racer.sort();
        assert_eq!(
            racer,
            [(StatusCode::CREATED, String::new()), (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused".into())],
            "round {round}"
        );
    }
}
