//! The RBAC the operator needs, exactly the verbs it uses, printed by `ticketing-operator rbac`: a ClusterRole for
//! TicketEvents, their children and Events in every namespace, and a Role for its Lease in its own namespace.

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role};
use kube::api::ObjectMeta;

use crate::children::MANAGER;

/// Verbs on every kind of child: server-side apply (`patch`, and `create` when the object is new), the read that
/// tells whether an object of a child's name is the event's own before it is applied (`get`), the watches of the
/// controller (`list`, `watch`) and pruning (`delete`).
const CHILD_VERBS: [&str; 6] = ["create", "delete", "get", "list", "patch", "watch"];

/// The ClusterRole and the Role as one multi-document YAML text.
pub fn rbac_yaml() -> String {
    let cluster_role = ClusterRole {
        metadata: ObjectMeta { name: Some(MANAGER.into()), ..ObjectMeta::default() },
        rules: Some(vec![
            // The controller lists and watches TicketEvents; the finalizer is added and removed by patches.
            rule("ticketing.dev", &["ticketevents"], &["list", "patch", "watch"]),
            // The status is written by server-side apply on the status subresource.
            rule("ticketing.dev", &["ticketevents/status"], &["patch"]),
            rule("", &["configmaps", "services"], &CHILD_VERBS),
            rule("apps", &["deployments"], &CHILD_VERBS),
            rule("autoscaling", &["horizontalpodautoscalers"], &CHILD_VERBS),
            rule("policy", &["poddisruptionbudgets"], &CHILD_VERBS),
            rule("networking.k8s.io", &["ingresses"], &CHILD_VERBS),
            // Kubernetes Events are created, then patched when they repeat.
            rule("events.k8s.io", &["events"], &["create", "patch"]),
        ]),
        ..ClusterRole::default()
    };
    let role = Role {
        metadata: ObjectMeta { name: Some(format!("{MANAGER}-leader")), ..ObjectMeta::default() },
        // The lease manager reads the Lease, creates it when missing and patches it to take, renew and release it.
        rules: Some(vec![rule("coordination.k8s.io", &["leases"], &["create", "get", "patch"])]),
    };
    let cluster_role = serde_yaml::to_string(&cluster_role).expect("a ClusterRole serialises");
    let role = serde_yaml::to_string(&role).expect("a Role serialises");
    format!("{cluster_role}---\n{role}")
}

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(resources.iter().map(|r| r.to_string()).collect()),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..PolicyRule::default()
    }
}
