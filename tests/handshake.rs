//! The opening handshake: valid requests and responses byte for byte, and tables of
//! rejected ones with their statuses.

use rfc6455::handshake::{
    AcceptOptions, AllowedOrigins, ClientHandshake, ClientRequest, Extension, HandshakeError,
    ServerConfig, ServerHandshake,
};
use rfc6455::{Status, UsageError};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn request_with(lines: &[&str]) -> Vec<u8> {
    let mut s = String::from("GET /chat?room=lobby HTTP/1.1\r\n");
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

fn valid_lines() -> Vec<String> {
    vec![
        "Host: server.example.com".into(),
        "Upgrade: websocket".into(),
        "Connection: Upgrade".into(),
        format!("Sec-WebSocket-Key: {KEY}"),
        "Origin: http://example.com".into(),
        "Sec-WebSocket-Protocol: chat, superchat".into(),
        "Sec-WebSocket-Version: 13".into(),
    ]
}

/// Parses and answers a request; returns the response bytes and the result.
fn answer(config: &ServerConfig, request: &[u8]) -> (String, Result<(), HandshakeError>) {
    let mut hs = ServerHandshake::new(config);
    match hs.receive(request) {
        Ok(Status::Complete(())) => {}
        Ok(Status::Partial) => panic!("request incomplete"),
        Err(e) => {
            let mut out = Vec::new();
            e.write_response(&mut out);
            return (String::from_utf8(out).unwrap(), Err(e));
        }
    }
    let req = hs.request().unwrap();
    let mut out = Vec::new();
    let result = config.accept(&req, &mut out).map(|_| ());
    (String::from_utf8(out).unwrap(), result)
}

#[test]
fn the_rfc_example_gets_the_exact_101_response() {
    let lines = valid_lines();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let config = ServerConfig::default().subprotocols(["chat"]);
    let (response, result) = answer(&config, &request_with(&lines));
    assert_eq!(result, Ok(()));
    assert_eq!(
        response,
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {ACCEPT}\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
        )
    );
}

#[test]
fn request_view_exposes_path_query_and_headers() {
    let lines = valid_lines();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let wire = request_with(&lines);
    let config = ServerConfig::default();
    let mut hs = ServerHandshake::new(&config);
    // Byte by byte: Partial until the last byte, never an error.
    for (i, b) in wire.iter().enumerate() {
        let status = hs.receive(&[*b]).unwrap();
        assert_eq!(status == Status::Partial, i + 1 < wire.len(), "byte {i}");
    }
    let req = hs.request().unwrap();
    assert_eq!(req.method(), "GET");
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.query(), Some("room=lobby"));
    assert_eq!(req.host(), Some("server.example.com"));
    assert_eq!(req.origin(), Some("http://example.com"));
    assert_eq!(req.protocols().collect::<Vec<_>>(), ["chat", "superchat"]);
    assert_eq!(req.headers().count(), 7);
    assert!(req.is_websocket_upgrade());
    assert_eq!(req.validate(), Ok(()));
}

#[test]
fn rejected_requests_and_their_statuses() {
    let base = valid_lines();
    // Each case: lines to drop (by prefix), lines to add, expected error.
    let cases: Vec<(&str, &[&str], &[&str], HandshakeError)> = vec![
        ("no Host", &["Host"], &[], HandshakeError::MissingHost),
        (
            "no Upgrade",
            &["Upgrade"],
            &[],
            HandshakeError::NotWebSocketUpgrade,
        ),
        (
            "Upgrade: h2c",
            &["Upgrade"],
            &["Upgrade: h2c"],
            HandshakeError::NotWebSocketUpgrade,
        ),
        (
            "no Connection",
            &["Connection"],
            &[],
            HandshakeError::MissingConnectionUpgrade,
        ),
        (
            "Connection: keep-alive",
            &["Connection"],
            &["Connection: keep-alive"],
            HandshakeError::MissingConnectionUpgrade,
        ),
        (
            "no key",
            &["Sec-WebSocket-Key"],
            &[],
            HandshakeError::InvalidKey,
        ),
        (
            "short key",
            &["Sec-WebSocket-Key"],
            &["Sec-WebSocket-Key: dGhlIHNhbXBsZQ=="],
            HandshakeError::InvalidKey,
        ),
        (
            "key not base64",
            &["Sec-WebSocket-Key"],
            &["Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!=="],
            HandshakeError::InvalidKey,
        ),
        (
            "two keys",
            &[],
            &["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="],
            HandshakeError::InvalidKey,
        ),
        (
            "no version",
            &["Sec-WebSocket-Version"],
            &[],
            HandshakeError::MissingVersion,
        ),
        (
            "version 8",
            &["Sec-WebSocket-Version"],
            &["Sec-WebSocket-Version: 8"],
            HandshakeError::UnsupportedVersion,
        ),
    ];
    for (name, drop, add, expected) in cases {
        let mut lines: Vec<&str> = base
            .iter()
            .map(String::as_str)
            .filter(|l| !drop.iter().any(|d| l.starts_with(&format!("{d}:"))))
            .collect();
        lines.extend_from_slice(add);
        let (response, result) = answer(&ServerConfig::default(), &request_with(&lines));
        assert_eq!(result, Err(expected.clone()), "{name}");
        let status = expected.status();
        assert!(
            response.starts_with(&format!("HTTP/1.1 {status} ")),
            "{name}: {response}"
        );
        assert!(response.ends_with(expected.reason()), "{name}: body");
        if status == 426 {
            assert!(
                response.contains("\r\nSec-WebSocket-Version: 13\r\n"),
                "{name}"
            );
        }
    }
}

