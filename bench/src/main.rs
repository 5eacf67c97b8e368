//! Placeholder entry point (being written).

fn main() {}
