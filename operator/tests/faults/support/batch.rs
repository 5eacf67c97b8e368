//! A batch of TicketEvents and what the faults must leave behind: every event converged (on sale, `Ready`, its
//! generation observed, its pod ready), exactly one child of each kind controlled by each event and no orphan, one
//! ReplicaSet per Deployment (no rollout), one row per event in the reservation service; and a status that stays
//! put while it is watched afterwards.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use chrono::{Duration as ChronoDuration, Timelike, Utc};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use ticketing_crds::{Phase, TicketEvent};

use super::operator::OperatorProcess;
use super::{eventually, Fixture, DEADLINE};

/// TicketEvents per batch.
pub const BATCH: usize = 20;
/// How long the status is watched after convergence for flapping.
pub const STABLE_WINDOW: Duration = Duration::from_secs(5);

/// The names of the batch's events.
pub fn names() -> Vec<String> {
    (0..BATCH).map(|i| format!("event-{i:02}")).collect()
}

/// Creates the batch.
pub async fn create(fixture: &Fixture) -> Result<()> {
    create_named(fixture, &names()).await
}

/// Creates TicketEvents named `names`: sales that opened an hour ago, one pod each (peak 1, HPA 1 to 2).
pub async fn create_named(fixture: &Fixture, names: &[String]) -> Result<()> {
    let opens_at = Utc::now().with_nanosecond(0).context("whole seconds")? - ChronoDuration::hours(1);
    let closes_at = opens_at + ChronoDuration::days(1);
    let events = fixture.events();
    for name in names {
        let event: TicketEvent = serde_json::from_value(json!({
            "apiVersion": "ticketing.dev/v1alpha1", "kind": "TicketEvent", "metadata": { "name": name },
            "spec": {
                "eventName": format!("Fault {name}"), "eventDate": closes_at + ChronoDuration::days(30), "capacity": 100,
                "sale": { "opensAt": opens_at, "closesAt": closes_at },
                "scaling": { "baselineReplicas": 1, "peakReplicas": 1, "hpa": { "minReplicas": 1, "maxReplicas": 2 } }
            }
        }))?;
        events.create(&PostParams::default(), &event).await?;
    }
    Ok(())
}

/// Changes every event's spec (its per-user limit), so each has generation 2.
pub async fn change_every_spec(fixture: &Fixture, per_user_limit: i32) -> Result<()> {
    let events = fixture.events();
    for name in names() {
        let change = json!({ "spec": { "perUserLimit": per_user_limit } });
        events.patch(&name, &PatchParams::default(), &Patch::Merge(change)).await?;
    }
    Ok(())
}

/// How far the batch got: events with their first child (the ConfigMap), and events converged.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Events with a ConfigMap.
    pub begun: usize,
    /// Events converged.
    pub ready: usize,
}

/// How far the batch is now.
pub async fn progress(fixture: &Fixture) -> Result<Progress> {
    let config_maps: Api<ConfigMap> = Api::namespaced(fixture.control_plane.client(), &fixture.namespace);
    let managed = ListParams::default().labels("app.kubernetes.io/managed-by=ticketing-operator");
    let begun = config_maps.list_metadata(&managed).await?.items.len();
    let events = fixture.events().list(&ListParams::default()).await?;
    Ok(Progress { begun, ready: events.items.iter().filter(|e| is_converged(e)).count() })
}

/// Returns as soon as at least `count` events have their first child, i.e. while the batch is being applied. A watch
/// rather than polling, so that the fault lands within milliseconds of that moment.
pub async fn wait_mid_apply(fixture: &Fixture, count: usize) -> Result<()> {
    let config_maps: Api<ConfigMap> = Api::namespaced(fixture.control_plane.client(), &fixture.namespace);
    let managed = watcher::Config::default().labels("app.kubernetes.io/managed-by=ticketing-operator");
    let stream = watcher(config_maps, managed);
    futures::pin_mut!(stream);
    let mut begun = BTreeSet::new();
    let seen = async {
        while let Some(change) = stream.next().await {
            if let watcher::Event::Apply(config_map) | watcher::Event::InitApply(config_map) = change? {
                begun.insert(config_map.name_any());
                if begun.len() >= count {
                    return Ok(());
                }
            }
        }
        bail!("the ConfigMap watch ended")
    };
    tokio::time::timeout(DEADLINE, seen).await.with_context(|| format!("{count} events to have their first child"))?
}

