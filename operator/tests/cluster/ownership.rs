//! The operator changes only what it made: objects that someone else made under the names a TicketEvent's children
//! would take (a neighbour's ConfigMap and Service, a Service the chart made) are left exactly as they were, the event
//! reports the conflict, and deleting the event leaves them to their owners.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

use crate::support::scenario::{eventually, Scenario};

/// What must not change about an object someone else made.
#[derive(Debug, PartialEq)]
struct Untouched {
    uid: Option<String>,
    resource_version: Option<String>,
    labels: BTreeMap<String, String>,
    owners: usize,
    managers: Vec<String>,
}

fn untouched<K: kube::Resource>(object: &K) -> Untouched {
    let meta = object.meta();
    Untouched {
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        labels: meta.labels.clone().unwrap_or_default(),
        owners: meta.owner_references.as_ref().map_or(0, Vec::len),
        managers: meta.managed_fields.iter().flatten().filter_map(|m| m.manager.clone()).collect(),
    }
}

/// Waits until TicketEvent `name` is `Degraded` with reason `NameConflict`; returns the condition's message.
async fn name_conflict(scenario: &Scenario, name: &str) -> Result<String> {
    eventually(&format!("{name} to report a name conflict"), || async {
        let status = scenario.events.get(name).await?.status.unwrap_or_default();
        Ok(status
            .conditions
            .iter()
            .find(|c| c.type_ == "Degraded" && c.status == "True" && c.reason == "NameConflict")
            .map(|c| c.message.clone()))
    })
    .await
}

#[tokio::test]
async fn objects_someone_else_made_under_a_childs_name_are_never_changed_or_collected() -> Result<()> {
    let scenario = Scenario::start("ownership").await?;
    let config_maps: Api<ConfigMap> = Api::namespaced(scenario.client(), &scenario.namespace);
    let services: Api<Service> = Api::namespaced(scenario.client(), &scenario.namespace);
    let deployments: Api<Deployment> = Api::namespaced(scenario.client(), &scenario.namespace);
    let neighbour = json!({ "app.kubernetes.io/name": "neighbour", "app.kubernetes.io/managed-by": "kubectl" });
    let chart = json!({ "app.kubernetes.io/name": "ticketing", "app.kubernetes.io/instance": "ticketing",
                        "app.kubernetes.io/component": "api", "app.kubernetes.io/managed-by": "Helm" });
    let their_config_map = config_maps
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": { "name": "final", "labels": neighbour },
                "data": { "settings": "the neighbour's" }
            }))?,
        )
        .await?;
    let their_services = [
        services
            .create(&PostParams::default(), &serde_json::from_value(json!({
                "metadata": { "name": "final", "labels": neighbour },
                "spec": { "selector": { "app": "neighbour" }, "ports": [ { "name": "web", "port": 8081 } ] }
            }))?)
            .await?,
        services
            .create(&PostParams::default(), &serde_json::from_value(json!({
                "metadata": { "name": "ticketing-api", "labels": chart,
                              "annotations": { "meta.helm.sh/release-name": "ticketing" } },
                "spec": { "selector": { "app.kubernetes.io/component": "api" }, "ports": [ { "name": "http", "port": 80 } ] }
            }))?)
            .await?,
    ];
    let before = [untouched(&their_config_map), untouched(&their_services[0]), untouched(&their_services[1])];

    scenario.create_event("final", 100).await?;
    scenario.create_event("ticketing-api", 100).await?;
    let final_conflict = name_conflict(&scenario, "final").await?;
    let chart_conflict = name_conflict(&scenario, "ticketing-api").await?;

    let ns = &scenario.namespace;
    assert!(final_conflict.contains(&format!("ConfigMap {ns}/final")), "{final_conflict}");
    assert!(final_conflict.contains(&format!("Service {ns}/final")), "{final_conflict}");
    assert!(chart_conflict.contains(&format!("Service {ns}/ticketing-api")), "{chart_conflict}");
    assert!(deployments.get_opt("final").await?.is_none(), "nothing of a conflicting event is applied");
    let after = [
        untouched(&config_maps.get("final").await?),
        untouched(&services.get("final").await?),
        untouched(&services.get("ticketing-api").await?),
    ];
    assert_eq!(after.as_slice(), before.as_slice(), "the objects someone else made are untouched");
    assert_eq!(config_maps.get("final").await?.data.context("data")?["settings"], "the neighbour's");

    for name in ["final", "ticketing-api"] {
        scenario.events.delete(name, &DeleteParams::default()).await?;
    }
    eventually("both TicketEvents to be gone", || async {
        let left = scenario.events.get_opt("final").await?.is_some()
            || scenario.events.get_opt("ticketing-api").await?.is_some();
        Ok((!left).then_some(()))
    })
    .await?;
    // The garbage collector acts within a second or two of an owner's deletion; a ConfigMap of the test's own, owned
    // by a TicketEvent deleted just now too, shows it has run before the neighbours' objects are checked.
    scenario.create_event("witness", 10).await?;
    scenario.wait_ready("witness", ticketing_crds::Phase::Scheduled, 1).await?;
    scenario.events.delete("witness", &DeleteParams::default()).await?;
    eventually("the witness's children to be collected", || async {
        Ok(config_maps.get_opt("witness").await?.is_none().then_some(()))
    })
    .await?;
    let after_delete = [
        untouched(&config_maps.get("final").await?),
        untouched(&services.get("final").await?),
        untouched(&services.get("ticketing-api").await?),
    ];
    assert_eq!(after_delete.as_slice(), before.as_slice(), "deleting the TicketEvents collected nothing of theirs");
    scenario.stop().await
}
