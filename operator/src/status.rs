//! The status stage's pure half: the status an event should show, given what the other stages observed, with
//! conditions in the Kubernetes convention (`lastTransitionTime` moves only when a condition's status changes).

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::DeploymentStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use ticketing_crds::{Phase, Seats, TicketEvent, TicketEventStatus};

use crate::children::selector_string;

/// Why the reconcile could not finish, for the `Degraded` condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// A PascalCase reason, e.g. `InvalidSpec`.
    pub reason: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

/// What the reconcile observed, the input of [`desired_status`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// The phase decided by the schedule, or `Failed`/`Pending` when the pipeline stopped early.
    pub phase: Option<Phase>,
    /// The event's id in the reservation service.
    pub event_id: Option<i64>,
    /// Seats as the service counts them.
    pub seats: Option<Seats>,
    /// The status of the event's Deployment; the previous counts stay when the pipeline stopped before applying it.
    pub deployment: Option<DeploymentStatus>,
    /// The replica floor the schedule asks for (zero once the event is scaled to zero).
    pub min_replicas: i32,
    /// When the sale opened and closed, as the schedule saw it; `None` when the pipeline stopped before the
    /// schedule, which keeps what the status says.
    pub sale_times: Option<SaleTimes>,
    /// Why the pipeline stopped, if it did.
    pub problem: Option<Problem>,
}

/// When the sale opened and closed, as the schedule saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SaleTimes {
    /// When the sale opened, once it has.
    pub opened_at: Option<DateTime<Utc>>,
    /// When the sale closed, once it has.
    pub closed_at: Option<DateTime<Utc>>,
}

/// The status `event` should show now. `saleOpenedAt` never changes once set, whatever the phase becomes.
pub fn desired_status(event: &TicketEvent, observed: &Observed, now: DateTime<Utc>) -> TicketEventStatus {
    let previous = event.status.clone().unwrap_or_default();
    let generation = event.metadata.generation;
    let (replicas, ready, updated) = match &observed.deployment {
        Some(d) => (d.replicas.unwrap_or(0), d.ready_replicas.unwrap_or(0), d.updated_replicas.unwrap_or(0)),
        None => (previous.replicas, previous.ready_replicas, previous.replicas),
    };
    let floor = observed.min_replicas;

    let (ready_status, ready_reason, ready_message) = match &observed.problem {
        Some(problem) => (false, problem.reason, problem.message.clone()),
        None if ready >= floor => (true, "ReplicasReady", format!("{ready} of {floor} replicas ready")),
        None => (false, "ReplicasNotReady", format!("{ready} of {floor} replicas ready")),
    };
    let rolling = observed.problem.is_none() && (ready < replicas || updated < replicas || replicas < floor);
    let (progressing_reason, progressing_message) = if rolling {
        ("ScalingOrRollingOut", format!("{updated} updated, {ready} ready of {replicas} replicas, floor {floor}"))
    } else {
        ("Stable", "no rollout or scaling in progress".to_string())
    };
    let (degraded_reason, degraded_message) = match &observed.problem {
        Some(problem) => (problem.reason, problem.message.clone()),
        None => ("ReconcileSucceeded", "every child is applied as built".to_string()),
    };
    let conditions = vec![
        condition(&previous.conditions, "Ready", ready_status, ready_reason, ready_message, generation, now),
        condition(
            &previous.conditions,
            "Progressing",
            rolling,
            progressing_reason,
            progressing_message,
            generation,
            now,
        ),
        condition(
            &previous.conditions,
            "Degraded",
            observed.problem.is_some(),
            degraded_reason,
            degraded_message,
            generation,
            now,
        ),
    ];
    TicketEventStatus {
        phase: observed.phase,
        event_id: observed.event_id.or(previous.event_id),
        sale_opened_at: previous.sale_opened_at.or(observed.sale_times.and_then(|t| t.opened_at)),
        sale_closed_at: observed.sale_times.map_or(previous.sale_closed_at, |t| t.closed_at),
        seats: observed.seats.or(previous.seats),
        replicas,
        ready_replicas: ready,
        selector: Some(selector_string(event)),
        observed_generation: generation,
        conditions,
    }
}

