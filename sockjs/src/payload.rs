//! What clients send: the bodies of `xhr_send` and `jsonp_send`, and framed WebSocket
//! messages.
//!
//! sockjs-protocol, "Framing accepted by the server": "SockJS server does not have any
//! framing defined. All incoming data is treated as incoming messages, either single
//! json-encoded messages or an array of json-encoded messages, depending on transport."
//!
//! Each [`Payload`] decodes the way sockjs-node does for that transport; the messages come
//! out borrowed from the body unless an escape had to be undone (or the body was
//! form-encoded, or not UTF-8).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::json::{self, Value};

/// Messages a client sent, in order: borrowed from its payload where possible.
pub type Messages<'a> = Vec<Cow<'a, str>>;

/// How a payload reached the server, which decides how it is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Payload {
    /// The body of a `POST {session}/xhr_send`: a JSON array of strings.
    ///
    /// sockjs-protocol: "Xhr-polling accepts messages as a list of JSON-encoded strings."
    /// sockjs-node `xhr_send` takes any of the content types `text/plain`, `T`,
    /// `application/json`, `application/xml`, `text/xml` or none, and answers an empty body
    /// with 500 "Payload expected.", unparsable JSON with 500 "Broken JSON encoding.", and
    /// JSON that is not an array with 500 "Payload expected.".
    XhrSend,
    /// The body of a `POST {session}/jsonp_send` sent as
    /// `application/x-www-form-urlencoded`: the `d` field (the first one) holds the JSON
    /// array. A missing or empty `d` is "Payload expected." (sockjs-protocol
    /// `JsonPolling.test_invalid_json`: the bodies `''`, `'d='` and `'p=p'`).
    JsonpSendForm,
    /// The body of a `POST {session}/jsonp_send` sent as `text/plain` (or without a content
    /// type): JSON — and if that JSON is a non-empty string, the string is parsed as JSON
    /// again, as sockjs-node does.
    JsonpSendText,
    /// One text message of the `{session}/websocket` transport: a JSON array of strings, or
    /// a single JSON string (sockjs-node: `if (payload[0] === '[')` it iterates the array,
    /// else it delivers the one message). An empty message carries nothing (sockjs-protocol
    /// `test_empty_frame`: "Server must ignore empty messages").
    WebSocket,
}

impl Payload {
    /// Decodes `body` into messages.
    ///
    /// Invalid UTF-8 in a body is replaced by U+FFFD before parsing, as Node's
    /// `Buffer.toString('utf8')` does in sockjs-node. A `\uXXXX` escape of a lone surrogate,
    /// which no Rust string can hold, makes the payload [`PayloadError::BrokenJson`].
    pub fn decode(self, body: &[u8]) -> Result<Messages<'_>, PayloadError> {
        if core::str::from_utf8(body).is_ok() {
            self.decode_utf8(body)
        } else {
            let text = String::from_utf8_lossy(body);
            owned(self.decode_utf8(text.as_bytes()))
        }
    }

    /// [`decode`](Payload::decode) for a body that is valid UTF-8.
    fn decode_utf8(self, body: &[u8]) -> Result<Messages<'_>, PayloadError> {
        match self {
            Payload::XhrSend => {
                // sockjs-node: `if (!req.body) { ... 'Payload expected.' }`
                if body.is_empty() {
                    return Err(PayloadError::Empty);
                }
                array_of_strings(json::parse(body)?)
            }
            Payload::JsonpSendForm => {
                // sockjs-node: `d = req.body.d; if (typeof d === 'string' && d) { d =
                // JSON.parse(d) } ... if (!d || ...) 'Payload expected.'`
                match form_field(body, b"d") {
                    None => Err(PayloadError::Empty),
                    Some(d) if d.is_empty() => Err(PayloadError::Empty),
                    Some(Cow::Borrowed(d)) => array_of_strings(json::parse(d)?),
                    Some(Cow::Owned(d)) => {
                        let text = String::from_utf8_lossy(&d);
                        owned(array_of_strings(json::parse(text.as_bytes())?))
                    }
                }
            }
            Payload::JsonpSendText => {
                if body.is_empty() {
                    return Err(PayloadError::Empty);
                }
                match json::parse(body)? {
                    // sockjs-node: `if (typeof d === 'string' && d) { d = JSON.parse(d) }`
                    Value::String(s) if !s.is_empty() => {
                        owned(array_of_strings(json::parse(s.as_bytes())?))
                    }
                    value => array_of_strings(value),
                }
            }
            Payload::WebSocket => {
                // sockjs-node: `if (this.ws && this.session && payload.length > 0)`
                if body.is_empty() {
                    return Ok(Vec::new());
                }
                match json::parse(body)? {
                    Value::String(s) => Ok(alloc::vec![s]),
                    value => array_of_strings(value),
                }
            }
        }
    }
}

