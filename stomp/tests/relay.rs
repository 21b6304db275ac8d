//! The relay's state machines against a broker made of our own server session, in memory:
//! exact frames, id and receipt mapping, loss, deadlines and reconnection backoff.

use std::time::Duration;

use bytes::Bytes;
use rfc6455_stomp::relay::{
    PublishError, RelayConfig, RelayEvent, RelaySession, SystemConnection, SystemEvent,
};
use rfc6455_stomp::{
    AckMode, Command, Frame, HeartBeat, MessageId, ServerConfig, ServerEvent, ServerSession,
};

const MS: Duration = Duration::from_millis(1);

fn broker() -> ServerSession {
    ServerSession::new(ServerConfig::default().heart_beat(HeartBeat::NONE))
}

/// Everything the relay wrote, as the broker receives it; the frames as text.
fn relay_to_broker(relay: &mut RelaySession, broker: &mut ServerSession) -> Vec<String> {
    let mut frames = Vec::new();
    loop {
        let mut out = Vec::new();
        if relay.poll_transmit(&mut out) == 0 {
            return frames;
        }
        broker.receive(&out).expect("the relay speaks STOMP");
        frames.push(String::from_utf8(out).unwrap());
    }
}

fn broker_to_relay(broker: &mut ServerSession, relay: &mut RelaySession) -> Vec<String> {
    let mut frames = Vec::new();
    loop {
        let mut out = Vec::new();
        if broker.poll_transmit(&mut out) == 0 {
            return frames;
        }
        relay.receive(&out);
        frames.push(String::from_utf8(out).unwrap());
    }
}

fn broker_events(broker: &mut ServerSession) -> Vec<ServerEvent> {
    std::iter::from_fn(|| broker.poll_event()).collect()
}

fn relay_events(relay: &mut RelaySession) -> Vec<RelayEvent> {
    std::iter::from_fn(|| relay.poll_event()).collect()
}

fn connected_pair() -> (RelaySession, ServerSession) {
    let mut relay = RelaySession::new(
        &RelayConfig::default().heart_beat(HeartBeat::NONE),
        Duration::ZERO,
    )
    .unwrap();
    let mut broker = broker();
    relay_to_broker(&mut relay, &mut broker);
    assert!(matches!(broker.poll_event(), Some(ServerEvent::Connect(_))));
    broker.accept(&[]).unwrap();
    broker_to_relay(&mut broker, &mut relay);
    assert_eq!(relay_events(&mut relay), [RelayEvent::Connected]);
    (relay, broker)
}

#[test]
fn connects_with_the_relays_credentials_and_virtual_host() {
    let config = RelayConfig::default()
        .credentials("relay", "s3cret")
        .virtual_host("vh");
    let mut relay = RelaySession::new(&config, Duration::ZERO).unwrap();
    let mut broker = broker();
    assert_eq!(
        relay_to_broker(&mut relay, &mut broker),
        [
            "CONNECT\naccept-version:1.1,1.2\nhost:vh\nheart-beat:10000,10000\nlogin:relay\npasscode:s3cret\n\n\0"
        ]
    );
    let Some(ServerEvent::Connect(request)) = broker.poll_event() else {
        panic!()
    };
    assert_eq!(request.login.as_deref(), Some("relay"));
    assert!(!relay.is_connected());
    broker.accept(&[]).unwrap();
    broker_to_relay(&mut broker, &mut relay);
    assert_eq!(relay_events(&mut relay), [RelayEvent::Connected]);
    assert!(relay.is_connected());
}

