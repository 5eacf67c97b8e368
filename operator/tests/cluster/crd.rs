//! The generated CRD on the API server: accepted, and its schema and CEL rules reject what they should with their
//! message: the reservation service's own limits, names that a derived name could not carry, and the rules of an
//! opened sale (read from the sticky `status.saleOpenedAt`).

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
        ("/spec/capacity", json!(0), "spec.capacity must be between 1 and 10000000"),
        ("/spec/scaling/peakReplicas", json!(0), "spec.scaling.peakReplicas"),
        (
            "/spec/scaling/baselineReplicas",
            json!(4),
            "spec.scaling.peakReplicas must be at least spec.scaling.baselineReplicas",
        ),
        // The reservation service's own limits (service/src/domain.rs).
        ("/spec/capacity", json!(10_000_001), "spec.capacity must be between 1 and 10000000"),
        ("/spec/holdSeconds", json!(86_401), "spec.holdSeconds in body should be less than or equal to 86400"),
        ("/spec/perUserLimit", json!(10_000_001), "spec.perUserLimit in body should be less than or equal to 10000000"),
        ("/spec/maxPerOrder", json!(101), "spec.maxPerOrder in body should be less than or equal to 100"),
        ("/spec/eventName", json!("Cup\u{7}Final"), "spec.eventName must not contain control characters"),
        ("/spec/eventName", json!("Cup Final\n"), "spec.eventName must not contain control characters"),
        ("/spec/eventName", json!("   "), "spec.eventName must not be blank"),
        ("/spec/eventName", json!("x".repeat(201)), "spec.eventName: Too long: may not be more than 200"),
        // Bounds that the operator used to raise silently.
        (
            "/spec/scaling/peakReplicas",
            json!(6),
            "spec.scaling.peakReplicas must not exceed spec.scaling.hpa.maxReplicas",
        ),
        ("/spec/replicas", json!(6), "spec.replicas must not exceed spec.scaling.hpa.maxReplicas"),
        (
            "/spec/scaling/closedGracePeriodMinutes",
            json!(10_081),
            "spec.scaling.closedGracePeriodMinutes in body should be less than or equal to 10080",
        ),
    ];

    for (index, (pointer, value, message)) in cases.into_iter().enumerate() {
        let mut body = ticket_event(&format!("bad-{index}"));
        let (parent, field) = pointer.rsplit_once('/').expect("a pointer with a parent");
        body.pointer_mut(parent).and_then(Value::as_object_mut).expect("the parent exists").insert(field.into(), value);

        let rejected = rejection(create(&api, &body).await);

        assert!(rejected.contains(message), "{pointer}: {rejected:?} should contain {message:?}");
    }
    Ok(())
}

#[tokio::test]
async fn a_name_that_some_derived_name_cannot_carry_is_rejected_with_the_rule_message() -> Result<()> {
    let control_plane = cluster().await?;
    let namespace = control_plane.namespace("crd-names").await?;
    let api: Api<TicketEvent> = Api::namespaced(control_plane.client(), &namespace);
    let longest = format!("a{}", "b".repeat(ticketing_crds::MAX_NAME_LENGTH - 1));

    // Each of these is a valid object name (a DNS subdomain), but no Service or host label can carry it.
    for name in [format!("{longest}c"), "1st-final".into(), "cup.final".into()] {
        let rejected = rejection(create(&api, &ticket_event(&name)).await);

        assert!(
            rejected.contains("metadata.name must be a DNS-1035 label of at most 63 characters"),
            "{name}: {rejected}"
        );
    }
    assert_eq!(create(&api, &ticket_event(&longest)).await?.metadata.name, Some(longest));
    Ok(())
}

/// Sets the status fields in `status` through the status subresource.
async fn set_status(api: &Api<TicketEvent>, status: Value) -> kube::Result<TicketEvent> {
    api.patch_status("final", &PatchParams::default(), &Patch::Merge(json!({ "status": status }))).await
}

async fn set_spec(api: &Api<TicketEvent>, spec: Value) -> kube::Result<TicketEvent> {
    api.patch("final", &PatchParams::default(), &Patch::Merge(json!({ "spec": spec }))).await
}

