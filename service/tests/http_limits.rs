//! The connection limits of the HTTP server, over real TCP with raw HTTP/1.1: the request head size limit (a JSON 431,
//! and hyper's own empty 431 beyond its hard cap), the header read timeout (a slowloris client and an idle keep-alive
//! connection are disconnected), graceful shutdown (a request in flight is finished, one that outlives the drain
//! deadline is cut off), and the lingering close (an answer given before the body was read reaches a client that
//! sends its whole body before it reads; a client that never stops sending is cut off).
//!
//! The service runs on the embedded SQLite with the in-process cache (no test services needed): these limits sit in
//! front of the storage.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Options, Storage, TestApp};
use reqwest::{Method, StatusCode};
use ticketing_service::config::ConnectionArgs;
use ticketing_service::http::server::{hard_header_cap, LINGER_BYTES};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The longest any single wait in these tests may take before the test fails; the limits under test are far shorter.
const PATIENCE: Duration = Duration::from_secs(15);

async fn spawn(connection: ConnectionArgs) -> TestApp {
    TestApp::spawn_with(Options { storage: Storage::Sqlite, redis_url: None, connection, ..Options::default() }).await
}

fn address(app: &TestApp) -> SocketAddr {
    app.base.trim_start_matches("http://").parse().expect("the base URL is http://address")
}

/// A response read off a raw connection.
#[derive(Debug)]
struct RawResponse {
    status_line: String,
    /// Header names in lower case.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Reads one response (head, then a `content-length` body) from `stream`.
async fn read_response(stream: &mut TcpStream) -> RawResponse {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 4096];
        let read =
            tokio::time::timeout(PATIENCE, stream.read(&mut chunk)).await.expect("a response in time").expect("read");
        assert!(read > 0, "the connection closed before a whole response head: {:?}", String::from_utf8_lossy(&buffer));
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).expect("a UTF-8 response head");
    let mut lines = head.split("\r\n").filter(|l| !l.is_empty());
    let status_line = lines.next().expect("a status line").to_owned();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("a header line");
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    let length: usize =
        headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().expect("a length"));
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let read =
            tokio::time::timeout(PATIENCE, stream.read(&mut chunk)).await.expect("a body in time").expect("read");
        assert!(read > 0, "the connection closed in the middle of a body");
        body.extend_from_slice(&chunk[..read]);
    }
    assert_eq!(body.len(), length, "more bytes than the response's content-length");
    RawResponse { status_line, headers, body }
}

/// Waits until the server closes `stream`, and returns what it sent before (a reset counts as closed).
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let outcome = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut received)).await;
    match outcome.expect("the server closes the connection in time") {
        Ok(_) => {}
        Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}"),
    }
    received
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(address(app)).await.expect("connect")
}