#[test]
fn subscriptions_messages_acks_and_receipts_are_mapped() {
    let (mut relay, mut broker) = connected_pair();
    relay
        .subscribe(
            "sub-0",
            "/queue/jobs",
            AckMode::Client,
            &[("x-queue-name", "q")],
            Some("client-r1".into()),
        )
        .unwrap();
    relay
        .subscribe("sub-1", "/topic/news", AckMode::Auto, &[], None)
        .unwrap();
    assert_eq!(
        relay_to_broker(&mut relay, &mut broker),
        [
            "SUBSCRIBE\nid:0\ndestination:/queue/jobs\nack:client-individual\nx-queue-name:q\nprefetch-count:1000\nreceipt:relay-0\n\n\0",
            "SUBSCRIBE\nid:1\ndestination:/topic/news\nack:auto\n\n\0",
        ]
    );
    let events = broker_events(&mut broker);
    assert_eq!(events.len(), 2);
    // The broker's receipt becomes the client's.
    broker_to_relay(&mut broker, &mut relay);
    assert_eq!(
        relay_events(&mut relay),
        [RelayEvent::Receipt("client-r1".into())]
    );

    let job = Frame::new(Command::Send)
        .with_header("destination", "/queue/jobs")
        .with_body("job");
    let broker_id = broker.send_message("0", &job).unwrap();
    broker_to_relay(&mut broker, &mut relay);
    let events = relay_events(&mut relay);
    let [
        RelayEvent::Message {
            subscription,
            message,
        },
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(subscription, "sub-0");
    assert_eq!(&message.body()[..], b"job");
    // The client acknowledges its own id 41; the broker sees its own.
    relay.delivered("sub-0", MessageId(41), message);
    assert_eq!(relay.unacked(), 1);
    relay.ack(&[MessageId(41), MessageId(40)], false).unwrap();
    assert_eq!(
        relay_to_broker(&mut relay, &mut broker),
        [format!("ACK\nid:{broker_id}\n\n\0")]
    );
    assert_eq!(
        broker_events(&mut broker),
        [ServerEvent::Ack {
            subscription: "0".into(),
            messages: vec![broker_id]
        }]
    );
    assert_eq!(relay.unacked(), 0);

    // SEND: user headers go along, the transaction does not, the receipt is mapped.
    let send = Frame::new(Command::Send)
        .with_header("destination", "/topic/news")
        .with_header("content-type", "text/plain")
        .with_header("transaction", "tx-1")
        .with_header("receipt", "client-r2")
        .with_body("hi");
    relay.send(&send, Some("client-r2".into())).unwrap();
    assert_eq!(
        relay_to_broker(&mut relay, &mut broker),
        [
            "SEND\ndestination:/topic/news\ncontent-type:text/plain\nreceipt:relay-1\ncontent-length:2\n\nhi\0"
        ]
    );
    broker_events(&mut broker);
    broker_to_relay(&mut broker, &mut relay);
    assert_eq!(
        relay_events(&mut relay),
        [RelayEvent::Receipt("client-r2".into())]
    );

    relay.unsubscribe("sub-1", None).unwrap();
    assert_eq!(
        relay_to_broker(&mut relay, &mut broker),
        ["UNSUBSCRIBE\nid:1\n\n\0"]
    );
    // A MESSAGE crossing the UNSUBSCRIBE is not handed to the client.
    let late = Frame::new(Command::Message)
        .with_header("destination", "/topic/news")
        .with_header("message-id", "x")
        .with_header("subscription", "1");
    let mut bytes = Vec::new();
    late.encode(&mut bytes).unwrap();
    relay.receive(&bytes);
    assert_eq!(relay_events(&mut relay), []);
}

#[test]
fn a_broker_error_or_closed_connection_loses_the_session() {
    let (mut relay, mut broker) = connected_pair();
    broker.error("shutting down").unwrap();
    broker_to_relay(&mut broker, &mut relay);
    assert_eq!(
        relay_events(&mut relay),
        [RelayEvent::Lost("broker error: shutting down".into())]
    );
    assert!(relay.poll_close_transport());
    assert_eq!(
        relay.subscribe("s", "/topic/a", AckMode::Auto, &[], None),
        Err(rfc6455_stomp::UsageError::Closed)
    );

    let (mut relay, _) = connected_pair();
    relay.handle_transport_closed();
    assert_eq!(
        relay_events(&mut relay),
        [RelayEvent::Lost("broker connection closed".into())]
    );
}

#[test]
fn connect_deadline_and_heart_beats_are_data() {
    let start = Duration::from_secs(100);
    let mut relay = RelaySession::new(&RelayConfig::default(), start).unwrap();
    assert_eq!(relay.poll_timeout(), Some(start + Duration::from_secs(10)));
    relay.handle_timeout(start + Duration::from_secs(10) - MS);
    assert_eq!(relay_events(&mut relay), []);
    relay.handle_timeout(start + Duration::from_secs(10));
    assert_eq!(
        relay_events(&mut relay),
        [RelayEvent::Lost(
            "broker did not answer CONNECT in time".into()
        )]
    );

    // Heart-beats 1000 ms both ways with the broker: silence past 1.5 s loses it.
    let config = RelayConfig::default().heart_beat(HeartBeat {
        send_ms: 1000,
        receive_ms: 1000,
    });
    let mut relay = RelaySession::new(&config, Duration::ZERO).unwrap();
    let mut broker = ServerSession::new(ServerConfig::default().heart_beat(HeartBeat {
        send_ms: 1000,
        receive_ms: 1000,
    }));
    relay_to_broker(&mut relay, &mut broker);
    broker_events(&mut broker);
    broker.accept(&[]).unwrap();
    broker_to_relay(&mut broker, &mut relay);
    assert_eq!(relay_events(&mut relay), [RelayEvent::Connected]);
    assert_eq!(relay.poll_timeout(), Some(Duration::from_secs(1)));
    relay.handle_timeout(Duration::from_secs(1));
    assert_eq!(relay_to_broker(&mut relay, &mut broker), ["\n"]);
    relay.handle_timeout(Duration::from_millis(1500));
    assert_eq!(
        relay_events(&mut relay),
        [RelayEvent::Lost("broker heart-beat timeout".into())]
    );
}

#[test]
fn disconnect_waits_for_the_brokers_receipt_or_its_deadline() {
    let (mut relay, mut broker) = connected_pair();
    relay.disconnect(Some("client-bye".into()));
    assert_eq!(
        relay_to_broker(&mut relay, &mut broker),
        ["DISCONNECT\nreceipt:disconnect-0\n\n\0"]
    );
    assert_eq!(relay_events(&mut relay), []);
    broker_events(&mut broker);
    broker_to_relay(&mut broker, &mut relay);
    assert_eq!(
        relay_events(&mut relay),
        [RelayEvent::Disconnected {
            receipt: Some("client-bye".into())
        }]
    );
    assert!(relay.poll_close_transport());

    let (mut relay, _) = connected_pair();
    relay.disconnect(Some("r".into()));
    assert_eq!(relay.poll_timeout(), Some(Duration::from_secs(5)));
    relay.handle_timeout(Duration::from_secs(5));
    assert_eq!(
        relay_events(&mut relay),
        [RelayEvent::Disconnected {
            receipt: Some("r".into())
        }]
    );
}

fn system_to_broker(system: &mut SystemConnection, broker: &mut ServerSession) -> Vec<String> {
    let mut frames = Vec::new();
    loop {
        let mut out = Vec::new();
        if system.poll_transmit(&mut out) == 0 {
            return frames;
        }
        broker.receive(&out).unwrap();
        frames.push(String::from_utf8(out).unwrap());
    }
}

fn broker_to_system(broker: &mut ServerSession, system: &mut SystemConnection) {
    let mut out = Vec::new();
    while broker.poll_transmit(&mut out) > 0 {}
    system.receive(&out);
}

fn system_events(system: &mut SystemConnection) -> Vec<SystemEvent> {
    std::iter::from_fn(|| system.poll_event()).collect()
}

#[test]
fn system_connection_reconnects_with_exponential_backoff() {
    let config =
        RelayConfig::default().reconnect(Duration::from_millis(500), Duration::from_secs(5));
    let mut system = SystemConnection::new(config);
    system.handle_timeout(Duration::ZERO);
    assert_eq!(system_events(&mut system), [SystemEvent::OpenTransport]);
    assert_eq!(
        system.poll_timeout(),
        None,
        "waiting for the caller's transport"
    );
    let mut now = Duration::ZERO;
    let mut delays = Vec::new();
    for _ in 0..6 {
        system.handle_transport_closed();
        assert_eq!(
            system_events(&mut system),
            [SystemEvent::Unavailable("broker connection closed".into())]
        );
        let retry = system.poll_timeout().unwrap();
        delays.push((retry - now).as_millis());
        system.handle_timeout(retry - MS);
        assert_eq!(system_events(&mut system), []);
        now = retry;
        system.handle_timeout(now);
        assert_eq!(system_events(&mut system), [SystemEvent::OpenTransport]);
    }
    assert_eq!(delays, [500, 1000, 2000, 4000, 5000, 5000]);
    assert!(!system.is_available());
    assert_eq!(
        system.publish(
            1,
            &rfc6455_stomp::app::message("/topic/a", &[], Bytes::new())
        ),
        Err(PublishError::Unavailable)
    );

    // The broker answers: available, and the backoff starts over.
    system.handle_transport_open();
    let mut broker = broker();
    let connect = system_to_broker(&mut system, &mut broker);
    assert!(connect[0].starts_with("CONNECT\naccept-version:1.1,1.2\nhost:/\n"));
    broker_events(&mut broker);
    broker.accept(&[]).unwrap();
    broker_to_system(&mut broker, &mut system);
    assert_eq!(system_events(&mut system), [SystemEvent::Available]);
    assert!(system.is_available());
    assert_eq!(system.backoff(), Duration::from_millis(500));
}

#[test]
fn system_publishes_are_confirmed_or_failed() {
    let mut config = RelayConfig::default().heart_beat(HeartBeat::NONE);
    config.max_pending_publishes = 2;
    let mut system = SystemConnection::new(config);
    system.handle_timeout(Duration::ZERO);
    system_events(&mut system);
    system.handle_transport_open();
    let mut broker = broker();
    system_to_broker(&mut system, &mut broker);
    broker_events(&mut broker);
    broker.accept(&[]).unwrap();
    broker_to_system(&mut broker, &mut system);
    assert_eq!(system_events(&mut system), [SystemEvent::Available]);

    let news = rfc6455_stomp::app::message(
        "/topic/news",
        &[("content-type", "text/plain")],
        Bytes::from_static(b"n"),
    );
    system.publish(7, &news).unwrap();
    system.publish(8, &news).unwrap();
    assert_eq!(system.publish(9, &news), Err(PublishError::TooManyPending));
    assert_eq!(
        system_to_broker(&mut system, &mut broker),
        [
            "SEND\ndestination:/topic/news\ncontent-type:text/plain\nreceipt:system-0\ncontent-length:1\n\nn\0",
            "SEND\ndestination:/topic/news\ncontent-type:text/plain\nreceipt:system-1\ncontent-length:1\n\nn\0",
        ]
    );
    // The broker confirms the first only, then the connection drops.
    assert!(matches!(broker.poll_event(), Some(ServerEvent::Send(_))));
    let mut out = Vec::new();
    broker.poll_transmit(&mut out);
    system.receive(&out);
    assert_eq!(system_events(&mut system), [SystemEvent::Confirmed(7)]);
    system.handle_transport_closed();
    assert_eq!(
        system_events(&mut system),
        [
            SystemEvent::Failed(8),
            SystemEvent::Unavailable("broker connection closed".into())
        ]
    );
    assert!(system.poll_close_transport());
}
