//! The event's pods meet the restricted Pod Security Standard: a namespace that enforces it admits them, while it
//! refuses a pod with no security context at all (so the enforcement is really on).

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use kube::api::{Api, ObjectMeta, PostParams};
use serde_json::json;
use ticketing_crds::Phase;

use crate::support::scenario::{eventually, Scenario};

/// Creates `spec` as a pod in `pods`' namespace without storing it (a server-side dry run, which runs admission).
async fn admitted(pods: &Api<Pod>, spec: PodSpec) -> kube::Result<Pod> {
    let pod = Pod {
        metadata: ObjectMeta { generate_name: Some("admission-probe-".into()), ..ObjectMeta::default() },
        spec: Some(spec),
        ..Pod::default()
    };
    pods.create(&PostParams { dry_run: true, ..PostParams::default() }, &pod).await
}

#[tokio::test]
async fn a_namespace_enforcing_the_restricted_standard_admits_the_event_pods() -> Result<()> {
    let scenario = Scenario::start("restricted").await?;
    scenario
        .label_namespace(json!({
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest"
        }))
        .await?;
    let pods: Api<Pod> = Api::namespaced(scenario.client(), &scenario.namespace);
    let plain = PodSpec {
        containers: vec![Container {
            name: "plain".into(),
            image: Some("ticketing-service:test".into()),
            ..Container::default()
        }],
        ..PodSpec::default()
    };
    let refused = admitted(&pods, plain).await;

    scenario.create_event("final", 100).await?;
    let deployments: Api<Deployment> = Api::namespaced(scenario.client(), &scenario.namespace);
    let deployment =
        eventually("the event's Deployment", || async { deployments.get_opt("final").await.map_err(Into::into) })
            .await?;
    let template = deployment.spec.context("a spec")?.template.spec.context("a pod spec")?;
    let probe = admitted(&pods, template.clone()).await;

    match refused {
        Err(kube::Error::Api(status)) => assert!(status.message.contains("violates PodSecurity"), "{status:?}"),
        other => panic!("the namespace must refuse a pod without a security context: {other:?}"),
    }
    assert!(probe.is_ok(), "the event's pod template is refused: {probe:?}");
    assert_eq!(template.automount_service_account_token, Some(false), "no ServiceAccount token");
    scenario.wait_ready("final", Phase::Scheduled, 1).await?;
    scenario.stop().await
}
