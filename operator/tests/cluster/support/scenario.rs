//! A namespace with a real reservation service and in-process operator instances driven by a manual clock, and
//! polling with a deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration as ChronoDuration, Timelike, Utc};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use kube::Client;
use serde_json::json;
use ticketing_crds::{Phase, TicketEvent, TicketEventStatus};
use ticketing_operator::apply::Child;
use ticketing_operator::clock::ManualClock;
use ticketing_operator::config::{IngressConfig, OperatorConfig, PodSettings, ServiceDefaults, ZoneSpread};
use ticketing_operator::leader::LeaseSettings;
use ticketing_operator::service_api::{AdminToken, ServiceApi};
use ticketing_operator::Operator;
use ticketing_testkit::control_plane::ControlPlane;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::service::ReservationService;
use super::{cluster, DEADLINE};

/// Polls `probe` until it returns `Some`, failing with `what` after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    super::kube_wait::poll(what, DEADLINE, probe).await
}

/// An operator instance running in this process.
pub struct RunningOperator {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<Result<(), ticketing_operator::error::Error>>>,
    /// The address of its /livez, /readyz and /metrics endpoint.
    pub http: std::net::SocketAddr,
}

impl RunningOperator {
    /// Starts an instance with `config`, holding its lease in `namespace` under `identity`.
    pub async fn start(
        client: Client,
        config: OperatorConfig,
        namespace: &str,
        identity: &str,
        api_url: &str,
        admin_token: &str,
        clock: &ManualClock,
    ) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let http = listener.local_addr()?;
        let operator = Operator {
            client,
            config,
            service_api: ServiceApi::new(api_url, AdminToken::new(admin_token)),
            clock: Arc::new(clock.clone()),
            lease: LeaseSettings {
                name: "ticketing-operator".into(),
                namespace: namespace.into(),
                identity: identity.into(),
                duration_secs: 10,
            },
            reconcile_all: Some(clock.moves()),
        };
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(ticketing_operator::run(operator, listener, None, shutdown));
        Ok(Self { stop, task: Some(task), http })
    }

    /// Shuts the instance down gracefully (it releases its lease) and waits for it; a second call does nothing.
    pub async fn stop(&mut self) -> Result<()> {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            tokio::time::timeout(DEADLINE, task).await.context("the operator did not stop in time")???;
        }
        Ok(())
    }
}

/// The configuration of the test operators: watching `namespace` only, with an Ingress base domain.
pub fn config(namespace: &str) -> OperatorConfig {
    OperatorConfig {
        service: ServiceDefaults {
            image: "ticketing-service:test".into(),
            resources: Default::default(),
            env_secret: "ticketing-service-env".into(),
            env_config_map: None,
            pods: PodSettings {
                run_as_user: 65532,
                image_pull_secrets: Vec::new(),
                zone_spread: ZoneSpread::Preferred,
                pre_stop_seconds: 5,
            },
        },
        ingress: Some(IngressConfig {
            base_domain: "tickets.test".into(),
            class_name: Some("nginx".into()),
            tls_secret: Some("tickets-tls".into()),
        }),
        seat_refresh: Duration::from_secs(1),
        watch_namespace: Some(namespace.into()),
    }
}

/// A namespace with a reservation service, an operator instance (`alpha`) and a manual clock; the TicketEvents it
/// creates have a sale that the service's own clock sees open (from an hour ago until tomorrow), while the operator's
/// clock starts two hours before the opening.
pub struct Scenario {
    control_plane: &'static ControlPlane,
    /// The test's namespace.
    pub namespace: String,
    /// The real reservation service.
    pub service: ReservationService,
    /// The operator instance.
    pub operator: RunningOperator,
    /// The operator's clock.
    pub clock: ManualClock,
    /// TicketEvents in the namespace.
    pub events: Api<TicketEvent>,
    /// When the sale of the created events opens.
    pub opens_at: DateTime<Utc>,
    /// When it closes.
    pub closes_at: DateTime<Utc>,
}

