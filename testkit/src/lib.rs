//! Test support: real MariaDB, Redis, toxiproxy and Kubernetes control-plane processes for the test suites and the
//! fault campaign.
//!
//! # Layout
//!
//! ```text
//!   mariadb        a fresh database per test on the MariaDB that scripts/test-services.sh started
//!   redis          the shared test Redis, and Redis processes of a test's own (to stop and restart them)
//!   toxiproxy      a toxiproxy-server of its own: TCP proxies with latency, resets, cuts and bandwidth limits
//!   control_plane  etcd + kube-apiserver + controller-manager + scheduler + kwok (feature `control-plane`)
//! ```
//!
//! A test that needs a server and cannot reach it fails with a message saying how to start it; nothing is skipped.

pub mod mariadb;
pub mod redis;
pub mod toxiproxy;

#[cfg(feature = "control-plane")]
pub mod control_plane;

use std::path::{Path, PathBuf};

/// The path of a script of this repository, e.g. `scripts/toxiproxy.sh`: looked up at run time from the working
/// directory (the repository or one of its crates, as under `cargo test` and `scripts/bench.sh`) and its parents,
/// else next to this crate's source. A path fixed at compile time alone would point into whichever checkout built
/// this crate first: cargo does not rebuild an unchanged crate for a second checkout that shares its target
/// directory.
pub fn repo_script(relative: &str) -> PathBuf {
    let working = std::env::current_dir().ok();
    working
        .iter()
        .flat_map(|dir| dir.ancestors())
        .map(|dir| dir.join(relative))
        .find(|path| path.is_file())
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(relative))
}
