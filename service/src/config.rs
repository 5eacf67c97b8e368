//! Command line and environment configuration (12-factor): every flag has an environment variable, secrets can
//! come from files, and nothing here is ever logged with its value.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::auth::{Authenticator, Expectations, KeyMaterial, Secret};

/// The reservation service of ticketing.
#[derive(Debug, Parser)]
#[command(name = "ticketing-service", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Without a subcommand, `serve` runs with these arguments.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the REST API (the default).
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate(StorageArgs),
    /// Print a development JWT (HS256) for a buyer or an admin; prints only the token.
    Token(TokenArgs),
    /// Print the OpenAPI document.
    Openapi,
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// `mysql://user:password@host:3306/db` or `sqlite://path`; unset = the embedded SQLite file in the data dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory of the embedded database and of the generated development JWT secret.
    #[arg(long, env = "TICKETING_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

impl StorageArgs {
    /// The database URL to connect to, creating the data directory for the embedded default.
    pub fn resolve_url(&self) -> anyhow::Result<String> {
        match &self.database_url {
            Some(url) => Ok(url.clone()),
            None => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("cannot create the data directory {}", self.data_dir.display()))?;
                Ok(crate::store::Db::embedded_url(&self.data_dir))
            }
        }
    }

    fn is_mysql(&self) -> bool {
        self.database_url.as_deref().is_some_and(|u| u.starts_with("mysql:") || u.starts_with("mariadb:"))
    }
}

/// How callers are authenticated.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// HS256 secret for buyer and admin JWTs (at least 32 bytes).
    #[arg(long, env = "TICKETING_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// File holding the HS256 secret.
    #[arg(long, env = "TICKETING_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,
    /// PEM file of the RS256 public key that verifies JWTs (instead of a secret).
    #[arg(long, env = "TICKETING_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,
    /// Required `iss` claim.
    #[arg(long, env = "TICKETING_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim.
    #[arg(long, env = "TICKETING_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// A static bearer token that is an admin (the operator's credential).
    #[arg(long, env = "TICKETING_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// File holding the static admin token.
    #[arg(long, env = "TICKETING_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// DEVELOPMENT ONLY: accept every request without a credential, as an admin.
    #[arg(long, env = "TICKETING_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
}

/// The secret that would sign tokens, and where it came from.
enum SigningKey {
    Secret(Secret),
    PublicKey(String),
}

impl AuthArgs {
    fn signing_key(&self, storage: &StorageArgs) -> anyhow::Result<SigningKey> {
        if let Some(path) = &self.jwt_public_key_file {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the JWT public key file {}", path.display()))?;
            return Ok(SigningKey::PublicKey(pem));
        }
        let secret = match (&self.jwt_secret, &self.jwt_secret_file) {
            (Some(value), _) => Some(value.clone()),
            (None, Some(path)) => Some(read_secret_file(path, "JWT secret")?),
            (None, None) => None,
        };
        match secret {
            Some(secret) if secret.len() < 32 => bail!("the JWT secret must be at least 32 bytes long"),
            Some(secret) => Ok(SigningKey::Secret(Secret::new(secret))),
            None if storage.is_mysql() => bail!(
                "no JWT key configured: set TICKETING_JWT_SECRET, TICKETING_JWT_SECRET_FILE or \
                 TICKETING_JWT_PUBLIC_KEY_FILE (or --insecure-no-auth for a local experiment)"
            ),
            None => Ok(SigningKey::Secret(development_secret(&storage.data_dir)?)),
        }
    }

    /// The authenticator for `serve`.
    pub fn authenticator(&self, storage: &StorageArgs) -> anyhow::Result<Authenticator> {
        if self.insecure_no_auth {
            tracing::warn!("AUTHENTICATION IS DISABLED (--insecure-no-auth): every caller is an admin; never use this in production");
            return Ok(Authenticator::insecure());
        }
        let key = match self.signing_key(storage)? {
            SigningKey::Secret(secret) => KeyMaterial::Hs256(secret),
            SigningKey::PublicKey(public_pem) => KeyMaterial::Rs256 { public_pem },
        };
        let admin_token = match (&self.admin_token, &self.admin_token_file) {
            (Some(token), _) => Some(token.clone()),
            (None, Some(path)) => Some(read_secret_file(path, "admin token")?),
            (None, None) => None,
        };
        if admin_token.as_ref().is_some_and(|t| t.len() < 16) {
            bail!("the admin token must be at least 16 characters long");
        }
        Authenticator::new(key, &self.expectations(), admin_token.map(Secret::new))
    }

    /// The HS256 secret that `token` signs with.
    pub fn minting_secret(&self, storage: &StorageArgs) -> anyhow::Result<Secret> {
        match self.signing_key(storage)? {
            SigningKey::Secret(secret) => Ok(secret),
            SigningKey::PublicKey(_) => {
                bail!("tokens cannot be minted with an RS256 public key; use the issuer that holds the private key")
            }
        }
    }

    /// Issuer and audience checks.
    pub fn expectations(&self) -> Expectations {
        Expectations { issuer: self.jwt_issuer.clone(), audience: self.jwt_audience.clone() }
    }
}

fn read_secret_file(path: &Path, what: &str) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    Ok(text.trim().to_owned())
}

