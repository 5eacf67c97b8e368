//! The `TicketEvent` spec and the validation rules the API server checks on it.
//!
//! Each rule lives on the smallest struct that can state it, so the API server reports the path of the field at
//! fault. The two immutability rules sit on the root object because only there can they see whether the sale has
//! opened (the status phase the operator wrote), which CEL cannot work out from the clock.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use crate::status::TicketEventStatus;

/// The phases in which the sale has opened, as CEL list literal; capacity and opening time are frozen in them.
const OPENED_PHASES: &str = "['OnSale', 'SoldOut', 'Closed']";

/// An event whose tickets go on sale: the operator runs a reservation service for it, scaled for its on-sale.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "ticketing.dev",
    version = "v1alpha1",
    kind = "TicketEvent",
    plural = "ticketevents",
    shortname = "te",
    category = "ticketing",
    namespaced,
    doc = "A TicketEvent: an event whose tickets go on sale, with the reservation service the operator runs for it.",
    status = "TicketEventStatus",
    derive = "PartialEq",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Sold", type_ = "integer", json_path = ".status.seats.sold"),
    printcolumn(name = "Available", type_ = "integer", json_path = ".status.seats.available"),
    printcolumn(name = "Ready", type_ = "integer", json_path = ".status.readyReplicas"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new(immutable_once_open("capacity"))
        .message("spec.capacity cannot change once the sale has opened")
        .reason(Reason::FieldValueForbidden),
    validation = Rule::new(immutable_once_open("sale.opensAt"))
        .message("spec.sale.opensAt cannot change once the sale has opened")
        .reason(Reason::FieldValueForbidden),
)]
#[x_kube(validation = Rule::new("self.capacity >= 1").message("spec.capacity must be at least 1"))]
#[serde(rename_all = "camelCase")]
pub struct TicketEventSpec {
    /// The name buyers see, 1 to 200 characters.
    #[schemars(length(min = 1, max = 200))]
    pub event_name: String,
    /// When the event takes place (RFC 3339).
    pub event_date: DateTime<Utc>,
    /// Total seats for sale.
    pub capacity: i64,
    /// When the sale opens and closes.
    pub sale: SaleWindow,
    /// Most seats one buyer may hold for this event.
    #[serde(default = "default_per_user_limit")]
    #[schemars(range(min = 1))]
    pub per_user_limit: i32,
    /// How long an unconfirmed hold keeps its seats; 0 confirms at once.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub hold_seconds: i32,
    /// Overrides for the reservation service pods; unset fields take the operator's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceTemplate>,
    /// How the service scales around the sale.
    pub scaling: ScalingSpec,
    /// A manual floor for the replica count, set through the scale subresource (`kubectl scale`). When set it
    /// replaces `scaling.baselineReplicas`; the peak window still raises the floor to `scaling.peakReplicas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub replicas: Option<i32>,
}

/// The sale window.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("self.closesAt > self.opensAt").message("spec.sale.closesAt must be after spec.sale.opensAt"))]
#[serde(rename_all = "camelCase")]
pub struct SaleWindow {
    /// When the first reservation is accepted (RFC 3339).
    pub opens_at: DateTime<Utc>,
    /// When the sale ends (RFC 3339).
    pub closes_at: DateTime<Utc>,
}

/// Overrides for the reservation service pods.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTemplate {
    /// The container image; the operator's `--service-image` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// CPU and memory requests and limits; the operator's defaults when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

/// Replica counts around the sale and the autoscaler's bounds.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("self.peakReplicas >= self.baselineReplicas").message("spec.scaling.peakReplicas must be at least spec.scaling.baselineReplicas"))]
#[serde(rename_all = "camelCase")]
pub struct ScalingSpec {
    /// Replicas outside the peak window.
    #[serde(default = "default_baseline_replicas")]
    #[schemars(range(min = 1))]
    pub baseline_replicas: i32,
    /// Replicas held from `prewarmMinutes` before the sale opens until it sells out or closes.
    #[schemars(range(min = 1))]
    pub peak_replicas: i32,
    /// How many minutes before `sale.opensAt` the service scales to `peakReplicas`.
    #[serde(default = "default_prewarm_minutes")]
    #[schemars(range(min = 0))]
    pub prewarm_minutes: i32,
    /// The HorizontalPodAutoscaler's bounds and CPU target.
    pub hpa: HpaSpec,
}

/// The HorizontalPodAutoscaler's bounds and CPU target; the operator raises the minimum in the peak window.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("self.minReplicas <= self.maxReplicas").message("spec.scaling.hpa.minReplicas must not exceed spec.scaling.hpa.maxReplicas"))]
#[serde(rename_all = "camelCase")]
pub struct HpaSpec {
    /// The autoscaler's lowest replica count outside the peak window.
    #[schemars(range(min = 1))]
    pub min_replicas: i32,
    /// The autoscaler's highest replica count.
    #[schemars(range(min = 1))]
    pub max_replicas: i32,
    /// The average CPU utilisation (percent of requests) the autoscaler aims for.
    #[serde(default = "default_cpu_target")]
    #[schemars(range(min = 1, max = 100))]
    pub target_cpu_utilization_percentage: i32,
}

/// A CEL rule on the root object: the spec field at `path` keeps its value once the status says the sale opened.
fn immutable_once_open(path: &str) -> String {
    format!(
        "!has(oldSelf.status) || !has(oldSelf.status.phase) || !(oldSelf.status.phase in {OPENED_PHASES}) \
         || self.spec.{path} == oldSelf.spec.{path}"
    )
}

fn default_per_user_limit() -> i32 {
    8
}

fn default_baseline_replicas() -> i32 {
    1
}

fn default_prewarm_minutes() -> i32 {
    10
}

fn default_cpu_target() -> i32 {
    70
}
