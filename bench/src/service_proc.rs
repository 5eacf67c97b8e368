//! Starting the `ticketing-service` binary under test as a child process, and reading its peak memory.
//!
//! The binary is found next to the generator's own executable (both live in the same cargo target directory) or
//! given explicitly. The child binds port 0 and announces its address on stdout; its log goes to a file.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

use crate::auth::Credentials;

/// The announcement the service prints once it listens.
const LISTENING: &str = "ticketing-service listening on ";
/// The embedded default's database file inside the data directory.
const EMBEDDED_DB_FILE: &str = "ticketing.db";
/// How long the service may take to start (migrations included).
const START_LIMIT: Duration = Duration::from_secs(60);

/// Which storage the service runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: a SQLite file in a fresh temporary data directory, in-process cache.
    Embedded,
    /// MySQL/MariaDB plus, optionally, Redis.
    External { database_url: String, redis_url: Option<String> },
}

impl Backend {
    /// A short name for reports.
    pub fn label(&self) -> &'static str {
        match self {
            Backend::Embedded => "sqlite",
            Backend::External { redis_url: Some(_), .. } => "mariadb+redis",
            Backend::External { redis_url: None, .. } => "mariadb",
        }
    }
}

/// Creates the MySQL database named in `database_url` if it does not exist yet (the service migrates it but
/// cannot create it), so the suite can be pointed at a fresh server with any database name.
pub async fn ensure_database(database_url: &str) -> anyhow::Result<()> {
    use sqlx::{Connection as _, Executor as _};
    let Some(rest) = database_url.strip_prefix("mysql://") else { return Ok(()) };
    let (server, name) = match rest.split_once('/') {
        Some((authority, path)) => (format!("mysql://{authority}"), path.split('?').next().unwrap_or_default()),
        None => bail!("DATABASE_URL must name a database (mysql://user:pass@host:port/DB)"),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("the database name in DATABASE_URL must be letters, digits and underscores");
    }
    let mut connection = sqlx::mysql::MySqlConnection::connect(&server)
        .await
        .context("connecting to the MySQL server of DATABASE_URL")?;
    connection
        .execute(format!("CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin").as_str())
        .await
        .context("creating the benchmark database")?;
    connection.close().await?;
    Ok(())
}

/// Finds the service binary: `explicit` if given, else `ticketing-service` beside this executable.
pub fn locate_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    locate_program("ticketing-service", explicit, "--service-bin")
}

/// Finds workspace binary `program`: `explicit` if given, else beside the current executable (or one directory up,
/// where test executables live in `deps/`); the error names `flag`, which passes it explicitly.
pub fn locate_program(program: &str, explicit: Option<&Path>, flag: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return path.is_file().then(|| path.to_path_buf()).ok_or_else(|| anyhow!("{} is not a file", path.display()));
    }
    let exe = std::env::current_exe().context("locating the current executable")?;
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join(format!("{program}{}", std::env::consts::EXE_SUFFIX)))
        .collect();
    candidates.iter().find(|path| path.is_file()).cloned().ok_or_else(|| {
        anyhow!(
            "{program} not found at {candidates:?}; build it with `cargo build -p {program}` in the same profile and \
             target dir, or pass {flag} PATH"
        )
    })
}

/// A running service child; dropping it kills the process.
pub struct ServiceProcess {
    child: Child,
    pub url: String,
    pub backend: Backend,
    data_dir: Option<tempfile::TempDir>,
}

