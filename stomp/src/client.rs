//! The client side of a STOMP session: CONNECT, then subscribe, send, acknowledge, and a
//! graceful DISCONNECT.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::String;
use core::time::Duration;

use bytes::{BufMut, Bytes};

use crate::decode::{Decoder, Item, Limits, Status};
use crate::error::{ProtocolError, UsageError};
use crate::frame::{Command, Frame, itoa};
use crate::server::AckMode;
use crate::session::{HeartBeat, Outbox, Timers, Version};

/// What a client session sends in its CONNECT, and its limits.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Limits on each frame received.
    pub limits: Limits,
    /// The virtual host (`host` header); RabbitMQ expects a vhost such as `/`.
    pub host: String,
    /// The `login` header, if any.
    pub login: Option<String>,
    /// The `passcode` header, if any.
    pub passcode: Option<String>,
    /// The client's side of the heart-beat negotiation (default 10 000 ms both ways).
    pub heart_beat: HeartBeat,
    /// How much longer than the negotiated interval the server may stay silent before it
    /// is declared dead, in percent of the interval (default 50).
    pub heart_beat_margin_percent: u32,
    /// More CONNECT headers (a broker's `client-id`, ...), after the standard ones.
    pub connect_headers: alloc::vec::Vec<(String, String)>,
}

impl ClientConfig {
    /// A configuration for virtual host `host`, without credentials.
    pub fn new(host: &str) -> ClientConfig {
        ClientConfig {
            limits: Limits::default(),
            host: host.into(),
            login: None,
            passcode: None,
            heart_beat: HeartBeat {
                send_ms: 10_000,
                receive_ms: 10_000,
            },
            heart_beat_margin_percent: 50,
            connect_headers: alloc::vec::Vec::new(),
        }
    }

    /// Adds a CONNECT header.
    #[must_use]
    pub fn connect_header(mut self, name: &str, value: &str) -> ClientConfig {
        self.connect_headers.push((name.into(), value.into()));
        self
    }

    /// Sets the `login` and `passcode` headers.
    #[must_use]
    pub fn credentials(mut self, login: &str, passcode: &str) -> ClientConfig {
        self.login = Some(login.into());
        self.passcode = Some(passcode.into());
        self
    }

    /// Sets the heart-beat offer.
    #[must_use]
    pub fn heart_beat(mut self, heart_beat: HeartBeat) -> ClientConfig {
        self.heart_beat = heart_beat;
        self
    }
}

/// Something the server did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The server accepted the session.
    Connected {
        /// The version in use.
        version: Version,
        /// The server's heart-beat settings.
        heart_beat: HeartBeat,
        /// The whole CONNECTED frame (`session`, `server`, ...).
        frame: Frame,
    },
    /// A MESSAGE on one of this session's subscriptions. Acknowledge it with
    /// [`ClientSession::ack`] if the subscription's mode is not `auto`.
    Message(Frame),
    /// The server processed the frame that carried `receipt:<receipt_id>`.
    Receipt {
        /// The receipt's id.
        receipt_id: String,
    },
    /// The server sent an ERROR and is closing: close the transport.
    Error(Frame),
    /// The server confirmed the DISCONNECT: close the transport.
    Disconnected,
}

/// A deadline that expired in [`ClientSession::handle_timeout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timeout {
    /// The server sent nothing for longer than the negotiated heart-beat plus the margin:
    /// the session is closed; close the transport.
    PeerSilent,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Connecting,
    Connected(Version),
    /// DISCONNECT sent; waiting for the RECEIPT with this id.
    Disconnecting(Version, String),
    Closed,
}