impl From<json::JsonError> for PayloadError {
    fn from(_: json::JsonError) -> PayloadError {
        PayloadError::BrokenJson
    }
}

/// The messages, owning their text.
fn owned<'a>(messages: Result<Messages<'_>, PayloadError>) -> Result<Messages<'a>, PayloadError> {
    messages.map(|m| m.into_iter().map(|m| Cow::Owned(m.into_owned())).collect())
}

/// An array whose elements are all strings.
///
/// sockjs-node: `if (!d || d.__proto__.constructor !== Array) { ... 'Payload expected.' }`.
/// sockjs-node passes non-string elements on to the application as they are; a Rust
/// application receives strings, so an array with other elements is refused whole.
fn array_of_strings(value: Value<'_>) -> Result<Messages<'_>, PayloadError> {
    match value {
        Value::Array {
            strings,
            all_strings: true,
        } => Ok(strings),
        _ => Err(PayloadError::NotMessages),
    }
}

/// The first value of `name` in an `application/x-www-form-urlencoded` body, decoded
/// (`+` is a space, `%XX` a byte; a `%` not followed by two hex digits stays as it is, as
/// Node's `querystring.unescape` leaves it).
pub(crate) fn form_field<'a>(body: &'a [u8], name: &[u8]) -> Option<Cow<'a, [u8]>> {
    body.split(|&b| b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        (percent_decode(key).as_ref() == name).then(|| percent_decode(value))
    })
}

fn percent_decode(s: &[u8]) -> Cow<'_, [u8]> {
    if !s.iter().any(|&b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                if let (Some(h), Some(l)) = (
                    s.get(i + 1).copied().and_then(hex),
                    s.get(i + 2).copied().and_then(hex),
                ) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(out)
}

/// A payload the client sent could not be decoded. The client's fault.
///
/// Over HTTP (`xhr_send`, `jsonp_send`) answer [`http_status`](PayloadError::http_status)
/// with [`http_body`](PayloadError::http_body); over the WebSocket transport the session is
/// closed and the WebSocket is closed with
/// [`websocket_close`](PayloadError::websocket_close).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadError {
    /// Nothing was sent (an empty body, no `d` field or an empty one): "Payload expected."
    Empty,
    /// The payload is not JSON: "Broken JSON encoding."
    BrokenJson,
    /// The payload is JSON but not an array of strings: "Payload expected."
    NotMessages,
}

impl PayloadError {
    /// The HTTP status sockjs-node answers with: 500.
    pub fn http_status(&self) -> u16 {
        500
    }

    /// The response body sockjs-node answers with, as sockjs-protocol checks it
    /// (`XhrPolling.test_invalid_json`: `"Broken JSON encoding." in r.body`, `"Payload
    /// expected." in r.body`).
    pub fn http_body(&self) -> &'static str {
        match self {
            PayloadError::Empty | PayloadError::NotMessages => "Payload expected.",
            PayloadError::BrokenJson => "Broken JSON encoding.",
        }
    }

    /// The WebSocket close code and reason: sockjs-node closes the WebSocket with
    /// `this.close(3000, 'Broken framing.')` (sockjs-protocol `test_broken_json`: "the
    /// server must abruptly terminate the ws connection").
    pub fn websocket_close(&self) -> (u16, &'static str) {
        (3000, "Broken framing.")
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.http_body())
    }
}

