//! What the server does with each client frame: every state transition of a server session
//! starts here.

use alloc::string::String;
use alloc::vec::Vec;

use super::{
    AckMode, ConnectRequest, MessageId, Phase, ServerEvent, ServerSession, Subscription,
    Transaction,
};
use crate::error::ProtocolError;
use crate::frame::{Command, Frame};
use crate::session::{HeartBeat, Version};

/// An ACK or NACK resolved to the messages it covers.
struct Acked {
    nack: bool,
    subscription: String,
    ids: Vec<u64>,
}

impl ServerSession {
    /// Processes one decoded frame; on a protocol error the session is failed.
    pub(super) fn on_frame(&mut self, frame: Frame) -> Result<(), ProtocolError> {
        // "Any client frame other than CONNECT MAY specify a receipt header"
        let receipt = match frame.command() {
            Command::Connect | Command::Stomp => None,
            _ => frame.header("receipt").map(String::from),
        };
        let result = match self.phase {
            Phase::Closed => Ok(()),
            Phase::AwaitingConnect => match frame.command() {
                // "STOMP servers MUST handle a STOMP frame in the same manner as a CONNECT
                // frame."
                Command::Connect | Command::Stomp => self.on_connect(frame),
                other => Err(ProtocolError::UnexpectedCommand(other)),
            },
            Phase::AwaitingAccept { .. } => {
                if self.pipelined.len() >= self.config.max_pipelined_frames {
                    Err(ProtocolError::TooManyPipelinedFrames)
                } else {
                    self.pipelined.push_back(frame);
                    Ok(())
                }
            }
            Phase::Connected(version) => self.on_session_frame(version, frame, receipt.clone()),
        };
        result.map_err(|e| self.fail(e, receipt))
    }

    fn on_connect(&mut self, frame: Frame) -> Result<(), ProtocolError> {
        let command = frame.command();
        // "If the accept-version header is missing, it means that the client only supports
        // version 1.0 of the protocol." We speak 1.1 and 1.2.
        let version = frame
            .header("accept-version")
            .and_then(Version::negotiate)
            .ok_or(ProtocolError::UnsupportedVersion)?;
        // "STOMP 1.2 clients MUST set the following headers: accept-version ... host";
        // a server configured to be lenient assumes its default virtual host.
        let host = match (frame.header("host"), &self.config.host_when_missing) {
            (Some(host), _) => host.into(),
            (None, Some(default)) => default.clone(),
            (None, None) => required(&frame, "host")?.into(),
        };
        let heart_beat = match frame.header("heart-beat") {
            None => HeartBeat::NONE,
            Some(v) => HeartBeat::parse(v).ok_or(ProtocolError::InvalidHeader {
                header: "heart-beat",
            })?,
        };
        let request = ConnectRequest {
            version,
            host,
            login: frame.header("login").map(String::from),
            passcode: frame.header("passcode").map(String::from),
            heart_beat,
            frame,
        };
        debug_assert!(command.is_client());
        self.phase = Phase::AwaitingAccept {
            version,
            heart_beat,
        };
        self.push_event(Some(ServerEvent::Connect(request)), None);
        Ok(())
    }

