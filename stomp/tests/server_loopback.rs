//! The tokio server over real loopback sockets: exact frames, routing, user destinations,
//! authentication, errors, queues, transactions, heart-beats, slow consumers, fan-out,
//! interceptors, events, counters, axum.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rfc6455::Message;
use rfc6455::handshake::ClientRequest;
use rfc6455::io::Rejection;
use rfc6455::io::tokio::{MaybeTlsStream, WebSocket};
use rfc6455_stomp::app::{
    Actions, Handshake, Inbound, Interceptor, SessionInfo, StompEvent, Verdict,
};
use rfc6455_stomp::broker::BrokerConfig;
use rfc6455_stomp::server::ConnectRequest;
use rfc6455_stomp::tokio::{Builder, Client, ClientError, MailboxLimits, StompServer};
use rfc6455_stomp::{
    AckMode, ClientConfig, ClientEvent, Command, Frame, HeartBeat, ServerConfig, ServerEvent,
};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

/// The example's application: /app/echo, /app/whisper, alice and bob.
fn app() -> Builder {
    StompServer::builder()
        .route("/echo", |m: &Inbound<'_>, out: &mut Actions| {
            let headers: Vec<_> = m
                .frame
                .headers()
                .filter(|(n, _)| *n == "content-type")
                .collect();
            out.publish("/topic/echo", &headers, m.body().clone());
            Ok(())
        })
        .route("/whisper", |m: &Inbound<'_>, out: &mut Actions| {
            let to = m.header("to").ok_or("a whisper needs a `to` header")?;
            let from = m.session.user.as_deref().unwrap_or("anonymous");
            out.send_to_user(to, "/queue/whisper", &[("from", from)], m.body().clone());
            Ok(())
        })
        .route("/reply", |m: &Inbound<'_>, out: &mut Actions| {
            out.reply("/topic/replies", &[], m.body().clone());
            Ok(())
        })
        .authenticator(|h: &Handshake, c: &ConnectRequest| {
            match (c.login.as_deref(), c.passcode.as_deref()) {
                // No login: whoever the handshake authenticated (or anonymous).
                (None, _) => Ok(h.user.clone()),
                (Some("alice"), Some("alice-pw")) => Ok(Some("alice".to_owned())),
                (Some("bob"), Some("bob-pw")) => Ok(Some("bob".to_owned())),
                _ => Err("bad credentials".to_owned()),
            }
        })
}

async fn start(builder: Builder) -> (String, StompServer) {
    let server = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let s = server.clone();
    tokio::spawn(async move { s.listen(listener).await });
    (url, server)
}

fn config(login: Option<(&str, &str)>) -> ClientConfig {
    let config = ClientConfig::new("localhost").heart_beat(HeartBeat::NONE);
    match login {
        Some((user, pw)) => config.credentials(user, pw),
        None => config,
    }
}

async fn client(url: &str, login: Option<(&str, &str)>) -> Client {
    timeout(WAIT, Client::connect(url, config(login)))
        .await
        .expect("connect in time")
        .expect("connected")
}

/// The next MESSAGE (receipts skipped).
async fn message(client: &mut Client) -> Frame {
    loop {
        match timeout(WAIT, client.next_event())
            .await
            .expect("an event in time")
        {
            Ok(ClientEvent::Message(m)) => return m,
            Ok(ClientEvent::Receipt { .. }) => {}
            other => panic!("expected a MESSAGE, got {other:?}"),
        }
    }
}

/// Subscribes and waits until the server has the subscription (its receipt).
async fn subscribe(client: &mut Client, destination: &str, ack: AckMode) -> String {
    let id = client
        .session()
        .subscribe(destination, ack, &[("receipt", "sub-ready")])
        .unwrap();
    client.flush().await.unwrap();
    match timeout(WAIT, client.next_event()).await.unwrap() {
        Ok(ClientEvent::Receipt { receipt_id }) => assert_eq!(receipt_id, "sub-ready"),
        other => panic!("expected the subscription's receipt, got {other:?}"),
    }
    id
}

fn body(frame: &Frame) -> &str {
    std::str::from_utf8(frame.body()).unwrap()
}

