//! The few service calls the suite makes outside the measured load: waiting for readiness, creating events,
//! reading an event and scraping `/metrics`.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use hyper::{Method, StatusCode};
use serde_json::json;

use crate::auth::Credentials;
use crate::conn::{Call, Conn, Target};

/// An event created for a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef {
    pub id: i64,
    pub capacity: i64,
}

/// Polls `GET /readyz` until it answers 200 or `limit` passes.
pub async fn wait_ready(target: &Target, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        let mut conn = Conn::new(target);
        match conn.send(&Call::get("/readyz")).await {
            Ok(reply) if reply.status == StatusCode::OK => return Ok(()),
            Ok(reply) => last = format!("{} {}", reply.status, String::from_utf8_lossy(&reply.body)),
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{} not ready within {limit:?}: {last}", target.url)
}

/// Creates an event on sale now with `capacity` seats, at most `max_per_order` per order and `per_user_limit` per
/// buyer; a reservation is a hold for `hold_seconds` (0 = bought at once).
pub async fn create_event(
    conn: &mut Conn,
    credentials: &Credentials,
    name: &str,
    capacity: i64,
    max_per_order: i64,
    per_user_limit: i64,
    hold_seconds: i64,
) -> anyhow::Result<EventRef> {
    let body = json!({
        "eventName": name,
        "totalSeats": capacity,
        "eventDate": "2031-06-01T19:00:00",
        "maxPerOrder": max_per_order,
        "perUserLimit": per_user_limit,
        "holdSeconds": hold_seconds,
    });
    let call = Call::json(Method::POST, "/api/events", &body).auth(&credentials.admin_bearer());
    let reply = conn.send(&call).await.context("creating an event")?;
    if reply.status != StatusCode::CREATED {
        bail!("creating event {name}: {} {}", reply.status, String::from_utf8_lossy(&reply.body));
    }
    let id = reply.json()["data"]["id"].as_i64().ok_or_else(|| anyhow!("event answer without a numeric data.id"))?;
    Ok(EventRef { id, capacity })
}

/// Reads `availableSeats` of an event through the API.
pub async fn available_seats(conn: &mut Conn, credentials: &Credentials, event: i64) -> anyhow::Result<i64> {
    let reply = conn.send(&Call::get(format!("/api/events/{event}")).auth(&credentials.admin_bearer())).await?;
    if reply.status != StatusCode::OK {
        bail!("reading event {event}: {} {}", reply.status, String::from_utf8_lossy(&reply.body));
    }
    reply.json()["data"]["availableSeats"].as_i64().ok_or_else(|| anyhow!("event answer without availableSeats"))
}

/// Scrapes `/metrics` (Prometheus text format).
pub async fn metrics(conn: &mut Conn, credentials: &Credentials) -> anyhow::Result<String> {
    let reply = conn.send(&Call::get("/metrics").auth(&credentials.admin_bearer())).await?;
    if reply.status != StatusCode::OK {
        bail!("scraping /metrics: {}", reply.status);
    }
    Ok(String::from_utf8_lossy(&reply.body).into_owned())
}

/// Cache lookups counted by the service as `ticketing_cache_requests_total{result="hit"|"miss"}`: (hits, misses).
pub fn cache_counts(metrics_text: &str) -> (f64, f64) {
    let mut counts = (0.0, 0.0);
    for line in metrics_text.lines().filter(|line| line.starts_with("ticketing_cache_requests_total{")) {
        let Some(value) = line.rsplit(' ').next().and_then(|value| value.parse::<f64>().ok()) else { continue };
        if line.contains(r#"result="hit""#) {
            counts.0 += value;
        } else if line.contains(r#"result="miss""#) {
            counts.1 += value;
        }
    }
    counts
}

/// The hit rate between two scrapes, `None` when there were no lookups in between.
pub fn cache_hit_rate(before: &str, after: &str) -> Option<f64> {
    let ((hits_before, misses_before), (hits_after, misses_after)) = (cache_counts(before), cache_counts(after));
    let (hits, misses) = (hits_after - hits_before, misses_after - misses_before);
    (hits + misses > 0.0).then(|| hits / (hits + misses))
}

/// The value of the sample written exactly `name` (with its labels, if any) in a scrape.
pub fn sample(metrics_text: &str, name: &str) -> Option<f64> {
    metrics_text.lines().find_map(|line| {
        let (metric, value) = line.split_once(' ')?;
        (metric == name).then(|| value.trim().parse().ok()).flatten()
    })
}

/// The mean number of requests per write batch between two scrapes (`ticketing_batch_size` sum / count).
pub fn mean_batch_size(before: &str, after: &str) -> Option<f64> {
    let delta = |name: &str| Some(sample(after, name)? - sample(before, name).unwrap_or(0.0));
    let (sum, count) = (delta("ticketing_batch_size_sum")?, delta("ticketing_batch_size_count")?);
    (count > 0.0).then(|| sum / count)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# TYPE ticketing_cache_requests_total counter\n\
        ticketing_cache_requests_total{result=\"hit\"} 10\n\
        ticketing_cache_requests_total{result=\"miss\"} 5\n\
        ticketing_queue_depth 0\n";
    const AFTER: &str = "ticketing_cache_requests_total{result=\"miss\"} 6\n\
        ticketing_cache_requests_total{result=\"hit\"} 109\n";

    #[test]
    fn hit_rate_is_taken_from_the_counter_deltas() {
        assert_eq!(cache_counts(BEFORE), (10.0, 5.0));
        assert_eq!(cache_hit_rate(BEFORE, AFTER), Some(0.99));
    }

    #[test]
    fn mean_batch_size_is_taken_from_the_summary_deltas() {
        let before = "ticketing_batch_size_sum 100\nticketing_batch_size_count 10\n";
        let after =
            "ticketing_batch_size{quantile=\"0.5\"} 3\nticketing_batch_size_sum 1100\nticketing_batch_size_count 20\n";
        assert_eq!(mean_batch_size(before, after), Some(100.0));
        assert_eq!(mean_batch_size("", after), Some(55.0));
        assert_eq!(mean_batch_size(after, after), None);
    }

    #[test]
    fn no_lookups_means_no_hit_rate() {
        assert_eq!(cache_hit_rate(BEFORE, BEFORE), None);
        assert_eq!(cache_hit_rate("", ""), None);
    }
}
