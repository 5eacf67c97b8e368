//! What the operator is told at start-up and passes, unchanged, to every reconcile: where the reservation service's
//! admin API is, and the defaults and shared names the children are built with.

use std::time::Duration;

use k8s_openapi::api::core::v1::ResourceRequirements;

/// Operator-wide settings used to build children and reach the admin API.
#[derive(Clone, Debug, PartialEq)]
pub struct OperatorConfig {
    /// How each event's reservation service pods are built.
    pub service: ServiceDefaults,
    /// How each event is exposed outside the cluster; no Ingress is built when `None`.
    pub ingress: Option<IngressConfig>,
    /// How often the seat counts of an event on sale are read back for its status.
    pub seat_refresh: Duration,
    /// The only namespace watched; every namespace when `None`.
    pub watch_namespace: Option<String>,
}

/// Defaults and shared names for the reservation service pods.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceDefaults {
    /// Image used when the TicketEvent does not name one.
    pub image: String,
    /// Resources used when the TicketEvent does not give any.
    pub resources: ResourceRequirements,
    /// Secret with the database, Redis and JWT settings every service pod loads as environment.
    pub env_secret: String,
    /// Optional ConfigMap with further shared environment for every service pod.
    pub env_config_map: Option<String>,
}

/// How an event's service is exposed through an Ingress.
#[derive(Clone, Debug, PartialEq)]
pub struct IngressConfig {
    /// Each event gets the host `<name>.<base_domain>`.
    pub base_domain: String,
    /// The IngressClass to use; the cluster default when `None`.
    pub class_name: Option<String>,
    /// The TLS Secret for the event hosts (a wildcard certificate); plain HTTP when `None`.
    pub tls_secret: Option<String>,
}
