//! The `TicketEvent` spec and the validation rules the API server checks on it.
//!
//! Each rule lives on the smallest struct that can state it, so the API server reports the path of the field at
//! fault. The limits are the reservation service's own (`service/src/domain.rs`), so that a TicketEvent the API
//! server admits is one the service registers. The rules that need the status sit on the root object: whether the
//! sale has opened is `status.saleOpenedAt`, which the operator sets once the sale opens and never clears (the API
//! server keeps it so), because CEL cannot work out from the clock whether the sale opened.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use crate::status::TicketEventStatus;

/// The longest TicketEvent name. Every child is named exactly after its event, the event's host has the name as a
/// DNS label of its own, and a Service name is a DNS-1035 label of at most 63 characters; a child named with a
/// suffix would have to lower this by the suffix's length (the operator's build tests check every child's name).
pub const MAX_NAME_LENGTH: usize = 63;
/// The most seats an event may have, as in the reservation service.
pub const MAX_CAPACITY: i64 = 10_000_000;
/// The most seats one order may ask for, as in the reservation service.
pub const MAX_PER_ORDER: i32 = 100;
/// The longest hold, in seconds (a day), as in the reservation service.
pub const MAX_HOLD_SECONDS: i32 = 86_400;

/// Whether the old object records that the sale opened, as a CEL expression on the root object.
const OPENED: &str = "has(oldSelf.status) && has(oldSelf.status.saleOpenedAt)";

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
    validation = Rule::new(name_rule()).message(name_message().as_str()).reason(Reason::FieldValueInvalid),
    validation = Rule::new(format!("!({OPENED}) || self.spec.sale.opensAt == oldSelf.spec.sale.opensAt"))
        .message("spec.sale.opensAt cannot change once the sale has opened (status.saleOpenedAt)")
        .reason(Reason::FieldValueForbidden),
    validation = Rule::new(format!(
        "!({OPENED}) || self.spec.capacity >= oldSelf.spec.capacity || (has(oldSelf.status.seats) && \
         self.spec.capacity >= oldSelf.status.seats.sold)"
    ))
    .message("spec.capacity may grow once the sale has opened, but never fall below the seats sold (status.seats.sold)")
    .reason(Reason::FieldValueForbidden),
    validation = Rule::new(
        "!has(oldSelf.status) || !has(oldSelf.status.saleOpenedAt) || (has(self.status) && \
         has(self.status.saleOpenedAt) && self.status.saleOpenedAt == oldSelf.status.saleOpenedAt)"
    )
    .message("status.saleOpenedAt cannot change or be removed once set")
    .reason(Reason::FieldValueForbidden),
)]
#[x_kube(validation = Rule::new("self.capacity >= 1 && self.capacity <= 10000000")
    .message("spec.capacity must be between 1 and 10000000"))]
#[x_kube(validation = Rule::new("!has(self.replicas) || self.replicas <= self.scaling.hpa.maxReplicas")
    .message("spec.replicas must not exceed spec.scaling.hpa.maxReplicas"))]
#[serde(rename_all = "camelCase")]
pub struct TicketEventSpec {
    /// The name buyers see: 1 to 200 characters, not blank, without control characters.
    #[schemars(length(min = 1, max = 200))]
    #[x_kube(validation = Rule::new("self.trim() != ''").message("spec.eventName must not be blank"))]
    #[x_kube(validation = Rule::new("!self.matches('\\\\p{Cc}')")
        .message("spec.eventName must not contain control characters"))]
    pub event_name: String,
    /// When the event takes place (RFC 3339).
    pub event_date: DateTime<Utc>,
    /// Total seats for sale, 1 to 10,000,000. Once the sale has opened it may grow (more seats released), and
    /// shrink only down to the seats sold.
    pub capacity: i64,
    /// When the sale opens and closes.
    pub sale: SaleWindow,
    /// Most seats one buyer may hold for this event.
    #[serde(default = "default_per_user_limit")]
    #[schemars(range(min = 1, max = 10_000_000))]
    pub per_user_limit: i32,
    /// Most seats one order may ask for, 1 to 100; the service's default (4, or `perUserLimit` when lower) when
    /// unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub max_per_order: Option<i32>,
    /// How long an unconfirmed hold keeps its seats, at most a day (86400); 0 confirms at once.
    #[serde(default)]
    #[schemars(range(min = 0, max = 86_400))]
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
#[x_kube(validation = Rule::new("self.peakReplicas <= self.hpa.maxReplicas").message("spec.scaling.peakReplicas must not exceed spec.scaling.hpa.maxReplicas"))]
#[serde(rename_all = "camelCase")]
pub struct ScalingSpec {
    /// Replicas outside the peak window.
    #[serde(default = "default_baseline_replicas")]
    #[schemars(range(min = 1))]
    pub baseline_replicas: i32,
    /// Replicas held from `prewarmMinutes` before the sale opens until it sells out or closes; at most
    /// `hpa.maxReplicas`.
    #[schemars(range(min = 1))]
    pub peak_replicas: i32,
    /// How many minutes before `sale.opensAt` the service scales to `peakReplicas`.
    #[serde(default = "default_prewarm_minutes")]
    #[schemars(range(min = 0))]
    pub prewarm_minutes: i32,
    /// How many minutes after the sale closes the service scales to zero (its HorizontalPodAutoscaler removed);
    /// never before the last hold could lapse (`holdSeconds` after the close). At most a week.
    #[serde(default = "default_closed_grace_period_minutes")]
    #[schemars(range(min = 0, max = 10_080))]
    pub closed_grace_period_minutes: i32,
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
    /// The autoscaler's highest replica count, which neither the peak nor the scale subresource may exceed.
    #[schemars(range(min = 1))]
    pub max_replicas: i32,
    /// The average CPU utilisation (percent of requests) the autoscaler aims for.
    #[serde(default = "default_cpu_target")]
    #[schemars(range(min = 1, max = 100))]
    pub target_cpu_utilization_percentage: i32,
}

/// The CEL rule on `metadata.name`: a DNS-1035 label short enough for every name derived from it.
fn name_rule() -> String {
    format!(
        "size(self.metadata.name) <= {MAX_NAME_LENGTH} && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')"
    )
}

fn name_message() -> String {
    format!(
        "metadata.name must be a DNS-1035 label of at most {MAX_NAME_LENGTH} characters (lower-case letters, digits \
         and '-', starting with a letter and ending with a letter or digit): the event's Service, Deployment and \
         Ingress host are named after it"
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

fn default_closed_grace_period_minutes() -> i32 {
    60
}

fn default_cpu_target() -> i32 {
    70
}
