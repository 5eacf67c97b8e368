//! The `delete-events` subcommand, which the chart's pre-delete hook runs when an uninstall removes the CRD: it
//! deletes every TicketEvent in scope while the operator still runs, and waits until they are gone. The operator
//! closes each sale and removes the `ticketing.dev/close-sale` finalizer; once the operator itself is gone nobody
//! would, and the CRD's deletion would wait forever on the events it still holds.

use std::collections::BTreeSet;
use std::time::Duration;

use kube::api::{Api, DeleteParams, ListParams};
use kube::{Client, ResourceExt};
use ticketing_crds::TicketEvent;

use crate::error::Error;

/// How often the remaining TicketEvents are listed while waiting.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Deletes every TicketEvent in `namespace` (every namespace when `None`) and waits at most `timeout` until none is
/// left; returns how many were deleted. Fails naming those still there, with their finalizers.
pub async fn delete_events(client: Client, namespace: Option<&str>, timeout: Duration) -> Result<usize, Error> {
    let api: Api<TicketEvent> = match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    };
    let events = api.list_metadata(&ListParams::default()).await.map_err(Error::kube("delete-events"))?;
    let count = events.items.len();
    for event in &events.items {
        let namespace = event.namespace().unwrap_or_default();
        let one: Api<TicketEvent> = Api::namespaced(client.clone(), &namespace);
        match one.delete(&event.name_any(), &DeleteParams::default()).await {
            Ok(_) => {
                tracing::info!(namespace, name = %event.name_any(), "TicketEvent deleted, waiting for its sale to close")
            }
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => return Err(Error::kube("delete-events")(e)),
        }
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = api.list_metadata(&ListParams::default()).await.map_err(Error::kube("delete-events"))?;
        if left.items.is_empty() {
            tracing::info!(count, "every TicketEvent is gone");
            return Ok(count);
        }
        if tokio::time::Instant::now() >= deadline {
            let waiting: BTreeSet<String> = left
                .items
                .iter()
                .map(|e| {
                    format!("{}/{} (finalizers {:?})", e.namespace().unwrap_or_default(), e.name_any(), e.finalizers())
                })
                .collect();
            return Err(Error::Uninstall(format!(
                "{} TicketEvent(s) still present after {timeout:?}: {}; is the operator running and the admin API \
                 reachable?",
                waiting.len(),
                waiting.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}
