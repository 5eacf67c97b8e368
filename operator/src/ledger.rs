//! What this process last applied to each child and what its watches last saw of it, so that a reconcile skips the
//! server-side apply of a child nobody has changed since.
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
//! nothing. A new process (a restart, another leader) starts empty and applies everything once.

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
    /// The version the watch delivered last.
    seen: Option<u64>,
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
        entries.get(&ChildKey::of(desired)).is_some_and(|entry| match entry.applied {
            Some((hash, version)) => hash == hash_json(desired) && entry.seen == Some(version),
            None => false,
        })
    }

    /// Notes that `desired` was applied and the API server answered `returned`.
    pub fn applied<K: Resource<DynamicType = ()> + Serialize>(&self, desired: &K, returned: &K) {
        let entry = (hash_json(desired), version(returned));
        lock(&self.entries).entry(ChildKey::of(desired)).or_default().applied = Some(entry);
    }

    /// Takes in one event of a child's watch.
    pub fn observe<K: Resource<DynamicType = ()>>(&self, event: &Event<K>) {
        match event {
            Event::Apply(object) | Event::InitApply(object) => {
                lock(&self.entries).entry(ChildKey::of(object)).or_default().seen = Some(version(object));
            }
            Event::Delete(object) => {
                lock(&self.entries).remove(&ChildKey::of(object));
            }
            Event::Init | Event::InitDone => {}
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
            Event::Init | Event::InitDone => {}
        }
    }

    /// The newest status the watch delivered for `deployment`.
    pub fn deployment_status(&self, deployment: &Deployment) -> Option<DeploymentStatus> {
        lock(&self.deployment_status).get(&ChildKey::of(deployment)).cloned()
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
}
