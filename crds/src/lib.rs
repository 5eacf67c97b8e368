//! The `TicketEvent` custom resource types (being written).
