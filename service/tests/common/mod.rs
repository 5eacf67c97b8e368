//! `TestApp`: the service in-process on port 0 with real storage, and a client that speaks its envelope.
#![allow(dead_code)]

pub mod fault_proxy;
pub mod logs;

use std::net::SocketAddr;
use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use ticketing_service::auth::{mint, Claims, Secret};
use ticketing_service::config::{AuthArgs, ConnectionArgs, LogFormat, ServeArgs, StorageArgs};
use ticketing_service::store::{Db, PoolSizes};

pub const SECRET: &str = "integration-test-secret-0123456789abcdef";
pub const ADMIN_TOKEN: &str = "operator-admin-token-for-tests";

/// Which database the app runs on.
#[derive(Clone, Copy, Debug)]
pub enum Storage {
    MariaDb,
    Sqlite,
}

/// A running service.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    /// A second handle on the app's database, for checking invariants.
    pub db: Db,
    /// The URL of the app's database.
    pub database_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _data_dir: Option<TempDir>,
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let path =
            std::env::temp_dir().join(format!("ticketing-test-{}-{:016x}", std::process::id(), rand::random::<u64>()));
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Options {
    pub storage: Storage,
    pub redis_url: Option<String>,
    pub event_scope: Option<i64>,
    pub queue_depth: usize,
    pub rate_limit_per_buyer: f64,
    pub rate_limit_per_address: f64,
    pub hint_ttl_ms: u64,
    pub connection: ConnectionArgs,
    /// Connections of the app's MySQL pool.
    pub db_max_connections: u32,
    /// The database the app uses (for instance through a [`fault_proxy::FaultProxy`]); a fresh one when `None`.
    pub database_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            storage: Storage::MariaDb,
            redis_url: Some(ticketing_testkit::redis::server_url()),
            event_scope: None,
            queue_depth: 20_000,
            rate_limit_per_buyer: 0.0,
            rate_limit_per_address: 0.0,
            hint_ttl_ms: 250,
            connection: ConnectionArgs::default(),
            db_max_connections: 16,
            database_url: None,
        }
    }
}

impl TestApp {
    /// The app on MariaDB with the shared test Redis.
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> Self {
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("warn,ticketing_service=info").try_init();
        let data_dir = TempDir::new();
        let database_url = match (options.database_url, options.storage) {
            (Some(url), _) => url,
            (None, Storage::MariaDb) => ticketing_testkit::mariadb::fresh_database().await,
            (None, Storage::Sqlite) => Db::embedded_url(&data_dir.0),
        };
        let args = ServeArgs {
            bind: "127.0.0.1:0".parse().unwrap(),
            storage: StorageArgs { database_url: Some(database_url.clone()), data_dir: data_dir.0.clone() },
            redis_url: options.redis_url,
            redis_key_prefix: format!("test-{:016x}:", rand::random::<u64>()),
            auth: AuthArgs {
                jwt_secret: Some(SECRET.into()),
                jwt_secret_file: None,
                jwt_public_key_file: None,
                jwt_issuer: None,
                jwt_audience: None,
                admin_token: Some(ADMIN_TOKEN.into()),
                admin_token_file: None,
                insecure_no_auth: false,
            },
            event_scope: options.event_scope,
            queue_depth: options.queue_depth,
            max_batch: 512,
            db_max_connections: options.db_max_connections,
            hint_ttl_ms: options.hint_ttl_ms,
            sweep_interval_ms: 100,
            rate_limit_per_buyer: options.rate_limit_per_buyer,
            rate_limit_per_address: options.rate_limit_per_address,
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            request_timeout_ms: 30_000,
            connection: options.connection,
            log_format: LogFormat::Text,
        };
        let state = ticketing_service::start(&args).await.expect("service starts");
        let listener = tokio::net::TcpListener::bind(args.bind).await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(ticketing_service::serve(listener, state, async move {
            let _ = rx.await;
        }));
        let db = Db::connect(&database_url, PoolSizes { max_connections: 4 }).await.unwrap();
        Self {
            base: format!("http://{address}"),
            http: reqwest::Client::builder().pool_max_idle_per_host(2000).build().unwrap(),
            db,
            database_url,
            shutdown: Some(tx),
            server: Some(server),
            _data_dir: Some(data_dir),
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }

    /// A buyer's JWT.
    pub fn buyer(user: &str) -> String {
        token(user, false, 600)
    }

    /// An admin JWT.
    pub fn admin() -> String {
        token("ops", true, 600)
    }

    /// Sends a request; returns the status, the JSON body and the headers.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Response::from(request.send().await.expect("request sent")).await
    }

    /// Creates an event as admin and returns its id.
    pub async fn create_event(&self, seats: i64, extra: Value) -> i64 {
        let mut body = json!({"eventName": "Test event", "totalSeats": seats, "eventDate": "2030-12-31T19:00:00"});
        if let (Value::Object(base), Value::Object(more)) = (&mut body, extra) {
            base.extend(more);
        }
        let response = self.call(Method::POST, "/api/events", Some(&Self::admin()), Some(body)).await;
        assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
        response.body["data"]["id"].as_i64().unwrap()
    }

    /// Reserves as `user` (with their own token).
    pub async fn reserve(&self, event_id: i64, user: &str, quantity: i64, key: Option<&str>) -> Response {
        let mut request = self
            .http
            .post(format!("{}/api/reservations", self.base))
            .bearer_auth(Self::buyer(user))
            .json(&json!({"eventId": event_id, "userId": user, "quantity": quantity}));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        Response::from(request.send().await.expect("request sent")).await
    }

    /// Checks invariants I1 and I3 from the database and returns (available, seats taken, active reservations), where
    /// active means held or confirmed.
    pub async fn check_conservation(&self, event_id: i64) -> (i64, i64, i64) {
        use sqlx::Row as _;
        let event = sqlx::query("SELECT total_seats, available_seats FROM events WHERE id = ?")
            .bind(event_id)
            .fetch_one(&self.db.reader)
            .await
            .unwrap();
        let total: i64 = event.get("total_seats");
        let available: i64 = event.get("available_seats");
        let held = sqlx::query(
            "SELECT CAST(COALESCE(SUM(quantity), 0) AS SIGNED) AS seats, COUNT(*) AS n FROM reservations \
             WHERE event_id = ? AND status IN ('HELD', 'CONFIRMED')",
        )
        .bind(event_id)
        .fetch_one(&self.db.reader)
        .await
        .unwrap();
        let (seats, rows): (i64, i64) = (held.get("seats"), held.get("n"));
        assert!(available >= 0, "I1: available went negative ({available})");
        assert_eq!(available + seats, total, "I3: available {available} + active {seats} != capacity {total}");
        (available, seats, rows)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn token(user: &str, admin: bool, ttl: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    mint(&Secret::new(SECRET), &Claims { sub: user.into(), exp: now + ttl, iat: now, admin, iss: None, aud: None })
        .unwrap()
}

/// A response, read whole.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Response {
    async fn from(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON ({status}): {text:?}"));
        Self { status, body, headers }
    }

    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}
