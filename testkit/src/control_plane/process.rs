//! The processes and directories behind a [`super::ControlPlane`]: spawning `scripts/control-plane.sh run` so that it
//! cannot outlive the test binary, asking it to stop and start kube-apiserver, stopping it, and the temporary
//! directory each control plane runs in.
//!
//! The run script is started through `setpriv --pdeathsig TERM`, so the kernel sends it SIGTERM when the thread that
//! spawned it exits; the script then stops its components, which carry a parent-death signal of their own. Because
//! the signal follows the spawning *thread*, every spawn happens on one thread that lives as long as the process:
//! cargo test neither runs destructors of statics nor keeps a test's thread alive after the test.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rustix::process::{kill_process, Pid, Signal};

/// Prefix of the temporary directories; the owning process id follows it, so stale directories can be recognised.
const RUN_DIR_PREFIX: &str = "ticketing-control-plane-";
/// How long the script may take to bring the control plane up before the harness gives up.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(400);
/// How long stopping or starting kube-apiserver on request may take.
const APISERVER_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the harness checks whether the control plane is ready.
const READINESS_POLL: Duration = Duration::from_millis(100);

/// The path of `scripts/control-plane.sh` (see [`crate::repo_script`]).
pub(super) fn script() -> PathBuf {
    crate::repo_script("scripts/control-plane.sh")
}

/// A running `scripts/control-plane.sh run` process and the directory it owns; dropping it stops the control plane
/// and removes the directory.
pub(super) struct RunningScript {
    child: Child,
    run_dir: PathBuf,
}

impl RunningScript {
    /// Starts the run script in a fresh temporary directory and waits until it reports the control plane ready.
    pub(super) async fn start() -> Result<Self> {
        let run_dir = create_run_dir()?;
        let log = File::create(run_dir.join("run.log")).context("creating the run log")?;
        let mut command = Command::new("setpriv");
        command
            .args(["--pdeathsig", "TERM", "--", "bash"])
            .arg(script())
            .arg("run")
            .arg(run_dir.join("cluster"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("duplicating the run log handle")?)
            .stderr(log);
        let child = spawn_from_long_lived_thread(command)
            .context("spawning `setpriv ... scripts/control-plane.sh run` (setpriv is part of util-linux)")?;
        let mut running = Self { child, run_dir };
        running.wait_until_ready().await?;
        Ok(running)
    }

    /// The directory `scripts/control-plane.sh run` was given: it holds `kubeconfig`, `pki/` and `logs/`.
    pub(super) fn cluster_dir(&self) -> PathBuf {
        self.run_dir.join("cluster")
    }

    /// Asks the run script to stop (`SIGUSR1`) or start (`SIGUSR2`) kube-apiserver and waits until its state file
    /// `DIR/apiserver` reads `state`. The signal is repeated every second, because one that lands just before the
    /// script starts waiting is only seen at its next wake-up; both requests are idempotent.
    pub(super) async fn request_apiserver(&mut self, signal: Signal, state: &str) -> Result<()> {
        let state_file = self.cluster_dir().join("apiserver");
        let deadline = Instant::now() + APISERVER_TIMEOUT;
        let mut next_signal = Instant::now();
        loop {
            if fs::read_to_string(&state_file).is_ok_and(|current| current.trim() == state) {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait().context("checking the run script")? {
                bail!("the control plane stopped ({status}):\n{}", self.log_tail());
            }
            if Instant::now() >= deadline {
                bail!("kube-apiserver was not {state} after {APISERVER_TIMEOUT:?}:\n{}", self.log_tail());
            }
            if Instant::now() >= next_signal {
                kill_process(Pid::from_child(&self.child), signal).context("signalling the run script")?;
                next_signal = Instant::now() + Duration::from_secs(1);
            }
            tokio::time::sleep(READINESS_POLL).await;
        }
    }

    async fn wait_until_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let ready = self.cluster_dir().join("ready");
        loop {
            if ready.exists() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait().context("checking the run script")? {
                bail!("the control plane did not start ({status}):\n{}", self.log_tail());
            }
            if Instant::now() >= deadline {
                bail!("the control plane was not ready after {STARTUP_TIMEOUT:?}:\n{}", self.log_tail());
            }
            tokio::time::sleep(READINESS_POLL).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.run_dir.join("run.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for RunningScript {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // The script stops its components within a bounded grace period and then exits.
            if kill_process(Pid::from_child(&self.child), Signal::TERM).is_err() {
                let _ = self.child.kill();
            }
            let _ = self.child.wait();
        }
        let _ = fs::remove_dir_all(&self.run_dir);
    }
}

/// A request to the spawner thread: the command, and where to send the spawned child.
type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Spawns a command from a thread that never exits, so that a parent-death signal fires only when the whole test
/// binary exits.
fn spawn_from_long_lived_thread(command: Command) -> Result<Child> {
    static SPAWNER: OnceLock<mpsc::Sender<SpawnRequest>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, incoming) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("control-plane-spawner".into())
            .spawn(move || {
                for (mut command, reply) in incoming {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("starting the control-plane spawner thread");
        requests
    });
    let (reply, response) = mpsc::channel();
    spawner.send((command, reply)).context("the control-plane spawner thread is gone")?;
    Ok(response.recv().context("the control-plane spawner thread is gone")??)
}

/// Creates a fresh temporary directory named after this process, after removing those left by processes that no
/// longer exist (a test binary's shared control plane is never dropped, so its directory outlives it).
fn create_run_dir() -> Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let temp = std::env::temp_dir();
    remove_stale_run_dirs(&temp);
    let run_dir = temp.join(format!("{RUN_DIR_PREFIX}{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    if run_dir.exists() {
        fs::remove_dir_all(&run_dir).with_context(|| format!("removing {}", run_dir.display()))?;
    }
    fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    Ok(run_dir)
}

fn remove_stale_run_dirs(temp: &Path) {
    let Ok(entries) = fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let owner = name
            .to_str()
            .and_then(|name| name.strip_prefix(RUN_DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = owner {
            if !Path::new("/proc").join(pid.to_string()).exists() {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}
