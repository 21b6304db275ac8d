//! Which SockJS URL a request path names.
//!
//! sockjs-protocol, "Base URL": "All paths under base url are controlled by SockJS server and
//! are defined by SockJS protocol." The paths, relative to the base URL:
//!
//! | path | what |
//! | --- | --- |
//! | `` or `/` | the greeting |
//! | `/info` | the server's capabilities |
//! | `/iframe.html`, `/iframe-{version}.html` | the page iframe-based transports run in |
//! | `/websocket` | a raw WebSocket, no SockJS framing |
//! | `/{server}/{session}/{transport}` | a session's transport request |
//!
//! Each may end with one `/` (sockjs-node's routes end in `[/]?$`).

use crate::registry::MAX_SESSION_ID_LEN;

/// An HTTP request method, as far as SockJS cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `OPTIONS`: a CORS preflight.
    Options,
    /// `CONNECT`: an RFC 8441 WebSocket over HTTP/2 (with `:protocol websocket`).
    Connect,
    /// Anything else (`HEAD`, `PUT`, ...): 405 on a known path.
    Other,
}

impl Method {
    /// The method named by `name` (case-sensitive, as HTTP methods are).
    pub fn from_name(name: &str) -> Method {
        match name {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "OPTIONS" => Method::Options,
            "CONNECT" => Method::Connect,
            _ => Method::Other,
        }
    }
}

/// A session transport: the last segment of `/{server}/{session}/{transport}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// `xhr`: XHR polling (receiving).
    Xhr,
    /// `xhr_send`: the XHR transports' sending request.
    XhrSend,
    /// `xhr_streaming` (receiving).
    XhrStreaming,
    /// `eventsource` (receiving).
    EventSource,
    /// `htmlfile` (receiving).
    HtmlFile,
    /// `jsonp`: JSONP polling (receiving).
    Jsonp,
    /// `jsonp_send`: JSONP polling's sending request.
    JsonpSend,
    /// `websocket`: a WebSocket carrying SockJS frames.
    WebSocket,
}

impl Transport {
    /// The transport named by a path segment.
    pub fn from_name(name: &str) -> Option<Transport> {
        Some(match name {
            "xhr" => Transport::Xhr,
            "xhr_send" => Transport::XhrSend,
            "xhr_streaming" => Transport::XhrStreaming,
            "eventsource" => Transport::EventSource,
            "htmlfile" => Transport::HtmlFile,
            "jsonp" => Transport::Jsonp,
            "jsonp_send" => Transport::JsonpSend,
            "websocket" => Transport::WebSocket,
            _ => return None,
        })
    }

    /// Its path segment.
    pub fn name(&self) -> &'static str {
        match self {
            Transport::Xhr => "xhr",
            Transport::XhrSend => "xhr_send",
            Transport::XhrStreaming => "xhr_streaming",
            Transport::EventSource => "eventsource",
            Transport::HtmlFile => "htmlfile",
            Transport::Jsonp => "jsonp",
            Transport::JsonpSend => "jsonp_send",
            Transport::WebSocket => "websocket",
        }
    }

    /// The methods it answers, as an `Allow` header lists them. The XHR transports answer
    /// CORS preflights: sockjs-node routes `OPTIONS` to `xhr_options` for `xhr`,
    /// `xhr_send` and `xhr_streaming`.
    pub fn allow(&self) -> &'static str {
        match self {
            Transport::Xhr | Transport::XhrSend | Transport::XhrStreaming => "OPTIONS, POST",
            Transport::JsonpSend => "POST",
            Transport::EventSource
            | Transport::HtmlFile
            | Transport::Jsonp
            | Transport::WebSocket => "GET",
        }
    }
}

/// What a path under the base URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// `` or `/`.
    Greeting,
    /// `/info`.
    Info,
    /// `/iframe.html` or a versioned `/iframe-….html`.
    Iframe,
    /// `/websocket`.
    RawWebSocket,
    /// `/{server}/{session}/{transport}`. The server id is for load balancers and ignored
    /// (sockjs-protocol `test_ignoringServerId`: "A session is identified by only
    /// `session_id`. `server_id` is a parameter for load balancer and must be ignored by the
    /// server.").
    Session {
        /// The session id, as it appears in the path (no percent-decoding: sockjs-node
        /// matches the raw path too).
        session: &'a str,
        /// The transport.
        transport: Transport,
    },
    /// Nothing SockJS serves: 404.
    NotFound,
}

