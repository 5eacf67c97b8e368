//! An answer to a write that is decided on rows the database already holds (a replay, a refusal, a repeated confirm
//! or cancel, a repeated event creation) is sent only after a commit whose log flush covers those rows (I4, I5).
//!
//! InnoDB makes a commit visible, and releases its row locks, before it flushes the log. To make that window wide and
//! deterministic, the test sets `innodb_flush_log_at_trx_commit` to 0 (commits are not flushed; the background flush
//! is kept away by `innodb_flush_log_at_timeout` at its maximum) while it makes the first request, so its commit is
//! visible but not durable, which it checks from the server's counters (`Innodb_lsn_flushed` below
//! `Innodb_lsn_current`). It then sets flushing at commit back on and sends the request to answer. When the answer
//! arrives, `Innodb_lsn_flushed` must have reached the log position of the first commit: the answer waited for a flush
//! that covers it. The settings are global to the server, so this file holds a single test (the test binaries of a
//! package run one after another).

mod common;

use std::future::Future;

use common::{Options, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::mysql::MySqlConnection;
use sqlx::{Connection as _, Row as _};

/// The test server's global log settings and counters.
struct Server {
    admin: MySqlConnection,
}

impl Server {
    async fn connect() -> Self {
        let url = ticketing_testkit::mariadb::server_url();
        let mut server = Self { admin: MySqlConnection::connect(&url).await.expect("connect to the test MariaDB") };
        sqlx::query("SET GLOBAL innodb_flush_log_at_timeout = 2700").execute(&mut server.admin).await.unwrap();
        server
    }

    async fn flush_at_commit(&mut self, on: bool) {
        let sql = format!("SET GLOBAL innodb_flush_log_at_trx_commit = {}", u8::from(on));
        sqlx::query(&sql).execute(&mut self.admin).await.unwrap();
    }

    /// (`Innodb_lsn_current`, `Innodb_lsn_flushed`).
    async fn lsn(&mut self) -> (u64, u64) {
        let rows = sqlx::query("SHOW GLOBAL STATUS LIKE 'Innodb_lsn_%'").fetch_all(&mut self.admin).await.unwrap();
        let value = |name: &str| -> u64 {
            let row = rows.iter().find(|r| r.get::<String, _>(0) == name).unwrap_or_else(|| panic!("no {name}"));
            row.get::<String, _>(1).parse().unwrap()
        };
        (value("Innodb_lsn_current"), value("Innodb_lsn_flushed"))
    }

    /// Runs `arrange` with commits left unflushed and checks that the log it wrote is not flushed. Returns what
    /// `arrange` returned and the log position it reached; flushing at commit is on again afterwards.
    async fn unflushed<T>(&mut self, what: &str, arrange: impl Future<Output = T>) -> (T, u64) {
        self.flush_at_commit(false).await;
        let output = arrange.await;
        let (current, flushed) = self.lsn().await;
        self.flush_at_commit(true).await;
        assert!(flushed < current, "{what}: the log was flushed behind the test's back, so the test proves nothing");
        (output, current)
    }

    /// Asserts that the log is flushed up to `written`.
    async fn assert_flushed(&mut self, written: u64, what: &str) {
        let (_, flushed) = self.lsn().await;
        assert!(flushed >= written, "{what} was answered before the log was flushed to {written} (flushed: {flushed})");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Put the server back as the other tests expect it, even when an assertion failed.
        let url = ticketing_testkit::mariadb::server_url();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                if let Ok(mut admin) = MySqlConnection::connect(&url).await {
                    let _ = sqlx::query("SET GLOBAL innodb_flush_log_at_trx_commit = 1").execute(&mut admin).await;
                    let _ = sqlx::query("SET GLOBAL innodb_flush_log_at_timeout = 1").execute(&mut admin).await;
                }
            });
        })
        .join();
    }
}

/// The value of counter `name` on `/metrics` (0 when absent).
async fn counter(app: &TestApp, name: &str) -> f64 {
    let text = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|line| line.starts_with(name))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Sends `body` to `path` as admin with an `Idempotency-Key`.
