//! The `TicketEvent` custom resource: the Rust types the operator reads and writes, the CEL rules the API server
//! enforces, and the CRD manifest generated from them.
//!
//! Layout:
//! - [`ticket_event`]: the spec (what an event is and how it scales) and the CEL rules on it.
//! - [`status`]: the status the operator reports (phase, seats, replicas, conditions).
//! - [`manifest`]: the CRD as YAML, as committed in `crds/ticketevents.yaml`.
//!
//! ```text
//!  TicketEvent (ticketing.dev/v1alpha1, namespaced, short name `te`)
//!   ├── spec: event, sale window, limits, service overrides, scaling, replicas (scale subresource)
//!   └── status: phase, eventId, seats, replicas, readyReplicas, selector, observedGeneration, conditions
//! ```

pub mod manifest;
pub mod status;
pub mod ticket_event;

pub use manifest::crd_yaml;
pub use status::{Phase, Seats, TicketEventStatus};
pub use ticket_event::{
    HpaSpec, SaleWindow, ScalingSpec, ServiceTemplate, TicketEvent, TicketEventSpec, MAX_CAPACITY, MAX_HOLD_SECONDS,
    MAX_NAME_LENGTH, MAX_PER_ORDER,
};
