//! A mass lapse of holds: the sweeper gives the seats of many lapsed holds back in a few set-based statements per
//! event, in chunks that each hold the event's row lock briefly, exactly once, and only under the newest fencing
//! token; each expired hold records the token that expired it (`expired_fence`).

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use common::TestApp;
use serde_json::json;
use sqlx::{Executor as _, Row as _};
use ticketing_service::domain::{now_millis, EventDraft, Millis};
use ticketing_service::lease::next_fence;
use ticketing_service::store::holds::CHUNK;
use ticketing_service::store::{events, Db, PoolSizes};
use ticketing_service::sweeper::{sweep_once, Sweep, SweepEnd};

const LEASE: &str = "hold-sweeper";
/// Longer than any test pass takes, so a pass ends only when it is done or fenced.
const NO_BUDGET: Duration = Duration::from_secs(600);

/// A fresh database with no service running on it (so no other sweeper competes for the fence).
async fn store() -> Db {
    Db::connect(&ticketing_testkit::mariadb::fresh_database().await, PoolSizes { max_connections: 4 }).await.unwrap()
}

async fn event(db: &Db, seats: i64) -> i64 {
    let draft = EventDraft {
        name: "Lapse".into(),
        total_seats: seats,
        event_date: now_millis() + 86_400_000,
        sales_open_at: None,
        sales_close_at: None,
        per_user_limit: 8,
        max_per_order: 4,
        hold_seconds: 600,
    };
    events::create(db, &draft, None, now_millis()).await.unwrap().0.id
}

/// Stores `count` reservations of 1 or 2 seats in `status`, held until `expires_at`, taking their seats in the same
/// transaction (as the writer would). Returns the seats they take.
async fn add(db: &Db, event: i64, count: usize, status: &str, expires_at: Option<Millis>) -> i64 {
    static NEXT_ID: AtomicI64 = AtomicI64::new(1_000_000_000);
    let mut tx = db.writer.begin().await.unwrap();
    let mut seats = 0;
    let expires = expires_at.map_or("NULL".to_owned(), |at| at.to_string());
    for chunk in (0..count).collect::<Vec<_>>().chunks(1_000) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|n| {
                let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                let quantity = 1 + i64::try_from(n % 2).unwrap();
                seats += quantity;
                format!("({id}, {event}, 'u{id}', {quantity}, '{status}', NULL, 0, 0, {expires})")
            })
            .collect();
        let sql = format!(
            "INSERT INTO reservations (id, event_id, user_id, quantity, status, idempotency_key, created_at, \
             updated_at, expires_at) VALUES {}",
            rows.join(", ")
        );
        tx.execute(sql.as_str()).await.unwrap();
    }
    sqlx::query("UPDATE events SET available_seats = available_seats - ? WHERE id = ?")
        .bind(seats)
        .bind(event)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    seats
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(&db.reader).await.unwrap().get(0)
}

/// Available seats plus the seats of active reservations equals the capacity (I3); returns the available seats.
async fn conserved(db: &Db, event: i64) -> i64 {
    let row = sqlx::query(
        "SELECT total_seats, available_seats, (SELECT CAST(COALESCE(SUM(quantity), 0) AS SIGNED) FROM reservations \
         WHERE event_id = events.id AND status IN ('HELD', 'CONFIRMED')) AS active FROM events WHERE id = ?",
    )
    .bind(event)
    .fetch_one(&db.reader)
    .await
    .unwrap();
    let (total, available, active): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(available + active, total, "I3: available {available} + active {active} != capacity {total}");
    available
}