/// The client side of one STOMP session, sans I/O. The CONNECT frame is queued on
/// creation.
///
/// * Input: [`receive`](Self::receive), [`handle_timeout`](Self::handle_timeout) (after
///   each `receive` and when [`poll_timeout`](Self::poll_timeout) passes),
///   [`handle_transport_closed`](Self::handle_transport_closed).
/// * Output: [`poll_event`](Self::poll_event), [`poll_transmit`](Self::poll_transmit)
///   (one WebSocket message per call), [`poll_timeout`](Self::poll_timeout),
///   [`poll_close_transport`](Self::poll_close_transport).
/// * Requests, once connected: [`send`](Self::send), [`subscribe`](Self::subscribe),
///   [`unsubscribe`](Self::unsubscribe), [`ack`](Self::ack), [`nack`](Self::nack),
///   [`begin`](Self::begin), [`commit`](Self::commit), [`abort`](Self::abort),
///   [`disconnect`](Self::disconnect). Extra `headers` may carry a `receipt`.
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    decoder: Decoder,
    phase: Phase,
    events: VecDeque<ClientEvent>,
    outbox: Outbox,
    timers: Timers,
    subscriptions: BTreeMap<String, AckMode>,
    transactions: BTreeSet<String>,
    next_id: u64,
}

impl ClientSession {
    /// A session whose CONNECT frame waits in [`poll_transmit`](Self::poll_transmit).
    ///
    /// # Errors
    ///
    /// [`UsageError::Encode`] if a CONNECT header contains CR or LF, or a name contains a
    /// colon (CONNECT headers are not escaped).
    pub fn new(config: ClientConfig) -> Result<ClientSession, UsageError> {
        // "STOMP 1.2 clients MUST set the following headers: accept-version ... host"
        let mut connect = Frame::new(Command::Connect)
            .with_header("accept-version", "1.1,1.2")
            .with_header("host", &config.host)
            .with_header("heart-beat", &config.heart_beat.to_value());
        if let Some(login) = &config.login {
            connect.push_header("login", login);
        }
        if let Some(passcode) = &config.passcode {
            connect.push_header("passcode", passcode);
        }
        for (name, value) in &config.connect_headers {
            connect.push_header(name, value);
        }
        let mut outbox = Outbox::default();
        outbox.push_frame(&connect)?;
        Ok(ClientSession {
            decoder: Decoder::new(config.limits),
            config,
            phase: Phase::Connecting,
            events: VecDeque::new(),
            outbox,
            timers: Timers::default(),
            subscriptions: BTreeMap::new(),
            transactions: BTreeSet::new(),
            next_id: 0,
        })
    }

    /// The negotiated version, once connected.
    pub fn version(&self) -> Option<Version> {
        match self.phase {
            Phase::Connected(v) | Phase::Disconnecting(v, _) => Some(v),
            _ => None,
        }
    }

