//! `ticketing-operator delete-events`, the command of the chart's pre-delete hook: with the operator running it
//! deletes every TicketEvent and returns once their sales are closed and they are gone, so nothing is left holding
//! the `ticketing.dev/close-sale` finalizer when the operator and the CRD go; without the operator it fails in
//! bounded time, naming what waits, instead of hanging.

use std::process::Output;

use anyhow::Result;
use kube::api::ListParams;
use ticketing_crds::Phase;
use tokio::process::Command;

use crate::support::scenario::{config, eventually, Scenario};

/// Runs `ticketing-operator delete-events` against the scenario's namespace as the admin.
async fn delete_events(scenario: &Scenario, timeout_seconds: u64) -> Result<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_ticketing-operator"))
        .args(["delete-events", "--namespace", &scenario.namespace])
        .args(["--timeout-seconds", &timeout_seconds.to_string()])
        .env("KUBECONFIG", scenario.control_plane().kubeconfig_path())
        .output()
        .await?)
}

#[tokio::test]
async fn delete_events_returns_once_the_running_operator_closed_every_sale() -> Result<()> {
    let scenario = Scenario::start("uninstall").await?;
    scenario.create_event("final", 100).await?;
    scenario.create_event("encore", 100).await?;
    let final_id = scenario.wait_ready("final", Phase::Scheduled, 1).await?.event_id;
    let encore_id = scenario.wait_ready("encore", Phase::Scheduled, 1).await?.event_id;

    let output = delete_events(&scenario, 60).await?;

    assert!(output.status.success(), "delete-events failed: {}", String::from_utf8_lossy(&output.stderr));
    assert!(scenario.events.list(&ListParams::default()).await?.items.is_empty(), "every TicketEvent is gone");
    for id in [final_id, encore_id] {
        let id = id.expect("an event id");
        assert_eq!(scenario.service.event(id).await?["status"], "CLOSED", "the sale of {id} was closed first");
    }
    scenario.stop().await
}

#[tokio::test]
async fn delete_events_without_the_operator_fails_naming_the_finalizer_instead_of_hanging() -> Result<()> {
    let mut scenario = Scenario::start("uninstall-stranded").await?;
    scenario.create_event("final", 100).await?;
    scenario.wait_ready("final", Phase::Scheduled, 1).await?;
    scenario.operator.stop().await?;

    let output = delete_events(&scenario, 3).await?;

    let log = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it cannot succeed while nobody removes the finalizer: {log}");
    assert!(
        log.contains(&format!("{}/final", scenario.namespace)) && log.contains("ticketing.dev/close-sale"),
        "{log}"
    );
    // An operator started again finishes the deletion that waited.
    let mut again = scenario.start_operator("again", scenario.client(), config(&scenario.namespace)).await?;
    eventually("the TicketEvent to be gone once an operator runs", || async {
        Ok(scenario.events.get_opt("final").await?.is_none().then_some(()))
    })
    .await?;
    again.stop().await?;
    scenario.stop().await
}
