//! The SockJS session layer under arbitrary input: xhr_send / jsonp_send bodies and framed
//! WebSocket messages into a session driven through receivers of every transport, the
//! application's sends and closes, time passing, and arbitrary frame text through the frame
//! and transport parsers.
//!
//! Input: `[config] ([op] [len] [data; len])*`, where `len == 255` means "the rest".
//! Asserted: nothing panics; payload errors are the three typed ones, with the right HTTP
//! body; every frame a receiver gets is one valid SockJS frame in its transport's wrapping
//! that decodes back (open first and once, messages exactly those queued since the previous
//! `a[...]`, close frames with the session's status), polling receivers end after one frame
//! and streaming ones at the budget; the queue stays within its bounds and output within a
//! bound of it; the state only moves forward and events come once each, in order; a decoded
//! frame re-encodes to one that decodes the same.
#![no_main]
use core::time::Duration;

use libfuzzer_sys::fuzz_target;
use rfc6455_sockjs::{
    Attach, Callback, CloseCause, Event, Frame, FrameError, Framing, Payload, PayloadError,
    PreparedMessage, ReceiverId, Session, SessionConfig, State, Transmit, json,
};

fn framing(selector: u8, name: &[u8]) -> Framing {
    let cb = Callback::new(core::str::from_utf8(name).unwrap_or(""))
        .unwrap_or_else(|_| Callback::new("cb").expect("a valid name"));
    match selector % 6 {
        0 => Framing::Xhr,
        1 => Framing::XhrStreaming,
        2 => Framing::EventSource,
        3 => Framing::HtmlFile(cb),
        4 => Framing::Jsonp(cb),
        _ => Framing::WebSocket,
    }
}

/// What a transport may not carry raw: no frame text ever holds a control character or
/// one of sockjs-node's escapable characters (they are all `\uXXXX`), an event-stream
/// line no CR, LF or NUL, a script block no `</script`.
fn assert_raw_safe(f: Framing, out: &[u8]) {
    let text = core::str::from_utf8(out).expect("frames are UTF-8");
    let escapable = |c: char| {
        c < ' '
            || matches!(c, '\u{200c}'..='\u{200f}' | '\u{2028}'..='\u{202f}'
                | '\u{2060}'..='\u{206f}' | '\u{fff0}'..='\u{ffff}' | '\u{10000}'..)
    };
    let inner = match f {
        Framing::Xhr | Framing::XhrStreaming => text.strip_suffix('\n'),
        Framing::WebSocket => Some(text),
        Framing::EventSource => text
            .strip_prefix("data: ")
            .and_then(|t| t.strip_suffix("\r\n\r\n")),
        Framing::Jsonp(_) => text.strip_suffix(";\r\n"),
        _ => text
            .strip_prefix("<script>\np(")
            .and_then(|t| t.strip_suffix(");\n</script>\r\n"))
            .inspect(|t| assert!(!t.contains('<'), "{t:?}")),
    };
    let inner = inner.unwrap_or_else(|| panic!("{f:?} wrapping: {text:?}"));
    assert!(
        !inner.chars().any(escapable),
        "{f:?} carries a raw character: {inner:?}"
    );
}

fn state_rank(state: State) -> u8 {
    match state {
        State::Connecting => 0,
        State::Open => 1,
        State::Closing => 2,
        _ => 3,
    }
}

/// What the harness knows the session must do.
struct Model {
    /// Messages queued and not yet delivered.
    queue: Vec<String>,
    opened_sent: bool,
    events: Vec<Event>,
    state: State,
}

