//! Redis for tests: the shared test server, or a `redis-server` process of a test's own that it can stop and
//! start again on the same port (to cut Redis off in the middle of a run).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The URL of the shared test Redis, or a panic that says how to start it.
pub fn server_url() -> String {
    std::env::var("TICKETING_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!(
            "TICKETING_TEST_REDIS_URL is not set: run the tests with scripts/test.sh, or start Redis with \
             `scripts/test-services.sh start /tmp/ticketing-services && . /tmp/ticketing-services/env`"
        )
    })
}

/// A `redis-server` owned by one test; killed when dropped.
pub struct RedisProcess {
    port: u16,
    child: Option<Child>,
}

impl RedisProcess {
    /// Starts `redis-server` on a free loopback port and waits until it answers.
    pub fn start() -> Self {
        let port = free_port();
        let mut process = Self { port, child: None };
        process.restart();
        process
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (its data is gone: it keeps nothing on disk).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start redis-server: install the redis-server package (scripts/test.sh does)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.answers() {
            assert!(Instant::now() < deadline, "redis-server on port {} did not answer in time", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers(&self) -> bool {
        redis::Client::open(self.url())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection))
            .is_ok()
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}
