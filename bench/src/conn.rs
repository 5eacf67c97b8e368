//! One keep-alive HTTP/1.1 client connection per worker, reconnecting after a failure.
//!
//! Every worker of a load model owns one [`Conn`], so the number of TCP connections equals the number of workers,
//! as in a closed-model benchmark. A transport failure drops the connection; the next request opens a new one, on
//! another replica when the target has several and this one refuses.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long one request may take before it counts as a transport failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the service listens: one or more replicas (resolved socket addresses) plus the `Host` header value.
///
/// With several replicas, new connections are spread over them round robin and a connection that cannot be opened
/// moves on to the next replica, as a client behind a load balancer would see it.
#[derive(Debug, Clone)]
pub struct Target {
    addrs: Arc<[SocketAddr]>,
    next_replica: Arc<AtomicUsize>,
    host: HeaderValue,
    /// The base URL of the first replica, e.g. `http://127.0.0.1:8080`.
    pub url: String,
}

impl Target {
    /// Parses and resolves an `http://host:port` base URL (a path after it is not supported).
    pub async fn resolve(url: &str) -> anyhow::Result<Self> {
        Self::replicas(&[url]).await
    }

    /// Resolves the base URLs of several replicas of one service.
    pub async fn replicas(urls: &[&str]) -> anyhow::Result<Self> {
        let mut addrs = Vec::with_capacity(urls.len());
        let mut first = None;
        for url in urls {
            let (addr, authority) = resolve_base_url(url).await?;
            addrs.push(addr);
            first.get_or_insert(authority);
        }
        let authority = first.ok_or_else(|| anyhow!("a target needs at least one URL"))?;
        Ok(Self {
            addrs: addrs.into(),
            next_replica: Arc::new(AtomicUsize::new(0)),
            host: HeaderValue::from_str(&authority)?,
            url: format!("http://{authority}"),
        })
    }
}

/// Resolves `http://host:port` to a socket address and its authority.
async fn resolve_base_url(url: &str) -> anyhow::Result<(SocketAddr, String)> {
    let rest = url.strip_prefix("http://").ok_or_else(|| anyhow!("target {url} must start with http://"))?;
    let authority = rest.trim_end_matches('/');
    if authority.contains('/') {
        return Err(anyhow!("target {url} must be a base URL without a path"));
    }
    let with_port = if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
    let addr = tokio::net::lookup_host(&with_port)
        .await
        .with_context(|| format!("resolving {with_port}"))?
        .next()
        .ok_or_else(|| anyhow!("{with_port} resolves to no address"))?;
    Ok((addr, authority.to_owned()))
}

/// A request to send: method, path, optional JSON body and extra headers.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub body: Option<Bytes>,
    pub bearer: Option<HeaderValue>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Call {
    /// A GET of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self { method: Method::GET, path: path.into(), body: None, bearer: None, headers: Vec::new() }
    }

    /// A request with a JSON body.
    pub fn json(method: Method, path: impl Into<String>, body: &serde_json::Value) -> Self {
        Self { method, path: path.into(), body: Some(Bytes::from(body.to_string())), bearer: None, headers: Vec::new() }
    }

    /// Adds `Authorization: <value>`; `value` already carries the `Bearer ` prefix.
    pub fn auth(mut self, value: &HeaderValue) -> Self {
        self.bearer = Some(value.clone());
        self
    }

    /// Adds one header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// The status and full body of an answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub retry_after: Option<u64>,
    /// The answer carried `Idempotent-Replayed: true` (a repeated key answered with its first result).
    pub replayed: bool,
    pub body: Bytes,
}

impl Reply {
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The stable error `code` of an error envelope, if any.
    pub fn code(&self) -> Option<String> {
        self.json().get("code").and_then(|code| code.as_str()).map(str::to_owned)
    }
}

/// One HTTP/1.1 connection to the target, opened on first use and after every failure.
pub struct Conn {
    target: Target,
    /// The replica this connection uses (an index into the target's addresses).
    replica: usize,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    /// A connection to the target's next replica in round-robin order (not opened yet).
    pub fn new(target: &Target) -> Self {
        let replica = target.next_replica.fetch_add(1, Ordering::Relaxed) % target.addrs.len();
        Self { target: target.clone(), replica, sender: None }
    }

    /// Opens the connection now (so a benchmark can connect before its clock starts), trying the other replicas
    /// in turn when this one refuses.
    pub async fn connect(&mut self) -> anyhow::Result<()> {
        if self.sender.is_none() {
            let stream = self.open_stream().await?;
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                // The connection ends when the sender is dropped or the peer closes; either is expected.
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        Ok(())
    }

    async fn open_stream(&mut self) -> anyhow::Result<TcpStream> {
        let replicas = self.target.addrs.len();
        let mut first_error = None;
        for _ in 0..replicas {
            let addr = self.target.addrs[self.replica];
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    return Ok(stream);
                }
                Err(error) => {
                    first_error.get_or_insert(anyhow::Error::new(error).context(format!("connecting to {addr}")));
                    self.replica = (self.replica + 1) % replicas;
                }
            }
        }
        Err(first_error.expect("a target has at least one replica"))
    }

    /// Sends `call` and reads the whole answer; any transport error or timeout closes the connection.
    pub async fn send(&mut self, call: &Call) -> anyhow::Result<Reply> {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(call)).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(error)) => {
                self.sender = None;
                Err(error)
            }
            Err(_) => {
                self.sender = None;
                Err(anyhow!("request timed out after {REQUEST_TIMEOUT:?}"))
            }
        }
    }

    async fn exchange(&mut self, call: &Call) -> anyhow::Result<Reply> {
        self.connect().await?;
        let sender = self.sender.as_mut().expect("connected above");
        sender.ready().await?;
        let mut builder =
            Request::builder().method(call.method.clone()).uri(&call.path).header(HOST, &self.target.host);
        if let Some(bearer) = &call.bearer {
            builder = builder.header(AUTHORIZATION, bearer);
        }
        if call.body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        for (name, value) in &call.headers {
            builder = builder.header(name, value);
        }
        let request = builder.body(Full::new(call.body.clone().unwrap_or_default()))?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse().ok());
        let replayed = response.headers().get("idempotent-replayed").is_some_and(|value| value == "true");
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Reply { status, retry_after, replayed, body })
    }
}