fn check_payload(
    payload: Payload,
    body: &[u8],
    result: &Result<Vec<std::borrow::Cow<'_, str>>, PayloadError>,
) {
    match result {
        Ok(messages) => {
            // Memory: decoding never grows text by more than U+FFFD replacement does
            // (one byte → three), and there are no more messages than bytes.
            let total: usize = messages.iter().map(|m| m.len()).sum();
            assert!(
                total <= 3 * body.len(),
                "{total} bytes of messages from {}",
                body.len()
            );
            assert!(messages.len() <= body.len());
        }
        Err(e) => {
            let expected_body = match e {
                PayloadError::BrokenJson => "Broken JSON encoding.",
                PayloadError::Empty | PayloadError::NotMessages => "Payload expected.",
                _ => unreachable!("an untyped payload error"),
            };
            assert_eq!(e.http_body(), expected_body);
            assert_eq!(e.http_status(), 500);
            if *e == PayloadError::Empty {
                assert!(
                    payload == Payload::JsonpSendForm || body.is_empty(),
                    "Empty for a non-empty {payload:?} body"
                );
            }
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&config_byte, mut rest)) = input.split_first() else {
        return;
    };
    let budget = [64usize, 300, 4096, 128 * 1024][usize::from(config_byte & 3)];
    let max_bytes = [16usize, 200, 4096, 1 << 20][usize::from(config_byte >> 2 & 3)];
    let max_messages = [1usize, 3, 64, 16 * 1024][usize::from(config_byte >> 4 & 3)];
    let heartbeat = (config_byte & 0x40 == 0).then_some(Duration::from_secs(25));
    let config = SessionConfig::default()
        .streaming_budget(budget)
        .max_queued_bytes(max_bytes)
        .max_queued_messages(max_messages)
        .heartbeat_interval(heartbeat);
    let mut now = Duration::ZERO;
    let mut session = Session::new(config, now);
    let mut model = Model {
        queue: Vec::new(),
        opened_sent: false,
        events: Vec::new(),
        state: State::Connecting,
    };
    // Receivers attached so far, with their framing and bytes written.
    let mut receivers: Vec<(ReceiverId, Framing, usize)> = Vec::new();
    let mut out = Vec::new();

    while rest.len() >= 2 {
        let op = rest[0];
        let len = usize::from(rest[1]);
        let (data, tail) = if len == 255 || len > rest.len() - 2 {
            (&rest[2..], &rest[rest.len()..])
        } else {
            (&rest[2..2 + len], &rest[2 + len..])
        };
        rest = tail;
        let first = data.first().copied().unwrap_or(0);
        // Whether this step may drop queued messages (interruption, a close before the
        // first receiver, a broken WebSocket message, expiry).
        let may_drop = matches!(op % 12, 2 | 4 | 8 | 9);
        let pick = |receivers: &Vec<(ReceiverId, Framing, usize)>| {
            (!receivers.is_empty()).then(|| usize::from(first) % receivers.len())
        };
        match op % 12 {
            0 => {
                let f = framing(first, data.get(1..).unwrap_or(&[]));
                let had_receiver = session.receiver().is_some();
                match session.attach(f, now) {
                    Attach::Attached(id) => {
                        assert!(!had_receiver);
                        assert_eq!(session.receiver(), Some(id));
                        receivers.push((id, f, 0));
                    }
                    Attach::AnotherConnectionOpen => assert!(had_receiver),
                    Attach::Expired => assert_eq!(session.state(), State::Closed),
                }
            }
            1 => {
                let Some(i) = pick(&receivers) else { continue };
                let (id, f, written) = &mut receivers[i];
                // Poll until the receiver idles or ends, as a transport does.
                for _ in 0..8 {
                    out.clear();
                    let attached = session.receiver() == Some(*id);
                    let transmit = session.poll_transmit(*id, now, &mut out);
                    match transmit {
                        Transmit::End | Transmit::Idle => {
                            assert!(out.is_empty());
                            assert_eq!(transmit == Transmit::End, !attached);
                            break;
                        }
                        Transmit::Frame | Transmit::LastFrame => {}
                    }
                    assert!(attached);
                    // Memory: one frame is at most the queue bound (or the close reason,
                    // escaped: at most 12 bytes for 4) escaped once more for a JavaScript
                    // string (×6 at worst: `<` as \u003c), plus the wrapping.
                    let reason = session.close_status().map_or(0, |c| c.reason.len());
                    let frame_bound = (max_bytes + 3).max(3 * reason + 16);
                    assert!(out.len() <= 6 * frame_bound + 256, "{} bytes", out.len());
                    *written += out.len();
                    assert_raw_safe(*f, &out);
                    let frame = f.decode_frame(&out).unwrap_or_else(|e| {
                        panic!(
                            "{f:?} wrote an invalid frame ({e:?}): {:?}",
                            String::from_utf8_lossy(&out)
                        )
                    });
                    match &frame {
                        Frame::Open => {
                            assert!(!model.opened_sent, "o twice");
                            model.opened_sent = true;
                        }
                        Frame::Messages(m) => {
                            assert!(model.opened_sent || session.state() != State::Open);
                            assert_eq!(m, &model.queue);
                            model.queue.clear();
                        }
                        Frame::Close(c) => {
                            assert_eq!(Some(c), session.close_status());
                            assert_eq!(transmit, Transmit::LastFrame);
                        }
                        Frame::Heartbeat => assert_eq!(session.state(), State::Open),
                    }
                    if transmit == Transmit::LastFrame {
                        assert_ne!(session.receiver(), Some(*id));
                        break;
                    }
                    match f.delivery() {
                        rfc6455_sockjs::Delivery::Polling => panic!("a poll went on"),
                        rfc6455_sockjs::Delivery::Streaming => assert!(*written < budget),
                        rfc6455_sockjs::Delivery::WebSocket => {}
                    }
                }
            }
            2 => {
                let Some(i) = pick(&receivers) else { continue };
                session.abort_receiver(receivers[i].0, now);
                assert_ne!(session.receiver(), Some(receivers[i].0));
            }
            3 | 11 => {
                let message = String::from_utf8_lossy(data).into_owned();
                let result = if op % 12 == 3 {
                    session.send(&message)
                } else {
                    session.send_prepared(&PreparedMessage::new(&message))
                };
                if result.is_ok() {
                    model.queue.push(message);
                }
            }
            4 => {
                let code = u16::from_le_bytes([first, data.get(1).copied().unwrap_or(0)]);
                let reason = String::from_utf8_lossy(data.get(2..).unwrap_or(&[]));
                let was_open = matches!(session.state(), State::Connecting | State::Open);
                assert_eq!(session.close(code, &reason).is_ok(), was_open);
            }
            5..=8 => {
                let payload = match op % 12 {
                    5 => Payload::XhrSend,
                    6 => Payload::JsonpSendForm,
                    7 => Payload::JsonpSendText,
                    _ => Payload::WebSocket,
                };
                let open = session.state() == State::Open;
                let result = session.receive(payload, data);
                check_payload(payload, data, &result);
                if let Ok(messages) = &result {
                    if !open {
                        assert!(messages.is_empty(), "messages delivered while not open");
                    }
                    // The application echoes.
                    for m in messages {
                        if session.send(m).is_ok() {
                            model.queue.push(m.to_string());
                        }
                    }
                }
                if result.is_err() && payload == Payload::WebSocket {
                    assert_eq!(session.state(), State::Closed);
                }
            }
            9 => {
                let mut ms = [0u8; 4];
                let n = data.len().min(4);
                ms[..n].copy_from_slice(&data[..n]);
                now = now.saturating_add(Duration::from_millis(u64::from(u32::from_le_bytes(ms))));
                if session.poll_timeout().is_some_and(|t| now >= t) || first & 1 == 1 {
                    session.handle_timeout(now);
                }
            }
            _ => {
                // Arbitrary frame text through the parsers.
                match Frame::decode(data) {
                    Ok(frame) => {
                        let mut again = Vec::new();
                        frame.encode(&mut again);
                        assert_eq!(Frame::decode(&again).as_ref(), Ok(&frame));
                    }
                    Err(FrameError::Empty) => assert!(data.is_empty()),
                    Err(_) => {}
                }
                let f = framing(first, b"cb");
                if let Ok(frame) = f.decode_frame(data) {
                    let mut again = Vec::new();
                    f.encode_frame(&frame, &mut again);
                    assert_eq!(f.decode_frame(&again), Ok(frame));
                }
                let mut quoted = Vec::new();
                let text = String::from_utf8_lossy(data);
                json::quote(&text, &mut quoted);
                assert_eq!(quoted.len(), json::quoted_len(&text));
            }
        }

        // Invariants after every step.
        assert!(session.queued_bytes() <= max_bytes);
        assert!(session.queued_messages() <= max_messages);
        if may_drop && session.queued_messages() == 0 {
            model.queue.clear();
        }
        assert_eq!(session.queued_messages(), model.queue.len());
        let state = session.state();
        assert!(
            state_rank(state) >= state_rank(model.state),
            "{:?} -> {state:?}",
            model.state
        );
        model.state = state;
        while let Some(event) = session.poll_event() {
            let rank = |e: &Event| match e {
                Event::Opened => 0,
                Event::Closed(_) => 1,
                _ => 2,
            };
            if let Some(last) = model.events.last() {
                assert!(rank(&event) > rank(last), "{event:?} after {last:?}");
            }
            if let Event::Closed(cause) = event {
                assert!(model.events.contains(&Event::Opened));
                let _: CloseCause = cause;
            }
            model.events.push(event);
        }
        if state == State::Closed {
            assert!(session.receiver().is_none());
            assert_eq!(session.poll_timeout(), None);
        }
    }
});