impl Scenario {
    /// Sets up the namespace, the shared Secret the pods load, the service and the operator `alpha`.
    pub async fn start(prefix: &str) -> Result<Self> {
        let control_plane = cluster().await?;
        let namespace = control_plane.namespace(prefix).await?;
        let secrets: Api<Secret> = Api::namespaced(control_plane.client(), &namespace);
        let secret: Secret = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "ticketing-service-env" },
            "stringData": { "DATABASE_URL": "mysql://ticketing@db/ticketing" }
        }))?;
        secrets.create(&PostParams::default(), &secret).await?;
        let service = ReservationService::start().await?;
        let opens_at = Utc::now().with_nanosecond(0).context("whole seconds")? - ChronoDuration::hours(1);
        let clock = ManualClock::new(opens_at - ChronoDuration::hours(2));
        let operator = RunningOperator::start(
            control_plane.client(),
            config(&namespace),
            &namespace,
            "alpha",
            &service.url,
            &service.admin_token,
            &clock,
        )
        .await?;
        Ok(Scenario {
            control_plane,
            events: Api::namespaced(control_plane.client(), &namespace),
            namespace,
            service,
            operator,
            clock,
            opens_at,
            closes_at: opens_at + ChronoDuration::days(1),
        })
    }

    /// Starts another operator instance in the scenario's namespace, with `client` and `config`.
    pub async fn start_operator(
        &self,
        identity: &str,
        client: Client,
        config: OperatorConfig,
    ) -> Result<RunningOperator> {
        RunningOperator::start(
            client,
            config,
            &self.namespace,
            identity,
            &self.service.url,
            &self.service.admin_token,
            &self.clock,
        )
        .await
    }

    /// Adds `labels` to the scenario's namespace (e.g. a Pod Security Standard to enforce).
    pub async fn label_namespace(&self, labels: serde_json::Value) -> Result<()> {
        let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client());
        let patch = json!({ "metadata": { "labels": labels } });
        namespaces.patch(&self.namespace, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(patch)).await?;
        Ok(())
    }

    /// An admin client.
    pub fn client(&self) -> Client {
        self.control_plane.client()
    }

    /// The control plane.
    pub fn control_plane(&self) -> &'static ControlPlane {
        self.control_plane
    }

    /// Creates a TicketEvent: baseline 1, peak 3 from 30 minutes before the opening, HPA 1 to 5.
    pub async fn create_event(&self, name: &str, capacity: i64) -> Result<TicketEvent> {
        let event: TicketEvent = serde_json::from_value(json!({
            "apiVersion": "ticketing.dev/v1alpha1", "kind": "TicketEvent", "metadata": { "name": name },
            "spec": {
                "eventName": "Cup Final", "eventDate": self.closes_at + ChronoDuration::days(30), "capacity": capacity,
                "sale": { "opensAt": self.opens_at, "closesAt": self.closes_at },
                "scaling": { "baselineReplicas": 1, "peakReplicas": 3, "prewarmMinutes": 30,
                             "hpa": { "minReplicas": 1, "maxReplicas": 5 } }
            }
        }))?;
        Ok(self.events.create(&PostParams::default(), &event).await?)
    }

    /// A child of kind `K` named `name`.
    pub async fn get<K: Child>(&self, name: &str) -> Result<K> {
        Ok(Api::<K>::namespaced(self.client(), &self.namespace).get(name).await?)
    }

    /// Waits until the event's status shows `phase`, `replicas` pods all ready, `Ready=True` and the current
    /// generation observed; returns that status.
    pub async fn wait_ready(&self, name: &str, phase: Phase, replicas: i32) -> Result<TicketEventStatus> {
        eventually(&format!("{name} to be {phase:?} with {replicas} ready replicas"), || async {
            let event = self.events.get(name).await?;
            let Some(status) = event.status else { return Ok(None) };
            let ready = status.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True");
            let settled = status.phase == Some(phase)
                && status.replicas == replicas
                && status.ready_replicas == replicas
                && ready
                && status.observed_generation == event.metadata.generation;
            Ok(settled.then_some(status))
        })
        .await
    }

    /// Stops the operator, then the service.
    pub async fn stop(mut self) -> Result<()> {
        self.operator.stop().await
    }
}
