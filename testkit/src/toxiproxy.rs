//! A toxiproxy-server of a test's own, driven through its HTTP API: TCP proxies in front of real servers, and
//! toxics on them (latency, bandwidth limits, connections reset or cut after some bytes, data sliced into pieces).
//!
//! The binary comes from the cache that `scripts/toxiproxy.sh build` fills (or from `TOXIPROXY_SERVER`, a path to
//! `toxiproxy-server`); without it [`Toxiproxy::start`] fails and says so.
//!
//! ```text
//!   client ──► 127.0.0.1:<proxy port> ══ toxiproxy ══► upstream (MariaDB, Redis, ...)
//!                 upstream toxics act on what the client sends, downstream toxics on what the server answers
//! ```
//!
//! A toxic added to a proxy acts on its open connections at once as well as on new ones. `reset_peer` closes a
//! connection with a TCP reset at the first data that reaches it in its direction (after `timeout` ms), dropping
//! that data: on the downstream side it cuts a connection right after the server answered, whatever the client had
//! already sent (a `COMMIT`, say) having reached the server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::redis::free_port;

/// How long the server may take to answer its API after a start.
const START_LIMIT: Duration = Duration::from_secs(30);
/// How long one API call may take.
const CALL_LIMIT: Duration = Duration::from_secs(10);

/// The direction a toxic acts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// What the client sends to the server.
    Upstream,
    /// What the server answers.
    Downstream,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Upstream => "upstream",
            Stream::Downstream => "downstream",
        }
    }
}

/// A toxic and its attributes (see toxiproxy's README for their exact behaviour).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Toxic {
    /// Delays each piece of data by `latency_ms` plus or minus up to `jitter_ms`.
    Latency { latency_ms: u64, jitter_ms: u64 },
    /// Passes at most `rate_kb` kilobytes per second.
    Bandwidth { rate_kb: u64 },
    /// Stops all data and closes the connection after `timeout_ms` (0: holds the data forever).
    Timeout { timeout_ms: u64 },
    /// Resets the connection (TCP RST) at the first data after `timeout_ms`, dropping that data.
    ResetPeer { timeout_ms: u64 },
    /// Closes the connection once `bytes` have passed.
    LimitData { bytes: u64 },
    /// Cuts data into pieces of about `average_size` bytes (± `size_variation`) sent `delay_us` apart.
    Slicer { average_size: u64, size_variation: u64, delay_us: u64 },
}

impl Toxic {
    fn kind(&self) -> &'static str {
        match self {
            Toxic::Latency { .. } => "latency",
            Toxic::Bandwidth { .. } => "bandwidth",
            Toxic::Timeout { .. } => "timeout",
            Toxic::ResetPeer { .. } => "reset_peer",
            Toxic::LimitData { .. } => "limit_data",
            Toxic::Slicer { .. } => "slicer",
        }
    }

    fn attributes(&self) -> Value {
        match *self {
            Toxic::Latency { latency_ms, jitter_ms } => json!({"latency": latency_ms, "jitter": jitter_ms}),
            Toxic::Bandwidth { rate_kb } => json!({"rate": rate_kb}),
            Toxic::Timeout { timeout_ms } | Toxic::ResetPeer { timeout_ms } => json!({"timeout": timeout_ms}),
            Toxic::LimitData { bytes } => json!({"bytes": bytes}),
            Toxic::Slicer { average_size, size_variation, delay_us } => {
                json!({"average_size": average_size, "size_variation": size_variation, "delay": delay_us})
            }
        }
    }
}

/// A running toxiproxy-server; killed when dropped.
pub struct Toxiproxy {
    child: Child,
    api: SocketAddr,
}