/// A plain WebSocket offering `v12.stomp`, for exact frames.
async fn raw(url: &str) -> WebSocket<MaybeTlsStream> {
    let request = ClientRequest::from_url(url)
        .unwrap()
        .protocols(["v12.stomp"]);
    let config = rfc6455::Config::default().max_message_size(4 << 20);
    let (ws, response) = rfc6455::io::tokio::connect_with(&request, config)
        .await
        .unwrap();
    assert_eq!(response.protocol.as_deref(), Some("v12.stomp"));
    ws
}

async fn send_raw(ws: &mut WebSocket<MaybeTlsStream>, frame: &str) {
    ws.send(Message::text(frame)).await.unwrap();
}

/// The next data message as text; `None` once the WebSocket is closed.
async fn recv_raw(ws: &mut WebSocket<MaybeTlsStream>) -> Option<String> {
    loop {
        match timeout(WAIT, ws.recv()).await.expect("a message in time") {
            Ok(Some(Message::Text(t))) => return Some(t.to_string()),
            Ok(Some(Message::Binary(b))) => return Some(String::from_utf8_lossy(&b).into_owned()),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[tokio::test]
async fn echo_conversation_byte_for_byte() {
    let (url, _server) = start(app()).await;
    let mut ws = raw(&url).await;
    send_raw(&mut ws, "CONNECT\naccept-version:1.2\nhost:localhost\nlogin:alice\npasscode:alice-pw\nheart-beat:0,0\n\n\0").await;
    assert_eq!(
        recv_raw(&mut ws).await.unwrap(),
        format!(
            "CONNECTED\nversion:1.2\nheart-beat:10000,10000\nsession:1\nserver:rfc6455-stomp/{VERSION}\nuser-name:alice\n\n\0"
        )
    );
    send_raw(
        &mut ws,
        "SUBSCRIBE\nid:s1\ndestination:/topic/echo\nreceipt:r1\n\n\0",
    )
    .await;
    assert_eq!(
        recv_raw(&mut ws).await.unwrap(),
        "RECEIPT\nreceipt-id:r1\n\n\0"
    );
    send_raw(
        &mut ws,
        "SEND\ndestination:/app/echo\ncontent-type:text/plain\nreceipt:r2\n\nhi\0",
    )
    .await;
    assert_eq!(
        recv_raw(&mut ws).await.unwrap(),
        "RECEIPT\nreceipt-id:r2\n\n\0"
    );
    assert_eq!(
        recv_raw(&mut ws).await.unwrap(),
        "MESSAGE\ndestination:/topic/echo\nmessage-id:1\nsubscription:s1\ncontent-type:text/plain\ncontent-length:2\n\nhi\0"
    );
    // Graceful end: DISCONNECT with a receipt, the RECEIPT, then the close.
    send_raw(&mut ws, "DISCONNECT\nreceipt:bye\n\n\0").await;
    assert_eq!(
        recv_raw(&mut ws).await.unwrap(),
        "RECEIPT\nreceipt-id:bye\n\n\0"
    );
    assert_eq!(recv_raw(&mut ws).await, None);
}

#[tokio::test]
async fn stompjs_style_connect_without_host_and_without_subprotocol() {
    let (url, _server) = start(app()).await;
    // No subprotocol offered (stomp.py's WSConnection), no host header (stompjs).
    let request = ClientRequest::from_url(&url).unwrap();
    let (mut ws, response) = rfc6455::io::tokio::connect_with(&request, rfc6455::Config::default())
        .await
        .unwrap();
    assert_eq!(response.protocol, None);
    send_raw(
        &mut ws,
        "CONNECT\naccept-version:1.0,1.1,1.2\nheart-beat:0,0\n\n\0",
    )
    .await;
    let connected = recv_raw(&mut ws).await.unwrap();
    assert!(
        connected.starts_with("CONNECTED\nversion:1.2\n"),
        "{connected}"
    );
    assert!(!connected.contains("user-name"), "anonymous: {connected}");
}

#[tokio::test]
async fn whisper_reaches_only_bobs_whisper_subscriptions() {
    let (url, server) = start(app()).await;
    let mut alice = client(&url, Some(("alice", "alice-pw"))).await;
    let mut bob1 = client(&url, Some(("bob", "bob-pw"))).await;
    let mut bob2 = client(&url, Some(("bob", "bob-pw"))).await;
    for c in [&mut alice, &mut bob1, &mut bob2] {
        subscribe(c, "/user/queue/whisper", AckMode::Auto).await;
    }
    subscribe(&mut alice, "/topic/echo", AckMode::Auto).await;
    assert_eq!(
        server.users(),
        [("alice".to_owned(), 1), ("bob".to_owned(), 2)]
    );
    alice
        .send("/app/whisper", &[("to", "bob")], "psst".into())
        .await
        .unwrap();
    alice
        .send("/app/echo", &[], "sentinel".into())
        .await
        .unwrap();
    for bob in [&mut bob1, &mut bob2] {
        let m = message(bob).await;
        assert_eq!(body(&m), "psst");
        assert_eq!(m.header("from"), Some("alice"));
        assert_eq!(
            m.header("destination"),
            Some("/topic/user.bob.queue.whisper")
        );
    }
    // Alice's next message is the sentinel: the whisper did not reach her.
    assert_eq!(body(&message(&mut alice).await), "sentinel");
    // A client SEND to /user/{name}/... reaches that user too.
    alice
        .send(
            "/user/bob/queue/whisper",
            &[("from", "direct")],
            "hey".into(),
        )
        .await
        .unwrap();
    assert_eq!(body(&message(&mut bob1).await), "hey");

    // Nobody subscribes to another user's translated topic.
    let mut mallory = client(&url, None).await;
    mallory
        .session()
        .subscribe("/topic/user.bob.queue.whisper", AckMode::Auto, &[])
        .unwrap();
    mallory.flush().await.unwrap();
    let Ok(ClientEvent::Error(e)) = timeout(WAIT, mallory.next_event()).await.unwrap() else {
        panic!("expected ERROR")
    };
    assert_eq!(
        e.header("message"),
        Some("cannot subscribe to /topic/user.bob.queue.whisper")
    );
    // Anonymous sessions have no user destinations.
    let mut anonymous = client(&url, None).await;
    anonymous
        .session()
        .subscribe("/user/queue/whisper", AckMode::Auto, &[])
        .unwrap();
    anonymous.flush().await.unwrap();
    let Ok(ClientEvent::Error(e)) = timeout(WAIT, anonymous.next_event()).await.unwrap() else {
        panic!("expected ERROR")
    };
    assert_eq!(
        e.header("message"),
        Some("user destinations need an authenticated user")
    );
}

#[tokio::test]
async fn wrong_passcode_gets_error_then_close_and_others_are_served() {
    let (url, server) = start(app()).await;
    let mut other = client(&url, Some(("bob", "bob-pw"))).await;
    subscribe(&mut other, "/topic/echo", AckMode::Auto).await;
    let mut ws = raw(&url).await;
    send_raw(
        &mut ws,
        "CONNECT\naccept-version:1.2\nhost:h\nlogin:alice\npasscode:nope\n\n\0",
    )
    .await;
    assert_eq!(
        recv_raw(&mut ws).await.unwrap(),
        "ERROR\nmessage:bad credentials\ncontent-type:text/plain\ncontent-length:15\n\nbad credentials\0"
    );
    assert_eq!(recv_raw(&mut ws).await, None, "closed after ERROR");
    match Client::connect(&url, config(Some(("bob", "wrong")))).await {
        Err(ClientError::Error(frame)) => {
            assert_eq!(frame.header("message"), Some("bad credentials"))
        }
        other => panic!("expected ERROR, got {other:?}"),
    }
    other
        .send("/app/echo", &[], "still here".into())
        .await
        .unwrap();
    assert_eq!(body(&message(&mut other).await), "still here");
    assert_eq!(server.stats().rejected_connects, 2);
}

#[tokio::test]
async fn malformed_frames_get_error_and_close_while_others_are_served() {
    let (url, _server) = start(app()).await;
    let mut good = client(&url, None).await;
    subscribe(&mut good, "/topic/echo", AckMode::Auto).await;
    let cases = [
        // "Undefined escape sequences such as \t ... MUST be treated as a fatal protocol error."
        (
            "SEND\ndestination:/topic/a\nbad:\\t\n\nx\0",
            "undefined escape sequence in header",
        ),
        ("FROB\n\n\0", "unknown command"),
        (
            "SUBSCRIBE\ndestination:/topic/a\n\n\0",
            "missing required header",
        ),
        (
            "SEND\ndestination:/nowhere\n\nx\0",
            "unknown destination /nowhere",
        ),
        (
            "SEND\ndestination:/app/nothing\n\nx\0",
            "no handler for /app/nothing",
        ),
        (
            "SEND\ndestination:/app/whisper\n\nx\0",
            "a whisper needs a `to` header",
        ),
        ("ACK\nid:12\n\n\0", "unknown ack id"),
    ];
    for (frame, message) in cases {
        let mut ws = raw(&url).await;
        send_raw(&mut ws, "CONNECT\naccept-version:1.2\nhost:h\n\n\0").await;
        assert!(recv_raw(&mut ws).await.unwrap().starts_with("CONNECTED\n"));
        send_raw(&mut ws, frame).await;
        let error = recv_raw(&mut ws).await.unwrap();
        assert!(
            error.starts_with(&format!("ERROR\nmessage:{message}\n")),
            "{frame:?} → {error:?}"
        );
        assert_eq!(
            recv_raw(&mut ws).await,
            None,
            "closed after ERROR for {frame:?}"
        );
    }
    good.send("/app/echo", &[], "served".into()).await.unwrap();
    assert_eq!(body(&message(&mut good).await), "served");
}

#[tokio::test]
async fn queue_messages_go_to_one_subscriber_and_unacked_ones_are_redelivered() {
    let (url, _server) = start(app()).await;
    let mut w1 = client(&url, None).await;
    let mut w2 = client(&url, None).await;
    subscribe(&mut w1, "/queue/jobs", AckMode::ClientIndividual).await;
    subscribe(&mut w2, "/queue/jobs", AckMode::ClientIndividual).await;
    let mut producer = client(&url, None).await;
    for job in ["j1", "j2", "j3", "j4"] {
        producer.send("/queue/jobs", &[], job.into()).await.unwrap();
    }
    let a = message(&mut w1).await;
    let b = message(&mut w1).await;
    let c = message(&mut w2).await;
    let d = message(&mut w2).await;
    assert_eq!(
        [body(&a), body(&b), body(&c), body(&d)],
        ["j1", "j3", "j2", "j4"]
    );
    // w1 acknowledges j1 only, then vanishes without DISCONNECT: j3 goes to w2.
    w1.ack(&a).await.unwrap();
    w2.ack(&c).await.unwrap();
    w2.ack(&d).await.unwrap();
    drop(w1);
    let again = message(&mut w2).await;
    assert_eq!(body(&again), "j3");
    assert_eq!(again.header("redelivered"), Some("true"));
    // NACK: back to the queue, and (only subscriber) to w2 again.
    w2.session().nack(&again, None).unwrap();
    w2.flush().await.unwrap();
    let third = message(&mut w2).await;
    assert_eq!(body(&third), "j3");
    w2.ack(&third).await.unwrap();
}

#[tokio::test]
async fn client_mode_ack_is_cumulative_and_held_messages_wait_for_a_subscriber() {
    let (url, _server) = start(app()).await;
    let mut producer = client(&url, None).await;
    for n in 0..5 {
        producer
            .send("/queue/held", &[], format!("m{n}").into())
            .await
            .unwrap();
    }
    producer
        .send("/queue/held", &[("receipt", "last")], "m5".into())
        .await
        .unwrap();
    assert!(matches!(
        producer.next_event().await,
        Ok(ClientEvent::Receipt { .. })
    ));
    let mut consumer = client(&url, None).await;
    subscribe(&mut consumer, "/queue/held", AckMode::Client).await;
    let mut got = Vec::new();
    for _ in 0..6 {
        got.push(message(&mut consumer).await);
    }
    let bodies: Vec<&str> = got.iter().map(body).collect();
    assert_eq!(bodies, ["m0", "m1", "m2", "m3", "m4", "m5"]);
    // One cumulative ACK of m3 settles m0..m3; closing redelivers m4 and m5 only.
    consumer.ack(&got[3]).await.unwrap();
    consumer.disconnect().await.unwrap();
    let mut next = client(&url, None).await;
    subscribe(&mut next, "/queue/held", AckMode::Auto).await;
    assert_eq!(body(&message(&mut next).await), "m4");
    assert_eq!(body(&message(&mut next).await), "m5");
}

#[tokio::test]
async fn transactions_deliver_at_commit_and_never_after_abort() {
    let (url, _server) = start(app()).await;
    let mut sub = client(&url, None).await;
    subscribe(&mut sub, "/topic/tx", AckMode::Auto).await;
    let mut pub_ = client(&url, None).await;
    let tx = pub_.session().begin().unwrap();
    pub_.session()
        .send("/topic/tx", &[("transaction", &tx)], "a".into())
        .unwrap();
    pub_.session()
        .send("/topic/tx", &[("transaction", &tx)], "b".into())
        .unwrap();
    let aborted = pub_.session().begin().unwrap();
    pub_.session()
        .send("/topic/tx", &[("transaction", &aborted)], "never".into())
        .unwrap();
    pub_.session().abort(&aborted).unwrap();
    pub_.session()
        .send("/topic/tx", &[], "outside".into())
        .unwrap();
    pub_.session().commit(&tx).unwrap();
    pub_.flush().await.unwrap();
    let got = [
        message(&mut sub).await,
        message(&mut sub).await,
        message(&mut sub).await,
    ];
    assert_eq!(
        got.iter().map(body).collect::<Vec<_>>(),
        ["outside", "a", "b"]
    );
}

#[tokio::test]
async fn heart_beats_both_ways_and_a_silent_client_is_dropped() {
    let session = ServerConfig::default()
        .heart_beat(HeartBeat {
            send_ms: 100,
            receive_ms: 100,
        })
        .host_when_missing(Some("/"));
    let (url, _server) = start(app().session_config(session)).await;
    // A client that beats stays connected past many intervals.
    let mut beating = Client::connect(
        &url,
        ClientConfig::new("h").heart_beat(HeartBeat {
            send_ms: 100,
            receive_ms: 100,
        }),
    )
    .await
    .unwrap();
    subscribe(&mut beating, "/topic/echo", AckMode::Auto).await;
    let beating = tokio::spawn(async move {
        // Waiting for events keeps beating: nothing arrives for 600 ms, the session lives.
        assert!(
            timeout(Duration::from_millis(600), beating.next_event())
                .await
                .is_err()
        );
        beating
            .send("/app/echo", &[], "alive".into())
            .await
            .unwrap();
        assert_eq!(body(&message(&mut beating).await), "alive");
    });
    // A silent one hears beats ("\n") then, after 100 ms + 50% margin, an ERROR.
    let mut silent = raw(&url).await;
    send_raw(
        &mut silent,
        "CONNECT\naccept-version:1.2\nhost:h\nheart-beat:100,100\n\n\0",
    )
    .await;
    assert!(
        recv_raw(&mut silent)
            .await
            .unwrap()
            .starts_with("CONNECTED\n")
    );
    let started = std::time::Instant::now();
    let mut beats = 0;
    let error = loop {
        let m = recv_raw(&mut silent).await.unwrap();
        if m == "\n" {
            beats += 1;
        } else {
            break m;
        }
    };
    let elapsed = started.elapsed();
    assert!(
        error.starts_with("ERROR\nmessage:heart-beat timeout\n"),
        "{error}"
    );
    assert!(beats >= 1, "the server sent heart-beats");
    assert!(
        elapsed >= Duration::from_millis(140) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    assert_eq!(recv_raw(&mut silent).await, None);
    beating.await.unwrap();
}

#[tokio::test]
async fn a_slow_consumer_is_disconnected_and_nobody_else_waits() {
    let limits = {
        let mut l = MailboxLimits::default();
        l.max_messages = 8;
        l
    };
    let (url, server) = start(
        app()
            .mailbox_limits(limits)
            .write_timeout(Duration::from_secs(1)),
    )
    .await;
    let mut fast = client(&url, None).await;
    subscribe(&mut fast, "/topic/flood", AckMode::Auto).await;
    // The slow one subscribes, then never reads again.
    let mut slow = raw(&url).await;
    send_raw(
        &mut slow,
        "CONNECT\naccept-version:1.2\nhost:h\nheart-beat:0,0\n\n\0",
    )
    .await;
    recv_raw(&mut slow).await.unwrap();
    send_raw(
        &mut slow,
        "SUBSCRIBE\nid:0\ndestination:/topic/flood\nreceipt:r\n\n\0",
    )
    .await;
    assert_eq!(
        recv_raw(&mut slow).await.unwrap(),
        "RECEIPT\nreceipt-id:r\n\n\0"
    );
    let publisher = server.publisher();
    let payload = Bytes::from(vec![b'x'; 64 * 1024]);
    let reader = tokio::spawn(async move {
        for n in 0..300 {
            let m = message(&mut fast).await;
            assert_eq!(m.header("n"), Some(n.to_string().as_str()), "in order");
        }
        fast
    });
    for n in 0..300 {
        publisher
            .publish("/topic/flood", &[("n", &n.to_string())], payload.clone())
            .await
            .unwrap();
        tokio::task::yield_now().await;
    }
    timeout(WAIT, reader)
        .await
        .expect("the fast subscriber got everything")
        .unwrap();
    assert_eq!(server.stats().slow_consumers, 1);
    drop(slow);
}

#[tokio::test]
async fn two_hundred_subscribers_get_fifty_messages_each_in_order() {
    let (url, server) = start(app()).await;
    let mut subscribers = Vec::new();
    for _ in 0..200 {
        let mut c = client(&url, None).await;
        subscribe(&mut c, "/topic/fan", AckMode::Auto).await;
        subscribers.push(c);
    }
    let mut publisher = client(&url, None).await;
    for n in 0..50 {
        publisher
            .send("/topic/fan", &[], n.to_string().into())
            .await
            .unwrap();
    }
    let tasks: Vec<_> = subscribers
        .into_iter()
        .map(|mut c| {
            tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..50 {
                    got.push(body(&message(&mut c).await).to_owned());
                }
                got
            })
        })
        .collect();
    let expected: Vec<String> = (0..50).map(|n| n.to_string()).collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), expected);
    }
    let stats = server.stats();
    assert_eq!(stats.delivered, 200 * 50);
    assert_eq!(stats.frames_in(Command::Send), 50);
}

