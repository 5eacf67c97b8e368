//! One TicketEvent from creation to deletion with a real operator and a real reservation service: children built
//! and owned, status converging, spec changes followed, children restored, the scale subresource, and the finalizer.

use anyhow::Result;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::ResourceExt;
use serde_json::json;
use ticketing_crds::Phase;

use crate::support::scenario::{eventually, Scenario};

#[tokio::test]
async fn an_event_gets_every_child_owned_by_it_and_its_status_converges() -> Result<()> {
    let scenario = Scenario::start("lifecycle-converge").await?;

    let event = scenario.create_event("final", 100).await?;
    let status = scenario.wait_ready("final", Phase::Scheduled, 1).await?;

    let id = status.event_id.expect("an event id");
    let record = scenario.service.event(id).await?;
    assert_eq!((record["eventName"].as_str(), record["totalSeats"].as_i64()), (Some("Cup Final"), Some(100)));
    assert_eq!(status.seats.map(|s| (s.total, s.sold, s.available)), Some((100, 0, 100)));
    assert_eq!(status.observed_generation, event.metadata.generation);
    assert_eq!(status.selector.as_deref(), Some("app.kubernetes.io/name=ticketing-service,ticketing.dev/event=final"));
    let uid = scenario.events.get("final").await?.uid();
    let deployment: Deployment = scenario.get("final").await?;
    let container = &deployment.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0];
    let scope = container.env.as_ref().unwrap().iter().find(|e| e.name == "TICKETING_EVENT_SCOPE").unwrap();
    assert_eq!(scope.value, Some(id.to_string()));
    assert_eq!(container.args.as_deref(), Some(&["serve".to_string(), "--bind".into(), "0.0.0.0:8080".into()][..]));
    let hpa: HorizontalPodAutoscaler = scenario.get("final").await?;
    assert_eq!((hpa.spec.min_replicas, hpa.spec.max_replicas), (Some(1), 5));
    let ingress: Ingress = scenario.get("final").await?;
    let host = format!("final.{}.tickets.test", scenario.namespace);
    assert_eq!(ingress.spec.unwrap().rules.unwrap()[0].host.as_deref(), Some(host.as_str()));
    let config_map: ConfigMap = scenario.get("final").await?;
    assert!(config_map.data.unwrap()["event.json"].contains(&format!("\"eventId\": {id}")));
    let service: Service = scenario.get("final").await?;
    let pdb: PodDisruptionBudget = scenario.get("final").await?;
    for owners in [
        deployment.owner_references(),
        hpa.metadata.owner_references.as_deref().unwrap_or_default(),
        service.owner_references(),
        pdb.owner_references(),
        config_map.metadata.owner_references.as_deref().unwrap_or_default(),
    ] {
        assert!(owners.iter().any(|o| o.controller == Some(true) && Some(&o.uid) == uid.as_ref()), "{owners:?}");
    }
    let readyz = reqwest::get(format!("http://{}/readyz", scenario.operator.http)).await?;
    assert_eq!(readyz.status(), 200, "the leader is ready once its watch synced");
    scenario.stop().await
}

#[tokio::test]
async fn children_follow_spec_changes_and_come_back_when_deleted_or_edited() -> Result<()> {
    let scenario = Scenario::start("lifecycle-follow").await?;
    scenario.create_event("final", 100).await?;
    let status = scenario.wait_ready("final", Phase::Scheduled, 1).await?;
    let id = status.event_id.expect("an event id");
    let services: Api<Service> = Api::namespaced(scenario.client(), &scenario.namespace);
    let deployments: Api<Deployment> = Api::namespaced(scenario.client(), &scenario.namespace);
    let old_service_uid = services.get("final").await?.uid();

    let change = json!({ "spec": { "eventName": "Cup Final (replay)", "scaling": { "hpa": { "maxReplicas": 7 } } } });
    scenario.events.patch("final", &PatchParams::default(), &Patch::Merge(change)).await?;
    services.delete("final", &DeleteParams::default()).await?;
    let tamper = json!({ "spec": { "template": { "spec": { "containers": [
        { "name": "reservations", "env": [ { "name": "TICKETING_EVENT_SCOPE", "value": "999" } ] } ] } } } });
    deployments.patch("final", &PatchParams::apply("someone-else").force(), &Patch::Apply(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "final" }, "spec": tamper["spec"].clone()
    }))).await?;

    eventually("the HPA maximum to follow the spec", || async {
        let hpa: HorizontalPodAutoscaler = scenario.get("final").await?;
        Ok((hpa.spec.max_replicas == 7).then_some(()))
    })
    .await?;
    eventually("the service's copy of the event to follow the spec", || async {
        let record = scenario.service.event(id).await?;
        Ok((record["eventName"] == "Cup Final (replay)").then_some(()))
    })
    .await?;
    eventually("the deleted Service to come back", || async {
        Ok(services.get_opt("final").await?.filter(|s| s.uid() != old_service_uid).map(|_| ()))
    })
    .await?;
    eventually("the tampered environment to be restored", || async {
        let deployment = deployments.get("final").await?;
        let containers = deployment.spec.unwrap().template.spec.unwrap().containers;
        let scope = containers[0].env.clone().unwrap_or_default();
        Ok(scope.iter().any(|e| e.name == "TICKETING_EVENT_SCOPE" && e.value == Some(id.to_string())).then_some(()))
    })
    .await?;
    scenario.stop().await
}