/// Whether `event` is converged: on sale, its generation observed, `Ready` and not `Degraded`, its one pod ready.
pub fn is_converged(event: &TicketEvent) -> bool {
    let Some(status) = &event.status else { return false };
    let condition = |type_: &str, value: &str| status.conditions.iter().any(|c| c.type_ == type_ && c.status == value);
    status.phase == Some(Phase::OnSale)
        && status.observed_generation == event.metadata.generation
        && status.event_id.is_some()
        && (status.replicas, status.ready_replicas) == (1, 1)
        && condition("Ready", "True")
        && condition("Degraded", "False")
}

/// The `lastTransitionTime` of the `Ready` condition.
fn ready_since(event: &TicketEvent) -> Option<Time> {
    event.status.as_ref()?.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.last_transition_time.clone())
}

/// What convergence left: when each event became `Ready`, and how long convergence took.
pub struct Converged {
    /// `Ready`'s `lastTransitionTime` per event name.
    pub ready_since: BTreeMap<String, Time>,
    /// From the call to convergence.
    pub took: Duration,
}

/// Waits until every event of the batch is converged with exactly its children and its row in the service, with
/// `generation` as the spec's generation; `operators` are named in the failure message.
pub async fn converge(fixture: &Fixture, generation: i64, operators: &[&OperatorProcess]) -> Result<Converged> {
    let started = Instant::now();
    let logs: Vec<String> = operators.iter().map(|o| o.tail()).collect();
    let events = eventually(&format!("every event to converge\n{}", logs.join("\n")), || async {
        let list = fixture.events().list(&ListParams::default()).await?;
        let all = list.items.len() == BATCH
            && list.items.iter().all(|e| is_converged(e) && e.metadata.generation == Some(generation));
        Ok(all.then_some(list.items))
    })
    .await?;
    let exact = eventually("every event to own exactly its children", || async {
        Ok(check_children(fixture, &events).await.ok())
    });
    if exact.await.is_err() {
        // Says which child is missing or doubled.
        check_children(fixture, &events).await?;
    }
    check_service_rows(fixture, &events).await?;
    let ready_since = events
        .iter()
        .map(|e| Ok((e.name_any(), ready_since(e).context("a Ready condition")?)))
        .collect::<Result<_>>()?;
    Ok(Converged { ready_since, took: started.elapsed() })
}

/// Fails unless each event controls exactly one child of each kind, named after it, no child is controlled by an
/// event that does not exist, and each Deployment has one ReplicaSet.
pub async fn check_children(fixture: &Fixture, events: &[TicketEvent]) -> Result<()> {
    let uids: BTreeMap<String, String> = events.iter().map(|e| (e.uid().unwrap_or_default(), e.name_any())).collect();
    let mut counts = BTreeMap::new();
    counts.insert("ConfigMap", count_controlled::<ConfigMap>(fixture, &uids).await?);
    counts.insert("Deployment", count_controlled::<Deployment>(fixture, &uids).await?);
    counts.insert("Service", count_controlled::<Service>(fixture, &uids).await?);
    counts.insert("HorizontalPodAutoscaler", count_controlled::<HorizontalPodAutoscaler>(fixture, &uids).await?);
    counts.insert("PodDisruptionBudget", count_controlled::<PodDisruptionBudget>(fixture, &uids).await?);
    let ingresses = count_controlled::<Ingress>(fixture, &uids).await?;
    ensure!(ingresses.is_empty(), "no Ingress is built without a base domain, found {ingresses:?}");
    for (kind, per_event) in &counts {
        for name in uids.values() {
            let found = per_event.get(name).copied().unwrap_or(0);
            ensure!(found == 1, "{name} controls {found} {kind}s, expected exactly 1");
        }
        ensure!(per_event.len() == uids.len(), "{kind}s controlled by unknown events: {per_event:?}");
    }
    let replica_sets = count_controlled_by::<ReplicaSet>(fixture, "Deployment").await?;
    for name in uids.values() {
        let found = replica_sets.get(name).copied().unwrap_or(0);
        ensure!(found == 1, "Deployment {name} has {found} ReplicaSets: the faults caused a rollout");
    }
    Ok(())
}

