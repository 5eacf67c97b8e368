//! Result rows and their two written forms: `results.json` (an array of rows) and the Markdown table, followed by
//! the targets the issue sets, each marked met or missed (targets are reported, never asserted).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::invariants::Violation;
use crate::recorder::{Measured, TimelinePoint};

/// The name of the ceiling row.
pub const CEILING: &str = "ceiling";

/// One scenario's result.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    /// `ceiling`, `sqlite`, `mariadb+redis`, or `target` for a service the generator did not start.
    pub backend: String,
    /// `closed` or `open`.
    pub model: String,
    pub connections: usize,
    pub requests: u64,
    pub successes: u64,
    pub duration_secs: f64,
    pub requests_per_sec: f64,
    pub successes_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// Successes per second divided by the ceiling's (the ceiling row has 1).
    pub ratio_to_ceiling: f64,
    /// p99 divided by the ceiling's p99.
    pub p99_ratio_to_ceiling: f64,
    /// Peak RSS of the service process during the scenario (`VmHWM`), when the generator started it.
    pub peak_rss_mb: Option<f64>,
    /// Seats in the acknowledged reservations per second (storms only; each buyer asks for 1..=4 seats).
    pub seats_per_sec: Option<f64>,
    /// CPU cores the service process used on average during the scenario (2.0 = both cores of this machine).
    pub service_cpu_cores: Option<f64>,
    /// CPU cores this load generator's own process used on average during the scenario; for the ceiling row that
    /// includes the in-process trivial server. With the service's cores it shows how much of the machine is left
    /// for the database.
    pub generator_cpu_cores: Option<f64>,
    /// Cache hits / cache lookups during the scenario, from the service's `/metrics`.
    pub cache_hit_rate: Option<f64>,
    /// Reservations per database write batch during the scenario, from the service's `/metrics`.
    pub mean_batch_size: Option<f64>,
    pub invariants_ok: bool,
    pub violations: Vec<Violation>,
    /// Non-success answers by class.
    pub errors: BTreeMap<String, u64>,
    #[serde(skip)]
    pub timeline: Vec<TimelinePoint>,
}

impl Row {
    /// A row from a measurement; ratios are filled in by [`apply_ceiling`].
    pub fn new(name: &str, backend: &str, model: &str, connections: usize, measured: &Measured) -> Self {
        Self {
            name: name.to_owned(),
            backend: backend.to_owned(),
            model: model.to_owned(),
            connections,
            requests: measured.requests,
            successes: measured.successes,
            duration_secs: measured.elapsed_secs,
            requests_per_sec: measured.requests_per_sec(),
            successes_per_sec: measured.successes_per_sec(),
            p50_ms: measured.p50_ms,
            p99_ms: measured.p99_ms,
            p999_ms: measured.p999_ms,
            ratio_to_ceiling: 0.0,
            p99_ratio_to_ceiling: 0.0,
            peak_rss_mb: None,
            seats_per_sec: None,
            service_cpu_cores: None,
            generator_cpu_cores: None,
            cache_hit_rate: None,
            mean_batch_size: None,
            invariants_ok: true,
            violations: Vec::new(),
            errors: BTreeMap::new(),
            timeline: measured.timeline.clone(),
        }
    }
}

/// Fills every row's ratios from the ceiling row (a missing or empty ceiling leaves them 0).
pub fn apply_ceiling(rows: &mut [Row]) {
    let Some(ceiling) = rows.iter().find(|row| row.name == CEILING).cloned() else { return };
    for row in rows {
        row.ratio_to_ceiling = ratio(row.successes_per_sec, ceiling.successes_per_sec);
        row.p99_ratio_to_ceiling = ratio(row.p99_ms, ceiling.p99_ms);
    }
}

fn ratio(value: f64, base: f64) -> f64 {
    if base > 0.0 {
        value / base
    } else {
        0.0
    }
}

/// `results.json`: the rows as a JSON array.
pub fn to_json(rows: &[Row]) -> String {
    serde_json::to_string_pretty(rows).expect("rows serialise")
}

/// The Markdown table of all rows, then the targets.
pub fn to_markdown(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| scenario | backend | model | conns | req/s | ok/s | seats/s | p50 ms | p99 ms | p99.9 ms | ok/s vs ceiling | \
         p99 vs ceiling | peak RSS MB | service CPU | generator CPU | cache hits | mean batch | invariants |\n",
    );
    out.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {:.0} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {} |",
            row.name,
            row.backend,
            row.model,
            row.connections,
            row.requests_per_sec,
            row.successes_per_sec,
            row.seats_per_sec.map_or("-".into(), |seats| format!("{seats:.0}")),
            row.p50_ms,
            row.p99_ms,
            row.p999_ms,
            row.ratio_to_ceiling,
            row.p99_ratio_to_ceiling,
            row.peak_rss_mb.map_or("-".into(), |mb| format!("{mb:.1}")),
            row.service_cpu_cores.map_or("-".into(), |cores| format!("{cores:.2}")),
            row.generator_cpu_cores.map_or("-".into(), |cores| format!("{cores:.2}")),
            row.cache_hit_rate.map_or("-".into(), |rate| format!("{:.1}%", rate * 100.0)),
            row.mean_batch_size.map_or("-".into(), |size| format!("{size:.1}")),
            if row.invariants_ok { "ok".to_string() } else { format!("BROKEN ({})", row.violations.len()) },
        );
    }
    let targets = targets(rows);
    if !targets.is_empty() {
        out.push_str("\nTargets (measured, not asserted):\n\n");
        for (target, measured, met) in targets {
            let _ = writeln!(out, "- {} {target}: {measured}", if met { "met" } else { "MISSED" });
        }
    }
    let broken: Vec<&Row> = rows.iter().filter(|row| !row.invariants_ok).collect();
    if !broken.is_empty() {
        out.push_str("\nBroken invariants:\n\n");
        for row in broken {
            for violation in &row.violations {
                let _ =
                    writeln!(out, "- {} ({}): {}: {}", row.name, row.backend, violation.invariant, violation.detail);
            }
        }
    }
    out
}