    fn on_session_frame(
        &mut self,
        version: Version,
        frame: Frame,
        receipt: Option<String>,
    ) -> Result<(), ProtocolError> {
        match frame.command() {
            Command::Send => {
                // "It has one REQUIRED header, destination"
                required(&frame, "destination")?;
                match frame.header("transaction").map(String::from) {
                    Some(tx) => {
                        let size = frame.encoded_len();
                        self.hold(&tx, ServerEvent::Send(frame), size)?;
                        self.push_event(None, receipt);
                    }
                    None => self.push_event(Some(ServerEvent::Send(frame)), receipt),
                }
            }
            Command::Subscribe => self.on_subscribe(frame, receipt)?,
            Command::Unsubscribe => {
                let id = required(&frame, "id")?;
                // "This header MUST match the subscription identifier of an existing
                // subscription."
                let sub = self
                    .subscriptions
                    .remove(id)
                    .ok_or_else(|| ProtocolError::UnknownSubscription(id.into()))?;
                for m in &sub.unacked {
                    self.unacked.remove(m);
                }
                let event = ServerEvent::Unsubscribe {
                    id: id.into(),
                    unacked: sub.unacked.into_iter().map(MessageId).collect(),
                };
                self.push_event(Some(event), receipt);
            }
            Command::Ack | Command::Nack => {
                let acked = self.resolve_ack(version, &frame)?;
                match (frame.header("transaction"), acked) {
                    (Some(tx), acked) => {
                        let tx = String::from(tx);
                        if let Some(a) = acked {
                            let size = 64 + 8 * a.ids.len();
                            self.hold(&tx, ack_event(a), size)?;
                        } else if !self.transactions.contains_key(&tx) {
                            return Err(ProtocolError::UnknownTransaction(tx));
                        }
                        self.push_event(None, receipt);
                    }
                    (None, Some(a)) => {
                        let event = self.settle(ack_event(a));
                        self.push_event(event, receipt);
                    }
                    (None, None) => self.push_event(None, receipt),
                }
            }
            Command::Begin => {
                let tx = required(&frame, "transaction")?;
                // "Within the same connection, different transactions MUST use different
                // transaction identifiers."
                if self.transactions.contains_key(tx) {
                    return Err(ProtocolError::DuplicateTransaction(tx.into()));
                }
                if self.transactions.len() >= self.config.max_transactions {
                    return Err(ProtocolError::TooManyTransactions);
                }
                self.transactions.insert(tx.into(), Transaction::default());
                self.push_event(None, receipt);
            }
            Command::Commit => {
                let tx = self.end_transaction(&frame)?;
                let count = tx.held.len();
                let mut receipt = receipt;
                for (i, held) in tx.held.into_iter().enumerate() {
                    let event = self.settle(held);
                    // The receipt goes after the transaction's last event.
                    let r = if i + 1 == count { receipt.take() } else { None };
                    self.push_event(event, r);
                }
                self.push_event(None, receipt);
            }
            Command::Abort => {
                self.end_transaction(&frame)?;
                self.push_event(None, receipt);
            }
            Command::Disconnect => {
                // "Any started transactions which have not been committed will be
                // implicitly aborted if the client sends a DISCONNECT frame"
                self.close(super::CloseReason::Disconnect, receipt);
            }
            other => return Err(ProtocolError::UnexpectedCommand(other)),
        }
        Ok(())
    }

    fn on_subscribe(&mut self, frame: Frame, receipt: Option<String>) -> Result<(), ProtocolError> {
        // "an id header MUST be included in the frame to uniquely identify the
        // subscription"; "the SUBSCRIBE frame requires a destination header"
        let id = String::from(required(&frame, "id")?);
        let destination = String::from(required(&frame, "destination")?);
        // "If the header is not set, it defaults to auto."
        let ack = match frame.header("ack") {
            None => AckMode::Auto,
            Some(v) => AckMode::parse(v).ok_or(ProtocolError::InvalidHeader { header: "ack" })?,
        };
        // "Within the same connection, different subscriptions MUST use different
        // subscription identifiers."
        if self.subscriptions.contains_key(&id) {
            return Err(ProtocolError::DuplicateSubscription(id));
        }
        if self.subscriptions.len() >= self.config.max_subscriptions {
            return Err(ProtocolError::TooManySubscriptions);
        }
        self.subscriptions.insert(
            id.clone(),
            Subscription {
                ack,
                unacked: Default::default(),
            },
        );
        let event = ServerEvent::Subscribe {
            id,
            destination,
            ack,
            frame,
        };
        self.push_event(Some(event), receipt);
        Ok(())
    }

