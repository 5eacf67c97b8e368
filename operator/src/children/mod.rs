//! The build stage: every object an event owns, computed purely from the TicketEvent, the operator's configuration,
//! the event's database id and the schedule's decision. Nothing here talks to the API server.
//!
//! ```text
//!  TicketEvent ──build──> Deployment (reservation service, scoped to the event, hardened pods)
//!                         Service ── Ingress (host <name>.<namespace>.<base domain>, optional)
//!                         HorizontalPodAutoscaler (min raised to peak in the peak window; none at zero)
//!                         PodDisruptionBudget
//!                         ConfigMap (the event's configuration, mounted into the pods)
//! ```
//! Every child has the TicketEvent's name, the labels of [`labels`] and the TicketEvent as controller owner.

#[cfg(test)]
mod golden;
mod hardening;
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
    /// The autoscaler whose bounds carry the schedule; none once the event is scaled to zero.
    pub hpa: Option<HorizontalPodAutoscaler>,
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

/// The public host of `event` under `base_domain`: `<name>.<namespace>.<base domain>`. The namespace is a DNS label
/// of its own, so two events of one name in two namespaces (or of two releases sharing a base domain) never share a
/// host, and neither label's length depends on the other's.
pub fn host(event: &TicketEvent, base_domain: &str) -> String {
    format!("{}.{}.{base_domain}", event.name_any(), event.namespace().unwrap_or_default())
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

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use kube::Resource;
    use ticketing_crds::MAX_NAME_LENGTH;

    use super::*;
    use crate::schedule::{decide, SaleState};
    use crate::test_fixtures::{config, spec};
    use crate::validate::validate;

    #[test]
    fn every_child_of_the_longest_name_the_crd_admits_has_a_valid_name_and_host() {
        let mut event = TicketEvent::new(&format!("a{}", "-9".repeat((MAX_NAME_LENGTH - 1) / 2)), spec());
        event.metadata.namespace = Some("n".repeat(63));
        assert_eq!(event.name_any().len(), MAX_NAME_LENGTH);
        let config = config();
        let valid = validate(&event, &config).expect("the longest name is valid");
        let decision = decide(&event.spec, SaleState::default(), event.spec.sale.opens_at - Duration::hours(1));

        let children =
            build(&BuildInput { event: &event, valid: &valid, config: &config, event_id: 1, decision: &decision });

        let Children { config_map, deployment, service, hpa, pdb, ingress } = children;
        let mut names = vec![
            (ConfigMap::kind(&()), config_map.name_any()),
            (Deployment::kind(&()), deployment.name_any()),
            (Service::kind(&()), service.name_any()),
            (PodDisruptionBudget::kind(&()), pdb.name_any()),
        ];
        names.extend(hpa.map(|hpa| (HorizontalPodAutoscaler::kind(&()), hpa.name_any())));
        let ingress = ingress.expect("the test configuration has a base domain");
        names.push((Ingress::kind(&()), ingress.name_any()));
        for (kind, name) in names {
            let dns_1035 = name.len() <= 63
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && !name.ends_with('-')
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            assert!(dns_1035, "{kind} {name} is not a DNS-1035 label");
        }
        let host = ingress.spec.and_then(|s| s.rules).and_then(|r| r[0].host.clone()).expect("a host");
        assert!(host.len() <= 253 && host.split('.').all(|label| label.len() <= 63), "{host}");
    }

    #[test]
    fn events_of_one_name_in_two_namespaces_get_two_hosts() {
        let mut first = TicketEvent::new("final", spec());
        first.metadata.namespace = Some("cup".into());
        let mut second = first.clone();
        second.metadata.namespace = Some("league".into());

        assert_eq!(host(&first, "tickets.example.com"), "final.cup.tickets.example.com");
        assert_ne!(host(&first, "tickets.example.com"), host(&second, "tickets.example.com"));
    }
}