#[test]
fn method_version_and_origin_rejections() {
    let lines = valid_lines();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let good = String::from_utf8(request_with(&lines)).unwrap();

    let post = good.replacen("GET", "POST", 1);
    let (response, result) = answer(&ServerConfig::default(), post.as_bytes());
    assert_eq!(result, Err(HandshakeError::MethodNotGet));
    assert!(response.starts_with("HTTP/1.1 400 Bad Request\r\n"));

    let http10 = good.replacen("HTTP/1.1", "HTTP/1.0", 1);
    let (_, result) = answer(&ServerConfig::default(), http10.as_bytes());
    assert_eq!(result, Err(HandshakeError::HttpVersion));

    let config = ServerConfig::default().allowed_origins(
        AllowedOrigins::none()
            .allow("https://app.example.com")
            .unwrap(),
    );
    let (response, result) = answer(&config, good.as_bytes());
    assert_eq!(result, Err(HandshakeError::OriginRejected));
    assert_eq!(
        response,
        "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain; \
         charset=utf-8\r\nContent-Length: 18\r\n\r\norigin not allowed"
    );
}

#[test]
fn header_limits() {
    let config = ServerConfig::default().max_headers(8).max_head_size(512);
    let many: Vec<String> = (0..9).map(|i| format!("X-{i}: y")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let (response, result) = answer(&config, &request_with(&many));
    assert_eq!(result, Err(HandshakeError::TooManyHeaders { limit: 8 }));
    assert!(response.starts_with("HTTP/1.1 431 "));

    let big = format!("X-Big: {}", "a".repeat(600));
    let mut hs = ServerHandshake::new(&config);
    assert_eq!(
        hs.receive(&request_with(&[&big])),
        Err(HandshakeError::HeadTooLarge { limit: 512 })
    );

    // However large the configured limit, a head is at most MAX_HEAD_SIZE_CAP (1 MiB).
    let cap = rfc6455::handshake::MAX_HEAD_SIZE_CAP;
    let huge = ServerConfig::default().max_head_size(usize::MAX);
    let big = format!("X-Big: {}", "a".repeat(cap));
    assert_eq!(
        ServerHandshake::new(&huge).receive(&request_with(&[&big])),
        Err(HandshakeError::HeadTooLarge { limit: cap })
    );
    let request = ClientRequest::new("example.com", "/").max_head_size(usize::MAX);
    let mut out = Vec::new();
    let mut client = ClientHandshake::new(&request, [7; 16], &mut out).unwrap();
    let response = format!("HTTP/1.1 101 OK\r\n{big}\r\n\r\n");
    assert_eq!(
        client.receive(response.as_bytes()).map(|_| ()),
        Err(HandshakeError::HeadTooLarge { limit: cap })
    );
}

#[test]
fn subprotocol_selection() {
    let lines = |offer: &str| {
        let mut l = valid_lines();
        l.retain(|x| !x.starts_with("Sec-WebSocket-Protocol"));
        if !offer.is_empty() {
            l.push(format!("Sec-WebSocket-Protocol: {offer}"));
        }
        request_with(&l.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let stomp = ServerConfig::default().subprotocols(["v12.stomp", "v11.stomp", "v10.stomp"]);
    let chosen = |config: &ServerConfig, offer: &str| {
        let (response, result) = answer(config, &lines(offer));
        assert_eq!(result, Ok(()));
        response
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Protocol: "))
            .map(String::from)
    };
    // The server's preference wins over the client's order.
    assert_eq!(
        chosen(&stomp, "v10.stomp, v11.stomp"),
        Some("v11.stomp".into())
    );
    assert_eq!(chosen(&stomp, "foo"), None);
    assert_eq!(chosen(&stomp, ""), None);
    // A caller's function sees the client's offers in order.
    let last = ServerConfig::default().subprotocol_selector(|offered| offered.last().copied());
    assert_eq!(chosen(&last, "a, b, c"), Some("c".into()));

    // A per-request choice must be one the client offered.
    let config = ServerConfig::default();
    let wire = lines("v10.stomp");
    let mut hs = ServerHandshake::new(&config);
    let _ = hs.receive(&wire).unwrap();
    let req = hs.request().unwrap();
    let mut out = Vec::new();
    let opts = AcceptOptions::new()
        .protocol(Some("v10.stomp"))
        .header("Set-Cookie", "a=b");
    let accepted = config.accept_with(&req, &opts, &mut out).unwrap();
    assert_eq!(accepted.protocol.as_deref(), Some("v10.stomp"));
    assert!(
        String::from_utf8(out)
            .unwrap()
            .ends_with("Sec-WebSocket-Protocol: v10.stomp\r\nSet-Cookie: a=b\r\n\r\n")
    );
    let mut out = Vec::new();
    let bad = AcceptOptions::new().protocol(Some("v99"));
    assert!(matches!(
        config.accept_with(&req, &bad, &mut out),
        Err(HandshakeError::Usage(_))
    ));
    assert!(out.starts_with(b"HTTP/1.1 500 "));
    let mut out = Vec::new();
    let injection = AcceptOptions::new().header("X-A", "b\r\nX-Injected: 1");
    assert!(config.accept_with(&req, &injection, &mut out).is_err());
}

#[test]
fn pipelined_frame_after_request_is_kept() {
    let lines = valid_lines();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut wire = request_with(&lines);
    let frame = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    wire.extend_from_slice(&frame);
    for split in [1, wire.len() - frame.len() - 1] {
        let mut hs = ServerHandshake::new(&ServerConfig::default());
        assert_eq!(hs.receive(&wire[..split]), Ok(Status::Partial));
        assert_eq!(hs.receive(&wire[split..]), Ok(Status::Complete(())));
        assert_eq!(hs.leftover(), frame);
        assert_eq!(hs.into_leftover(), frame);
    }
    // Complete within the first piece: what came with it is the leftover, and the
    // connection (not the handshake) takes what follows.
    let split = wire.len() - 3;
    let mut hs = ServerHandshake::new(&ServerConfig::default());
    assert_eq!(hs.receive(&wire[..split]), Ok(Status::Complete(())));
    assert_eq!(hs.leftover(), &frame[..frame.len() - 3]);
    assert_eq!(
        hs.receive(&wire[split..]),
        Err(HandshakeError::Usage(UsageError::HandshakeComplete))
    );
    assert_eq!(hs.leftover(), &frame[..frame.len() - 3]);
}

#[test]
fn extension_offers_from_several_headers() {
    let mut lines = valid_lines();
    lines.push("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits".into());
    lines.push(
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=\"10\", x-foo".into(),
    );
    let wire = request_with(&lines.iter().map(String::as_str).collect::<Vec<_>>());
    let mut hs = ServerHandshake::new(&ServerConfig::default());
    let _ = hs.receive(&wire).unwrap();
    let offers = hs.request().unwrap().extensions().unwrap();
    let names: Vec<&str> = offers.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["permessage-deflate", "permessage-deflate", "x-foo"]);
    assert_eq!(offers[1].param("server_max_window_bits"), Some(Some("10")));
}

// ----- client side -----

fn client_handshake(request: &ClientRequest) -> (ClientHandshake, String) {
    let mut out = Vec::new();
    let hs = ClientHandshake::new(request, *b"the sample nonce", &mut out).unwrap();
    (hs, String::from_utf8(out).unwrap())
}

fn response_with(status_line: &str, lines: &[&str]) -> Vec<u8> {
    let mut s = format!("{status_line}\r\n");
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

#[test]
fn client_request_bytes() {
    let request = ClientRequest::from_url("ws://server.example.com:8080/chat?x=1")
        .unwrap()
        .origin("http://example.com")
        .protocols(["chat", "superchat"])
        .extension(Extension {
            name: "permessage-deflate".into(),
            params: vec![],
        })
        .header("Cookie", "id=1");
    let (_, wire) = client_handshake(&request);
    assert_eq!(
        wire,
        format!(
            "GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com:8080\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\
             Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate\r\nCookie: id=1\r\n\r\n"
        )
    );
}

#[test]
fn client_urls() {
    let r = ClientRequest::from_url("wss://[::1]?q").unwrap();
    assert_eq!(
        (r.host(), r.effective_port(), r.target()),
        ("[::1]", 443, "/?q")
    );
    assert_eq!(r.host_header(), "[::1]");
    let r = ClientRequest::from_url("ws://h:80").unwrap();
    assert_eq!((r.host_header().as_str(), r.target()), ("h", "/"));
    for bad in [
        "http://h/",
        "ws://h/#frag",
        "ws://u@h/",
        "ws://:80/",
        "ws://h:99999/",
        "h/",
    ] {
        assert!(ClientRequest::from_url(bad).is_err(), "{bad}");
    }
    let mut out = Vec::new();
    let injection = ClientRequest::new("h", "/").header("X", "a\r\nb: c");
    assert!(ClientHandshake::new(&injection, [0; 16], &mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn client_accepts_a_valid_response_and_keeps_leftover() {
    let request = ClientRequest::new("h", "/").protocols(["chat"]);
    let (mut hs, _) = client_handshake(&request);
    let mut wire = response_with(
        "HTTP/1.1 101 Switching Protocols",
        &[
            "Upgrade: WebSocket",
            "Connection: upgrade",
            &format!("Sec-WebSocket-Accept: {ACCEPT}"),
            "Sec-WebSocket-Protocol: chat",
        ],
    );
    wire.extend_from_slice(&[0x81, 0x00]);
    let split = 10;
    assert_eq!(hs.receive(&wire[..split]), Ok(Status::Partial));
    let Ok(Status::Complete(response)) = hs.receive(&wire[split..]) else {
        panic!("expected a complete response");
    };
    assert_eq!(response.protocol.as_deref(), Some("chat"));
    assert_eq!(hs.leftover(), [0x81, 0x00]);
}

#[test]
fn client_rejects_bad_responses() {
    let accept = format!("Sec-WebSocket-Accept: {ACCEPT}");
    let ok: Vec<&str> = vec!["Upgrade: websocket", "Connection: Upgrade", &accept];
    let without = |prefix: &str| -> Vec<&str> {
        ok.iter()
            .copied()
            .filter(|l| !l.starts_with(prefix))
            .collect()
    };
    let with = |extra: &'static str| -> Vec<&str> {
        let mut v = ok.clone();
        v.push(extra);
        v
    };
    let status = "HTTP/1.1 101 Switching Protocols";
    let cases: Vec<(&str, Vec<u8>, HandshakeError)> = vec![
        (
            "no Upgrade",
            response_with(status, &without("Upgrade")),
            HandshakeError::ResponseNotUpgrade,
        ),
        (
            "no Connection",
            response_with(status, &without("Connection")),
            HandshakeError::ResponseMissingConnectionUpgrade,
        ),
        (
            "no accept",
            response_with(status, &without("Sec-WebSocket-Accept")),
            HandshakeError::InvalidAccept,
        ),
        (
            "wrong accept",
            response_with(
                status,
                &[
                    "Upgrade: websocket",
                    "Connection: Upgrade",
                    "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                ],
            ),
            HandshakeError::InvalidAccept,
        ),
        (
            "protocol not offered",
            response_with(status, &with("Sec-WebSocket-Protocol: other")),
            HandshakeError::UnexpectedProtocol,
        ),
        (
            "extension not offered",
            response_with(
                status,
                &with("Sec-WebSocket-Extensions: permessage-deflate"),
            ),
            HandshakeError::UnexpectedExtension,
        ),
    ];
    for (name, wire, expected) in cases {
        let (mut hs, _) = client_handshake(&ClientRequest::new("h", "/").protocols(["chat"]));
        assert_eq!(hs.receive(&wire), Err(expected), "{name}");
    }
}

#[test]
fn client_reports_non_101_with_status_and_headers() {
    let (mut hs, _) = client_handshake(&ClientRequest::new("h", "/"));
    let wire = response_with(
        "HTTP/1.1 302 Found",
        &["Location: ws://elsewhere.example/", "Content-Length: 0"],
    );
    let Err(HandshakeError::Rejected(rejected)) = hs.receive(&wire) else {
        panic!("expected a rejection");
    };
    assert_eq!(rejected.status, 302);
    assert_eq!(rejected.reason, "Found");
    assert_eq!(rejected.location(), Some("ws://elsewhere.example/"));
    assert_eq!(rejected.header("content-length"), Some(&b"0"[..]));
}
