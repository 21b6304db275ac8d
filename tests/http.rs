//! The handshake on `http` types (feature `http`): HTTP/1.1 Upgrade and RFC 8441 / RFC 9220
//! extended CONNECT, server and client, checked against the HTTP/1 byte-level handshake
//! and against each other.
#![cfg(feature = "http")]

use http::{Method, Request, StatusCode, Version};
use rfc6455::handshake::{
    AcceptOptions, AllowedOrigins, ClientHandshake, ClientRequest, HandshakeError, ServerConfig,
    ServerHandshake,
};
use rfc6455::http::{HandshakeKind, WebSocketRequest};
use rfc6455::{Config, Event, Status};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn h1() -> http::request::Builder {
    Request::get("/chat")
        .version(Version::HTTP_11)
        .header("host", "server.example.com")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", KEY)
        .header("sec-websocket-version", "13")
}

fn h2() -> http::request::Builder {
    Request::connect("https://server.example.com/chat")
        .version(Version::HTTP_2)
        .header("sec-websocket-version", "13")
}

#[test]
fn http1_upgrade_is_answered_101_with_the_rfc_accept_key() {
    let request = h1()
        .header("sec-websocket-protocol", "chat, superchat")
        .body(())
        .unwrap();
    let config = ServerConfig::default().subprotocols(["superchat"]);
    let incoming = WebSocketRequest::new(&request, None);
    assert_eq!(incoming.kind(), HandshakeKind::Upgrade);
    assert!(incoming.is_websocket());
    let (response, accepted) = config.accept_http(&incoming).unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    let h = response.headers();
    assert_eq!(h["upgrade"], "websocket");
    assert_eq!(h["connection"], "Upgrade");
    // RFC 6455 §1.3's sample key and answer.
    assert_eq!(h["sec-websocket-accept"], ACCEPT);
    assert_eq!(h["sec-websocket-protocol"], "superchat");
    assert_eq!(accepted.protocol.as_deref(), Some("superchat"));
    assert!(accepted.leftover.is_empty());
}

