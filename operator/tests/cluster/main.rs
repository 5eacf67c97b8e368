//! The operator on a real control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok nodes from
//! `ticketing_testkit::control_plane`), each test in a namespace of its own.

mod crd;
mod support;
