//! The cluster side of the run: a control plane of its own (`ticketing_testkit::control_plane`), the TicketEvent CRD
//! established, a namespace with the Secret the service pods load, a fake node big enough for one pod per
//! TicketEvent (the harness's own node takes 110 pods), and a second Service CIDR (the harness's /24 holds about 250
//! Services, one per TicketEvent is needed); and the CPU time each control-plane component has used.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use k8s_openapi::api::core::v1::{Node, Secret};
use k8s_openapi::api::networking::v1::ServiceCIDR;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::conditions;
use kube::runtime::wait::await_condition;
use kube::{Client, CustomResourceExt};
use serde_json::json;
use ticketing_crds::TicketEvent;
use ticketing_testkit::control_plane::ControlPlane;

use crate::service_proc::cpu_seconds;

/// How long each set-up step may take.
const SETUP_LIMIT: Duration = Duration::from_secs(120);
/// The fake node the benchmark adds.
const BENCH_NODE: &str = "kwok-bench-0";
/// The extra Service CIDR, beside the harness's `10.0.0.0/24`.
const BENCH_SERVICE_CIDR: &str = "10.1.0.0/16";
/// The control-plane processes whose CPU time is reported, by their `/proc/<pid>/comm` (cut at 15 characters).
pub const COMPONENTS: [&str; 5] = ["kube-apiserver", "etcd", "kube-controller", "kube-scheduler", "kwok"];

/// A running control plane prepared for the run.
pub struct Cluster {
    /// The control plane; dropping it stops every component.
    pub control_plane: ControlPlane,
    /// The namespace the TicketEvents and the operator's lease live in.
    pub namespace: String,
}

impl Cluster {
    /// Starts the control plane and prepares it for `events` TicketEvents.
    pub async fn start(events: usize) -> anyhow::Result<Self> {
        let control_plane = ControlPlane::start().await.context("starting the test control plane")?;
        let client = control_plane.client();
        install_crd(&client).await?;
        add_node(&client, events).await?;
        add_service_cidr(&client).await?;
        let namespace = control_plane.namespace("operator-scale").await?;
        let secret: Secret = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "ticketing-service-env" },
            "stringData": { "DATABASE_URL": "mysql://ticketing@db/ticketing" }
        }))?;
        Api::<Secret>::namespaced(client, &namespace).create(&PostParams::default(), &secret).await?;
        Ok(Self { control_plane, namespace })
    }

    /// CPU seconds used so far by each control-plane component, in the order of [`COMPONENTS`].
    pub fn component_cpu(&self) -> Vec<(&'static str, f64)> {
        let cluster_dir = self.control_plane.logs_dir().parent().map(Path::to_path_buf).unwrap_or_default();
        let owner = std::fs::read_to_string(cluster_dir.join("run.pid")).ok().and_then(|pid| pid.trim().parse().ok());
        let children = owner.map(children_of).unwrap_or_default();
        COMPONENTS
            .iter()
            .map(|name| {
                let used = children.get(*name).and_then(|pid| cpu_seconds(*pid)).unwrap_or(0.0);
                (*name, used)
            })
            .collect()
    }
}

/// Installs the CRD from the Rust type (the committed YAML is drift-checked against it) and waits until it is served.
async fn install_crd(client: &Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = TicketEvent::crd();
    let name = crd.metadata.name.clone().context("the CRD has a name")?;
    crds.patch(&name, &PatchParams::apply("ticketing-bench").force(), &Patch::Apply(&crd)).await?;
    tokio::time::timeout(SETUP_LIMIT, await_condition(crds, &name, conditions::is_crd_established()))
        .await
        .context("the CRD was not established in time")??;
    Ok(())
}

/// Adds a kwok-managed node with room for `pods` more pods, removes the not-ready taint that admission puts on a new
/// node (the harness runs no node lifecycle controller) and waits until kwok reports it Ready.
async fn add_node(client: &Client, pods: usize) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let capacity = json!({ "cpu": "4000", "memory": "4Ti", "pods": (pods + 50).to_string() });
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": BENCH_NODE,
            "annotations": { "node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake" },
            "labels": { "kubernetes.io/hostname": BENCH_NODE, "kubernetes.io/os": "linux", "type": "kwok" }
        },
        "status": { "allocatable": capacity, "capacity": capacity }
    }))?;
    nodes.create(&PostParams::default(), &node).await.context("creating the benchmark node")?;
    nodes.patch(BENCH_NODE, &PatchParams::default(), &Patch::Merge(json!({ "spec": { "taints": null } }))).await?;
    let ready = |node: Option<&Node>| {
        node.and_then(|n| n.status.as_ref())
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    match tokio::time::timeout(SETUP_LIMIT, await_condition(nodes, BENCH_NODE, ready)).await {
        Ok(result) => result.context("watching the benchmark node")?,
        Err(_) => bail!("node {BENCH_NODE} did not become Ready within {SETUP_LIMIT:?}"),
    };
    Ok(())
}

/// Adds a ServiceCIDR of 65,536 addresses, from which the API server allocates cluster IPs once the harness's range
/// is full.
async fn add_service_cidr(client: &Client) -> anyhow::Result<()> {
    let cidrs: Api<ServiceCIDR> = Api::all(client.clone());
    let cidr: ServiceCIDR = serde_json::from_value(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "ServiceCIDR", "metadata": { "name": "operator-scale" },
        "spec": { "cidrs": [BENCH_SERVICE_CIDR] }
    }))?;
    cidrs.create(&PostParams::default(), &cidr).await.context("creating the benchmark ServiceCIDR")?;
    Ok(())
}

/// The child processes of `parent`, by command name.
fn children_of(parent: u32) -> BTreeMap<String, u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return BTreeMap::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (name, rest) = stat.split_once(" (")?.1.rsplit_once(')')?;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent).then(|| (name.to_string(), pid))
        })
        .collect()
}
