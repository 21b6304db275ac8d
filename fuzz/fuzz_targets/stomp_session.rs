//! A server session fed arbitrary client bytes, with timers and an application that
//! accepts (or rejects) the CONNECT, answers each SUBSCRIBE with messages and each SEND by
//! delivering it to every subscription.
//!
//! Layout: `[flags] [n] [pattern; n % 16] [data...]` — `data` is the client's byte stream,
//! cut into pieces by the pattern; after each piece the clock advances by
//! `piece.len() * 37` ms. `flags` bit 0: reject the CONNECT; bit 1: call `error()` on the
//! first SEND; bit 2: heart-beats on (the client's offer decides the rest); bit 3: close the
//! transport at the end.
//!
//! Checks: never panics; every transmitted message is exactly one server frame (or one
//! heart-beat) that decodes; nothing follows an ERROR, and after it the session says to
//! close the transport; `Closed` is the last event and comes once; memory stays bounded.
#![no_main]
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rfc6455_fuzz::{Chunks, split_pattern};
use rfc6455_stomp::server::CloseReason;
use rfc6455_stomp::{
    Command, Decoder, Frame, HeartBeat, Item, Limits, ServerConfig, ServerEvent, ServerSession,
    Status, UsageError,
};

#[derive(Default)]
struct Checker {
    error_sent: bool,
    closed_events: usize,
    subscriptions: Vec<String>,
    errored_once: bool,
}

impl Checker {
    /// Drains the session's events and output, acting as the application.
    fn drain(&mut self, s: &mut ServerSession, flags: u8) {
        while let Some(event) = s.poll_event() {
            assert_eq!(self.closed_events, 0, "nothing after Closed: {event:?}");
            match event {
                ServerEvent::Connect(_) => {
                    let answer = if flags & 1 != 0 {
                        s.reject("rejected")
                    } else {
                        s.accept(&[("session", "fuzz")])
                    };
                    match answer {
                        Ok(()) => {}
                        // Frames pipelined behind the CONNECT already failed the session.
                        Err(UsageError::NoConnectPending) => assert!(s.is_closed()),
                        Err(e) => panic!("{e:?}"),
                    }
                }
                ServerEvent::Subscribe {
                    id, destination, ..
                } => {
                    let m = Frame::new(Command::Message)
                        .with_header("destination", &destination)
                        .with_body("m");
                    for _ in 0..2 {
                        let _ = s.send_message(&id, &m);
                    }
                    self.subscriptions.push(id);
                }
                ServerEvent::Send(frame) => {
                    if flags & 2 != 0 && !self.errored_once {
                        self.errored_once = true;
                        let _ = s.error("no");
                    }
                    for id in &self.subscriptions {
                        // Fails harmlessly for subscriptions that ended.
                        let _ = s.send_message(id, &frame);
                    }
                }
                ServerEvent::Unsubscribe { id, .. } => self.subscriptions.retain(|s| *s != id),
                ServerEvent::Closed { reason, .. } => {
                    self.closed_events += 1;
                    if matches!(reason, CloseReason::Error(_)) {
                        assert!(self.error_sent || s.is_closed());
                    }
                }
                _ => {}
            }
        }
        loop {
            let mut message = Vec::new();
            let n = s.poll_transmit(&mut message);
            if n == 0 {
                break;
            }
            assert_eq!(n, message.len());
            assert!(!self.error_sent, "nothing may follow an ERROR");
            let mut decoder = Decoder::new(Limits::default().max_body_size(1 << 24));
            let d = decoder
                .decode(&message)
                .expect("the server writes valid frames");
            assert_eq!(d.consumed, message.len(), "one frame per message");
            match d.status {
                Status::Complete(Item::HeartBeat) => assert_eq!(message, b"\n"),
                Status::Complete(Item::Frame(f)) => {
                    assert!(!f.command().is_client(), "{:?}", f.command());
                    if f.command() == Command::Error {
                        self.error_sent = true;
                        assert!(s.is_closed());
                    }
                }
                Status::Partial => panic!("incomplete frame transmitted"),
            }
        }
        if self.error_sent {
            assert!(s.poll_close_transport(), "ERROR is followed by close");
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let mut config = ServerConfig::default();
    config.limits = Limits::default()
        .max_header_count(8)
        .max_header_line_size(64)
        .max_head_size(256)
        .max_body_size(256);
    config.max_subscriptions = 8;
    config.max_transactions = 2;
    config.max_transaction_size = 1024;
    config.max_pipelined_frames = 4;
    config.heart_beat = if flags & 4 != 0 {
        HeartBeat {
            send_ms: 50,
            receive_ms: 100,
        }
    } else {
        HeartBeat::NONE
    };
    let mut s = ServerSession::new(config);
    let mut checker = Checker::default();
    let mut now = Duration::ZERO;
    let (pattern, data) = split_pattern(rest);
    for piece in Chunks::new(pattern, data) {
        let result = s.receive(piece);
        if result.is_err() {
            assert!(s.is_closed(), "a protocol error closes the session");
        }
        now += Duration::from_millis(piece.len() as u64 * 37);
        let _ = s.handle_timeout(now);
        checker.drain(&mut s, flags);
        if let Some(deadline) = s.poll_timeout() {
            assert!(
                deadline > now,
                "handle_timeout leaves no deadline in the past"
            );
        }
    }
    // Let every deadline pass.
    for _ in 0..4 {
        if let Some(deadline) = s.poll_timeout() {
            now = now.max(deadline);
            let _ = s.handle_timeout(now);
            checker.drain(&mut s, flags);
        }
    }
    if flags & 8 != 0 {
        s.handle_transport_closed();
        checker.drain(&mut s, flags);
        assert!(s.poll_close_transport());
        assert_eq!(checker.closed_events, 1);
    }
    assert!(checker.closed_events <= 1);
    if s.is_closed() {
        checker.drain(&mut s, flags);
        assert_eq!(
            checker.closed_events, 1,
            "Closed is reported once the session ends"
        );
    }
});
