//! The apply and prune stages: server-side apply of every built child that changed (see the ledger module) under one
//! field manager, then deletion of the children this event owns that the build no longer produces.
//!
//! The operator changes only what it made. Before a child is applied, the object of its name must be absent or
//! controlled by the TicketEvent (its controller owner reference): the watch of the children tells which, or else a
//! read does. One that exists and is not (a neighbour's ConfigMap, the chart's own Service) stops the apply of every
//! child with [`Error::NameConflict`], naming it. Applies go without force, so no other manager's field is taken
//! over; only on a child the event controls is a conflicting field taken back, by a second, forced apply (an edit
//! of the pods' environment is undone). Deletion is conditional on the uid that was found controlled.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Mutex;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use ticketing_crds::TicketEvent;

use crate::children::{children_selector, Children, MANAGER};
use crate::error::Error;
use crate::ledger::{controller_uid, ChildLedger};

/// A namespaced Kubernetes object type the operator applies.
pub trait Child:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned
{
}

impl<K> Child for K where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned
{
}

/// Applies every child of `event` that is not already current in `ledger`, once none of them is named like an
/// object the event does not control, and returns the Deployment's status (from the apply's answer, or from the
/// ledger when the Deployment was current).
pub async fn apply_all(
    client: &Client,
    ledger: &ChildLedger,
    event: &TicketEvent,
    children: &Children,
) -> Result<Option<DeploymentStatus>, Error> {
    let uid = event.uid().unwrap_or_default();
    let mut foreign = Vec::new();
    foreign.extend(foreign_object(client, ledger, &uid, &children.config_map).await?);
    foreign.extend(foreign_object(client, ledger, &uid, &children.deployment).await?);
    foreign.extend(foreign_object(client, ledger, &uid, &children.service).await?);
    if let Some(hpa) = &children.hpa {
        foreign.extend(foreign_object(client, ledger, &uid, hpa).await?);
    }
    foreign.extend(foreign_object(client, ledger, &uid, &children.pdb).await?);
    if let Some(ingress) = &children.ingress {
        foreign.extend(foreign_object(client, ledger, &uid, ingress).await?);
    }
    if !foreign.is_empty() {
        return Err(Error::NameConflict(format!(
            "{} already exist(s) and {} not controlled by this TicketEvent; nothing was applied",
            foreign.join(", "),
            if foreign.len() == 1 { "is" } else { "are" }
        )));
    }
    apply_if_changed(client, ledger, &children.config_map).await?;
    let applied = apply_if_changed(client, ledger, &children.deployment).await?;
    apply_if_changed(client, ledger, &children.service).await?;
    if let Some(hpa) = &children.hpa {
        apply_if_changed(client, ledger, hpa).await?;
    }
    apply_if_changed(client, ledger, &children.pdb).await?;
    if let Some(ingress) = &children.ingress {
        apply_if_changed(client, ledger, ingress).await?;
    }
    Ok(match applied {
        Some(deployment) => deployment.status,
        None => ledger.deployment_status(&children.deployment),
    })
}

/// `Kind namespace/name` of the object named like `desired` when it exists and is not controlled by the event of
/// `uid`; `None` when it is the event's, absent, or current in the ledger (so already the event's). The ledger
/// answers for what the children's watch has seen; anything else is read.
async fn foreign_object<K: Child>(
    client: &Client,
    ledger: &ChildLedger,
    uid: &str,
    desired: &K,
) -> Result<Option<String>, Error> {
    if ledger.is_current(desired) {
        return Ok(None);
    }
    let controller = match ledger.controller(desired) {
        Some(controller) => Some(controller),
        None => api::<K>(client, desired)
            .get_metadata_opt(&desired.name_any())
            .await
            .map_err(Error::kube("apply"))?
            .map(|existing| controller_uid(&existing)),
    };
    Ok(match controller {
        Some(controller) if controller.as_deref() != Some(uid) => {
            Some(format!("{} {}/{}", K::kind(&()), desired.namespace().unwrap_or_default(), desired.name_any()))
        }
        _ => None,
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

/// The generation and the kinds built of each TicketEvent whose children this process has pruned. What the build
/// produces depends on the spec (the generation), the operator's configuration (fixed for the process) and whether
/// the event is scaled to zero (no autoscaler), so once a generation is pruned with those kinds the six list calls
/// of another prune would find nothing: prune runs once per generation and set of kinds per process.
#[derive(Debug, Default)]
pub struct PruneMemo {
    pruned: Mutex<HashMap<String, (i64, bool)>>,
}

impl PruneMemo {
    /// Whether `event`'s current generation with `children` still has to be pruned.
    pub fn is_due(&self, event: &TicketEvent, children: &Children) -> bool {
        let (Some(uid), Some(generation)) = (event.uid(), event.metadata.generation) else { return true };
        self.lock().get(&uid) != Some(&(generation, children.hpa.is_some()))
    }

    /// Notes that `event`'s current generation with `children` has been pruned.
    pub fn record(&self, event: &TicketEvent, children: &Children) {
        if let (Some(uid), Some(generation)) = (event.uid(), event.metadata.generation) {
            self.lock().insert(uid, (generation, children.hpa.is_some()));
        }
    }

    /// Forgets every event, as for a new process (an instance that gains the Lease).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Forgets `event` (it is going away).
    pub fn forget(&self, event: &TicketEvent) {
        if let Some(uid) = event.uid() {
            self.lock().remove(&uid);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, bool)>> {
        self.pruned.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Deletes the children of `event` that `children` no longer holds; returns `Kind/name` of each one deleted.
pub async fn prune(client: &Client, event: &TicketEvent, children: &Children) -> Result<Vec<String>, Error> {
    let mut pruned = Vec::new();
    pruned.extend(prune_kind::<ConfigMap>(client, event, Some(&children.config_map)).await?);
    pruned.extend(prune_kind::<Deployment>(client, event, Some(&children.deployment)).await?);
    pruned.extend(prune_kind::<Service>(client, event, Some(&children.service)).await?);
    pruned.extend(prune_kind::<HorizontalPodAutoscaler>(client, event, children.hpa.as_ref()).await?);
    pruned.extend(prune_kind::<PodDisruptionBudget>(client, event, Some(&children.pdb)).await?);
    pruned.extend(prune_kind::<Ingress>(client, event, children.ingress.as_ref()).await?);
    Ok(pruned)
}

/// Server-side applies `object`, which is absent or controlled by its event, with the operator's field manager and
/// without force; when another manager holds one of its fields, applies again with force to take the field back.
async fn apply<K: Child>(client: &Client, object: &K) -> Result<K, Error> {
    let api = api::<K>(client, object);
    match api.patch(&object.name_any(), &PatchParams::apply(MANAGER), &Patch::Apply(object)).await {
        Err(kube::Error::Api(status)) if status.code == 409 => {
            api.patch(&object.name_any(), &PatchParams::apply(MANAGER).force(), &Patch::Apply(object)).await
        }
        applied => applied,
    }
    .map_err(Error::kube("apply"))
}

/// The API of `object`'s kind in its namespace.
fn api<K: Child>(client: &Client, object: &K) -> Api<K> {
    Api::namespaced(client.clone(), &object.namespace().expect("children are built with a namespace"))
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
            let only_this = Preconditions { uid: object.uid(), resource_version: None };
            let params = DeleteParams { preconditions: Some(only_this), ..DeleteParams::background() };
            api.delete(&object.name_any(), &params).await.map_err(Error::kube("prune"))?;
            pruned.push(format!("{}/{}", K::kind(&()), object.name_any()));
        }
    }
    Ok(pruned)
}
