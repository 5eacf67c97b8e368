//! The verdict on one case, read from the database once its storm and side traffic have ended: the suite's
//! invariants (conservation, exact sell-out, every acknowledgement and cancel stored, no duplicate), oversold seats,
//! stranded holds, double bookings, refusals while seats remained, replays not stored, booked rows nobody was told
//! about, statement text in the logs, and R5's fence.

use serde_json::json;

use crate::api::EventRef;
use crate::invariants::{self, EventExpectation, Expectations};
use crate::outcome::Ack;
use crate::storm::StormOutcome;

use super::case::Case;
use super::checks;
use super::holds::HoldVerdict;
use super::inject::{round, Ctx, Window};
use super::journal::Journal;
use super::lease::gauge;
use super::recovery::Samples;
use super::report::CaseReport;

/// Fenced-off sweep attempts, per replica.
const FENCED: &str = r#"ticketing_lease_fenced_total{lease="hold-sweeper"}"#;

/// The events of one case.
pub struct Events {
    /// The storm's hot event(s).
    pub hot: Vec<EventRef>,
    pub sales: EventRef,
    pub holds: EventRef,
    /// R10's mass-lapse event.
    pub mass: Option<EventRef>,
}

/// Reads the database and builds the case's report.
#[allow(clippy::too_many_arguments)]
pub async fn judge(
    ctx: Ctx<'_>,
    case: Case,
    events: &Events,
    outcomes: &[StormOutcome],
    mut journal: Journal,
    held: HoldVerdict,
    samples: &Samples,
    window: Option<Window>,
) -> anyhow::Result<CaseReport> {
    let pool = &ctx.pool;
    journal.cancelled.extend(checks::cancels_done(pool, &journal.maybe_cancelled).await?);
    let storm_acks: Vec<Ack> = outcomes.iter().flat_map(|outcome| outcome.acknowledged.iter().cloned()).collect();
    let mut acks = storm_acks.clone();
    acks.extend(journal.acknowledged.iter().cloned());
    let sales_total: i64 =
        sqlx::query_scalar("SELECT total_seats FROM events WHERE id = ?").bind(events.sales.id).fetch_one(pool).await?;
    let expect_event = |event: &EventRef, capacity, sold_out, one_order_per_user| EventExpectation {
        id: event.id,
        capacity,
        sold_out,
        one_order_per_user,
    };
    let mut expected: Vec<EventExpectation> =
        events.hot.iter().map(|event| expect_event(event, event.capacity, true, true)).collect();
    expected.push(expect_event(&events.sales, sales_total, false, false));
    expected.push(expect_event(&events.holds, events.holds.capacity, false, true));
    if let Some(mass) = &events.mass {
        expected.push(expect_event(mass, mass.capacity, false, true));
    }
    let event_ids: Vec<i64> = expected.iter().map(|event| event.id).collect();
    let expect = Expectations { events: expected, acknowledged: acks.clone(), cancelled: journal.cancelled.clone() };
    let mut verdict = invariants::check(pool, &expect).await?;

    let bookings = checks::bookings(pool, &event_ids, &journal, &acks).await?;
    let mut refusals: Vec<_> = outcomes.iter().flat_map(|outcome| outcome.refusals.iter().cloned()).collect();
    refusals.extend(journal.refusals.iter().cloned());
    let mut increases = journal.increases.clone();
    increases.extend(held.increases.iter().cloned());
    let contention_counts = !case.outage();
    let (refused, refusal_examples) = checks::refused_while_available(&refusals, &acks, &increases, |class| {
        class.ends_with(" sold_out")
            || (contention_counts
                && (class == "503 unavailable" || class == "503 queue_full" || class.starts_with("504")))
    });
    let replays_lost = checks::replays_lost(pool, &acks).await?;
    for event in &events.hot {
        let unacknowledged = checks::unacknowledged_rows(pool, event.id, &storm_acks).await?;
        if !unacknowledged.is_empty() {
            let shown: Vec<_> = unacknowledged.iter().take(5).collect();
            verdict.add(
                "rows_accounted",
                format!(
                    "event {}: {} booked rows no buyer was told of, e.g. {shown:?}",
                    event.id,
                    unacknowledged.len()
                ),
            );
        }
    }
    for line in checks::statements_in_logs(&ctx.cluster.replica_logs()) {
        verdict.add("no_statement_in_logs", line);
    }
    if let Some(fence) = ctx.fence_check {
        let late = fence.late_writes(pool).await?;
        if late > 0 {
            verdict.add(
                "fenced_lease",
                format!(
                    "the paused lease holder (token {}) expired {late} holds after the takeover",
                    fence.paused_fence
                ),
            );
        }
    }
    for example in &bookings.examples {
        verdict.add("double_booked", example.clone());
    }
    for example in refusal_examples {
        verdict.add("refused_while_available", example);
    }
    if held.stranded > 0 {
        verdict.add(
            "no_stranded_hold",
            format!(
                "{} holds still HELD past expiresAt + sweep interval + 1 s (worst {:.2} s)",
                held.stranded, held.worst_overdue_secs
            ),
        );
    }
    if replays_lost > 0 {
        verdict.add("replay_durable", format!("{replays_lost} replayed reservations are not stored"));
    }

    let (total, taken): (i64, i64) = sqlx::query_as(&format!(
        "SELECT CAST(SUM(total_seats) AS SIGNED), CAST(COALESCE((SELECT SUM(quantity) FROM reservations r \
         WHERE r.event_id IN ({0}) AND r.status IN ('CONFIRMED', 'HELD')), 0) AS SIGNED) FROM events WHERE id IN ({0})",
        super::holds::in_list(&events.hot.iter().map(|event| event.id).collect::<Vec<_>>())
    ))
    .fetch_one(pool)
    .await?;
    let mut fenced = Vec::new();
    for replica in 0..ctx.cluster.replica_count() {
        fenced.push(gauge(ctx.cluster, replica, FENCED).await);
    }
    let mut observations = ctx.observations;
    let storm_errors = outcomes.iter().flat_map(|outcome| outcome.errors.iter());
    let mut client_errors = std::collections::BTreeMap::new();
    for (class, count) in storm_errors.filter(|(class, _)| !class.ends_with(" sold_out")) {
        *client_errors.entry(class.clone()).or_insert(0) += count;
    }
    let held_acks = journal.acknowledged.iter().filter(|ack| ack.event == events.holds.id);
    observations.insert("fenced_sweeps_per_replica".into(), json!(fenced));
    observations.insert("buyers_abandoned".into(), json!(outcomes.iter().map(|o| o.abandoned).sum::<u64>()));
    observations.insert("seats_acknowledged".into(), json!(storm_acks.iter().map(|ack| ack.quantity).sum::<i64>()));
    observations
        .insert("storm_answers_lost_after_commit".into(), json!(storm_acks.iter().filter(|ack| ack.replayed).count()));
    observations.insert("mix_acknowledged".into(), json!(journal.acknowledged.len()));
    observations.insert("mix_holds_placed".into(), json!(held_acks.clone().count()));
    observations.insert("mix_holds_confirmed".into(), json!(held_acks.filter(|ack| !ack.held).count()));
    observations.insert("mix_cancels".into(), json!(journal.cancelled.len()));
    observations.insert("mix_refusals".into(), json!(journal.refusals.len()));
    observations.insert("mix_errors".into(), json!(journal.errors));
    observations.insert("unkeyed_booked_unknown_to_client".into(), json!(bookings.unknown_to_client));
    observations.insert("hold_worst_overdue_secs".into(), json!(held.worst_overdue_secs));
    observations.insert("holds_unswept_at_end".into(), json!(held.unswept_at_end));
    observations.insert("refusals_checked".into(), json!(refusals.len()));
    Ok(CaseReport {
        name: case.name().to_owned(),
        fault: case.fault().to_owned(),
        capacity: total,
        seats_sold: taken,
        oversold: (taken - total).max(0),
        acknowledged_lost: verdict.count("acknowledged_exist"),
        stranded_holds: held.stranded,
        double_booked: bookings.double_booked,
        refused_while_available: refused,
        replays_lost,
        client_errors,
        fault_secs: window.as_ref().map(|window| round(window.healed - window.injected)),
        recovery_secs: window.and_then(|window| samples.recovery_secs(window.injected, window.healed)).map(round),
        storm_secs: round(outcomes.iter().map(|o| o.measured.elapsed_secs).fold(0.0, f64::max)),
        observations,
        timeline: samples.thinned(5),
        invariants_ok: verdict.ok(),
        violations: verdict.violations,
    })
}
