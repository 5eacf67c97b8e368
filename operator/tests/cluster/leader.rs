//! Two operator instances on one Lease: only the holder reconciles and reports, and a graceful stop hands over.

use anyhow::Result;
use chrono::Duration;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use ticketing_crds::Phase;

use crate::support::scenario::{eventually, Scenario};

/// The holder of the operator's Lease.
async fn holder(leases: &Api<Lease>) -> Result<Option<String>> {
    Ok(leases.get_opt("ticketing-operator").await?.and_then(|l| l.spec).and_then(|s| s.holder_identity))
}

/// The identities of the instances that published the operator's Events in the namespace.
async fn reporters(events: &Api<Event>) -> Result<Vec<String>> {
    let list = events.list(&ListParams::default()).await?;
    let ours = list.items.into_iter().filter(|e| e.reporting_controller.as_deref() == Some("ticketing-operator"));
    Ok(ours.filter_map(|e| e.reporting_instance).collect())
}

#[tokio::test]
async fn only_the_lease_holder_reconciles_and_a_graceful_stop_hands_over() -> Result<()> {
    let mut scenario = Scenario::start("leader").await?;
    let leases: Api<Lease> = Api::namespaced(scenario.client(), &scenario.namespace);
    let kube_events: Api<Event> = Api::namespaced(scenario.client(), &scenario.namespace);
    eventually("alpha to hold the lease", || async {
        Ok((holder(&leases).await?.as_deref() == Some("alpha")).then_some(()))
    })
    .await?;
    let beta_config = crate::support::scenario::config(&scenario.namespace);
    let mut beta = scenario.start_operator("beta", scenario.client(), beta_config).await?;

    scenario.create_event("final", 100).await?;
    scenario.wait_ready("final", Phase::Scheduled, 1).await?;

    let reported = reporters(&kube_events).await?;
    assert!(!reported.is_empty(), "the holder published Events");
    assert!(reported.iter().all(|r| r == "alpha"), "only the holder writes: {reported:?}");
    assert_eq!(holder(&leases).await?.as_deref(), Some("alpha"));

    scenario.operator.stop().await?;

    eventually("beta to take the released lease", || async {
        Ok((holder(&leases).await?.as_deref() == Some("beta")).then_some(()))
    })
    .await?;
    scenario.clock.set(scenario.opens_at - Duration::minutes(10));
    eventually("beta to reconcile and report the prewarm", || async {
        let status = scenario.events.get("final").await?.status;
        let prewarming = status.is_some_and(|s| s.phase == Some(Phase::Prewarming));
        let by_beta = reporters(&kube_events).await?.iter().any(|r| r == "beta");
        Ok((prewarming && by_beta).then_some(()))
    })
    .await?;
    beta.stop().await
}
