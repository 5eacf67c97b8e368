//! The system the faults hit: the campaign's MariaDB and Redis ([`super::servers`]), a toxiproxy in front of each
//! of them, and the service replicas on fixed loopback ports, so a replica killed in the middle of a storm comes
//! back where its clients look for it.
//!
//! ```text
//!   replica 0 ─┐            ┌─► proxy "mariadb" ─► mariadbd      (the checks read MariaDB directly)
//!   replica 1 ─┴─ toxiproxy ┴─► proxy "redis"   ─► redis-server
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::api;
use crate::auth::Credentials;
use crate::conn::{Conn, Target};
use ticketing_testkit::toxiproxy::{Proxy, Toxiproxy};

use crate::service_proc::{ensure_database, Backend, ServiceProcess};

use super::servers::{free_port, MariaDb, Redis};

/// Milliseconds between two hold sweeps in the replicas; their sweeper lease lasts five times as long.
pub const SWEEP_INTERVAL_MS: u64 = 100;
/// How long a replica may take to become ready.
const READY_LIMIT: Duration = Duration::from_secs(60);

/// One service replica: its port stays the same across restarts.
struct Replica {
    port: u16,
    log: PathBuf,
    process: Option<ServiceProcess>,
}

/// MariaDB, Redis and the service replicas of one campaign.
pub struct Cluster {
    pub mariadb: MariaDb,
    pub redis: Redis,
    /// The proxies the replicas reach MariaDB and Redis through.
    pub database_proxy: Proxy,
    pub redis_proxy: Proxy,
    toxiproxy: Toxiproxy,
    binary: PathBuf,
    credentials: Credentials,
    log_dir: PathBuf,
    database: String,
    replicas: Vec<Replica>,
}

impl Cluster {
    /// Starts the campaign's MariaDB, Redis and toxiproxy (no service yet).
    pub async fn start(binary: &Path, credentials: &Credentials, log_dir: &Path) -> anyhow::Result<Self> {
        eprintln!("faults: starting a private MariaDB, Redis and toxiproxy");
        let (mariadb, redis) = tokio::task::block_in_place(|| anyhow::Ok((MariaDb::start(log_dir)?, Redis::start()?)))?;
        let toxiproxy = Toxiproxy::start(Some(&log_dir.join("toxiproxy.log"))).await?;
        let database_proxy = toxiproxy.proxy("mariadb", &mariadb.address()).await?;
        let redis_proxy = toxiproxy.proxy("redis", &redis.address()).await?;
        Ok(Self {
            mariadb,
            redis,
            database_proxy,
            redis_proxy,
            toxiproxy,
            binary: binary.to_path_buf(),
            credentials: credentials.clone(),
            log_dir: log_dir.to_path_buf(),
            database: String::new(),
            replicas: Vec::new(),
        })
    }

    /// Prepares a case: stops the previous case's replicas, empties Redis, creates the case's own database (the
    /// campaign's MariaDB is new, so it is empty) and starts `replicas` service replicas on it.
    pub async fn begin_case(&mut self, case: &str, replicas: usize) -> anyhow::Result<()> {
        self.stop_replicas();
        self.toxiproxy.reset().await?;
        self.redis.reset()?;
        self.database = format!("faults_{}", case.to_lowercase());
        let url = self.database_url();
        ensure_database(&url).await?;
        for index in 0..replicas {
            let log = self.log_dir.join(format!("service-{}-{index}.log", case.to_lowercase()));
            self.replicas.push(Replica { port: free_port()?, log, process: None });
            self.restart_replica(index).await?;
        }
        Ok(())
    }

    /// The case's database, reached directly (for the checks).
    pub fn database_url(&self) -> String {
        self.mariadb.url(&self.database)
    }

    /// Removes every toxic.
    pub async fn heal_proxies(&self) -> anyhow::Result<()> {
        self.toxiproxy.reset().await
    }

    /// All replicas as one target (connections spread over them, failing over when one refuses).
    pub async fn target(&self) -> anyhow::Result<Target> {
        let urls: Vec<String> = self.replicas.iter().map(|replica| base_url(replica.port)).collect();
        Target::replicas(&urls.iter().map(String::as_str).collect::<Vec<_>>()).await
    }

    /// A target on replica `index` alone.
    pub async fn replica_target(&self, index: usize) -> anyhow::Result<Target> {
        Target::resolve(&base_url(self.replicas[index].port)).await
    }

    pub fn replica_count(&self) -> usize {
        self.replicas.len()
    }

    /// Kills replica `index` without warning (SIGKILL).
    pub fn kill_replica(&mut self, index: usize) -> anyhow::Result<()> {
        if let Some(process) = self.replicas[index].process.take() {
            process.stop()?;
        }
        Ok(())
    }

    /// Sends `signal` (`STOP`, `CONT`) to replica `index`.
    pub fn signal_replica(&self, index: usize, signal: &str) -> anyhow::Result<()> {
        match &self.replicas[index].process {
            Some(process) => process.signal(signal),
            None => anyhow::bail!("replica {index} is not running"),
        }
    }

    /// Starts replica `index` on its port (again) and waits until it is ready.
    pub async fn restart_replica(&mut self, index: usize) -> anyhow::Result<()> {
        self.kill_replica(index)?;
        let backend = Backend::External {
            database_url: self.mariadb.url_via(self.database_proxy.listen(), &self.database),
            redis_url: Some(format!("redis://{}", self.redis_proxy.listen())),
        };
        let replica = &mut self.replicas[index];
        let bind = format!("127.0.0.1:{}", replica.port);
        let sweep = SWEEP_INTERVAL_MS.to_string();
        let process = tokio::task::block_in_place(|| {
            ServiceProcess::start(
                &self.binary,
                &backend,
                &self.credentials,
                &replica.log,
                &bind,
                &["--sweep-interval-ms", &sweep],
            )
        })?;
        replica.process = Some(process);
        api::wait_ready(&Target::resolve(&base_url(replica.port)).await?, READY_LIMIT).await
    }

    /// `host:port` of replica `index`.
    pub fn replica_address(&self, index: usize) -> String {
        format!("127.0.0.1:{}", self.replicas[index].port)
    }

    /// The process id of replica `index`, if it runs.
    pub fn replica_pid(&self, index: usize) -> Option<u32> {
        self.replicas[index].process.as_ref().map(ServiceProcess::pid)
    }

    /// The log files of the current case's replicas.
    pub fn replica_logs(&self) -> Vec<PathBuf> {
        self.replicas.iter().map(|replica| replica.log.clone()).collect()
    }

    /// Scrapes replica `index`'s `/metrics`.
    pub async fn metrics(&self, index: usize) -> anyhow::Result<String> {
        let target = self.replica_target(index).await?;
        api::metrics(&mut Conn::new(&target), &self.credentials).await
    }

    /// Makes sure MariaDB and Redis run again after a case that failed half-way through its fault.
    pub fn heal(&mut self) -> anyhow::Result<()> {
        if !self.mariadb.answers() {
            self.mariadb.start_again()?;
        }
        if !self.redis.answers() {
            self.redis.start_again()?;
        }
        Ok(())
    }

    /// Stops every replica of the current case.
    pub fn stop_replicas(&mut self) {
        for replica in self.replicas.drain(..) {
            if let Some(process) = replica.process {
                let _ = process.stop();
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_replicas();
    }
}

fn base_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}
