//! The reconcile pipeline of one TicketEvent, in named stages:
//!
//! ```text
//!  validate ─> register ─> schedule ─> build ─> apply ─> prune ─> status
//!  (pure)      (admin API,  (pure)      (pure)   (SSA of   (delete, (status subresource, Kubernetes Events)
//!              may lag)                          changed   once per
//!                                                children) generation)
//! ```
//! Registration keeps the event in the service's database. Once the event has an id, it may lag: while the admin API
//! is unreachable or refuses a change, the schedule goes on from the spec, the clock and the last seats the status
//! reported, the event is `Degraded` with the reason, and the registration is tried again at the next seat refresh
//! (never later than the next transition of the schedule).
//!
//! A finalizer wraps the pipeline: on deletion the sale is closed through the admin API, and the children then go
//! with the TicketEvent through their owner references.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder};
use kube::runtime::finalizer::{finalizer, Event as Finalizer};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use ticketing_crds::{Phase, Seats, TicketEvent, TicketEventStatus};

use crate::apply::{apply_all, prune, PruneMemo};
use crate::children::{build, BuildInput, MANAGER};
use crate::clock::Clock;
use crate::config::OperatorConfig;
use crate::error::Error;
use crate::ledger::ChildLedger;
use crate::metrics::Metrics;
use crate::schedule::{decide, SaleState};
use crate::service_api::{ApiError, EventBody, EventRecord, ServiceApi};
use crate::status::{desired_status, Observed, Problem, SaleTimes};
use crate::validate::validate;

/// The finalizer that closes the sale before a TicketEvent goes.
pub const FINALIZER: &str = "ticketing.dev/close-sale";

/// The longest wait between two reconciles of an event with nothing scheduled.
const IDLE_REQUEUE: Duration = Duration::from_secs(300);

/// What every reconcile shares.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// The operator's configuration.
    pub config: OperatorConfig,
    /// The reservation service's admin API.
    pub service_api: ServiceApi,
    /// The time source of the schedule.
    pub clock: Arc<dyn Clock>,
    /// Publishes Kubernetes Events.
    pub recorder: Recorder,
    /// The operator's metrics.
    pub metrics: Metrics,
    /// The generations already pruned.
    pub pruned: PruneMemo,
    /// What was last applied to each child and last seen of it.
    pub ledger: ChildLedger,
}

