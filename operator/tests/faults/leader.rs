//! The Lease holder frozen with SIGSTOP while it applies a batch and a second instance waits: the second takes the
//! Lease when it lapses and converges every event; the first, resumed with SIGCONT, finds it lost the Lease and
//! must not write anything that moves the status (its caches and in-flight reconciles are stale by then).

use anyhow::{ensure, Result};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;

use crate::support::batch::{self, BATCH};
use crate::support::operator::OperatorProcess;
use crate::support::Fixture;

/// The holder of the operator's Lease.
async fn holder(leases: &Api<Lease>) -> Result<Option<String>> {
    Ok(leases.get_opt("ticketing-operator").await?.and_then(|l| l.spec).and_then(|s| s.holder_identity))
}

#[tokio::test]
async fn a_frozen_lease_holder_is_replaced_and_does_not_fight_when_it_resumes() -> Result<()> {
    let fixture = Fixture::start("faults-leader").await?;
    let alpha = OperatorProcess::start(&fixture, "alpha", 2).await?;
    alpha.logged("holding the lease; controller starts").await?;
    let beta = OperatorProcess::start(&fixture, "beta", 2).await?;
    beta.logged("standing by for the lease").await?;
    batch::create(&fixture).await?;
    batch::wait_mid_apply(&fixture, BATCH / 4).await?;

    alpha.signal("STOP").await?;
    let stopped = std::time::Instant::now();
    let at_stop = batch::progress(&fixture).await?;
    beta.logged("holding the lease; controller starts").await?;
    let taken = stopped.elapsed();
    let converged = batch::converge(&fixture, 1, &[&beta]).await?;
    println!(
        "lease holder SIGSTOP: frozen with {}/{BATCH} events begun and {} ready; beta led after {:.1} s and \
         converged all {:.1} s later",
        at_stop.begun,
        at_stop.ready,
        taken.as_secs_f64(),
        converged.took.as_secs_f64()
    );
    assert!(at_stop.ready < BATCH, "alpha was frozen mid-batch");

    alpha.signal("CONT").await?;
    let updates = batch::assert_stable(&fixture, &converged, alpha.logged("lost the lease; standing by")).await?;
    let leases: Api<Lease> = Api::namespaced(fixture.control_plane.client(), &fixture.namespace);
    let held_by = holder(&leases).await?;
    println!(
        "lease holder SIGSTOP: after SIGCONT {updates} TicketEvent changes watched, none flapped; holder {held_by:?}"
    );
    ensure!(held_by.as_deref() == Some("beta"), "beta keeps the Lease, held by {held_by:?}");
    fixture.pass();
    Ok(())
}
