//! The abuse budget: what 1,000 hostile requests to each surface that needs no credential cost a fresh replica in
//! memory (resident set before and after) and CPU, and how many metric series they add. A surface whose requests
//! add series without bound (a metric label taken from client input) breaks the campaign.
//!
//! Requests are written as raw HTTP/1.1 bytes, one connection each, so nothing in a client library tidies them up.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::service_proc::cpu_seconds;

use super::cluster::Cluster;

/// Hostile requests per surface.
const REQUESTS: usize = 1_000;
/// Connections sending them at once.
const SENDERS: usize = 8;
/// Metric series one surface may add: a fixed label set grows by a handful, client input by one per request.
const SERIES_BUDGET: usize = 50;
/// How long one request may take.
const LIMIT: Duration = Duration::from_secs(10);

/// What one surface cost.
#[derive(Debug, Clone, Serialize)]
pub struct SurfaceCost {
    pub surface: String,
    pub requests: usize,
    /// Answers by status (`0`: the connection closed without one).
    pub statuses: BTreeMap<u16, u64>,
    pub rss_before_mb: f64,
    pub rss_after_mb: f64,
    pub cpu_ms: f64,
    /// Series of `/metrics` added by these requests.
    pub metric_series_added: i64,
    pub seconds: f64,
}

impl SurfaceCost {
    /// Whether the metric series stayed bounded.
    pub fn within_budget(&self) -> bool {
        self.metric_series_added <= SERIES_BUDGET as i64
    }
}

/// One hostile request of a surface, built fresh each time.
type Build = fn(&mut rand::rngs::ThreadRng) -> Vec<u8>;

fn surfaces() -> Vec<(&'static str, Build)> {
    vec![
        ("8 KB paths", |rng| request("GET", &format!("/api/events/{}", token(rng, 8192)), &[])),
        ("unknown paths", |rng| request("GET", &format!("/{}", token(rng, 24)), &[])),
        ("90 headers of 100 B", |rng| {
            let headers: Vec<String> = (0..90).map(|i| format!("x-junk-{i}: {}", token(rng, 100))).collect();
            request("GET", "/livez", &headers)
        }),
        ("one 15 KB header", |rng| request("GET", "/livez", &[format!("x-junk: {}", token(rng, 15 * 1024))])),
        ("64 KB of headers", |rng| {
            let headers: Vec<String> = (0..64).map(|i| format!("x-junk-{i}: {}", token(rng, 1000))).collect();
            request("GET", "/livez", &headers)
        }),
        ("/livez", |_| request("GET", "/livez", &[])),
        ("/readyz", |_| request("GET", "/readyz", &[])),
        ("/api/health", |_| request("GET", "/api/health", &[])),
        ("/metrics without a token", |_| request("GET", "/metrics", &[])),
        ("/api/openapi.json", |_| request("GET", "/api/openapi.json", &[])),
        ("bad bearer tokens", |rng| {
            let token = match rng.gen_range(0..3) {
                0 => token(rng, 300),
                // An unsigned token (`alg: none`) for an admin.
                1 => "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlfQ.".to_owned(),
                _ => format!("{}.{}.{}", token(rng, 36), token(rng, 80), token(rng, 43)),
            };
            request("GET", "/api/reservations/user/someone", &[format!("authorization: Bearer {token}")])
        }),
        // Last, since a service that takes the method as a metric label comes out of it with a series per request,
        // which would make every later surface (the /metrics scrapes above all) pay for them.
        ("random 2 KB methods on /livez", |rng| request(&token(rng, 2048).to_uppercase(), "/livez", &[])),
    ]
}

fn token(rng: &mut rand::rngs::ThreadRng, length: usize) -> String {
    Alphanumeric.sample_string(rng, length)
}

fn request(method: &str, path: &str, headers: &[String]) -> Vec<u8> {
    let mut text = format!("{method} {path} HTTP/1.1\r\nhost: faults\r\nconnection: close\r\n");
    for header in headers {
        text.push_str(header);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// Measures every surface on replica 0 of a fresh case.
pub async fn measure(cluster: &mut Cluster) -> anyhow::Result<Vec<SurfaceCost>> {
    cluster.begin_case("abuse", 1).await?;
    let pid = cluster.replica_pid(0).ok_or_else(|| anyhow::anyhow!("the abuse replica is not running"))?;
    let address = cluster.replica_address(0);
    let address = address.as_str();
    let mut costs = Vec::new();
    for (surface, build) in surfaces() {
        let series_before = series(cluster).await?;
        let (rss_before, cpu_before) = (rss_mb(pid), cpu_seconds(pid).unwrap_or(0.0));
        let started = Instant::now();
        let senders = (0..SENDERS).map(|sender| async move {
            let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
            for _ in (sender..REQUESTS).step_by(SENDERS) {
                let bytes = build(&mut rand::thread_rng());
                *statuses.entry(send(address, &bytes).await).or_default() += 1;
            }
            statuses
        });
        let mut statuses = BTreeMap::new();
        for part in futures::future::join_all(senders).await {
            for (status, count) in part {
                *statuses.entry(status).or_default() += count;
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let cost = SurfaceCost {
            surface: surface.to_owned(),
            requests: REQUESTS,
            statuses,
            rss_before_mb: rss_before,
            rss_after_mb: rss_mb(pid),
            cpu_ms: (cpu_seconds(pid).unwrap_or(0.0) - cpu_before) * 1000.0,
            metric_series_added: series(cluster).await? as i64 - series_before as i64,
            seconds,
        };
        eprintln!(
            "faults: abuse {surface}: RSS {:.1} -> {:.1} MB, CPU {:.0} ms, {} series added",
            cost.rss_before_mb, cost.rss_after_mb, cost.cpu_ms, cost.metric_series_added
        );
        costs.push(cost);
    }
    cluster.stop_replicas();
    Ok(costs)
}

/// Sends one raw request on a connection of its own; the answer's status, 0 if none came.
async fn send(address: &str, bytes: &[u8]) -> u16 {
    let exchange = async {
        let mut stream = TcpStream::connect(address).await.ok()?;
        // The server may answer and close before it has read everything (an oversized head): that is its right.
        let _ = stream.write_all(bytes).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        let head = String::from_utf8_lossy(&answer[..answer.len().min(64)]).into_owned();
        head.split_whitespace().nth(1)?.parse().ok()
    };
    tokio::time::timeout(LIMIT, exchange).await.ok().flatten().unwrap_or(0)
}

/// The metric series replica 0 exposes.
async fn series(cluster: &Cluster) -> anyhow::Result<usize> {
    let text = cluster.metrics(0).await?;
    Ok(text.lines().filter(|line| !line.is_empty() && !line.starts_with('#')).count())
}

/// The resident set of `pid` in MiB (`VmRSS`).
fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
