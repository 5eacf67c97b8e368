//! The ceiling: a trivial axum JSON handler served on loopback from its own runtime and thread, measured with the
//! same client settings as every scenario, so each result can be read as a fraction of what this machine's HTTP
//! stack does with no work behind it.

use std::thread::JoinHandle;

use anyhow::Context;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// The path the ceiling serves.
pub const PATH: &str = "/ceiling";

/// A running ceiling server; dropping it stops the server and joins its thread.
pub struct CeilingServer {
    pub url: String,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

async fn trivial() -> Json<Value> {
    Json(json!({"success": true, "message": null, "data": {"status": "UP"}}))
}

/// Starts the ceiling server on `127.0.0.1` with a port chosen by the kernel.
pub fn start() -> anyhow::Result<CeilingServer> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding the ceiling server")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}", listener.local_addr()?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("ceiling")
        .build()
        .context("building the ceiling runtime")?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new().name("ceiling".into()).spawn(move || {
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener from a bound socket");
            let app = Router::new().route(PATH, get(trivial));
            // Stopping drops the runtime with any open connections; nothing is left to finish gracefully.
            tokio::select! {
                served = axum::serve(listener, app) => {
                    if let Err(error) = served {
                        eprintln!("ceiling server failed: {error}");
                    }
                }
                _ = stopped => {}
            }
        });
    })?;
    Ok(CeilingServer { url, shutdown: Some(shutdown), thread: Some(thread) })
}

impl Drop for CeilingServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
