//! Steady state, as the benchmark sees it from watches of its own: every TicketEvent's status describes its current
//! generation, the operator reports no problem, the event is registered in the reservation service, every child
//! exists, and the `Ready` condition (enough ready pods) is true.
//!
//! The watches run beside the operator for the whole run; [`Tracker::counts`] is evaluated on a short tick, so the
//! measured time is accurate to that tick.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, PartialObjectMeta};
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use ticketing_crds::{Phase, TicketEvent};
use tokio::task::JoinHandle;

/// The kinds of child every benchmark TicketEvent gets (the operator runs with a base domain, so an Ingress too).
pub const CHILD_KINDS: [&str; 6] =
    ["ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress"];

/// How far one TicketEvent has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Progress {
    /// Not yet reconciled for its current generation, or reconciled with a problem.
    Pending,
    /// Its status describes the current generation without a problem and every child exists; pods may not be ready.
    Reconciled,
    /// Reconciled, and its `Ready` condition is true for the current generation: steady state.
    Ready,
}

/// Names of the children seen, per kind.
pub type ChildrenSeen = HashMap<&'static str, HashSet<String>>;

/// How far `event` has come, given the children that exist.
pub fn progress(event: &TicketEvent, children: &ChildrenSeen) -> Progress {
    let Some(status) = &event.status else { return Progress::Pending };
    let generation = event.metadata.generation;
    let condition = |type_: &str| {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == type_ && c.observed_generation == generation)
            .map(|c| c.status.as_str())
    };
    let name = event.name_any();
    let children_exist = CHILD_KINDS.iter().all(|kind| children.get(kind).is_some_and(|names| names.contains(&name)));
    let decided = !matches!(status.phase, None | Some(Phase::Pending) | Some(Phase::Failed));
    let reconciled = status.observed_generation == generation
        && generation.is_some()
        && decided
        && status.event_id.is_some()
        && condition("Degraded") == Some("False")
        && children_exist;
    match (reconciled, condition("Ready")) {
        (true, Some("True")) => Progress::Ready,
        (true, _) => Progress::Reconciled,
        (false, _) => Progress::Pending,
    }
}

/// How many TicketEvents have come how far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// TicketEvents the watch has seen.
    pub seen: usize,
    /// Reconciled or further.
    pub reconciled: usize,
    /// Ready.
    pub ready: usize,
}

/// What the watches have seen so far.
#[derive(Default)]
struct Seen {
    events: HashMap<String, TicketEvent>,
    children: ChildrenSeen,
}

