//! Children deleted while the operator could not see it happen come back within seconds:
//! - while the only instance was frozen (SIGSTOP) and its watches expired: on SIGCONT they resume from a
//!   resourceVersion the restarted apiserver no longer holds, get `410 Gone` and list again, and that list has no
//!   deletion in it;
//! - while an instance stood by: when it takes the Lease again it starts new watches, which list only what exists.
//!
//! Seat counts are read only every ten minutes here, so no periodic reconcile hides a child the operator forgot.

use std::time::{Duration, Instant};

use anyhow::Result;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams};
use kube::ResourceExt;

use crate::support::batch;
use crate::support::kube_wait::poll;
use crate::support::operator::OperatorProcess;
use crate::support::{eventually, Fixture};

/// How soon after the operator resumes or takes the Lease the child must be back: the watch backoff (at most 2 s),
/// a list, a reconcile and an apply, with room for a loaded machine.
const BACK_WITHIN: Duration = Duration::from_secs(20);

/// Waits until the event's only child Service is back as a new object (not `old_uid`); prints how long it took
/// after `what`.
async fn service_back(
    services: &Api<Service>,
    old_uid: Option<String>,
    operator: &OperatorProcess,
    what: &str,
) -> Result<()> {
    let since = Instant::now();
    poll(&format!("the deleted Service to be created again\n{}", operator.tail()), BACK_WITHIN, || async {
        Ok(services.get_opt("relist").await?.filter(|s| s.uid() != old_uid).map(|_| ()))
    })
    .await?;
    println!("relist: the deleted Service was back {:.1} s after {what}", since.elapsed().as_secs_f64());
    Ok(())
}

#[tokio::test]
async fn a_child_deleted_while_the_operator_was_frozen_is_back_after_its_watches_list_again() -> Result<()> {
    let mut fixture = Fixture::start_own("faults-relist").await?;
    let operator = OperatorProcess::start(&fixture, "alpha", 600).await?;
    operator.logged("holding the lease; controller starts").await?;
    batch::create_named(&fixture, &["relist".to_string()]).await?;
    let events = fixture.events();
    eventually("the event to converge", || async { Ok(Some(events.get("relist").await?).filter(batch::is_converged)) })
        .await?;
    let services: Api<Service> = Api::namespaced(fixture.control_plane.client(), &fixture.namespace);
    let old_uid = services.get("relist").await?.uid();

    operator.signal("STOP").await?;
    // Cut the frozen operator's connections first, so that the deletion never reaches its socket buffers, then
    // restart the apiserver so that its watch cache no longer holds the resourceVersion the watches resume from.
    fixture.control_plane.reset_connections()?;
    let services: Api<Service> = Api::namespaced(fixture.control_plane.client(), &fixture.namespace);
    services.delete("relist", &DeleteParams::default()).await?;
    fixture.control_plane.own().restart_apiserver().await?;
    operator.signal("CONT").await?;

    let services: Api<Service> = Api::namespaced(fixture.control_plane.client(), &fixture.namespace);
    service_back(&services, old_uid, &operator, "SIGCONT").await?;
    fixture.pass();
    Ok(())
}

#[tokio::test]
async fn a_child_deleted_while_an_instance_stood_by_is_back_when_it_takes_the_lease_again() -> Result<()> {
    let fixture = Fixture::start("faults-standby").await?;
    let alpha = OperatorProcess::start(&fixture, "alpha", 600).await?;
    alpha.logged("holding the lease; controller starts").await?;
    batch::create_named(&fixture, &["relist".to_string()]).await?;
    let events = fixture.events();
    eventually("the event to converge", || async { Ok(Some(events.get("relist").await?).filter(batch::is_converged)) })
        .await?;
    let beta = OperatorProcess::start(&fixture, "beta", 600).await?;
    beta.logged("standing by for the lease").await?;

    // alpha hands the Lease to beta without a graceful stop, and stands by once it resumes.
    alpha.signal("STOP").await?;
    beta.logged("holding the lease; controller starts").await?;
    alpha.signal("CONT").await?;
    alpha.logged("lost the lease; standing by").await?;
    // Now beta freezes, and the Service goes while alpha stands by and beta cannot see it.
    beta.signal("STOP").await?;
    let services: Api<Service> = Api::namespaced(fixture.control_plane.client(), &fixture.namespace);
    let old_uid = services.get("relist").await?.uid();
    services.delete("relist", &DeleteParams::default()).await?;
    eventually(&format!("alpha to take the Lease again\n{}", alpha.tail()), || async {
        Ok((alpha.count_logged("holding the lease; controller starts") == 2).then_some(()))
    })
    .await?;

    service_back(&services, old_uid, &alpha, "alpha took the Lease again").await?;
    beta.signal("CONT").await?;
    fixture.pass();
    Ok(())
}
