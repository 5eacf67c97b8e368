//! The CRD manifest generated from the Rust types; `ticketing-operator crd` prints it and a test keeps the committed
//! `crds/ticketevents.yaml` equal to it.

use kube::CustomResourceExt;

use crate::TicketEvent;

/// The `TicketEvent` CustomResourceDefinition as a YAML document.
pub fn crd_yaml() -> String {
    serde_yaml::to_string(&TicketEvent::crd()).expect("a CRD always serialises to YAML")
}
