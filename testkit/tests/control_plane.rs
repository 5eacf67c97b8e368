//! Pins down what the operator's and the chart's tests rely on from the control-plane harness: the API answers,
//! Deployments become ready on the fake node, the garbage collector removes owned objects, TokenRequest tokens
//! authenticate, the cached kubectl talks to the cluster, a dropped control plane leaves no process behind, and the
//! script's `start`/`stop` (used by humans and the chart tests) work.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::authentication::v1::{SelfSubjectReview, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, Namespace, Node, Pod, PodSpec, PodTemplateSpec, ServiceAccount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Resource};
use ticketing_testkit::control_plane::ControlPlane;

/// Upper bound for the cluster to act; generous because the machine is shared with builds.
const ACT_TIMEOUT: Duration = Duration::from_secs(120);

fn metadata(name: &str) -> ObjectMeta {
    ObjectMeta { name: Some(name.to_owned()), ..ObjectMeta::default() }
}

#[tokio::test]
async fn lists_the_system_namespaces_and_a_created_one() -> Result<()> {
    let control_plane = ControlPlane::shared().await?;

    let created = control_plane.namespace("lists").await?;

    let names: Vec<String> = Api::<Namespace>::all(control_plane.client())
        .list(&ListParams::default())
        .await?
        .into_iter()
        .filter_map(|namespace| namespace.metadata.name)
        .collect();
    for expected in ["default", "kube-system", created.as_str()] {
        assert!(names.iter().any(|name| name == expected), "{expected} missing from {names:?}");
    }
    Ok(())
}

#[tokio::test]
async fn deployment_of_two_replicas_becomes_ready_on_the_fake_node() -> Result<()> {
    let control_plane = ControlPlane::shared().await?;
    let namespace = control_plane.namespace("deployment").await?;
    let labels = BTreeMap::from([("app".to_owned(), "web".to_owned())]);
    let deployment = Deployment {
        metadata: metadata("web"),
        spec: Some(DeploymentSpec {
            replicas: Some(2),
            selector: LabelSelector { match_labels: Some(labels.clone()), ..LabelSelector::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels), ..ObjectMeta::default() }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "web".into(),
                        image: Some("registry.invalid/web:1".into()),
                        ..Container::default()
                    }],
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };
    let deployments: Api<Deployment> = Api::namespaced(control_plane.client(), &namespace);

    deployments.create(&PostParams::default(), &deployment).await?;

    let two_ready = |deployment: Option<&Deployment>| {
        deployment.and_then(|d| d.status.as_ref()).and_then(|status| status.ready_replicas) == Some(2)
    };
    tokio::time::timeout(ACT_TIMEOUT, await_condition(deployments, "web", two_ready))
        .await
        .context("the Deployment did not reach 2 ready replicas")??;
    let pods = Api::<Pod>::namespaced(control_plane.client(), &namespace).list(&ListParams::default()).await?;
    assert_eq!(pods.items.len(), 2);
    for pod in pods {
        let spec = pod.spec.context("pod without spec")?;
        let phase = pod.status.and_then(|status| status.phase);
        assert_eq!(spec.node_name.as_deref(), Some("kwok-node-0"));
        assert_eq!(phase.as_deref(), Some("Running"));
    }
    Ok(())
}