impl ServiceProcess {
    /// Starts `binary serve` on `backend` with `credentials`, listening on `bind` (`127.0.0.1:0` for any free
    /// port) with `extra_args` after the defaults, appending its log to `log_path`; waits for its address.
    pub fn start(
        binary: &Path,
        backend: &Backend,
        credentials: &Credentials,
        log_path: &Path,
        bind: &str,
        extra_args: &[&str],
    ) -> anyhow::Result<Self> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let mut command = Command::new(binary);
        command
            .args(["serve", "--bind", bind])
            .args(extra_args)
            .env("TICKETING_JWT_SECRET", credentials.jwt_secret())
            .env("TICKETING_ADMIN_TOKEN", credentials.admin_token())
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("TICKETING_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let data_dir = match backend {
            Backend::Embedded => {
                let dir = tempfile::Builder::new().prefix("ticketing-bench-").tempdir()?;
                command.env("TICKETING_DATA_DIR", dir.path());
                Some(dir)
            }
            Backend::External { database_url, redis_url } => {
                command.env("DATABASE_URL", database_url);
                if let Some(redis) = redis_url {
                    command.env("REDIS_URL", redis);
                }
                None
            }
        };
        let mut child = command.spawn().with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (found, announced) = mpsc::channel();
        // Read the announcement, then keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.trim().strip_prefix(LISTENING) {
                    if let Some(found) = found.take() {
                        let _ = found.send(url.to_owned());
                    }
                }
            }
        });
        let mut process = Self { child, url: String::new(), backend: backend.clone(), data_dir };
        match announced.recv_timeout(START_LIMIT) {
            Ok(url) => process.url = url.trim_end_matches('/').to_owned(),
            Err(_) => {
                let status = process.child.try_wait()?;
                bail!(
                    "ticketing-service did not announce its address within {START_LIMIT:?} (exit status {status:?}); \
                     see {}",
                    log_path.display()
                );
            }
        }
        Ok(process)
    }

    /// The URL of the database the service writes to, for the invariant check. The embedded default keeps its
    /// SQLite file as `ticketing.db` in the data directory (`ticketing_service::store::Db::embedded_url`).
    pub fn database_url(&self) -> String {
        match (&self.backend, &self.data_dir) {
            (Backend::External { database_url, .. }, _) => database_url.clone(),
            (Backend::Embedded, Some(dir)) => format!("sqlite://{}", dir.path().join(EMBEDDED_DB_FILE).display()),
            (Backend::Embedded, None) => unreachable!("an embedded service always has a data dir"),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the service (SIGKILL) and waits for it.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.kill()
    }

    /// Sends `signal` (a `kill -s` name such as `STOP` or `CONT`) to the service.
    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let status =
            Command::new("kill").args(["-s", signal, &self.child.id().to_string()]).status().context("running kill")?;
        if !status.success() {
            bail!("kill -s {signal} {} failed", self.child.id());
        }
        Ok(())
    }

    fn kill(&mut self) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_none() {
            self.child.kill()?;
            self.child.wait()?;
        }
        Ok(())
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Peak resident set size of process `pid` in MiB (`VmHWM` from `/proc/<pid>/status`).
pub fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_hwm_mb(&status)
}

/// Resets the peak RSS of `pid` to its current RSS, so the next reading covers only what follows.
pub fn reset_peak_rss(pid: u32) {
    // Writing 5 to clear_refs resets VmHWM (Linux >= 4.0); where that is refused the peak stays cumulative.
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// CPU time (user + system) process `pid` has used so far, in seconds, from `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    parse_cpu_seconds(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Clock ticks per second of `/proc/<pid>/stat` (Linux's `USER_HZ`, 100 on every architecture we run on).
const USER_HZ: f64 = 100.0;

fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    // The command name may contain spaces; the fields after its closing parenthesis are positional, utime and
    // stime being the 12th and 13th of them.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / USER_HZ)
}

fn parse_vm_hwm_mb(status: &str) -> Option<f64> {
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_in_mebibytes() {
        let status = "Name:\tticketing-service\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40000 kB\n";
        assert_eq!(parse_vm_hwm_mb(status), Some(50.0));
        assert_eq!(parse_vm_hwm_mb("Name:\tx\n"), None);
    }

    #[test]
    fn cpu_time_is_user_plus_system_ticks() {
        let stat = "4242 (ticketing service) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 3 0 100 0 0";
        assert_eq!(parse_cpu_seconds(stat), Some(3.0));
        assert!(cpu_seconds(std::process::id()).is_some());
    }

    #[test]
    fn the_own_process_has_a_peak_rss() {
        let peak = peak_rss_mb(std::process::id()).expect("/proc is mounted");
        assert!(peak > 0.0);
    }
}
