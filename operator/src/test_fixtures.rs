//! Specs shared by the unit tests of the pure stages.

use chrono::{TimeZone, Utc};
use ticketing_crds::{HpaSpec, SaleWindow, ScalingSpec, TicketEventSpec};

/// A concert on sale from 10:00 to 22:00, 2 replicas at baseline and 6 at peak from 15 minutes before.
pub fn spec() -> TicketEventSpec {
    TicketEventSpec {
        event_name: "Spring Concert".into(),
        event_date: Utc.with_ymd_and_hms(2027, 5, 1, 19, 0, 0).unwrap(),
        capacity: 5000,
        sale: SaleWindow {
            opens_at: Utc.with_ymd_and_hms(2027, 3, 1, 10, 0, 0).unwrap(),
            closes_at: Utc.with_ymd_and_hms(2027, 3, 1, 22, 0, 0).unwrap(),
        },
        per_user_limit: 4,
        max_per_order: None,
        hold_seconds: 300,
        service: None,
        scaling: ScalingSpec {
            baseline_replicas: 2,
            peak_replicas: 6,
            prewarm_minutes: 15,
            closed_grace_period_minutes: 60,
            hpa: HpaSpec { min_replicas: 2, max_replicas: 12, target_cpu_utilization_percentage: 60 },
        },
        replicas: None,
    }
}

/// The operator configuration of the unit tests, with an Ingress base domain.
pub fn config() -> crate::config::OperatorConfig {
    use crate::config::{IngressConfig, OperatorConfig, PodSettings, ServiceDefaults, ZoneSpread};
    use k8s_openapi::api::core::v1::ResourceRequirements;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use std::collections::BTreeMap;
    OperatorConfig {
        service: ServiceDefaults {
            image: "ghcr.io/example/ticketing-service:0.1.0".into(),
            resources: ResourceRequirements {
                requests: Some(BTreeMap::from([
                    ("cpu".into(), Quantity("250m".into())),
                    ("memory".into(), Quantity("256Mi".into())),
                ])),
                limits: Some(BTreeMap::from([("memory".into(), Quantity("512Mi".into()))])),
                ..ResourceRequirements::default()
            },
            env_secret: "ticketing-service-env".into(),
            env_config_map: None,
            pods: PodSettings {
                run_as_user: 65532,
                image_pull_secrets: vec!["registry-credentials".into()],
                zone_spread: ZoneSpread::Preferred,
                pre_stop_seconds: 5,
            },
        },
        ingress: Some(IngressConfig {
            base_domain: "tickets.example.com".into(),
            class_name: Some("nginx".into()),
            tls_secret: Some("tickets-wildcard-tls".into()),
        }),
        seat_refresh: std::time::Duration::from_secs(30),
        watch_namespace: None,
    }
}
