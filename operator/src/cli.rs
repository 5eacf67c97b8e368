//! The command line: `run` (the default), `crd` and `rbac`, and the flags of `run` (each also read from the
//! environment variable shown in `--help`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::config::{IngressConfig, OperatorConfig, PodSettings, ServiceDefaults, ZoneSpread};
use crate::error::Error;
use crate::leader::LeaseSettings;
use crate::service_api::AdminToken;
use crate::telemetry::LogFormat;

/// Runs a reservation service per TicketEvent, scaled ahead of its on-sale.
#[derive(Parser, Debug)]
#[command(name = "ticketing-operator", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; `run` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The flags of `run`, accepted without the subcommand.
    #[command(flatten)]
    pub run: RunArgs,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Runs the operator (the default).
    Run(Box<RunArgs>),
    /// Prints the TicketEvent CustomResourceDefinition as YAML.
    Crd,
    /// Prints the ClusterRole and the (lease) Role the operator needs, as YAML.
    Rbac,
    /// Deletes every TicketEvent in scope and waits until they are gone, their sales closed and their finalizers
    /// removed by the running operator (the chart's pre-delete hook, before the CRD goes).
    DeleteEvents(DeleteEventsArgs),
}

/// The flags of `delete-events`.
#[derive(Args, Debug, Clone)]
pub struct DeleteEventsArgs {
    /// Delete the TicketEvents of this namespace only (every namespace when unset).
    #[arg(long, env = "TICKETING_WATCH_NAMESPACE")]
    pub namespace: Option<String>,
    /// How long to wait for the TicketEvents to be gone before failing.
    #[arg(long, default_value_t = 300)]
    pub timeout_seconds: u64,
}

/// The flags of `run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Base URL of the reservation service's admin API (the shared, unscoped API deployment).
    #[arg(long, env = "TICKETING_API_URL")]
    pub api_url: Option<String>,
    /// File holding the admin bearer token for the admin API.
    #[arg(long, env = "TICKETING_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// The admin bearer token itself (prefer --admin-token-file: a flag shows in the process list).
    #[arg(long, env = "TICKETING_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Image of the reservation service, for events that do not name one.
    #[arg(long, env = "TICKETING_SERVICE_IMAGE", default_value = "ticketing-service:0.1.0")]
    pub service_image: String,
    /// Secret with the database, Redis and JWT settings loaded as environment by every service pod.
    #[arg(long, env = "TICKETING_SERVICE_SECRET", default_value = "ticketing-service-env")]
    pub service_secret: String,
    /// Optional ConfigMap with further shared environment for every service pod.
    #[arg(long, env = "TICKETING_SERVICE_CONFIG_MAP")]
    pub service_config_map: Option<String>,
    /// CPU request of a service pod, for events that give no resources.
    #[arg(long, env = "TICKETING_SERVICE_CPU_REQUEST", default_value = "250m")]
    pub service_cpu_request: String,
    /// Memory request of a service pod, for events that give no resources.
    #[arg(long, env = "TICKETING_SERVICE_MEMORY_REQUEST", default_value = "256Mi")]
    pub service_memory_request: String,
    /// Memory limit of a service pod, for events that give no resources.
    #[arg(long, env = "TICKETING_SERVICE_MEMORY_LIMIT", default_value = "512Mi")]
    pub service_memory_limit: String,
    /// User, group and filesystem group of the service pods (the service image's own user by default).
    #[arg(long, env = "TICKETING_SERVICE_RUN_AS_USER", default_value_t = 65532, value_parser = clap::value_parser!(i64).range(1..))]
    pub service_run_as_user: i64,
    /// Comma-separated Secrets with registry credentials for the service image.
    #[arg(long, env = "TICKETING_SERVICE_IMAGE_PULL_SECRETS", value_delimiter = ',')]
    pub service_image_pull_secrets: Vec<String>,
    /// How the pods of an event spread over zones (`topology.kubernetes.io/zone`).
    #[arg(long, env = "TICKETING_SERVICE_ZONE_SPREAD", value_enum, default_value = "preferred")]
    pub service_zone_spread: ZoneSpread,
    /// Seconds a terminating service pod keeps serving before it is told to stop (preStop), so that its Service
    /// and Ingress have stopped sending it requests; 0 for none.
    #[arg(long, env = "TICKETING_SERVICE_PRE_STOP_SECONDS", default_value_t = 5, value_parser = clap::value_parser!(i64).range(0..=120))]
    pub service_pre_stop_seconds: i64,
    /// Each event gets an Ingress host `<name>.<namespace>.<base domain>`; no Ingress when unset or empty.
    #[arg(long, env = "TICKETING_BASE_DOMAIN")]
    pub base_domain: Option<String>,
    /// IngressClass of the event Ingresses (the cluster default when unset).
    #[arg(long, env = "TICKETING_INGRESS_CLASS")]
    pub ingress_class: Option<String>,
    /// TLS Secret (a wildcard certificate for the base domain) of the event Ingresses; plain HTTP when unset.
    #[arg(long, env = "TICKETING_TLS_SECRET")]
    pub tls_secret: Option<String>,
    /// Seconds between reads of the seat counts of an event that is prewarming or on sale.
    #[arg(long, env = "TICKETING_SEAT_REFRESH_SECONDS", default_value_t = 15)]
    pub seat_refresh_seconds: u64,
    /// Watch TicketEvents in this namespace only (every namespace when unset).
    #[arg(long, env = "TICKETING_WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,
    /// Address of the /livez, /readyz and /metrics endpoint.
    #[arg(long, env = "TICKETING_METRICS_BIND", default_value = "0.0.0.0:8080")]
    pub metrics_bind: SocketAddr,
    /// Name of the leader-election Lease.
    #[arg(long, env = "TICKETING_LEASE_NAME", default_value = "ticketing-operator")]
    pub lease_name: String,
    /// Namespace of the leader-election Lease (the operator's own namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
    /// Seconds the leader keeps the Lease without renewing it.
    #[arg(long, env = "TICKETING_LEASE_DURATION_SECONDS", default_value_t = 15)]
    pub lease_duration_seconds: u64,
    /// This instance's identity in the Lease and in Kubernetes Events (the pod name); random when unset.
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Log line format; the level comes from RUST_LOG (default info).
    #[arg(long, env = "TICKETING_LOG_FORMAT", value_enum, default_value = "json")]
    pub log_format: LogFormat,
}

