//! The campaign's results: one [`CaseReport`] per fault case, written as `faults.json` and as the Markdown table
//! `faults.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::invariants::Violation;

use super::abuse::SurfaceCost;

/// What one fault case did to the storm and what the database says afterwards.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// `R0` (no fault, the control) to `R5`.
    pub name: String,
    /// What was done, in words.
    pub fault: String,
    /// Seats of the storm's event.
    pub capacity: i64,
    /// Seats sold according to the database.
    pub seats_sold: i64,
    /// Seats sold beyond the capacity, from the database (must be 0).
    pub oversold: i64,
    /// Reservations acknowledged with 201 that the database does not hold as acknowledged (must be 0).
    pub acknowledged_lost: u64,
    /// Holds seen still `HELD` later than their `expiresAt` plus the sweep interval plus one second, not counting
    /// the time a dependency of the sweeper was down (must be 0).
    pub stranded_holds: u64,
    /// Rows a buyer was not entitled to: a key acknowledged as two reservations, a second row for one order, a row
    /// of a buyer without a key who was told nothing was written (must be 0).
    pub double_booked: u64,
    /// Refusals provably decided while the database had enough seats for the order (must be 0).
    pub refused_while_available: u64,
    /// Replays (`Idempotent-Replayed`) answered for reservations the database does not hold (counted in
    /// `acknowledged_lost` too).
    pub replays_lost: u64,
    /// Answers other than 201/200 the buyers saw, by class (`transport` = no answer).
    pub client_errors: BTreeMap<String, u64>,
    /// Seconds from the fault's injection to its end.
    pub fault_secs: Option<f64>,
    /// Seconds from the end of the fault until the storm sold at 70 % of its rate before the fault again.
    pub recovery_secs: Option<f64>,
    /// Seconds the storm took in all.
    pub storm_secs: f64,
    /// Case-specific observations (lease take-over time, stale reads, ...).
    pub observations: BTreeMap<String, serde_json::Value>,
    /// Seats sold over the storm as `[seconds, seats]`, every quarter second (only in `faults.json`).
    pub timeline: Vec<(f64, u64)>,
    pub invariants_ok: bool,
    pub violations: Vec<Violation>,
}

impl CaseReport {
    /// The report of a case that could not be carried out.
    pub fn failed(name: &str, fault: &str, error: &anyhow::Error) -> Self {
        Self {
            name: name.to_owned(),
            fault: fault.to_owned(),
            capacity: 0,
            seats_sold: 0,
            oversold: 0,
            acknowledged_lost: 0,
            stranded_holds: 0,
            double_booked: 0,
            refused_while_available: 0,
            replays_lost: 0,
            client_errors: BTreeMap::new(),
            fault_secs: None,
            recovery_secs: None,
            storm_secs: 0.0,
            observations: BTreeMap::new(),
            timeline: Vec::new(),
            invariants_ok: false,
            violations: vec![Violation { invariant: "run_completed", detail: format!("{error:#}") }],
        }
    }

    /// Whether the case held the promise: it ran, nothing oversold, lost, stranded, double-booked or refused while
    /// seats remained, and every invariant held.
    pub fn passed(&self) -> bool {
        self.invariants_ok
            && self.oversold == 0
            && self.acknowledged_lost == 0
            && self.stranded_holds == 0
            && self.double_booked == 0
            && self.refused_while_available == 0
    }
}

/// The whole campaign as written to `faults.json`.
#[derive(Debug, Serialize)]
pub struct Campaign<'a> {
    pub quick: bool,
    pub connections: usize,
    pub replicas: usize,
    pub passed: bool,
    pub cases: &'a [CaseReport],
    /// The abuse budget: what 1,000 hostile requests to each unauthenticated surface cost.
    pub abuse: &'a [SurfaceCost],
}

/// `faults.json`.
pub fn to_json(campaign: &Campaign<'_>) -> String {
    serde_json::to_string_pretty(campaign).expect("reports serialise")
}

