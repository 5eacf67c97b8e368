//! Helpers of the operator's tests on a real control plane: the shared cluster with the CRD installed from
//! `crds/ticketevents.yaml`; [`scenario`] adds a real reservation service ([`service`]) and in-process operator
//! instances with a manual clock.

pub mod kube_wait;
pub mod scenario;
pub mod service;

use std::time::Duration;

use anyhow::Result;

use ticketing_testkit::control_plane::ControlPlane;

/// How long any awaited state may take before a test fails.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// The shared control plane with the TicketEvent CRD installed from the committed YAML and established.
pub async fn cluster() -> Result<&'static ControlPlane> {
    let control_plane = ControlPlane::shared().await?;
    kube_wait::install_crd(control_plane, DEADLINE).await?;
    Ok(control_plane)
}