#[tokio::test]
async fn many_lapsed_holds_come_back_once_and_nothing_else_moves() {
    let db = store().await;
    let now = now_millis();
    let (big, small) = (event(&db, 100_000).await, event(&db, 100).await);
    let lapsed_big = add(&db, big, 2 * CHUNK + 7, "HELD", Some(now - 1)).await;
    let live = add(&db, big, 50, "HELD", Some(now + 60_000)).await;
    let confirmed = add(&db, big, 50, "CONFIRMED", None).await;
    let lapsed_small = add(&db, small, 10, "HELD", Some(now)).await;
    let fence = next_fence(&db, LEASE).await.unwrap();

    let sweep = sweep_once(&db, LEASE, fence, now, NO_BUDGET).await;
    assert!(matches!(sweep.end, SweepEnd::Done), "{:?}", sweep.end);
    assert_eq!(sweep.expired, vec![(big, lapsed_big), (small, lapsed_small)]);
    assert_eq!(conserved(&db, big).await, 100_000 - live - confirmed);
    assert_eq!(conserved(&db, small).await, 100);
    let expired = format!("SELECT COUNT(*) FROM reservations WHERE status = 'EXPIRED' AND expired_fence = {fence}");
    assert_eq!(count(&db, &expired).await, i64::try_from(2 * CHUNK + 17).unwrap(), "each lapsed hold, by this fence");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM reservations WHERE status = 'HELD'").await, 50, "live holds stay");

    let again = sweep_once(&db, LEASE, fence, now + 1, NO_BUDGET).await;
    assert_eq!((again.expired, matches!(again.end, SweepEnd::Done)), (vec![], true), "seats come back once");
    assert_eq!(conserved(&db, big).await, 100_000 - live - confirmed);
}

#[tokio::test]
async fn an_overtaken_fence_writes_nothing_however_many_holds_lapsed() {
    let db = store().await;
    let now = now_millis();
    let event = event(&db, 100_000).await;
    let lapsed = add(&db, event, 3 * CHUNK, "HELD", Some(now - 1)).await;
    let old = next_fence(&db, LEASE).await.unwrap();
    let new = next_fence(&db, LEASE).await.unwrap();

    let fenced = sweep_once(&db, LEASE, old, now, NO_BUDGET).await;
    assert!(matches!(fenced.end, SweepEnd::Fenced) && fenced.expired.is_empty(), "{fenced:?}");
    assert_eq!(conserved(&db, event).await, 100_000 - lapsed, "the overtaken sweeper gave nothing back");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM reservations WHERE expired_fence IS NOT NULL").await, 0);

    let sweep = sweep_once(&db, LEASE, new, now, NO_BUDGET).await;
    assert_eq!(sweep.expired, vec![(event, lapsed)]);
    let by_new = format!("SELECT COUNT(*) FROM reservations WHERE status = 'EXPIRED' AND expired_fence = {new}");
    assert_eq!(count(&db, &by_new).await, i64::try_from(3 * CHUNK).unwrap());
}

/// The transactions of this database that wait for a row lock.
async fn lock_waits(db: &Db, database: &str) -> i64 {
    let sql = format!(
        "SELECT COUNT(*) FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p \
         ON p.ID = t.trx_mysql_thread_id WHERE t.trx_state = 'LOCK WAIT' AND p.DB = '{database}'"
    );
    count(db, &sql).await
}

