//! A real Kubernetes control plane for integration tests: etcd, kube-apiserver, kube-controller-manager,
//! kube-scheduler and kwok with one fake node (`kwok-node-0`) on which scheduled pods become Running and Ready, all
//! on free loopback ports in a temporary directory.
//!
//! The binaries come from the cache that `scripts/control-plane.sh build` fills
//! (`$TICKETING_CACHE/k8s/v1.36.3/bin`, `TICKETING_CACHE` defaulting to `~/.cache/ticketing`); without them
//! [`ControlPlane::start`] fails and says so. The processes themselves are started by
//! `scripts/control-plane.sh run`, the same code that `scripts/control-plane.sh start DIR` uses for humans.
//!
//! # Use
//!
//! One control plane per test binary, shared by its tests, each test working in a namespace of its own:
//!
//! ```no_run
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use kube::api::{Api, ListParams};
//! use ticketing_testkit::control_plane::ControlPlane;
//!
//! async fn lists_config_maps() -> anyhow::Result<()> {
//!     let control_plane = ControlPlane::shared().await?;
//!     let namespace = control_plane.namespace("lists-config-maps").await?;
//!     let config_maps: Api<ConfigMap> = Api::namespaced(control_plane.client(), &namespace);
//!     config_maps.list(&ListParams::default()).await?;
//!     Ok(())
//! }
//! ```
//!
//! Enable the `control-plane` feature of `ticketing-testkit` in `[dev-dependencies]`. The admin identity is a
//! static token in `system:masters`; the controllers that run are listed in `scripts/control-plane/cluster.sh`
//! (garbage collector, namespace, service accounts and their tokens, Deployment, ReplicaSet, StatefulSet, DaemonSet,
//! Job, HPA, disruption, endpoints, ...). Tools such as helm and kubectl take [`ControlPlane::kubeconfig_path`] and
//! come from [`ControlPlane::binary`].
//!
//! Things to know when sharing: take a client from [`ControlPlane::client`] inside each test rather than keeping one
//! in a static, because a client belongs to the tokio runtime it first ran in. Cluster-scoped objects (CRDs,
//! ClusterRoles, the node) are seen by every test of the binary, so install them idempotently or name them per
//! test. When something does not happen, the components' logs are in [`ControlPlane::logs_dir`].
//!
//! Faults: a control plane of a test's own can have its kube-apiserver stopped and started again
//! ([`ControlPlane::stop_apiserver`], [`ControlPlane::start_apiserver`], [`ControlPlane::restart_apiserver`]) on the
//! same port and etcd, which drops every watch and connection as a real apiserver restart does; or every connection
//! to a running apiserver reset ([`ControlPlane::reset_connections`]).
//!
//! Clean-up: dropping a [`ControlPlane`] stops its processes and removes its directory. The shared instance is never
//! dropped; its processes are stopped by a parent-death signal when the test binary exits (see the `process`
//! module), and its directory is removed by the next harness that starts.

mod process;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::await_condition;
use rustix::process::Signal;
use tokio::sync::OnceCell;

use self::process::RunningScript;

/// How long [`ControlPlane::namespace`] waits for the namespace's `default` service account.
const SERVICE_ACCOUNT_TIMEOUT: Duration = Duration::from_secs(60);

/// A running control plane; see the module documentation.
pub struct ControlPlane {
    running: RunningScript,
    bin_dir: PathBuf,
    config: kube::Config,
    admin_token: String,
}

impl ControlPlane {
    /// Starts a control plane of its own, stopped when the value is dropped. Prefer [`ControlPlane::shared`] unless
    /// a test needs a cluster nobody else touches.
    pub async fn start() -> Result<Self> {
        // The run script checks that every binary is cached and otherwise fails, saying to build them.
        let bin_dir = bin_dir()?;
        let running = RunningScript::start().await?;
        let cluster_dir = running.cluster_dir();
        let kubeconfig = Kubeconfig::read_from(cluster_dir.join("kubeconfig")).context("reading the kubeconfig")?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .context("loading the kubeconfig")?;
        let admin_token =
            std::fs::read_to_string(cluster_dir.join("pki/admin-token")).context("reading the admin token")?;
        Ok(Self { running, bin_dir, config, admin_token })
    }

