//! Pins the fix the frozen Lease holder revealed: a reconcile that works from an old copy of its TicketEvent (an
//! instance resumed after losing the Lease, or a cache behind the API server) must not overwrite the newer status.
//! Before the status write was made conditional on the resourceVersion read, such a reconcile wrote `Ready` again
//! with a new `lastTransitionTime`, or even `Ready=False` from its stale view of the Deployment. Now it fails with a
//! conflict, and the controller retries it on a newer copy.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{ensure, Context as _, Result};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Recorder, Reporter};
use serde_json::json;
use ticketing_operator::clock::SystemClock;
use ticketing_operator::config::{OperatorConfig, PodSettings, ServiceDefaults, ZoneSpread};
use ticketing_operator::metrics::Metrics;
use ticketing_operator::reconcile::{reconcile, Context};
use ticketing_operator::service_api::{AdminToken, ServiceApi};

use crate::support::batch;
use crate::support::operator::OperatorProcess;
use crate::support::{eventually, Fixture};

#[tokio::test]
async fn a_reconcile_from_a_stale_copy_leaves_the_newer_status_alone() -> Result<()> {
    let fixture = Fixture::start("faults-stale").await?;
    let mut operator = OperatorProcess::start(&fixture, "alpha", 600).await?;
    batch::create_named(&fixture, &["stale".to_string()]).await?;
    let events = fixture.events();
    eventually("the event to converge", || async { Ok(Some(events.get("stale").await?).filter(batch::is_converged)) })
        .await?;
    operator.kill().await?;
    // The copy an old cache would hold: read before the last change, from before the pod was ready (so the reconcile
    // has a status to write), with conditions from long ago (which that write would put back where their status
    // stays, so it cannot go unnoticed).
    let mut stale = events.get("stale").await?;
    let long_ago = Time("2020-01-01T00:00:00Z".parse()?);
    for condition in &mut stale.status.as_mut().context("a status")?.conditions {
        condition.last_transition_time = long_ago.clone();
        if condition.type_ == "Ready" {
            condition.status = "False".into();
        }
    }
    let change = json!({ "metadata": { "annotations": { "faults.ticketing.dev/touched": "yes" } } });
    events.patch("stale", &PatchParams::default(), &Patch::Merge(change)).await?;
    let newer = events.get("stale").await?;
    let client = fixture.control_plane.client();
    let context = Arc::new(Context {
        client: client.clone(),
        config: OperatorConfig {
            service: ServiceDefaults {
                image: "ticketing-service:0.1.0".into(),
                resources: Default::default(),
                env_secret: "ticketing-service-env".into(),
                env_config_map: None,
                pods: PodSettings {
                    run_as_user: 65532,
                    image_pull_secrets: Vec::new(),
                    zone_spread: ZoneSpread::Preferred,
                    pre_stop_seconds: 0,
                },
            },
            ingress: None,
            seat_refresh: Duration::from_secs(600),
            watch_namespace: Some(fixture.namespace.clone()),
        },
        service_api: ServiceApi::new(&fixture.service.url, AdminToken::new(&fixture.service.admin_token)),
        clock: Arc::new(SystemClock),
        recorder: Recorder::new(client, Reporter { controller: "ticketing-operator".into(), instance: None }),
        metrics: Metrics::default(),
        pruned: Default::default(),
        ledger: Default::default(),
    });

    let outcome = reconcile(Arc::new(stale), context).await;

    let after = events.get("stale").await?;
    ensure!(
        after.status == newer.status,
        "the stale reconcile rewrote the status: {:?} -> {:?}",
        newer.status,
        after.status
    );
    let error = format!("{:?}", outcome.err().context("the stale reconcile fails, to be retried on a newer copy")?);
    ensure!(error.contains("409"), "the failure is the conflict: {error}");
    fixture.pass();
    Ok(())
}
