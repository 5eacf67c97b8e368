//! The controller loop: watches TicketEvents and the children they own, runs the reconcile pipeline, and backs off
//! on failure (an invalid spec instead waits for a change, see the reconcile module).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, PartialObjectMeta};
use kube::runtime::controller::{Action, Config as ControllerConfig};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::utils::Backoff as TriggerBackoff;
use kube::runtime::{reflector, watcher, Controller, WatchStreamExt};
use kube::Client;
use ticketing_crds::TicketEvent;
use tokio::sync::oneshot;

use crate::apply::Child;
use crate::children::MANAGER;
use crate::error::Error;
use crate::http::Health;
use crate::reconcile::{reconcile, Context};
use crate::triggers::{changes, relevant};

/// The most reconciles running at once. Each holds a connection to the API server and one to the admin API (HTTP/1,
/// one request per connection at a time), so without a bound a thousand new TicketEvents opened a thousand
/// connections of each, ran into the process's file limit and held 150 MB; a few dozen already keep a small API
/// server busy.
const MAX_CONCURRENT_RECONCILES: u16 = 32;

/// The first wait before the watches are polled again after a watch error; each further error doubles it, up to
/// [`MAX_WATCH_BACKOFF`], and an event delivered resets it.
const FIRST_WATCH_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait before the watches are polled again after a watch error.
const MAX_WATCH_BACKOFF: Duration = Duration::from_secs(2);

/// The first retry after a failure; each further failure doubles it, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// The longest wait before a retry.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Consecutive failures per TicketEvent, for the exponential backoff.
#[derive(Default)]
struct Backoff {
    failures: Mutex<HashMap<ObjectRef<TicketEvent>, u32>>,
}

impl Backoff {
    fn next_delay(&self, event: &TicketEvent) -> Duration {
        let mut failures = self.failures.lock().expect("backoff lock poisoned");
        let count = failures.entry(ObjectRef::from(event)).or_default();
        *count = count.saturating_add(1);
        FIRST_BACKOFF.saturating_mul(2u32.saturating_pow(*count - 1)).min(MAX_BACKOFF)
    }

    fn reset(&self, event: &TicketEvent) {
        self.failures.lock().expect("backoff lock poisoned").remove(&ObjectRef::from(event));
    }
}

/// The backoff after a watch error. kube-runtime shares one backoff among all the controller's watches (the
/// TicketEvents and six kinds of children) and pauses every one of them while it waits; a dropped connection or an
/// API server restart makes each watch fail in turn, so its default (0.8 s doubling to 30 s) stacked seven steps into
/// more than a minute in which no event reached the controller. Short steps with a low cap bound that to seconds,
/// while an API server that stays down is still asked only every two seconds.
struct WatchBackoff {
    next: Duration,
}

impl Default for WatchBackoff {
    fn default() -> Self {
        Self { next: FIRST_WATCH_BACKOFF }
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(MAX_WATCH_BACKOFF);
        Some(delay)
    }
}

impl TriggerBackoff for WatchBackoff {
    fn reset(&mut self) {
        self.next = FIRST_WATCH_BACKOFF;
    }
}

