//! Abuse limits: token buckets per buyer and per client address (429 with `Retry-After`), the client address behind
//! trusted proxies, and the whole-request timeout.
//!
//! The client address is the TCP peer, unless the peer is a configured trusted proxy: then it is the right-most
//! address of `X-Forwarded-For` that is not itself a trusted proxy, so a client cannot choose its own address by
//! sending the header. Buckets live in this process; with several replicas each enforces its own share.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::ApiError;

/// A rate: `per_second` on average, up to `burst` at once. Zero disables the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    pub per_second: f64,
    pub burst: f64,
}

/// The limits of one process.
#[derive(Debug)]
pub struct Limits {
    per_buyer: Option<Buckets<String>>,
    per_address: Option<Buckets<IpAddr>>,
    trusted_proxies: Vec<Cidr>,
    pub request_timeout: Duration,
}

impl Limits {
    pub fn new(per_buyer: Quota, per_address: Quota, trusted_proxies: Vec<Cidr>, request_timeout: Duration) -> Self {
        Self {
            per_buyer: Buckets::enabled(per_buyer),
            per_address: Buckets::enabled(per_address),
            trusted_proxies,
            request_timeout,
        }
    }

    /// Takes one token for `buyer`, or says how long to wait.
    pub fn check_buyer(&self, buyer: &str) -> Result<(), ApiError> {
        match &self.per_buyer {
            Some(buckets) => buckets.take(buyer),
            None => Ok(()),
        }
    }

    /// The client's address: the peer, or what trusted proxies say in front of it.
    pub fn client_address(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let hops =
            forwarded_for.unwrap_or_default().split(',').rev().filter_map(|hop| hop.trim().parse::<IpAddr>().ok());
        for hop in hops {
            if !self.is_trusted(hop) {
                return hop;
            }
        }
        peer
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|cidr| cidr.contains(address))
    }
}

/// Token buckets by key.
#[derive(Debug)]
struct Buckets<K> {
    quota: Quota,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

/// Past this many keys, idle buckets (full again) are dropped.
const MAX_KEYS: usize = 100_000;

impl<K: Hash + Eq> Buckets<K> {
    /// Buckets for `quota`, or none if its rate is zero (the limit is off).
    fn enabled(quota: Quota) -> Option<Self> {
        (quota.per_second > 0.0).then(|| Self { quota, buckets: Mutex::new(HashMap::new()) })
    }

    fn take<Q>(&self, key: &Q) -> Result<(), ApiError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > MAX_KEYS {
            let quota = self.quota;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * quota.per_second < quota.burst
            });
        }
        if !buckets.contains_key(key) {
            buckets.insert(key.to_owned(), (self.quota.burst, now));
        }
        let Some((tokens, at)) = buckets.get_mut(key) else { return Ok(()) };
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.quota.per_second).min(self.quota.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - *tokens) / self.quota.per_second).ceil().max(1.0);
            metrics::counter!("ticketing_rate_limited_total").increment(1);
            Err(ApiError::RateLimited { retry_after_secs: wait as u64 })
        }
    }
}

/// An address range (`10.0.0.0/8`, `::1/128`, or a plain address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = text.split_once('/').map_or((text, None), |(a, p)| (a, Some(p)));
        let network: IpAddr =
            address.trim().parse().map_err(|_| format!("{text:?} is not an IP address or CIDR range"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("{text:?} has a bad prefix length"))?
            }
            None => max,
        };
        Ok(Self { network, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address) {
            (IpAddr::V4(net), IpAddr::V4(addr)) => {
                prefix_match(u128::from(u32::from(net)) << 96, u128::from(u32::from(addr)) << 96, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(addr)) => prefix_match(u128::from(net), u128::from(addr), self.prefix),
            _ => false,
        }
    }
}

fn prefix_match(network: u128, address: u128, prefix: u8) -> bool {
    let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
    network & mask == address & mask
}

/// Runs the request under the head size limit (431 `headers_too_large`), the per-address limit and the request
/// timeout.
pub async fn enforce(state: &AppState, request: Request, next: Next) -> Response {
    let head_limit = state.connection.max_header_bytes;
    if head_size(&request) > head_limit {
        return ApiError::HeadersTooLarge(head_limit).into_response();
    }
    let limits = &state.limits;
    if let Some(buckets) = &limits.per_address {
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        if let Some(peer) = peer {
            let forwarded = request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
            let client = limits.client_address(peer, forwarded);
            if let Err(error) = buckets.take(&client) {
                return error.into_response();
            }
        }
    }
    match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// The size of the request line and headers as a client sent them over HTTP/1.1.
fn head_size(request: &Request) -> usize {
    let uri = request.uri().path_and_query().map_or(1, |path| path.as_str().len());
    // "METHOD URI HTTP/1.1\r\n", each header as "name: value\r\n", and the empty line.
    let line = request.method().as_str().len() + 1 + uri + 11;
    let headers: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    line + headers + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(proxies: &[&str]) -> Limits {
        let off = Quota { per_second: 0.0, burst: 0.0 };
        Limits::new(
            Quota { per_second: 1.0, burst: 2.0 },
            off,
            proxies.iter().map(|p| p.parse().unwrap()).collect(),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn a_buyer_gets_the_burst_then_waits() {
        let limits = limits(&[]);
        assert!(limits.check_buyer("a").is_ok());
        assert!(limits.check_buyer("a").is_ok());
        assert!(matches!(limits.check_buyer("a"), Err(ApiError::RateLimited { retry_after_secs: 1 })));
        assert!(limits.check_buyer("b").is_ok(), "buckets are per buyer");
        for near_duplicate in ["a ", "A", " a"] {
            assert!(limits.check_buyer(near_duplicate).is_ok(), "{near_duplicate:?} is another buyer than \"a\"");
        }
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let limits = limits(&["10.0.0.0/8", "::1"]);
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(limits.client_address(proxy, Some("203.0.113.7, 10.9.9.9")), client);
        assert_eq!(limits.client_address(stranger, Some("203.0.113.7")), stranger, "an untrusted peer cannot forge it");
        assert_eq!(
            limits.client_address("::1".parse().unwrap(), Some("1.2.3.4, 203.0.113.7")),
            client,
            "the right-most untrusted hop"
        );
        assert_eq!(limits.client_address(proxy, None), proxy);
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("not-an-ip".parse::<Cidr>().is_err());
    }
}
