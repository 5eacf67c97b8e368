//! The operator under faults on a real control plane of its own: the `ticketing-operator` binary reconciles a batch
//! of TicketEvents while kube-apiserver restarts, every connection to it is reset, the operator is SIGKILLed
//! mid-apply, or the Lease holder is frozen with SIGSTOP. After each fault every event must converge, own exactly
//! one child of each kind (and the reservation service exactly one event per TicketEvent), and its status must not
//! flap for an observation window afterwards. A child deleted while the operator could not watch (frozen across an
//! apiserver restart, or standing by) must come back within seconds.
//!
//! The apiserver and connection faults run on a control plane of their own (they would break tests sharing one); the
//! others share one. The tests run one at a time, which keeps a 2-core machine from starving the lease renewals.

mod apiserver;
mod connections;
mod leader;
mod operator_kill;
mod relist;
mod stale;
mod support;
