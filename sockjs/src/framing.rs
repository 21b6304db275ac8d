//! How each transport wraps frames in its response body, byte for byte as sockjs-client
//! expects them (the table is on [`Framing`]).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::frame::{Frame, FrameError};
use crate::json;

/// The longest callback name accepted. sockjs-node: `callback.length > 32` is an
/// `invalid "callback" parameter` (it checks the length for `jsonp` only; here `htmlfile`
/// names are held to it too, which sockjs-client's names — `_jp.` and a few random
/// characters — never reach).
pub const MAX_CALLBACK_LEN: usize = 32;

/// A validated JSONP / htmlfile callback name (the `c` query parameter).
///
/// sockjs-protocol, `HtmlFile.test_invalid_callback`: "Supplying invalid characters to
/// callback parameter is invalid and must result in a 500 errors. Invalid characters are any
/// matching the following regexp: `[^a-zA-Z0-9-_.]`". That is sockjs-node's check too
/// (`/[^a-zA-Z0-9-_.]/.test(callback)`): letters, digits, `-`, `_` and `.`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Callback {
    len: u8,
    name: [u8; MAX_CALLBACK_LEN],
}

impl Callback {
    /// Checks a callback name. An empty name is refused too (sockjs-node would write
    /// `/**/("o");`, which calls nothing).
    pub fn new(name: &str) -> Result<Callback, CallbackError> {
        let valid = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
        if name.is_empty() || name.len() > MAX_CALLBACK_LEN || !name.bytes().all(|b| valid(&b)) {
            return Err(CallbackError::Invalid);
        }
        let mut callback = Callback {
            len: name.len() as u8,
            name: [0; MAX_CALLBACK_LEN],
        };
        callback.name[..name.len()].copy_from_slice(name.as_bytes());
        Ok(callback)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        // Only ASCII was ever copied in.
        core::str::from_utf8(&self.name[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The `c` parameter of `htmlfile` or `jsonp` was missing or unusable. The client's fault:
/// answer 500 with [`http_body`](CallbackError::http_body).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackError {
    /// No `c` (or `callback`) parameter (sockjs-protocol `test_no_callback`).
    Missing,
    /// A character outside `[a-zA-Z0-9-_.]`, empty, or longer than [`MAX_CALLBACK_LEN`].
    Invalid,
}

impl CallbackError {
    /// The HTTP status sockjs-node answers with: 500.
    pub fn http_status(&self) -> u16 {
        500
    }

    /// The body: `"callback" parameter required` or `invalid "callback" parameter`.
    pub fn http_body(&self) -> &'static str {
        match self {
            CallbackError::Missing => "\"callback\" parameter required",
            CallbackError::Invalid => "invalid \"callback\" parameter",
        }
    }
}

impl fmt::Display for CallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.http_body())
    }
}

impl core::error::Error for CallbackError {}

/// How long a receiving connection stays attached to its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// One frame per response, then the client polls again (`xhr`, `jsonp`; sockjs-node:
    /// `this.max_response_size = 1`).
    Polling,
    /// Frames until the response has carried the streaming budget (default 128 KiB), then
    /// the client reconnects (`xhr_streaming`, `eventsource`, `htmlfile`). sockjs-protocol:
    /// "By default we should close a streaming request every 128KiB messages was send."
    Streaming,
    /// For as long as the WebSocket is open.
    WebSocket,
}

/// A transport's wrapping of frames, byte for byte as sockjs-client expects them:
///
/// | transport | prelude | one frame `F` |
/// | --- | --- | --- |
/// | `xhr` | — | `F\n` |
/// | `xhr_streaming` | 2048 × `h`, `\n` | `F\n` |
/// | `eventsource` | `\r\n` | `data: F\r\n\r\n`, with `%` `\r` `\n` NUL as `%25` `%0D` `%0A` `%00` |
/// | `htmlfile?c=cb` | an HTML page calling `parent.cb` (over 1 KiB) | `<script>\np("F");\n</script>\r\n` |
/// | `jsonp?c=cb` | — | `/**/cb("F");\r\n` |
/// | `websocket` | — | `F` as one text message |
///
/// where `"F"` is the frame as a JavaScript string literal. Which transports end after one
/// frame and which stream is [`Framing::delivery`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Framing {
    /// `POST {session}/xhr`: XHR polling.
    Xhr,
    /// `POST {session}/xhr_streaming`.
    XhrStreaming,
    /// `GET {session}/eventsource`.
    EventSource,
    /// `GET {session}/htmlfile?c=callback`.
    HtmlFile(Callback),
    /// `GET {session}/jsonp?c=callback`: JSONP polling.
    Jsonp(Callback),
    /// `GET {session}/websocket`: each frame is one WebSocket text message.
    WebSocket,
}

