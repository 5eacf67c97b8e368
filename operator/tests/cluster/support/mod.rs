//! Helpers of the operator's tests on a real control plane: the shared cluster with the CRD installed from
//! `crds/ticketevents.yaml`; [`scenario`] adds a real reservation service ([`service`]) and in-process operator
//! instances with a manual clock.

pub mod scenario;
pub mod service;

use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::conditions;
use kube::runtime::wait::await_condition;
use ticketing_testkit::control_plane::ControlPlane;

/// How long any awaited state may take before a test fails.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// The shared control plane with the TicketEvent CRD installed from the committed YAML and established.
pub async fn cluster() -> Result<&'static ControlPlane> {
    let control_plane = ControlPlane::shared().await?;
    let crd: CustomResourceDefinition =
        serde_yaml::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../crds/ticketevents.yaml"))?)?;
    let crds: Api<CustomResourceDefinition> = Api::all(control_plane.client());
    let name = crd.metadata.name.clone().context("the CRD has a name")?;
    crds.patch(&name, &PatchParams::apply("ticketing-operator-tests").force(), &Patch::Apply(&crd)).await?;
    tokio::time::timeout(DEADLINE, await_condition(crds, &name, conditions::is_crd_established()))
        .await
        .context("the CRD was not established in time")??;
    Ok(control_plane)
}

