//! The service's log, captured: installs the test binary's global subscriber with a writer into memory, for tests that
//! check what the service logs (and what it must never log).

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Everything logged since [`capture`] was called.
#[derive(Clone)]
pub struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl CapturedLog {
    /// The log so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// The lines logged so far.
    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_owned).collect()
    }
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl Write for Writer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every event that `filter` (an `EnvFilter` directive) lets through. Call it before the app is spawned,
/// once per test binary: the subscriber is global, so the binary should hold one test that reads the log.
pub fn capture(filter: &str) -> CapturedLog {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(move || Writer(writer.clone()))
        .try_init()
        .expect("the log is captured before anything else installs a subscriber");
    CapturedLog(buffer)
}