/// sockjs-protocol `XhrStreaming.test_transport`: "The transport must first send 2KiB of `h`
/// bytes as prelude." (`'h' * 2048 + '\n'`).
const XHR_STREAMING_PRELUDE_LEN: usize = 2048;

/// The htmlfile page before and after the callback name (sockjs-protocol `HtmlFile.head`,
/// which the test compares with the stripped start of the response).
const HTMLFILE_HEAD: &str = "\n<!doctype html>\n<html><head>\n  \
<meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n  \
<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n\
</head><body><h2>Don't panic!</h2>\n  <script>\n    document.domain = document.domain;\n    \
var c = parent.";
const HTMLFILE_TAIL: &str = ";\n    c.start();\n    function p(d) {c.message(d);};\n    \
window.onload = function() {c.stop();};\n  </script>\n";
/// sockjs-node pads the page with spaces ("Safari needs at least 1024 bytes to parse the
/// website") to 1037 characters counting the 14-character `{{ callback }}` placeholder, and
/// ends it with `\r\n\r\n`: the page is 1027 bytes plus the callback's length.
const HTMLFILE_PADDING: usize = 1037 - (HTMLFILE_HEAD.len() + 14 + HTMLFILE_TAIL.len());

impl Framing {
    /// How long a receiver of this transport stays attached.
    pub fn delivery(&self) -> Delivery {
        match self {
            Framing::Xhr | Framing::Jsonp(_) => Delivery::Polling,
            Framing::XhrStreaming | Framing::EventSource | Framing::HtmlFile(_) => {
                Delivery::Streaming
            }
            Framing::WebSocket => Delivery::WebSocket,
        }
    }

    /// Appends what the response body starts with, before any frame (nothing for `xhr`,
    /// `jsonp` and `websocket`). Write it for every receiving request — the one refused with
    /// `c[2010,...]` too (sockjs-protocol `test_abort_xhr_streaming` reads the prelude of
    /// every response).
    pub fn encode_prelude(&self, out: &mut Vec<u8>) {
        match self {
            Framing::XhrStreaming => {
                out.resize(out.len() + XHR_STREAMING_PRELUDE_LEN, b'h');
                out.push(b'\n');
            }
            // "The transport must first send a new line prelude, due to a bug in Opera."
            Framing::EventSource => out.extend_from_slice(b"\r\n"),
            Framing::HtmlFile(callback) => {
                out.extend_from_slice(HTMLFILE_HEAD.as_bytes());
                out.extend_from_slice(callback.as_str().as_bytes());
                out.extend_from_slice(HTMLFILE_TAIL.as_bytes());
                out.resize(out.len() + HTMLFILE_PADDING, b' ');
                out.extend_from_slice(b"\r\n\r\n");
            }
            Framing::Xhr | Framing::Jsonp(_) | Framing::WebSocket => {}
        }
    }

    /// Appends `frame`, wrapped for this transport.
    pub fn encode_frame(&self, frame: &Frame<'_>, out: &mut Vec<u8>) {
        self.encode_with(out, |out| frame.encode(out));
    }

    /// Appends the frame that `write` writes, wrapped for this transport. Transports that
    /// add only a prefix and a suffix get the frame written straight into `out`.
    pub(crate) fn encode_with(&self, out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
        match self {
            Framing::WebSocket => write(out),
            // sockjs-node XhrStreamingReceiver / XhrPollingReceiver: `payload + '\n'`.
            Framing::Xhr | Framing::XhrStreaming => {
                write(out);
                out.push(b'\n');
            }
            Framing::EventSource => {
                let mut frame = Vec::new();
                write(&mut frame);
                // sockjs-node: `data: ${utils.escape_selected(payload, '\r\n\x00')}\r\n\r\n`;
                // escape_selected also escapes '%' itself, and sockjs-client's
                // `decodeURI` undoes all four.
                out.extend_from_slice(b"data: ");
                for &b in &frame {
                    match b {
                        b'%' => out.extend_from_slice(b"%25"),
                        b'\r' => out.extend_from_slice(b"%0D"),
                        b'\n' => out.extend_from_slice(b"%0A"),
                        0 => out.extend_from_slice(b"%00"),
                        b => out.push(b),
                    }
                }
                out.extend_from_slice(b"\r\n\r\n");
            }
            Framing::Jsonp(callback) => {
                let mut frame = Vec::new();
                write(&mut frame);
                // sockjs-node: `/**/${this.callback}(${JSON.stringify(payload)});\r\n`
                // ("prepend comment to avoid SWF exploit #163").
                out.extend_from_slice(b"/**/");
                out.extend_from_slice(callback.as_str().as_bytes());
                out.push(b'(');
                json::quote(&String::from_utf8_lossy(&frame), out);
                out.extend_from_slice(b");\r\n");
            }
            Framing::HtmlFile(_) => {
                let mut frame = Vec::new();
                write(&mut frame);
                let mut literal = Vec::with_capacity(frame.len() + 2);
                json::quote(&String::from_utf8_lossy(&frame), &mut literal);
                // sockjs-node: `<script>\np(${JSON.stringify(payload)});\n</script>\r\n`.
                // `<` is written `\u003c` here, which the script reads as the same string:
                // a message containing `</script>` must not end the script element.
                out.extend_from_slice(b"<script>\np(");
                for &b in &literal {
                    match b {
                        b'<' => out.extend_from_slice(b"\\u003c"),
                        b => out.push(b),
                    }
                }
                out.extend_from_slice(b");\n</script>\r\n");
            }
        }
    }

