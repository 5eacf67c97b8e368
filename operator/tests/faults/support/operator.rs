//! The `ticketing-operator` binary as a child process of the test, as the chart runs it: its own Kubernetes client
//! from a kubeconfig, the admin API of the real reservation service, a Lease in the test's namespace, JSON logs to a
//! file. The test can SIGKILL it, freeze it with SIGSTOP and resume it with SIGCONT.

use std::fs::File;
use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{ensure, Context, Result};
use tokio::process::{Child, Command};

use super::{eventually, Fixture};

/// The Lease duration of the test operators, in seconds; a frozen holder loses the Lease this long after its last
/// renewal. Long enough that a loaded CI machine does not let a running holder's Lease lapse.
pub const LEASE_SECONDS: u64 = 10;

/// A running `ticketing-operator run`; killed on drop.
pub struct OperatorProcess {
    child: Child,
    /// Its identity in the Lease and in Kubernetes Events.
    pub identity: String,
    /// Its log file (JSON lines).
    pub log: PathBuf,
}

impl OperatorProcess {
    /// Starts an instance named `identity` that reads the seat counts of events on sale every `refresh_seconds` (so
    /// that many reconciles happen, or, when long, only those the watches trigger).
    pub async fn start(fixture: &Fixture, identity: &str, refresh_seconds: u64) -> Result<Self> {
        let log = fixture.dir.path.join(format!("{identity}-{}.log", uuid::Uuid::new_v4()));
        let child = Command::new(env!("CARGO_BIN_EXE_ticketing-operator"))
            .args(["run", "--api-url", &fixture.service.url])
            .args(["--watch-namespace", &fixture.namespace, "--lease-namespace", &fixture.namespace])
            .args(["--identity", identity, "--lease-duration-seconds", &LEASE_SECONDS.to_string()])
            .args(["--seat-refresh-seconds", &refresh_seconds.to_string(), "--metrics-bind", "127.0.0.1:0"])
            .env("KUBECONFIG", fixture.control_plane.kubeconfig_path())
            .env("TICKETING_ADMIN_TOKEN", &fixture.service.admin_token)
            .env("RUST_LOG", std::env::var("TICKETING_FAULTS_LOG").unwrap_or_else(|_| "info".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).context("creating the operator log")?)
            .kill_on_drop(true)
            .spawn()
            .context("starting ticketing-operator")?;
        Ok(Self { child, identity: identity.into(), log })
    }

    /// Waits until the log has a line whose message is `message`.
    pub async fn logged(&self, message: &str) -> Result<()> {
        let needle = format!("\"message\":\"{message}\"");
        eventually(&format!("{} to log {message:?}\n{}", self.identity, self.tail()), || async {
            Ok(std::fs::read_to_string(&self.log)?.contains(&needle).then_some(()))
        })
        .await
    }

    /// How many log lines have `message`.
    pub fn count_logged(&self, message: &str) -> usize {
        let needle = format!("\"message\":\"{message}\"");
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().filter(|l| l.contains(&needle)).count()
    }

    /// The last lines of the log, for failure messages.
    pub fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!("last lines of {}:\n{}", self.log.display(), lines[lines.len().saturating_sub(15)..].join("\n"))
    }

    /// Sends `signal` (`STOP`, `CONT`, ...) to the process.
    pub async fn signal(&self, signal: &str) -> Result<()> {
        let pid = self.child.id().context("the operator has exited")?;
        let status = Command::new("kill").args(["-s", signal, &pid.to_string()]).status().await?;
        ensure!(status.success(), "kill -s {signal} {pid} failed");
        Ok(())
    }

    /// SIGKILLs the process and reaps it.
    pub async fn kill(&mut self) -> Result<()> {
        self.child.kill().await.context("SIGKILL to the operator")
    }
}
