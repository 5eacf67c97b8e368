//! The TicketEvents of the run and their applies: `N` events whose sale opens in a month (so each settles in the
//! `Scheduled` phase with one pod, as most events do most of the time), created as fast as the API server accepts
//! them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{Duration as ChronoDuration, Utc};
use futures::StreamExt;
use kube::api::{Api, PostParams};
use kube::Client;
use serde_json::json;
use ticketing_crds::TicketEvent;

/// Creates in flight at once.
const APPLY_CONCURRENCY: usize = 32;

/// The name of the `index`-th TicketEvent.
pub fn name(index: usize) -> String {
    format!("te-{index:05}")
}

/// The `index`-th TicketEvent: one pod at baseline, up to three under the autoscaler.
pub fn ticket_event(index: usize) -> anyhow::Result<TicketEvent> {
    let opens = Utc::now() + ChronoDuration::days(30);
    let event = json!({
        "apiVersion": "ticketing.dev/v1alpha1", "kind": "TicketEvent", "metadata": { "name": name(index) },
        "spec": {
            "eventName": format!("Benchmark event {index}"), "eventDate": opens + ChronoDuration::days(10),
            "capacity": 500, "perUserLimit": 4,
            "sale": { "opensAt": opens, "closesAt": opens + ChronoDuration::days(1) },
            "scaling": { "baselineReplicas": 1, "peakReplicas": 2, "prewarmMinutes": 10,
                         "hpa": { "minReplicas": 1, "maxReplicas": 3 } }
        }
    });
    serde_json::from_value(event).context("building a TicketEvent")
}

/// Creates `count` TicketEvents in `namespace`, counting each accepted one in `applied`; returns how long it took.
pub async fn apply_all(
    client: Client,
    namespace: String,
    count: usize,
    applied: Arc<AtomicUsize>,
) -> anyhow::Result<Duration> {
    let api: Api<TicketEvent> = Api::namespaced(client, &namespace);
    let started = Instant::now();
    let mut creates = futures::stream::iter(0..count)
        .map(|index| {
            let api = api.clone();
            async move {
                let event = ticket_event(index)?;
                api.create(&PostParams::default(), &event).await.with_context(|| format!("creating {}", name(index)))
            }
        })
        .buffer_unordered(APPLY_CONCURRENCY);
    while let Some(created) = creates.next().await {
        created?;
        applied.fetch_add(1, Ordering::Relaxed);
    }
    Ok(started.elapsed())
}