    /// Reads back one wrapped frame, as a client would: the inverse of
    /// [`encode_frame`](Framing::encode_frame).
    pub fn decode_frame(&self, wrapped: &[u8]) -> Result<Frame<'static>, FrameError> {
        let bad = FrameError::BadWrapping;
        let text: Cow<'_, [u8]> = match self {
            Framing::WebSocket => Cow::Borrowed(wrapped),
            Framing::Xhr | Framing::XhrStreaming => {
                Cow::Borrowed(wrapped.strip_suffix(b"\n").ok_or(bad)?)
            }
            Framing::EventSource => {
                let inner = wrapped
                    .strip_prefix(b"data: ")
                    .and_then(|w| w.strip_suffix(b"\r\n\r\n"))
                    .ok_or(bad)?;
                Cow::Owned(percent_decode(inner).ok_or(bad)?)
            }
            Framing::Jsonp(callback) => {
                let inner = wrapped
                    .strip_prefix(b"/**/")
                    .and_then(|w| w.strip_prefix(callback.as_str().as_bytes()))
                    .and_then(|w| w.strip_prefix(b"("))
                    .and_then(|w| w.strip_suffix(b");\r\n"))
                    .ok_or(bad)?;
                let s = json::parse_string(inner).map_err(|_| bad)?;
                Cow::Owned(s.into_owned().into_bytes())
            }
            Framing::HtmlFile(_) => {
                let inner = wrapped
                    .strip_prefix(b"<script>\np(")
                    .and_then(|w| w.strip_suffix(b");\n</script>\r\n"))
                    .ok_or(bad)?;
                let s = json::parse_string(inner).map_err(|_| bad)?;
                Cow::Owned(s.into_owned().into_bytes())
            }
        };
        Frame::decode(&text).map(Frame::into_owned)
    }
}