#[tokio::test]
async fn garbage_collector_deletes_a_config_map_whose_owner_is_deleted() -> Result<()> {
    let control_plane = ControlPlane::shared().await?;
    let namespace = control_plane.namespace("gc").await?;
    let config_maps: Api<ConfigMap> = Api::namespaced(control_plane.client(), &namespace);
    let owner = config_maps
        .create(&PostParams::default(), &ConfigMap { metadata: metadata("owner"), ..ConfigMap::default() })
        .await?;
    let owned = ConfigMap {
        metadata: ObjectMeta {
            owner_references: Some(vec![OwnerReference {
                api_version: ConfigMap::api_version(&()).into_owned(),
                kind: ConfigMap::kind(&()).into_owned(),
                name: "owner".into(),
                uid: owner.metadata.uid.clone().context("owner without uid")?,
                ..OwnerReference::default()
            }]),
            ..metadata("owned")
        },
        ..ConfigMap::default()
    };
    let owned = config_maps.create(&PostParams::default(), &owned).await?;
    let owned_uid = owned.metadata.uid.context("owned without uid")?;

    config_maps.delete("owner", &DeleteParams::background()).await?;

    tokio::time::timeout(
        ACT_TIMEOUT,
        await_condition(config_maps.clone(), "owned", conditions::is_deleted(&owned_uid)),
    )
    .await
    .context("the garbage collector did not delete the owned ConfigMap")??;
    assert!(config_maps.get_opt("owned").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn token_request_returns_a_token_that_authenticates_as_the_service_account() -> Result<()> {
    let control_plane = ControlPlane::shared().await?;
    let namespace = control_plane.namespace("token").await?;
    let accounts: Api<ServiceAccount> = Api::namespaced(control_plane.client(), &namespace);
    accounts
        .create(&PostParams::default(), &ServiceAccount { metadata: metadata("robot"), ..ServiceAccount::default() })
        .await?;
    let request = TokenRequest {
        spec: Some(TokenRequestSpec { expiration_seconds: Some(600), ..TokenRequestSpec::default() }),
        ..TokenRequest::default()
    };

    let issued = accounts.create_token_request("robot", &PostParams::default(), &request).await?;

    let token = issued.status.and_then(|status| status.token).context("TokenRequest without a token")?;
    let mut config = control_plane.config().clone();
    config.auth_info.token = Some(token.into());
    let review = Api::<SelfSubjectReview>::all(Client::try_from(config)?)
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await?;
    let username = review.status.and_then(|status| status.user_info).and_then(|user| user.username);
    assert_eq!(username, Some(format!("system:serviceaccount:{namespace}:robot")));
    Ok(())
}

#[tokio::test]
async fn cached_kubectl_reports_the_built_server_version() -> Result<()> {
    let control_plane = ControlPlane::shared().await?;

    let output = tokio::process::Command::new(control_plane.binary("kubectl"))
        .arg("--kubeconfig")
        .arg(control_plane.kubeconfig_path())
        .args(["version", "--output=json"])
        .output()
        .await?;

    assert!(output.status.success(), "kubectl failed: {}", String::from_utf8_lossy(&output.stderr));
    let version: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    assert_eq!(version["serverVersion"]["gitVersion"], "v1.36.3");
    assert_eq!(version["clientVersion"]["gitVersion"], "v1.36.3");
    Ok(())
}

/// Counts the running processes whose command line mentions `dir`: the run script and every component.
fn processes_using(dir: &Path) -> Result<usize> {
    let needle = dir.to_str().context("non-UTF-8 directory")?;
    let mut count = 0;
    for entry in fs::read_dir("/proc")? {
        let cmdline = fs::read(entry?.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            count += 1;
        }
    }
    Ok(count)
}

#[tokio::test]
async fn dropping_a_control_plane_stops_its_processes_and_removes_its_directory() -> Result<()> {
    let control_plane = ControlPlane::start().await?;
    let dir = control_plane.kubeconfig_path().parent().context("kubeconfig without directory")?.to_path_buf();
    // The run script, etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok.
    assert!(processes_using(&dir)? >= 6, "expected the run script and five components to be running");

    drop(control_plane);

    assert_eq!(processes_using(&dir)?, 0);
    assert!(!dir.exists(), "{} was not removed", dir.display());
    Ok(())
}

/// Runs `scripts/control-plane.sh stop` on drop, so a failing assertion leaves no background control plane behind.
struct StopOnDrop<'a> {
    script: &'a Path,
    dir: &'a Path,
}

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if self.dir.join("run.pid").exists() {
            let _ = std::process::Command::new("bash").arg(self.script).arg("stop").arg(self.dir).output();
        }
    }
}

#[tokio::test]
async fn script_start_prints_a_working_kubeconfig_and_stop_ends_every_process() -> Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/control-plane.sh");
    let dir = std::env::temp_dir().join(format!("ticketing-script-test-{}", std::process::id()));
    let _stop_on_failure = StopOnDrop { script: &script, dir: &dir };
    let started = tokio::process::Command::new("bash").arg(&script).arg("start").arg(&dir).output().await?;
    assert!(started.status.success(), "start failed: {}", String::from_utf8_lossy(&started.stderr));
    assert_eq!(String::from_utf8(started.stdout)?, fs::read_to_string(dir.join("kubeconfig"))?);
    let kubeconfig = kube::config::Kubeconfig::read_from(dir.join("kubeconfig"))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    let nodes = Api::<Node>::all(Client::try_from(config)?).list(&ListParams::default()).await?;
    assert_eq!(nodes.items.len(), 1);

    let stopped = tokio::process::Command::new("bash").arg(&script).arg("stop").arg(&dir).output().await?;

    assert!(stopped.status.success(), "stop failed: {}", String::from_utf8_lossy(&stopped.stderr));
    assert_eq!(processes_using(&dir)?, 0);
    fs::remove_dir_all(&dir)?;
    Ok(())
}
