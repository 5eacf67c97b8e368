//! kube-apiserver stopped while the operator applies a batch, and started again on the same port and etcd: the
//! reconciles in flight fail, every watch drops, and the operator must converge again, follow later spec changes
//! (its watches came back), and keep the status still.

use anyhow::Result;

use crate::support::batch::{self, BATCH};
use crate::support::operator::OperatorProcess;
use crate::support::Fixture;

#[tokio::test]
async fn an_apiserver_restart_mid_batch_converges_without_duplicates_or_flapping() -> Result<()> {
    let mut fixture = Fixture::start_own("faults-apiserver").await?;
    let operator = OperatorProcess::start(&fixture, "alpha", 2).await?;
    operator.logged("holding the lease; controller starts").await?;
    batch::create(&fixture).await?;
    batch::wait_mid_apply(&fixture, BATCH / 4).await?;
    let at_stop = batch::progress(&fixture).await?;
    let failures_before = operator.count_logged("reconcile failed");

    fixture.control_plane.own().stop_apiserver().await?;
    crate::support::eventually("a reconcile to fail on the stopped apiserver", || async {
        Ok((operator.count_logged("reconcile failed") > failures_before).then_some(()))
    })
    .await?;
    fixture.control_plane.own().start_apiserver().await?;

    let converged = batch::converge(&fixture, 1, &[&operator]).await?;
    println!(
        "apiserver restart: stopped with {}/{BATCH} events begun and {} ready; all converged {:.1} s after it was \
         ready again",
        at_stop.begun,
        at_stop.ready,
        converged.took.as_secs_f64()
    );
    assert!(at_stop.ready < BATCH, "the apiserver stopped mid-batch");
    batch::change_every_spec(&fixture, 4).await?;
    let converged = batch::converge(&fixture, 2, &[&operator]).await?;
    println!("apiserver restart: a spec change reached all {BATCH} events in {:.1} s", converged.took.as_secs_f64());
    let updates = batch::assert_stable(&fixture, &converged, async { Ok(()) }).await?;
    println!("apiserver restart: {updates} TicketEvent changes watched for {:?}, none flapped", batch::STABLE_WINDOW);
    fixture.pass();
    Ok(())
}