impl core::error::Error for PayloadError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(payload: Payload, body: &[u8]) -> Vec<String> {
        payload
            .decode(body)
            .unwrap()
            .into_iter()
            .map(Cow::into_owned)
            .collect()
    }

    #[test]
    fn xhr_send() {
        assert_eq!(ok(Payload::XhrSend, br#"["a"]"#), ["a"]);
        assert_eq!(ok(Payload::XhrSend, b"[]"), [""; 0]);
        assert_eq!(ok(Payload::XhrSend, br#" ["a", "b"] "#), ["a", "b"]);
        assert_eq!(Payload::XhrSend.decode(b""), Err(PayloadError::Empty));
        assert_eq!(
            Payload::XhrSend.decode(br#"["x"#),
            Err(PayloadError::BrokenJson)
        );
        assert_eq!(Payload::XhrSend.decode(b" "), Err(PayloadError::BrokenJson));
        assert_eq!(
            Payload::XhrSend.decode(br#""x""#),
            Err(PayloadError::NotMessages)
        );
        assert_eq!(
            Payload::XhrSend.decode(b"{}"),
            Err(PayloadError::NotMessages)
        );
        assert_eq!(
            Payload::XhrSend.decode(b"null"),
            Err(PayloadError::NotMessages)
        );
        assert_eq!(
            Payload::XhrSend.decode(b"[1]"),
            Err(PayloadError::NotMessages)
        );
        // Broken JSON wins over the wrong shape, as JSON.parse runs first in sockjs-node.
        assert_eq!(
            Payload::XhrSend.decode(br#"[1,"#),
            Err(PayloadError::BrokenJson)
        );
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(ok(Payload::XhrSend, b"[\"a\xffb\"]"), ["a\u{fffd}b"]);
    }

    #[test]
    fn jsonp_send_form() {
        assert_eq!(ok(Payload::JsonpSendForm, b"d=%5B%22x%22%5D"), ["x"]);
        assert_eq!(
            ok(Payload::JsonpSendForm, b"a=1&d=%5B%22x+y%22%5D&d=no"),
            ["x y"]
        );
        assert_eq!(ok(Payload::JsonpSendForm, b"d=[\"%61bc\"]"), ["abc"]);
        assert_eq!(ok(Payload::JsonpSendForm, b"d=%5B%5D"), [""; 0]);
        for empty in [&b""[..], b"d=", b"p=p", b"d"] {
            assert_eq!(
                Payload::JsonpSendForm.decode(empty),
                Err(PayloadError::Empty)
            );
        }
        assert_eq!(
            Payload::JsonpSendForm.decode(b"d=%5B%22x"),
            Err(PayloadError::BrokenJson)
        );
        assert_eq!(ok(Payload::JsonpSendForm, b"d=[\"100%\"]"), ["100%"]);
    }

    #[test]
    fn jsonp_send_text() {
        // sockjs-protocol JsonPolling.test_content_types: a text/plain body '["%61bc"]'.
        assert_eq!(ok(Payload::JsonpSendText, br#"["%61bc"]"#), ["%61bc"]);
        // A JSON string is parsed again.
        assert_eq!(ok(Payload::JsonpSendText, br#""[\"x\"]""#), ["x"]);
        assert_eq!(
            Payload::JsonpSendText.decode(br#""""#),
            Err(PayloadError::NotMessages)
        );
        assert_eq!(
            Payload::JsonpSendText.decode(br#""[""#),
            Err(PayloadError::BrokenJson)
        );
        assert_eq!(Payload::JsonpSendText.decode(b""), Err(PayloadError::Empty));
    }

    #[test]
    fn websocket() {
        assert_eq!(ok(Payload::WebSocket, b""), [""; 0]);
        assert_eq!(ok(Payload::WebSocket, b"[]"), [""; 0]);
        assert_eq!(ok(Payload::WebSocket, br#"["a","b"]"#), ["a", "b"]);
        assert_eq!(ok(Payload::WebSocket, br#""a""#), ["a"]);
        assert_eq!(
            Payload::WebSocket.decode(br#"["a"#),
            Err(PayloadError::BrokenJson)
        );
        assert_eq!(
            Payload::WebSocket.decode(b"1"),
            Err(PayloadError::NotMessages)
        );
        assert_eq!(
            PayloadError::BrokenJson.websocket_close(),
            (3000, "Broken framing.")
        );
    }

    #[test]
    fn borrowed_when_nothing_to_unescape() {
        let m = Payload::XhrSend.decode(br#"["a","\n"]"#).unwrap();
        assert!(matches!(m[0], Cow::Borrowed("a")));
        assert!(matches!(m[1], Cow::Owned(_)));
    }

    #[test]
    fn answers() {
        assert_eq!(PayloadError::Empty.http_body(), "Payload expected.");
        assert_eq!(PayloadError::NotMessages.http_body(), "Payload expected.");
        assert_eq!(
            PayloadError::BrokenJson.http_body(),
            "Broken JSON encoding."
        );
        assert_eq!(PayloadError::BrokenJson.http_status(), 500);
    }
}
