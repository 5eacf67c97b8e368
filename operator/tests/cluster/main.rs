//! The operator on a real control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok nodes from
//! `ticketing_testkit::control_plane`), each test in a namespace of its own.

mod binary;
mod crd;
mod hardening;
mod leader;
mod lifecycle;
mod ownership;
mod rbac;
mod schedule;
mod support;
mod uninstall;
