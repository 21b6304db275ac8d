//! Arbitrary bytes, fed in fuzzer-chosen pieces, into the client handshake (as the answer
//! to RFC 6455's sample request, nonce "the sample nonce", so the accept value
//! `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=` is valid).
//!
//! Input: `[flags] [n] [pattern] [response bytes...]`. Flags: bit 0 offer subprotocols,
//! bit 1 offer permessage-deflate, bit 2 a small head limit.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rfc6455::{Status, UsageError};
use rfc6455::handshake::{
    ClientHandshake, ClientRequest, DEFAULT_MAX_HEAD_SIZE, Extension, ExtensionParam,
    HandshakeError,
};
use rfc6455_fuzz::{Chunks, head_end, split_pattern};

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let (pattern, data) = split_pattern(rest);
    let mut request =
        ClientRequest::new("server.example.com", "/chat").origin("http://example.com");
    let protocols: &[&str] = if flags & 1 != 0 {
        &["chat", "superchat"]
    } else {
        &[]
    };
    request = request.protocols(protocols.iter().copied());
    if flags & 2 != 0 {
        request = request.extension(Extension {
            name: "permessage-deflate".into(),
            params: vec![ExtensionParam {
                name: "client_max_window_bits".into(),
                value: None,
            }],
        });
    }
    let max_head = if flags & 4 != 0 {
        200
    } else {
        DEFAULT_MAX_HEAD_SIZE
    };
    request = request.max_head_size(max_head);
    let mut sent = Vec::new();
    let mut handshake = ClientHandshake::new(&request, *b"the sample nonce", &mut sent).unwrap();
    assert!(sent.ends_with(b"\r\n\r\n"));

    let mut fed = 0;
    let mut head_len = None;
    let mut complete_fed = 0;
    let mut failed = false;
    for chunk in Chunks::new(pattern, data) {
        let result = handshake.receive(chunk);
        fed += chunk.len();
        if failed {
            // Bytes after an error never complete the handshake.
            assert!(
                !matches!(result, Ok(Status::Complete(_))),
                "completed after an error"
            );
            continue;
        }
        if let Some(len) = head_len {
            // Once complete, later bytes belong to the connection: refused, not buffered.
            assert!(
                matches!(
                    result,
                    Err(HandshakeError::Usage(UsageError::HandshakeComplete))
                ),
                "bytes accepted after Complete"
            );
            assert_eq!(handshake.leftover(), &data[len..complete_fed]);
            continue;
        }
        match result {
            Ok(Status::Partial) => {
                assert!(fed <= max_head && handshake.leftover().is_empty());
            }
            Ok(Status::Complete(response)) => {
                assert!(head_len.is_none(), "completed twice");
                let len = fed - handshake.leftover().len();
                assert!(len <= max_head);
                assert_eq!(head_end(&data[..fed]), Some(len), "head end");
                head_len = Some(len);
                complete_fed = fed;
                if let Some(p) = &response.protocol {
                    assert!(protocols.contains(&p.as_str()), "unoffered protocol {p}");
                }
                for e in &response.extensions {
                    assert!(flags & 2 != 0 && e.name.eq_ignore_ascii_case("permessage-deflate"));
                }
                assert!(response.headers.len() <= 64);
            }
            Err(e) => {
                assert!(head_len.is_none(), "error after Complete");
                match &e {
                    HandshakeError::HeadTooLarge { limit } => {
                        assert_eq!(*limit, max_head);
                        assert!(fed > max_head);
                    }
                    HandshakeError::Rejected(r) => {
                        assert_ne!(r.status, 101);
                        let _ = r.location();
                    }
                    _ => {}
                }
                let _ = e.to_string();
                failed = true;
            }
        }
    }
    if let (Some(len), false) = (head_len, failed) {
        assert_eq!(handshake.into_leftover(), &data[len..complete_fed]);
    }
});
