//! Arbitrary bytes, fed in fuzzer-chosen pieces, into the server handshake; a complete
//! request is then answered with `ServerConfig::accept`, and a 101 answer is checked by a
//! `ClientHandshake` that sent the same key and subprotocols.
//!
//! Input: `[flags] [n] [pattern] [request bytes...]`. Flags: bit 0 a small head limit,
//! bit 1 at most 4 headers, bits 2-3 the origin policy, bit 6 server subprotocols.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rfc6455::{Status, UsageError};
use rfc6455::handshake::{
    AllowedOrigins, ClientHandshake, ClientRequest, DEFAULT_MAX_HEAD_SIZE, DEFAULT_MAX_HEADERS,
    HandshakeError, ServerConfig, ServerHandshake, accept_key,
};
use rfc6455_fuzz::{Chunks, decode_key, head_end, split_pattern};

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
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let (pattern, data) = split_pattern(rest);
    let max_head = if flags & 1 != 0 {
        128 + usize::from(flags >> 4) * 64
    } else {
        DEFAULT_MAX_HEAD_SIZE
    };
    let max_headers = if flags & 2 != 0 {
        4
    } else {
        DEFAULT_MAX_HEADERS
    };
    let origins = match (flags >> 2) & 3 {
        0 => AllowedOrigins::any(),
        1 => AllowedOrigins::same_origin(),
        2 => AllowedOrigins::same_origin()
            .allow("https://*.example.com")
            .unwrap()
            .allow("http://localhost:*")
            .unwrap(),
        _ => AllowedOrigins::none()
            .require_origin(true)
            .allow("example.com")
            .unwrap(),
    };
    let mut config = ServerConfig::default()
        .max_head_size(max_head)
        .max_headers(max_headers)
        .allowed_origins(origins);
    if flags & 0x40 != 0 {
        config = config.subprotocols(["chat", "superchat"]);
    }

    let mut handshake = ServerHandshake::new(&config);
    let mut fed = 0;
    let mut head_len = None;
    let mut complete_fed = 0;
    let mut failed: Option<HandshakeError> = None;
    for chunk in Chunks::new(pattern, data) {
        let result = handshake.receive(chunk);
        fed += chunk.len();
        if let Some(len) = head_len {
            // Once complete, later bytes belong to the connection: refused, not buffered.
            assert_eq!(
                result,
                Err(HandshakeError::Usage(UsageError::HandshakeComplete)),
                "bytes accepted after Complete"
            );
            assert_eq!(handshake.leftover(), &data[len..complete_fed]);
            continue;
        }
        if let Some(first) = &failed {
            // Bytes after an error never revive the handshake; a head that was too large
            // stays too large.
            let again = result.expect_err("an error is final");
            if matches!(first, HandshakeError::HeadTooLarge { .. }) {
                assert_eq!(&again, first);
            }
            continue;
        }
        match result {
            Ok(Status::Partial) => {
                assert!(head_len.is_none(), "Partial after Complete");
                assert!(fed <= max_head);
                assert!(handshake.request().is_none());
            }
            Ok(Status::Complete(())) => {
                let len = fed - handshake.leftover().len();
                assert!(len <= max_head);
                assert_eq!(head_end(&data[..fed]), Some(len), "head end");
                head_len = Some(len);
                complete_fed = fed;
                assert_eq!(handshake.leftover(), &data[len..fed]);
            }
            Err(e) => {
                assert!(head_len.is_none(), "error after Complete");
                match e {
                    HandshakeError::HeadTooLarge { limit } => {
                        assert_eq!(limit, max_head);
                        assert!(fed > max_head);
                    }
                    HandshakeError::TooManyHeaders { limit } => assert_eq!(limit, max_headers),
                    HandshakeError::Malformed(_) => {}
                    other => panic!("unexpected error while parsing: {other:?}"),
                }
                let mut out = Vec::new();
                e.write_response(&mut out);
                let status = format!("HTTP/1.1 {} ", e.status());
                assert!(out.starts_with(status.as_bytes()));
                assert!(out.ends_with(e.reason().as_bytes()));
                assert!(handshake.request().is_none());
                failed = Some(e);
            }
        }
    }
    let Some(head_len) = head_len else { return };
    let request = handshake.request().expect("complete");
    // Every accessor on hostile input.
    let _ = (
        request.method(),
        request.target(),
        request.path(),
        request.query(),
    );
    let _ = (
        request.host(),
        request.origin(),
        request.key(),
        request.http_minor_version(),
    );
    assert!(request.headers().count() <= max_headers);
    let offered: Vec<&str> = request.protocols().collect();
    let _ = request.extensions();
    let validated = request.validate();

    let mut out = Vec::new();
    match config.accept(&request, &mut out) {
        Ok(accepted) => {
            assert!(validated.is_ok() && request.is_websocket_upgrade());
            assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
            assert!(out.ends_with(b"\r\n\r\n"));
            let key = trim(request.key().expect("validated"));
            let accept = accept_key(key);
            let line = [&b"\r\nSec-WebSocket-Accept: "[..], &accept, b"\r\n"].concat();
            assert!(out.windows(line.len()).any(|w| w == line), "accept key");
            if let Some(p) = &accepted.protocol {
                assert!(offered.contains(&p.as_str()));
            }
            // A client that sent this key and these subprotocols accepts the response.
            let nonce = decode_key(key).expect("validated keys are 16 bytes of base64");
            let client_request = ClientRequest::new("h", "/").protocols(offered.iter().copied());
            if let Ok(mut client) = ClientHandshake::new(&client_request, nonce, &mut Vec::new()) {
                match client.receive(&out) {
                    Ok(Status::Complete(response)) => {
                        assert_eq!(response.protocol, accepted.protocol);
                        assert!(response.extensions.is_empty());
                    }
                    other => panic!("our client rejects our 101: {other:?}"),
                }
            }
        }
        Err(e) => {
            assert!(matches!(e.status(), 400 | 403 | 426), "{e:?}");
            if e == HandshakeError::OriginRejected {
                assert!(validated.is_ok());
            } else {
                assert_eq!(validated, Err(e.clone()));
            }
            let status = format!("HTTP/1.1 {} ", e.status());
            assert!(out.starts_with(status.as_bytes()));
        }
    }
    assert_eq!(handshake.into_leftover(), &data[head_len..complete_fed]);
});
