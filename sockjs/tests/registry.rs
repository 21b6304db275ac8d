//! The session registry: creation, lookup, the bound on sessions, expiry.

use core::time::Duration;

use rfc6455_sockjs::{
    Attach, Event, Framing, Registry, RegistryError, Session, SessionConfig, SessionId, Transmit,
};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn ids() {
    for ok in [
        "a",
        "abcdefgh_i-j%20",
        "8f6d2c1e-0b4a-4c7e-9d2f-3a5b6c7d8e9f",
        &"x".repeat(128),
    ] {
        assert_eq!(SessionId::new(ok).unwrap().as_str(), ok);
    }
    // sockjs-protocol test_invalidPaths: empty parts and dots.
    for bad in ["", ".", "a.", ".a", "a/b", &"x".repeat(129)] {
        assert_eq!(
            SessionId::new(bad),
            Err(RegistryError::InvalidId),
            "{bad:?}"
        );
    }
}

#[test]
fn create_and_look_up() {
    let config = SessionConfig::default();
    let mut registry = Registry::new(10);
    assert!(registry.get("s1").is_none());
    let session = registry.get_or_create("s1", &config, secs(0)).unwrap();
    let Attach::Attached(rx) = session.attach(Framing::Xhr, secs(0)) else {
        panic!()
    };
    let mut out = Vec::new();
    assert_eq!(
        session.poll_transmit(rx, secs(0), &mut out),
        Transmit::LastFrame
    );
    assert_eq!(out, b"o\n");
    // The same id finds the same session (it is open: no second `o`).
    let session = registry.get_or_create("s1", &config, secs(1)).unwrap();
    assert_eq!(session.poll_event(), Some(Event::Opened));
    session.send("x").unwrap();
    assert_eq!(registry.get("s1").unwrap().queued_messages(), 1);
    assert_eq!(registry.len(), 1);
    assert_eq!(
        registry
            .insert("s1", Session::new(config.clone(), secs(1)), secs(1))
            .err(),
        Some(RegistryError::Exists)
    );
    assert_eq!(
        registry.get_or_create("bad.id", &config, secs(1)).err(),
        Some(RegistryError::InvalidId)
    );
    assert!(registry.remove("s1").is_some());
    assert!(registry.is_empty());
}

#[test]
fn a_session_flood_is_bounded() {
    let config = SessionConfig::default();
    let mut registry = Registry::new(3);
    for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
        registry.get_or_create(id, &config, secs(i as u64)).unwrap();
    }
    // Full, and none is due to expire at 4 s (the first expires at 5 s).
    assert_eq!(
        registry.get_or_create("d", &config, secs(4)).err(),
        Some(RegistryError::Full { max_sessions: 3 })
    );
    assert_eq!(registry.len(), 3);
    // At 5 s, "a" (created at 0, never attached) is due: the insert expires it first, but
    // it still counts until taken with poll_expired.
    assert_eq!(
        registry.get_or_create("d", &config, secs(5)).err(),
        Some(RegistryError::Full { max_sessions: 3 })
    );
    let (id, mut gone) = registry.poll_expired().unwrap();
    assert_eq!(id.as_str(), "a");
    assert_eq!(gone.poll_event(), Some(Event::Expired));
    assert!(registry.poll_expired().is_none());
    registry.get_or_create("d", &config, secs(5)).unwrap();
    assert_eq!(registry.len(), 3);
    let ids: Vec<&str> = registry.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["b", "c", "d"]);
}

#[test]
fn expiry_by_deadline() {
    let config = SessionConfig::default();
    let mut registry = Registry::default();
    registry.get_or_create("early", &config, secs(0)).unwrap();
    registry.get_or_create("late", &config, secs(2)).unwrap();
    // An attached receiver holds its session.
    let held = registry.get_or_create("held", &config, secs(0)).unwrap();
    let Attach::Attached(_) = held.attach(Framing::XhrStreaming, secs(0)) else {
        panic!()
    };
    assert_eq!(registry.poll_timeout(), Some(secs(5)));
    registry.handle_timeout(Duration::from_millis(4_999));
    assert!(registry.poll_expired().is_none());
    registry.handle_timeout(secs(5));
    assert_eq!(
        registry
            .poll_expired()
            .map(|(id, _)| id.to_string())
            .as_deref(),
        Some("early")
    );
    assert!(registry.poll_expired().is_none());
    assert!(registry.get("early").is_none());
    assert_eq!(registry.poll_timeout(), Some(secs(7)));
    registry.handle_timeout(secs(7));
    assert_eq!(
        registry
            .poll_expired()
            .map(|(id, _)| id.to_string())
            .as_deref(),
        Some("late")
    );
    assert_eq!(registry.poll_timeout(), None);
    assert_eq!(registry.len(), 1);
}

#[test]
fn an_expired_session_is_replaced_not_reused() {
    let config = SessionConfig::default();
    let mut registry = Registry::new(5);
    let s = registry.get_or_create("s", &config, secs(0)).unwrap();
    let Attach::Attached(rx) = s.attach(Framing::WebSocket, secs(0)) else {
        panic!()
    };
    s.abort_receiver(rx, secs(1)); // a WebSocket session expires at once
    assert!(registry.get("s").is_none());
    assert!(registry.get_mut("s").is_none());
    let fresh = registry.get_or_create("s", &config, secs(1)).unwrap();
    let Attach::Attached(rx) = fresh.attach(Framing::Xhr, secs(1)) else {
        panic!()
    };
    let mut out = Vec::new();
    assert_eq!(
        fresh.poll_transmit(rx, secs(1), &mut out),
        Transmit::LastFrame
    );
    assert_eq!(out, b"o\n");
    let (id, _) = registry.poll_expired().unwrap();
    assert_eq!(id.as_str(), "s");
    assert_eq!(registry.len(), 1);
}