impl<'a> Route<'a> {
    /// The route of `path`, relative to the base URL (the part after it, starting with `/`
    /// or empty; no query).
    pub fn parse(path: &'a str) -> Route<'a> {
        // sockjs-node: every route is `^{prefix}{path}[/]?$`.
        let path = path.strip_suffix('/').unwrap_or(path);
        match path {
            "" => return Route::Greeting,
            "/info" => return Route::Info,
            "/websocket" => return Route::RawWebSocket,
            _ => {}
        }
        if is_iframe(path) {
            return Route::Iframe;
        }
        let Some(rest) = path.strip_prefix('/') else {
            return Route::NotFound;
        };
        let mut parts = rest.split('/');
        let (Some(server), Some(session), Some(transport), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Route::NotFound;
        };
        // sockjs-protocol `test_invalidPaths`: "But not an empty string, anything containing
        // dots or paths with less or more parts." (`'//'`, `'/a./a'`, `'/a/a.'`, `'/./.'`).
        let valid = |id: &str| !id.is_empty() && !id.contains('.');
        if !valid(server) || !valid(session) || session.len() > MAX_SESSION_ID_LEN {
            return Route::NotFound;
        }
        match Transport::from_name(transport) {
            Some(transport) => Route::Session { session, transport },
            None => Route::NotFound,
        }
    }
}

/// `/iframe.html` and its versioned forms. sockjs-protocol `IframePage`: "the same content
/// must be served for request which try to version the iframe" (`/iframe-a.html`,
/// `/iframe-.html`, `/iframe-0.1.2.html`, `/iframe-0.1.2abc-dirty.2144.html`), and
/// "Malformed urls must give 404 answer" (`/iframe.htm`, `/iframe`, `/IFRAME.HTML`,
/// `/iframe.HTML`, `/iframe.xml`, `/iframe-/.html`). sockjs-node:
/// `/iframe[0-9-.a-z_]*.html`.
fn is_iframe(path: &str) -> bool {
    path.strip_prefix("/iframe")
        .and_then(|rest| rest.strip_suffix(".html"))
        .is_some_and(|version| {
            version
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b"-._".contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(session: &str, transport: Transport) -> Route<'_> {
        Route::Session { session, transport }
    }

    #[test]
    fn static_urls() {
        // sockjs-protocol BaseUrlGreeting.test_greeting: `base_url` and `base_url + '/'`.
        assert_eq!(Route::parse(""), Route::Greeting);
        assert_eq!(Route::parse("/"), Route::Greeting);
        assert_eq!(Route::parse("/info"), Route::Info);
        assert_eq!(Route::parse("/info/"), Route::Info);
        assert_eq!(Route::parse("/websocket"), Route::RawWebSocket);
        for ok in [
            "/iframe.html",
            "/iframe-a.html",
            "/iframe-.html",
            "/iframe-0.1.2.html",
            "/iframe-0.1.2abc-dirty.2144.html",
        ] {
            assert_eq!(Route::parse(ok), Route::Iframe, "{ok}");
        }
        for bad in [
            "/iframe.htm",
            "/iframe",
            "/IFRAME.HTML",
            "/IFRAME",
            "/iframe.HTML",
            "/iframe.xml",
            "/iframe-/.html",
        ] {
            assert_eq!(Route::parse(bad), Route::NotFound, "{bad}");
        }
        // BaseUrlGreeting.test_notFound.
        for bad in ["/a", "/a.html", "//", "///", "/a/a", "/a/a/", "/a/"] {
            assert_eq!(Route::parse(bad), Route::NotFound, "{bad}");
        }
    }

    #[test]
    fn session_urls() {
        assert_eq!(Route::parse("/000/abc/xhr"), session("abc", Transport::Xhr));
        assert_eq!(
            Route::parse("/a/b/xhr_streaming/"),
            session("b", Transport::XhrStreaming)
        );
        assert_eq!(
            Route::parse("/abcdefgh_i-j%20/abcdefg_i-j%20/jsonp_send"),
            session("abcdefg_i-j%20", Transport::JsonpSend)
        );
        for (name, t) in [
            ("xhr", Transport::Xhr),
            ("xhr_send", Transport::XhrSend),
            ("xhr_streaming", Transport::XhrStreaming),
            ("eventsource", Transport::EventSource),
            ("htmlfile", Transport::HtmlFile),
            ("jsonp", Transport::Jsonp),
            ("jsonp_send", Transport::JsonpSend),
            ("websocket", Transport::WebSocket),
        ] {
            assert_eq!(Transport::from_name(name), Some(t));
            assert_eq!(t.name(), name);
        }
        // SessionURLs.test_invalidPaths, with /xhr after each.
        for bad in ["//", "/a./a", "/a/a.", "/./.", "/", "///"] {
            let path = alloc::format!("{bad}/xhr");
            assert_eq!(Route::parse(&path), Route::NotFound, "{path}");
        }
        assert_eq!(Route::parse("/a/a/xhr.bat"), Route::NotFound);
        assert_eq!(Route::parse("/a/a/jsonp;x.bat"), Route::NotFound);
        assert_eq!(Route::parse("/a/a/a/xhr"), Route::NotFound);
        assert_eq!(Route::parse("/a/a/unknown"), Route::NotFound);
        let long = "x".repeat(MAX_SESSION_ID_LEN + 1);
        assert_eq!(
            Route::parse(&alloc::format!("/0/{long}/xhr")),
            Route::NotFound
        );
    }

    #[test]
    fn methods() {
        assert_eq!(Method::from_name("GET"), Method::Get);
        assert_eq!(Method::from_name("get"), Method::Other);
        assert_eq!(Method::from_name("HEAD"), Method::Other);
        assert_eq!(Transport::Xhr.allow(), "OPTIONS, POST");
        assert_eq!(Transport::Jsonp.allow(), "GET");
    }
}
