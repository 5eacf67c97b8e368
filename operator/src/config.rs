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
    /// How the pods are hardened and spread (see the children's hardening module).
    pub pods: PodSettings,
}

/// The operator-wide settings of every event's pods beyond the container: the identity they run as, where their
/// images come from, how they spread and how they stop.
#[derive(Clone, Debug, PartialEq)]
pub struct PodSettings {
    /// The user, group and filesystem group of the pods (the service image's own user by default).
    pub run_as_user: i64,
    /// Secrets with registry credentials for the service image.
    pub image_pull_secrets: Vec<String>,
    /// How the pods of an event spread over zones.
    pub zone_spread: ZoneSpread,
    /// How long a terminating pod keeps serving before it is told to stop, so that the Service and the Ingress
    /// have removed it first; 0 for no delay.
    pub pre_stop_seconds: i64,
}

/// How the pods of an event spread over availability zones (`topology.kubernetes.io/zone`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ZoneSpread {
    /// No spreading constraint.
    Off,
    /// Spread evenly when the scheduler can (`ScheduleAnyway`): a lost zone leaves pods elsewhere, and a pod is never
    /// left pending for want of a zone.
    Preferred,
    /// Never place more than one pod above the even spread in a zone (`DoNotSchedule`); nodes without a zone label
    /// are not used.
    Required,
}

/// How an event's service is exposed through an Ingress.
#[derive(Clone, Debug, PartialEq)]
pub struct IngressConfig {
    /// Each event gets the host `<name>.<namespace>.<base_domain>`.
    pub base_domain: String,
    /// The IngressClass to use; the cluster default when `None`.
    pub class_name: Option<String>,
    /// The TLS Secret for the event hosts (a wildcard certificate); plain HTTP when `None`.
    pub tls_secret: Option<String>,
}
