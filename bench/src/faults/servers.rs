//! The campaign's own MariaDB and Redis: private server processes on loopback ports in a temporary directory, which
//! the fault cases kill, restart, flush and roll back to an older snapshot.
//!
//! Both come from the Debian packages (`mariadb-server`, `redis-server`; `scripts/test-services.sh install` installs
//! them). Nothing here touches a system-wide server.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How long a server may take to answer after a (re)start, crash recovery included.
const START_LIMIT: Duration = Duration::from_secs(60);
/// How often a starting server is polled.
const POLL: Duration = Duration::from_millis(50);
/// The account the service and the checks use.
const USER: &str = "ticketing";
const PASSWORD: &str = "faults";

/// A free loopback TCP port (bound once, then released for the server to take).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Fails with an installation hint when `program` is not on the `PATH`.
fn require(program: &str, package: &str) -> anyhow::Result<()> {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    if !found {
        bail!("{program} is not installed: run `scripts/test-services.sh install` (Debian package {package})");
    }
    Ok(())
}

/// Runs a short client command and fails with its output when it fails.
fn run_quiet(command: &mut Command) -> anyhow::Result<()> {
    let output = command.stdin(Stdio::null()).output().with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Polls `ready` until it holds or [`START_LIMIT`] passes.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_LIMIT;
    while !ready() {
        if Instant::now() >= deadline {
            bail!("{what} did not answer within {START_LIMIT:?}");
        }
        std::thread::sleep(POLL);
    }
    Ok(())
}

fn kill(child: &mut Option<Child>) {
    if let Some(mut process) = child.take() {
        let _ = process.kill();
        let _ = process.wait();
    }
}

/// A private `mariadbd`.
pub struct MariaDb {
    dir: tempfile::TempDir,
    port: u16,
    log: PathBuf,
    child: Option<Child>,
}

impl MariaDb {
    /// Initialises a data directory, starts the server and creates the campaign's account.
    pub fn start(log_dir: &Path) -> anyhow::Result<Self> {
        require("mariadbd", "mariadb-server")?;
        require("mariadb-install-db", "mariadb-server")?;
        let dir = tempfile::Builder::new().prefix("ticketing-faults-mariadb-").tempdir()?;
        let install_log = log_dir.join("mariadb-install.log");
        let output = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--auth-root-authentication-method=socket", "--skip-test-db"])
            .arg(format!("--user={}", current_user()))
            .arg(format!("--datadir={}", dir.path().join("data").display()))
            .output()
            .context("running mariadb-install-db")?;
        std::fs::write(&install_log, [output.stdout, output.stderr].concat())?;
        if !output.status.success() {
            bail!("mariadb-install-db failed; see {}", install_log.display());
        }
        let mut server = Self { port: free_port()?, log: log_dir.join("mariadb.err"), dir, child: None };
        server.start_again()?;
        run_quiet(server.client().arg(format!(
            "CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; \
             GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'127.0.0.1'; FLUSH PRIVILEGES;"
        )))?;
        Ok(server)
    }

    /// `mysql://` URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        self.url_via(std::net::SocketAddr::from(([127, 0, 0, 1], self.port)), name)
    }

    /// `mysql://` URL of database `name` reached at `address` (a proxy in front of this server).
    pub fn url_via(&self, address: std::net::SocketAddr, name: &str) -> String {
        format!("mysql://{USER}:{PASSWORD}@{address}/{name}")
    }

    /// `host:port` of this server.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the server without warning (SIGKILL): a crash, so the next start runs InnoDB crash recovery.
    pub fn crash(&mut self) {
        kill(&mut self.child);
    }

    /// Starts the server on its data directory and port and waits until it answers.
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        kill(&mut self.child);
        let data = self.dir.path().join("data");
        let child = Command::new("mariadbd")
            .arg("--no-defaults")
            .arg(format!("--user={}", current_user()))
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!("--pid-file={}", self.dir.path().join("mysql.pid").display()))
            .arg(format!("--port={}", self.port))
            .args(["--bind-address=127.0.0.1", "--skip-log-bin", "--max-connections=1000"])
            .args(["--innodb-buffer-pool-size=256M", "--innodb-log-file-size=256M"])
            .arg(format!("--log-error={}", self.log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting mariadbd")?;
        self.child = Some(child);
        wait_until("MariaDB", || self.answers())
    }

    /// Whether the server answers a ping.
    pub fn answers(&self) -> bool {
        Command::new("mariadb-admin")
            .args(["--no-defaults", "-uroot", "ping"])
            .arg(format!("--socket={}", self.socket().display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("mysql.sock")
    }

    /// A `mariadb` client logged in as root over the socket, ready for `-e`.
    fn client(&self) -> Command {
        let mut command = Command::new("mariadb");
        command.args(["--no-defaults", "-uroot"]).arg(format!("--socket={}", self.socket().display())).arg("-e");
        command
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// A private `redis-server` that keeps no data on disk unless asked for a snapshot.
pub struct Redis {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

/// The file a snapshot is written to and loaded from at start.
const DUMP: &str = "dump.rdb";

impl Redis {
    pub fn start() -> anyhow::Result<Self> {
        require("redis-server", "redis-server")?;
        require("redis-cli", "redis-tools")?;
        let dir = tempfile::Builder::new().prefix("ticketing-faults-redis-").tempdir()?;
        let mut server = Self { dir, port: free_port()?, child: None };
        server.start_again()?;
        Ok(server)
    }

    /// `host:port` of this server.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the server; what it held in memory is gone.
    pub fn stop(&mut self) {
        kill(&mut self.child);
    }

    /// Starts the server on its port (loading `dump.rdb` if one is there) and waits until it answers.
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        kill(&mut self.child);
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dbfilename", DUMP])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(self.dir.path().join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting redis-server")?;
        self.child = Some(child);
        wait_until("Redis", || self.answers())
    }

    /// Whether the server answers a ping.
    pub fn answers(&self) -> bool {
        redis_cli(self.port, &["PING"]).is_ok()
    }

    /// Writes a snapshot of the current data (`SAVE`), to be restored later with [`Redis::restore_snapshot`].
    pub fn snapshot(&self) -> anyhow::Result<()> {
        redis_cli(self.port, &["SAVE"])
    }

    /// Kills the server and starts it again from the last snapshot: a failover to a replica that lost every write
    /// since then.
    pub fn restore_snapshot(&mut self) -> anyhow::Result<()> {
        if !self.dir.path().join(DUMP).is_file() {
            bail!("no Redis snapshot to restore");
        }
        self.stop();
        self.start_again()
    }

    /// Empties the server (`FLUSHALL`): a failover to a replica that had nothing.
    pub fn flush(&self) -> anyhow::Result<()> {
        redis_cli(self.port, &["FLUSHALL"])
    }

    /// Empties the server and removes any snapshot, so the next case starts clean.
    pub fn reset(&self) -> anyhow::Result<()> {
        let _ = std::fs::remove_file(self.dir.path().join(DUMP));
        self.flush()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

fn redis_cli(port: u16, args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running redis-cli")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || text.starts_with("ERR") || text.contains("Could not connect") {
        bail!("redis-cli {args:?}: {text}{}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

/// The name of the user this process runs as (`mariadbd` must be told, even as root).
fn current_user() -> String {
    std::env::var("USER").ok().filter(|user| !user.is_empty()).unwrap_or_else(|| {
        Command::new("id")
            .arg("-un")
            .output()
            .ok()
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
            .unwrap_or_else(|| "root".to_owned())
    })
}
