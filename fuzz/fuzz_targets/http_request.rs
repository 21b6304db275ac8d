//! The handshake on `http` types (feature `http`): arbitrary requests of every version
//! through `WebSocketRequest` and `ServerConfig::accept_http`, checked for the invariants
//! of the answer, and — for HTTP/1.1 — against the byte-level `ServerHandshake` given the
//! same request as bytes: both must reach the same verdict and the same agreement.
//!
//! Input: `[flags] [protocol] [target line] \n [name: value \n]*`. Flags: bits 0-1 the
//! version (1.0, 1.1, 2, 3), bits 2-3 the method (GET, CONNECT, POST, OPTIONS), bits 4-5
//! the origin policy, bit 6 server subprotocols, bit 7 permessage-deflate. Protocol: the
//! `:protocol` pseudo-header (none, `websocket`, `WebSocket`, `webtransport`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rfc6455::Status;
use rfc6455::handshake::{AllowedOrigins, ServerConfig, ServerHandshake, accept_key};
use rfc6455::http::{HandshakeKind, WebSocketRequest};

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fuzz_target!(|input: &[u8]| {
    let [flags, protocol, rest @ ..] = input else {
        return;
    };
    let version = [
        http::Version::HTTP_10,
        http::Version::HTTP_11,
        http::Version::HTTP_2,
        http::Version::HTTP_3,
    ][usize::from(flags & 3)];
    let method = [
        http::Method::GET,
        http::Method::CONNECT,
        http::Method::POST,
        http::Method::OPTIONS,
    ][usize::from((flags >> 2) & 3)]
    .clone();
    let protocol = [None, Some("websocket"), Some("WebSocket"), Some("webtransport")]
        [usize::from(protocol & 3)];
    let mut lines = rest.split(|&b| b == b'\n');
    let Some(target) = lines.next() else { return };
    let Ok(uri) = http::Uri::try_from(target) else {
        return;
    };
    let mut request = http::Request::new(());
    *request.method_mut() = method;
    *request.version_mut() = version;
    *request.uri_mut() = uri;
    // Header fields as the `http` crate takes them; the same bytes for the HTTP/1 head.
    let mut head = Vec::new();
    let mut plain = true;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name),
            http::HeaderValue::from_bytes(value),
        ) else {
            continue;
        };
        plain &= !value.as_bytes().contains(&b'\r');
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
        request.headers_mut().append(name, value);
    }

    let origins = match (flags >> 4) & 3 {
        0 => AllowedOrigins::any(),
        1 => AllowedOrigins::same_origin(),
        2 => AllowedOrigins::same_origin()
            .allow("https://*.example.com")
            .unwrap(),
        _ => AllowedOrigins::none().require_origin(true),
    };
    let mut config = ServerConfig::default().allowed_origins(origins);
    if flags & 0x40 != 0 {
        config = config.subprotocols(["chat", "superchat"]);
    }
    if flags & 0x80 != 0 {
        config = config.deflate(Some(Default::default()));
    }

    let incoming = WebSocketRequest::new(&request, protocol);
    let validated = incoming.validate();
    let _ = (incoming.host(), incoming.origin(), incoming.is_websocket());
    let offered: Vec<&str> = incoming.protocols().collect();
    let verdict = config.accept_http(&incoming);
    match &verdict {
        Ok((response, accepted)) => {
            assert!(validated.is_ok() && incoming.is_websocket());
            match incoming.kind() {
                HandshakeKind::Upgrade => {
                    assert_eq!(response.status(), 101);
                    let key = request.headers()["sec-websocket-key"].as_bytes();
                    let accept = accept_key(trim(key));
                    assert_eq!(
                        response.headers()["sec-websocket-accept"].as_bytes(),
                        &accept[..]
                    );
                }
                HandshakeKind::ExtendedConnect => {
                    // RFC 8441 §5: 200, and none of HTTP/1.1's upgrade fields.
                    assert_eq!(response.status(), 200);
                    assert!(response.headers().get("sec-websocket-accept").is_none());
                    assert!(response.headers().get("upgrade").is_none());
                }
            }
            if let Some(p) = &accepted.protocol {
                assert!(offered.contains(&p.as_str()), "unoffered protocol {p}");
                assert_eq!(response.headers()["sec-websocket-protocol"], p.as_str());
            }
            assert_eq!(accepted.deflate.is_some(), !accepted.extensions.is_empty());
            assert!(accepted.leftover.is_empty());
        }
        Err(e) => {
            let response: http::Response<String> = e.http_response();
            assert_eq!(response.status().as_u16(), e.status());
            assert!(matches!(e.status(), 400 | 403 | 426), "{e:?}");
            assert_eq!(
                response.headers().get("sec-websocket-version").is_some(),
                e.status() == 426
            );
            if e.status() != 403 {
                assert_eq!(validated.as_ref().err(), Some(e));
            }
        }
    }

    // HTTP/1.1 in origin form: the byte-level handshake must agree.
    let target = request.uri().path_and_query().map(|p| p.as_str());
    let origin_form = request.uri().scheme().is_none() && request.uri().authority().is_none();
    if version != http::Version::HTTP_11 || !origin_form || !plain {
        return;
    }
    let Some(target) = target else { return };
    let mut bytes = format!("{} {target} HTTP/1.1\r\n", request.method()).into_bytes();
    bytes.extend_from_slice(&head);
    bytes.extend_from_slice(b"\r\n");
    let mut handshake = ServerHandshake::new(&config);
    let Ok(Status::Complete(())) = handshake.receive(&bytes) else {
        // More fields than the byte-level parser takes, or a head it refuses.
        return;
    };
    let parsed = handshake.request().expect("complete");
    let mut out = Vec::new();
    let by_bytes = config.accept(&parsed, &mut out);
    match (verdict, by_bytes) {
        (Ok((_, a)), Ok(b)) => assert_eq!(a, b, "the same agreement"),
        (Err(a), Err(b)) => assert_eq!(a, b, "the same refusal"),
        (a, b) => panic!("http types {a:?} vs bytes {b:?}"),
    }
});