async fn admin_call(app: &TestApp, method: Method, path: &str, key: &str, body: serde_json::Value) -> StatusCode {
    let request = app.http.request(method, format!("{}{path}", app.base)).bearer_auth(TestApp::admin());
    request.header("Idempotency-Key", key).json(&body).send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_decided_on_stored_rows_waits_for_their_flush() {
    let mut server = Server::connect().await;
    // Without the hint, every reservation is decided under the event's row lock.
    let app = TestApp::spawn_with(Options { hint_ttl_ms: 0, ..Options::default() }).await;
    let event = app.create_event(1_000, json!({"holdSeconds": 600})).await;
    let replayed = |response: &common::Response| response.headers.get("idempotent-replayed").is_some();

    let (_, written) = server
        .unflushed("a booking", async {
            assert_eq!(app.reserve(event, "replayer", 1, Some("k")).await.status, StatusCode::CREATED);
        })
        .await;
    let replay = app.reserve(event, "replayer", 1, Some("k")).await;
    assert!(replay.status == StatusCode::CREATED && replayed(&replay), "{replay:?}");
    server.assert_flushed(written, "a replay decided under the row lock").await;

    let last_seat = app.create_event(1, json!({})).await;
    let (_, written) = server
        .unflushed("the last seat", async {
            assert_eq!(app.reserve(last_seat, "first", 1, None).await.status, StatusCode::CREATED);
        })
        .await;
    let refused = app.reserve(last_seat, "second", 1, None).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::CONFLICT, "sold_out"));
    server.assert_flushed(written, "a sold_out decided on the booking of the last seat").await;

    let buyer = TestApp::buyer("holder");
    let (confirm, cancel) = (app.reserve(event, "holder", 1, None).await, app.reserve(event, "holder", 1, None).await);
    let confirm = format!("/api/reservations/{}/confirm", confirm.body["data"]["id"]);
    let cancel = format!("/api/reservations/{}", cancel.body["data"]["id"]);
    let (_, written) = server
        .unflushed("a confirm", async {
            assert_eq!(app.call(Method::POST, &confirm, Some(&buyer), None).await.status, StatusCode::OK);
        })
        .await;
    assert_eq!(app.call(Method::POST, &confirm, Some(&buyer), None).await.status, StatusCode::OK);
    server.assert_flushed(written, "a repeated confirm").await;
    let (_, written) = server
        .unflushed("a cancel", async {
            assert_eq!(app.call(Method::DELETE, &cancel, Some(&buyer), None).await.status, StatusCode::OK);
        })
        .await;
    let again = app.call(Method::DELETE, &cancel, Some(&buyer), None).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "already_cancelled"));
    server.assert_flushed(written, "a repeated cancel").await;

    let draft = json!({"eventName": "Replayed", "totalSeats": 5, "eventDate": "2030-12-31T19:00:00"});
    let (_, written) = server
        .unflushed("an event", async {
            let created = admin_call(&app, Method::POST, "/api/events", "event-key", draft.clone()).await;
            assert_eq!(created, StatusCode::CREATED);
        })
        .await;
    assert_eq!(admin_call(&app, Method::POST, "/api/events", "event-key", draft).await, StatusCode::OK);
    server.assert_flushed(written, "a repeated event creation").await;
    let close = format!("/api/events/{event}/close");
    let (_, written) = server
        .unflushed("a close", async {
            assert_eq!(app.call(Method::POST, &close, Some(&TestApp::admin()), None).await.status, StatusCode::OK);
        })
        .await;
    assert_eq!(app.call(Method::POST, &close, Some(&TestApp::admin()), None).await.status, StatusCode::OK);
    server.assert_flushed(written, "a repeated close").await;

    // With the hint saying the event is sold out, a keyed request is decided on a snapshot, without the row lock.
    let hinted = TestApp::spawn_with(Options { hint_ttl_ms: 600_000, ..Options::default() }).await;
    let one_seat = hinted.create_event(1, json!({})).await;
    let (_, written) = server
        .unflushed("the only seat", async {
            assert_eq!(hinted.reserve(one_seat, "only", 1, Some("only-key")).await.status, StatusCode::CREATED);
        })
        .await;
    let snapshots = counter(&hinted, "ticketing_snapshot_batches_total").await;
    let replay = hinted.reserve(one_seat, "only", 1, Some("only-key")).await;
    assert!(replay.status == StatusCode::CREATED && replayed(&replay), "{replay:?}");
    assert!(counter(&hinted, "ticketing_snapshot_batches_total").await > snapshots, "decided on a snapshot");
    server.assert_flushed(written, "a replay decided on a snapshot").await;
}
