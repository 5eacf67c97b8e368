//! A real `ticketing-service` process on its embedded SQLite default, with a static admin token, killed on drop.
//!
//! The binary is the workspace's own build: `cargo build -p ticketing-service` must run before these tests (the test
//! fails and says so otherwise), because a test cannot run cargo while cargo holds the build directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running reservation service.
pub struct ReservationService {
    child: Child,
    data_dir: PathBuf,
    /// Its base URL, `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its static admin token.
    pub admin_token: String,
}

impl ReservationService {
    /// Starts the service on a free loopback port with a fresh data directory.
    pub async fn start() -> Result<Self> {
        let data_dir = std::env::temp_dir().join(format!("ticketing-operator-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&data_dir)?;
        let admin_token = format!("admin-{}", uuid::Uuid::new_v4());
        let (child, url) = spawn("127.0.0.1:0", &data_dir, &admin_token).await?;
        Ok(Self { child, data_dir, url, admin_token })
    }

    /// Starts the killed service again on the same address and data.
    pub async fn restart(&mut self) -> Result<()> {
        let address = self.url.trim_start_matches("http://").to_string();
        let (child, _) = spawn(&address, &self.data_dir, &self.admin_token).await?;
        self.child = child;
        Ok(())
    }

    /// A buyer token for `user`, signed with the key the service generated in its data directory.
    pub async fn buyer_token(&self, user: &str) -> Result<String> {
        let output = Command::new(binary()?)
            .args(["token", "--sub", user])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .output()
            .await?;
        if !output.status.success() {
            bail!("ticketing-service token failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8(output.stdout)?.trim().to_string())
    }

    /// The event as the service has it (the `data` of the envelope).
    pub async fn event(&self, id: i64) -> Result<Value> {
        let response = reqwest::Client::new()
            .get(format!("{}/api/events/{id}", self.url))
            .bearer_auth(&self.admin_token)
            .send()
            .await?;
        let body: Value = response.json().await?;
        Ok(body["data"].clone())
    }

    /// Reserves `quantity` seats of event `id` as `user`; returns the HTTP status.
    pub async fn reserve(&self, id: i64, user: &str, quantity: i64) -> Result<u16> {
        let token = self.buyer_token(user).await?;
        let response = reqwest::Client::new()
            .post(format!("{}/api/reservations", self.url))
            .bearer_auth(token)
            .json(&serde_json::json!({"eventId": id, "userId": user, "quantity": quantity}))
            .send()
            .await?;
        Ok(response.status().as_u16())
    }
}

impl ReservationService {
    /// Kills the process, keeping its data directory until drop.
    pub async fn kill(&mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

impl Drop for ReservationService {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Runs `ticketing-service serve` on `address`; returns the process and its base URL once it listens.
async fn spawn(address: &str, data_dir: &Path, admin_token: &str) -> Result<(Child, String)> {
    let binary = binary()?;
    let mut child = Command::new(&binary)
        .args(["serve", "--bind", address, "--admin-token", admin_token])
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let stdout = child.stdout.take().context("the service's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(super::DEADLINE, async {
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.strip_prefix("ticketing-service listening on ") {
                return Ok(url.trim().to_string());
            }
        }
        bail!("the service exited before it listened")
    })
    .await
    .context("the service did not start listening in time")??;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, url))
}

/// `ticketing-service` next to this test binary's `deps` directory, i.e. in the same target profile directory.
fn binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).context("the test binary's directory")?;
    let binary = profile_dir.join("ticketing-service");
    if !binary.is_file() {
        bail!("{} is missing: run `cargo build -p ticketing-service` before the operator tests", binary.display());
    }
    Ok(binary)
}
