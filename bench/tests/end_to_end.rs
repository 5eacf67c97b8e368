//! End to end against the real `ticketing-service` binary on its embedded SQLite default: a tiny storm through the
//! library (sells out exactly, every acknowledgement stored), and the quick suite through the command line.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use ticketing_bench::api;
use ticketing_bench::auth::Credentials;
use ticketing_bench::conn::{Conn, Target};
use ticketing_bench::invariants::{self, EventExpectation, Expectations};
use ticketing_bench::outcome::Ack;
use ticketing_bench::service_proc::{locate_binary, Backend, ServiceProcess};
use ticketing_bench::storm::{run_storm, SeatCounter, StormConfig};

/// The service binary: the one `cargo test --workspace` built beside this test's profile directory, or else one
/// built now (with `cargo build -p ticketing-service` in this test's profile and target dir) at the path cargo
/// reports.
fn service_binary() -> PathBuf {
    if let Ok(path) = locate_binary(None) {
        return path;
    }
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["build", "-p", "ticketing-service", "--bin", "ticketing-service", "--message-format=json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit());
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command.output().expect("running cargo build for ticketing-service");
    assert!(output.status.success(), "cargo build -p ticketing-service failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact" && message["target"]["name"] == "ticketing-service")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported no ticketing-service executable")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_storm_sells_out_exactly_and_every_acknowledgement_is_stored() {
    let binary = service_binary();
    let logs = tempfile::tempdir().unwrap();
    let credentials = Credentials::random();
    let service = ServiceProcess::start(
        &binary,
        &Backend::Embedded,
        &credentials,
        &logs.path().join("service.log"),
        "127.0.0.1:0",
        &[],
    )
    .unwrap();
    let target = Target::resolve(&service.url).await.unwrap();
    api::wait_ready(&target, Duration::from_secs(60)).await.unwrap();
    let mut admin = Conn::new(&target);
    let event = api::create_event(&mut admin, &credentials, "e2e storm", 500, 4, 8, 0).await.unwrap();

    let config = StormConfig {
        event: event.id,
        capacity: event.capacity,
        connections: 16,
        max_quantity: 4,
        user_prefix: "e2e-".into(),
        max_attempts: 50,
        time_limit: Duration::from_secs(120),
        sold: SeatCounter::default(),
    };
    let outcome = run_storm(&target, &credentials, &config).await.unwrap();

    assert!(outcome.sold_out, "every buyer should end on sold_out; errors {:?}", outcome.errors);
    assert_eq!(outcome.seats_acknowledged, 500);
    assert_eq!(outcome.abandoned, 0);
    assert!(outcome.errors.keys().all(|class| class == "409 sold_out"), "unexpected answers {:?}", outcome.errors);
    assert_eq!(outcome.measured.successes as usize, outcome.acknowledged.len());
    assert_eq!(api::available_seats(&mut admin, &credentials, event.id).await.unwrap(), 0);

    let pool = invariants::connect(&service.database_url()).await.unwrap();
    let mut expect = Expectations {
        events: vec![EventExpectation { id: event.id, capacity: 500, sold_out: true, one_order_per_user: true }],
        acknowledged: outcome.acknowledged.clone(),
        cancelled: Vec::new(),
    };
    let verdict = invariants::check(&pool, &expect).await.unwrap();
    assert!(verdict.ok(), "{:?}", verdict.violations);

    // The same check sees an acknowledgement the database does not hold.
    expect.acknowledged.push(Ack {
        id: "987654321".into(),
        event: event.id,
        user: "ghost".into(),
        key: "k".into(),
        quantity: 1,
        held: false,
        replayed: false,
        sent: None,
    });
    let verdict = invariants::check(&pool, &expect).await.unwrap();
    assert_eq!(verdict.broken().into_iter().collect::<Vec<_>>(), vec!["acknowledged_exist"]);
}

#[test]
fn the_quick_suite_writes_its_results_and_passes_its_invariants() {
    let binary = service_binary();
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ticketing-bench"))
        .args(["--quick", "--seats", "400", "--connections", "8", "--service-bin"])
        .arg(&binary)
        .arg("--out")
        .arg(out.path())
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stderr(Stdio::inherit())
        .output()
        .expect("running ticketing-bench");
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "ticketing-bench failed:\n{table}");

    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json")).unwrap()).unwrap();
    let names: Vec<&str> = rows.as_array().unwrap().iter().map(|row| row["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ceiling", "storm", "soldout_flood", "event_reads", "mixed"]);
    for row in rows.as_array().unwrap() {
        assert_eq!(row["invariants_ok"], true, "{row}");
        assert!(row["requests_per_sec"].as_f64().unwrap() > 0.0, "{row}");
    }
    assert!(rows[1]["peak_rss_mb"].as_f64().unwrap() > 0.0, "the storm row carries the service's peak RSS");
    assert!(rows[3]["successes"].as_u64().unwrap() > 0, "event reads answered 200");
    let markdown = std::fs::read_to_string(out.path().join("results.md")).unwrap();
    assert!(table.contains(markdown.lines().next().unwrap()), "the table is printed to stdout");
    assert!(std::fs::read_to_string(out.path().join("plot.svg")).unwrap().contains("<polyline"));
}
