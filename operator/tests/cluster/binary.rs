//! The `ticketing-operator` binary itself against the cluster: JSON logs, `/metrics`, and a SIGTERM that finishes
//! with the lease released.

use std::process::Stdio;

use anyhow::{Context, Result};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use serde_json::json;
use ticketing_crds::{Phase, TicketEvent};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::support::scenario::eventually;
use crate::support::service::ReservationService;
use crate::support::{cluster, DEADLINE};

#[tokio::test]
async fn the_binary_logs_json_serves_metrics_and_releases_its_lease_on_sigterm() -> Result<()> {
    let control_plane = cluster().await?;
    let namespace = control_plane.namespace("binary").await?;
    let service = ReservationService::start().await?;
    let mut operator = Command::new(env!("CARGO_BIN_EXE_ticketing-operator"))
        .args(["run", "--api-url", &service.url, "--watch-namespace", &namespace, "--lease-namespace", &namespace])
        .args(["--identity", "binary", "--lease-duration-seconds", "10", "--metrics-bind", "127.0.0.1:0"])
        .env("KUBECONFIG", control_plane.kubeconfig_path())
        .env("TICKETING_ADMIN_TOKEN", &service.admin_token)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut logs = BufReader::new(operator.stderr.take().context("stderr")?).lines();
    let first_line = logs.next_line().await?.context("a first log line")?;
    let mut line = first_line.clone();
    let addr = loop {
        let entry: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("a JSON log line: {line}"))?;
        if entry["fields"]["message"] == "ticketing-operator starting" {
            break entry["fields"]["addr"].as_str().context("the bound address")?.to_string();
        }
        line = logs.next_line().await?.context("the start-up line")?;
    };
    let log_lines = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Ok(Some(line)) = logs.next_line().await {
            all.push(line);
        }
        all
    });
    let events: Api<TicketEvent> = Api::namespaced(control_plane.client(), &namespace);
    let now = chrono::Utc::now();
    let event: TicketEvent = serde_json::from_value(json!({
        "apiVersion": "ticketing.dev/v1alpha1", "kind": "TicketEvent", "metadata": { "name": "final" },
        "spec": { "eventName": "Cup Final", "eventDate": now + chrono::Duration::days(30), "capacity": 10,
                  "sale": { "opensAt": now - chrono::Duration::hours(1), "closesAt": now + chrono::Duration::days(1) },
                  "scaling": { "peakReplicas": 1, "hpa": { "minReplicas": 1, "maxReplicas": 2 } } }
    }))?;
    events.create(&PostParams::default(), &event).await?;

    eventually("the binary to put the event on sale", || async {
        Ok(events.get("final").await?.status.filter(|s| s.phase == Some(Phase::OnSale)).map(|_| ()))
    })
    .await?;
    let metrics = eventually("the metrics to count the event", || async {
        let text = reqwest::get(format!("http://{addr}/metrics")).await?.text().await?;
        Ok(text.contains("ticketing_operator_ticket_events{phase=\"OnSale\"} 1").then_some(text))
    })
    .await?;
    let pid = operator.id().context("a pid")?;
    let killed = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await?;
    let exit = tokio::time::timeout(DEADLINE, operator.wait()).await??;
    let leases: Api<Lease> = Api::namespaced(control_plane.client(), &namespace);
    let holder = leases.get("ticketing-operator").await?.spec.and_then(|s| s.holder_identity);
    let lines = log_lines.await?;

    assert!(serde_json::from_str::<serde_json::Value>(&first_line).is_ok(), "JSON log line: {first_line}");
    assert!(metrics.contains("ticketing_operator_reconciles_total"), "{metrics}");
    assert!(metrics.contains("ticketing_operator_reconcile_duration_seconds_bucket"), "{metrics}");
    assert!(killed.success() && exit.success(), "a SIGTERM ends the operator cleanly: {exit:?}");
    assert!(holder.as_deref().is_none_or(str::is_empty), "the lease was released, held by {holder:?}");
    assert!(lines.iter().all(|l| !l.contains(&service.admin_token)), "the admin token never appears in the logs");
    Ok(())
}
