//! The RBAC that `ticketing-operator rbac` prints is enough: an operator running as a ServiceAccount bound to exactly
//! those rules takes an event through creation, a prune and deletion, and releases its lease. Bound cluster-wide
//! (ClusterRole), as the chart's cluster mode does, and bound in its namespace only (the same rules as a Role), as
//! the chart's namespace mode does, where the operator must watch nothing beyond its namespace.

use anyhow::{Context, Result};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::ApiResource;
use kube::Client;
use serde_json::{json, Value};
use ticketing_crds::Phase;

use crate::support::scenario::{config, eventually, Scenario};

/// Where the printed ClusterRole's rules are granted.
#[derive(Clone, Copy, PartialEq)]
enum Scope {
    /// In every namespace, by a ClusterRoleBinding.
    Cluster,
    /// In the scenario's namespace only: the rules as a Role, bound by a RoleBinding.
    Namespace,
}

/// Binds the printed roles, granted in `scope`, to a new ServiceAccount of the namespace and returns a client acting
/// as it.
async fn client_with_printed_rbac(scenario: &Scenario, scope: Scope) -> Result<Client> {
    let namespace = &scenario.namespace;
    let admin = scenario.client();
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), namespace);
    let account: ServiceAccount = serde_json::from_value(json!({ "metadata": { "name": "operator" } }))?;
    accounts.create(&PostParams::default(), &account).await?;
    let apply = PatchParams::apply("ticketing-operator-tests").force();
    for document in ticketing_operator::rbac::rbac_yaml().split("---\n") {
        let mut role: Value = serde_yaml::from_str(document)?;
        if scope == Scope::Namespace {
            role["kind"] = json!("Role");
        }
        let kind = role["kind"].as_str().context("a kind")?.to_string();
        let name = format!("{}-{namespace}", role["metadata"]["name"].as_str().context("a name")?);
        role["metadata"] = json!({ "name": name, "namespace": namespace });
        let binding = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": format!("{kind}Binding"),
            "metadata": { "name": name, "namespace": namespace },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name },
            "subjects": [ { "kind": "ServiceAccount", "name": "operator", "namespace": namespace } ]
        });
        for object in [role, binding] {
            let object: DynamicObject = serde_json::from_value(object)?;
            let kind = object.types.as_ref().context("types")?.kind.clone();
            let resource =
                ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", &kind));
            let api: Api<DynamicObject> = if kind.starts_with("Cluster") {
                Api::all_with(admin.clone(), &resource)
            } else {
                Api::namespaced_with(admin.clone(), namespace, &resource)
            };
            api.patch(&object.metadata.name.clone().context("a name")?, &apply, &Patch::Apply(&object)).await?;
        }
    }
    let request = TokenRequest {
        spec: Some(TokenRequestSpec { expiration_seconds: Some(3600), ..TokenRequestSpec::default() }),
        ..TokenRequest::default()
    };
    let token = accounts.create_token_request("operator", &PostParams::default(), &request).await?;
    let token = token.status.context("a token")?.token;
    let mut kubeconfig: Value =
        serde_yaml::from_str(&std::fs::read_to_string(scenario.control_plane().kubeconfig_path())?)?;
    for user in kubeconfig["users"].as_array_mut().context("users")? {
        user["user"] = json!({ "token": token });
    }
    let kubeconfig = Kubeconfig::from_yaml(&serde_yaml::to_string(&kubeconfig)?)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

#[tokio::test]
async fn an_operator_bound_to_the_printed_rbac_creates_prunes_deletes_and_releases_its_lease() -> Result<()> {
    create_prune_delete(Scenario::start("rbac").await?, Scope::Cluster).await
}

#[tokio::test]
async fn an_operator_granted_the_printed_rules_in_its_namespace_only_does_the_same() -> Result<()> {
    create_prune_delete(Scenario::start("rbac-namespace").await?, Scope::Namespace).await
}

/// Takes an event through creation, a prune and deletion with operators bound to the printed RBAC in `scope`.
async fn create_prune_delete(mut scenario: Scenario, scope: Scope) -> Result<()> {
    scenario.operator.stop().await?;
    let client = client_with_printed_rbac(&scenario, scope).await?;
    let mut with_ingress = scenario.start_operator("restricted", client.clone(), config(&scenario.namespace)).await?;

    scenario.create_event("final", 100).await?;
    let id = scenario.wait_ready("final", Phase::Scheduled, 1).await?.event_id.context("an event id")?;
    with_ingress.stop().await?;
    let mut no_ingress_config = config(&scenario.namespace);
    no_ingress_config.ingress = None;
    let mut without_ingress = scenario.start_operator("restricted-2", client, no_ingress_config).await?;
    let ingresses: Api<Ingress> = Api::namespaced(scenario.client(), &scenario.namespace);
    eventually("the Ingress to be pruned", || async { Ok(ingresses.get_opt("final").await?.is_none().then_some(())) })
        .await?;
    scenario.events.delete("final", &DeleteParams::default()).await?;
    eventually("the TicketEvent to be gone", || async {
        Ok(scenario.events.get_opt("final").await?.is_none().then_some(()))
    })
    .await?;
    without_ingress.stop().await?;

    assert_eq!(scenario.service.event(id).await?["status"], "CLOSED");
    scenario.stop().await
}
