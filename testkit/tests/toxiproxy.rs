//! Pins down what the fault campaign relies on from the toxiproxy harness: a proxy forwards both ways, a downstream
//! `reset_peer` cuts a connection after what the client sent reached the server (and drops the answer), latency
//! delays answers, `limit_data` closes a connection after its bytes, removing toxics heals new connections, and a
//! disabled proxy refuses connections.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use ticketing_testkit::toxiproxy::{Stream, Toxic, Toxiproxy};

/// An echo server that also reports every piece of data it received.
async fn echo_server() -> (String, mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (seen, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buffer = [0u8; 1024];
                while let Ok(read) = socket.read(&mut buffer).await {
                    if read == 0 {
                        return;
                    }
                    let _ = seen.send(buffer[..read].to_vec());
                    if socket.write_all(&buffer[..read]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (address, received)
}

/// Sends `data` and reads as many bytes back; `None` when the connection broke first.
async fn round_trip(stream: &mut TcpStream, data: &[u8]) -> Option<Vec<u8>> {
    stream.write_all(data).await.ok()?;
    let mut answer = vec![0u8; data.len()];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut answer)).await.ok()?.ok()?;
    Some(answer)
}

#[tokio::test]
async fn toxics_cut_delay_and_heal_connections() {
    let (upstream, mut received) = echo_server().await;
    let toxiproxy = Toxiproxy::start(None).await.expect("start toxiproxy-server (scripts/toxiproxy.sh build)");
    let proxy = toxiproxy.proxy("echo", &upstream).await.unwrap();

    let mut stream = TcpStream::connect(proxy.listen()).await.unwrap();
    assert_eq!(round_trip(&mut stream, b"hello").await.as_deref(), Some(&b"hello"[..]));
    assert_eq!(received.recv().await.as_deref(), Some(&b"hello"[..]));

    // Cut after the request reached the server: the server sees it, the client never gets the answer.
    proxy.add("cut", Stream::Downstream, Toxic::ResetPeer { timeout_ms: 0 }).await.unwrap();
    assert_eq!(proxy.toxics().await.unwrap(), vec!["cut".to_owned()]);
    assert_eq!(round_trip(&mut stream, b"commit").await, None);
    assert_eq!(received.recv().await.as_deref(), Some(&b"commit"[..]));
    proxy.remove("cut").await.unwrap();

    let mut stream = TcpStream::connect(proxy.listen()).await.unwrap();
    proxy.add("slow", Stream::Downstream, Toxic::Latency { latency_ms: 300, jitter_ms: 0 }).await.unwrap();
    let started = Instant::now();
    assert_eq!(round_trip(&mut stream, b"slow").await.as_deref(), Some(&b"slow"[..]));
    assert!(started.elapsed() >= Duration::from_millis(300), "answered after {:?}", started.elapsed());
    received.recv().await;
    proxy.remove("slow").await.unwrap();

    proxy.add("limit", Stream::Upstream, Toxic::LimitData { bytes: 4 }).await.unwrap();
    let mut stream = TcpStream::connect(proxy.listen()).await.unwrap();
    assert_eq!(round_trip(&mut stream, b"0123456789").await, None);
    assert_eq!(received.recv().await.as_deref(), Some(&b"0123"[..]));

    toxiproxy.reset().await.unwrap();
    assert!(proxy.toxics().await.unwrap().is_empty());
    let mut stream = TcpStream::connect(proxy.listen()).await.unwrap();
    assert_eq!(round_trip(&mut stream, b"again").await.as_deref(), Some(&b"again"[..]));

    proxy.set_enabled(false).await.unwrap();
    assert!(TcpStream::connect(proxy.listen()).await.is_err(), "a disabled proxy refuses connections");
    proxy.set_enabled(true).await.unwrap();
    let mut stream = TcpStream::connect(proxy.listen()).await.unwrap();
    assert_eq!(round_trip(&mut stream, b"back").await.as_deref(), Some(&b"back"[..]));
}