#[tokio::test]
async fn a_request_head_over_the_limit_is_answered_431_and_the_server_keeps_serving() {
    let limit = 4096;
    let app = spawn(ConnectionArgs { max_header_bytes: limit, ..ConnectionArgs::default() }).await;

    // A head under the limit is served.
    let mut stream = connect(&app).await;
    let padded = format!("GET /api/health HTTP/1.1\r\nhost: x\r\nx-pad: {}\r\n\r\n", "p".repeat(limit - 200));
    stream.write_all(padded.as_bytes()).await.unwrap();
    let served = read_response(&mut stream).await;
    assert_eq!(served.status_line, "HTTP/1.1 200 OK", "{served:?}");

    // A complete head over the limit: 431 with the JSON error envelope, and nothing else happens.
    let mut stream = connect(&app).await;
    let oversized = format!("GET /api/health HTTP/1.1\r\nhost: x\r\nx-pad: {}\r\n\r\n", "p".repeat(limit));
    stream.write_all(oversized.as_bytes()).await.unwrap();
    let refused = read_response(&mut stream).await;
    assert_eq!(refused.status_line, "HTTP/1.1 431 Request Header Fields Too Large", "{refused:?}");
    let body: serde_json::Value = serde_json::from_slice(&refused.body).expect("a JSON error body");
    assert_eq!(body["code"], "headers_too_large", "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(refused.header("x-content-type-options"), Some("nosniff"), "security headers too: {refused:?}");

    // A head beyond what hyper reads at all (four times the limit, at least 64 KiB) is refused by hyper itself, with
    // an empty body. Every byte up to its cap is read, so the answer is not lost to a reset.
    let cap = hard_header_cap(limit);
    let mut stream = connect(&app).await;
    let huge = format!("GET /api/health HTTP/1.1\r\nhost: x\r\nx-pad: {}", "p".repeat(cap));
    stream.write_all(&huge.as_bytes()[..cap]).await.unwrap();
    let refused = read_response(&mut stream).await;
    assert_eq!(refused.status_line, "HTTP/1.1 431 Request Header Fields Too Large", "{refused:?}");
    assert_eq!(refused.header("content-length"), Some("0"), "hyper answers with an empty body: {refused:?}");
    assert!(refused.body.is_empty());
    assert!(read_until_closed(&mut stream).await.is_empty(), "the connection is closed after hyper's 431");

    // More header fields than hyper takes (100), in a small head: 431 as well.
    let mut stream = connect(&app).await;
    let fields: String = (0..101).map(|i| format!("x-field-{i}: v\r\n")).collect();
    stream.write_all(format!("GET /api/health HTTP/1.1\r\nhost: x\r\n{fields}\r\n").as_bytes()).await.unwrap();
    let refused = read_response(&mut stream).await;
    assert_eq!(refused.status_line, "HTTP/1.1 431 Request Header Fields Too Large", "{refused:?}");
    assert!(read_until_closed(&mut stream).await.is_empty());

    let health = app.call(Method::GET, "/api/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK, "the server still serves: {:?}", health.body);
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_stalls_inside_its_request_head_is_disconnected() {
    let app = spawn(ConnectionArgs { header_read_timeout_ms: 300, ..ConnectionArgs::default() }).await;

    let mut slowloris = connect(&app).await;
    slowloris.write_all(b"GET /api/health HTTP/1.1\r\nhost: x\r\nx-slow: ").await.unwrap();
    assert!(read_until_closed(&mut slowloris).await.is_empty(), "the server closes the connection without an answer");

    // A keep-alive connection idle after its response is closed the same way.
    let mut idle = connect(&app).await;
    idle.write_all(b"GET /api/health HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let served = read_response(&mut idle).await;
    assert_eq!(served.status_line, "HTTP/1.1 200 OK", "{served:?}");
    assert!(read_until_closed(&mut idle).await.is_empty());

    let health = app.call(Method::GET, "/api/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK, "the server still serves: {:?}", health.body);
    app.stop().await;
}

/// Sends the head of a reservation with `Expect: 100-continue` and waits for the `100 Continue`, which hyper sends
/// only once the handler reads the body: from then on the request is in flight.
async fn start_reservation(app: &TestApp, body: &str) -> TcpStream {
    let mut stream = connect(app).await;
    let head = format!(
        "POST /api/reservations HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nexpect: 100-continue\r\n\r\n",
        TestApp::buyer("alice"),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let expected = b"HTTP/1.1 100 Continue\r\n\r\n";
    let mut received = [0u8; 25];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut received)).await.expect("100 Continue in time").unwrap();
    assert_eq!(String::from_utf8_lossy(&received), String::from_utf8_lossy(expected));
    stream
}

/// Polls until the server refuses new connections, which it does from the moment it starts draining.
async fn until_refused(address: SocketAddr) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while TcpStream::connect(address).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server still accepts connections after the shutdown signal"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn graceful_shutdown_finishes_a_request_in_flight() {
    let app = spawn(ConnectionArgs::default()).await;
    let event = app.create_event(10, serde_json::json!({})).await;
    let address = address(&app);
    let body = format!(r#"{{"eventId":{event},"userId":"alice","quantity":2}}"#);
    let mut stream = start_reservation(&app, &body).await;

    let stopped = tokio::spawn(app.stop());
    until_refused(address).await;
    stream.write_all(body.as_bytes()).await.unwrap();
    let answer = read_response(&mut stream).await;
    assert_eq!(answer.status_line, "HTTP/1.1 201 Created", "{answer:?}");
    let reservation: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(reservation["data"]["quantity"], 2, "{reservation}");
    assert!(read_until_closed(&mut stream).await.is_empty(), "the connection is closed after its last answer");
    tokio::time::timeout(PATIENCE, stopped).await.expect("the server stops once the request is answered").unwrap();
}

#[tokio::test]
async fn a_request_still_in_flight_at_the_drain_deadline_is_cut_off() {
    let app = spawn(ConnectionArgs { drain_timeout_ms: 300, ..ConnectionArgs::default() }).await;
    let event = app.create_event(10, serde_json::json!({})).await;
    let body = format!(r#"{{"eventId":{event},"userId":"alice","quantity":2}}"#);
    let mut stream = start_reservation(&app, &body).await;

    // The body never comes: the server gives up on the request at the drain deadline and stops.
    tokio::time::timeout(PATIENCE, app.stop()).await.expect("the server stops at the drain deadline");
    assert!(read_until_closed(&mut stream).await.is_empty(), "the cut-off request gets no answer");
}

/// The body size of a client that sends more than the service reads (a 5 MB upload, tried with Python's urllib).
const BIG_BODY: usize = 5 * 1024 * 1024;

/// Sends `head` and a body of [`BIG_BODY`] bytes, all of it, before reading anything; returns the answer.
async fn send_everything_then_read(app: &TestApp, head: &str) -> Result<RawResponse, std::io::Error> {
    let mut stream = connect(app).await;
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&vec![b'x'; BIG_BODY]).await?;
    Ok(read_response(&mut stream).await)
}

#[tokio::test]
async fn an_answer_before_the_body_reaches_a_client_that_sends_it_all_first() {
    let app = spawn(ConnectionArgs::default()).await;
    let buyer = TestApp::buyer("alice");
    let post = |headers: &str| {
        format!("POST /api/reservations HTTP/1.1\r\nhost: x\r\ncontent-length: {BIG_BODY}\r\n{headers}\r\n")
    };
    let json_buyer = format!("authorization: Bearer {buyer}\r\ncontent-type: application/json\r\n");
    let big_header = format!("{json_buyer}x-padding: {}\r\n", "p".repeat(20 * 1024));
    let huge_header = format!("{json_buyer}x-padding: {}\r\n", "p".repeat(hard_header_cap(16 * 1024) + 1024));
    let cases = [
        (post(&json_buyer), "413", Some("payload_too_large")),
        (
            post(&format!("authorization: Bearer {buyer}\r\ncontent-type: text/plain\r\n")),
            "415",
            Some("unsupported_media_type"),
        ),
        (post("content-type: application/json\r\n"), "401", Some("unauthenticated")),
        (post(&big_header), "431", Some("headers_too_large")),
        (post(&huge_header), "431", None),
    ];
    for (head, status, code) in &cases {
        for attempt in 0..5 {
            let answer = send_everything_then_read(&app, head).await.unwrap_or_else(|error| {
                panic!("{status}, attempt {attempt}: the client saw {error} instead of the answer")
            });
            assert!(answer.status_line.starts_with(&format!("HTTP/1.1 {status}")), "{answer:?}");
            if let Some(code) = code {
                let body: serde_json::Value = serde_json::from_slice(&answer.body).expect("a JSON error body");
                assert_eq!(body["code"], *code, "{body}");
            }
        }
    }
    let health = app.call(Method::GET, "/api/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK, "the server still serves: {:?}", health.body);
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_never_stops_sending_is_cut_off() {
    let app = spawn(ConnectionArgs::default()).await;
    let mut stream = connect(&app).await;
    let head = "POST /api/reservations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                content-length: 999999999999\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0usize;
    let cut_off = tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.write_all(&chunk).await {
                Ok(()) => sent += chunk.len(),
                Err(error) => return error,
            }
        }
    })
    .await
    .expect("the server cuts the sender off in time");
    assert!(
        matches!(cut_off.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset),
        "{cut_off}"
    );
    // What the kernels buffer on both sides comes on top of what the server discards.
    assert!(sent < LINGER_BYTES + 32 * 1024 * 1024, "{sent} bytes were taken before the cut");
    println!("a client sending forever was cut off after {sent} bytes");
    app.stop().await;
}