/// A condition of `type_`, keeping the previous `lastTransitionTime` when its status is unchanged.
fn condition(
    previous: &[Condition],
    type_: &str,
    status: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: DateTime<Utc>,
) -> Condition {
    let status = if status { "True" } else { "False" }.to_string();
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| Time(Timestamp::from_second(now.timestamp()).expect("a chrono time fits a timestamp")));
    Condition {
        type_: type_.to_string(),
        status,
        reason: reason.to_string(),
        message,
        observed_generation: generation,
        last_transition_time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::spec;
    use chrono::Duration;

    fn event() -> TicketEvent {
        let mut event = TicketEvent::new("spring", spec());
        event.metadata.generation = Some(3);
        event
    }

    fn observed(ready: i32) -> Observed {
        Observed {
            phase: Some(Phase::OnSale),
            event_id: Some(7),
            seats: Some(Seats { total: 5000, sold: 10, available: 4990 }),
            deployment: Some(DeploymentStatus {
                replicas: Some(6),
                ready_replicas: Some(ready),
                updated_replicas: Some(6),
                ..DeploymentStatus::default()
            }),
            min_replicas: 6,
            sale_times: Some(SaleTimes { opened_at: Some(spec().sale.opens_at), closed_at: None }),
            problem: None,
        }
    }

    fn find<'a>(status: &'a TicketEventStatus, type_: &str) -> &'a Condition {
        status.conditions.iter().find(|c| c.type_ == type_).expect("condition present")
    }

    #[test]
    fn all_replicas_ready_makes_the_event_ready_and_stable() {
        let now = spec().sale.opens_at;

        let status = desired_status(&event(), &observed(6), now);

        assert_eq!(find(&status, "Ready").status, "True");
        assert_eq!(find(&status, "Progressing").status, "False");
        assert_eq!(find(&status, "Degraded").status, "False");
        assert_eq!((status.replicas, status.ready_replicas, status.observed_generation), (6, 6, Some(3)));
        assert_eq!(
            status.selector.as_deref(),
            Some("app.kubernetes.io/name=ticketing-service,ticketing.dev/event=spring")
        );
    }

    #[test]
    fn the_transition_time_stays_while_the_condition_status_stays() {
        let first_at = spec().sale.opens_at;
        let mut event = event();
        event.status = Some(desired_status(&event, &observed(6), first_at));

        let again = desired_status(&event, &observed(6), first_at + Duration::minutes(5));

        assert_eq!(again, event.status.clone().unwrap(), "nothing changed, so nothing in the status moves");
    }

    #[test]
    fn the_transition_time_moves_when_the_condition_flips() {
        let first_at = spec().sale.opens_at;
        let later = first_at + Duration::minutes(5);
        let mut event = event();
        event.status = Some(desired_status(&event, &observed(6), first_at));

        let flipped = desired_status(&event, &observed(4), later);

        let ready = find(&flipped, "Ready");
        assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "ReplicasNotReady"));
        assert_eq!(ready.last_transition_time.0.as_second(), later.timestamp());
        assert_eq!(find(&flipped, "Degraded").last_transition_time.0.as_second(), first_at.timestamp());
    }

    #[test]
    fn a_problem_degrades_the_event_with_its_reason() {
        let mut observed = observed(6);
        observed.phase = Some(Phase::Failed);
        observed.problem = Some(Problem { reason: "InvalidSpec", message: "spec.capacity must be at least 1".into() });

        let status = desired_status(&event(), &observed, spec().sale.opens_at);

        let degraded = find(&status, "Degraded");
        assert_eq!((degraded.status.as_str(), degraded.reason.as_str()), ("True", "InvalidSpec"));
        assert_eq!(find(&status, "Ready").status, "False");
        assert_eq!(status.phase, Some(Phase::Failed));
    }

    #[test]
    fn the_opening_stays_recorded_when_a_later_reconcile_fails_the_event() {
        let opened = spec().sale.opens_at;
        let mut event = event();
        event.status = Some(desired_status(&event, &observed(6), opened));
        let failed = Observed {
            phase: Some(Phase::Failed),
            problem: Some(Problem { reason: "InvalidSpec", message: "refused".into() }),
            ..Observed::default()
        };

        let status = desired_status(&event, &failed, opened + Duration::minutes(1));

        assert_eq!(status.phase, Some(Phase::Failed));
        assert_eq!(status.sale_opened_at, Some(opened), "the freeze rules read it, so it never goes");
    }

    #[test]
    fn an_event_scaled_to_zero_is_ready_with_no_pods() {
        let mut zero = observed(0);
        zero.phase = Some(Phase::Closed);
        zero.min_replicas = 0;
        zero.deployment = Some(DeploymentStatus::default());

        let status = desired_status(&event(), &zero, spec().sale.closes_at);

        let ready = find(&status, "Ready");
        assert_eq!((ready.status.as_str(), ready.message.as_str()), ("True", "0 of 0 replicas ready"));
        assert_eq!(find(&status, "Progressing").status, "False");
    }
}
