//! A TCP proxy between the service and MariaDB that stops one connection at a chosen statement.
//!
//! Every connection of the app's pool goes through the proxy unchanged until a [`Trap`] springs: the first
//! connection on which the service sends a script containing the trap's text has the database's answers from then on
//! held back, so the script runs (and commits) in the database while the service waits. The test then releases the
//! answers (a commit answered late) or cuts the connection (a commit whose answer was lost). Only that connection is
//! affected; the others keep working, as in a network fault on one socket. The proxy can also delay every answer of
//! every connection ([`FaultProxy::set_latency`]), as a slow network or a slow database would.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// What happens to the answers held on a trapped connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Hold,
    Release,
    Cut,
}

/// A trap set but not yet sprung.
struct Armed {
    pattern: Vec<u8>,
    control: watch::Receiver<Action>,
    sprung: oneshot::Sender<()>,
}

/// The proxy, listening on a port of its own until dropped.
pub struct FaultProxy {
    url: String,
    armed: Arc<Mutex<Option<Armed>>>,
    latency: watch::Sender<Duration>,
    task: tokio::task::JoinHandle<()>,
}

/// The test's handle on one trap.
pub struct Trap {
    control: watch::Sender<Action>,
    sprung: Option<oneshot::Receiver<()>>,
}

impl FaultProxy {
    /// A proxy in front of the server of `database_url` (`mysql://user:password@host:port/database`).
    pub async fn in_front_of(database_url: &str) -> Self {
        let at = database_url.find('@').expect("the database URL names a user") + 1;
        let end = database_url[at..].find('/').map_or(database_url.len(), |slash| at + slash);
        let upstream = database_url[at..end].to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let address = listener.local_addr().unwrap();
        let url = format!("{}{address}{}", &database_url[..at], &database_url[end..]);
        let armed: Arc<Mutex<Option<Armed>>> = Arc::default();
        let (latency, delay) = watch::channel(Duration::ZERO);
        let shared = armed.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream.clone(), shared.clone(), delay.clone()));
            }
        });
        Self { url, armed, latency, task }
    }

    /// Delays every answer of the database by `latency` from now on.
    pub fn set_latency(&self, latency: Duration) {
        let _ = self.latency.send(latency);
    }

    /// The database URL that goes through the proxy.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sets a trap for the next script that contains `pattern`.
    pub fn trap(&self, pattern: &str) -> Trap {
        let (control, watched) = watch::channel(Action::Hold);
        let (sprung_tx, sprung) = oneshot::channel();
        let armed = Armed { pattern: pattern.as_bytes().to_vec(), control: watched, sprung: sprung_tx };
        *self.armed.lock().unwrap() = Some(armed);
        Trap { control, sprung: Some(sprung) }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Trap {
    /// Waits until a connection sent the trap's text (the script is then on its way to the database).
    pub async fn sprung(&mut self) {
        let sprung = self.sprung.take().expect("sprung() is awaited once");
        tokio::time::timeout(Duration::from_secs(30), sprung)
            .await
            .expect("the service never sent the trapped statement")
            .expect("the proxy dropped the trap");
    }

    /// Lets the held answers through.
    pub fn release(&self) {
        let _ = self.control.send(Action::Release);
    }

    /// Closes the trapped connection without passing on the held answers.
    pub fn cut(&self) {
        let _ = self.control.send(Action::Cut);
    }
}

/// Relays one connection until either side closes it or its trap cuts it.
async fn relay(
    client: TcpStream,
    upstream: String,
    armed: Arc<Mutex<Option<Armed>>>,
    delay: watch::Receiver<Duration>,
) {
    let Ok(server) = TcpStream::connect(&upstream).await else { return };
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let (trapped, mut trap) = watch::channel::<Option<watch::Receiver<Action>>>(None);
    let upward = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        let mut window: Vec<u8> = Vec::new();
        loop {
            let read = from_client.read(&mut buffer).await.unwrap_or(0);
            if read == 0 {
                return;
            }
            if trapped.borrow().is_none() {
                window.extend_from_slice(&buffer[..read]);
                let mut slot = armed.lock().unwrap();
                if let Some(pattern) = slot.as_ref().map(|a| a.pattern.clone()) {
                    if window.windows(pattern.len()).any(|w| w == pattern.as_slice()) {
                        let taken = slot.take().expect("checked");
                        // Held from before the script reaches the database, so every answer to it is held.
                        let _ = trapped.send(Some(taken.control));
                        let _ = taken.sprung.send(());
                    } else {
                        let keep = window.len().saturating_sub(pattern.len());
                        window.drain(..keep);
                    }
                } else {
                    window.clear();
                }
            }
            if to_server.write_all(&buffer[..read]).await.is_err() {
                return;
            }
        }
    };
    let downward = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = from_server.read(&mut buffer).await.unwrap_or(0);
            if read == 0 {
                return;
            }
            let control = trap.borrow_and_update().clone();
            if let Some(mut control) = control {
                // A trap dropped while holding counts as a cut.
                let action = control.wait_for(|action| *action != Action::Hold).await.map_or(Action::Cut, |a| *a);
                if action == Action::Cut {
                    return;
                }
            }
            let latency = *delay.borrow();
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            if to_client.write_all(&buffer[..read]).await.is_err() {
                return;
            }
        }
    };
    // When either direction ends, both sockets are dropped: the client sees its connection closed.
    tokio::select! {
        () = upward => {}
        () = downward => {}
    }
}