/// Runs the controller until `stop` fires, then lets running reconciles finish. `reconcile_all` makes every event
/// reconcile again (tests use it after moving the clock). `health.synced` becomes true once the first watch
/// listed every TicketEvent. Each run starts from an empty ledger and prune memo: whatever happened while this
/// instance did not lead (a child deleted meanwhile), its watches will tell only what exists now.
pub async fn run_controller(
    ctx: Arc<Context>,
    reconcile_all: impl Stream<Item = ()> + Send + 'static,
    stop: oneshot::Receiver<()>,
    health: Arc<Health>,
) {
    ctx.ledger.clear();
    ctx.pruned.clear();
    let namespace = ctx.config.watch_namespace.as_deref();
    let owned = watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGER}"));
    // Each watch passes on only the changes a reconcile acts on (see the triggers module).
    let (store, writer) = reflector::store();
    let events = reflector(writer, watcher(api::<TicketEvent>(&ctx.client, namespace), watcher::Config::default()));
    let controller = Controller::for_stream(changes(events, relevant::ticket_event), store)
        .with_config(ControllerConfig::default().concurrency(MAX_CONCURRENT_RECONCILES))
        .owns_stream(changes(children::<ConfigMap>(&ctx, &owned), relevant::child))
        .owns_stream(changes(deployments(&ctx, &owned), relevant::deployment))
        .owns_stream(changes(children::<Service>(&ctx, &owned), relevant::child))
        .owns_stream(changes(children::<HorizontalPodAutoscaler>(&ctx, &owned), relevant::child))
        .owns_stream(changes(children::<PodDisruptionBudget>(&ctx, &owned), relevant::child))
        .owns_stream(changes(children::<Ingress>(&ctx, &owned), relevant::child))
        .trigger_backoff(WatchBackoff::default())
        .reconcile_all_on(reconcile_all)
        .graceful_shutdown_on(async move {
            let _ = stop.await;
        });
    // The controller's own store cannot be awaited here: its readiness wakes one waiter only, and the controller
    // is that waiter. A watch of the same TicketEvents, dropped once its first list is in, tells the same.
    let sync_health = health.clone();
    let first_sync = watcher(api::<TicketEvent>(&ctx.client, namespace), watcher::Config::default()).default_backoff();
    let sync_watch = tokio::spawn(async move {
        futures::pin_mut!(first_sync);
        while let Some(event) = first_sync.next().await {
            if matches!(event, Ok(watcher::Event::InitDone)) {
                sync_health.synced.store(true, Ordering::SeqCst);
                tracing::info!("first watch of TicketEvents synced");
                break;
            }
        }
    });
    let backoff = Arc::new(Backoff::default());
    let on_success = backoff.clone();
    controller
        .run(
            move |event, ctx| {
                let on_success = on_success.clone();
                async move {
                    let result = reconcile(event.clone(), ctx).await;
                    if result.is_ok() {
                        on_success.reset(&event);
                    }
                    result
                }
            },
            move |event, error: &Error, _ctx| {
                let delay = backoff.next_delay(&event);
                tracing::warn!(error = %error, event = %ObjectRef::from(event.as_ref()), retry_in = ?delay, "reconcile failed");
                Action::requeue(delay)
            },
            ctx,
        )
        .for_each(|outcome| async move {
            match outcome {
                Ok((event, _)) => tracing::debug!(event = %event, "reconciled"),
                Err(e) => tracing::debug!(error = %e, "controller step failed"),
            }
        })
        .await;
    sync_watch.abort();
    health.synced.store(false, Ordering::SeqCst);
}

/// The metadata-only watch of the children of kind `K` (no spec or status), feeding the ledger.
fn children<K: Child + Send + Sync + 'static>(
    ctx: &Arc<Context>,
    owned: &watcher::Config,
) -> impl Stream<Item = Result<watcher::Event<PartialObjectMeta<K>>, watcher::Error>> + Send + 'static {
    let namespace = ctx.config.watch_namespace.as_deref();
    let observer = ctx.clone();
    watcher(metadata_api::<K>(&ctx.client, namespace), owned.clone())
        .inspect_ok(move |event| observer.ledger.observe(event))
}

/// The watch of the Deployments (with their status), feeding the ledger.
fn deployments(
    ctx: &Arc<Context>,
    owned: &watcher::Config,
) -> impl Stream<Item = Result<watcher::Event<Deployment>, watcher::Error>> + Send + 'static {
    let namespace = ctx.config.watch_namespace.as_deref();
    let observer = ctx.clone();
    watcher(api::<Deployment>(&ctx.client, namespace), owned.clone())
        .inspect_ok(move |event| observer.ledger.observe_deployment(event))
}

/// The metadata-only API of kind `K` in `namespace`, or in every namespace: its watches carry no spec or status.
fn metadata_api<K: Child>(client: &Client, namespace: Option<&str>) -> Api<PartialObjectMeta<K>> {
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// The API of kind `K` in `namespace`, or in every namespace.
fn api<K: Child>(client: &Client, namespace: Option<&str>) -> Api<K> {
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::spec;

    #[test]
    fn the_retry_delay_doubles_per_failure_up_to_the_cap_and_resets_on_success() {
        let backoff = Backoff::default();
        let mut event = TicketEvent::new("final", spec());
        event.metadata.namespace = Some("concerts".into());

        let delays: Vec<_> = (0..10).map(|_| backoff.next_delay(&event).as_secs()).collect();
        backoff.reset(&event);

        assert_eq!(delays, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff.next_delay(&event), FIRST_BACKOFF);
    }

    #[test]
    fn seven_watch_errors_in_a_row_pause_the_watches_for_seconds_not_minutes() {
        let mut backoff = WatchBackoff::default();

        let delays: Vec<u128> = backoff.by_ref().take(7).map(|d| d.as_millis()).collect();
        backoff.reset();

        assert_eq!(delays, [100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(backoff.next(), Some(FIRST_WATCH_BACKOFF));
    }
}
