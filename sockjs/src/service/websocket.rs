//! The `{session}/websocket` transport: one WebSocket carrying one session's frames, each
//! frame one text message.

// The crate is `no_std`: std's prelude is imported by hand.
use std::vec::Vec;

use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;

use rfc6455::io::hyper::HyperWebSocket;
use rfc6455::{CloseCode, Message, Utf8Bytes};

use super::Shared;
use super::cell::Cell;
use crate::payload::Payload;
use crate::session::{ReceiverId, Transmit};

/// Drives the WebSocket of receiver `id` until the session or the connection ends: frames
/// out as the session produces them, messages in while the application keeps up (a full
/// inbox stops reading, and TCP pushes back on the client), heart-beats when due.
pub(crate) async fn drive(
    mut ws: HyperWebSocket,
    cell: Arc<Cell>,
    id: ReceiverId,
    shared: Arc<Shared>,
) {
    loop {
        // Everything the session has for the client, in order.
        let (frames, end) = {
            let now = shared.now();
            let mut state = cell.lock();
            let state = &mut *state;
            if state.session.poll_timeout().is_some_and(|at| at <= now) {
                state.session.handle_timeout(now);
            }
            let mut frames = Vec::new();
            let end = loop {
                let mut out = Vec::new();
                match state.session.poll_transmit(id, now, &mut out) {
                    Transmit::Frame => frames.push(out),
                    Transmit::LastFrame => {
                        frames.push(out);
                        break true;
                    }
                    Transmit::End => break true,
                    Transmit::Idle => break false,
                }
            };
            if !frames.is_empty() {
                state.wake_sender();
            }
            cell.pump(state);
            (frames, end)
        };
        for frame in frames {
            // Frames are escaped JSON: always UTF-8.
            let Ok(text) = Utf8Bytes::try_from(frame) else {
                break;
            };
            if ws.send(Message::Text(text)).await.is_err() {
                return finish(&cell, id, &shared);
            }
        }
        if end {
            // The close frame went out (or the session ended otherwise): sockjs-node then
            // closes the WebSocket with 1000 (`recv.close()` without a status).
            let broken = cell.lock().closed == Some(crate::CloseCause::BrokenFraming);
            let (code, reason) = if broken {
                // sockjs-node: `this.close(3000, 'Broken framing.')`.
                (CloseCode::new(3000), "Broken framing.")
            } else {
                (CloseCode::NORMAL, "Normal closure")
            };
            let _ = ws.close(code, reason).await;
            return finish(&cell, id, &shared);
        }
        let (room, deadline) = {
            let state = cell.lock();
            (state.has_room(), state.session.poll_timeout())
        };
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(shared.instant(at)).await,
                None => std::future::pending().await,
            }
        };
        let output = poll_fn(|cx| {
            let mut state = cell.lock();
            if state.session.wants_transmit() || state.session.receiver() != Some(id) {
                Poll::Ready(())
            } else {
                state.set_receiver_waker(cx.waker());
                Poll::Pending
            }
        });
        tokio::select! {
            received = ws.recv(), if room => match received {
                Ok(Some(Message::Text(text))) => receive(&cell, text.into_bytes()),
                // sockjs-node hands binary messages to the same JSON parser.
                Ok(Some(Message::Binary(data))) => receive(&cell, data),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return finish(&cell, id, &shared),
            },
            () = cell.inbox_room.notified(), if !room => {}
            () = output => {}
            () = sleep => {}
        }
    }
}

/// One WebSocket message: the client's messages, into the inbox. Broken JSON ends the
/// session; the next round closes the WebSocket with 3000 "Broken framing.".
fn receive(cell: &Cell, data: bytes::Bytes) {
    let mut state = cell.lock();
    let state = &mut *state;
    match state.session.receive(Payload::WebSocket, &data) {
        Ok(messages) => {
            let messages: Vec<Utf8Bytes> = messages
                .into_iter()
                .filter_map(|m| super::message_bytes(&data, m))
                .collect();
            state.push(messages);
        }
        Err(_) => state.wake_receiver(),
    }
    cell.pump(state);
}

/// The WebSocket is gone: the session ends at once (sockjs-node: no disconnect delay for a
/// WebSocket).
fn finish(cell: &Cell, id: ReceiverId, shared: &Shared) {
    let now = shared.now();
    let mut state = cell.lock();
    state.session.abort_receiver(id, now);
    cell.pump(&mut state);
}