/// `%XX` → byte, everything else as is; `None` for a `%` without two hex digits after it.
fn percent_decode(s: &[u8]) -> Option<Vec<u8>> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let h = hex(*s.get(i + 1)?)?;
            let l = hex(*s.get(i + 2)?)?;
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Close, messages};

    fn wrapped(framing: Framing, frame: &Frame<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        framing.encode_frame(frame, &mut out);
        assert_eq!(framing.decode_frame(&out).as_ref(), Ok(frame));
        out
    }

    fn cb(name: &str) -> Callback {
        Callback::new(name).unwrap()
    }

    #[test]
    fn callbacks() {
        assert_eq!(cb("callback").as_str(), "callback");
        assert_eq!(cb("_jp.a1b2-c_D").as_str(), "_jp.a1b2-c_D");
        assert_eq!(cb(&"x".repeat(32)).as_str(), "x".repeat(32));
        // sockjs-protocol test_invalid_callback: '%20', '*', 'abc(', 'abc%28' (decoded).
        for bad in [" ", "*", "abc(", "", "a/b", "é", &"x".repeat(33)] {
            assert_eq!(Callback::new(bad), Err(CallbackError::Invalid), "{bad:?}");
        }
        assert_eq!(
            CallbackError::Missing.http_body(),
            "\"callback\" parameter required"
        );
        assert_eq!(
            CallbackError::Invalid.http_body(),
            "invalid \"callback\" parameter"
        );
    }

    #[test]
    fn preludes() {
        let prelude = |f: Framing| {
            let mut out = Vec::new();
            f.encode_prelude(&mut out);
            out
        };
        let mut xhr_streaming = alloc::vec![b'h'; 2048];
        xhr_streaming.push(b'\n');
        assert_eq!(prelude(Framing::XhrStreaming), xhr_streaming);
        assert_eq!(prelude(Framing::EventSource), b"\r\n");
        assert_eq!(prelude(Framing::Xhr), b"");
        assert_eq!(prelude(Framing::Jsonp(cb("x"))), b"");
        assert_eq!(prelude(Framing::WebSocket), b"");
        let page = prelude(Framing::HtmlFile(cb("callback")));
        assert_eq!(page.len(), 1027 + "callback".len());
        let page = String::from_utf8(page).unwrap();
        // sockjs-protocol HtmlFile.test_transport: `d.strip() == head % ('callback',)` and
        // `len(d) > 1024`.
        let head = "<!doctype html>\n<html><head>\n  \
<meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n  \
<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n\
</head><body><h2>Don't panic!</h2>\n  <script>\n    document.domain = document.domain;\n    \
var c = parent.callback;\n    c.start();\n    function p(d) {c.message(d);};\n    \
window.onload = function() {c.stop();};\n  </script>";
        assert_eq!(page.trim(), head);
        assert!(page.starts_with('\n'));
        assert!(page.ends_with(&alloc::format!("</script>\n{}\r\n\r\n", " ".repeat(651))));
    }

    #[test]
    fn xhr_and_websocket() {
        assert_eq!(wrapped(Framing::Xhr, &Frame::Open), b"o\n");
        assert_eq!(wrapped(Framing::XhrStreaming, &Frame::Heartbeat), b"h\n");
        assert_eq!(
            wrapped(
                Framing::Xhr,
                &Frame::Close(Close::ANOTHER_CONNECTION_STILL_OPEN)
            ),
            b"c[2010,\"Another connection still open\"]\n"
        );
        assert_eq!(
            wrapped(Framing::WebSocket, &Frame::Messages(messages(&["a"]))),
            b"a[\"a\"]"
        );
    }

    #[test]
    fn eventsource() {
        assert_eq!(
            wrapped(Framing::EventSource, &Frame::Open),
            b"data: o\r\n\r\n"
        );
        // sockjs-protocol EventSource.test_transport: '["  \u0000\n\r "]' comes back as
        // 'data: a["  \\u0000\\n\\r "]\r\n\r\n'.
        assert_eq!(
            wrapped(
                Framing::EventSource,
                &Frame::Messages(messages(&["  \0\n\r "]))
            ),
            b"data: a[\"  \\u0000\\n\\r \"]\r\n\r\n"
        );
        assert_eq!(
            wrapped(Framing::EventSource, &Frame::Messages(messages(&["100%"]))),
            b"data: a[\"100%25\"]\r\n\r\n"
        );
    }

    #[test]
    fn jsonp() {
        let x = Framing::Jsonp(cb("x"));
        assert_eq!(wrapped(x, &Frame::Open), b"/**/x(\"o\");\r\n");
        // sockjs-protocol JsonPolling.test_transport / test_close.
        assert_eq!(
            wrapped(
                Framing::Jsonp(cb("callback")),
                &Frame::Messages(messages(&["x"]))
            ),
            b"/**/callback(\"a[\\\"x\\\"]\");\r\n"
        );
        assert_eq!(
            wrapped(x, &Frame::Close(Close::GO_AWAY)),
            b"/**/x(\"c[3000,\\\"Go away!\\\"]\");\r\n"
        );
        // An escaped U+2028 stays escaped: `\\u2028` inside the JS string.
        assert_eq!(
            wrapped(x, &Frame::Messages(messages(&["\u{2028}\\"]))),
            b"/**/x(\"a[\\\"\\\\u2028\\\\\\\\\\\"]\");\r\n"
        );
    }

    #[test]
    fn htmlfile() {
        let f = Framing::HtmlFile(cb("callback"));
        // sockjs-protocol HtmlFile.test_transport.
        assert_eq!(
            wrapped(f, &Frame::Open),
            b"<script>\np(\"o\");\n</script>\r\n"
        );
        assert_eq!(
            wrapped(f, &Frame::Messages(messages(&["x"]))),
            b"<script>\np(\"a[\\\"x\\\"]\");\n</script>\r\n"
        );
        assert_eq!(
            wrapped(f, &Frame::Messages(messages(&["</script>"]))),
            b"<script>\np(\"a[\\\"\\u003c/script>\\\"]\");\n</script>\r\n"
        );
    }

    #[test]
    fn decode_refuses_bad_wrapping() {
        assert_eq!(
            Framing::Xhr.decode_frame(b"o"),
            Err(FrameError::BadWrapping)
        );
        assert_eq!(
            Framing::EventSource.decode_frame(b"data: %zz\r\n\r\n"),
            Err(FrameError::BadWrapping)
        );
        assert_eq!(
            Framing::Jsonp(cb("x")).decode_frame(b"/**/y(\"o\");\r\n"),
            Err(FrameError::BadWrapping)
        );
    }
}