    /// The control plane shared by every test of this test binary, started by the first caller.
    pub async fn shared() -> Result<&'static Self> {
        static SHARED: OnceCell<ControlPlane> = OnceCell::const_new();
        SHARED.get_or_try_init(Self::start).await
    }

    /// A new client acting as the admin. Each call builds a fresh client, because a client's connections belong to
    /// the tokio runtime it was first used in, and every `#[tokio::test]` has a runtime of its own.
    ///
    /// # Panics
    /// Never for a started control plane, whose configuration was already loaded once.
    pub fn client(&self) -> kube::Client {
        kube::Client::try_from(self.config.clone()).expect("the control plane's kubeconfig makes a valid client")
    }

    /// The client configuration behind [`ControlPlane::client`], to derive clients with other credentials.
    pub fn config(&self) -> &kube::Config {
        &self.config
    }

    /// The admin kubeconfig (static token, the apiserver's self-signed certificate as authority), for kubectl/helm.
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.running.cluster_dir().join("kubeconfig")
    }

    /// The bearer token of the admin user, a member of `system:masters`.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The path of a cached binary: `etcd`, `kube-apiserver`, `kube-controller-manager`, `kube-scheduler`,
    /// `kubectl`, `kwok` or `helm`.
    ///
    /// # Panics
    /// If the binary is not in the cache, saying to run `scripts/control-plane.sh build`.
    pub fn binary(&self, name: &str) -> PathBuf {
        let path = self.bin_dir.join(name);
        assert!(path.is_file(), "{} is missing: run scripts/control-plane.sh build first", path.display());
        path
    }

    /// Where the components write their logs (`etcd.log`, `kube-apiserver.log`, ...), for diagnosing a failure.
    pub fn logs_dir(&self) -> PathBuf {
        self.running.cluster_dir().join("logs")
    }

    /// Stops kube-apiserver, leaving etcd and the other components running: every client loses its connections and
    /// watches, and requests are refused until [`ControlPlane::start_apiserver`]. Returns once the process is gone.
    /// Only for a control plane of a test's own ([`ControlPlane::start`]): the shared one serves other tests.
    pub async fn stop_apiserver(&mut self) -> Result<()> {
        self.running.request_apiserver(Signal::USR1, "stopped").await
    }

    /// Starts kube-apiserver again on the same port, with the same etcd, certificates and tokens, and returns once
    /// it reports ready; clients made before keep working.
    pub async fn start_apiserver(&mut self) -> Result<()> {
        self.running.request_apiserver(Signal::USR2, "running").await
    }

    /// [`ControlPlane::stop_apiserver`] then [`ControlPlane::start_apiserver`].
    pub async fn restart_apiserver(&mut self) -> Result<()> {
        self.stop_apiserver().await?;
        self.start_apiserver().await
    }

    /// Resets every established TCP connection to kube-apiserver (`ss -K`, which destroys each socket as a dropped
    /// network path would) while the apiserver keeps running: every client's watches and pooled connections break at
    /// once. Returns how many connections were reset; fails when one survived (a kernel without socket destruction,
    /// or no CAP_NET_ADMIN). Only for a control plane of a test's own.
    pub fn reset_connections(&self) -> Result<usize> {
        let port = self.config.cluster_url.port_u16().context("the apiserver URL has a port")?;
        let filter = ["dst", "127.0.0.1", "dport", "=", &format!(":{port}")];
        let established = |destroy: bool| -> Result<Vec<String>> {
            let mut command = Command::new("ss");
            command.args(["-Htn", "state", "established"]);
            if destroy {
                command.arg("-K");
            }
            let output = command.args(filter).output().context("running ss (iproute2)")?;
            ensure!(output.status.success(), "ss failed: {}", String::from_utf8_lossy(&output.stderr));
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            Ok(text.lines().filter_map(|line| line.split_whitespace().nth(2)).map(str::to_owned).collect())
        };
        let reset = established(true)?;
        let survivors: Vec<String> = established(false)?.into_iter().filter(|local| reset.contains(local)).collect();
        ensure!(
            survivors.is_empty(),
            "ss -K did not reset the connections from {survivors:?} (it needs CAP_NET_ADMIN and a kernel with \
             CONFIG_INET_DIAG_DESTROY)"
        );
        Ok(reset.len())
    }

    /// Creates a namespace named `<prefix>-<random suffix>` and returns its name once its `default` service
    /// account exists, so pods can be created in it right away.
    pub async fn namespace(&self, prefix: &str) -> Result<String> {
        let client = self.client();
        let namespace = Namespace {
            metadata: ObjectMeta { generate_name: Some(format!("{prefix}-")), ..ObjectMeta::default() },
            ..Namespace::default()
        };
        let created = Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .with_context(|| format!("creating a namespace with prefix {prefix:?}"))?;
        let name = created.metadata.name.context("the created namespace has no name")?;
        let accounts: Api<ServiceAccount> = Api::namespaced(client, &name);
        let exists = |account: Option<&ServiceAccount>| account.is_some();
        match tokio::time::timeout(SERVICE_ACCOUNT_TIMEOUT, await_condition(accounts, "default", exists)).await {
            Ok(result) => result.with_context(|| format!("watching the default service account of {name}"))?,
            Err(_) => bail!("namespace {name} got no default service account within {SERVICE_ACCOUNT_TIMEOUT:?}"),
        };
        Ok(name)
    }
}

/// Asks `scripts/control-plane.sh bin-dir` where the binaries are, so the cache layout is defined in one place.
fn bin_dir() -> Result<PathBuf> {
    let output = Command::new("bash")
        .arg(process::script())
        .arg("bin-dir")
        .output()
        .context("running scripts/control-plane.sh bin-dir")?;
    ensure!(
        output.status.success(),
        "scripts/control-plane.sh bin-dir failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = String::from_utf8(output.stdout).context("the binary directory is not UTF-8")?;
    Ok(Path::new(dir.trim_end()).to_path_buf())
}
