//! Watches dropped while kube-apiserver keeps running: every TCP connection to it is reset (`ss -K`) three times
//! while the operator applies a batch, and once more after it converged, right before every event's Service is
//! deleted and every spec changed. The operator reads seat counts only every 10 minutes here, so nothing but its
//! re-established watches can bring those changes to it.

use std::collections::BTreeMap;

use anyhow::{ensure, Result};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, ListParams};
use kube::ResourceExt;

use crate::support::batch::{self, BATCH};
use crate::support::operator::OperatorProcess;
use crate::support::{eventually, Fixture};

#[tokio::test]
async fn watches_dropped_by_connection_resets_lose_no_change() -> Result<()> {
    let fixture = Fixture::start_own("faults-connections").await?;
    let operator = OperatorProcess::start(&fixture, "alpha", 600).await?;
    operator.logged("holding the lease; controller starts").await?;
    batch::create(&fixture).await?;

    let mut resets = Vec::new();
    for begun in [BATCH / 4, BATCH / 2, 3 * BATCH / 4] {
        batch::wait_mid_apply(&fixture, begun).await?;
        let progress = batch::progress(&fixture).await?;
        resets.push((progress.begun, progress.ready, fixture.control_plane.reset_connections()?));
    }
    let converged = batch::converge(&fixture, 1, &[&operator]).await?;
    println!(
        "connection resets: (events begun, events ready, connections reset) at each reset {resets:?}; all {BATCH} \
         converged {:.1} s after the last",
        converged.took.as_secs_f64()
    );
    ensure!(resets.iter().all(|(_, _, reset)| *reset > 0), "every reset cut connections: {resets:?}");

    let services: Api<Service> = Api::namespaced(fixture.control_plane.client(), &fixture.namespace);
    let old: BTreeMap<String, Option<String>> =
        services.list(&ListParams::default()).await?.items.iter().map(|s| (s.name_any(), s.uid())).collect();
    let reset = fixture.control_plane.reset_connections()?;
    let services: Api<Service> = Api::namespaced(fixture.control_plane.client(), &fixture.namespace);
    for name in batch::names() {
        services.delete(&name, &DeleteParams::default()).await?;
    }
    batch::change_every_spec(&fixture, 4).await?;

    let converged = batch::converge(&fixture, 2, &[&operator]).await?;
    eventually("every deleted Service to be created again", || async {
        let now = services.list(&ListParams::default()).await?.items;
        let renewed = now.iter().filter(|s| old.get(&s.name_any()).is_some_and(|uid| *uid != s.uid())).count();
        Ok((renewed == BATCH).then_some(()))
    })
    .await?;
    println!(
        "connection resets: after a reset of {reset} connections, {BATCH} deleted Services and {BATCH} spec changes \
         were all followed in {:.1} s",
        converged.took.as_secs_f64()
    );
    let updates = batch::assert_stable(&fixture, &converged, async { Ok(()) }).await?;
    println!("connection resets: {updates} TicketEvent changes watched for {:?}, none flapped", batch::STABLE_WINDOW);
    fixture.pass();
    Ok(())
}
