//! The invariant checker against real SQLite files built with the service's own migrations: a consistent state
//! passes, and each kind of broken state is reported under the invariant it breaks.

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use ticketing_bench::invariants::{self, EventExpectation, Expectations};
use ticketing_bench::outcome::Ack;

/// A fresh database file with the service's SQLite migrations applied.
struct Fixture {
    _dir: tempfile::TempDir,
    url: String,
    pool: SqlitePool,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("ticketing.db").display());
        // Foreign keys off, so a test can store a reservation whose event does not exist.
        let options = SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true).foreign_keys(false);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        let migrations = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../service/migrations/sqlite");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&migrations)
            .unwrap_or_else(|error| panic!("reading {}: {error}", migrations.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no migrations in {}", migrations.display());
        for file in files {
            sqlx::raw_sql(&std::fs::read_to_string(&file).unwrap()).execute(&pool).await.unwrap();
        }
        Self { _dir: dir, url, pool }
    }

    async fn event(&self, capacity: i64, available: i64) -> i64 {
        sqlx::query(
            "INSERT INTO events (name, total_seats, available_seats, event_date, sales_open_at, per_user_limit, \
             max_per_order, hold_seconds, created_at, updated_at) VALUES ('e', ?, ?, 0, 0, 8, 4, 0, 0, 0)",
        )
        .bind(capacity)
        .bind(available)
        .execute(&self.pool)
        .await
        .unwrap()
        .last_insert_rowid()
    }

    async fn reservation(&self, id: i64, event: i64, user: &str, quantity: i64, status: &str, key: &str) {
        sqlx::query(
            "INSERT INTO reservations (id, event_id, user_id, quantity, status, idempotency_key, created_at, \
             updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
        )
        .bind(id)
        .bind(event)
        .bind(user)
        .bind(quantity)
        .bind(status)
        .bind(key)
        .execute(&self.pool)
        .await
        .unwrap();
    }

    async fn broken(&self, expect: &Expectations) -> Vec<&'static str> {
        let pool = invariants::connect(&self.url).await.unwrap();
        let verdict = invariants::check(&pool, expect).await.unwrap();
        verdict.broken().into_iter().collect()
    }
}

fn ack(id: i64, event: i64, user: &str, quantity: i64, key: &str) -> Ack {
    Ack {
        id: id.to_string(),
        event,
        user: user.into(),
        key: key.into(),
        quantity,
        held: false,
        replayed: false,
        sent: None,
    }
}

fn sold_out(event: i64, capacity: i64, one_order_per_user: bool) -> EventExpectation {
    EventExpectation { id: event, capacity, sold_out: true, one_order_per_user }
}

/// A sold-out event of 10 seats held by three buyers, all acknowledged.
async fn sold_out_fixture() -> (Fixture, i64, Expectations) {
    let db = Fixture::new().await;
    let event = db.event(10, 0).await;
    db.reservation(1, event, "a", 3, "CONFIRMED", "ka").await;
    db.reservation(2, event, "b", 3, "CONFIRMED", "kb").await;
    db.reservation(3, event, "c", 4, "CONFIRMED", "kc").await;
    let expect = Expectations {
        events: vec![sold_out(event, 10, true)],
        acknowledged: vec![ack(1, event, "a", 3, "ka"), ack(2, event, "b", 3, "kb"), ack(3, event, "c", 4, "kc")],
        cancelled: Vec::new(),
    };
    (db, event, expect)
}

#[tokio::test]
async fn a_consistent_sold_out_event_passes() {
    let (db, _, expect) = sold_out_fixture().await;
    assert_eq!(db.broken(&expect).await, Vec::<&str>::new());
}

#[tokio::test]
async fn seats_taken_without_a_reservation_break_conservation() {
    let db = Fixture::new().await;
    let event = db.event(10, 5).await;
    db.reservation(1, event, "a", 3, "CONFIRMED", "ka").await;
    let expect = Expectations {
        events: vec![EventExpectation { id: event, capacity: 10, sold_out: false, one_order_per_user: false }],
        acknowledged: vec![ack(1, event, "a", 3, "ka")],
        cancelled: Vec::new(),
    };
    assert_eq!(db.broken(&expect).await, vec!["conservation"]);
}

#[tokio::test]
async fn an_unsold_seat_after_a_sold_out_run_is_reported() {
    let db = Fixture::new().await;
    let event = db.event(10, 1).await;
    db.reservation(1, event, "a", 4, "CONFIRMED", "ka").await;
    db.reservation(2, event, "b", 4, "CONFIRMED", "kb").await;
    db.reservation(3, event, "c", 1, "CONFIRMED", "kc").await;
    let expect = Expectations { events: vec![sold_out(event, 10, true)], ..Default::default() };
    assert_eq!(db.broken(&expect).await, vec!["sold_equals_capacity"]);
}

