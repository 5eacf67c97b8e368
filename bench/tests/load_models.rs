//! The closed and open load models against the in-process ceiling server: every request is answered and
//! recorded, the open model sends exactly its schedule, and the timeline covers the run.

use std::sync::Arc;
use std::time::Duration;

use ticketing_bench::ceiling;
use ticketing_bench::conn::Target;
use ticketing_bench::load::{run_closed, run_open, Length};
use ticketing_bench::outcome::ErrorCounts;
use ticketing_bench::traffic::TrivialGet;

fn trivial_get() -> Arc<TrivialGet> {
    Arc::new(TrivialGet { path: ceiling::PATH, errors: ErrorCounts::default() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_closed_model_records_every_answer_of_every_connection() {
    let server = ceiling::start().unwrap();
    let target = Target::resolve(&server.url).await.unwrap();
    let workload = trivial_get();
    let measured =
        run_closed("test", &target, 4, Length::For(Duration::from_millis(1500)), workload.clone()).await.unwrap();
    assert!(measured.requests > 4, "only {} requests", measured.requests);
    assert_eq!(measured.successes, measured.requests);
    assert!(workload.errors.snapshot().is_empty(), "{:?}", workload.errors.snapshot());
    assert_eq!(measured.timeline.iter().map(|point| point.requests).sum::<u64>(), measured.requests);
    assert!(measured.timeline.len() >= 2, "1.5 s of load spans two seconds of timeline");
    assert!(measured.p50_ms > 0.0 && measured.p50_ms <= measured.p99_ms && measured.p99_ms <= measured.p999_ms);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_model_sends_exactly_its_schedule() {
    let server = ceiling::start().unwrap();
    let target = Target::resolve(&server.url).await.unwrap();
    let measured = run_open("test", &target, 5, 200.0, Duration::from_secs(1), trivial_get()).await.unwrap();
    assert_eq!(measured.requests, 200, "200/s for one second");
    assert_eq!(measured.successes, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_refuses_connections_fails_the_run_before_it_starts() {
    let server = ceiling::start().unwrap();
    let target = Target::resolve(&server.url).await.unwrap();
    drop(server);
    let error = run_closed("test", &target, 2, Length::For(Duration::from_millis(100)), trivial_get()).await;
    assert!(error.is_err(), "connecting to a stopped server must fail");
}

#[tokio::test]
async fn targets_must_be_plain_http_base_urls() {
    assert!(Target::resolve("https://127.0.0.1:1").await.is_err());
    assert!(Target::resolve("http://127.0.0.1:1/api").await.is_err());
    assert_eq!(Target::resolve("http://127.0.0.1:8080/").await.unwrap().url, "http://127.0.0.1:8080");
}
