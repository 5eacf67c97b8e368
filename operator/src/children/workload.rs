//! The pods of an event: the Deployment of the reservation service (hardened by the hardening module) and the
//! ConfigMap with the event's settings.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapEnvSource, ConfigMapVolumeSource, Container, ContainerPort, EnvFromSource, EnvVar,
    HTTPGetAction, PodSpec, PodTemplateSpec, Probe, SecretEnvSource, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::ObjectMeta;
use kube::ResourceExt;
use serde_json::json;

use super::{hardening, labels, metadata, selector_labels, BuildInput, HTTP_PORT};

/// Where the event's ConfigMap is mounted in the pods.
const EVENT_CONFIG_DIR: &str = "/etc/ticketing/event";

/// The ConfigMap holding the event's configuration as `event.json`.
pub fn config_map(input: &BuildInput<'_>) -> ConfigMap {
    let spec = &input.event.spec;
    let event = json!({
        "eventId": input.event_id,
        "eventName": spec.event_name,
        "eventDate": spec.event_date,
        "capacity": spec.capacity,
        "opensAt": spec.sale.opens_at,
        "closesAt": spec.sale.closes_at,
        "perUserLimit": spec.per_user_limit,
        "holdSeconds": spec.hold_seconds,
    });
    let text = serde_json::to_string_pretty(&event).expect("JSON values always serialise");
    ConfigMap {
        metadata: metadata(input.event),
        data: Some(BTreeMap::from([("event.json".to_string(), text)])),
        ..ConfigMap::default()
    }
}

/// The Deployment of the reservation service, taking reservations for this event only. Its replica count is left
/// to the HorizontalPodAutoscaler, whose bounds carry the schedule, until a closed sale's grace period has passed:
/// then there is no autoscaler and the count is zero.
pub fn deployment(input: &BuildInput<'_>) -> Deployment {
    let event = input.event;
    let defaults = &input.config.service;
    let mut env_from = vec![EnvFromSource {
        secret_ref: Some(SecretEnvSource { name: defaults.env_secret.clone(), optional: Some(false) }),
        ..EnvFromSource::default()
    }];
    if let Some(name) = &defaults.env_config_map {
        env_from.push(EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource { name: name.clone(), optional: Some(false) }),
            ..EnvFromSource::default()
        });
    }
    let container = Container {
        name: "reservations".into(),
        image: Some(input.valid.image.clone()),
        args: Some(vec!["serve".into(), "--bind".into(), format!("0.0.0.0:{HTTP_PORT}")]),
        ports: Some(vec![ContainerPort {
            name: Some("http".into()),
            container_port: HTTP_PORT,
            protocol: Some("TCP".into()),
            ..ContainerPort::default()
        }]),
        env: Some(vec![EnvVar {
            name: "TICKETING_EVENT_SCOPE".into(),
            value: Some(input.event_id.to_string()),
            ..EnvVar::default()
        }]),
        env_from: Some(env_from),
        resources: Some(input.valid.resources.clone()),
        readiness_probe: Some(http_probe("/readyz", 5, 3)),
        liveness_probe: Some(http_probe("/livez", 10, 3)),
        volume_mounts: Some(vec![VolumeMount {
            name: "event".into(),
            mount_path: EVENT_CONFIG_DIR.into(),
            read_only: Some(true),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    };
    let mut pod = PodSpec {
        containers: vec![container],
        volumes: Some(vec![Volume {
            name: "event".into(),
            config_map: Some(ConfigMapVolumeSource { name: event.name_any(), ..ConfigMapVolumeSource::default() }),
            ..Volume::default()
        }]),
        ..PodSpec::default()
    };
    hardening::harden(&mut pod, &selector_labels(event), &defaults.pods);
    Deployment {
        metadata: metadata(event),
        spec: Some(DeploymentSpec {
            replicas: input.decision.scaled_to_zero().then_some(0),
            selector: LabelSelector { match_labels: Some(selector_labels(event)), ..LabelSelector::default() },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString::Int(0)),
                    max_surge: Some(IntOrString::String("25%".into())),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels(event)), ..ObjectMeta::default() }),
                spec: Some(pod),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// An HTTP probe on the service's port.
fn http_probe(path: &str, period_seconds: i32, failure_threshold: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("http".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period_seconds),
        failure_threshold: Some(failure_threshold),
        ..Probe::default()
    }
}
