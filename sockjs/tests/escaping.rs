//! The JSON encoding of messages, checked against sockjs-protocol's `JSONEncoding` tests and
//! against output recorded from sockjs-node's `utils.quote`.

use core::time::Duration;

use rfc6455_sockjs::{
    Attach, Frame, Framing, Payload, PreparedMessage, Session, SessionConfig, Transmit, json,
};

fn quote(s: &str) -> String {
    let mut out = Vec::new();
    json::quote(s, &mut out);
    String::from_utf8(out).unwrap()
}

/// Runs `body` through xhr_send, echoes every message and returns the xhr poll's body.
fn echo_through_xhr(body: &[u8]) -> Vec<u8> {
    let t = Duration::ZERO;
    let mut session = Session::new(SessionConfig::default(), t);
    let Attach::Attached(rx) = session.attach(Framing::Xhr, t) else {
        panic!("not attached")
    };
    let mut out = Vec::new();
    assert_eq!(session.poll_transmit(rx, t, &mut out), Transmit::LastFrame);
    assert_eq!(out, b"o\n");
    let messages = session.receive(Payload::XhrSend, body).unwrap();
    for m in &messages {
        session.send(m).unwrap();
    }
    let Attach::Attached(rx) = session.attach(Framing::Xhr, t) else {
        panic!("not attached")
    };
    out.clear();
    assert_eq!(session.poll_transmit(rx, t, &mut out), Transmit::LastFrame);
    out
}

/// sockjs-protocol `escapable_by_server`: `[\x00-\x1f\u200c-\u200f\u2028-\u202f\u2060-\u206f
/// \ufff0-\uffff]`.
fn escapable_by_server(cp: u32) -> bool {
    matches!(cp, 0x00..=0x1f | 0x200c..=0x200f | 0x2028..=0x202f | 0x2060..=0x206f | 0xfff0..=0xffff)
}

/// sockjs-protocol `JSONEncoding.test_xhr_server_encodes`: "Make sure that server encodes at
/// least all the characters it's supposed to encode." — sent raw, the characters of
/// `escapable_by_server` from U+00FF up must come back as exactly `\u%04x` each.
#[test]
fn server_encodes_the_protocols_killer_string() {
    let chars: String = (255..=0xffff)
        .filter(|&cp| escapable_by_server(cp))
        .filter_map(char::from_u32)
        .collect();
    let expected: String = core::iter::once("\"".to_string())
        .chain(
            (255..=0xffffu32)
                .filter(|&cp| escapable_by_server(cp))
                .map(|cp| format!("\\u{cp:04x}")),
        )
        .chain(core::iter::once("\"".to_string()))
        .collect();
    let body = format!("[\"{chars}\"]");
    let response = echo_through_xhr(body.as_bytes());
    let response = String::from_utf8(response).unwrap();
    // "skip framing, quotes and parenthesis": r.body.strip()[2:-1]
    let recv = &response.trim()[2..response.trim().len() - 1];
    assert_eq!(recv, expected);
}