impl RunArgs {
    /// The admin API's base URL, required by `run`.
    pub fn api_url(&self) -> Result<&str, Error> {
        self.api_url.as_deref().ok_or_else(|| Error::Startup("--api-url (TICKETING_API_URL) is required".into()))
    }

    /// The admin token from `--admin-token-file`, else from `TICKETING_ADMIN_TOKEN`.
    pub fn admin_token(&self) -> Result<AdminToken, Error> {
        match (&self.admin_token_file, &self.admin_token) {
            (Some(path), _) => std::fs::read_to_string(path)
                .map(|token| AdminToken::new(&token))
                .map_err(|e| Error::Startup(format!("reading the admin token file {}: {e}", path.display()))),
            (None, Some(token)) => Ok(AdminToken::new(token)),
            (None, None) => Err(Error::Startup("--admin-token-file or TICKETING_ADMIN_TOKEN is required".into())),
        }
    }

    /// The configuration every reconcile uses.
    pub fn operator_config(&self) -> OperatorConfig {
        let quantity = |value: &str| Quantity(value.to_string());
        OperatorConfig {
            service: ServiceDefaults {
                image: self.service_image.clone(),
                resources: ResourceRequirements {
                    requests: Some(BTreeMap::from([
                        ("cpu".to_string(), quantity(&self.service_cpu_request)),
                        ("memory".to_string(), quantity(&self.service_memory_request)),
                    ])),
                    limits: Some(BTreeMap::from([("memory".to_string(), quantity(&self.service_memory_limit))])),
                    ..ResourceRequirements::default()
                },
                env_secret: self.service_secret.clone(),
                env_config_map: self.service_config_map.clone().filter(|name| !name.is_empty()),
                pods: PodSettings {
                    run_as_user: self.service_run_as_user,
                    image_pull_secrets: self
                        .service_image_pull_secrets
                        .iter()
                        .map(|name| name.trim().to_string())
                        .filter(|name| !name.is_empty())
                        .collect(),
                    zone_spread: self.service_zone_spread,
                    pre_stop_seconds: self.service_pre_stop_seconds,
                },
            },
            ingress: self.base_domain.clone().filter(|domain| !domain.is_empty()).map(|base_domain| IngressConfig {
                base_domain,
                class_name: self.ingress_class.clone().filter(|class| !class.is_empty()),
                tls_secret: self.tls_secret.clone().filter(|secret| !secret.is_empty()),
            }),
            seat_refresh: Duration::from_secs(self.seat_refresh_seconds.max(1)),
            watch_namespace: self.watch_namespace.clone().filter(|namespace| !namespace.is_empty()),
        }
    }

    /// The leader-election settings.
    pub fn lease_settings(&self) -> LeaseSettings {
        LeaseSettings {
            name: self.lease_name.clone(),
            namespace: self.lease_namespace.clone(),
            identity: self.identity.clone().unwrap_or_else(|| format!("ticketing-operator-{}", uuid::Uuid::new_v4())),
            duration_secs: self.lease_duration_seconds.max(2),
        }
    }
}
