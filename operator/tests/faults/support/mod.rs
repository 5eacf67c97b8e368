//! Helpers of the fault tests: [`Fixture`] (a control plane with the CRD, of the test's own or shared, a namespace
//! and a real reservation service), [`operator`] (the real binary as a child process that can be killed, frozen and resumed)
//! and [`batch`] (a batch of TicketEvents, what converged means, and the watch that checks nothing flaps).

pub mod batch;
pub mod operator;
// The reservation service helper of the cluster tests, shared rather than copied; this binary uses part of it.
#[allow(dead_code)]
#[path = "../../cluster/support/service.rs"]
pub mod service;
// The CRD install and the polling loop of the cluster tests, shared rather than copied.
#[path = "../../cluster/support/kube_wait.rs"]
pub mod kube_wait;

use std::future::Future;
use std::ops::Deref;
use std::time::Duration;

use anyhow::Result;
use kube::api::Api;
use ticketing_crds::TicketEvent;
use ticketing_testkit::control_plane::ControlPlane;
use tokio::sync::{Mutex, MutexGuard};

use self::service::ReservationService;

/// How long any awaited state may take before a test fails.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// Serialises the tests: each runs a whole control plane, and two at once would starve each other on 2 cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// Polls `probe` until it returns `Some`, failing with `what` after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    kube_wait::poll(what, DEADLINE, probe).await
}

/// The control plane a test runs on.
pub enum Cluster {
    /// Started for this test alone: the apiserver and connection faults need one, since they disturb every client.
    Own(Box<ControlPlane>),
    /// Shared by the tests whose faults hit only their own processes, to save a start-up each.
    Shared(&'static ControlPlane),
}

impl Deref for Cluster {
    type Target = ControlPlane;

    fn deref(&self) -> &ControlPlane {
        match self {
            Cluster::Own(control_plane) => control_plane,
            Cluster::Shared(control_plane) => control_plane,
        }
    }
}

impl Cluster {
    /// The control plane to stop and start the apiserver of.
    ///
    /// # Panics
    /// On the shared control plane, whose apiserver other tests use.
    pub fn own(&mut self) -> &mut ControlPlane {
        match self {
            Cluster::Own(control_plane) => control_plane,
            Cluster::Shared(_) => panic!("only a control plane of the test's own may have its apiserver stopped"),
        }
    }
}

/// A control plane with the TicketEvent CRD, a namespace of the test's own, and a reservation service.
pub struct Fixture {
    /// The control plane.
    pub control_plane: Cluster,
    /// The test's namespace.
    pub namespace: String,
    /// The real reservation service whose admin API the operators call.
    pub service: ReservationService,
    /// Where the operators' logs go; kept when the test fails.
    pub dir: tempdir::Dir,
    _serial: MutexGuard<'static, ()>,
}

impl Fixture {
    /// Waits for the other fault tests, then sets up on the shared control plane.
    pub async fn start(prefix: &str) -> Result<Self> {
        let serial = ONE_AT_A_TIME.lock().await;
        Self::set_up(Cluster::Shared(ControlPlane::shared().await?), prefix, serial).await
    }

    /// Waits for the other fault tests, then sets up on a control plane of the test's own.
    pub async fn start_own(prefix: &str) -> Result<Self> {
        let serial = ONE_AT_A_TIME.lock().await;
        Self::set_up(Cluster::Own(Box::new(ControlPlane::start().await?)), prefix, serial).await
    }

    /// Installs the CRD (idempotently), creates the namespace and starts the service.
    async fn set_up(control_plane: Cluster, prefix: &str, serial: MutexGuard<'static, ()>) -> Result<Self> {
        kube_wait::install_crd(&control_plane, DEADLINE).await?;
        let namespace = control_plane.namespace(prefix).await?;
        let service = ReservationService::start().await?;
        Ok(Self { control_plane, namespace, service, dir: tempdir::Dir::new()?, _serial: serial })
    }

    /// Ends a test that passed: removes the operators' logs, which a failed test leaves for diagnosis.
    pub fn pass(mut self) {
        self.dir.passed = true;
    }

    /// The TicketEvents of the namespace, through a new client (a reset connection never lingers in its pool).
    pub fn events(&self) -> Api<TicketEvent> {
        Api::namespaced(self.control_plane.client(), &self.namespace)
    }
}

/// A temporary directory, removed on drop once its test passed and otherwise kept and named.
pub mod tempdir {
    use std::path::PathBuf;

    /// The directory.
    pub struct Dir {
        /// Its path.
        pub path: PathBuf,
        /// Whether the test passed.
        pub passed: bool,
    }

    impl Dir {
        /// Creates a fresh directory under the system's temporary directory.
        pub fn new() -> std::io::Result<Self> {
            let path = std::env::temp_dir().join(format!("ticketing-operator-faults-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&path)?;
            Ok(Self { path, passed: false })
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            if self.passed {
                let _ = std::fs::remove_dir_all(&self.path);
            } else {
                eprintln!("the operators' logs are kept in {}", self.path.display());
            }
        }
    }
}
