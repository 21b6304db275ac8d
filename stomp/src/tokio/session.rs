//! One task per client: its WebSocket, its [`ServerSession`], its mailbox and, with a relay,
//! its broker connection. The task waits on all four; everything it decides is in the
//! sans-IO types it drives.

#[allow(unused_imports)]
use std::{borrow::ToOwned, boxed::Box, format, string::String, string::ToString, vec, vec::Vec};

use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rfc6455::io::tokio::WebSocket;
use rfc6455::{CloseCode, Message};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, sleep_until, timeout};

use super::hub::Mailbox;
use super::relay::{RelayConn, open_relay};
use super::stats::index;
use super::{Backend, Shared};
use crate::app::{Action, Dispatch, Handshake, SessionInfo, StompEvent, Verdict};
use crate::broker::SessionId;
use crate::frame::{Command, Frame};
use crate::relay::RelayEvent;
use crate::server::{CloseReason, ConnectRequest, ServerEvent, ServerSession};

const SERVER: &str = concat!("rfc6455-stomp/", env!("CARGO_PKG_VERSION"));

enum Wake {
    Ws(Result<Option<Message>, rfc6455::io::Error>),
    Mail,
    Killed,
    Relay(std::io::Result<usize>),
    Timer,
}

struct Conn<S> {
    shared: Arc<Shared>,
    id: SessionId,
    info: SessionInfo,
    handshake: Handshake,
    session: ServerSession,
    ws: WebSocket<S>,
    mailbox: Arc<Mailbox>,
    registered: bool,
    relay: Option<RelayConn>,
    /// Client subscription id → the broker destination it was translated to.
    subs: Vec<(String, String)>,
    counted_in: [u64; Command::ALL.len()],
    transport_closed: bool,
    close_reason: Option<CloseReason>,
    /// The client's DISCONNECT receipt, once the relay's own DISCONNECT is confirmed.
    final_receipt: Option<String>,
}

pub(crate) async fn run<S>(shared: Arc<Shared>, ws: WebSocket<S>, handshake: Handshake)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let id = SessionId(shared.next_session.fetch_add(1, Relaxed));
    shared.stats.sessions_open.fetch_add(1, Relaxed);
    shared.stats.sessions_total.fetch_add(1, Relaxed);
    let mut conn = Conn {
        info: SessionInfo::new(id, handshake.user.clone(), handshake.attributes.clone()),
        session: ServerSession::new(shared.session.clone()),
        mailbox: Arc::new(Mailbox::new(shared.mailbox)),
        shared,
        id,
        handshake,
        ws,
        registered: false,
        relay: None,
        subs: Vec::new(),
        counted_in: [0; Command::ALL.len()],
        transport_closed: false,
        close_reason: None,
        final_receipt: None,
    };
    let _ = conn.session.handle_timeout(conn.shared.now());
    conn.run().await;
    conn.cleanup().await;
}

