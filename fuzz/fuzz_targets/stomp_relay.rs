//! The broker relay's per-session state machine fed arbitrary broker bytes, with the client's
//! requests (SUBSCRIBE, SEND, ACK, NACK, UNSUBSCRIBE, DISCONNECT) and the clock in between.
//!
//! Layout: `[flags] [n] [pattern; n % 16] [data...]` — `data` is cut into pieces by the
//! pattern; each piece's first byte picks a client request, the rest is the next part of
//! the broker's byte stream, and the clock advances by `piece.len() * 97` ms. `flags` bit 0: the stream starts
//! with a valid CONNECTED (so requests are accepted); bit 1: heart-beats with the broker.
//!
//! Checks: never panics; every transmitted message is exactly one client frame (or one
//! heart-beat) that decodes; `Lost` or `Disconnected` comes at most once and nothing
//! follows it; MESSAGEs name only subscriptions the client made; the messages waiting for an
//! acknowledgment never outnumber those delivered.
#![no_main]
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rfc6455_fuzz::{Chunks, split_pattern};
use rfc6455_stomp::relay::{RelayConfig, RelayEvent, RelaySession};
use rfc6455_stomp::{AckMode, Command, Decoder, Frame, HeartBeat, Item, Limits, MessageId, Status};

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let heart_beat = if flags & 2 != 0 {
        HeartBeat {
            send_ms: 100,
            receive_ms: 100,
        }
    } else {
        HeartBeat::NONE
    };
    let config = RelayConfig::default().heart_beat(heart_beat);
    let mut relay = RelaySession::new(&config, Duration::ZERO).expect("a writable CONNECT");
    let mut now = Duration::ZERO;
    let mut subscriptions: Vec<String> = Vec::new();
    let mut delivered = 0u64;
    let mut ended = false;
    let mut next_id = 0u64;
    let (pattern, data) = split_pattern(rest);
    if flags & 1 != 0 {
        relay.receive(b"CONNECTED\nversion:1.2\nheart-beat:100,100\n\n\0");
    }
    for piece in Chunks::new(pattern, data) {
        now += Duration::from_millis(piece.len() as u64 * 97);
        let Some((&pick, bytes)) = piece.split_first() else {
            continue;
        };
        let id = format!("sub-{}", pick % 4);
        let _ = match pick % 8 {
            0 => relay
                .subscribe(&id, "/topic/a", AckMode::Auto, &[], None)
                .map(|()| subscriptions.push(id)),
            1 => relay
                .subscribe(&id, "/queue/b", AckMode::Client, &[("x", "y")], Some("r".into()))
                .map(|()| subscriptions.push(id)),
            2 => relay.unsubscribe(&id, None).map(|()| subscriptions.retain(|s| *s != id)),
            3 => relay.send(
                &Frame::new(Command::Send)
                    .with_header("destination", "/topic/a")
                    .with_header("transaction", "t")
                    .with_body(bytes.to_vec()),
                Some("s".into()),
            ),
            4 => relay.ack(&[MessageId(next_id.saturating_sub(1))], false),
            5 => relay.ack(&[MessageId(u64::from(pick))], true),
            6 if pick == 6 => {
                relay.disconnect(Some("bye".into()));
                Ok(())
            }
            _ => Ok(()),
        };
        relay.receive(bytes);
        relay.handle_timeout(now);
        while let Some(event) = relay.poll_event() {
            assert!(!ended, "nothing after the end: {event:?}");
            match event {
                RelayEvent::Message {
                    subscription,
                    message,
                } => {
                    assert!(subscriptions.contains(&subscription), "{subscription}");
                    relay.delivered(&subscription, MessageId(next_id), &message);
                    next_id += 1;
                    delivered += 1;
                }
                RelayEvent::Lost(_) | RelayEvent::Disconnected { .. } => {
                    ended = true;
                    assert!(relay.poll_close_transport());
                }
                _ => {}
            }
        }
        assert!(relay.unacked() as u64 <= delivered);
        loop {
            let mut message = Vec::new();
            if relay.poll_transmit(&mut message) == 0 {
                break;
            }
            let mut decoder = Decoder::new(Limits::default().max_body_size(1 << 24));
            let d = decoder.decode(&message).expect("the relay writes valid frames");
            assert_eq!(d.consumed, message.len(), "one frame per message");
            match d.status {
                Status::Complete(Item::HeartBeat) => assert_eq!(message, b"\n"),
                Status::Complete(Item::Frame(f)) => assert!(f.command().is_client()),
                Status::Partial => panic!("incomplete frame transmitted"),
            }
        }
    }
    relay.handle_transport_closed();
    while let Some(event) = relay.poll_event() {
        assert!(!ended, "nothing after the end: {event:?}");
        ended = matches!(event, RelayEvent::Lost(_) | RelayEvent::Disconnected { .. });
    }
    assert!(ended, "the closed transport ends the session");
    assert!(relay.poll_close_transport());
});
