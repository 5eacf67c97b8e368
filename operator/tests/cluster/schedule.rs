//! Scaling ahead of demand on a real cluster: the operator's clock is moved across the prewarm instant, the
//! opening, a sell-out (real reservations through the service) and the close, and the replicas follow.

use anyhow::Result;
use chrono::Duration;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
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