/// Polls `condition` until it holds. InnoDB refreshes `information_schema.INNODB_TRX` only when nobody read it for
/// 100 ms, so it is read less often than that.
async fn wait_until(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition().await {
        assert!(Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweeper_overtaken_mid_pass_stops_before_its_next_chunk() {
    let url = ticketing_testkit::mariadb::fresh_database().await;
    let database = url.rsplit('/').next().unwrap().to_owned();
    let db = Db::connect(&url, PoolSizes { max_connections: 8 }).await.unwrap();
    let now = now_millis();
    let (first, second) = (event(&db, 100).await, event(&db, 100_000).await);
    let first_seats = add(&db, first, 10, "HELD", Some(now - 1)).await;
    add(&db, second, 2 * CHUNK, "HELD", Some(now - 1)).await;
    let old = next_fence(&db, LEASE).await.unwrap();

    // The second event's row is locked, so the old sweeper stops there, inside a chunk, holding the fence row.
    let mut blocker = db.writer.begin().await.unwrap();
    sqlx::query("SELECT id FROM events WHERE id = ? FOR UPDATE").bind(second).fetch_one(&mut *blocker).await.unwrap();
    let paused = tokio::spawn({
        let db = db.clone();
        async move { sweep_once(&db, LEASE, old, now, NO_BUDGET).await }
    });
    wait_until("the old sweeper waiting on the second event", async || lock_waits(&db, &database).await == 1).await;
    // A new holder takes a token: it waits for the fence row until the old sweeper's chunk ends.
    let taking = tokio::spawn({
        let db = db.clone();
        async move { next_fence(&db, LEASE).await.unwrap() }
    });
    wait_until("the new holder waiting for the fence", async || lock_waits(&db, &database).await == 2).await;
    blocker.commit().await.unwrap();

    let sweep: Sweep = paused.await.unwrap();
    let new = taking.await.unwrap();
    assert!(matches!(sweep.end, SweepEnd::Fenced), "{:?}", sweep.end);
    let chunk_seats = sweep.expired.iter().find(|(e, _)| *e == second).map_or(0, |(_, s)| *s);
    assert_eq!(sweep.expired, vec![(first, first_seats), (second, chunk_seats)]);
    let by_old = format!("SELECT COUNT(*) FROM reservations WHERE expired_fence = {old}");
    assert_eq!(count(&db, &by_old).await, i64::try_from(10 + CHUNK).unwrap(), "the chunk begun under the old token");
    let held = format!("SELECT COUNT(*) FROM reservations WHERE event_id = {second} AND status = 'HELD'");
    assert_eq!(count(&db, &held).await, i64::try_from(CHUNK).unwrap(), "nothing after the new token was taken");

    let rest = sweep_once(&db, LEASE, new, now, NO_BUDGET).await;
    assert!(matches!(rest.end, SweepEnd::Done));
    assert_eq!(count(&db, &held).await, 0);
    assert_eq!(conserved(&db, second).await, 100_000);
}

/// The number of lapsed holds of the measured mass lapse (`TICKETING_LAPSE_HOLDS`, 20,000 by default).
fn lapse_size() -> usize {
    std::env::var("TICKETING_LAPSE_HOLDS").map_or(20_000, |n| n.parse().expect("TICKETING_LAPSE_HOLDS is a number"))
}

/// Through the service: a mass lapse comes back, exactly once, while a buyer keeps booking the same event. Prints the
/// time the seats took to come back and the slowest booking meanwhile (a benchmark figure, not an assertion).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mass_lapse_comes_back_through_the_service_while_buyers_book() {
    let app = TestApp::spawn().await;
    let holds = lapse_size();
    let event = app.create_event(1_000_000, json!({"holdSeconds": 600})).await;
    let seats = add(&app.db, event, holds, "HELD", Some(now_millis() - 1)).await;
    let started = Instant::now();
    let (mut slowest, mut booked) = (Duration::ZERO, 0);
    let lapsed = "SELECT COUNT(*) FROM reservations WHERE status = 'HELD' AND expires_at < ";
    let deadline = started + Duration::from_secs(600);
    while count(&app.db, &format!("{lapsed}{}", now_millis())).await > 0 {
        assert!(Instant::now() < deadline, "the lapsed holds never came back");
        let asked = Instant::now();
        let response = app.reserve(event, &format!("buyer-{booked}"), 1, None).await;
        assert_eq!(response.status, reqwest::StatusCode::CREATED, "{response:?}");
        slowest = slowest.max(asked.elapsed());
        booked += 1;
    }
    let took = started.elapsed();
    eprintln!("{holds} lapsed holds ({seats} seats) came back in {took:?}; slowest of {booked} bookings: {slowest:?}");

    // Under load the sweeper may lose its lease between passes and take a new token, so a hold may carry any token
    // the sweeper held, never one above the newest.
    let fence = count(&app.db, "SELECT fence FROM lease_fences WHERE name = 'hold-sweeper'").await;
    let stamped =
        format!("SELECT COUNT(*) FROM reservations WHERE status = 'EXPIRED' AND expired_fence BETWEEN 1 AND {fence}");
    assert_eq!(
        count(&app.db, &stamped).await,
        i64::try_from(holds).unwrap(),
        "every hold expired by a sweeper's token"
    );
    let (available, _, _) = app.check_conservation(event).await;
    assert_eq!(available, 1_000_000 - booked);
}
