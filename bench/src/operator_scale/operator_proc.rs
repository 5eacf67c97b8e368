//! The `ticketing-operator run` binary as a child process: found next to this executable (or given), pointed at the
//! control plane's kubeconfig and at the reservation service's admin API, its JSON log copied to a file, and its
//! metrics address read from the start-up line.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context};

/// How long the operator may take to announce its metrics address.
const START_LIMIT: Duration = Duration::from_secs(60);
/// The message of the operator's start-up log line, whose `addr` field is the bound metrics address.
const STARTING: &str = "ticketing-operator starting";

/// Where the operator finds everything it talks to.
pub struct OperatorSetup<'a> {
    /// The binary.
    pub binary: &'a Path,
    /// The admin kubeconfig of the control plane.
    pub kubeconfig: &'a Path,
    /// The namespace it watches and holds its lease in.
    pub namespace: &'a str,
    /// The reservation service's base URL.
    pub api_url: &'a str,
    /// The service's admin token, passed through the environment so it never shows in the process list.
    pub admin_token: &'a str,
    /// Where its log goes.
    pub log_path: &'a Path,
}

/// A running operator; dropping it kills the process.
pub struct OperatorProcess {
    child: Child,
    /// Its `/livez`, `/readyz` and `/metrics` address, `host:port`.
    pub metrics_addr: String,
}

impl OperatorProcess {
    /// Starts the operator and waits until it has bound its metrics address.
    pub fn start(setup: &OperatorSetup<'_>) -> anyhow::Result<Self> {
        let mut log =
            std::fs::File::create(setup.log_path).with_context(|| format!("creating {}", setup.log_path.display()))?;
        // setpriv (util-linux, which the control plane needs as well) gives the operator a parent-death signal, so
        // a benchmark that is killed does not leave it running.
        let mut child = Command::new("setpriv")
            .args(["--pdeathsig", "TERM", "--"])
            .arg(setup.binary)
            .args(["run", "--api-url", setup.api_url, "--watch-namespace", setup.namespace])
            .args(["--lease-namespace", setup.namespace, "--identity", "bench", "--metrics-bind", "127.0.0.1:0"])
            .args(["--base-domain", "tickets.bench", "--log-format", "json"])
            .env("KUBECONFIG", setup.kubeconfig)
            .env("TICKETING_ADMIN_TOKEN", setup.admin_token)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", setup.binary.display()))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (found, announced) = mpsc::channel();
        // Copy the log to the file, reporting the metrics address on the way.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = found.is_some().then(|| metrics_addr(&line)).flatten() {
                    let _ = found.take().map(|found| found.send(addr));
                }
                let _ = writeln!(log, "{line}");
            }
        });
        let mut process = Self { child, metrics_addr: String::new() };
        match announced.recv_timeout(START_LIMIT) {
            Ok(addr) => process.metrics_addr = addr,
            Err(_) => {
                let status = process.child.try_wait()?;
                bail!(
                    "ticketing-operator did not announce its address within {START_LIMIT:?} (exit status {status:?}); \
                     see {}",
                    setup.log_path.display()
                );
            }
        }
        Ok(process)
    }

    /// The process id, for its peak memory and CPU time.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `addr` field of the operator's JSON start-up line, if `line` is that line.
fn metrics_addr(line: &str) -> Option<String> {
    let entry: serde_json::Value = serde_json::from_str(line).ok()?;
    (entry["fields"]["message"] == STARTING).then(|| entry["fields"]["addr"].as_str().map(str::to_owned)).flatten()
}

/// Finds the operator binary: `explicit` if given, else `ticketing-operator` beside this executable.
pub fn locate_operator(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    crate::service_proc::locate_program("ticketing-operator", explicit, "--operator-bin")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_address_comes_from_the_start_up_line_only() {
        let start = r#"{"level":"INFO","fields":{"message":"ticketing-operator starting","addr":"127.0.0.1:4242"}}"#;
        let other = r#"{"level":"INFO","fields":{"message":"standing by for the lease","addr":"x"}}"#;

        assert_eq!(metrics_addr(start).as_deref(), Some("127.0.0.1:4242"));
        assert_eq!(metrics_addr(other), None);
        assert_eq!(metrics_addr("not json"), None);
    }
}
