//! Which watch events make a TicketEvent reconcile.
//!
//! Every write to a watched object reaches the controller, and most of them change nothing the reconcile reads: the
//! operator's own status writes to the TicketEvent, and the status that the built-in controllers keep writing to the
//! Deployment, the HorizontalPodAutoscaler and the PodDisruptionBudget while pods come and go. At 300 TicketEvents
//! these made about nine reconciles per event, each a dozen API calls. A trigger stream here lets an object through
//! only when a fingerprint of what matters changed ([`relevant`] per kind), and always on deletion, so a deleted
//! child is rebuilt at once. Periodic requeues still reconcile every event, so nothing waits for a trigger forever.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use futures::{future, Stream, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use kube::runtime::watcher::{self, Event};
use kube::Resource;
use ticketing_crds::TicketEvent;

/// The objects of `events` whose fingerprint (`fingerprint`) changed since their last sighting, and every deleted
/// one. The first sighting of an object (including each one listed when the watch starts) always passes.
pub fn changes<K, E>(
    events: E,
    fingerprint: impl Fn(&K) -> u64 + Send + 'static,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send
where
    K: Resource + Send + 'static,
    E: Stream<Item = Result<Event<K>, watcher::Error>> + Send,
{
    let mut seen: HashMap<String, u64> = HashMap::new();
    events.try_filter_map(move |event| {
        let passed = match event {
            Event::Apply(object) | Event::InitApply(object) => {
                let print = fingerprint(&object);
                (seen.insert(identity(&object), print) != Some(print)).then_some(object)
            }
            Event::Delete(object) => {
                seen.remove(&identity(&object));
                Some(object)
            }
            Event::Init | Event::InitDone => None,
        };
        future::ready(Ok(passed))
    })
}

/// What identifies an object across its updates: its uid (a re-created object is a new one), else its name.
fn identity<K: Resource>(object: &K) -> String {
    let meta = object.meta();
    match &meta.uid {
        Some(uid) => uid.clone(),
        None => {
            format!("{}/{}", meta.namespace.as_deref().unwrap_or_default(), meta.name.as_deref().unwrap_or_default())
        }
    }
}

fn hash_of(value: impl Hash) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// Fingerprints of what the reconcile reads or must restore, per kind.
pub mod relevant {
    use super::*;

    /// A TicketEvent: its spec (the generation), its finalizers (the finalizer stage waits for its own patch) and
    /// whether it is being deleted. Not its status, which only the operator writes.
    pub fn ticket_event(event: &TicketEvent) -> u64 {
        let meta = &event.metadata;
        hash_of((meta.generation, &meta.finalizers, meta.deletion_timestamp.is_some()))
    }

    /// A Deployment: what the ledger compares (spec, labels, annotations), and the replica counts the TicketEvent's
    /// status and `Ready` condition report.
    pub fn deployment(deployment: &Deployment) -> u64 {
        let status = deployment.status.as_ref();
        hash_of((
            child(deployment),
            status.and_then(|s| s.replicas),
            status.and_then(|s| s.ready_replicas),
            status.and_then(|s| s.updated_replicas),
        ))
    }

    /// A child whose status the reconcile does not read: the version the ledger compares (its spec, labels and
    /// annotations), so any change that would make the ledger re-apply it also triggers the reconcile that does.
    pub fn child<K: Resource>(object: &K) -> u64 {
        crate::ledger::version(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{stream, StreamExt};
    use k8s_openapi::api::apps::v1::DeploymentStatus;
    use kube::api::ObjectMeta;

    fn deployment(uid: &str, generation: i64, ready: i32, resource_version: &str) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some("final".into()),
                namespace: Some("concerts".into()),
                uid: Some(uid.into()),
                generation: Some(generation),
                resource_version: Some(resource_version.into()),
                ..ObjectMeta::default()
            },
            status: Some(DeploymentStatus {
                replicas: Some(2),
                ready_replicas: Some(ready),
                updated_replicas: Some(2),
                observed_generation: Some(generation),
                ..DeploymentStatus::default()
            }),
            ..Deployment::default()
        }
    }

    async fn passed(events: Vec<Event<Deployment>>) -> Vec<String> {
        let input = stream::iter(events.into_iter().map(Ok::<_, watcher::Error>));
        changes(input, relevant::deployment)
            .map(|object| object.expect("no errors in the input"))
            .map(|d| d.metadata.resource_version.unwrap_or_default())
            .collect()
            .await
    }

    #[tokio::test]
    async fn status_churn_is_dropped_but_spec_replica_and_deletion_changes_pass() {
        let mut churned = deployment("u1", 1, 1, "11");
        churned.status.as_mut().unwrap().conditions = Some(Vec::new());
        let events = vec![
            Event::Init,
            Event::InitApply(deployment("u1", 1, 0, "10")),
            Event::InitDone,
            // The same counts with other status fields changed: no reconcile needed.
            Event::Apply(deployment("u1", 1, 0, "11")),
            Event::Apply(deployment("u1", 1, 1, "12")),
            Event::Apply(churned),
            Event::Apply(deployment("u1", 2, 1, "13")),
            Event::Delete(deployment("u1", 2, 1, "14")),
            // Re-created under the same name: a new object, seen for the first time.
            Event::Apply(deployment("u2", 1, 0, "15")),
        ];
        assert_eq!(passed(events).await, ["10", "12", "13", "14", "15"]);
    }

    #[test]
    fn a_ticket_event_status_write_is_not_a_trigger_but_spec_finalizers_and_deletion_are() {
        let mut event = TicketEvent::new("final", crate::test_fixtures::spec());
        event.metadata.generation = Some(1);
        let base = relevant::ticket_event(&event);

        let mut with_status = event.clone();
        with_status.status = Some(Default::default());
        assert_eq!(relevant::ticket_event(&with_status), base);

        let mut respecced = event.clone();
        respecced.metadata.generation = Some(2);
        let mut finalized = event.clone();
        finalized.metadata.finalizers = Some(vec!["ticketing.dev/close-sale".into()]);
        let mut deleting = event.clone();
        deleting.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        for changed in [respecced, finalized, deleting] {
            assert_ne!(relevant::ticket_event(&changed), base);
        }
    }
}
