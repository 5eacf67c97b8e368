//! How an event's pods are reached: a ClusterIP Service and, when the operator has a base domain, an Ingress host.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend, IngressSpec,
    IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::{host, metadata, selector_labels, BuildInput};

/// The port the Service exposes.
const SERVICE_PORT: i32 = 80;

/// The ClusterIP Service in front of the event's pods.
pub fn service(input: &BuildInput<'_>) -> Service {
    Service {
        metadata: metadata(input.event),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector_labels(input.event)),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: SERVICE_PORT,
                target_port: Some(IntOrString::String("http".into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The Ingress giving the event its own host (see [`host`]); `None` without a base domain.
pub fn ingress(input: &BuildInput<'_>) -> Option<Ingress> {
    let config = input.config.ingress.as_ref()?;
    let host = host(input.event, &config.base_domain);
    let backend = IngressBackend {
        service: Some(IngressServiceBackend {
            name: input.event.name_any(),
            port: Some(ServiceBackendPort { name: Some("http".into()), ..ServiceBackendPort::default() }),
        }),
        ..IngressBackend::default()
    };
    Some(Ingress {
        metadata: metadata(input.event),
        spec: Some(IngressSpec {
            ingress_class_name: config.class_name.clone(),
            tls: config
                .tls_secret
                .as_ref()
                .map(|secret| vec![IngressTLS { hosts: Some(vec![host.clone()]), secret_name: Some(secret.clone()) }]),
            rules: Some(vec![IngressRule {
                host: Some(host),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath { path: Some("/".into()), path_type: "Prefix".into(), backend }],
                }),
            }]),
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    })
}
