//! The validate stage: checks what the reconcile relies on and resolves the operator's defaults, purely.
//!
//! The API server already enforces the CRD's CEL rules on every write; this stage repeats the ones the later stages
//! depend on, because objects stored before a rule existed are never re-validated by the API server.

use k8s_openapi::api::core::v1::ResourceRequirements;
use ticketing_crds::TicketEventSpec;

use crate::config::OperatorConfig;

/// A spec the later stages can act on, with the operator's defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidEvent {
    /// The reservation service image.
    pub image: String,
    /// The reservation service container's resources.
    pub resources: ResourceRequirements,
}

/// Why a spec cannot be acted on; the message names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSpec(pub String);

/// Checks `spec` and resolves its defaults from `config`.
pub fn validate(spec: &TicketEventSpec, config: &OperatorConfig) -> Result<ValidEvent, InvalidSpec> {
    let fail = |message: &str| Err(InvalidSpec(message.to_string()));
    if spec.event_name.trim().is_empty() || spec.event_name.chars().count() > 200 {
        return fail("spec.eventName must have 1 to 200 characters");
    }
    if spec.capacity < 1 {
        return fail("spec.capacity must be at least 1");
    }
    if spec.sale.closes_at <= spec.sale.opens_at {
        return fail("spec.sale.closesAt must be after spec.sale.opensAt");
    }
    if spec.per_user_limit < 1 || spec.hold_seconds < 0 {
        return fail("spec.perUserLimit must be at least 1 and spec.holdSeconds at least 0");
    }
    let scaling = &spec.scaling;
    if scaling.baseline_replicas < 1 || scaling.peak_replicas < scaling.baseline_replicas {
        return fail("spec.scaling.peakReplicas must be at least spec.scaling.baselineReplicas, itself at least 1");
    }
    if scaling.prewarm_minutes < 0 {
        return fail("spec.scaling.prewarmMinutes must not be negative");
    }
    if scaling.hpa.min_replicas < 1 || scaling.hpa.min_replicas > scaling.hpa.max_replicas {
        return fail("spec.scaling.hpa.minReplicas must be between 1 and spec.scaling.hpa.maxReplicas");
    }
    let overrides = spec.service.clone().unwrap_or_default();
    let image = overrides.image.unwrap_or_else(|| config.service.image.clone());
    if image.trim().is_empty() {
        return fail("spec.service.image must not be empty");
    }
    let resources = overrides.resources.unwrap_or_else(|| config.service.resources.clone());
    Ok(ValidEvent { image, resources })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::{config, spec};
    use ticketing_crds::ServiceTemplate;

    #[test]
    fn a_spec_without_service_overrides_takes_the_operator_defaults() {
        let valid = validate(&spec(), &config()).expect("valid");

        assert_eq!(valid.image, config().service.image);
        assert_eq!(valid.resources, config().service.resources);
    }

    #[test]
    fn the_spec_image_wins_over_the_default() {
        let mut spec = spec();
        spec.service = Some(ServiceTemplate { image: Some("registry.example/ts:2".into()), resources: None });

        assert_eq!(validate(&spec, &config()).expect("valid").image, "registry.example/ts:2");
    }

    #[test]
    fn a_sale_closing_before_it_opens_is_refused_with_the_field_named() {
        let mut spec = spec();
        spec.sale.closes_at = spec.sale.opens_at;

        let err = validate(&spec, &config()).unwrap_err();

        assert!(err.0.contains("spec.sale.closesAt"), "{err}");
    }

    #[test]
    fn an_autoscaler_minimum_above_its_maximum_is_refused() {
        let mut spec = spec();
        spec.scaling.hpa.min_replicas = 20;

        assert!(validate(&spec, &config()).unwrap_err().0.contains("minReplicas"));
    }
}
