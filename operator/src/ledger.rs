//! What this process last applied to each child and what its watches last saw of it, so that a reconcile skips the
//! server-side apply of a child nobody has changed since, and knows which event controls a child it has seen.
//!
//! Every reconcile used to apply all six children again, and most reconciles come after a change that leaves the
//! built children as they were (the Deployment's pods becoming ready, a periodic seat refresh); each apply is a
//! server-side merge that costs the API server far more than the watch event that tells the same. A child is
//! skipped only when both hold:
//! - what the build produces now is what this process last applied (a hash of the object), and
//! - the newest version the child's watch delivered is the one that apply returned ([`version`]: the generation or,
//!   for kinds without one, the resourceVersion, plus labels and annotations).
//!
//! Anybody else's change (an edit, a deletion) reaches the watch, breaks the second condition and makes the next
//! reconcile apply again; the watch's change also triggers that reconcile (see the triggers module). Until the watch
//! has delivered this process's own write, the versions differ and the child is applied again, which changes
//! nothing.
//!
//! A watch that lists again (after a `410 Gone`, or a new watch) delivers every object that still exists and no
//! deletion for those that went meanwhile: the ledger marks the kind's entries unseen when the list starts and drops
//! those the list did not deliver once it is done. A new process starts empty and applies everything once, and so
//! does an instance that gains the Lease ([`ChildLedger::clear`]): while it stood by, nothing kept its ledger true.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use kube::runtime::watcher::Event;
use kube::Resource;
use serde::Serialize;

/// A child by kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ChildKey {
    kind: String,
    namespace: String,
    name: String,
}

impl ChildKey {
    fn of<K: Resource<DynamicType = ()>>(object: &K) -> Self {
        let meta = object.meta();
        Self {
            kind: K::kind(&()).into_owned(),
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Default)]
struct Entry {
    /// The hash of the object this process last applied, and the version the apply returned.
    applied: Option<(u64, u64)>,
    /// The version the watch delivered last, and the uid of the object's controller then.
    seen: Option<(u64, Option<String>)>,
    /// Whether the list of a watch that is listing again has delivered the child yet.
    relisted: bool,
}

/// The ledger of one process.
#[derive(Debug, Default)]
pub struct ChildLedger {
    entries: Mutex<HashMap<ChildKey, Entry>>,
    /// The newest status of each Deployment, from its watch: a reconcile that skips the Deployment's apply reports
    /// the replicas from here.
    deployment_status: Mutex<HashMap<ChildKey, DeploymentStatus>>,
}

impl ChildLedger {
    /// Whether `desired` is what this process last applied and the watch has seen nothing newer than that apply.
    pub fn is_current<K: Resource<DynamicType = ()> + Serialize>(&self, desired: &K) -> bool {
        let entries = lock(&self.entries);
        entries.get(&ChildKey::of(desired)).is_some_and(|entry| match (&entry.applied, &entry.seen) {
            (Some((hash, version)), Some((seen, _))) => *hash == hash_json(desired) && seen == version,
            _ => false,
        })
    }

    /// The uid of the controller of the object named like `desired` when the watch last delivered it: `None` when
    /// the watch has not delivered it (or delivered its deletion), `Some(None)` when it had no controller.
    pub fn controller<K: Resource<DynamicType = ()>>(&self, desired: &K) -> Option<Option<String>> {
        let entries = lock(&self.entries);
        entries.get(&ChildKey::of(desired)).and_then(|entry| entry.seen.as_ref()).map(|(_, uid)| uid.clone())
    }

    /// Notes that `desired` was applied and the API server answered `returned`.
    pub fn applied<K: Resource<DynamicType = ()> + Serialize>(&self, desired: &K, returned: &K) {
        let entry = (hash_json(desired), version(returned));
        lock(&self.entries).entry(ChildKey::of(desired)).or_default().applied = Some(entry);
    }

