//! The `TicketEvent` status: what the operator observed, in the Kubernetes conventions (a phase, counts,
//! `observedGeneration` and conditions), with no field that changes unless the world did.

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The observed state of a `TicketEvent`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketEventStatus {
    /// Where the event is in its life.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// The event's id in the reservation service's database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<i64>,
    /// When the sale opened. Set once the sale window opens and never cleared or changed afterwards (a CRD rule
    /// keeps it), so that the rules freezing the opening and bounding the capacity hold whatever the phase becomes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_opened_at: Option<DateTime<Utc>>,
    /// When the sale closed (the end of its window, or the moment the operator saw it closed early); the service
    /// scales to zero `scaling.closedGracePeriodMinutes` later. Cleared when a spec change reopens the sale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale_closed_at: Option<DateTime<Utc>>,
    /// Seats as the reservation service counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats: Option<Seats>,
    /// Pods of the event's Deployment (the scale subresource's status replicas).
    #[serde(default)]
    pub replicas: i32,
    /// Pods of the event's Deployment that are ready.
    #[serde(default)]
    pub ready_replicas: i32,
    /// The label selector of the event's pods, as a string (the scale subresource's selector).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Progressing` and `Degraded`, in the Kubernetes convention.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// Seat counts of the event.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Seats {
    /// The capacity of the event.
    pub total: i64,
    /// Seats held by active reservations.
    pub sold: i64,
    /// Seats still for sale.
    pub available: i64,
}

/// Where an event is in its life.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum Phase {
    /// Not yet known in the reservation service, or its service is not yet built.
    Pending,
    /// Known and running at baseline; the prewarm window has not started.
    Scheduled,
    /// Scaled to peak ahead of the opening.
    Prewarming,
    /// Taking reservations.
    OnSale,
    /// Every seat is taken.
    SoldOut,
    /// The sale window has ended or the sale was closed.
    Closed,
    /// The spec cannot be acted on; see the `Degraded` condition.
    Failed,
}

impl Phase {
    /// The phase's name as it appears in the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Scheduled => "Scheduled",
            Phase::Prewarming => "Prewarming",
            Phase::OnSale => "OnSale",
            Phase::SoldOut => "SoldOut",
            Phase::Closed => "Closed",
            Phase::Failed => "Failed",
        }
    }
}