/// sockjs-protocol `escapable_by_client`, the characters sockjs-client sends escaped.
const ESCAPABLE_BY_CLIENT: &[(u32, u32)] = &[
    (0x0000, 0x001f),
    (0x0022, 0x0022),
    (0x007f, 0x009f),
    (0x00ad, 0x00ad),
    (0x0300, 0x0333),
    (0x033d, 0x0346),
    (0x034a, 0x034c),
    (0x0350, 0x0352),
    (0x0357, 0x0358),
    (0x035c, 0x0362),
    (0x0374, 0x0374),
    (0x037e, 0x037e),
    (0x0387, 0x0387),
    (0x0591, 0x05af),
    (0x05c4, 0x05c4),
    (0x0600, 0x0604),
    (0x0610, 0x0617),
    (0x0653, 0x0654),
    (0x0657, 0x065b),
    (0x065d, 0x065e),
    (0x06df, 0x06e2),
    (0x06eb, 0x06ec),
    (0x070f, 0x070f),
    (0x0730, 0x0730),
    (0x0732, 0x0733),
    (0x0735, 0x0736),
    (0x073a, 0x073a),
    (0x073d, 0x073d),
    (0x073f, 0x0741),
    (0x0743, 0x0743),
    (0x0745, 0x0745),
    (0x0747, 0x0747),
    (0x07eb, 0x07f1),
    (0x0951, 0x0951),
    (0x0958, 0x095f),
    (0x09dc, 0x09dd),
    (0x09df, 0x09df),
    (0x0a33, 0x0a33),
    (0x0a36, 0x0a36),
    (0x0a59, 0x0a5b),
    (0x0a5e, 0x0a5e),
    (0x0b5c, 0x0b5d),
    (0x0e38, 0x0e39),
    (0x0f43, 0x0f43),
    (0x0f4d, 0x0f4d),
    (0x0f52, 0x0f52),
    (0x0f57, 0x0f57),
    (0x0f5c, 0x0f5c),
    (0x0f69, 0x0f69),
    (0x0f72, 0x0f76),
    (0x0f78, 0x0f78),
    (0x0f80, 0x0f83),
    (0x0f93, 0x0f93),
    (0x0f9d, 0x0f9d),
    (0x0fa2, 0x0fa2),
    (0x0fa7, 0x0fa7),
    (0x0fac, 0x0fac),
    (0x0fb9, 0x0fb9),
    (0x17b4, 0x17b5),
    (0x1939, 0x193a),
    (0x1a17, 0x1a17),
    (0x1b6b, 0x1b6b),
    (0x1cda, 0x1cdb),
    (0x1dc0, 0x1dcf),
    (0x1dfc, 0x1dfc),
    (0x1dfe, 0x1dfe),
    (0x1f71, 0x1f71),
    (0x1f73, 0x1f73),
    (0x1f75, 0x1f75),
    (0x1f77, 0x1f77),
    (0x1f79, 0x1f79),
    (0x1f7b, 0x1f7b),
    (0x1f7d, 0x1f7d),
    (0x1fbb, 0x1fbb),
    (0x1fbe, 0x1fbe),
    (0x1fc9, 0x1fc9),
    (0x1fcb, 0x1fcb),
    (0x1fd3, 0x1fd3),
    (0x1fdb, 0x1fdb),
    (0x1fe3, 0x1fe3),
    (0x1feb, 0x1feb),
    (0x1fee, 0x1fef),
    (0x1ff9, 0x1ff9),
    (0x1ffb, 0x1ffb),
    (0x1ffd, 0x1ffd),
    (0x2000, 0x20ff),
    (0x2126, 0x2126),
    (0x212a, 0x212b),
    (0x2329, 0x232a),
    (0x2adc, 0x2adc),
    (0x302b, 0x302c),
    (0xaab2, 0xaab3),
    (0xf900, 0xfa0d),
    (0xfa10, 0xfa10),
    (0xfa12, 0xfa12),
    (0xfa15, 0xfa1e),
    (0xfa20, 0xfa20),
    (0xfa22, 0xfa22),
    (0xfa25, 0xfa26),
    (0xfa2a, 0xfa2d),
    (0xfa30, 0xfa6d),
    (0xfa70, 0xfad9),
    (0xfb1d, 0xfb1d),
    (0xfb1f, 0xfb1f),
    (0xfb2a, 0xfb36),
    (0xfb38, 0xfb3c),
    (0xfb3e, 0xfb3e),
    (0xfb40, 0xfb41),
    (0xfb43, 0xfb44),
    (0xfb46, 0xfb4e),
    (0xfeff, 0xfeff),
    (0xfff0, 0xffff),
];

/// sockjs-protocol `JSONEncoding.test_xhr_server_decodes`: "Make sure that server decodes
/// the chars we're customly encoding." — sent as `\uXXXX` escapes, they come back as the
/// same string.
#[test]
fn server_decodes_the_clients_escapes() {
    let cps = ESCAPABLE_BY_CLIENT.iter().flat_map(|&(a, b)| a..=b);
    let escaped: String = cps.clone().map(|cp| format!("\\u{cp:04x}")).collect();
    let expected: String = cps.filter_map(char::from_u32).collect();
    assert_eq!(expected.chars().count(), 1093);
    let response = echo_through_xhr(format!("[\"{escaped}\"]").as_bytes());
    let frame = Framing::Xhr.decode_frame(&response).unwrap();
    assert_eq!(frame, Frame::Messages(vec![expected.into()]));
}