    /// Takes in one event of a child's watch.
    pub fn observe<K: Resource<DynamicType = ()>>(&self, event: &Event<K>) {
        let mut entries = lock(&self.entries);
        match event {
            Event::Apply(object) | Event::InitApply(object) => {
                let entry = entries.entry(ChildKey::of(object)).or_default();
                entry.seen = Some((version(object), controller_uid(object)));
                entry.relisted = true;
            }
            Event::Delete(object) => {
                entries.remove(&ChildKey::of(object));
            }
            Event::Init => {
                for entry in entries.iter_mut().filter(|(key, _)| key.kind == K::kind(&())).map(|(_, entry)| entry) {
                    entry.relisted = false;
                }
            }
            Event::InitDone => entries.retain(|key, entry| key.kind != K::kind(&()) || entry.relisted),
        }
    }

    /// Takes in one event of the Deployments' watch, with their status.
    pub fn observe_deployment(&self, event: &Event<Deployment>) {
        self.observe(event);
        let mut statuses = lock(&self.deployment_status);
        match event {
            Event::Apply(deployment) | Event::InitApply(deployment) => {
                if let Some(status) = &deployment.status {
                    statuses.insert(ChildKey::of(deployment), status.clone());
                }
            }
            Event::Delete(deployment) => {
                statuses.remove(&ChildKey::of(deployment));
            }
            Event::Init => {}
            Event::InitDone => {
                let entries = lock(&self.entries);
                statuses.retain(|key, _| entries.contains_key(key));
            }
        }
    }

    /// The newest status the watch delivered for `deployment`.
    pub fn deployment_status(&self, deployment: &Deployment) -> Option<DeploymentStatus> {
        lock(&self.deployment_status).get(&ChildKey::of(deployment)).cloned()
    }

