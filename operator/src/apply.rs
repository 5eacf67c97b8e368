//! The apply and prune stages: server-side apply of every built child that changed (see the ledger module) under one
//! field manager, then deletion of the children this event owns that the build no longer produces.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Mutex;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use ticketing_crds::TicketEvent;

use crate::children::{children_selector, Children, MANAGER};
use crate::error::Error;
use crate::ledger::ChildLedger;

/// A namespaced Kubernetes object type the operator applies.
pub trait Child:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned
{
}

impl<K> Child for K where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned
{
}

/// Applies every child that is not already current in `ledger` and returns the Deployment's status (from the apply's
/// answer, or from the ledger when the Deployment was current).
pub async fn apply_all(
    client: &Client,
    ledger: &ChildLedger,
    children: &Children,
) -> Result<Option<DeploymentStatus>, Error> {
    apply_if_changed(client, ledger, &children.config_map).await?;
    let applied = apply_if_changed(client, ledger, &children.deployment).await?;
    apply_if_changed(client, ledger, &children.service).await?;
    apply_if_changed(client, ledger, &children.hpa).await?;
    apply_if_changed(client, ledger, &children.pdb).await?;
    if let Some(ingress) = &children.ingress {
        apply_if_changed(client, ledger, ingress).await?;
    }
    Ok(match applied {
        Some(deployment) => deployment.status,
        None => ledger.deployment_status(&children.deployment),
    })
}

/// Applies `desired` unless the ledger says it is current; returns what the API server answered, if applied.
async fn apply_if_changed<K: Child>(client: &Client, ledger: &ChildLedger, desired: &K) -> Result<Option<K>, Error> {
    if ledger.is_current(desired) {
        return Ok(None);
    }
    let returned = apply(client, desired).await?;
    ledger.applied(desired, &returned);
    Ok(Some(returned))
}

/// The generation of each TicketEvent whose children this process has pruned. What the build produces depends only
/// on the spec (the generation) and the operator's configuration (fixed for the process), so once a generation is
/// pruned the six list calls of another prune would find nothing: prune runs once per generation per process.
#[derive(Debug, Default)]
pub struct PruneMemo {
    pruned: Mutex<HashMap<String, i64>>,
}

impl PruneMemo {
    /// Whether `event`'s current generation still has to be pruned.
    pub fn is_due(&self, event: &TicketEvent) -> bool {
        let (Some(uid), Some(generation)) = (event.uid(), event.metadata.generation) else { return true };
        self.lock().get(&uid) != Some(&generation)
    }

    /// Notes that `event`'s current generation has been pruned.
    pub fn record(&self, event: &TicketEvent) {
        if let (Some(uid), Some(generation)) = (event.uid(), event.metadata.generation) {
            self.lock().insert(uid, generation);
        }
    }

    /// Forgets `event` (it is going away).
    pub fn forget(&self, event: &TicketEvent) {
        if let Some(uid) = event.uid() {
            self.lock().remove(&uid);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.pruned.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Deletes the children of `event` that `children` no longer holds; returns `Kind/name` of each one deleted.
pub async fn prune(client: &Client, event: &TicketEvent, children: &Children) -> Result<Vec<String>, Error> {
    let mut pruned = Vec::new();
    pruned.extend(prune_kind::<ConfigMap>(client, event, Some(&children.config_map)).await?);
    pruned.extend(prune_kind::<Deployment>(client, event, Some(&children.deployment)).await?);
    pruned.extend(prune_kind::<Service>(client, event, Some(&children.service)).await?);
    pruned.extend(prune_kind::<HorizontalPodAutoscaler>(client, event, Some(&children.hpa)).await?);
    pruned.extend(prune_kind::<PodDisruptionBudget>(client, event, Some(&children.pdb)).await?);
    pruned.extend(prune_kind::<Ingress>(client, event, children.ingress.as_ref()).await?);
    Ok(pruned)
}

/// Server-side applies `object` with the operator's field manager, taking over fields others changed.
async fn apply<K: Child>(client: &Client, object: &K) -> Result<K, Error> {
    let namespace = object.namespace().expect("children are built with a namespace");
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    api.patch(&object.name_any(), &PatchParams::apply(MANAGER).force(), &Patch::Apply(object))
        .await
        .map_err(Error::kube("apply"))
}

/// Deletes the objects of kind `K` that carry `event`'s labels, are controlled by it, and are not `keep`.
async fn prune_kind<K: Child>(client: &Client, event: &TicketEvent, keep: Option<&K>) -> Result<Vec<String>, Error> {
    let namespace = event.namespace().expect("TicketEvents are namespaced");
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    let uid = event.uid();
    let existing = api
        .list_metadata(&ListParams::default().labels(&children_selector(event)))
        .await
        .map_err(Error::kube("prune"))?;
    let mut pruned = Vec::new();
    for object in existing.items {
        let controlled =
            object.owner_references().iter().any(|o| o.controller == Some(true) && Some(&o.uid) == uid.as_ref());
        let kept = keep.is_some_and(|k| k.name_any() == object.name_any());
        if controlled && !kept {
            api.delete(&object.name_any(), &DeleteParams::background()).await.map_err(Error::kube("prune"))?;
            pruned.push(format!("{}/{}", K::kind(&()), object.name_any()));
        }
    }
    Ok(pruned)
}
