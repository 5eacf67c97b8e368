//! What makes an event's pods fit for a shared, restricted cluster, applied to the pod the workload module builds:
//! the restricted Pod Security Standard (non-root, the runtime's default seccomp profile, no capabilities, no
//! privilege escalation, a read-only root filesystem with emptyDirs where the service writes), no ServiceAccount
//! token (the service never calls the Kubernetes API), the registry credentials, a spread over zones and a delay
//! before a terminating pod is told to stop, so that its Service and Ingress have stopped sending it requests.
//!
//! The chart's own pods carry the same security contexts (`helm/ticketing/templates/_helpers.tpl`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, EmptyDirVolumeSource, EnvVar, Lifecycle, LifecycleHandler, LocalObjectReference, PodSecurityContext,
    PodSpec, SeccompProfile, SecurityContext, SleepAction, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::config::{PodSettings, ZoneSpread};

/// Where the service keeps its files (`TICKETING_DATA_DIR`): an emptyDir, since the root filesystem is read-only.
pub const DATA_DIR: &str = "/var/lib/ticketing";
/// The seconds a pod has to finish its requests once told to stop, after the preStop delay.
const DRAIN_SECONDS: i64 = 30;

/// Hardens `pod`, whose pods carry `selector`, as `settings` say: every container gets the restricted security
/// context, the data and temporary emptyDirs and `TICKETING_DATA_DIR`; the pod gets its security context, the pull
/// secrets, the zone spread, the preStop delay and a termination grace period that covers it.
pub fn harden(pod: &mut PodSpec, selector: &BTreeMap<String, String>, settings: &PodSettings) {
    pod.automount_service_account_token = Some(false);
    pod.security_context = Some(PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(settings.run_as_user),
        run_as_group: Some(settings.run_as_user),
        fs_group: Some(settings.run_as_user),
        seccomp_profile: Some(runtime_default()),
        ..PodSecurityContext::default()
    });
    if !settings.image_pull_secrets.is_empty() {
        pod.image_pull_secrets =
            Some(settings.image_pull_secrets.iter().map(|name| LocalObjectReference { name: name.clone() }).collect());
    }
    pod.topology_spread_constraints = zone_spread(settings.zone_spread, selector);
    pod.termination_grace_period_seconds = Some(settings.pre_stop_seconds + DRAIN_SECONDS);
    let volumes = pod.volumes.get_or_insert_with(Vec::new);
    volumes.push(empty_dir("data", "256Mi"));
    volumes.push(empty_dir("tmp", "64Mi"));
    for container in &mut pod.containers {
        container.security_context = Some(restricted(settings.run_as_user));
        let mounts = container.volume_mounts.get_or_insert_with(Vec::new);
        mounts.push(VolumeMount { name: "data".into(), mount_path: DATA_DIR.into(), ..VolumeMount::default() });
        mounts.push(VolumeMount { name: "tmp".into(), mount_path: "/tmp".into(), ..VolumeMount::default() });
        container.env.get_or_insert_with(Vec::new).push(EnvVar {
            name: "TICKETING_DATA_DIR".into(),
            value: Some(DATA_DIR.into()),
            ..EnvVar::default()
        });
        if settings.pre_stop_seconds > 0 {
            container.lifecycle = Some(Lifecycle {
                pre_stop: Some(LifecycleHandler {
                    sleep: Some(SleepAction { seconds: settings.pre_stop_seconds }),
                    ..LifecycleHandler::default()
                }),
                ..Lifecycle::default()
            });
        }
    }
}

/// The container security context of the restricted Pod Security Standard, with a read-only root filesystem.
fn restricted(user: i64) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(user),
        run_as_group: Some(user),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), ..Capabilities::default() }),
        seccomp_profile: Some(runtime_default()),
        ..SecurityContext::default()
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile { type_: "RuntimeDefault".into(), ..SeccompProfile::default() }
}

fn empty_dir(name: &str, size_limit: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(Quantity(size_limit.into())),
            ..EmptyDirVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// The zone spread of the pods selected by `selector`, or none.
fn zone_spread(spread: ZoneSpread, selector: &BTreeMap<String, String>) -> Option<Vec<TopologySpreadConstraint>> {
    let when_unsatisfiable = match spread {
        ZoneSpread::Off => return None,
        ZoneSpread::Preferred => "ScheduleAnyway",
        ZoneSpread::Required => "DoNotSchedule",
    };
    Some(vec![TopologySpreadConstraint {
        max_skew: 1,
        topology_key: "topology.kubernetes.io/zone".into(),
        when_unsatisfiable: when_unsatisfiable.into(),
        label_selector: Some(LabelSelector { match_labels: Some(selector.clone()), ..LabelSelector::default() }),
        ..TopologySpreadConstraint::default()
    }])
}