#[test]
fn http1_checks_match_the_byte_level_handshake() {
    // Each request, fed as bytes to ServerHandshake and as http types to accept_http,
    // gets the same verdict.
    type Edit = fn(http::request::Builder) -> http::request::Builder;
    let cases: [(&str, Edit, Option<HandshakeError>); 6] = [
        ("valid", |b| b, None),
        (
            "unknown extension, declined",
            |b| b.header("sec-websocket-extensions", "x-unknown"),
            None,
        ),
        (
            "wrong version",
            |b| b.header("sec-websocket-version", "8"),
            Some(HandshakeError::UnsupportedVersion),
        ),
        (
            "second key",
            |b| b.header("sec-websocket-key", KEY),
            Some(HandshakeError::InvalidKey),
        ),
        (
            "origin",
            |b| b.header("origin", "https://evil.example"),
            Some(HandshakeError::OriginRejected),
        ),
        (
            "deflate offer",
            |b| {
                b.header(
                    "sec-websocket-extensions",
                    "permessage-deflate; client_max_window_bits",
                )
            },
            None,
        ),
    ];
    let config = ServerConfig::default()
        .allowed_origins(AllowedOrigins::same_origin())
        .deflate(Some(Default::default()));
    for (name, edit, expected) in cases {
        let request = edit(h1()).body(()).unwrap();
        let via_http = config
            .accept_http(&WebSocketRequest::new(&request, None))
            .map(|(response, accepted)| (response.status(), accepted));
        // The same request as bytes.
        let mut bytes = b"GET /chat HTTP/1.1\r\n".to_vec();
        for (n, v) in request.headers() {
            bytes.extend_from_slice(format!("{n}: ").as_bytes());
            bytes.extend_from_slice(v.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        let mut hs = ServerHandshake::new(&config);
        assert_eq!(hs.receive(&bytes), Ok(Status::Complete(())), "{name}");
        let mut out = Vec::new();
        let via_bytes = config.accept(&hs.request().unwrap(), &mut out);
        match (via_http, via_bytes, expected) {
            (Ok((status, a)), Ok(b), None) => {
                assert_eq!(status, 101, "{name}");
                assert_eq!(a, b, "{name}: the same agreement");
            }
            (Err(a), Err(b), Some(e)) => {
                assert_eq!(a, e, "{name}");
                assert_eq!(b, e, "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn http1_rejections_carry_status_reason_and_version_header() {
    let request = h1().header("sec-websocket-version", "8").body(()).unwrap();
    let e = ServerConfig::default()
        .accept_http(&WebSocketRequest::new(&request, None))
        .unwrap_err();
    let response: http::Response<String> = e.http_response();
    assert_eq!(response.status(), 426);
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    assert_eq!(response.body(), "unsupported Sec-WebSocket-Version");

    let post = Request::post("/chat").body(()).unwrap();
    let incoming = WebSocketRequest::new(&post, None);
    assert!(!incoming.is_websocket());
    assert_eq!(incoming.validate(), Err(HandshakeError::MethodNotGet));
    let http10 = h1().version(Version::HTTP_10).body(()).unwrap();
    assert_eq!(
        WebSocketRequest::new(&http10, None).validate(),
        Err(HandshakeError::HttpVersion)
    );
}

#[test]
fn extended_connect_is_answered_200_without_accept_key() {
    let request = h2()
        .header("sec-websocket-protocol", "chat, superchat")
        .header("sec-websocket-extensions", "permessage-deflate")
        .header("origin", "https://server.example.com")
        .body(())
        .unwrap();
    let config = ServerConfig::default()
        .allowed_origins(AllowedOrigins::same_origin())
        .subprotocols(["chat"])
        .deflate(Some(Default::default()));
    let incoming = WebSocketRequest::new(&request, Some("websocket"));
    assert_eq!(incoming.kind(), HandshakeKind::ExtendedConnect);
    assert!(incoming.is_websocket());
    assert_eq!(incoming.host(), Some("server.example.com"));
    let options = AcceptOptions::new().header("x-served-by", "rfc6455");
    let (response, accepted) = config.accept_http_with(&incoming, &options).unwrap();
    // RFC 8441 §5: "it MUST respond with a 200 (OK) status code".
    assert_eq!(response.status(), StatusCode::OK);
    let h = response.headers();
    assert!(h.get("sec-websocket-accept").is_none());
    assert!(h.get("upgrade").is_none() && h.get("connection").is_none());
    assert_eq!(h["sec-websocket-protocol"], "chat");
    assert_eq!(h["sec-websocket-extensions"], "permessage-deflate");
    assert_eq!(h["x-served-by"], "rfc6455");
    assert!(accepted.deflate.is_some());
}

#[test]
fn extended_connect_requirements() {
    let config = ServerConfig::default();
    let check = |request: &Request<()>, protocol| {
        config
            .accept_http(&WebSocketRequest::new(request, protocol))
            .map(|_| ())
    };
    let ok = h2().body(()).unwrap();
    assert_eq!(check(&ok, Some("websocket")), Ok(()));
    // An Upgrade token compares case-insensitively.
    assert_eq!(check(&ok, Some("WebSocket")), Ok(()));
    // RFC 8441 §4: ":protocol ... MUST have a value of "websocket"".
    let e = check(&ok, Some("webtransport")).unwrap_err();
    assert_eq!(e, HandshakeError::NotExtendedConnect);
    assert_eq!(e.status(), 400);
    assert_eq!(check(&ok, None), Err(HandshakeError::NotExtendedConnect));
    // A GET with Upgrade headers is not a WebSocket handshake on HTTP/2.
    let get = h1().version(Version::HTTP_2).body(()).unwrap();
    assert_eq!(
        check(&get, Some("websocket")),
        Err(HandshakeError::NotExtendedConnect)
    );
    assert!(!WebSocketRequest::new(&get, None).is_websocket());
    // ":scheme ... MUST have a value of "http" or "https"".
    let mut ftp = h2().body(()).unwrap();
    *ftp.uri_mut() = "ftp://server.example.com/chat".parse().unwrap();
    assert_eq!(
        check(&ftp, Some("websocket")),
        Err(HandshakeError::NotExtendedConnect)
    );
    // No :authority: nothing to check the origin against.
    let mut relative = h2().body(()).unwrap();
    *relative.uri_mut() = "/chat".parse().unwrap();
    assert_eq!(
        check(&relative, Some("websocket")),
        Err(HandshakeError::NotExtendedConnect)
    );
    // The version is still required (§5.1's example sends it).
    let no_version = Request::connect("https://server.example.com/chat")
        .version(Version::HTTP_2)
        .body(())
        .unwrap();
    assert_eq!(
        check(&no_version, Some("websocket")),
        Err(HandshakeError::MissingVersion)
    );
    // HTTP/3 (RFC 9220) is the same handshake.
    let h3 = h2().version(Version::HTTP_3).body(()).unwrap();
    assert_eq!(check(&h3, Some("websocket")), Ok(()));
    // The origin policy sees the :authority as the host.
    let strict = ServerConfig::default().allowed_origins(AllowedOrigins::same_origin());
    let cross = h2()
        .header("origin", "https://evil.example")
        .body(())
        .unwrap();
    assert_eq!(
        strict
            .accept_http(&WebSocketRequest::new(&cross, Some("websocket")))
            .unwrap_err()
            .status(),
        403
    );
}

#[test]
fn client_http1_request_and_response_check() {
    let request = ClientRequest::from_url("ws://server.example.com:8080/chat?x=1")
        .unwrap()
        .origin("http://example.com")
        .protocols(["chat"])
        .header("authorization", "Bearer t");
    let nonce = *b"the sample nonce";
    let (http_request, handshake) = request.to_http_with_nonce(nonce).unwrap();
    assert_eq!(http_request.method(), Method::GET);
    assert_eq!(http_request.version(), Version::HTTP_11);
    assert_eq!(
        http_request.uri(),
        "http://server.example.com:8080/chat?x=1"
    );
    let h = http_request.headers();
    assert_eq!(h["host"], "server.example.com:8080");
    assert_eq!(h["sec-websocket-key"], KEY);
    assert_eq!(h["sec-websocket-version"], "13");
    assert_eq!(h["origin"], "http://example.com");
    assert_eq!(h["sec-websocket-protocol"], "chat");
    assert_eq!(h["authorization"], "Bearer t");

    // The same request as bytes, from the byte-level client, has the same fields.
    let mut bytes = Vec::new();
    ClientHandshake::new(&request, nonce, &mut bytes).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    for (name, value) in h {
        let line = format!("\r\n{}: {}\r\n", name, value.to_str().unwrap()).to_lowercase();
        assert!(text.to_lowercase().contains(&line), "{line:?} in {text:?}");
    }

    let good = http::Response::builder()
        .status(101)
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .header("sec-websocket-accept", ACCEPT)
        .header("sec-websocket-protocol", "chat")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let response = handshake.check_response(&good).unwrap();
    assert_eq!(response.protocol.as_deref(), Some("chat"));

    let mut wrong_accept = good.clone();
    wrong_accept.headers.insert(
        "sec-websocket-accept",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".parse().unwrap(),
    );
    assert_eq!(
        handshake.check_response(&wrong_accept).unwrap_err(),
        HandshakeError::InvalidAccept
    );
    let mut not_offered = good.clone();
    not_offered
        .headers
        .insert("sec-websocket-protocol", "superchat".parse().unwrap());
    assert_eq!(
        handshake.check_response(&not_offered).unwrap_err(),
        HandshakeError::UnexpectedProtocol
    );
    let mut forbidden = good;
    forbidden.status = StatusCode::FORBIDDEN;
    match handshake.check_response(&forbidden).unwrap_err() {
        HandshakeError::Rejected(r) => assert_eq!(r.status, 403),
        other => panic!("{other:?}"),
    }
}

#[test]
fn client_extended_connect_request() {
    let request = ClientRequest::from_url("wss://server.example.com/chat?room=2")
        .unwrap()
        .protocols(["chat", "superchat"]);
    let (http_request, handshake) = request.to_extended_connect(Version::HTTP_2).unwrap();
    assert_eq!(http_request.method(), Method::CONNECT);
    assert_eq!(http_request.version(), Version::HTTP_2);
    // RFC 8441 §5: ":scheme ... "https" for wss URIs", ":path ... the path and query".
    assert_eq!(http_request.uri(), "https://server.example.com/chat?room=2");
    let h = http_request.headers();
    assert_eq!(h["sec-websocket-version"], "13");
    assert_eq!(h["sec-websocket-protocol"], "chat, superchat");
    // §4: Connection, Upgrade and the key are not part of it.
    for absent in ["connection", "upgrade", "sec-websocket-key", "host"] {
        assert!(h.get(absent).is_none(), "{absent}");
    }
    // A 101 is not the answer to an extended CONNECT.
    let switching = http::Response::builder()
        .status(101)
        .body(())
        .unwrap()
        .into_parts()
        .0;
    assert!(matches!(
        handshake.check_response(&switching),
        Err(HandshakeError::Rejected(r)) if r.status == 101
    ));
}

/// Client and server on `http` types for every version, then a frame each way through
/// the connections they produce (with permessage-deflate negotiated).
#[test]
fn client_and_server_agree_and_talk() {
    for version in [Version::HTTP_11, Version::HTTP_2, Version::HTTP_3] {
        let client_request = ClientRequest::from_url("ws://127.0.0.1:9/echo")
            .unwrap()
            .protocols(["v12.stomp"])
            .deflate(Default::default());
        let (request, client) = if version == Version::HTTP_11 {
            client_request.to_http().unwrap()
        } else {
            client_request.to_extended_connect(version).unwrap()
        };
        let protocol = (version != Version::HTTP_11).then_some("websocket");
        let server = ServerConfig::default()
            .subprotocols(["v12.stomp"])
            .deflate(Some(Default::default()));
        let (response, accepted) = server
            .accept_http(&WebSocketRequest::new(&request, protocol))
            .unwrap();
        let agreed = client.check_response(&response.into_parts().0).unwrap();
        assert_eq!(agreed.protocol.as_deref(), Some("v12.stomp"), "{version:?}");
        assert!(agreed.deflate.is_some(), "{version:?}");

        let (mut client_conn, _) = agreed.into_connection(Config::default());
        let (mut server_conn, _) = accepted.into_connection(Config::default());
        let text = "hello over http types ".repeat(20);
        let mut wire = Vec::new();
        client_conn.send_text(&text, &mut wire).unwrap();
        assert_eq!(wire[0] & 0x40, 0x40, "RSV1: compressed ({version:?})");
        assert!(wire.len() < text.len() / 2, "{version:?}");
        let mut inflated = Vec::new();
        let received = server_conn.receive_into(&mut wire, &mut inflated).unwrap();
        assert_eq!(received.event, Some(Event::Text(text.as_str())));
        let mut back = Vec::new();
        server_conn.send_binary(&[1, 2, 3], &mut back).unwrap();
        let received = client_conn.receive(&mut back).unwrap();
        assert_eq!(received.event, Some(Event::Binary(&[1, 2, 3])));
    }
}
