//! A client session and a server session wired together in memory, for testing
//! application logic (and this crate) without sockets.
//!
//! ```
//! use rfc6455_stomp::server::{AckMode, ServerEvent};
//! use rfc6455_stomp::testing::Pair;
//! use rfc6455_stomp::{ClientEvent, Frame, Command};
//!
//! let mut pair = Pair::connected(); // CONNECT, accepted, CONNECTED
//! let sub = pair.client.subscribe("/topic/a", AckMode::Auto, &[])?;
//! pair.drive();
//! assert!(matches!(pair.server_events.pop_front(), Some(ServerEvent::Subscribe { .. })));
//!
//! let message = Frame::new(Command::Send).with_header("destination", "/topic/a").with_body("hi");
//! pair.server.send_message(&sub, &message)?;
//! pair.drive();
//! let Some(ClientEvent::Message(m)) = pair.client_events.pop_front() else { panic!() };
//! assert_eq!(&m.body()[..], b"hi");
//! # Ok::<(), rfc6455_stomp::UsageError>(())
//! ```

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

use crate::client::{ClientConfig, ClientEvent, ClientSession};
use crate::error::ProtocolError;
use crate::server::{ServerConfig, ServerEvent, ServerSession};

/// A client and a server session and the messages between them.
#[derive(Debug)]
pub struct Pair {
    /// The client side.
    pub client: ClientSession,
    /// The server side.
    pub server: ServerSession,
    /// The time both sides were last given.
    pub now: Duration,
    /// Events the server reported, oldest first.
    pub server_events: VecDeque<ServerEvent>,
    /// Events the client reported, oldest first.
    pub client_events: VecDeque<ClientEvent>,
    /// Every WebSocket message the client sent, in order.
    pub to_server: Vec<Vec<u8>>,
    /// Every WebSocket message the server sent, in order.
    pub to_client: Vec<Vec<u8>>,
    /// The protocol errors each side's `receive` returned.
    pub errors: Vec<ProtocolError>,
}

impl Pair {
    /// Two fresh sessions; the client's CONNECT is waiting to be driven.
    pub fn new(server: ServerConfig, client: ClientConfig) -> Pair {
        Pair {
            client: ClientSession::new(client).expect("encodable CONNECT"),
            server: ServerSession::new(server),
            now: Duration::ZERO,
            server_events: VecDeque::new(),
            client_events: VecDeque::new(),
            to_server: Vec::new(),
            to_client: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// A pair with default configurations (host `localhost`, heart-beats off) whose
    /// CONNECT the server accepted; the events and messages of the handshake are cleared.
    pub fn connected() -> Pair {
        let config = ServerConfig::default().heart_beat(crate::HeartBeat::NONE);
        let client = ClientConfig::new("localhost").heart_beat(crate::HeartBeat::NONE);
        let mut pair = Pair::new(config, client);
        pair.drive();
        assert!(matches!(
            pair.server_events.pop_front(),
            Some(ServerEvent::Connect(_))
        ));
        pair.server.accept(&[]).expect("accept");
        pair.drive();
        assert!(matches!(
            pair.client_events.pop_front(),
            Some(ClientEvent::Connected { .. })
        ));
        pair.to_server.clear();
        pair.to_client.clear();
        pair
    }

    /// Moves messages both ways until neither side has anything to send, collecting events
    /// (the server's before its output, so receipts flow as in a real loop). Returns
    /// whether anything moved.
    pub fn drive(&mut self) -> bool {
        let mut moved = false;
        loop {
            let mut progress = false;
            loop {
                let mut message = Vec::new();
                if self.client.poll_transmit(&mut message) == 0 {
                    break;
                }
                progress = true;
                if let Err(e) = self.server.receive(&message) {
                    self.errors.push(e);
                }
                self.to_server.push(message);
                let _ = self.server.handle_timeout(self.now);
            }
            while let Some(e) = self.server.poll_event() {
                self.server_events.push_back(e);
            }
            loop {
                let mut message = Vec::new();
                if self.server.poll_transmit(&mut message) == 0 {
                    break;
                }
                progress = true;
                if let Err(e) = self.client.receive(&message) {
                    self.errors.push(e);
                }
                self.to_client.push(message);
                let _ = self.client.handle_timeout(self.now);
            }
            while let Some(e) = self.client.poll_event() {
                self.client_events.push_back(e);
            }
            if !progress {
                return moved;
            }
            moved = true;
        }
    }

    /// Sets the time on both sides (firing their deadlines), then drives.
    pub fn advance_to(&mut self, now: Duration) {
        self.now = now;
        let _ = self.server.handle_timeout(now);
        let _ = self.client.handle_timeout(now);
        self.drive();
    }
}
