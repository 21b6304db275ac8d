//! A client and a server wired together in memory, for testing protocol logic without
//! sockets.
//!
//! ```
//! use rfc6455::testing::Pair;
//! use rfc6455::{CloseCode, Message};
//!
//! let mut pair = Pair::connect_default().unwrap();
//! pair.client.send(&Message::text("hello"))?;
//! pair.drive();
//! assert_eq!(pair.server.recv(), Some(Message::text("hello")));
//!
//! pair.server.close(CloseCode::NORMAL, "bye")?;
//! pair.drive();
//! assert_eq!(
//!     pair.client.recv(),
//!     Some(Message::close(CloseCode::NORMAL, "bye"))
//! );
//! assert!(pair.client.conn.is_closed_cleanly() && pair.server.conn.is_closed_cleanly());
//! assert!(pair.client.transport_closed() && pair.server.transport_closed());
//! # Ok::<(), rfc6455::UsageError>(())
//! ```
//!
//! Everything is deterministic: client mask keys and the handshake nonce come from a fixed
//! seed, so a conversation replays byte for byte.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::close::CloseCode;
use crate::config::Config;
use crate::connection::{Connection, Role};
use crate::error::{ProtocolError, UsageError};
use crate::frame::Status;
use crate::handshake::{
    ClientHandshake, ClientRequest, HandshakeError, HandshakeResponse, ServerConfig,
    ServerHandshake,
};
use crate::message::{Message, MessageAssembler};

/// Deterministic mask keys (xorshift32) for reproducible tests. Not for production: RFC
/// 6455 §5.3 requires unpredictable keys.
#[derive(Clone, Debug)]
pub struct SeededMasks(u32);

impl SeededMasks {
    /// Keys derived from `seed` (0 is replaced by a fixed non-zero seed).
    pub fn new(seed: u32) -> SeededMasks {
        SeededMasks(if seed == 0 { 0x9E37_79B9 } else { seed })
    }
}

impl crate::connection::MaskSource for SeededMasks {
    fn next_key(&mut self) -> [u8; 4] {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x.to_le_bytes()
    }
}

/// One side of a [`Pair`]: a connection with its in-memory wire.
#[derive(Debug)]
pub struct Endpoint {
    /// The connection, for direct inspection and calls.
    pub conn: Connection,
    /// Bytes written by this side, not yet delivered to the peer.
    outbox: Vec<u8>,
    /// Bytes delivered from the peer, not yet consumed by `conn`.
    inbox: Vec<u8>,
    assembler: MessageAssembler,
    messages: VecDeque<Message>,
    error: Option<ProtocolError>,
    transport_closed: bool,
    /// Inflated data of compressed messages (permessage-deflate).
    inflated: Vec<u8>,
}

impl Endpoint {
    fn new(conn: Connection) -> Endpoint {
        Endpoint {
            conn,
            inflated: Vec::new(),
            outbox: Vec::new(),
            inbox: Vec::new(),
            assembler: MessageAssembler::new(),
            messages: VecDeque::new(),
            error: None,
            transport_closed: false,
        }
    }

    /// Sends a message of any kind (a `Close` starts or answers the closing handshake).
    pub fn send(&mut self, message: &Message) -> Result<(), UsageError> {
        let out = &mut self.outbox;
        match message {
            Message::Text(t) => self.conn.send_text(t, out),
            Message::Binary(b) => self.conn.send_binary(b, out),
            Message::Ping(p) => self.conn.send_ping(p, out),
            Message::Pong(p) => self.conn.send_pong(p, out),
            Message::Close(Some(frame)) => self.conn.close(frame.code, &frame.reason, out),
            Message::Close(None) => self.conn.close(CloseCode::NO_STATUS_RECEIVED, "", out),
        }
    }

    /// Starts the closing handshake.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), UsageError> {
        self.conn.close(code, reason, &mut self.outbox)
    }

    /// Appends raw bytes to this side's outgoing wire, e.g. a hand-made invalid frame.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.outbox.extend_from_slice(bytes);
    }

    /// The next message received (including pings, pongs and the peer's Close).
    pub fn recv(&mut self) -> Option<Message> {
        self.messages.pop_front()
    }

    /// All messages received so far.
    pub fn drain(&mut self) -> Vec<Message> {
        self.messages.drain(..).collect()
    }

    /// The protocol error this side detected in the peer's bytes, if any.
    pub fn error(&self) -> Option<&ProtocolError> {
        self.error.as_ref()
    }

    /// Whether this side has closed its transport (and the peer saw end of input).
    pub fn transport_closed(&self) -> bool {
        self.transport_closed
    }

    /// Feeds delivered bytes to the connection.
    fn process(&mut self) {
        let mut pos = 0;
        while pos < self.inbox.len() && self.error.is_none() {
            match self
                .conn
                .receive_into(&mut self.inbox[pos..], &mut self.inflated)
            {
                Ok(received) => {
                    pos += received.consumed;
                    match received.event {
                        Some(event) => {
                            if let Some(message) = self.assembler.push(event) {
                                self.messages.push_back(message);
                            }
                            self.inflated.clear();
                        }
                        None => break,
                    }
                }
                Err(e) => self.error = Some(e),
            }
        }
        self.inbox.drain(..pos);
    }
}