/// The targets, evaluated on the rows present: (target, measured value, met).
pub fn targets(rows: &[Row]) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    let Some(ceiling) = rows.iter().find(|row| row.name == CEILING) else { return out };
    // A scenario that could not run has no figures to hold against a target; its failure is reported instead.
    for row in rows.iter().filter(|row| row.name != CEILING && row.requests > 0) {
        let at = format!("{} on {}", row.name, row.backend);
        if row.name.starts_with("storm") {
            out.push((
                format!("{at}: >= 35000 successes/s"),
                format!("{:.0}/s", row.successes_per_sec),
                row.successes_per_sec >= 35_000.0,
            ));
            if let Some(seats) = row.seats_per_sec {
                // The title counts seats ("sell at >= 35,000 seats per second"), its table reservations.
                out.push((format!("{at}: >= 35000 seats/s"), format!("{seats:.0}/s"), seats >= 35_000.0));
            }
            let half = 0.5 * ceiling.requests_per_sec;
            out.push((
                format!("{at}: successes/s >= 0.5 x ceiling req/s ({half:.0})"),
                format!(
                    "{:.0}/s ({:.2} x)",
                    row.successes_per_sec,
                    ratio(row.successes_per_sec, ceiling.requests_per_sec)
                ),
                row.successes_per_sec >= half,
            ));
            out.push((
                format!("{at}: p99 <= 1.5 x ceiling p99 ({:.2} ms)", 1.5 * ceiling.p99_ms),
                format!("{:.2} ms ({:.2} x)", row.p99_ms, row.p99_ratio_to_ceiling),
                row.p99_ms <= 1.5 * ceiling.p99_ms,
            ));
        }
        if row.name == "soldout_flood" {
            out.push((
                format!("{at}: >= 0.6 x ceiling"),
                format!("{:.2} x", row.ratio_to_ceiling),
                row.ratio_to_ceiling >= 0.6,
            ));
        }
        if row.name == "event_reads" {
            out.push((
                format!("{at}: >= 0.7 x ceiling"),
                format!("{:.2} x", row.ratio_to_ceiling),
                row.ratio_to_ceiling >= 0.7,
            ));
            let hits = row.cache_hit_rate.unwrap_or(0.0);
            out.push((format!("{at}: >= 99% cache hits"), format!("{:.2}%", hits * 100.0), hits >= 0.99));
        }
        if let Some(rss) = row.peak_rss_mb {
            out.push((format!("{at}: service peak RSS <= 100 MB"), format!("{rss:.1} MB"), rss <= 100.0));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, ok_per_sec: f64, p99_ms: f64) -> Row {
        let measured = Measured {
            requests: (ok_per_sec * 2.0) as u64,
            successes: (ok_per_sec * 2.0) as u64,
            elapsed_secs: 2.0,
            p50_ms: p99_ms / 2.0,
            p99_ms,
            p999_ms: p99_ms * 2.0,
            max_ms: p99_ms * 3.0,
            timeline: Vec::new(),
        };
        Row::new(name, "sqlite", "closed", 10, &measured)
    }

    #[test]
    fn ratios_are_relative_to_the_ceiling_row() {
        let mut rows = vec![row(CEILING, 100_000.0, 4.0), row("storm", 40_000.0, 8.0)];
        apply_ceiling(&mut rows);
        assert_eq!(rows[0].ratio_to_ceiling, 1.0);
        assert!((rows[1].ratio_to_ceiling - 0.4).abs() < 1e-9);
        assert!((rows[1].p99_ratio_to_ceiling - 2.0).abs() < 1e-9);
    }

    #[test]
    fn json_rows_carry_the_agreed_fields() {
        let mut rows = vec![row(CEILING, 1000.0, 1.0), row("storm", 500.0, 2.0)];
        apply_ceiling(&mut rows);
        let parsed: serde_json::Value = serde_json::from_str(&to_json(&rows)).unwrap();
        let storm = &parsed.as_array().unwrap()[1];
        for field in [
            "name",
            "requests_per_sec",
            "successes_per_sec",
            "p50_ms",
            "p99_ms",
            "p999_ms",
            "ratio_to_ceiling",
            "peak_rss_mb",
            "invariants_ok",
        ] {
            assert!(storm.get(field).is_some(), "missing {field}");
        }
        assert_eq!(storm["name"], "storm");
        assert_eq!(storm["ratio_to_ceiling"], 0.5);
        assert!(storm["peak_rss_mb"].is_null());
    }

    #[test]
    fn markdown_marks_missed_targets_and_broken_invariants() {
        let mut rows = vec![row(CEILING, 100_000.0, 4.0), row("storm", 20_000.0, 5.0)];
        rows[1].invariants_ok = false;
        rows[1].violations.push(Violation { invariant: "conservation", detail: "event 1: off by 2".into() });
        apply_ceiling(&mut rows);
        let table = to_markdown(&rows);
        assert!(table.contains("| storm | sqlite | closed | 10 | 20000 | 20000 | - |"), "{table}");
        assert!(table.contains("MISSED storm on sqlite: >= 35000 successes/s: 20000/s"), "{table}");
        assert!(table.contains("met storm on sqlite: p99 <= 1.5 x ceiling p99 (6.00 ms)"), "{table}");
        assert!(table.contains("BROKEN (1)"), "{table}");
        assert!(table.contains("conservation: event 1: off by 2"), "{table}");
    }
}