#[tokio::test]
async fn an_acknowledged_reservation_missing_from_the_database_is_reported() {
    let (db, event, mut expect) = sold_out_fixture().await;
    expect.acknowledged.push(ack(99, event, "d", 1, "kd"));
    assert_eq!(db.broken(&expect).await, vec!["acknowledged_exist"]);
}

#[tokio::test]
async fn an_acknowledged_reservation_stored_differently_is_reported() {
    let (db, event, mut expect) = sold_out_fixture().await;
    expect.acknowledged[0] = ack(1, event, "a", 2, "ka");
    assert_eq!(db.broken(&expect).await, vec!["acknowledged_exist"]);
}

#[tokio::test]
async fn a_reservation_cancelled_behind_the_buyers_back_is_reported() {
    let db = Fixture::new().await;
    let event = db.event(10, 10).await;
    db.reservation(1, event, "a", 2, "CANCELLED", "ka").await;
    let expect = Expectations {
        events: vec![EventExpectation { id: event, capacity: 10, sold_out: false, one_order_per_user: false }],
        acknowledged: vec![ack(1, event, "a", 2, "ka")],
        cancelled: Vec::new(),
    };
    assert_eq!(db.broken(&expect).await, vec!["acknowledged_exist"]);
}

#[tokio::test]
async fn an_acknowledged_cancel_that_was_not_stored_is_reported() {
    let (db, _, mut expect) = sold_out_fixture().await;
    expect.cancelled.push("2".into());
    assert_eq!(db.broken(&expect).await, vec!["cancels_stored"]);
}

#[tokio::test]
async fn a_buyer_booked_twice_for_one_order_is_a_duplicate() {
    let db = Fixture::new().await;
    let event = db.event(10, 0).await;
    db.reservation(1, event, "a", 4, "CONFIRMED", "ka").await;
    db.reservation(2, event, "a", 4, "CONFIRMED", "ka-retry").await;
    db.reservation(3, event, "b", 2, "CONFIRMED", "kb").await;
    let expect = Expectations { events: vec![sold_out(event, 10, true)], ..Default::default() };
    assert_eq!(db.broken(&expect).await, vec!["no_duplicates"]);
}

#[tokio::test]
async fn one_order_acknowledged_with_two_ids_is_a_duplicate() {
    let (db, event, mut expect) = sold_out_fixture().await;
    expect.acknowledged.push(ack(2, event, "a", 3, "ka"));
    let broken = db.broken(&expect).await;
    assert!(broken.contains(&"no_duplicates"), "{broken:?}");
}

#[tokio::test]
async fn a_reservation_of_no_event_or_unknown_status_holds_no_seats() {
    let (db, event, expect) = sold_out_fixture().await;
    db.reservation(7, 4242, "z", 1, "CONFIRMED", "kz").await;
    assert_eq!(db.broken(&expect).await, vec!["no_reservation_without_seats"]);

    db.reservation(8, event, "y", 1, "PENDING", "ky").await;
    let broken = db.broken(&expect).await;
    assert!(broken.contains(&"no_reservation_without_seats"), "{broken:?}");
}

#[tokio::test]
async fn a_live_hold_takes_seats_and_a_lapsed_one_gives_them_back() {
    let db = Fixture::new().await;
    let event = db.event(10, 6).await;
    db.reservation(1, event, "a", 3, "HELD", "ka").await;
    db.reservation(2, event, "b", 2, "EXPIRED", "kb").await;
    db.reservation(3, event, "c", 1, "CONFIRMED", "kc").await;
    let mut held = ack(1, event, "a", 3, "ka");
    held.held = true;
    let mut lapsed = ack(2, event, "b", 2, "kb");
    lapsed.held = true;
    let mut expect = Expectations {
        events: vec![EventExpectation { id: event, capacity: 10, sold_out: false, one_order_per_user: false }],
        acknowledged: vec![held, lapsed, ack(3, event, "c", 1, "kc")],
        cancelled: Vec::new(),
    };
    assert_eq!(db.broken(&expect).await, Vec::<&str>::new());

    // A purchase acknowledged as bought may never lapse like a hold.
    expect.acknowledged[1].held = false;
    assert_eq!(db.broken(&expect).await, vec!["acknowledged_exist"]);
}
