//! The plot: for every scenario, throughput (requests and successes per second) and latency (p50 and p99 per
//! second) over the run, written as a hand-made SVG (no font or image dependencies).
//!
//! ```text
//!  +-- storm (sqlite) -------------------------------------------+
//!  | [ req/s, ok/s vs second ]      [ p50, p99 ms vs second ]    |
//!  +-------------------------------------------------------------+
//! ```

use std::fmt::Write as _;

use crate::recorder::TimelinePoint;
use crate::report::Row;

const WIDTH: f64 = 1000.0;
const PANEL_HEIGHT: f64 = 240.0;
const CHART_WIDTH: f64 = 400.0;
const CHART_HEIGHT: f64 = 160.0;
const LEFT_MARGIN: f64 = 70.0;
const GAP: f64 = 100.0;

/// One line of a chart.
struct Series<'a> {
    label: &'a str,
    colour: &'a str,
    values: Vec<f64>,
}

/// Renders all rows that have a timeline into one SVG document.
pub fn render(rows: &[Row]) -> String {
    let plotted: Vec<&Row> = rows.iter().filter(|row| !row.timeline.is_empty()).collect();
    let height = PANEL_HEIGHT * plotted.len().max(1) as f64;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (index, row) in plotted.iter().enumerate() {
        let top = index as f64 * PANEL_HEIGHT;
        let _ = writeln!(
            svg,
            r#"<text x="10" y="{}" font-size="14" font-weight="bold">{} ({}, {} model, {} connections)</text>"#,
            top + 20.0,
            escape(&row.name),
            escape(&row.backend),
            escape(&row.model),
            row.connections
        );
        let throughput = [
            Series { label: "requests/s", colour: "#1f77b4", values: column(&row.timeline, |p| p.requests as f64) },
            Series { label: "successes/s", colour: "#2ca02c", values: column(&row.timeline, |p| p.successes as f64) },
        ];
        let latency = [
            Series { label: "p50 ms", colour: "#9467bd", values: column(&row.timeline, |p| p.p50_ms) },
            Series { label: "p99 ms", colour: "#d62728", values: column(&row.timeline, |p| p.p99_ms) },
        ];
        chart(&mut svg, LEFT_MARGIN, top + 40.0, "throughput per second", &throughput);
        chart(&mut svg, LEFT_MARGIN + CHART_WIDTH + GAP, top + 40.0, "latency per second", &latency);
    }
    svg.push_str("</svg>\n");
    svg
}

fn column(timeline: &[TimelinePoint], value: impl Fn(&TimelinePoint) -> f64) -> Vec<f64> {
    timeline.iter().map(value).collect()
}

/// Draws axes, grid, labels and one polyline per series with its top-left corner at (`x`, `y`).
fn chart(svg: &mut String, x: f64, y: f64, title: &str, series: &[Series<'_>]) {
    let points = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let top = series.iter().flat_map(|s| s.values.iter().copied()).fold(0.0_f64, f64::max);
    let y_max = if top > 0.0 { top * 1.1 } else { 1.0 };
    let x_max = points.saturating_sub(1).max(1) as f64;
    let _ = writeln!(svg, r#"<text x="{x}" y="{}" font-weight="bold">{}</text>"#, y - 6.0, escape(title));
    let _ = writeln!(
        svg,
        r##"<rect x="{x}" y="{y}" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" fill="none" stroke="#444"/>"##
    );
    for tick in 0..=4 {
        let fraction = f64::from(tick) / 4.0;
        let line_y = y + CHART_HEIGHT - fraction * CHART_HEIGHT;
        let _ = writeln!(
            svg,
            r##"<line x1="{x}" y1="{line_y:.1}" x2="{}" y2="{line_y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            x + CHART_WIDTH,
            x - 4.0,
            line_y + 4.0,
            short(fraction * y_max)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{x}" y="{0:.1}">0 s</text><text x="{1:.1}" y="{0:.1}" text-anchor="end">{2} s</text>"#,
        y + CHART_HEIGHT + 14.0,
        x + CHART_WIDTH,
        x_max as u64
    );
    for (index, line) in series.iter().enumerate() {
        let coordinates: Vec<String> = line
            .values
            .iter()
            .enumerate()
            .map(|(second, value)| {
                let px = x + second as f64 / x_max * CHART_WIDTH;
                let py = y + CHART_HEIGHT - value / y_max * CHART_HEIGHT;
                format!("{px:.1},{py:.1}")
            })
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"#,
            line.colour,
            coordinates.join(" ")
        );
        let legend_x = x + 10.0 + index as f64 * 110.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{legend_x}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="{2}" stroke-width="2"/><text x="{3}" y="{4:.1}">{5}</text>"#,
            y + CHART_HEIGHT + 28.0,
            legend_x + 16.0,
            line.colour,
            legend_x + 20.0,
            y + CHART_HEIGHT + 32.0,
            escape(line.label)
        );
    }
}

/// A compact axis label: 1234567 -> "1.2M", 45000 -> "45k", 3.25 -> "3.25".
fn short(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if value >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::Measured;

    fn row_with_timeline(name: &str, seconds: u64) -> Row {
        let timeline = (0..seconds)
            .map(|second| TimelinePoint {
                second,
                requests: 1000 + second * 100,
                successes: 900,
                p50_ms: 1.5,
                p99_ms: 12.0,
            })
            .collect();
        let measured = Measured {
            requests: 1,
            successes: 1,
            elapsed_secs: seconds as f64,
            p50_ms: 1.5,
            p99_ms: 12.0,
            p999_ms: 20.0,
            max_ms: 30.0,
            timeline,
        };
        Row::new(name, "sqlite", "closed", 8, &measured)
    }

    #[test]
    fn every_scenario_gets_a_panel_with_four_lines() {
        let rows = vec![row_with_timeline("ceiling", 3), row_with_timeline("storm <hot>", 5)];
        let svg = render(&rows);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 8);
        assert!(svg.contains("storm &lt;hot&gt; (sqlite, closed model, 8 connections)"), "names are escaped");
        assert!(!svg.contains("storm <hot>"));
        // Five seconds make five points per line.
        let storm_line = svg.lines().filter(|line| line.starts_with("<polyline")).nth(4).unwrap();
        assert_eq!(storm_line.split("points=\"").nth(1).unwrap().split(' ').count(), 5);
    }

    #[test]
    fn the_highest_value_stays_inside_the_chart() {
        let svg = render(&[row_with_timeline("storm", 4)]);
        for line in svg.lines().filter(|line| line.starts_with("<polyline")) {
            let points = line.split("points=\"").nth(1).unwrap().trim_end_matches("\"/>");
            for point in points.split(' ') {
                let y: f64 = point.split(',').nth(1).unwrap().parse().unwrap();
                assert!((40.0..=40.0 + CHART_HEIGHT).contains(&y), "y {y} outside the chart");
            }
        }
    }

    #[test]
    fn axis_labels_are_compact() {
        assert_eq!(short(1_240_000.0), "1.2M");
        assert_eq!(short(45_000.0), "45k");
        assert_eq!(short(512.0), "512");
        assert_eq!(short(3.25), "3.25");
    }
}