/// Counts the objects of kind `K` in the namespace per controlling TicketEvent (by name, `?<uid>` for an unknown
/// one); fails on a child whose name is not its event's.
async fn count_controlled<K>(fixture: &Fixture, uids: &BTreeMap<String, String>) -> Result<BTreeMap<String, usize>>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + std::fmt::Debug + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(fixture.control_plane.client(), &fixture.namespace);
    let mut counts = BTreeMap::new();
    for object in api.list_metadata(&ListParams::default()).await? {
        let owner = object.owner_references().iter().find(|o| o.controller == Some(true) && o.kind == "TicketEvent");
        if let Some(owner) = owner {
            let event = uids.get(&owner.uid).cloned().unwrap_or_else(|| format!("?{}", owner.uid));
            ensure!(event == object.name_any(), "{} {} is controlled by {event}", K::kind(&()), object.name_any());
            *counts.entry(event).or_default() += 1;
        }
    }
    Ok(counts)
}

/// Counts the objects of kind `K` per controller of kind `owner_kind`, by the controller's name.
async fn count_controlled_by<K>(fixture: &Fixture, owner_kind: &str) -> Result<BTreeMap<String, usize>>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + std::fmt::Debug + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(fixture.control_plane.client(), &fixture.namespace);
    let mut counts = BTreeMap::new();
    for object in api.list_metadata(&ListParams::default()).await? {
        if let Some(owner) =
            object.owner_references().iter().find(|o| o.controller == Some(true) && o.kind == owner_kind)
        {
            *counts.entry(owner.name.clone()).or_default() += 1;
        }
    }
    Ok(counts)
}

/// Fails unless the reservation service holds exactly one event per TicketEvent, the one its status names.
async fn check_service_rows(fixture: &Fixture, events: &[TicketEvent]) -> Result<()> {
    let response = reqwest::Client::new()
        .get(format!("{}/api/events", fixture.service.url))
        .bearer_auth(&fixture.service.admin_token)
        .send()
        .await?;
    let body: Value = response.json().await?;
    let rows = body["data"].as_array().context("a list of events")?;
    ensure!(rows.len() == BATCH, "the service holds {} events for {BATCH} TicketEvents", rows.len());
    for event in events {
        let name = format!("Fault {}", event.name_any());
        let matching: Vec<&Value> = rows.iter().filter(|r| r["eventName"] == name.as_str()).collect();
        let id = event.status.as_ref().and_then(|s| s.event_id);
        ensure!(
            matching.len() == 1
                && matching[0]["id"].as_i64() == id
                && matching[0]["perUserLimit"].as_i64() == Some(i64::from(event.spec.per_user_limit)),
            "{} (status id {id:?}) has service rows {matching:?}",
            event.name_any()
        );
    }
    Ok(())
}

/// Watches the TicketEvents until `until` completes and for [`STABLE_WINDOW`] after, failing on any event that is
/// deleted, stops being converged, or whose `Ready` condition moves its `lastTransitionTime` (a flap, even one back to
/// `True`); then checks the children again. Returns how many changes the watch saw after its initial list.
pub async fn assert_stable(
    fixture: &Fixture,
    converged: &Converged,
    until: impl std::future::Future<Output = Result<()>>,
) -> Result<usize> {
    let stream = watcher(fixture.events(), watcher::Config::default());
    futures::pin_mut!(stream);
    let mut changes = 0;
    let observe = async {
        while let Some(change) = stream.next().await {
            let event = match change? {
                watcher::Event::InitApply(event) => event,
                watcher::Event::Apply(event) => {
                    changes += 1;
                    event
                }
                watcher::Event::Delete(event) => bail!("{} was deleted", event.name_any()),
                watcher::Event::Init | watcher::Event::InitDone => continue,
            };
            let name = event.name_any();
            ensure!(is_converged(&event), "{name} left convergence: {:?}", event.status);
            let since = ready_since(&event);
            ensure!(
                since.as_ref() == converged.ready_since.get(&name),
                "{name}'s Ready condition moved from {:?} to {since:?}: {:?}",
                converged.ready_since.get(&name),
                event.status
            );
        }
        bail!("the TicketEvent watch ended")
    };
    let window = async {
        until.await?;
        tokio::time::sleep(STABLE_WINDOW).await;
        Ok::<_, anyhow::Error>(())
    };
    tokio::select! {
        failed = observe => failed?,
        ended = window => ended?,
    }
    let events = fixture.events().list(&ListParams::default()).await?.items;
    check_children(fixture, &events).await?;
    Ok(changes)
}
