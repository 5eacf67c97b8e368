//! The operator SIGKILLed while it applies a batch (children half made, events registered in the service but not yet
//! in the status) and started again as the same pod would be: the new process must finish every event without a
//! second child or a second row in the reservation service, and the status must stay still afterwards.

use anyhow::Result;

use crate::support::batch::{self, BATCH};
use crate::support::operator::OperatorProcess;
use crate::support::Fixture;

#[tokio::test]
async fn an_operator_killed_mid_apply_finishes_the_batch_once() -> Result<()> {
    let fixture = Fixture::start("faults-kill").await?;
    let mut operator = OperatorProcess::start(&fixture, "alpha", 2).await?;
    operator.logged("holding the lease; controller starts").await?;
    batch::create(&fixture).await?;
    batch::wait_mid_apply(&fixture, BATCH / 4).await?;

    operator.kill().await?;
    let at_kill = batch::progress(&fixture).await?;
    let restarted = OperatorProcess::start(&fixture, "alpha", 2).await?;

    let converged = batch::converge(&fixture, 1, &[&restarted]).await?;
    println!(
        "operator SIGKILL: killed with {}/{BATCH} events begun and {} ready; the restarted process converged all in \
         {:.1} s",
        at_kill.begun,
        at_kill.ready,
        converged.took.as_secs_f64()
    );
    assert!(at_kill.ready < BATCH, "the operator was killed mid-batch");
    let updates = batch::assert_stable(&fixture, &converged, async { Ok(()) }).await?;
    println!("operator SIGKILL: {updates} TicketEvent changes watched for {:?}, none flapped", batch::STABLE_WINDOW);
    fixture.pass();
    Ok(())
}