/// Watches of the namespace's TicketEvents and of every child kind, kept up to date in the background.
pub struct Tracker {
    seen: Arc<Mutex<Seen>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Tracker {
    /// Starts the watches in `namespace`.
    pub fn start(client: &Client, namespace: &str) -> Self {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut tasks = vec![track_events(Api::namespaced(client.clone(), namespace), seen.clone())];
        tasks.push(track_children::<ConfigMap>(client, namespace, seen.clone()));
        tasks.push(track_children::<Deployment>(client, namespace, seen.clone()));
        tasks.push(track_children::<Service>(client, namespace, seen.clone()));
        tasks.push(track_children::<HorizontalPodAutoscaler>(client, namespace, seen.clone()));
        tasks.push(track_children::<PodDisruptionBudget>(client, namespace, seen.clone()));
        tasks.push(track_children::<Ingress>(client, namespace, seen.clone()));
        Self { seen, tasks }
    }

    /// How many TicketEvents have come how far, now.
    pub fn counts(&self) -> Counts {
        let seen = self.seen.lock().expect("tracker lock poisoned");
        let mut counts = Counts { seen: seen.events.len(), ..Counts::default() };
        for event in seen.events.values() {
            match progress(event, &seen.children) {
                Progress::Ready => {
                    counts.ready += 1;
                    counts.reconciled += 1;
                }
                Progress::Reconciled => counts.reconciled += 1,
                Progress::Pending => {}
            }
        }
        counts
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn track_events(api: Api<TicketEvent>, seen: Arc<Mutex<Seen>>) -> JoinHandle<()> {
    tokio::spawn(follow(watcher(api, watcher::Config::default()), move |event| {
        let mut seen = seen.lock().expect("tracker lock poisoned");
        match event {
            Event::Apply(event) | Event::InitApply(event) => {
                seen.events.insert(event.name_any(), event);
            }
            Event::Delete(event) => {
                seen.events.remove(&event.name_any());
            }
            Event::Init | Event::InitDone => {}
        }
    }))
}

fn track_children<K>(client: &Client, namespace: &str, seen: Arc<Mutex<Seen>>) -> JoinHandle<()>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let kind: &'static str = CHILD_KINDS.iter().find(|kind| **kind == K::kind(&())).expect("a tracked child kind");
    let api: Api<PartialObjectMeta<K>> = Api::namespaced(client.clone(), namespace);
    let managed = watcher::Config::default().labels("app.kubernetes.io/managed-by=ticketing-operator");
    tokio::spawn(follow(watcher(api, managed), move |event| {
        let mut seen = seen.lock().expect("tracker lock poisoned");
        let names = seen.children.entry(kind).or_default();
        match event {
            Event::Apply(object) | Event::InitApply(object) => {
                names.insert(object.name_any());
            }
            Event::Delete(object) => {
                names.remove(&object.name_any());
            }
            Event::Init | Event::InitDone => {}
        }
    }))
}

/// Feeds every event of a watch to `apply`, retrying the watch with backoff when it fails.
async fn follow<K, S>(stream: S, mut apply: impl FnMut(Event<K>) + Send)
where
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send,
{
    let stream = stream.default_backoff();
    futures::pin_mut!(stream);
    while let Some(event) = stream.next().await {
        if let Ok(event) = event {
            apply(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
    use k8s_openapi::jiff::Timestamp;
    use ticketing_crds::TicketEventStatus;

    fn condition(type_: &str, status: &str, generation: i64) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: "Test".into(),
            message: String::new(),
            observed_generation: Some(generation),
            last_transition_time: Time(Timestamp::UNIX_EPOCH),
        }
    }

    fn event(generation: i64, observed: i64, ready: &str) -> TicketEvent {
        let mut event: TicketEvent = serde_json::from_value(serde_json::json!({
            "apiVersion": "ticketing.dev/v1alpha1", "kind": "TicketEvent", "metadata": { "name": "te-1" },
            "spec": { "eventName": "Bench", "eventDate": "2031-01-01T00:00:00Z", "capacity": 10,
                      "sale": { "opensAt": "2030-12-01T00:00:00Z", "closesAt": "2030-12-02T00:00:00Z" },
                      "scaling": { "peakReplicas": 1, "hpa": { "minReplicas": 1, "maxReplicas": 2 } } }
        }))
        .expect("a valid TicketEvent");
        event.metadata.generation = Some(generation);
        event.status = Some(TicketEventStatus {
            phase: Some(Phase::Scheduled),
            event_id: Some(7),
            observed_generation: Some(observed),
            conditions: vec![condition("Ready", ready, observed), condition("Degraded", "False", observed)],
            ..TicketEventStatus::default()
        });
        event
    }

    fn all_children(name: &str) -> ChildrenSeen {
        CHILD_KINDS.iter().map(|kind| (*kind, HashSet::from([name.to_string()]))).collect()
    }

    #[test]
    fn an_event_with_every_child_and_ready_pods_is_in_steady_state() {
        assert_eq!(progress(&event(2, 2, "True"), &all_children("te-1")), Progress::Ready);
    }

    #[test]
    fn an_event_whose_pods_are_not_ready_is_only_reconciled() {
        assert_eq!(progress(&event(2, 2, "False"), &all_children("te-1")), Progress::Reconciled);
    }

    #[test]
    fn a_status_of_an_older_generation_does_not_count() {
        assert_eq!(progress(&event(3, 2, "True"), &all_children("te-1")), Progress::Pending);
    }

    #[test]
    fn a_missing_child_or_a_problem_keeps_the_event_pending() {
        let mut children = all_children("te-1");
        children.get_mut("Ingress").expect("an Ingress set").clear();
        let mut degraded = event(2, 2, "True");
        degraded.status.as_mut().expect("a status").conditions[1].status = "True".into();

        assert_eq!(progress(&event(2, 2, "True"), &children), Progress::Pending);
        assert_eq!(progress(&degraded, &all_children("te-1")), Progress::Pending);
        assert_eq!(progress(&event(2, 2, "True"), &ChildrenSeen::new()), Progress::Pending);
    }
}
