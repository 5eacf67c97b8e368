//! Test support: real MariaDB, Redis and Kubernetes control-plane processes for the test suites.
//!
//! # Layout
//!
//! ```text
//!   mariadb        a fresh database per test on the MariaDB that scripts/test-services.sh started
//!   redis          the shared test Redis, and Redis processes of a test's own (to stop and restart them)
//!   control_plane  etcd + kube-apiserver + controller-manager + scheduler + kwok (feature `control-plane`)
//! ```
//!
//! A test that needs a server and cannot reach it fails with a message saying how to start it; nothing is skipped.

pub mod mariadb;
pub mod redis;

#[cfg(feature = "control-plane")]
pub mod control_plane;