/// Reconciles one TicketEvent: the pipeline when it lives, the clean-up when it is being deleted.
pub async fn reconcile(event: Arc<TicketEvent>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let api: Api<TicketEvent> =
        Api::namespaced(ctx.client.clone(), &event.namespace().expect("TicketEvents are namespaced"));
    let result = finalizer(&api, FINALIZER, event, |step| async {
        match step {
            Finalizer::Apply(event) => run_pipeline(&event, &ctx).await,
            Finalizer::Cleanup(event) => close_sale(&event, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    ctx.metrics.reconciled(started.elapsed(), result.as_ref().err());
    result
}

/// The stages, in order.
async fn run_pipeline(event: &TicketEvent, ctx: &Context) -> Result<Action, Error> {
    let now = ctx.clock.now();
    let previous = event.status.clone().unwrap_or_default();

    // Validate: a spec that cannot be acted on fails the event until the spec changes.
    let valid = match validate(event, &ctx.config) {
        Ok(valid) => valid,
        Err(invalid) => return fail_until_changed(event, ctx, invalid.0, now).await,
    };

    // Register the event in the database, and read its seats back. Without an id yet, nothing can be built.
    let (record, lag) = match ensure_event(event, ctx).await {
        Ok(record) => (Some(record), None),
        Err(e) if previous.event_id.is_some() => (None, Some(registration_problem(ctx, e))),
        Err(e) if e.is_refusal() => return fail_until_changed(event, ctx, e.to_string(), now).await,
        Err(e) => return degrade(event, ctx, UNAVAILABLE, None, e.into(), now).await,
    };
    let event_id = record.as_ref().map(|r| r.id).or(previous.event_id).expect("an id from the record or the status");

    // Schedule, from the spec and the clock, and the service's word on the sale (its last one while it lags).
    let sale = match &record {
        Some(record) => SaleState {
            sold_out: record.available_seats == 0 || record.status == "SOLD_OUT",
            closed: record.status == "CLOSED",
            closed_since: previous.sale_closed_at,
        },
        None => SaleState {
            sold_out: previous.seats.is_some_and(|s| s.available == 0),
            closed: previous.phase == Some(Phase::Closed),
            closed_since: previous.sale_closed_at,
        },
    };
    let decision = decide(&event.spec, sale, now);

    // Build, purely.
    let children = build(&BuildInput { event, valid: &valid, config: &ctx.config, event_id, decision: &decision });

    // Apply and prune.
    let deployment_status = match apply_all(&ctx.client, &ctx.ledger, event, &children).await {
        Ok(status) => status,
        Err(e @ Error::NameConflict(_)) => return degrade(event, ctx, "NameConflict", Some(event_id), e, now).await,
        Err(e) => return degrade(event, ctx, "ApplyFailed", Some(event_id), e, now).await,
    };
    let pruned = if ctx.pruned.is_due(event, &children) {
        match prune(&ctx.client, event, &children).await {
            Ok(pruned) => {
                ctx.pruned.record(event, &children);
                pruned
            }
            Err(e) => return degrade(event, ctx, "PruneFailed", Some(event_id), e, now).await,
        }
    } else {
        Vec::new()
    };
    for pruned in pruned {
        publish(ctx, event, EventType::Normal, "ChildPruned", format!("deleted {pruned}, no longer built")).await;
    }

    // Status.
    let observed = Observed {
        phase: Some(decision.phase),
        event_id: Some(event_id),
        seats: record.as_ref().map(|r| Seats {
            total: r.total_seats,
            sold: r.sold_seats,
            available: r.available_seats,
        }),
        deployment: deployment_status,
        min_replicas: decision.min_replicas,
        sale_times: Some(SaleTimes { opened_at: decision.opened_at, closed_at: decision.closed_at }),
        problem: lag.clone(),
    };
    write_status(event, ctx, &observed, now).await?;

    let refresh = match (decision.phase, &lag) {
        (_, Some(problem)) if problem.reason == UNAVAILABLE => ctx.config.seat_refresh,
        (Phase::Prewarming | Phase::OnSale, _) => ctx.config.seat_refresh,
        _ => IDLE_REQUEUE,
    };
    Ok(Action::requeue(until(decision.next_transition, now).map_or(refresh, |next| next.min(refresh))))
}

/// The reason of a registration that lags because the admin API cannot be reached.
const UNAVAILABLE: &str = "ServiceApiUnavailable";

/// Why the registration of an event that already has an id lags: the admin API is unreachable (tried again at the
/// next refresh) or refused the spec (tried again when the spec changes, or at the next requeue).
fn registration_problem(ctx: &Context, error: ApiError) -> Problem {
    let reason = if error.is_refusal() { "ServiceRefusedSpec" } else { UNAVAILABLE };
    ctx.metrics.failed(if error.is_refusal() { "service_refused" } else { "service_api" });
    Problem { reason, message: format!("{error}; the schedule goes on from the spec and the last known seats") }
}

/// Creates the event in the database when the status has no id yet, otherwise brings the service's copy in line
/// with the spec; returns the service's view of it.
async fn ensure_event(event: &TicketEvent, ctx: &Context) -> Result<EventRecord, crate::service_api::ApiError> {
    let body = EventBody::from_spec(&event.spec);
    let known_id = event.status.as_ref().and_then(|s| s.event_id);
    let existing = match known_id {
        Some(id) => match ctx.service_api.get(id).await {
            Ok(record) => Some(record),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    match existing {
        Some(record) if body.matches(&record) => Ok(record),
        Some(record) => ctx.service_api.update(record.id, &body).await,
        None => {
            let key = format!(
                "{}/{}/{}",
                event.namespace().unwrap_or_default(),
                event.name_any(),
                event.uid().unwrap_or_default()
            );
            let record = ctx.service_api.create(&body, &key).await?;
            if known_id != Some(record.id) {
                let note = format!("event {} registered in the reservation service", record.id);
                publish(ctx, event, EventType::Normal, "EventRegistered", note).await;
            }
            Ok(record)
        }
    }
}

/// Reports a failure as `Degraded` (keeping the phase and counts already reported: an outage does not move the sale,
/// and recording the event's id when it has one) and returns the error, so the controller retries with backoff.
async fn degrade(
    event: &TicketEvent,
    ctx: &Context,
    reason: &'static str,
    event_id: Option<i64>,
    error: Error,
    now: DateTime<Utc>,
) -> Result<Action, Error> {
    let phase = event.status.as_ref().and_then(|s| s.phase).unwrap_or(Phase::Pending);
    let problem = Problem { reason, message: error.to_string() };
    let observed = Observed { phase: Some(phase), event_id, problem: Some(problem), ..Observed::default() };
    write_status(event, ctx, &observed, now).await?;
    Err(error)
}

/// Marks the event Failed with `message` and waits for the spec to change.
async fn fail_until_changed(
    event: &TicketEvent,
    ctx: &Context,
    message: String,
    now: DateTime<Utc>,
) -> Result<Action, Error> {
    ctx.metrics.failed("invalid_spec");
    let problem = Problem { reason: "InvalidSpec", message };
    let observed = Observed { phase: Some(Phase::Failed), problem: Some(problem), ..Observed::default() };
    write_status(event, ctx, &observed, now).await?;
    Ok(Action::await_change())
}

/// The status stage: writes the status through server-side apply when it differs, and publishes an Event when the
/// phase or a problem changes.
async fn write_status(
    event: &TicketEvent,
    ctx: &Context,
    observed: &Observed,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let status = desired_status(event, observed, now);
    let previous = event.status.clone().unwrap_or_default();
    ctx.metrics.phase(event, status.phase);
    if status == previous {
        return Ok(());
    }
    let api: Api<TicketEvent> =
        Api::namespaced(ctx.client.clone(), &event.namespace().expect("TicketEvents are namespaced"));
    // The resourceVersion this reconcile read makes the write conditional. A reconcile that worked from an old copy
    // (a cache behind the API server, or an instance resumed after it lost the Lease) would otherwise overwrite a
    // newer status and move its transition times; instead it fails with a conflict and is retried on a newer copy.
    let mut patch = json!({
        "apiVersion": TicketEvent::api_version(&()),
        "kind": TicketEvent::kind(&()),
        "status": status,
    });
    if let Some(version) = event.resource_version() {
        patch["metadata"] = json!({ "resourceVersion": version });
    }
    api.patch_status(&event.name_any(), &PatchParams::apply(MANAGER).force(), &Patch::Apply(&patch))
        .await
        .map_err(Error::kube("status"))?;
    announce(event, ctx, &previous, &status).await;
    Ok(())
}

/// Publishes Kubernetes Events for a phase change and for a newly reported problem.
async fn announce(event: &TicketEvent, ctx: &Context, previous: &TicketEventStatus, status: &TicketEventStatus) {
    if previous.phase != status.phase {
        let from = previous.phase.map_or("none", Phase::as_str);
        let to = status.phase.map_or("none", Phase::as_str);
        publish(ctx, event, EventType::Normal, "PhaseChanged", format!("{from} -> {to}")).await;
    }
    let degraded = |s: &TicketEventStatus| {
        s.conditions
            .iter()
            .find(|c| c.type_ == "Degraded" && c.status == "True")
            .map(|c| (c.reason.clone(), c.message.clone()))
    };
    if let (Some((reason, message)), true) = (degraded(status), degraded(previous) != degraded(status)) {
        publish(ctx, event, EventType::Warning, &reason, message).await;
    }
}

/// The clean-up before deletion: closes the sale, so no pod takes reservations for a deleted event.
async fn close_sale(event: &TicketEvent, ctx: &Context) -> Result<Action, Error> {
    ctx.metrics.phase(event, None);
    ctx.pruned.forget(event);
    if let Some(id) = event.status.as_ref().and_then(|s| s.event_id) {
        match ctx.service_api.close(id).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                let note = format!("could not close the sale of event {id}, deletion waits: {e}");
                publish(ctx, event, EventType::Warning, "CloseSaleFailed", note).await;
                return Err(e.into());
            }
        }
        publish(ctx, event, EventType::Normal, "SaleClosed", format!("sale of event {id} closed before deletion"))
            .await;
    }
    Ok(Action::await_change())
}

/// Publishes a Kubernetes Event about `event`; a failure to publish is logged, never fatal.
pub async fn publish(ctx: &Context, event: &TicketEvent, type_: EventType, reason: &str, note: String) {
    let published = ctx
        .recorder
        .publish(
            &KubeEvent { type_, reason: reason.into(), note: Some(note), action: "Reconcile".into(), secondary: None },
            &event.object_ref(&()),
        )
        .await;
    if let Err(e) = published {
        tracing::warn!(error = %e, reason, "could not publish a Kubernetes Event");
    }
}

/// The time from `now` to `next`, at least one second; `None` when nothing is scheduled.
fn until(next: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Duration> {
    next.map(|next| (next - now).to_std().unwrap_or_default().max(Duration::from_secs(1)))
}