    /// The messages an ACK or NACK covers, or `None` for an id that was already settled
    /// (acknowledged, or sent on an `auto` subscription).
    fn resolve_ack(&self, version: Version, frame: &Frame) -> Result<Option<Acked>, ProtocolError> {
        // 1.2: "The ACK frame MUST include an id header matching the ack header of the
        // MESSAGE being acknowledged." 1.1 names the message by its message-id (we use the
        // same value for both).
        let header = if version >= Version::V1_2 {
            "id"
        } else {
            "message-id"
        };
        let value = required(frame, header)?;
        let id = value
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| value.parse::<u64>().ok())
            .flatten();
        let Some((id, subscription)) = id.and_then(|id| Some((id, self.unacked.get(&id)?))) else {
            return match id {
                Some(id) if id < self.next_message_id => Ok(None),
                _ => Err(ProtocolError::UnknownAckId(value.into())),
            };
        };
        let Some(sub) = self.subscriptions.get(subscription) else {
            // Not reachable: an unacknowledged message's subscription is open.
            return Err(ProtocolError::UnknownAckId(value.into()));
        };
        let ids = match sub.ack {
            // "The ACK frames sent by the client will be treated as a cumulative
            // acknowledgment. This means the acknowledgment operates on the message
            // specified in the ACK frame and all messages sent to the subscription before
            // the ACK'ed message." NACK "applies ... to all messages sent before and not
            // yet ACK'ed or NACK'ed (if the subscription's ack mode is client)".
            AckMode::Client => sub
                .unacked
                .iter()
                .copied()
                .take_while(|&m| m <= id)
                .collect(),
            // "an ACK or NACK frame for a subsequent message MUST NOT cause a previous
            // message to get acknowledged."
            _ => alloc::vec![id],
        };
        Ok(Some(Acked {
            nack: frame.command() == Command::Nack,
            subscription: subscription.clone(),
            ids,
        }))
    }

    /// Applies a released event: an ACK or NACK settles the messages still unacknowledged
    /// (`None` if none are left); a SEND passes through.
    fn settle(&mut self, event: ServerEvent) -> Option<ServerEvent> {
        let (ServerEvent::Ack {
            subscription,
            messages,
        }
        | ServerEvent::Nack {
            subscription,
            messages,
        }) = &event
        else {
            return Some(event);
        };
        let sub = self.subscriptions.get_mut(subscription)?;
        let mut settled = Vec::new();
        for &MessageId(m) in messages {
            if self.unacked.remove(&m).is_some() {
                if let Ok(i) = sub.unacked.binary_search(&m) {
                    sub.unacked.remove(i);
                }
                settled.push(MessageId(m));
            }
        }
        if settled.is_empty() {
            return None;
        }
        let subscription = subscription.clone();
        Some(match event {
            ServerEvent::Nack { .. } => ServerEvent::Nack {
                subscription,
                messages: settled,
            },
            _ => ServerEvent::Ack {
                subscription,
                messages: settled,
            },
        })
    }

    /// Holds an event in transaction `tx` until COMMIT.
    fn hold(&mut self, tx: &str, event: ServerEvent, size: usize) -> Result<(), ProtocolError> {
        let t = self
            .transactions
            .get_mut(tx)
            .ok_or_else(|| ProtocolError::UnknownTransaction(tx.into()))?;
        if self.transaction_bytes + size > self.config.max_transaction_size {
            return Err(ProtocolError::TransactionTooLarge);
        }
        self.transaction_bytes += size;
        t.bytes += size;
        t.held.push(event);
        Ok(())
    }

    /// Removes the transaction a COMMIT or ABORT names.
    fn end_transaction(&mut self, frame: &Frame) -> Result<Transaction, ProtocolError> {
        // "The transaction header is REQUIRED and MUST specify the identifier of the
        // transaction to commit." (likewise ABORT)
        let tx = required(frame, "transaction")?;
        let t = self
            .transactions
            .remove(tx)
            .ok_or_else(|| ProtocolError::UnknownTransaction(tx.into()))?;
        self.transaction_bytes = self.transaction_bytes.saturating_sub(t.bytes);
        Ok(t)
    }
}

fn ack_event(a: Acked) -> ServerEvent {
    let messages = a.ids.into_iter().map(MessageId).collect();
    if a.nack {
        ServerEvent::Nack {
            subscription: a.subscription,
            messages,
        }
    } else {
        ServerEvent::Ack {
            subscription: a.subscription,
            messages,
        }
    }
}

fn required<'a>(frame: &'a Frame, header: &'static str) -> Result<&'a str, ProtocolError> {
    frame.header(header).ok_or(ProtocolError::MissingHeader {
        command: frame.command(),
        header,
    })
}
