//! What the cluster tests and the fault tests both need from the control plane: the TicketEvent CRD installed and
//! established, and polling a probe until it yields a value or a deadline passes. The fault tests include this file
//! by path, so there is one copy.

use std::future::Future;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::conditions;
use kube::runtime::wait::await_condition;
use ticketing_testkit::control_plane::ControlPlane;

/// How often [`poll`] asks its probe.
const POLL_EVERY: Duration = Duration::from_millis(200);

/// Installs the TicketEvent CRD from the committed YAML (idempotently, by server-side apply) and waits until it is
/// established, at most `deadline`.
pub async fn install_crd(control_plane: &ControlPlane, deadline: Duration) -> Result<()> {
    let crd: CustomResourceDefinition = serde_yaml::from_str(&std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crds/ticketevents.yaml"
    ))?)?;
    let crds: Api<CustomResourceDefinition> = Api::all(control_plane.client());
    let name = crd.metadata.name.clone().context("the CRD has a name")?;
    crds.patch(&name, &PatchParams::apply("ticketing-operator-tests").force(), &Patch::Apply(&crd)).await?;
    tokio::time::timeout(deadline, await_condition(crds, &name, conditions::is_crd_established()))
        .await
        .context("the CRD was not established in time")??;
    Ok(())
}

/// Polls `probe` until it returns `Some`, failing with `what` (and the last error the probe gave) after `deadline`.
pub async fn poll<T, F, Fut>(what: &str, deadline: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let until = tokio::time::Instant::now() + deadline;
    let mut last_error = None;
    loop {
        match probe().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if tokio::time::Instant::now() > until {
            bail!("timed out waiting for {what} (last error: {last_error:?})");
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}
