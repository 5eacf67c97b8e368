//! Test support: real MariaDB, Redis and Kubernetes control-plane processes for the test suites.

#[cfg(feature = "control-plane")]
pub mod control_plane;
