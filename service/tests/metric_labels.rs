//! No metric label comes from unbounded client input: a flood of requests with invented HTTP methods adds no time
//! series, so neither `/metrics` nor the process grows with it. Measured on a real `ticketing-service` process (the
//! embedded SQLite, no Redis), whose resident memory is read from `/proc`.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::TempDir;

const REQUESTS: usize = 2_000;
const METHOD_BYTES: usize = 2_048;

/// The service binary, killed when dropped.
struct Service {
    child: Child,
    address: String,
}

impl Service {
    fn start(data_dir: &TempDir) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ticketing-service"))
            .env_clear()
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the ticketing-service binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let line = lines.next().expect("the service prints where it listens before exiting").expect("stdout");
            if let Some(url) = line.strip_prefix("ticketing-service listening on http://") {
                break url.to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, address }
    }

    /// Sends one request with `method` to `path` on a connection of its own and returns the whole answer.
    fn request(&self, method: &str, path: &str) -> Vec<u8> {
        let mut stream = TcpStream::connect(&self.address).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(stream, "{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("an answer");
        answer
    }

    /// The resident memory of the process, in bytes.
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("/proc status");
        let kb: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc status");
        kb * 1024
    }

    /// The body of `/metrics`.
    fn metrics(&self) -> String {
        let answer = String::from_utf8(self.request("GET", "/metrics")).expect("UTF-8");
        answer.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn random_method(rng: &mut impl rand::Rng) -> String {
    (0..METHOD_BYTES).map(|_| char::from(rng.gen_range(b'A'..=b'Z'))).collect()
}

/// The distinct values of label `name` on the lines of metric `metric`.
fn label_values(metrics: &str, metric: &str, name: &str) -> std::collections::BTreeSet<String> {
    let prefix = format!("{name}=\"");
    metrics
        .lines()
        .filter(|line| line.starts_with(metric))
        .filter_map(|line| {
            line.split_once(&prefix).and_then(|(_, rest)| rest.split_once('"')).map(|(v, _)| v.to_owned())
        })
        .collect()
}

#[test]
fn invented_methods_add_no_series_and_do_not_grow_the_process() {
    let data_dir = TempDir::new();
    let service = Service::start(&data_dir);
    // Warm up every path the flood takes, so the baseline includes the allocator's and the server's working set.
    for _ in 0..200 {
        assert!(service.request("GET", "/livez").starts_with(b"HTTP/1.1 200"));
        service.request("BREW", "/livez");
    }
    let scrape_before = service.metrics();
    let rss_before = service.rss();

    let mut rng = rand::thread_rng();
    for _ in 0..REQUESTS {
        let answer = service.request(&random_method(&mut rng), "/livez");
        assert!(answer.starts_with(b"HTTP/1.1 405"), "{:?}", String::from_utf8_lossy(&answer[..answer.len().min(80)]));
    }
    let scrape = service.metrics();
    let rss_after = service.rss();

    let methods = label_values(&scrape, "http_request_duration_seconds", "method");
    let series = scrape.lines().filter(|line| line.starts_with("http_request_duration_seconds_count")).count();
    let growth = rss_after.saturating_sub(rss_before);
    println!(
        "{REQUESTS} requests with random {METHOD_BYTES}-byte methods: /metrics {} -> {} bytes, \
         {series} request-duration series, {} method labels; RSS {} -> {} KiB (+{} KiB)",
        scrape_before.len(),
        scrape.len(),
        methods.len(),
        rss_before / 1024,
        rss_after / 1024,
        growth / 1024
    );
    assert!(methods.contains("other"), "invented methods are counted as `other`");
    assert!(methods.iter().all(|m| m.len() <= 7), "every method label is a known method or `other`");
    assert!(series <= 20, "{series} request-duration series after the flood");
    assert!(scrape.len() < 256 * 1024, "/metrics is {} bytes after the flood", scrape.len());
    assert!(growth < 24 * 1024 * 1024, "the process grew by {} KiB", growth / 1024);
}