/// Output of sockjs-node's `utils.quote` (lib/utils.js at 51e860a), recorded under Node 20
/// for these inputs; the whole BMP was compared the same way (no difference), and
/// `every_bmp_character_matches_the_table` in src/json.rs keeps that table.
#[test]
fn matches_recorded_sockjs_node_output() {
    let recorded: &[(&str, &str)] = &[
        ("😀", r#""\ud83d\ude00""#),
        ("a\u{10000}b\u{10ffff}", r#""a\ud800\udc00b\udbff\udfff""#),
        (
            "x\"\\\n</script>\u{2028}\u{feff}\u{ad}\u{7f}",
            "\"x\\\"\\\\\\n</script>\\u2028\u{feff}\u{ad}\u{7f}\"",
        ),
        ("", r#""""#),
        ("é日本", "\"é日本\""),
        (
            "\u{0}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f}",
            r#""\u0000\b\t\n\u000b\f\r\u001f""#,
        ),
        (
            "\u{2029}\u{200e}\u{2066}\u{fffe}",
            r#""\u2029\u200e\u2066\ufffe""#,
        ),
    ];
    for (input, node) in recorded {
        assert_eq!(quote(input), *node, "{input:?}");
    }
}

#[test]
fn quotes_and_backslashes() {
    assert_eq!(quote(r#"say "hi" \o/"#), r#""say \"hi\" \\o/""#);
    assert_eq!(quote("\\\\\""), r#""\\\\\"""#);
    assert_eq!(quote(r#"\u2028"#), r#""\\u2028""#);
}

#[test]
fn surrogate_pairs_in_frames_and_back() {
    let mut out = Vec::new();
    Frame::Messages(vec!["🎉 x 𝄞".into()]).encode(&mut out);
    assert_eq!(out, br#"a["\ud83c\udf89 x \ud834\udd1e"]"#);
    assert_eq!(
        Frame::decode(&out).unwrap(),
        Frame::Messages(vec!["🎉 x 𝄞".into()])
    );
    // A client escaping a pair by halves gets the character.
    let m = Payload::XhrSend.decode(br#"["\ud83c\udf89"]"#).unwrap();
    assert_eq!(m, ["🎉"]);
    // A lone half is not a Rust string: broken JSON.
    assert!(Payload::XhrSend.decode(br#"["\udf89"]"#).is_err());
}

#[test]
fn prepared_messages_are_escaped_once_the_same_way() {
    let m = PreparedMessage::new("a\u{2028}😀");
    assert_eq!(m.encoded(), br#""a\u2028\ud83d\ude00""#);
    assert_eq!(m.encoded(), quote("a\u{2028}😀").as_bytes());
}

#[test]
fn every_transport_carries_awkward_characters_intact() {
    let awkward = "\u{2028}\u{2029}\0\u{1f}\"\\😀%\r\n</script>\u{feff}\u{fff0}";
    let frame = Frame::Messages(vec![awkward.into()]);
    let cb = rfc6455_sockjs::Callback::new("cb").unwrap();
    for framing in [
        Framing::Xhr,
        Framing::XhrStreaming,
        Framing::EventSource,
        Framing::HtmlFile(cb),
        Framing::Jsonp(cb),
        Framing::WebSocket,
    ] {
        let mut out = Vec::new();
        framing.encode_frame(&frame, &mut out);
        assert_eq!(framing.decode_frame(&out).unwrap(), frame, "{framing:?}");
        // Nothing that would break a line-, event- or script-based transport goes out raw.
        let text = String::from_utf8(out).unwrap();
        let body = match framing {
            Framing::Xhr | Framing::XhrStreaming => text.strip_suffix('\n').unwrap(),
            Framing::EventSource => text.strip_suffix("\r\n\r\n").unwrap(),
            Framing::HtmlFile(_) => text
                .strip_prefix("<script>\n")
                .and_then(|t| t.strip_suffix("\n</script>\r\n"))
                .unwrap(),
            _ => text.strip_suffix("\r\n").unwrap_or(&text),
        };
        assert!(
            !body.contains(['\r', '\n', '\0', '\u{2028}', '\u{2029}']),
            "{framing:?}: {body:?}"
        );
        if matches!(framing, Framing::HtmlFile(_)) {
            assert!(!body.contains("</script>"), "{body}");
        }
    }
}