impl Toxiproxy {
    /// Starts toxiproxy-server on a free loopback port, its log in `log` (or nowhere), and waits for its API.
    pub async fn start(log: Option<&Path>) -> Result<Self> {
        let binary = binary()?;
        let api = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let (stdout, stderr) = match log {
            Some(path) => {
                let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
                (Stdio::from(file.try_clone()?), Stdio::from(file))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        let child = Command::new(&binary)
            .args(["-host", "127.0.0.1", "-port", &api.port().to_string()])
            .env("LOG_LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let server = Self { child, api };
        let deadline = Instant::now() + START_LIMIT;
        while call(server.api, "GET", "/version", None).await.is_err() {
            if Instant::now() > deadline {
                bail!("toxiproxy-server did not answer on {} within {START_LIMIT:?}", server.api);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(server)
    }

    /// Creates proxy `name` listening on a free loopback port and forwarding to `upstream` (`host:port`).
    pub async fn proxy(&self, name: &str, upstream: &str) -> Result<Proxy> {
        let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let body = json!({"name": name, "listen": listen.to_string(), "upstream": upstream, "enabled": true});
        call(self.api, "POST", "/proxies", Some(&body)).await.with_context(|| format!("creating proxy {name}"))?;
        Ok(Proxy { api: self.api, name: name.to_owned(), listen })
    }

    /// Removes every toxic and enables every proxy again.
    pub async fn reset(&self) -> Result<()> {
        call(self.api, "POST", "/reset", None).await.map(drop)
    }
}

impl Drop for Toxiproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One proxy of a [`Toxiproxy`].
#[derive(Debug, Clone)]
pub struct Proxy {
    api: SocketAddr,
    name: String,
    listen: SocketAddr,
}

impl Proxy {
    /// Where clients connect instead of the upstream server.
    pub fn listen(&self) -> SocketAddr {
        self.listen
    }

    /// Adds `toxic` as `name` on `stream`, acting on every connection (`toxicity` 1).
    pub async fn add(&self, name: &str, stream: Stream, toxic: Toxic) -> Result<()> {
        let body = json!({
            "name": name,
            "type": toxic.kind(),
            "stream": stream.as_str(),
            "toxicity": 1.0,
            "attributes": toxic.attributes(),
        });
        let path = format!("/proxies/{}/toxics", self.name);
        call(self.api, "POST", &path, Some(&body)).await.with_context(|| format!("adding toxic {name}")).map(drop)
    }

    /// Removes toxic `name`.
    pub async fn remove(&self, name: &str) -> Result<()> {
        let path = format!("/proxies/{}/toxics/{name}", self.name);
        call(self.api, "DELETE", &path, None).await.with_context(|| format!("removing toxic {name}")).map(drop)
    }

    /// The names of the toxics in place.
    pub async fn toxics(&self) -> Result<Vec<String>> {
        let listed = call(self.api, "GET", &format!("/proxies/{}/toxics", self.name), None).await?;
        Ok(listed
            .as_array()
            .map(|toxics| toxics.iter().filter_map(|toxic| toxic["name"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default())
    }

    /// Enables or disables the proxy: disabled, it closes every connection and refuses new ones.
    pub async fn set_enabled(&self, enabled: bool) -> Result<()> {
        let body = json!({"enabled": enabled});
        call(self.api, "POST", &format!("/proxies/{}", self.name), Some(&body)).await.map(drop)
    }
}

/// The toxiproxy-server binary: `TOXIPROXY_SERVER`, else the one `scripts/toxiproxy.sh build` cached.
fn binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("TOXIPROXY_SERVER") {
        return Ok(PathBuf::from(path));
    }
    let script = crate::repo_script("scripts/toxiproxy.sh");
    let output = Command::new("bash").arg(&script).arg("bin-dir").output().context("running scripts/toxiproxy.sh")?;
    let binary = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()).join("toxiproxy-server");
    if !binary.is_file() {
        bail!("{} is not built: run `scripts/toxiproxy.sh build` (needs Go)", binary.display());
    }
    Ok(binary)
}

/// One call of the HTTP API, as HTTP/1.0 so that the answer is never chunked and ends when the server closes; the
/// JSON answer (`Null` for an empty one), or an error for a non-2xx status.
async fn call(api: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
    let exchange = async {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(api).await?;
        let head = format!(
            "{method} {path} HTTP/1.0\r\nHost: {api}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        anyhow::Ok(answer)
    };
    let answer = tokio::time::timeout(CALL_LIMIT, exchange).await.context("toxiproxy API timed out")??;
    let text = String::from_utf8_lossy(&answer);
    let (head, content) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    if !(200..300).contains(&status) {
        bail!("toxiproxy {method} {path}: {head} {content}");
    }
    Ok(serde_json::from_str(content).unwrap_or(Value::Null))
}