#[tokio::test]
async fn bodies_with_nuls_binary_bodies_and_escaped_headers_round_trip() {
    let (url, _server) = start(app()).await;
    let mut sub = client(&url, None).await;
    subscribe(&mut sub, "/topic/bin", AckMode::Auto).await;
    let mut publisher = client(&url, None).await;
    let mut big: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
    big[0] = 0;
    let texty = Bytes::from_static(b"a\0b\0\0c");
    publisher
        .send("/topic/bin", &[("weird", "a:b\\c\nd\re")], texty.clone())
        .await
        .unwrap();
    publisher
        .send("/topic/bin", &[], Bytes::from(big.clone()))
        .await
        .unwrap();
    let m = message(&mut sub).await;
    assert_eq!(m.body(), &texty);
    assert_eq!(m.header("weird"), Some("a:b\\c\nd\re"));
    let m = message(&mut sub).await;
    assert_eq!(&m.body()[..], &big[..]);
}

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

struct Guard(Arc<Recorder>);

impl Interceptor for Guard {
    fn inbound(&self, session: &SessionInfo, event: &mut ServerEvent) -> Verdict {
        if let ServerEvent::Send(frame) = event {
            self.0.0.lock().unwrap().push(format!(
                "in {} {}",
                session.id,
                frame.header("destination").unwrap()
            ));
            match frame.header("destination") {
                Some("/topic/forbidden") => return Verdict::Reject("forbidden".into()),
                Some("/topic/ignored") => return Verdict::Drop,
                _ => {}
            }
        }
        Verdict::Continue
    }

