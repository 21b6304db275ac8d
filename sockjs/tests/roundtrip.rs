//! Property tests: encoding and decoding are inverse, over arbitrary strings.

use proptest::prelude::*;
use rfc6455_sockjs::{Callback, Close, Frame, Framing, Payload, encode_messages, json};

/// Strings weighted towards the characters the escaping treats specially.
fn awkward_string() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '"',
        '\\',
        '/',
        '\0',
        '\n',
        '\r',
        '\t',
        '\u{8}',
        '\u{c}',
        '\u{1f}',
        '\u{7f}',
        '%',
        '<',
        '\u{2028}',
        '\u{2029}',
        '\u{200c}',
        '\u{200f}',
        '\u{2060}',
        '\u{206f}',
        '\u{feff}',
        '\u{fff0}',
        '\u{ffff}',
        '😀',
        '\u{10000}',
        '\u{10ffff}',
        'é',
    ]);
    prop::collection::vec(prop_oneof![any::<char>(), special], 0..24)
        .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #[test]
    fn messages_roundtrip(list in prop::collection::vec(awkward_string(), 0..8)) {
        let mut out = Vec::new();
        encode_messages(&list, &mut out);
        let decoded = Frame::decode(&out).unwrap();
        prop_assert_eq!(decoded, Frame::Messages(list.iter().map(|s| s.as_str().into()).collect()));
        // The body a client would post parses to the same strings, as does a WebSocket
        // message.
        let body = &out[1..];
        prop_assert_eq!(Payload::XhrSend.decode(body).unwrap(), list.clone());
        prop_assert_eq!(Payload::WebSocket.decode(body).unwrap(), list);
    }

    #[test]
    fn quote_agrees_with_serde_json_outside_sockjs_extra_set(s in awkward_string()) {
        let mut ours = Vec::new();
        json::quote(&s, &mut ours);
        prop_assert_eq!(ours.len(), json::quoted_len(&s));
        let reference = serde_json::to_string(&s).unwrap();
        let extra = |c: char| matches!(c, '\u{200c}'..='\u{200f}' | '\u{2028}'..='\u{202f}'
            | '\u{2060}'..='\u{206f}' | '\u{fff0}'..='\u{ffff}' | '\u{10000}'..);
        if !s.chars().any(extra) {
            // JSON.stringify's escapes are serde_json's (lowercase \u00xx, short forms).
            prop_assert_eq!(String::from_utf8(ours.clone()).unwrap(), reference);
        }
        // Only ASCII and characters outside sockjs-node's set are left raw.
        let text = String::from_utf8(ours).unwrap();
        prop_assert!(!text.chars().any(|c| c < ' ' || extra(c)));
        prop_assert_eq!(serde_json::from_str::<String>(&text).unwrap(), s);
    }

    #[test]
    fn frames_roundtrip_through_every_transport(
        list in prop::collection::vec(awkward_string(), 0..4),
        code in any::<u16>(),
        reason in awkward_string(),
        kind in 0u8..4,
    ) {
        let frame = match kind {
            0 => Frame::Open,
            1 => Frame::Heartbeat,
            2 => Frame::Messages(list.iter().map(|s| s.as_str().into()).collect()),
            _ => Frame::Close(Close::new(code, reason.as_str())),
        };
        let cb = Callback::new("_jp.a1b2c3").unwrap();
        for framing in [Framing::Xhr, Framing::XhrStreaming, Framing::EventSource,
                        Framing::HtmlFile(cb), Framing::Jsonp(cb), Framing::WebSocket] {
            let mut out = Vec::new();
            framing.encode_frame(&frame, &mut out);
            prop_assert_eq!(framing.decode_frame(&out).unwrap(), frame.clone());
        }
    }

    #[test]
    fn decode_never_panics_and_reencodes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(frame) = Frame::decode(&bytes) {
            let mut out = Vec::new();
            frame.encode(&mut out);
            prop_assert_eq!(Frame::decode(&out).unwrap(), frame);
        }
    }
}
