//! Golden tests of the build stage: every child of a few specs, as YAML, compared with the files under
//! `operator/tests/golden/`. Set `TICKETING_UPDATE_GOLDEN=1` to rewrite the files after an intended change, then
//! review the diff.

use std::collections::BTreeMap;

use chrono::Duration;
use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use ticketing_crds::{ServiceTemplate, TicketEvent, TicketEventSpec};

use super::{build, BuildInput, Children};
use crate::config::OperatorConfig;
use crate::schedule::{decide, SaleState};
use crate::test_fixtures::{config, spec};
use crate::validate::validate;

fn event(name: &str, spec: TicketEventSpec) -> TicketEvent {
    let mut event = TicketEvent::new(name, spec);
    event.metadata.namespace = Some("concerts".into());
    event.metadata.uid = Some(format!("uid-of-{name}"));
    event
}

fn render(event: &TicketEvent, config: &OperatorConfig, event_id: i64, offset_from_opening: Duration) -> String {
    let valid = validate(event, config).expect("golden specs are valid");
    let decision = decide(&event.spec, SaleState::default(), event.spec.sale.opens_at + offset_from_opening);
    let children = build(&BuildInput { event, valid: &valid, config, event_id, decision: &decision });
    let Children { config_map, deployment, service, hpa, pdb, ingress } = children;
    let mut documents =
        vec![serde_yaml::to_string(&config_map), serde_yaml::to_string(&deployment), serde_yaml::to_string(&service)];
    documents.extend(hpa.map(|hpa| serde_yaml::to_string(&hpa)));
    documents.push(serde_yaml::to_string(&pdb));
    documents.extend(ingress.map(|ingress| serde_yaml::to_string(&ingress)));
    documents.into_iter().map(|d| d.expect("children serialise")).collect::<Vec<_>>().join("---\n")
}

fn assert_golden(case: &str, rendered: &str) {
    let path = format!("{}/tests/golden/{case}.yaml", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("TICKETING_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, rendered).expect("writing the golden file");
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        golden == rendered,
        "the children differ from {path}; if the change is intended, rerun with TICKETING_UPDATE_GOLDEN=1 and review \
         the diff.\n--- built ---\n{rendered}"
    );
}

#[test]
fn a_scheduled_event_runs_at_baseline_behind_its_own_ingress_host() {
    let rendered = render(&event("spring-concert", spec()), &config(), 42, Duration::hours(-2));

    assert_golden("scheduled-with-ingress", &rendered);
}

#[test]
fn an_event_on_sale_with_its_own_image_and_resources_runs_at_peak_without_ingress() {
    let mut spec = spec();
    spec.service = Some(ServiceTemplate {
        image: Some("registry.example/ticketing-service:2.0.0".into()),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".into(), Quantity("1".into())),
                ("memory".into(), Quantity("1Gi".into())),
            ])),
            ..ResourceRequirements::default()
        }),
    });
    let mut config = config();
    config.ingress = None;
    config.service.env_config_map = Some("ticketing-shared".into());

    let rendered = render(&event("finals", spec), &config, 7, Duration::minutes(1));

    assert_golden("on-sale-custom-service", &rendered);
}

#[test]
fn a_scaled_event_keeps_its_manual_floor_after_the_sale_closes() {
    let mut spec = spec();
    spec.replicas = Some(3);
    let after_close = spec.sale.closes_at - spec.sale.opens_at + Duration::minutes(1);

    let rendered = render(&event("matinee", spec), &config(), 9, after_close);

    assert_golden("closed-with-manual-floor", &rendered);
}

#[test]
fn a_closed_event_past_its_grace_period_runs_no_pods_and_has_no_autoscaler() {
    let spec = spec();
    let grace = Duration::minutes(i64::from(spec.scaling.closed_grace_period_minutes));
    let past_grace = spec.sale.closes_at - spec.sale.opens_at + grace;

    let rendered = render(&event("matinee", spec), &config(), 9, past_grace);

    assert_golden("closed-scaled-to-zero", &rendered);
}