    /// Forgets everything, as for a new process: an instance that gains the Lease cannot know what changed while
    /// it stood by.
    pub fn clear(&self) {
        lock(&self.entries).clear();
        lock(&self.deployment_status).clear();
    }
}

/// The version of an object as far as the operator's own fields go: its spec (the generation, or the
/// resourceVersion for kinds without one), labels and annotations.
pub fn version<K: Resource>(object: &K) -> u64 {
    let meta = object.meta();
    let spec = match meta.generation {
        Some(generation) => generation.to_string(),
        None => meta.resource_version.clone().unwrap_or_default(),
    };
    let mut hasher = DefaultHasher::new();
    (spec, &meta.labels, &meta.annotations, meta.deletion_timestamp.is_some()).hash(&mut hasher);
    hasher.finish()
}

/// The uid of the object's controller (the owner reference with `controller: true`), if it has one.
pub fn controller_uid<K: Resource>(object: &K) -> Option<String> {
    object.meta().owner_references.iter().flatten().find(|o| o.controller == Some(true)).map(|o| o.uid.clone())
}

fn hash_json<K: Serialize>(object: &K) -> u64 {
    let mut hasher = DefaultHasher::new();
    serde_json::to_vec(object).unwrap_or_default().hash(&mut hasher);
    hasher.finish()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;

    fn config_map(data: &str, resource_version: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some("final".into()),
                namespace: Some("concerts".into()),
                resource_version: Some(resource_version.into()),
                ..ObjectMeta::default()
            },
            data: Some([("event".to_string(), data.to_string())].into()),
            ..ConfigMap::default()
        }
    }

    #[test]
    fn a_child_is_skipped_only_once_the_watch_confirms_the_apply_and_nothing_changed_since() {
        let ledger = ChildLedger::default();
        let desired = config_map("a", "");
        assert!(!ledger.is_current(&desired), "never applied");

        ledger.applied(&desired, &config_map("a", "5"));
        assert!(!ledger.is_current(&desired), "the watch has not delivered the apply yet");
        ledger.observe(&Event::Apply(config_map("a", "5")));
        assert!(ledger.is_current(&desired));

        assert!(!ledger.is_current(&config_map("b", "")), "the build changed");

        ledger.observe(&Event::Apply(config_map("edited", "6")));
        assert!(!ledger.is_current(&desired), "somebody else changed it");
        ledger.applied(&desired, &config_map("a", "7"));
        ledger.observe(&Event::Apply(config_map("a", "7")));
        assert!(ledger.is_current(&desired));

        ledger.observe(&Event::Delete(config_map("a", "7")));
        assert!(!ledger.is_current(&desired), "deleted");
    }

    #[test]
    fn a_deployment_status_comes_from_its_watch_and_goes_with_it() {
        let ledger = ChildLedger::default();
        let mut deployment = Deployment {
            metadata: ObjectMeta {
                name: Some("final".into()),
                namespace: Some("concerts".into()),
                ..ObjectMeta::default()
            },
            ..Deployment::default()
        };
        assert_eq!(ledger.deployment_status(&deployment), None);
        deployment.status = Some(DeploymentStatus { ready_replicas: Some(2), ..DeploymentStatus::default() });
        ledger.observe_deployment(&Event::Apply(deployment.clone()));
        assert_eq!(ledger.deployment_status(&deployment).and_then(|s| s.ready_replicas), Some(2));
        ledger.observe_deployment(&Event::Delete(deployment.clone()));
        assert_eq!(ledger.deployment_status(&deployment), None);
    }

    #[test]
    fn a_list_again_drops_the_children_it_no_longer_delivers_and_only_of_its_kind() {
        let ledger = ChildLedger::default();
        let desired = config_map("a", "");
        let mut other = config_map("a", "5");
        other.metadata.name = Some("other".into());
        let deployment = Deployment {
            metadata: ObjectMeta {
                name: Some("final".into()),
                namespace: Some("concerts".into()),
                generation: Some(1),
                ..ObjectMeta::default()
            },
            status: Some(DeploymentStatus { ready_replicas: Some(1), ..DeploymentStatus::default() }),
            ..Deployment::default()
        };
        ledger.applied(&desired, &config_map("a", "5"));
        ledger.observe(&Event::Apply(config_map("a", "5")));
        ledger.observe(&Event::Apply(other.clone()));
        ledger.observe_deployment(&Event::Apply(deployment.clone()));
        assert!(ledger.is_current(&desired));

        // The ConfigMap was deleted while the watch was away: the new list has only the other one.
        ledger.observe::<ConfigMap>(&Event::Init);
        assert!(ledger.is_current(&desired), "nothing is dropped before the list is complete");
        ledger.observe(&Event::InitApply(other.clone()));
        ledger.observe::<ConfigMap>(&Event::InitDone);

        assert!(!ledger.is_current(&desired), "a child missing from the new list was deleted meanwhile");
        assert_eq!(ledger.controller(&desired), None);
        assert!(ledger.controller(&other).is_some(), "a child the list delivered stays");
        assert!(ledger.deployment_status(&deployment).is_some(), "another kind's list does not touch it");
        ledger.observe_deployment(&Event::Init);
        ledger.observe_deployment(&Event::InitDone);
        assert_eq!(ledger.deployment_status(&deployment), None, "its status goes with it");
    }

    #[test]
    fn the_ledger_knows_the_controller_the_watch_saw_and_forgets_everything_when_cleared() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
        let ledger = ChildLedger::default();
        let mut owned = config_map("a", "5");
        owned.metadata.owner_references =
            Some(vec![OwnerReference { controller: Some(true), uid: "event-uid".into(), ..OwnerReference::default() }]);
        assert_eq!(ledger.controller(&owned), None, "never seen");

        ledger.applied(&owned, &owned);
        ledger.observe(&Event::Apply(owned.clone()));
        assert_eq!(ledger.controller(&owned), Some(Some("event-uid".into())));
        ledger.clear();

        assert_eq!(ledger.controller(&owned), None);
        assert!(!ledger.is_current(&owned));
    }
}
