//! The `ticketing-service` binary (being written).

fn main() {}
