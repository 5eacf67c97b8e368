//! Which watch events make a TicketEvent reconcile.
//!
//! Every write to a watched object reaches the controller, and most of them change nothing the reconcile reads: the
//! operator's own status writes to the TicketEvent, and the status that the built-in controllers keep writing to the
//! Deployment, the HorizontalPodAutoscaler and the PodDisruptionBudget while pods come and go. At 300 TicketEvents
//! these made about nine reconciles per event, each a dozen API calls. A trigger stream here lets an object through
//! only when a fingerprint of what matters changed ([`relevant`] per kind), and always on deletion, so a deleted
//! child is rebuilt at once. Periodic requeues still reconcile every event, so nothing waits for a trigger forever.
//!
//! A watch that lists again (after a `410 Gone`) reports no deletion for the objects that went while it was away;
//! once its list is complete, every object it had seen before and did not list again passes as deleted. The `410`
//! itself does not pass: it is no failure to back off from (the watcher lists again at its next poll), and the
//! controller's backoff, shared by every watch, would otherwise hold all seven watches for seconds per `410`.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use futures::{stream, Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use kube::runtime::watcher::{self, Event};
use kube::Resource;
use ticketing_crds::TicketEvent;

/// The objects of `events` whose fingerprint (`fingerprint`) changed since their last sighting, and every deleted
/// one, including those a new list shows to have gone. The first sighting of an object (including each one listed
/// when the watch starts) always passes.
pub fn changes<K, E>(
    events: E,
    fingerprint: impl Fn(&K) -> u64 + Send + 'static,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send
where
    K: Resource + Clone + Send + 'static,
    E: Stream<Item = Result<Event<K>, watcher::Error>> + Send,
{
    let mut seen: HashMap<String, (u64, K)> = HashMap::new();
    let mut listed: HashSet<String> = HashSet::new();
    events.flat_map(move |event| {
        let passed: Vec<Result<K, watcher::Error>> = match event {
            Err(watcher::Error::WatchError(status)) if status.code == 410 => Vec::new(),
            Err(e) => vec![Err(e)],
            Ok(Event::Apply(object) | Event::InitApply(object)) => {
                let key = identity(&object);
                let print = fingerprint(&object);
                listed.insert(key.clone());
                let changed = seen.insert(key, (print, object.clone())).map(|(old, _)| old) != Some(print);
                if changed {
                    vec![Ok(object)]
                } else {
                    Vec::new()
                }
            }
            Ok(Event::Delete(object)) => {
                seen.remove(&identity(&object));
                vec![Ok(object)]
            }
            Ok(Event::Init) => {
                listed.clear();
                Vec::new()
            }
            Ok(Event::InitDone) => {
                let gone: Vec<String> = seen.keys().filter(|key| !listed.contains(*key)).cloned().collect();
                gone.iter().filter_map(|key| seen.remove(key)).map(|(_, object)| Ok(object)).collect()
            }
        };
        stream::iter(passed)
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

    #[tokio::test]
    async fn an_object_a_new_list_no_longer_shows_passes_as_deleted() {
        let events = vec![
            Event::Init,
            Event::InitApply(deployment("u1", 1, 1, "10")),
            Event::InitApply(deployment("u2", 1, 1, "11")),
            Event::InitDone,
            // The watch lists again after a 410: u2 was deleted while it was away, u1 is unchanged.
            Event::Init,
            Event::InitApply(deployment("u1", 1, 1, "20")),
            Event::InitDone,
        ];
        assert_eq!(passed(events).await, ["10", "11", "11"]);
    }

    #[tokio::test]
    async fn a_410_is_not_passed_on_as_an_error_but_other_watch_errors_are() {
        let gone =
            kube::core::Status { code: 410, ..kube::core::Status::failure("too old resource version", "Expired") };
        let errors = vec![Err(watcher::Error::WatchError(Box::new(gone))), Err(watcher::Error::NoResourceVersion)];
        let passed: Vec<_> = changes(stream::iter(errors), relevant::deployment).collect().await;

        assert_eq!(passed.len(), 1);
        assert!(matches!(passed[0], Err(watcher::Error::NoResourceVersion)));
    }
}
