//! The relay on tokio: the system connection (one task driving a [`SystemConnection`] over
//! TCP, taking the application's publishes from a channel), and opening a session's own
//! broker connection.

#[allow(unused_imports)]
use std::{borrow::ToOwned, boxed::Box, format, string::String, string::ToString, vec, vec::Vec};

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until, timeout};

use super::Shared;
use super::{Events, PublishError};
use crate::app::StompEvent;
use crate::frame::Frame;
use crate::relay::{RelayConfig, RelayEvent, RelaySession, SystemConnection, SystemEvent};

/// A message for the system connection, and where to report the broker's verdict.
pub(crate) struct Publish {
    pub(crate) message: Frame,
    pub(crate) done: oneshot::Sender<Result<(), PublishError>>,
}

/// Starts the system connection's task; it ends when every sender is dropped.
pub(crate) fn spawn_system(
    address: String,
    config: RelayConfig,
    available: Arc<AtomicBool>,
    events: Arc<Events>,
) -> mpsc::Sender<Publish> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(system(address, config, available, events, rx));
    tx
}

async fn system(
    address: String,
    config: RelayConfig,
    available: Arc<AtomicBool>,
    events: Arc<Events>,
    mut publishes: mpsc::Receiver<Publish>,
) {
    let epoch = Instant::now();
    let connect_timeout = config.connect_timeout;
    let mut sys = SystemConnection::new(config);
    let mut stream: Option<TcpStream> = None;
    let mut buf = BytesMut::with_capacity(8192);
    let mut waiting: HashMap<u64, oneshot::Sender<Result<(), PublishError>>> = HashMap::new();
    let mut next_token = 0u64;
    loop {
        sys.handle_timeout(epoch.elapsed());
        while let Some(event) = sys.poll_event() {
            match event {
                SystemEvent::OpenTransport => {
                    match timeout(connect_timeout, TcpStream::connect(&address)).await {
                        Ok(Ok(s)) => {
                            let _ = s.set_nodelay(true);
                            stream = Some(s);
                            sys.handle_transport_open();
                        }
                        _ => sys.handle_transport_closed(),
                    }
                }
                SystemEvent::Available => {
                    available.store(true, Relaxed);
                    events.emit(&StompEvent::BrokerAvailable(true));
                }
                SystemEvent::Unavailable(_) => {
                    if available.swap(false, Relaxed) {
                        events.emit(&StompEvent::BrokerAvailable(false));
                    }
                }
                SystemEvent::Confirmed(token) => {
                    if let Some(done) = waiting.remove(&token) {
                        let _ = done.send(Ok(()));
                    }
                }
                SystemEvent::Failed(token) => {
                    if let Some(done) = waiting.remove(&token) {
                        let _ = done.send(Err(PublishError::Unavailable));
                    }
                }
            }
        }
        if sys.poll_close_transport() {
            stream = None;
            buf.clear();
        }
        if let Some(s) = &mut stream {
            let mut out = Vec::new();
            while sys.poll_transmit(&mut out) > 0 {}
            if !out.is_empty() && s.write_all(&out).await.is_err() {
                sys.handle_transport_closed();
                continue;
            }
        }
        let deadline = sys
            .poll_timeout()
            .map_or_else(|| Instant::now() + Duration::from_secs(3600), |d| epoch + d);
        let read = async {
            match &mut stream {
                Some(s) => s.read_buf(&mut buf).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = read => match r {
                Ok(n) if n > 0 => {
                    sys.receive(&buf);
                    buf.clear();
                }
                _ => sys.handle_transport_closed(),
            },
            p = publishes.recv() => {
                let Some(Publish { message, done }) = p else {
                    // The server is gone.
                    return;
                };
                let token = next_token;
                next_token += 1;
                match sys.publish(token, &message) {
                    Ok(()) => {
                        waiting.insert(token, done);
                    }
                    Err(e) => {
                        let _ = done.send(Err(e.into()));
                    }
                }
            }
            () = sleep_until(deadline) => {}
        }
    }
}

/// The session's connection to the external broker.
pub(crate) struct RelayConn {
    pub(crate) session: RelaySession,
    pub(crate) stream: TcpStream,
    pub(crate) buf: BytesMut,
}

/// Opens this session's connection to the external broker and waits for its CONNECTED
/// (within the relay's connect timeout).
pub(crate) async fn open_relay(
    shared: &Shared,
    address: &str,
    config: &crate::relay::RelayConfig,
) -> Result<RelayConn, String> {
    let session = RelaySession::new(config, shared.now()).map_err(|e| e.to_string())?;
    let stream = match timeout(config.connect_timeout, TcpStream::connect(address)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Err(format!("broker unavailable: {e}")),
        Err(_) => return Err("broker unavailable: connect timed out".into()),
    };
    let _ = stream.set_nodelay(true);
    shared.stats.relay_connections.fetch_add(1, Relaxed);
    let mut conn = RelayConn {
        session,
        stream,
        buf: BytesMut::with_capacity(8192),
    };
    loop {
        let mut out = Vec::new();
        while conn.session.poll_transmit(&mut out) > 0 {}
        if !out.is_empty() && conn.stream.write_all(&out).await.is_err() {
            conn.session.handle_transport_closed();
        }
        while let Some(event) = conn.session.poll_event() {
            match event {
                RelayEvent::Connected => return Ok(conn),
                RelayEvent::Lost(message) => return Err(message),
                _ => {}
            }
        }
        if conn.session.poll_close_transport() {
            return Err("broker unavailable".into());
        }
        let deadline = conn.session.poll_timeout().map_or_else(
            || Instant::now() + config.connect_timeout,
            |d| Instant::from_std(shared.epoch) + d,
        );
        tokio::select! {
            r = conn.stream.read_buf(&mut conn.buf) => match r {
                Ok(n) if n > 0 => {
                    conn.session.receive(&conn.buf);
                    conn.buf.clear();
                }
                _ => conn.session.handle_transport_closed(),
            },
            () = sleep_until(deadline) => conn.session.handle_timeout(shared.now()),
        }
    }
}