#[tokio::test]
async fn capacity_may_grow_after_the_opening_but_never_fall_below_the_seats_sold() -> Result<()> {
    let control_plane = cluster().await?;
    let namespace = control_plane.namespace("crd-capacity").await?;
    let api: Api<TicketEvent> = Api::namespaced(control_plane.client(), &namespace);
    create(&api, &ticket_event("final")).await?;
    set_status(&api, json!({ "phase": "Scheduled", "seats": { "total": 100, "sold": 0, "available": 100 } })).await?;
    let before = set_spec(&api, json!({ "capacity": 60 })).await?;
    let opened = json!({ "phase": "OnSale", "saleOpenedAt": "2027-05-01T10:00:00Z",
                         "seats": { "total": 60, "sold": 40, "available": 20 } });
    set_status(&api, opened).await?;

    let grown = set_spec(&api, json!({ "capacity": 150 })).await?;
    let lowered = set_spec(&api, json!({ "capacity": 45 })).await?;
    let below_sold = set_spec(&api, json!({ "capacity": 39 })).await;

    assert_eq!(before.spec.capacity, 60, "capacity may change freely before the sale opens");
    assert_eq!(grown.spec.capacity, 150, "releasing more seats during the sale is allowed");
    assert_eq!(lowered.spec.capacity, 45, "lowering to no fewer than the seats sold is allowed");
    assert!(rejection(below_sold).contains("spec.capacity may grow once the sale has opened, but never fall below"));
    Ok(())
}

#[tokio::test]
async fn the_opening_stays_frozen_after_a_failed_update_moved_the_phase_to_failed() -> Result<()> {
    let control_plane = cluster().await?;
    let namespace = control_plane.namespace("crd-frozen").await?;
    let api: Api<TicketEvent> = Api::namespaced(control_plane.client(), &namespace);
    let created = create(&api, &ticket_event("final")).await?;
    let later = (created.spec.sale.opens_at + Duration::hours(1)).to_rfc3339();
    set_status(&api, json!({ "phase": "Scheduled" })).await?;
    let movable = set_spec(&api, json!({ "sale": { "opensAt": later } })).await?;
    set_status(
        &api,
        json!({ "phase": "OnSale", "saleOpenedAt": later, "seats": { "total": 100, "sold": 10, "available": 90 } }),
    )
    .await?;

    set_status(&api, json!({ "phase": "Failed" })).await?;
    let opening = set_spec(&api, json!({ "sale": { "opensAt": "2027-05-01T09:00:00Z" } })).await;
    let capacity = set_spec(&api, json!({ "capacity": 5 })).await;
    let name = set_spec(&api, json!({ "eventName": "Cup Final (replay)" })).await;

    assert_eq!(movable.spec.sale.opens_at.to_rfc3339(), later, "the opening may move before the sale opens");
    assert!(rejection(opening).contains("spec.sale.opensAt cannot change once the sale has opened"));
    assert!(rejection(capacity).contains("never fall below the seats sold"));
    assert_eq!(name?.spec.event_name, "Cup Final (replay)", "other fields stay editable");
    Ok(())
}

#[tokio::test]
async fn the_recorded_opening_can_be_neither_removed_nor_moved() -> Result<()> {
    let control_plane = cluster().await?;
    let namespace = control_plane.namespace("crd-opened").await?;
    let api: Api<TicketEvent> = Api::namespaced(control_plane.client(), &namespace);
    create(&api, &ticket_event("final")).await?;
    set_status(&api, json!({ "phase": "OnSale", "saleOpenedAt": "2027-05-01T10:00:00Z" })).await?;

    let removed = set_status(&api, json!({ "saleOpenedAt": null })).await;
    let moved = set_status(&api, json!({ "saleOpenedAt": "2027-05-01T11:00:00Z" })).await;
    let kept = set_status(&api, json!({ "phase": "Closed" })).await?;

    for refused in [removed, moved] {
        assert!(rejection(refused).contains("status.saleOpenedAt cannot change or be removed once set"));
    }
    let opened_at = kept.status.and_then(|s| s.sale_opened_at).map(|at| at.to_rfc3339());
    assert_eq!(opened_at.as_deref(), Some("2027-05-01T10:00:00+00:00"));
    Ok(())
}
