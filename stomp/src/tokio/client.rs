//! A STOMP client over a tokio WebSocket (Spring's `WebSocketStompClient`): a
//! [`ClientSession`] driven by rfc6455's adapter.

#[allow(unused_imports)]
use std::{borrow::ToOwned, boxed::Box, format, string::String, string::ToString, vec, vec::Vec};

use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rfc6455::Message;
use rfc6455::handshake::ClientRequest;
use rfc6455::io::tokio::{MaybeTlsStream, WebSocket};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, sleep_until};

use super::SUBPROTOCOLS;
use super::session::ws_message;
use crate::client::{ClientConfig, ClientEvent, ClientSession};
use crate::error::{ProtocolError, UsageError};
use crate::frame::Frame;
use crate::server::AckMode;

/// Why a [`Client`] call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The WebSocket failed.
    WebSocket(rfc6455::io::Error),
    /// The request is not allowed in the session's state.
    Usage(UsageError),
    /// The server broke STOMP.
    Protocol(ProtocolError),
    /// The server sent an ERROR frame (and closes the connection).
    Error(Box<Frame>),
    /// The session or the connection is closed.
    Closed,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::WebSocket(e) => write!(f, "WebSocket: {e}"),
            ClientError::Usage(e) => write!(f, "{e}"),
            ClientError::Protocol(e) => write!(f, "server broke STOMP: {e}"),
            ClientError::Error(frame) => write!(
                f,
                "ERROR from the server: {}",
                frame.header("message").unwrap_or_default()
            ),
            ClientError::Closed => f.write_str("closed"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<UsageError> for ClientError {
    fn from(e: UsageError) -> ClientError {
        ClientError::Usage(e)
    }
}

impl From<rfc6455::io::Error> for ClientError {
    fn from(e: rfc6455::io::Error) -> ClientError {
        ClientError::WebSocket(e)
    }
}

/// A STOMP session over a WebSocket: requests are written as they are made; events are
/// read with [`next_event`](Client::next_event), which also answers heart-beats.
///
/// ```no_run
/// use rfc6455_stomp::{AckMode, ClientConfig, ClientEvent};
/// use rfc6455_stomp::tokio::Client;
///
/// # async fn run() -> Result<(), rfc6455_stomp::tokio::ClientError> {
/// let mut client = Client::connect("ws://127.0.0.1:8080/ws", ClientConfig::new("localhost")).await?;
/// client.subscribe("/topic/echo", AckMode::Auto).await?;
/// client.send("/app/echo", &[], "hello".into()).await?;
/// if let ClientEvent::Message(m) = client.next_event().await? {
///     assert_eq!(&m.body()[..], b"hello");
/// }
/// client.disconnect().await
/// # }
/// ```
#[derive(Debug)]
pub struct Client<S = MaybeTlsStream> {
    ws: WebSocket<S>,
    session: ClientSession,
    epoch: Instant,
    connected: Option<Frame>,
}

impl Client<MaybeTlsStream> {
    /// Opens a WebSocket to `url` offering STOMP's subprotocols, then CONNECTs.
    ///
    /// # Errors
    ///
    /// The WebSocket could not be opened, or the server refused the CONNECT
    /// ([`ClientError::Error`]).
    pub async fn connect(url: &str, config: ClientConfig) -> Result<Client, ClientError> {
        let request = ClientRequest::from_url(url)
            .map_err(|e| ClientError::WebSocket(e.into()))?
            .protocols(SUBPROTOCOLS);
        let max = (config.limits.max_body_size + config.limits.max_head_size + 1024) as u64;
        let ws_config = rfc6455::Config::default()
            .max_message_size(max)
            .max_frame_size(max);
        let (ws, _) = rfc6455::io::tokio::connect_with(&request, ws_config).await?;
        Client::handshake(ws, config).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// CONNECTs over a WebSocket that is already open.
    ///
    /// # Errors
    ///
    /// As [`connect`](Client::connect).
    pub async fn handshake(
        ws: WebSocket<S>,
        config: ClientConfig,
    ) -> Result<Client<S>, ClientError> {
        let session = ClientSession::new(config)?;
        let mut client = Client {
            ws,
            session,
            epoch: Instant::now(),
            connected: None,
        };
        match client.next_event().await? {
            ClientEvent::Connected { frame, .. } => {
                client.connected = Some(frame);
                Ok(client)
            }
            ClientEvent::Error(frame) => Err(ClientError::Error(Box::new(frame))),
            _ => Err(ClientError::Closed),
        }
    }

    /// The server's CONNECTED frame.
    pub fn connected_frame(&self) -> Option<&Frame> {
        self.connected.as_ref()
    }

    /// The session, for requests not wrapped here (`begin`, `commit`, `nack`, ...);
    /// call [`flush`](Client::flush) after them.
    pub fn session(&mut self) -> &mut ClientSession {
        &mut self.session
    }

    /// The WebSocket.
    pub fn websocket(&mut self) -> &mut WebSocket<S> {
        &mut self.ws
    }

    /// Writes what the session queued.
    ///
    /// # Errors
    ///
    /// The WebSocket failed.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        let mut wrote = false;
        loop {
            let mut out = BytesMut::new();
            if self.session.poll_transmit(&mut out) == 0 {
                break;
            }
            self.ws.feed(ws_message(out.freeze())).await?;
            wrote = true;
        }
        if wrote {
            self.ws.flush().await?;
        }
        Ok(())
    }

    /// Subscribes; returns the subscription id.
    ///
    /// # Errors
    ///
    /// See [`ClientError`].
    pub async fn subscribe(
        &mut self,
        destination: &str,
        ack: AckMode,
    ) -> Result<String, ClientError> {
        let id = self.session.subscribe(destination, ack, &[])?;
        self.flush().await?;
        Ok(id)
    }

    /// Sends `body` to `destination`.
    ///
    /// # Errors
    ///
    /// See [`ClientError`].
    pub async fn send(
        &mut self,
        destination: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(), ClientError> {
        self.session.send(destination, headers, body)?;
        self.flush().await
    }

    /// Acknowledges `message`.
    ///
    /// # Errors
    ///
    /// See [`ClientError`].
    pub async fn ack(&mut self, message: &Frame) -> Result<(), ClientError> {
        self.session.ack(message, None)?;
        self.flush().await
    }

    /// The next event from the server, answering heart-beats while waiting.
    ///
    /// # Errors
    ///
    /// [`ClientError::Closed`] once the session ended and its last event was taken; the
    /// WebSocket's and the protocol's errors.
    pub async fn next_event(&mut self) -> Result<ClientEvent, ClientError> {
        loop {
            if let Some(event) = self.session.poll_event() {
                return Ok(event);
            }
            self.flush().await?;
            if self.session.is_closed() {
                return Err(ClientError::Closed);
            }
            let deadline = self.session.poll_timeout().map_or_else(
                || Instant::now() + Duration::from_secs(3600),
                |d| self.epoch + d,
            );
            tokio::select! {
                m = self.ws.recv() => match m? {
                    Some(Message::Text(text)) => self.receive(text.as_bytes())?,
                    Some(Message::Binary(bytes)) => self.receive(&bytes)?,
                    Some(_) => {}
                    None => {
                        self.session.handle_transport_closed();
                        if let Some(event) = self.session.poll_event() {
                            return Ok(event);
                        }
                        return Err(ClientError::Closed);
                    }
                },
                () = sleep_until(deadline) => {
                    let _ = self.session.handle_timeout(self.epoch.elapsed());
                }
            }
        }
    }

    fn receive(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.session.receive(bytes).map_err(ClientError::Protocol)?;
        let _ = self.session.handle_timeout(self.epoch.elapsed());
        Ok(())
    }

    /// DISCONNECTs gracefully (waits for the RECEIPT), then closes the WebSocket.
    ///
    /// # Errors
    ///
    /// See [`ClientError`].
    pub async fn disconnect(mut self) -> Result<(), ClientError> {
        self.session.disconnect()?;
        loop {
            match self.next_event().await? {
                ClientEvent::Disconnected => break,
                ClientEvent::Error(frame) => return Err(ClientError::Error(Box::new(frame))),
                _ => {}
            }
        }
        let _ = self.ws.close(rfc6455::CloseCode::NORMAL, "").await;
        Ok(())
    }
}
