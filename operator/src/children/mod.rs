//! The build stage: every object an event owns, computed purely from the TicketEvent, the operator's configuration,
//! the event's database id and the schedule's decision. Nothing here talks to the API server.
//!
//! ```text
//!  TicketEvent ──build──> Deployment (reservation service, scoped to the event)
//!                         Service ── Ingress (host <name>.<base domain>, optional)
//!                         HorizontalPodAutoscaler (min raised to peak in the peak window)
//!                         PodDisruptionBudget
//!                         ConfigMap (the event's configuration, mounted into the pods)
//! ```
//! Every child has the TicketEvent's name, the labels of [`labels`] and the TicketEvent as controller owner.

#[cfg(test)]
mod golden;
mod network;
mod scaling;
mod workload;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::ObjectMeta;
use kube::{Resource, ResourceExt};
use ticketing_crds::TicketEvent;

use crate::config::OperatorConfig;
use crate::schedule::Decision;
use crate::validate::ValidEvent;

/// The field manager of everything the operator applies, and the value of its `managed-by` label.
pub const MANAGER: &str = "ticketing-operator";
/// The label naming the TicketEvent a child belongs to.
pub const EVENT_LABEL: &str = "ticketing.dev/event";
/// The container port of the reservation service.
pub const HTTP_PORT: i32 = 8080;

/// Every object one TicketEvent owns.
#[derive(Clone, Debug, PartialEq)]
pub struct Children {
    /// The event's configuration, mounted into the pods.
    pub config_map: ConfigMap,
    /// The reservation service pods.
    pub deployment: Deployment,
    /// The in-cluster address of the pods.
    pub service: Service,
    /// The autoscaler whose bounds carry the schedule.
    pub hpa: HorizontalPodAutoscaler,
    /// Keeps voluntary evictions to one pod at a time.
    pub pdb: PodDisruptionBudget,
    /// The public host of the event, when the operator is configured with a base domain.
    pub ingress: Option<Ingress>,
}

/// What the build stage needs besides the spec.
pub struct BuildInput<'a> {
    /// The TicketEvent, with name, namespace and uid.
    pub event: &'a TicketEvent,
    /// The validated spec with the operator's defaults filled in.
    pub valid: &'a ValidEvent,
    /// The operator's configuration.
    pub config: &'a OperatorConfig,
    /// The event's id in the reservation service's database.
    pub event_id: i64,
    /// The schedule's verdict now.
    pub decision: &'a Decision,
}

/// Builds every child of the event.
pub fn build(input: &BuildInput<'_>) -> Children {
    Children {
        config_map: workload::config_map(input),
        deployment: workload::deployment(input),
        service: network::service(input),
        hpa: scaling::hpa(input),
        pdb: scaling::pdb(input),
        ingress: network::ingress(input),
    }
}

/// The labels every child and every pod carries.
pub fn labels(event: &TicketEvent) -> BTreeMap<String, String> {
    let mut labels = selector_labels(event);
    labels.insert("app.kubernetes.io/instance".into(), event.name_any());
    labels.insert("app.kubernetes.io/component".into(), "reservations".into());
    labels.insert("app.kubernetes.io/managed-by".into(), MANAGER.into());
    labels
}

/// The labels that select the event's pods.
pub fn selector_labels(event: &TicketEvent) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "ticketing-service".to_string()),
        (EVENT_LABEL.to_string(), event.name_any()),
    ])
}

/// The selector of the event's pods as a string, for the scale subresource.
pub fn selector_string(event: &TicketEvent) -> String {
    selector_labels(event).iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// The label selector that finds every child the operator made for `event`.
pub fn children_selector(event: &TicketEvent) -> String {
    format!("{EVENT_LABEL}={},app.kubernetes.io/managed-by={MANAGER}", event.name_any())
}

/// Metadata of a child: the event's name and namespace, the labels and the controller owner reference.
fn metadata(event: &TicketEvent) -> ObjectMeta {
    ObjectMeta {
        name: Some(event.name_any()),
        namespace: event.namespace(),
        labels: Some(labels(event)),
        owner_references: event.controller_owner_ref(&()).map(|owner| vec![owner]),
        ..ObjectMeta::default()
    }
}