/// A client and a server [`Connection`] connected by an in-memory wire.
#[derive(Debug)]
pub struct Pair {
    /// The client side.
    pub client: Endpoint,
    /// The server side.
    pub server: Endpoint,
}

impl Pair {
    /// Connections in the open state, without an HTTP handshake.
    pub fn new(client: Config, server: Config) -> Pair {
        Pair {
            client: Endpoint::new(Connection::with_mask_source(
                Role::Client,
                client,
                SeededMasks::new(1),
            )),
            server: Endpoint::new(Connection::with_mask_source(
                Role::Server,
                server,
                SeededMasks::new(0),
            )),
        }
    }

    /// Runs the HTTP handshake in memory, then returns the connected pair and what the
    /// client learned from the response.
    pub fn connect(
        request: &ClientRequest,
        client: Config,
        server_policy: &ServerConfig,
        server: Config,
    ) -> Result<(Pair, HandshakeResponse), HandshakeError> {
        let mut to_server = Vec::new();
        let mut client_hs = ClientHandshake::new(request, *b"rfc6455 testing!", &mut to_server)
            .map_err(HandshakeError::Usage)?;
        let mut server_hs = ServerHandshake::new(server_policy);
        if server_hs.receive(&to_server)? == Status::Partial {
            return Err(HandshakeError::Malformed("incomplete request"));
        }
        let mut to_client = Vec::new();
        let server_request = server_hs
            .request()
            .ok_or(HandshakeError::Malformed("no request"))?;
        let accepted = server_policy.accept(&server_request, &mut to_client);
        let response = client_hs.receive(&to_client);
        let accepted = accepted?;
        let Status::Complete(response) = response? else {
            return Err(HandshakeError::Malformed("incomplete response"));
        };
        // The hand-off a real endpoint makes: deflate and subprotocol applied for us.
        let (server_conn, _) = accepted.into_connection(server);
        let (client_conn, _) = response
            .clone()
            .into_connection_with_masks(client, SeededMasks::new(1));
        let pair = Pair {
            client: Endpoint::new(client_conn),
            server: Endpoint::new(server_conn),
        };
        Ok((pair, response))
    }

    /// [`Pair::connect`] with default configurations.
    pub fn connect_default() -> Result<Pair, HandshakeError> {
        let request = ClientRequest::new("localhost", "/");
        Pair::connect(
            &request,
            Config::default(),
            &ServerConfig::default(),
            Config::default(),
        )
        .map(|(pair, _)| pair)
    }

    /// Delivers what the client has written to the server, once, without letting the
    /// server answer. Returns the number of bytes moved.
    pub fn client_to_server(&mut self) -> usize {
        transfer(&mut self.client, &mut self.server)
    }

    /// Delivers what the server has written to the client, once.
    pub fn server_to_client(&mut self) -> usize {
        transfer(&mut self.server, &mut self.client)
    }

    /// Moves bytes both ways until nothing more happens: each side transmits what its
    /// connection queued, the other side receives and assembles messages, and a side that
    /// should close its transport does so (the peer then sees end of input). Returns the
    /// number of bytes moved.
    pub fn drive(&mut self) -> usize {
        let mut total = 0;
        loop {
            let moved = transfer(&mut self.client, &mut self.server)
                + transfer(&mut self.server, &mut self.client);
            if moved == 0 {
                return total;
            }
            total += moved;
        }
    }
}

/// Delivers `from`'s output to `to`, returning bytes moved (plus one for a transport close).
fn transfer(from: &mut Endpoint, to: &mut Endpoint) -> usize {
    if from.transport_closed {
        return 0;
    }
    from.conn.poll_transmit(&mut from.outbox);
    let n = from.outbox.len();
    to.inbox.append(&mut from.outbox);
    to.process();
    if from.conn.poll_close_transport() {
        from.transport_closed = true;
        to.process();
        to.conn.receive_eof();
        return n + 1;
    }
    n
}
