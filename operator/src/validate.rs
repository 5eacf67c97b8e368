//! The validate stage: checks what the reconcile relies on and resolves the operator's defaults, purely.
//!
//! The API server already enforces the CRD's CEL rules on every write; this stage repeats the ones the later stages
//! depend on, because objects stored before a rule existed are never re-validated by the API server.

use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::ResourceExt;
use ticketing_crds::{TicketEvent, MAX_CAPACITY, MAX_HOLD_SECONDS, MAX_NAME_LENGTH, MAX_PER_ORDER};

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

/// Checks `event`'s name and spec and resolves its defaults from `config`.
pub fn validate(event: &TicketEvent, config: &OperatorConfig) -> Result<ValidEvent, InvalidSpec> {
    let fail = |message: &str| Err(InvalidSpec(message.to_string()));
    let spec = &event.spec;
    if !is_dns_1035_label(&event.name_any()) {
        return Err(InvalidSpec(format!(
            "metadata.name must be a DNS-1035 label of at most {MAX_NAME_LENGTH} characters: the event's children \
             are named after it"
        )));
    }
    let name = spec.event_name.trim();
    if name.is_empty() || spec.event_name.chars().count() > 200 || name.chars().any(char::is_control) {
        return fail("spec.eventName must have 1 to 200 characters, not blank, without control characters");
    }
    if !(1..=MAX_CAPACITY).contains(&spec.capacity) {
        return Err(InvalidSpec(format!("spec.capacity must be between 1 and {MAX_CAPACITY}")));
    }
    if spec.sale.closes_at <= spec.sale.opens_at {
        return fail("spec.sale.closesAt must be after spec.sale.opensAt");
    }
    if spec.per_user_limit < 1 || !(0..=MAX_HOLD_SECONDS).contains(&spec.hold_seconds) {
        return Err(InvalidSpec(format!(
            "spec.perUserLimit must be at least 1 and spec.holdSeconds between 0 and {MAX_HOLD_SECONDS}"
        )));
    }
    if spec.max_per_order.is_some_and(|max| !(1..=MAX_PER_ORDER).contains(&max)) {
        return Err(InvalidSpec(format!("spec.maxPerOrder must be between 1 and {MAX_PER_ORDER}")));
    }
    let scaling = &spec.scaling;
    if scaling.baseline_replicas < 1 || scaling.peak_replicas < scaling.baseline_replicas {
        return fail("spec.scaling.peakReplicas must be at least spec.scaling.baselineReplicas, itself at least 1");
    }
    if scaling.peak_replicas > scaling.hpa.max_replicas || spec.replicas.unwrap_or(0) > scaling.hpa.max_replicas {
        return fail("spec.scaling.peakReplicas and spec.replicas must not exceed spec.scaling.hpa.maxReplicas");
    }
    if scaling.closed_grace_period_minutes < 0 {
        return fail("spec.scaling.closedGracePeriodMinutes must not be negative");
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

/// Whether `name` is a DNS-1035 label of at most [`MAX_NAME_LENGTH`] characters, as the CRD's rule on
/// `metadata.name` requires.
fn is_dns_1035_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
    !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LENGTH
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes.iter().all(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::{config, spec};
    use ticketing_crds::{ServiceTemplate, TicketEventSpec};

    fn event(spec: TicketEventSpec) -> TicketEvent {
        TicketEvent::new("spring-concert", spec)
    }

    #[test]
    fn a_spec_without_service_overrides_takes_the_operator_defaults() {
        let valid = validate(&event(spec()), &config()).expect("valid");

        assert_eq!(valid.image, config().service.image);
        assert_eq!(valid.resources, config().service.resources);
    }

    #[test]
    fn the_spec_image_wins_over_the_default() {
        let mut spec = spec();
        spec.service = Some(ServiceTemplate { image: Some("registry.example/ts:2".into()), resources: None });

        assert_eq!(validate(&event(spec), &config()).expect("valid").image, "registry.example/ts:2");
    }

    #[test]
    fn a_sale_closing_before_it_opens_is_refused_with_the_field_named() {
        let mut spec = spec();
        spec.sale.closes_at = spec.sale.opens_at;

        let err = validate(&event(spec), &config()).unwrap_err();

        assert!(err.0.contains("spec.sale.closesAt"), "{err}");
    }

    #[test]
    fn an_autoscaler_minimum_above_its_maximum_is_refused() {
        let mut spec = spec();
        spec.scaling.hpa.min_replicas = 20;

        assert!(validate(&event(spec), &config()).unwrap_err().0.contains("minReplicas"));
    }

    #[test]
    fn a_peak_above_the_autoscaler_maximum_is_refused_instead_of_raising_it() {
        let mut spec = spec();
        spec.scaling.hpa.max_replicas = 3;

        assert!(validate(&event(spec), &config()).unwrap_err().0.contains("maxReplicas"));
    }

    #[test]
    fn the_service_limits_and_name_rules_hold_for_objects_stored_before_the_crd_had_them() {
        let mut control = spec();
        control.event_name = "Spring\u{7}Concert".into();
        let mut hold = spec();
        hold.hold_seconds = MAX_HOLD_SECONDS + 1;
        let mut seats = spec();
        seats.capacity = MAX_CAPACITY + 1;
        for bad in [control, hold, seats] {
            assert!(validate(&event(bad), &config()).is_err());
        }
        for name in ["1st-final", "final-", "Final", &"a".repeat(MAX_NAME_LENGTH + 1)] {
            let named = TicketEvent::new(name, spec());
            assert!(validate(&named, &config()).unwrap_err().0.contains("metadata.name"), "{name}");
        }
        assert!(validate(&TicketEvent::new(&"a".repeat(MAX_NAME_LENGTH), spec()), &config()).is_ok());
    }
}