#[tokio::test]
async fn the_scale_subresource_sets_the_replica_floor_and_reports_the_pods() -> Result<()> {
    let scenario = Scenario::start("lifecycle-scale").await?;
    scenario.create_event("final", 100).await?;
    scenario.wait_ready("final", Phase::Scheduled, 1).await?;

    scenario
        .events
        .patch_scale("final", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "replicas": 2 } })))
        .await?;

    assert_eq!(scenario.events.get("final").await?.spec.replicas, Some(2));
    eventually("the HPA floor to follow the scale subresource", || async {
        let hpa: HorizontalPodAutoscaler = scenario.get("final").await?;
        Ok((hpa.spec.min_replicas == Some(2)).then_some(()))
    })
    .await?;
    scenario.wait_ready("final", Phase::Scheduled, 2).await?;
    let scale = scenario.events.get_scale("final").await?;
    let scale_status = scale.status.expect("a scale status");
    assert_eq!(scale_status.replicas, 2);
    assert_eq!(
        scale_status.selector.as_deref(),
        Some("app.kubernetes.io/name=ticketing-service,ticketing.dev/event=final")
    );
    scenario.stop().await
}

#[tokio::test]
async fn deleting_the_event_closes_its_sale_and_its_children_are_collected() -> Result<()> {
    let scenario = Scenario::start("lifecycle-delete").await?;
    scenario.create_event("final", 100).await?;
    let id = scenario.wait_ready("final", Phase::Scheduled, 1).await?.event_id.expect("an event id");
    assert_eq!(scenario.service.event(id).await?["status"], "ON_SALE", "the service's own clock has the sale open");

    scenario.events.delete("final", &DeleteParams::default()).await?;

    eventually("the TicketEvent to be gone", || async {
        Ok(scenario.events.get_opt("final").await?.is_none().then_some(()))
    })
    .await?;
    assert_eq!(scenario.service.event(id).await?["status"], "CLOSED", "the finalizer closed the sale");
    let deployments: Api<Deployment> = Api::namespaced(scenario.client(), &scenario.namespace);
    let config_maps: Api<ConfigMap> = Api::namespaced(scenario.client(), &scenario.namespace);
    eventually("the garbage collector to remove the children", || async {
        let left = deployments.get_opt("final").await?.is_some() || config_maps.get_opt("final").await?.is_some();
        Ok((!left).then_some(()))
    })
    .await?;
    scenario.stop().await
}

#[tokio::test]
async fn an_unreachable_service_degrades_the_event_without_moving_its_phase() -> Result<()> {
    let mut scenario = Scenario::start("lifecycle-degraded").await?;
    scenario.create_event("final", 100).await?;
    let healthy = scenario.wait_ready("final", Phase::Scheduled, 1).await?;

    scenario.service.kill().await?;
    scenario.clock.set(scenario.opens_at - chrono::Duration::hours(1));

    let degraded = eventually("the event to be degraded", || async {
        let status = scenario.events.get("final").await?.status.unwrap_or_default();
        let degraded = status
            .conditions
            .iter()
            .any(|c| c.type_ == "Degraded" && c.status == "True" && c.reason == "ServiceApiUnavailable");
        Ok(degraded.then_some(status))
    })
    .await?;
    assert_eq!(degraded.phase, Some(Phase::Scheduled), "an outage does not move the sale");
    assert_eq!((degraded.event_id, degraded.seats), (healthy.event_id, healthy.seats));
    assert!(degraded.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "False"));
    scenario.stop().await
}

#[tokio::test]
async fn deletion_waits_for_the_service_to_close_the_sale() -> Result<()> {
    let mut scenario = Scenario::start("lifecycle-wait").await?;
    scenario.create_event("final", 100).await?;
    let id = scenario.wait_ready("final", Phase::Scheduled, 1).await?.event_id.expect("an event id");
    let kube_events: Api<Event> = Api::namespaced(scenario.client(), &scenario.namespace);
    scenario.service.kill().await?;

    scenario.events.delete("final", &DeleteParams::default()).await?;

    eventually("a CloseSaleFailed Warning", || async {
        let list = kube_events.list(&ListParams::default()).await?;
        Ok(list.items.iter().any(|e| e.reason.as_deref() == Some("CloseSaleFailed")).then_some(()))
    })
    .await?;
    let waiting = scenario.events.get("final").await?;
    assert!(waiting.metadata.deletion_timestamp.is_some(), "the TicketEvent waits for its finalizer");
    scenario.service.restart().await?;
    eventually("the TicketEvent to be gone", || async {
        Ok(scenario.events.get_opt("final").await?.is_none().then_some(()))
    })
    .await?;
    assert_eq!(scenario.service.event(id).await?["status"], "CLOSED");
    scenario.stop().await
}