impl<S> Conn<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn run(&mut self) {
        let mut killed = self.mailbox.killed();
        let mut killed_seen = false;
        loop {
            if self.flush().await.is_err() {
                self.transport_lost();
                self.process_events().await;
            }
            if self.done() {
                return;
            }
            let deadline = self.deadline();
            let wake = {
                let Conn {
                    ws,
                    mailbox,
                    relay,
                    transport_closed,
                    ..
                } = self;
                let relay_read = async {
                    match relay {
                        Some(r) => r.stream.read_buf(&mut r.buf).await,
                        None => pending().await,
                    }
                };
                tokio::select! {
                    r = ws.recv(), if !*transport_closed => Wake::Ws(r),
                    () = mailbox.wait() => Wake::Mail,
                    _ = killed.wait_for(|k| *k), if !killed_seen => Wake::Killed,
                    r = relay_read => Wake::Relay(r),
                    () = sleep_until(deadline) => Wake::Timer,
                }
            };
            match wake {
                Wake::Ws(Ok(Some(message))) => {
                    match &message {
                        Message::Text(text) => self.receive(text.as_bytes()),
                        Message::Binary(bytes) => self.receive(bytes),
                        _ => {}
                    }
                    self.process_events().await;
                }
                Wake::Ws(_) => {
                    self.transport_lost();
                    self.process_events().await;
                }
                Wake::Mail => {
                    if self.deliver().await.is_err() {
                        self.transport_lost();
                        self.process_events().await;
                    }
                }
                Wake::Killed => {
                    killed_seen = true;
                    // The hub already took the session out of the broker. "The server MAY
                    // send ERROR frames if something goes wrong. In this case, it MUST then
                    // close the connection just after sending the ERROR frame."
                    self.error("slow consumer: too many messages waiting to be written");
                    self.process_events().await;
                }
                Wake::Relay(result) => {
                    let now = self.shared.now();
                    if let Some(r) = &mut self.relay {
                        match result {
                            Ok(n) if n > 0 => {
                                r.session.receive(&r.buf);
                                r.buf.clear();
                                r.session.handle_timeout(now);
                            }
                            _ => r.session.handle_transport_closed(),
                        }
                    }
                    self.relay_events();
                    self.process_events().await;
                }
                Wake::Timer => {
                    let now = self.shared.now();
                    let _ = self.session.handle_timeout(now);
                    if let Some(r) = &mut self.relay {
                        r.session.handle_timeout(now);
                    }
                    self.relay_events();
                    self.process_events().await;
                }
            }
        }
    }

    fn done(&self) -> bool {
        let relay_busy = self
            .relay
            .as_ref()
            .is_some_and(|r| !r.session.poll_close_transport());
        let session_done = self.session.poll_close_transport()
            || (self.transport_closed && self.session.is_closed());
        session_done && !relay_busy && self.final_receipt.is_none()
    }

    fn deadline(&self) -> Instant {
        let session = self.session.poll_timeout();
        let relay = self.relay.as_ref().and_then(|r| r.session.poll_timeout());
        let next = match (session, relay) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let epoch = Instant::from_std(self.shared.epoch);
        match next {
            Some(d) => epoch + d,
            None => Instant::now() + Duration::from_secs(3600),
        }
    }

    fn receive(&mut self, bytes: &[u8]) {
        let _ = self.session.receive(bytes);
        let _ = self.session.handle_timeout(self.shared.now());
        for (i, &command) in Command::ALL.iter().enumerate() {
            if command.is_client() {
                let n = self.session.frames_received(command);
                if n > self.counted_in[i] {
                    self.shared.stats.frames_in[i].fetch_add(n - self.counted_in[i], Relaxed);
                    self.counted_in[i] = n;
                }
            }
        }
    }

    fn transport_lost(&mut self) {
        if !self.transport_closed {
            self.transport_closed = true;
            self.session.handle_transport_closed();
        }
    }

    fn error(&mut self, message: &str) {
        let _ = self.session.error(message);
    }

    /// Writes what the session and the relay want written.
    async fn flush(&mut self) -> Result<(), ()> {
        if let Some(r) = &mut self.relay {
            let mut out = Vec::new();
            while r.session.poll_transmit(&mut out) > 0 {}
            if !out.is_empty() {
                let written = timeout(self.shared.write_timeout, r.stream.write_all(&out)).await;
                if !matches!(written, Ok(Ok(()))) {
                    r.session.handle_transport_closed();
                }
            }
            self.relay_events();
            if let Some(mut r) = self.relay.take_if(|r| r.session.poll_close_transport()) {
                let _ = r.stream.shutdown().await;
            }
        }
        if self.transport_closed {
            self.final_receipt = None;
            return Ok(());
        }
        self.write_session().await?;
        if self.relay.is_none() {
            if let Some(receipt) = self.final_receipt.take() {
                // "A RECEIPT frame MUST include the header receipt-id": the client's
                // DISCONNECT is confirmed once the broker confirmed the relay's.
                let frame = Frame::new(Command::Receipt).with_header("receipt-id", &receipt);
                let mut out = BytesMut::new();
                if frame.encode(&mut out).is_ok() {
                    self.shared.stats.frame_out(Command::Receipt);
                    self.write(ws_message(out.freeze())).await?;
                    self.ws_flush().await?;
                }
            }
        }
        Ok(())
    }

    async fn write_session(&mut self) -> Result<(), ()> {
        let mut wrote = false;
        loop {
            let mut out = BytesMut::new();
            if self.session.poll_transmit(&mut out) == 0 {
                break;
            }
            self.count_out(&out);
            self.write(ws_message(out.freeze())).await?;
            wrote = true;
        }
        if wrote {
            self.ws_flush().await?;
        }
        Ok(())
    }

    fn count_out(&self, bytes: &[u8]) {
        let stats = &self.shared.stats;
        let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        match Command::from_bytes(line) {
            Some(command) => stats.frames_out[index(command)].fetch_add(1, Relaxed),
            None => stats.heart_beats_out.fetch_add(1, Relaxed),
        };
        if line == b"MESSAGE" {
            stats.delivered.fetch_add(1, Relaxed);
        }
    }

    async fn write(&mut self, message: Message) -> Result<(), ()> {
        match timeout(self.shared.write_timeout, self.ws.feed(message)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }

    async fn ws_flush(&mut self) -> Result<(), ()> {
        match timeout(self.shared.write_timeout, self.ws.flush()).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }

    /// Writes the MESSAGE frames the broker queued for this session.
    async fn deliver(&mut self) -> Result<(), ()> {
        let batch = self.mailbox.take();
        let mut settle = Vec::new();
        for out in batch {
            if self
                .session
                .record_message(&out.subscription, out.id)
                .is_err()
            {
                // Unsubscribed (or closed) meanwhile: the broker put its queue messages back.
                continue;
            }
            // The receipt of the frame handled last goes first.
            self.write_session().await?;
            match timeout(self.shared.write_timeout, self.ws.send_prepared(&out.frame)).await {
                Ok(Ok(())) => {}
                _ => return Err(()),
            }
            self.shared.stats.frame_out(Command::Message);
            self.shared.stats.delivered.fetch_add(1, Relaxed);
            if out.settle_on_write {
                settle.push((out.subscription, out.id));
            }
        }
        if !settle.is_empty() {
            if let Some(mut hub) = self.shared.hub() {
                for (sub, id) in settle {
                    hub.broker.settle_written(self.id, &sub, id);
                }
                hub.drain(&self.shared.interceptors, &self.shared.stats);
            }
        }
        Ok(())
    }

    async fn process_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            self.on_event(event).await;
        }
    }

    async fn on_event(&mut self, mut event: ServerEvent) {
        if !matches!(event, ServerEvent::Closed { .. }) {
            let shared = self.shared.clone();
            for interceptor in &shared.interceptors {
                match interceptor.inbound(&self.info, &mut event) {
                    Verdict::Continue => {}
                    // A CONNECT left unanswered would hold the session open: refuse it.
                    Verdict::Drop if matches!(event, ServerEvent::Connect(_)) => {
                        let _ = self.session.reject("connection refused");
                        return;
                    }
                    Verdict::Drop => return,
                    Verdict::Reject(message) if matches!(event, ServerEvent::Connect(_)) => {
                        let _ = self.session.reject(&message);
                        return;
                    }
                    Verdict::Reject(message) => return self.error(&message),
                }
            }
        }
        match event {
            ServerEvent::Connect(request) => self.on_connect(request).await,
            ServerEvent::Send(frame) => self.on_send(frame),
            ServerEvent::Subscribe {
                id,
                destination,
                ack,
                frame,
            } => self.on_subscribe(id, destination, ack, &frame),
            ServerEvent::Unsubscribe { id, .. } => {
                self.subs.retain(|(s, _)| *s != id);
                if let Some(r) = &mut self.relay {
                    let receipt = self.session.take_receipt();
                    if r.session.unsubscribe(&id, receipt).is_err() {
                        self.error("broker connection lost");
                    }
                } else if let Some(mut hub) = self.shared.hub() {
                    hub.broker.unsubscribe(self.id, &id);
                    hub.drain(&self.shared.interceptors, &self.shared.stats);
                }
                self.shared.events.emit(&StompEvent::Unsubscribed {
                    session: self.id,
                    subscription: id,
                });
            }
            ServerEvent::Ack {
                subscription,
                messages,
            } => self.settle(&subscription, &messages, false),
            ServerEvent::Nack {
                subscription,
                messages,
            } => self.settle(&subscription, &messages, true),
            ServerEvent::Closed { reason, .. } => {
                let disconnect = reason == CloseReason::Disconnect;
                self.close_reason = Some(reason);
                self.unregister();
                if let Some(r) = &mut self.relay {
                    if disconnect && !self.transport_closed {
                        // Graceful: the client's receipt waits for the broker's.
                        let receipt = self.session.take_receipt();
                        r.session.disconnect(receipt);
                    } else {
                        // The broker sees the connection drop (and redelivers unacked).
                        self.relay = None;
                    }
                }
            }
        }
    }

    async fn on_connect(&mut self, request: ConnectRequest) {
        let stats = &self.shared.stats;
        let user = match self
            .shared
            .authenticator
            .authenticate(&self.handshake, &request)
        {
            Ok(user) => user,
            Err(message) => {
                stats.rejected_connects.fetch_add(1, Relaxed);
                let _ = self.session.reject(&message);
                return;
            }
        };
        let shared = self.shared.clone();
        if let Backend::Relay {
            address,
            config,
            available,
            ..
        } = &shared.backend
        {
            if !available.load(Relaxed) {
                stats.rejected_connects.fetch_add(1, Relaxed);
                let _ = self.session.reject("broker unavailable");
                return;
            }
            match open_relay(&shared, address, config).await {
                Ok(relay) => self.relay = Some(relay),
                Err(message) => {
                    stats.rejected_connects.fetch_add(1, Relaxed);
                    let _ = self.session.reject(&message);
                    return;
                }
            }
        }
        self.info.user = user;
        let session_id = self.id.to_string();
        let mut headers = vec![("session", session_id.as_str()), ("server", SERVER)];
        if let Some(user) = &self.info.user {
            headers.push(("user-name", user.as_str()));
        }
        if self.session.accept(&headers).is_err() {
            let _ = self
                .session
                .reject("user name cannot be written in CONNECTED");
            return;
        }
        self.register();
        self.shared.events.emit(&StompEvent::Connected {
            session: self.id,
            user: self.info.user.clone(),
        });
    }

    fn register(&mut self) {
        if let Some(mut hub) = self.shared.hub() {
            hub.register(self.id, self.mailbox.clone());
        }
        if let Some(user) = &self.info.user {
            let mut users = self
                .shared
                .connected_users
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            *users.entry(user.clone()).or_default() += 1;
        }
        self.registered = true;
    }

    fn unregister(&mut self) {
        if !std::mem::take(&mut self.registered) {
            return;
        }
        if let Some(mut hub) = self.shared.hub() {
            hub.unregister(self.id, &self.shared.stats);
        }
        if let Some(user) = &self.info.user {
            let mut users = self
                .shared
                .connected_users
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(n) = users.get_mut(user) {
                *n -= 1;
                if *n == 0 {
                    users.remove(user);
                }
            }
        }
    }

    /// Routes a SEND. Every refusal is an ERROR that ends the session: "If the server
    /// cannot successfully process the SEND frame for any reason, the server MUST send the
    /// client an ERROR frame and then close the connection." (STOMP 1.2, SEND)
    fn on_send(&mut self, frame: Frame) {
        let shared = self.shared.clone();
        let users = &shared.users;
        let destination = frame.header("destination").unwrap_or_default().to_owned();
        if shared.router.application_path(&destination).is_some() {
            match shared.router.dispatch(&self.info, &frame) {
                Dispatch::Handled(Ok(actions)) => self.run_actions(actions.into_vec()),
                Dispatch::Handled(Err(message)) => self.error(&message),
                _ => self.error(&format!("no handler for {destination}")),
            }
        } else if let Some((user, rest)) = users.parse_send(&destination) {
            let target = users.target(user, rest);
            self.run_actions(vec![Action::Publish(with_destination(&frame, &target))]);
        } else if users.is_user_destination(&destination) || users.is_reserved(&destination) {
            self.error(&format!("cannot send to {destination}"));
        } else if shared.broker_config.kind(&destination).is_some() {
            self.run_actions(vec![Action::Publish(frame)]);
        } else {
            self.error(&format!("unknown destination {destination}"));
        }
    }

    /// Carries out what a handler (or a plain SEND) asked for. With a relay, messages go
    /// through this session's broker connection, and the frame's receipt waits for the
    /// broker's RECEIPT of the last of them.
    fn run_actions(&mut self, actions: Vec<Action>) {
        let shared = self.shared.clone();
        let mut receipt = if self.relay.is_some() {
            self.session.take_receipt()
        } else {
            None
        };
        let last_publish = actions.iter().rposition(|a| !matches!(a, Action::Reply(_)));
        for (i, action) in actions.into_iter().enumerate() {
            let message = match action {
                Action::Reply(frame) => {
                    self.reply(frame);
                    continue;
                }
                Action::Publish(frame) => frame,
                Action::ToUser { user, message } => {
                    let destination = message.header("destination").unwrap_or_default();
                    let target = shared.users.target(&user, destination);
                    with_destination(&message, &target)
                }
            };
            let destination = message.header("destination").unwrap_or_default();
            if shared.broker_config.kind(destination).is_none() {
                self.error(&format!("no broker destination {destination}"));
                return;
            }
            if let Some(r) = &mut self.relay {
                let r_receipt = if Some(i) == last_publish {
                    receipt.take()
                } else {
                    None
                };
                if r.session.send(&message, r_receipt).is_err() {
                    self.error("broker connection lost");
                    return;
                }
                shared.stats.published.fetch_add(1, Relaxed);
            } else if let Some(mut hub) = shared.hub() {
                if let Err(e) = hub.broker.publish(message) {
                    drop(hub);
                    self.error(&e.to_string());
                    return;
                }
                hub.drain(&shared.interceptors, &shared.stats);
                shared.stats.published.fetch_add(1, Relaxed);
            }
        }
        if let Some(receipt) = receipt {
            let _ = self.session.send_receipt(&receipt);
        }
    }

    /// Delivers to this session's own subscriptions of the frame's destination.
    fn reply(&mut self, frame: Frame) {
        let shared = self.shared.clone();
        let destination = frame.header("destination").unwrap_or_default();
        let target = match (
            &self.info.user,
            shared.users.is_user_destination(destination),
        ) {
            (Some(user), true) => shared.users.subscription(user, destination),
            (None, true) => return,
            _ => None,
        };
        let frame = match target {
            Some(t) => with_destination(&frame, &t),
            None => frame,
        };
        let destination = frame.header("destination").unwrap_or_default();
        if self.relay.is_some() {
            let subs: Vec<String> = self
                .subs
                .iter()
                .filter(|(_, d)| d == destination)
                .map(|(s, _)| s.clone())
                .collect();
            for sub in subs {
                let _ = self.session.send_message(&sub, &frame);
            }
        } else if let Some(mut hub) = shared.hub() {
            hub.broker.reply(self.id, frame);
            hub.drain(&shared.interceptors, &shared.stats);
        }
    }

    fn on_subscribe(
        &mut self,
        id: String,
        destination: String,
        ack: crate::AckMode,
        frame: &Frame,
    ) {
        let shared = self.shared.clone();
        let users = &shared.users;
        let target = if users.is_user_destination(&destination) {
            match &self.info.user {
                Some(user) => users.subscription(user, &destination),
                None => {
                    return self.error("user destinations need an authenticated user");
                }
            }
        } else if users.is_reserved(&destination) {
            None
        } else {
            Some(destination.clone())
        };
        // "The server MAY send ERROR frames if something goes wrong. In this case, it MUST
        // then close the connection just after sending the ERROR frame." (STOMP 1.2, ERROR)
        let Some(target) = target.filter(|t| shared.broker_config.kind(t).is_some()) else {
            return self.error(&format!("cannot subscribe to {destination}"));
        };
        if let Some(r) = &mut self.relay {
            // Broker-specific headers (RabbitMQ's durable, x-queue-name, ...) go along.
            let headers: Vec<(&str, &str)> = frame
                .headers()
                .filter(|(n, _)| !matches!(*n, "id" | "destination" | "ack" | "receipt"))
                .collect();
            let receipt = self.session.take_receipt();
            if r.session
                .subscribe(&id, &target, ack, &headers, receipt)
                .is_err()
            {
                return self.error("broker connection lost");
            }
        } else if let Some(mut hub) = shared.hub() {
            let ack_header = self.session.needs_ack_header(&id).unwrap_or(false);
            if let Err(e) = hub.broker.subscribe(self.id, &id, &target, ack, ack_header) {
                drop(hub);
                return self.error(&e.to_string());
            }
            hub.drain(&shared.interceptors, &shared.stats);
        }
        self.subs.push((id.clone(), target));
        shared.events.emit(&StompEvent::Subscribed {
            session: self.id,
            subscription: id,
            destination,
        });
    }

    fn settle(&mut self, subscription: &str, messages: &[crate::MessageId], nack: bool) {
        if let Some(r) = &mut self.relay {
            if r.session.ack(messages, nack).is_err() {
                self.error("broker connection lost");
            }
        } else if let Some(mut hub) = self.shared.hub() {
            if nack {
                hub.broker.nack(self.id, subscription, messages);
            } else {
                hub.broker.ack(self.id, subscription, messages);
            }
            hub.drain(&self.shared.interceptors, &self.shared.stats);
        }
    }

    /// Acts on what the broker connection reported.
    fn relay_events(&mut self) {
        let Some(r) = &mut self.relay else {
            return;
        };
        while let Some(event) = r.session.poll_event() {
            match event {
                RelayEvent::Message {
                    subscription,
                    message,
                } => {
                    let mut out = message;
                    let dropped = self
                        .shared
                        .interceptors
                        .iter()
                        .any(|i| i.outbound(&mut out) != Verdict::Continue);
                    if dropped {
                        // Settled at the broker, so it is not redelivered to be dropped again.
                        r.session.discard(&subscription, &out);
                        continue;
                    }
                    if let Ok(id) = self.session.send_message(&subscription, &out) {
                        r.session.delivered(&subscription, id, &out);
                    }
                }
                RelayEvent::Receipt(receipt) => {
                    // "The server sends a RECEIPT frame to the client once a server has
                    // successfully processed a client frame that requests a receipt": with
                    // a relay, once the external broker has.
                    let _ = self.session.send_receipt(&receipt);
                }
                RelayEvent::Lost(message) if !self.session.is_closed() => {
                    let _ = self.session.error(&message);
                }
                RelayEvent::Disconnected { receipt } => {
                    self.final_receipt = receipt;
                }
                _ => {}
            }
        }
    }

    async fn cleanup(&mut self) {
        self.unregister();
        if let Some(mut r) = self.relay.take() {
            let _ = r.stream.shutdown().await;
        }
        self.shared.events.emit(&StompEvent::Disconnected {
            session: self.id,
            user: self.info.user.clone(),
            reason: self
                .close_reason
                .clone()
                .unwrap_or(CloseReason::TransportClosed),
        });
        self.shared.stats.sessions_open.fetch_sub(1, Relaxed);
        if !self.transport_closed {
            // "the server MUST then close the connection" (after ERROR, or the RECEIPT of
            // a DISCONNECT): the WebSocket closing handshake, bounded.
            let _ = timeout(Duration::from_secs(5), self.ws.close(CloseCode::NORMAL, "")).await;
        }
    }
}

/// A SEND-like frame with another destination, the rest unchanged.
fn with_destination(frame: &Frame, destination: &str) -> Frame {
    let mut out = Frame::new(Command::Send).with_header("destination", destination);
    for (name, value) in frame.headers() {
        if name != "destination" && name != "content-length" {
            out.push_header(name, value);
        }
    }
    out.with_body(frame.body().clone())
}

/// A STOMP frame as one WebSocket message: text when it is UTF-8, binary otherwise.
pub(crate) fn ws_message(bytes: Bytes) -> Message {
    match rfc6455::Utf8Bytes::try_from(bytes.clone()) {
        Ok(text) => Message::Text(text),
        Err(_) => Message::Binary(bytes),
    }
}
