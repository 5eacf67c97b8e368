//! `ticketing-bench`: a load generator of our own for the reservation service, with an in-run ceiling and the
//! reservation invariants checked from the database after every scenario.
//!
//! # Layout
//! - [`conn`]: one keep-alive HTTP/1.1 connection per worker.
//! - [`load`]: the closed and open load models driving a [`load::Workload`]; [`recorder`] keeps the HdrHistogram
//!   and the per-second timeline.
//! - Workloads: [`storm`] (the reusable hot-event storm driver, also used by the fault campaign), [`traffic`]
//!   (sold-out flood, event reads, the ceiling's GET) and [`mixed`].
//! - [`ceiling`]: the trivial axum handler every run measures first.
//! - [`service_proc`]: starting the service binary and reading its peak RSS; [`api`]: setup calls and `/metrics`.
//! - [`invariants`]: the database checks; [`outcome`]: acknowledged reservations and error classes.
//! - [`faults`]: the fault campaign; [`operator_scale`]: the operator at scale on the test control plane.
//! - [`suite`]: the scenario sequence; [`report`] and [`plot`]: `results.json`, `results.md` and `plot.svg`.

pub mod api;
pub mod auth;
pub mod ceiling;
pub mod conn;
pub mod faults;
pub mod invariants;
pub mod load;
pub mod mixed;
pub mod operator_scale;
pub mod outcome;
pub mod plot;
pub mod recorder;
pub mod report;
pub mod service_proc;
pub mod storm;
pub mod suite;
pub mod traffic;
