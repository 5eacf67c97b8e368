//! Scaling ahead of demand on a real cluster: the operator's clock is moved across the prewarm instant, the
//! opening, a sell-out (real reservations through the service), the close and the end of its grace period, and the
//! replicas follow, also while the admin API cannot be reached.

use anyhow::Result;
use chrono::Duration;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::Api;
use ticketing_crds::Phase;

use crate::support::scenario::{eventually, Scenario};

async fn hpa_floor(scenario: &Scenario, floor: i32) -> Result<()> {
    eventually(&format!("the HPA floor to be {floor}"), || async {
        let hpa: HorizontalPodAutoscaler = scenario.get("final").await?;
        Ok((hpa.spec.min_replicas == Some(floor)).then_some(()))
    })
    .await
}

#[tokio::test]
async fn replicas_rise_before_the_opening_and_fall_back_after_the_sell_out_and_the_close() -> Result<()> {
    let scenario = Scenario::start("schedule").await?;
    scenario.create_event("final", 2).await?;
    scenario.wait_ready("final", Phase::Scheduled, 1).await?;
    hpa_floor(&scenario, 1).await?;

    scenario.clock.set(scenario.opens_at - Duration::minutes(30));
    hpa_floor(&scenario, 3).await?;
    scenario.wait_ready("final", Phase::Prewarming, 3).await?;

    scenario.clock.set(scenario.opens_at);
    let on_sale = scenario.wait_ready("final", Phase::OnSale, 3).await?;
    let id = on_sale.event_id.expect("an event id");

    assert_eq!(scenario.service.reserve(id, "alice", 2).await?, 201);
    hpa_floor(&scenario, 1).await?;
    let sold_out = eventually("the event to be sold out", || async {
        let status = scenario.events.get("final").await?.status;
        Ok(status.filter(|s| s.phase == Some(Phase::SoldOut)))
    })
    .await?;
    assert_eq!(sold_out.seats.map(|s| (s.sold, s.available)), Some((2, 0)));

    scenario.clock.set(scenario.closes_at);
    eventually("the event to be closed", || async {
        let status = scenario.events.get("final").await?.status;
        Ok(status.filter(|s| s.phase == Some(Phase::Closed)).map(|_| ()))
    })
    .await?;
    hpa_floor(&scenario, 1).await?;
    scenario.stop().await
}

#[tokio::test]
async fn the_prewarm_reaches_its_replicas_while_the_admin_api_is_unreachable() -> Result<()> {
    let mut scenario = Scenario::start("schedule-outage").await?;
    scenario.create_event("final", 100).await?;
    let registered = scenario.wait_ready("final", Phase::Scheduled, 1).await?;
    let deployments: Api<Deployment> = Api::namespaced(scenario.client(), &scenario.namespace);

    scenario.service.kill().await?;
    scenario.clock.set(scenario.opens_at - Duration::minutes(30));

    eventually("three ready pods at the prewarm instant, without the admin API", || async {
        let ready = deployments.get("final").await?.status.and_then(|s| s.ready_replicas).unwrap_or(0);
        Ok((ready == 3).then_some(()))
    })
    .await?;
    hpa_floor(&scenario, 3).await?;
    let status = eventually("the status to show the prewarm and the outage", || async {
        let status = scenario.events.get("final").await?.status.unwrap_or_default();
        let degraded = status
            .conditions
            .iter()
            .any(|c| c.type_ == "Degraded" && c.status == "True" && c.reason == "ServiceApiUnavailable");
        Ok((status.phase == Some(Phase::Prewarming) && status.ready_replicas == 3 && degraded).then_some(status))
    })
    .await?;
    assert_eq!((status.event_id, status.seats), (registered.event_id, registered.seats));
    scenario.stop().await
}

#[tokio::test]
async fn a_closed_event_scales_to_zero_after_its_grace_period() -> Result<()> {
    let scenario = Scenario::start("schedule-zero").await?;
    scenario.create_event("final", 100).await?;
    scenario.wait_ready("final", Phase::Scheduled, 1).await?;
    let deployments: Api<Deployment> = Api::namespaced(scenario.client(), &scenario.namespace);
    let autoscalers: Api<HorizontalPodAutoscaler> = Api::namespaced(scenario.client(), &scenario.namespace);

    scenario.clock.set(scenario.closes_at);
    let closed = scenario.wait_ready("final", Phase::Closed, 1).await?;
    assert!(autoscalers.get_opt("final").await?.is_some(), "the pods stay through the grace period");
    scenario.clock.set(scenario.closes_at + Duration::minutes(60));

    eventually("the autoscaler to be removed", || async {
        Ok(autoscalers.get_opt("final").await?.is_none().then_some(()))
    })
    .await?;
    let zero = scenario.wait_ready("final", Phase::Closed, 0).await?;
    let deployment = deployments.get("final").await?;
    assert_eq!(deployment.spec.and_then(|s| s.replicas), Some(0));
    assert_eq!(closed.sale_closed_at, Some(scenario.closes_at));
    assert_eq!(zero.sale_closed_at, Some(scenario.closes_at));
    assert_eq!(zero.sale_opened_at, Some(scenario.opens_at), "the opening stays recorded");
    scenario.stop().await
}