    fn outbound(&self, message: &mut Frame) -> Verdict {
        message.push_header("x-seen", "yes");
        Verdict::Continue
    }
}

#[tokio::test]
async fn interceptors_events_and_counters() {
    let recorder = Arc::new(Recorder::default());
    let events = recorder.clone();
    let (url, server) = start(
        app()
            .interceptor(Guard(recorder.clone()))
            .on_event(move |e| {
                let line = match e {
                    StompEvent::Connected { session, user } => {
                        format!("connected {session} {user:?}")
                    }
                    StompEvent::Subscribed {
                        session,
                        subscription,
                        destination,
                    } => {
                        format!("subscribed {session} {subscription} {destination}")
                    }
                    StompEvent::Unsubscribed {
                        session,
                        subscription,
                    } => format!("unsubscribed {session} {subscription}"),
                    StompEvent::Disconnected {
                        session, reason, ..
                    } => format!("disconnected {session} {reason:?}"),
                    other => format!("{other:?}"),
                };
                events.0.lock().unwrap().push(line);
            }),
    )
    .await;
    let mut c = client(&url, Some(("alice", "alice-pw"))).await;
    let id = subscribe(&mut c, "/topic/ok", AckMode::Auto).await;
    c.send("/topic/ignored", &[], "dropped".into())
        .await
        .unwrap();
    c.send("/topic/ok", &[], "kept".into()).await.unwrap();
    let m = message(&mut c).await;
    assert_eq!(body(&m), "kept");
    assert_eq!(m.header("x-seen"), Some("yes"));
    c.session().unsubscribe(&id, &[]).unwrap();
    c.send("/topic/forbidden", &[], "no".into()).await.unwrap();
    let Ok(ClientEvent::Error(e)) = timeout(WAIT, c.next_event()).await.unwrap() else {
        panic!("expected ERROR")
    };
    assert_eq!(e.header("message"), Some("forbidden"));
    // The session's task emits its last event as it ends.
    for _ in 0..100 {
        if recorder
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with("disconnected"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        *recorder.0.lock().unwrap(),
        [
            "connected 1 Some(\"alice\")",
            "subscribed 1 0 /topic/ok",
            "in 1 /topic/ignored",
            "in 1 /topic/ok",
            "unsubscribed 1 0",
            "in 1 /topic/forbidden",
            "disconnected 1 Error(Rejected(\"forbidden\"))",
        ]
    );
    let stats = server.stats();
    assert_eq!(stats.sessions_total, 1);
    assert_eq!(stats.sessions_open, 0);
    assert_eq!(stats.frames_in(Command::Connect), 1);
    assert_eq!(stats.frames_in(Command::Send), 3);
    assert_eq!(stats.frames_in(Command::Subscribe), 1);
    assert_eq!(stats.frames_in(Command::Unsubscribe), 1);
    assert_eq!(stats.frames_out(Command::Connected), 1);
    assert_eq!(stats.frames_out(Command::Receipt), 1);
    assert_eq!(stats.frames_out(Command::Message), 1);
    assert_eq!(stats.frames_out(Command::Error), 1);
    assert_eq!(stats.published, 1);
    assert!(
        stats.to_string().starts_with(
            "sessions[open=0, total=1], in[CONNECT=1, SEND=3, SUBSCRIBE=1, UNSUBSCRIBE=1]"
        ),
        "{stats}"
    );
}

#[tokio::test]
async fn handshake_authentication_by_token_and_path() {
    let (url, _server) = start(app().path("/ws").handshake(|request| {
        let token = request.query().unwrap_or_default();
        match token {
            "token=alice-token" => Ok(Handshake::user("alice").attribute("via", "token")),
            "" => Ok(Handshake::anonymous()),
            _ => Err(Rejection::new(401, "bad token")),
        }
    }))
    .await;
    let mut ws = raw(&format!("{url}?token=alice-token")).await;
    // No login in CONNECT: the handshake's user.
    send_raw(&mut ws, "CONNECT\naccept-version:1.2\nhost:h\n\n\0").await;
    assert!(
        recv_raw(&mut ws)
            .await
            .unwrap()
            .contains("\nuser-name:alice\n")
    );
    let refused = rfc6455::io::tokio::connect(&format!("{url}?token=stolen")).await;
    assert!(
        matches!(&refused, Err(rfc6455::io::Error::Handshake(e)) if e.to_string().contains("401")),
        "{refused:?}"
    );
    let wrong_path = rfc6455::io::tokio::connect(&url.replace("/ws", "/elsewhere")).await;
    assert!(
        matches!(&wrong_path, Err(rfc6455::io::Error::Handshake(e)) if e.to_string().contains("404")),
        "{wrong_path:?}"
    );
}

#[tokio::test]
async fn the_handshake_user_is_kept_by_the_default_authenticator() {
    let server = StompServer::builder()
        .handshake(|request| match request.header_str("authorization") {
            Some("Bearer t-1") => Ok(Handshake::user("carol")),
            _ => Err(Rejection::new(401, "no token")),
        })
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let s = server.clone();
    tokio::spawn(async move { s.listen(listener).await });
    let request = ClientRequest::from_url(&format!("ws://{addr}/"))
        .unwrap()
        .header("Authorization", "Bearer t-1");
    let (ws, _) = rfc6455::io::tokio::connect_with(&request, rfc6455::Config::default())
        .await
        .unwrap();
    let c = Client::handshake(ws, config(None)).await.unwrap();
    assert_eq!(
        c.connected_frame().unwrap().header("user-name"),
        Some("carol")
    );
    assert_eq!(server.users(), [("carol".to_owned(), 1)]);
}

#[tokio::test]
async fn publisher_and_replies() {
    let (url, server) = start(app()).await;
    let mut bob = client(&url, Some(("bob", "bob-pw"))).await;
    subscribe(&mut bob, "/user/queue/news", AckMode::Auto).await;
    subscribe(&mut bob, "/topic/replies", AckMode::Auto).await;
    let mut other = client(&url, None).await;
    subscribe(&mut other, "/topic/replies", AckMode::Auto).await;
    let publisher = server.publisher();
    publisher
        .send_to_user("bob", "/queue/news", &[], "for bob")
        .await
        .unwrap();
    assert_eq!(body(&message(&mut bob).await), "for bob");
    assert_eq!(
        publisher.publish("/elsewhere", &[], "x").await,
        Err(rfc6455_stomp::tokio::PublishError::NotBrokerDestination)
    );
    // /app/reply answers the sender's own /topic/replies subscription only.
    bob.send("/app/reply", &[], "only me".into()).await.unwrap();
    other
        .send("/topic/replies", &[], "to all".into())
        .await
        .unwrap();
    assert_eq!(body(&message(&mut bob).await), "only me");
    assert_eq!(body(&message(&mut bob).await), "to all");
    assert_eq!(body(&message(&mut other).await), "to all");
}

#[tokio::test]
async fn mounted_in_axum() {
    use axum::routing::any;
    use rfc6455::io::axum::WebSocketUpgrade;
    let stomp = app().simple_broker(BrokerConfig::default()).build();
    let s = stomp.clone();
    let router = axum::Router::new().route(
        "/stomp",
        any(move |ws: WebSocketUpgrade| async move { s.upgrade(ws, Handshake::user("axum-user")) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/stomp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    // No login: the user the axum handler authenticated.
    let mut c = client(&url, None).await;
    assert_eq!(
        c.connected_frame().unwrap().header("user-name"),
        Some("axum-user")
    );
    subscribe(&mut c, "/topic/echo", AckMode::Auto).await;
    c.send("/app/echo", &[], "via axum".into()).await.unwrap();
    assert_eq!(body(&message(&mut c).await), "via axum");
    assert_eq!(stomp.stats().sessions_open, 1);
    c.disconnect().await.unwrap();
}

struct Doorman;

impl Interceptor for Doorman {
    fn inbound(&self, _: &SessionInfo, event: &mut ServerEvent) -> Verdict {
        match event {
            ServerEvent::Connect(c) if c.login.as_deref() == Some("mallory") => {
                Verdict::Reject("no entry".into())
            }
            ServerEvent::Connect(c) if c.login.as_deref() == Some("ghost") => Verdict::Drop,
            _ => Verdict::Continue,
        }
    }
}

#[tokio::test]
async fn an_interceptor_can_refuse_a_connect() {
    let (url, server) = start(app().interceptor(Doorman)).await;
    for (login, message) in [("mallory", "no entry"), ("ghost", "connection refused")] {
        match Client::connect(&url, config(Some((login, "x")))).await {
            Err(ClientError::Error(frame)) => assert_eq!(frame.header("message"), Some(message)),
            other => panic!("{login}: expected ERROR, got {other:?}"),
        }
    }
    client(&url, Some(("alice", "alice-pw"))).await;
    assert_eq!(
        server.stats().rejected_connects,
        0,
        "refused by the interceptor, not the authenticator"
    );
}