    /// Whether the session is open (CONNECTED received, no DISCONNECT sent).
    pub fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::Connected(_))
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Takes bytes the server sent (one or more WebSocket messages, frames split anywhere).
    ///
    /// # Errors
    ///
    /// The server broke the protocol: the session is closed (clients send no ERROR);
    /// close the transport.
    pub fn receive(&mut self, mut input: &[u8]) -> Result<(), ProtocolError> {
        while !input.is_empty() && self.phase != Phase::Closed {
            self.timers.on_receive();
            let decoded = match self.decoder.decode(input) {
                Ok(d) => d,
                Err(e) => return Err(self.fail(ProtocolError::Frame(e))),
            };
            input = &input[decoded.consumed..];
            match decoded.status {
                Status::Partial => break,
                Status::Complete(Item::HeartBeat) => {}
                Status::Complete(Item::Frame(frame)) => {
                    if let Err(e) = self.on_frame(frame) {
                        return Err(self.fail(e));
                    }
                }
            }
        }
        Ok(())
    }

    /// Tells the session the current time, firing heart-beat deadlines.
    pub fn handle_timeout(&mut self, now: Duration) -> Option<Timeout> {
        let due = self.timers.fire(now);
        if due.peer_dead {
            self.fail(ProtocolError::HeartBeatTimeout);
            return Some(Timeout::PeerSilent);
        }
        if due.beat {
            if self.outbox.is_empty() {
                self.outbox.push_heart_beat();
            }
            self.timers.on_transmit();
        }
        None
    }

    /// The next heart-beat deadline; `None` when there is none.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.timers.poll_timeout()
    }

    /// The next thing the server did.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Appends the next WebSocket message's worth of bytes (one frame or a heart-beat) to
    /// `out` and returns how many; 0 when nothing waits.
    pub fn poll_transmit<B: BufMut>(&mut self, out: &mut B) -> usize {
        let n = self.outbox.pop(out);
        if n > 0 {
            self.timers.on_transmit();
        }
        n
    }

    /// Whether to close the transport now: the session has ended and nothing waits to be
    /// sent.
    pub fn poll_close_transport(&self) -> bool {
        self.phase == Phase::Closed && self.outbox.is_empty()
    }

    /// The transport closed: the session ends.
    pub fn handle_transport_closed(&mut self) {
        self.close();
    }

    /// Sends `body` to `destination` (SEND), with `headers` such as `content-type`,
    /// `transaction` or `receipt`; `content-length` is added.
    ///
    /// # Errors
    ///
    /// [`UsageError::NotConnected`] or [`UsageError::Closed`] outside an open session,
    /// [`UsageError::UnknownTransaction`] for a `transaction` not begun,
    /// [`UsageError::Encode`] for an empty header name.
    pub fn send(
        &mut self,
        destination: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(), UsageError> {
        self.connected()?;
        self.check_transaction(
            headers
                .iter()
                .find(|(n, _)| *n == "transaction")
                .map(|h| h.1),
        )?;
        let mut frame = Frame::new(Command::Send).with_header("destination", destination);
        push_headers(&mut frame, headers);
        self.outbox.push_frame(&frame.with_body(body))?;
        Ok(())
    }

    /// Subscribes to `destination` with acknowledgment mode `ack`; returns the new
    /// subscription's id (unique in this session), as MESSAGE frames carry it.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn subscribe(
        &mut self,
        destination: &str,
        ack: AckMode,
        headers: &[(&str, &str)],
    ) -> Result<String, UsageError> {
        self.connected()?;
        let id = itoa(self.next_id);
        let mut frame = Frame::new(Command::Subscribe)
            .with_header("id", &id)
            .with_header("destination", destination)
            .with_header("ack", ack.as_str());
        push_headers(&mut frame, headers);
        self.outbox.push_frame(&frame)?;
        self.next_id += 1;
        self.subscriptions.insert(id.clone(), ack);
        Ok(id)
    }

    /// Ends subscription `id`.
    ///
    /// # Errors
    ///
    /// [`UsageError::UnknownSubscription`] if it is not open; otherwise as
    /// [`send`](Self::send).
    pub fn unsubscribe(&mut self, id: &str, headers: &[(&str, &str)]) -> Result<(), UsageError> {
        self.connected()?;
        if !self.subscriptions.contains_key(id) {
            return Err(UsageError::UnknownSubscription(id.into()));
        }
        let mut frame = Frame::new(Command::Unsubscribe).with_header("id", id);
        push_headers(&mut frame, headers);
        self.outbox.push_frame(&frame)?;
        self.subscriptions.remove(id);
        Ok(())
    }

    /// Acknowledges `message` (cumulatively, on a `client` subscription), optionally as
    /// part of `transaction`.
    ///
    /// # Errors
    ///
    /// [`UsageError::NotAckable`] if the message has no `ack` header (1.2) or no
    /// `message-id` (1.1); otherwise as [`send`](Self::send).
    pub fn ack(&mut self, message: &Frame, transaction: Option<&str>) -> Result<(), UsageError> {
        self.acknowledge(Command::Ack, message, transaction)
    }

    /// Tells the server `message` (and, on a `client` subscription, every earlier one not
    /// yet acknowledged) was not consumed.
    ///
    /// # Errors
    ///
    /// As [`ack`](Self::ack).
    pub fn nack(&mut self, message: &Frame, transaction: Option<&str>) -> Result<(), UsageError> {
        self.acknowledge(Command::Nack, message, transaction)
    }

    /// Begins a transaction; returns its id for [`send`](Self::send)'s `transaction`
    /// header, [`ack`](Self::ack), [`commit`](Self::commit) and [`abort`](Self::abort).
    ///
    /// # Errors
    ///
    /// [`UsageError::NotConnected`] or [`UsageError::Closed`] outside an open session.
    pub fn begin(&mut self) -> Result<String, UsageError> {
        self.connected()?;
        let tx = alloc::format!("tx-{}", self.next_id);
        self.outbox
            .push_frame(&Frame::new(Command::Begin).with_header("transaction", &tx))?;
        self.next_id += 1;
        self.transactions.insert(tx.clone());
        Ok(tx)
    }

    /// Commits `transaction`: the server processes its SENDs and ACKs now.
    ///
    /// # Errors
    ///
    /// [`UsageError::UnknownTransaction`] if it is not open; otherwise as
    /// [`begin`](Self::begin).
    pub fn commit(&mut self, transaction: &str) -> Result<(), UsageError> {
        self.end_transaction(Command::Commit, transaction)
    }

    /// Aborts `transaction`: the server drops its SENDs and ACKs.
    ///
    /// # Errors
    ///
    /// As [`commit`](Self::commit).
    pub fn abort(&mut self, transaction: &str) -> Result<(), UsageError> {
        self.end_transaction(Command::Abort, transaction)
    }

    /// Starts a graceful shutdown: "send a DISCONNECT frame with a receipt header set, wait
    /// for the RECEIPT frame response to the DISCONNECT, close the socket." The session
    /// reports [`ClientEvent::Disconnected`] when the receipt arrives. "Clients MUST NOT send
    /// any more frames after the DISCONNECT frame is sent": later requests fail with
    /// [`UsageError::Closed`].
    ///
    /// # Errors
    ///
    /// [`UsageError::NotConnected`] or [`UsageError::Closed`] outside an open session.
    pub fn disconnect(&mut self) -> Result<(), UsageError> {
        let version = self.connected()?;
        let receipt = alloc::format!("disconnect-{}", self.next_id);
        self.next_id += 1;
        self.outbox
            .push_frame(&Frame::new(Command::Disconnect).with_header("receipt", &receipt))?;
        self.transactions.clear();
        self.phase = Phase::Disconnecting(version, receipt);
        Ok(())
    }

    fn connected(&self) -> Result<Version, UsageError> {
        match self.phase {
            Phase::Connected(v) => Ok(v),
            Phase::Connecting => Err(UsageError::NotConnected),
            _ => Err(UsageError::Closed),
        }
    }

    fn check_transaction(&self, tx: Option<&str>) -> Result<(), UsageError> {
        match tx {
            Some(tx) if !self.transactions.contains(tx) => {
                Err(UsageError::UnknownTransaction(tx.into()))
            }
            _ => Ok(()),
        }
    }

    fn acknowledge(
        &mut self,
        command: Command,
        message: &Frame,
        transaction: Option<&str>,
    ) -> Result<(), UsageError> {
        let version = self.connected()?;
        self.check_transaction(transaction)?;
        let mut frame = Frame::new(command);
        if version >= Version::V1_2 {
            // "The ACK frame MUST include an id header matching the ack header of the
            // MESSAGE being acknowledged."
            frame.push_header("id", message.header("ack").ok_or(UsageError::NotAckable)?);
        } else {
            // STOMP 1.1: "ACK has two REQUIRED headers: message-id ... and subscription"
            let id = message.header("message-id").ok_or(UsageError::NotAckable)?;
            let sub = message
                .header("subscription")
                .ok_or(UsageError::NotAckable)?;
            frame.push_header("message-id", id);
            frame.push_header("subscription", sub);
        }
        if let Some(tx) = transaction {
            frame.push_header("transaction", tx);
        }
        self.outbox.push_frame(&frame)?;
        Ok(())
    }

    fn end_transaction(&mut self, command: Command, tx: &str) -> Result<(), UsageError> {
        self.connected()?;
        if !self.transactions.contains(tx) {
            return Err(UsageError::UnknownTransaction(tx.into()));
        }
        self.outbox
            .push_frame(&Frame::new(command).with_header("transaction", tx))?;
        self.transactions.remove(tx);
        Ok(())
    }

    fn on_frame(&mut self, frame: Frame) -> Result<(), ProtocolError> {
        let command = frame.command();
        if command == Command::Error {
            // "The server MAY send ERROR frames if something goes wrong. In this case, it
            // MUST then close the connection just after sending the ERROR frame."
            self.events.push_back(ClientEvent::Error(frame));
            self.close();
            self.outbox.clear();
            return Ok(());
        }
        match (&self.phase, command) {
            (Phase::Connecting, Command::Connected) => self.on_connected(frame),
            (Phase::Connected(_) | Phase::Disconnecting(..), Command::Message) => {
                // "The MESSAGE frame MUST include a destination header ... a message-id
                // header ... and a subscription header"
                for header in ["destination", "message-id", "subscription"] {
                    if frame.header(header).is_none() {
                        return Err(ProtocolError::MissingHeader { command, header });
                    }
                }
                // A MESSAGE may cross our UNSUBSCRIBE on the wire: it is dropped.
                if frame
                    .header("subscription")
                    .is_some_and(|s| self.subscriptions.contains_key(s))
                {
                    self.events.push_back(ClientEvent::Message(frame));
                }
                Ok(())
            }
            (Phase::Connected(_) | Phase::Disconnecting(..), Command::Receipt) => {
                let id = frame
                    .header("receipt-id")
                    .ok_or(ProtocolError::MissingHeader {
                        command,
                        header: "receipt-id",
                    })?;
                if matches!(&self.phase, Phase::Disconnecting(_, r) if r == id) {
                    self.events.push_back(ClientEvent::Disconnected);
                    self.close();
                } else {
                    self.events.push_back(ClientEvent::Receipt {
                        receipt_id: id.into(),
                    });
                }
                Ok(())
            }
            _ => Err(ProtocolError::UnexpectedCommand(command)),
        }
    }

    fn on_connected(&mut self, frame: Frame) -> Result<(), ProtocolError> {
        // "STOMP 1.2 servers MUST set the following headers: version"
        let version = frame
            .header("version")
            .and_then(Version::from_str_exact)
            .ok_or(ProtocolError::UnsupportedVersion)?;
        let heart_beat = match frame.header("heart-beat") {
            None => HeartBeat::NONE,
            Some(v) => HeartBeat::parse(v).ok_or(ProtocolError::InvalidHeader {
                header: "heart-beat",
            })?,
        };
        let (send, receive) = self.config.heart_beat.negotiate(heart_beat);
        self.timers
            .start(send, receive, self.config.heart_beat_margin_percent);
        self.phase = Phase::Connected(version);
        self.events.push_back(ClientEvent::Connected {
            version,
            heart_beat,
            frame,
        });
        Ok(())
    }

    fn fail(&mut self, e: ProtocolError) -> ProtocolError {
        self.close();
        self.outbox.clear();
        e
    }

    fn close(&mut self) {
        self.phase = Phase::Closed;
        self.timers.stop();
        self.subscriptions.clear();
        self.transactions.clear();
    }
}

fn push_headers(frame: &mut Frame, headers: &[(&str, &str)]) {
    for (name, value) in headers {
        frame.push_header(name, value);
    }
}
