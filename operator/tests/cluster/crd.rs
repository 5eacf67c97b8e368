//! The generated CRD on the API server: accepted, and its CEL rules reject what they should with their message.

use anyhow::Result;
use chrono::{Duration, TimeZone, Utc};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use ticketing_crds::TicketEvent;

use crate::support::cluster;

/// A valid TicketEvent body whose spec is then altered by the test.
fn ticket_event(name: &str) -> Value {
    json!({
        "apiVersion": "ticketing.dev/v1alpha1",
        "kind": "TicketEvent",
        "metadata": { "name": name },
        "spec": {
            "eventName": "Cup Final",
            "eventDate": "2027-06-01T18:00:00Z",
            "capacity": 100,
            "sale": { "opensAt": "2027-05-01T10:00:00Z", "closesAt": "2027-05-02T10:00:00Z" },
            "scaling": { "baselineReplicas": 1, "peakReplicas": 3, "hpa": { "minReplicas": 1, "maxReplicas": 5 } }
        }
    })
}

async fn create(api: &Api<TicketEvent>, body: &Value) -> kube::Result<TicketEvent> {
    api.create(&PostParams::default(), &serde_json::from_value(body.clone()).expect("a TicketEvent body")).await
}

fn rejection(result: kube::Result<TicketEvent>) -> String {
    match result {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "rejected as invalid: {status:?}");
            status.message
        }
        other => panic!("expected a 422 rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn the_generated_crd_is_accepted_and_a_valid_event_with_its_defaults_is_stored() -> Result<()> {
    let control_plane = cluster().await?;
    let namespace = control_plane.namespace("crd-accepted").await?;
    let api: Api<TicketEvent> = Api::namespaced(control_plane.client(), &namespace);

    let created = create(&api, &ticket_event("final")).await?;

    assert_eq!(created.spec.per_user_limit, 8, "the schema default applies");
    assert_eq!(created.spec.scaling.prewarm_minutes, 10);
    assert_eq!(created.spec.scaling.hpa.target_cpu_utilization_percentage, 70);
    assert_eq!(created.spec.sale.opens_at, Utc.with_ymd_and_hms(2027, 5, 1, 10, 0, 0).unwrap());
    Ok(())
}

#[tokio::test]
async fn invalid_events_are_rejected_with_the_message_of_the_broken_rule() -> Result<()> {
    let control_plane = cluster().await?;
    let namespace = control_plane.namespace("crd-invalid").await?;
    let api: Api<TicketEvent> = Api::namespaced(control_plane.client(), &namespace);
    let cases = [
        ("/spec/sale/closesAt", json!("2027-05-01T09:00:00Z"), "spec.sale.closesAt must be after spec.sale.opensAt"),
        (
            "/spec/scaling/hpa/minReplicas",
            json!(6),
            "spec.scaling.hpa.minReplicas must not exceed spec.scaling.hpa.maxReplicas",
        ),
        ("/spec/capacity", json!(0), "spec.capacity must be at least 1"),
        ("/spec/scaling/peakReplicas", json!(0), "spec.scaling.peakReplicas"),
        (
            "/spec/scaling/baselineReplicas",
            json!(4),
            "spec.scaling.peakReplicas must be at least spec.scaling.baselineReplicas",
        ),
    ];

    for (index, (pointer, value, message)) in cases.into_iter().enumerate() {
        let mut body = ticket_event(&format!("bad-{index}"));
        *body.pointer_mut(pointer).expect("the field exists") = value;

        let rejected = rejection(create(&api, &body).await);

        assert!(rejected.contains(message), "{pointer}: {rejected:?} should contain {message:?}");
    }
    Ok(())
}

#[tokio::test]
async fn capacity_and_opening_are_frozen_once_the_sale_opened_but_free_before() -> Result<()> {
    let control_plane = cluster().await?;
    let namespace = control_plane.namespace("crd-frozen").await?;
    let api: Api<TicketEvent> = Api::namespaced(control_plane.client(), &namespace);
    create(&api, &ticket_event("final")).await?;
    let manager = PatchParams::default();
    let set_phase = |phase: &'static str| json!({ "status": { "phase": phase } });

    api.patch_status("final", &manager, &Patch::Merge(set_phase("Scheduled"))).await?;
    let before = api.patch("final", &manager, &Patch::Merge(json!({ "spec": { "capacity": 120 } }))).await?;
    api.patch_status("final", &manager, &Patch::Merge(set_phase("OnSale"))).await?;
    let capacity = api.patch("final", &manager, &Patch::Merge(json!({ "spec": { "capacity": 150 } }))).await;
    let later = (before.spec.sale.opens_at + Duration::hours(1)).to_rfc3339();
    let opening =
        api.patch("final", &manager, &Patch::Merge(json!({ "spec": { "sale": { "opensAt": later } } }))).await;
    let name =
        api.patch("final", &manager, &Patch::Merge(json!({ "spec": { "eventName": "Cup Final (replay)" } }))).await;

    assert_eq!(before.spec.capacity, 120, "capacity may change before the sale opens");
    assert!(rejection(capacity).contains("spec.capacity cannot change once the sale has opened"));
    assert!(rejection(opening).contains("spec.sale.opensAt cannot change once the sale has opened"));
    assert_eq!(name?.spec.event_name, "Cup Final (replay)", "other fields stay editable");
    Ok(())
}