/// `faults.md`: the table, then every observation and violation.
pub fn to_markdown(campaign: &Campaign<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| case | fault | oversold | acknowledged lost | stranded holds | double-booked | refused while available | \
         client errors | fault s | recovery s | sold / capacity | invariants |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|");
    for case in campaign.cases {
        let errors = if case.client_errors.is_empty() {
            "none".to_owned()
        } else {
            case.client_errors.iter().map(|(class, count)| format!("{class}: {count}")).collect::<Vec<_>>().join(", ")
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} |",
            case.name,
            case.fault,
            case.oversold,
            case.acknowledged_lost,
            case.stranded_holds,
            case.double_booked,
            case.refused_while_available,
            errors,
            seconds(case.fault_secs),
            seconds(case.recovery_secs),
            case.seats_sold,
            case.capacity,
            if case.passed() { "ok" } else { "BROKEN" },
        );
    }
    let _ = writeln!(
        out,
        "\n{} replicas, {} buyer connections per storm, {} mode. Recovery: seconds after the fault ended until the \
         storm sold at 70 % of its rate before the fault (`-`: not within the storm: it sold out first, never \
         regained that rate, or had no rate before; the timeline in `faults.json` shows which).",
        campaign.replicas,
        campaign.connections,
        if campaign.quick { "quick" } else { "full" }
    );
    if !campaign.abuse.is_empty() {
        let _ = writeln!(
            out,
            "\nAbuse budget: 1,000 hostile requests per surface (no credential), on a fresh replica.\n\n\
             | surface | answers | RSS before MB | RSS after MB | CPU ms | CPU µs/request | metric series added | |\n\
             |---|---|---:|---:|---:|---:|---:|---|"
        );
        for cost in campaign.abuse {
            let answers =
                cost.statuses.iter().map(|(status, n)| format!("{status}: {n}")).collect::<Vec<_>>().join(", ");
            let _ = writeln!(
                out,
                "| {} | {answers} | {:.1} | {:.1} | {:.0} | {:.0} | {} | {} |",
                cost.surface,
                cost.rss_before_mb,
                cost.rss_after_mb,
                cost.cpu_ms,
                cost.cpu_ms * 1000.0 / cost.requests.max(1) as f64,
                cost.metric_series_added,
                if cost.within_budget() { "ok" } else { "UNBOUNDED" },
            );
        }
    }
    for case in campaign.cases {
        if !case.observations.is_empty() {
            let _ = writeln!(out, "\n{} observations:", case.name);
            for (name, value) in &case.observations {
                let _ = writeln!(out, "- {name}: {value}");
            }
        }
        for violation in &case.violations {
            let _ = writeln!(out, "\n{} BROKEN {}: {}", case.name, violation.invariant, violation.detail);
        }
    }
    out
}

fn seconds(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |secs| format!("{secs:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str) -> CaseReport {
        CaseReport {
            name: name.to_owned(),
            fault: "Redis stopped".to_owned(),
            capacity: 100,
            seats_sold: 100,
            oversold: 0,
            acknowledged_lost: 0,
            stranded_holds: 0,
            double_booked: 0,
            refused_while_available: 0,
            replays_lost: 0,
            client_errors: BTreeMap::from([("503 unavailable".to_owned(), 7)]),
            fault_secs: Some(2.0),
            recovery_secs: Some(0.25),
            storm_secs: 5.0,
            observations: BTreeMap::from([("readyz_during_fault".to_owned(), serde_json::json!("degraded"))]),
            timeline: vec![(0.0, 0), (0.25, 40)],
            invariants_ok: true,
            violations: Vec::new(),
        }
    }

    #[test]
    fn the_table_shows_every_figure_and_the_verdict() {
        let mut broken = case("R2");
        broken.oversold = 3;
        let mut stranded = case("R8");
        stranded.stranded_holds = 2;
        assert!(!stranded.passed());
        let cases = [case("R1"), broken];
        let abuse = [SurfaceCost {
            surface: "random methods".into(),
            requests: 1000,
            statuses: BTreeMap::from([(200, 1000)]),
            rss_before_mb: 20.0,
            rss_after_mb: 90.0,
            cpu_ms: 300.0,
            metric_series_added: 1000,
            seconds: 1.0,
        }];
        let campaign =
            Campaign { quick: true, connections: 50, replicas: 2, passed: false, cases: &cases, abuse: &abuse };
        let table = to_markdown(&campaign);
        assert!(
            table.contains(
                "| R1 | Redis stopped | 0 | 0 | 0 | 0 | 0 | 503 unavailable: 7 | 2.00 | 0.25 | 100 / 100 | ok |"
            ),
            "{table}"
        );
        assert!(table.contains("| R2 | Redis stopped | 3 |"), "{table}");
        assert!(table.contains("| BROKEN |"), "{table}");
        assert!(table.contains("- readyz_during_fault: \"degraded\""), "{table}");
        assert!(
            table.contains("| random methods | 200: 1000 | 20.0 | 90.0 | 300 | 300 | 1000 | UNBOUNDED |"),
            "{table}"
        );
        let json: serde_json::Value = serde_json::from_str(&to_json(&campaign)).unwrap();
        assert_eq!(json["cases"][1]["oversold"], 3);
        assert_eq!(json["cases"][0]["stranded_holds"], 0);
        assert_eq!(json["cases"][0]["double_booked"], 0);
        assert_eq!(json["cases"][0]["refused_while_available"], 0);
        assert_eq!(json["passed"], false);
    }

    #[test]
    fn a_case_that_did_not_run_fails() {
        let failed = CaseReport::failed("R3", "kill", &anyhow::anyhow!("no binary"));
        assert!(!failed.passed());
        assert_eq!(failed.violations[0].invariant, "run_completed");
    }
}
