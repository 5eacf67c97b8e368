//! How many pods an event runs: the HorizontalPodAutoscaler carrying the schedule's bounds, and the
//! PodDisruptionBudget limiting voluntary evictions.

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HPAScalingPolicy, HPAScalingRules, HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::{metadata, selector_labels, BuildInput};

/// The autoscaler of the event's Deployment. Its minimum is the schedule's floor, so the pods are there before the
/// sale opens; CPU only adds to it. It scales up at once and down slowly. None once the event is scaled to zero: an
/// autoscaler's minimum is at least one.
pub fn hpa(input: &BuildInput<'_>) -> Option<HorizontalPodAutoscaler> {
    if input.decision.scaled_to_zero() {
        return None;
    }
    let scaling = &input.event.spec.scaling;
    Some(HorizontalPodAutoscaler {
        metadata: metadata(input.event),
        spec: HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: input.event.name_any(),
            },
            min_replicas: Some(input.decision.min_replicas),
            max_replicas: input.decision.max_replicas,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(scaling.hpa.target_cpu_utilization_percentage),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            behavior: Some(HorizontalPodAutoscalerBehavior {
                scale_up: Some(HPAScalingRules {
                    stabilization_window_seconds: Some(0),
                    select_policy: Some("Max".into()),
                    policies: Some(vec![HPAScalingPolicy { type_: "Percent".into(), value: 100, period_seconds: 15 }]),
                    ..HPAScalingRules::default()
                }),
                scale_down: Some(HPAScalingRules {
                    stabilization_window_seconds: Some(300),
                    ..HPAScalingRules::default()
                }),
            }),
        },
        ..HorizontalPodAutoscaler::default()
    })
}

/// The disruption budget: one pod of the event at a time may be evicted (harmless at zero pods).
pub fn pdb(input: &BuildInput<'_>) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: metadata(input.event),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(input.event)),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    }
}
