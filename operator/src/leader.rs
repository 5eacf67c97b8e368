//! Leader election through a `coordination.k8s.io` Lease (kube-lease-manager): only the holder runs the
//! controller; a standby waits; losing the lease stops the controller; shutdown releases the lease so a standby
//! takes over at once.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::{oneshot, watch};

use crate::error::Error;
use crate::http::Health;

/// Which Lease to hold and as whom.
#[derive(Clone, Debug)]
pub struct LeaseSettings {
    /// The Lease's name.
    pub name: String,
    /// The Lease's namespace.
    pub namespace: String,
    /// This instance's identity (the pod name).
    pub identity: String,
    /// Seconds a holder keeps the lease without renewing it.
    pub duration_secs: u64,
}

/// Runs `work` whenever this instance holds the lease, until `shutdown` becomes true. `work` gets a signal that
/// fires when the lease is lost or shutdown starts, and must return soon after. `health` learns whether the lease manager runs
/// and whether this instance leads.
pub async fn lead<F, Fut>(
    client: Client,
    settings: &LeaseSettings,
    mut shutdown: watch::Receiver<bool>,
    health: Arc<Health>,
    mut work: F,
) -> Result<(), Error>
where
    F: FnMut(oneshot::Receiver<()>) -> Fut,
    Fut: Future<Output = ()>,
{
    let manager = LeaseManagerBuilder::new(client, &settings.name)
        .with_namespace(&settings.namespace)
        .with_identity(&settings.identity)
        .with_duration(settings.duration_secs)
        .with_grace(settings.duration_secs.div_ceil(3).max(1))
        .build()
        .await?;
    let (mut leading, task) = manager.watch().await;
    health.lease_running.store(true, Ordering::SeqCst);
    tracing::info!(lease = %settings.name, identity = %settings.identity, "standing by for the lease");
    loop {
        tokio::select! {
            acquired = leading.wait_for(|leading| *leading) => if acquired.is_err() { break },
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
        tracing::info!(lease = %settings.name, identity = %settings.identity, "holding the lease; controller starts");
        health.leading.store(true, Ordering::SeqCst);
        let (stop_tx, stop_rx) = oneshot::channel();
        let running = work(stop_rx);
        tokio::pin!(running);
        tokio::select! {
            () = &mut running => {}
            _ = async {
                tokio::select! {
                    _ = leading.wait_for(|leading| !*leading) => {},
                    _ = shutdown.wait_for(|stop| *stop) => {},
                }
            } => {
                let _ = stop_tx.send(());
                running.await;
            }
        }
        health.leading.store(false, Ordering::SeqCst);
        if *shutdown.borrow() {
            break;
        }
        tracing::warn!(lease = %settings.name, "lost the lease; standing by");
    }
    // Closing the channel makes the lease manager release the lease and return.
    health.lease_running.store(false, Ordering::SeqCst);
    drop(leading);
    task.await.map_err(|e| Error::Startup(format!("lease task panicked: {e}")))??;
    tracing::info!(lease = %settings.name, "lease released");
    Ok(())
}