/// The development JWT secret of the embedded default: generated on first start and kept in the data directory.
fn development_secret(data_dir: &Path) -> anyhow::Result<Secret> {
    let path = data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(Secret::new(existing.trim()));
    }
    std::fs::create_dir_all(data_dir)?;
    let secret = hex::encode(rand::random::<[u8; 32]>());
    write_private_file(&path, &secret)?;
    tracing::info!(path = %path.display(), "generated a development JWT secret");
    Ok(Secret::new(secret))
}

fn write_private_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Arguments of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the real address is printed).
    #[arg(long, env = "TICKETING_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// `redis://host:6379` (or `rediss://`); unset = an in-process cache.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so several deployments can share one Redis.
    #[arg(long, env = "TICKETING_REDIS_KEY_PREFIX", default_value = "ticketing:")]
    pub redis_key_prefix: String,
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Take reservations for this event id only; others get 421 `event_out_of_scope`.
    #[arg(long, env = "TICKETING_EVENT_SCOPE")]
    pub event_scope: Option<i64>,
    /// Requests one event may have waiting before new ones get 503 `queue_full`.
    #[arg(long, env = "TICKETING_QUEUE_DEPTH", default_value_t = 20_000)]
    pub queue_depth: usize,
    /// The most reservation requests combined in one transaction.
    #[arg(long, env = "TICKETING_MAX_BATCH", default_value_t = 512)]
    pub max_batch: usize,
    /// Database connections (MySQL).
    #[arg(long, env = "TICKETING_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// Milliseconds the availability hint may answer "sold out" before the database is asked again (0 disables it).
    #[arg(long, env = "TICKETING_HINT_TTL_MS", default_value_t = 250)]
    pub hint_ttl_ms: u64,
    /// Reservation requests per second one buyer may send (bursts of twice that); 0 disables the limit.
    #[arg(long, env = "TICKETING_RATE_LIMIT_PER_BUYER", default_value_t = 100.0)]
    pub rate_limit_per_buyer: f64,
    /// Requests per second one client address may send (bursts of twice that); 0 (the default) disables it, since
    /// many buyers may share one address behind a NAT or a load generator.
    #[arg(long, env = "TICKETING_RATE_LIMIT_PER_ADDRESS", default_value_t = 0.0)]
    pub rate_limit_per_address: f64,
    /// Proxies (addresses or CIDR ranges, comma-separated) whose `X-Forwarded-For` names the client.
    #[arg(long, env = "TICKETING_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<crate::http::limits::Cidr>,
    /// Milliseconds a request may take before it is answered 504 `timeout`.
    #[arg(long, env = "TICKETING_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Milliseconds between two runs of the hold sweeper (its lease lasts five times as long).
    #[arg(long, env = "TICKETING_SWEEP_INTERVAL_MS", default_value_t = 1000)]
    pub sweep_interval_ms: u64,
    /// Log format.
    #[arg(long, env = "TICKETING_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// The limits of each client connection, which the HTTP server enforces before a request reaches the router.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// The largest request head (request line and headers) in bytes, at least 1024; a larger one is answered
    /// 431 Request Header Fields Too Large and its connection closed.
    #[arg(long, env = "TICKETING_MAX_HEADER_BYTES", default_value_t = ConnectionArgs::DEFAULT.max_header_bytes)]
    pub max_header_bytes: usize,
    /// Milliseconds a client has to send a whole request head, counted from when the connection starts waiting for
    /// one; the connection is then closed without an answer. The wait starts again after every response, so this is
    /// also how long an idle keep-alive connection stays open.
    #[arg(long, env = "TICKETING_HEADER_READ_TIMEOUT_MS", default_value_t = ConnectionArgs::DEFAULT.header_read_timeout_ms)]
    pub header_read_timeout_ms: u64,
    /// Milliseconds the requests in flight have to finish after SIGTERM before their connections are closed.
    #[arg(long, env = "TICKETING_DRAIN_TIMEOUT_MS", default_value_t = ConnectionArgs::DEFAULT.drain_timeout_ms)]
    pub drain_timeout_ms: u64,
}

impl ConnectionArgs {
    /// The defaults of the flags.
    pub const DEFAULT: Self =
        Self { max_header_bytes: 16 * 1024, header_read_timeout_ms: 10_000, drain_timeout_ms: 20_000 };
}

impl Default for ConnectionArgs {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Arguments of `token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The user id (the `sub` claim).
    #[arg(long)]
    pub sub: String,
    /// Mint an admin token.
    #[arg(long)]
    pub admin: bool,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 86_400)]
    pub ttl_secs: i64,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_limits_have_flags_and_defaults() {
        let defaults = Cli::try_parse_from(["ticketing-service"]).unwrap().serve.connection;
        assert_eq!(
            (defaults.max_header_bytes, defaults.header_read_timeout_ms, defaults.drain_timeout_ms),
            (16 * 1024, 10_000, 20_000)
        );
        let flags = [
            "ticketing-service",
            "serve",
            "--max-header-bytes",
            "8192",
            "--header-read-timeout-ms",
            "300",
            "--drain-timeout-ms",
            "5",
        ];
        let Some(Command::Serve(args)) = Cli::try_parse_from(flags).unwrap().command else { panic!("not serve") };
        assert_eq!(
            (
                args.connection.max_header_bytes,
                args.connection.header_read_timeout_ms,
                args.connection.drain_timeout_ms
            ),
            (8192, 300, 5)
        );
    }
}
