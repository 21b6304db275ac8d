//! The HTTP side of a SockJS endpoint as plain decisions: which URL a request names, what
//! status and headers answer it (CORS, caching, the `JSESSIONID` cookie, the origin
//! policy), and what the transport glue must do next (answer a body, attach a receiver,
//! read a sending request, upgrade to a WebSocket).
//!
//! No socket and no clock: the request's fields, the time and the `/info` entropy come in
//! as a [`Request`]; an [`Answer`] comes out. The hyper glue
//! ([`service`](crate::service), feature `hyper`) maps `http` types onto these and back.
//!
//! ```
//! use rfc6455_sockjs::endpoint::{Action, Endpoint, Method, Request};
//! use rfc6455_sockjs::Framing;
//!
//! let endpoint = Endpoint::new().cookie_needed(true);
//! let answer = endpoint.answer(&Request::new(Method::Post, "/000/a1b2c3/xhr").origin(b"https://app.example"));
//! assert_eq!(answer.status, 200);
//! assert_eq!(answer.action, Action::Receive { session: "a1b2c3", framing: Framing::Xhr });
//! assert!(answer.headers.iter().any(|(name, value)| *name == "set-cookie" && &value[..] == b"JSESSIONID=dummy; path=/"));
//! assert!(answer.headers.iter().any(|(name, value)| *name == "access-control-allow-origin" && &value[..] == b"https://app.example"));
//! ```

mod headers;
mod iframe;
mod route;

pub use headers::{
    Header, MAX_JSESSIONID_LEN, NO_CACHE, ONE_YEAR_SECS, find_jsessionid, http_date,
};
pub use route::{Method, Route, Transport};

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use rfc6455::handshake::AllowedOrigins;

use crate::framing::{Callback, CallbackError, Framing};
use crate::payload::{Payload, PayloadError};

/// The sockjs-client build that `iframe.html` loads unless told otherwise: the public CDN
/// URL of sockjs-client 1.6.1, as sockjs-node and Spring default to a CDN. The iframe's
/// client must be the same version as the page's (sockjs-client's `iframe-bootstrap`
/// refuses another: "Incompatible SockJS!"), so set yours with
/// [`Endpoint::sockjs_url`].
pub const DEFAULT_SOCKJS_URL: &str =
    "https://cdn.jsdelivr.net/npm/sockjs-client@1.6.1/dist/sockjs.min.js";

/// `text/plain; charset=UTF-8`: the greeting's, errors' and sending requests' content type.
pub const TEXT_PLAIN: &str = "text/plain; charset=UTF-8";
const JAVASCRIPT: &str = "application/javascript; charset=UTF-8";
const HTML: &str = "text/html; charset=UTF-8";

/// sockjs-protocol `test_greeting`: the body is exactly this.
pub const GREETING: &str = "Welcome to SockJS!\n";
/// sockjs-node `handle_404`'s body.
pub const NOT_FOUND: &str = "404 Error: Page not found\n";

/// One SockJS endpoint's HTTP policy: which transports are on, whether load balancers need
/// `JSESSIONID`, where `iframe.html` loads sockjs-client from, and which origins may use it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    websocket: bool,
    cookie_needed: bool,
    sockjs_url: String,
    iframe_page: String,
    iframe_etag: String,
    origins: AllowedOrigins,
    every_origin: bool,
}

impl Default for Endpoint {
    fn default() -> Endpoint {
        Endpoint::new()
    }
}

/// What a request carries that SockJS looks at, plus the two inputs a sans-IO answer cannot
/// fetch itself: the time (for `Expires`) and randomness (for `/info`'s entropy).
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    method: Method,
    path: &'a str,
    query: Option<&'a str>,
    origin: Option<&'a [u8]>,
    host: Option<&'a [u8]>,
    jsessionid: Option<&'a [u8]>,
    cors_request_headers: Option<&'a [u8]>,
    content_type: Option<&'a [u8]>,
    if_none_match: Option<&'a [u8]>,
    upgrade: bool,
    now_unix_secs: u64,
    entropy: u32,
}

impl<'a> Request<'a> {
    /// A request with `method` for `path`, relative to the endpoint's base URL (`""`,
    /// `"/info"`, `"/000/abc/xhr"`; without the query).
    pub fn new(method: Method, path: &'a str) -> Request<'a> {
        Request {
            method,
            path,
            query: None,
            origin: None,
            host: None,
            jsessionid: None,
            cors_request_headers: None,
            content_type: None,
            if_none_match: None,
            upgrade: false,
            now_unix_secs: 0,
            entropy: 0,
        }
    }

    /// The query string, without `?`.
    pub fn query(mut self, query: &'a str) -> Request<'a> {
        self.query = Some(query);
        self
    }

    /// The `Origin` header.
    pub fn origin(mut self, origin: &'a [u8]) -> Request<'a> {
        self.origin = Some(origin);
        self
    }

    /// The `Host` header (or HTTP/2 `:authority`), for a same-origin policy.
    pub fn host(mut self, host: &'a [u8]) -> Request<'a> {
        self.host = Some(host);
        self
    }

    /// The `JSESSIONID` cookie's value (see [`find_jsessionid`]).
    pub fn jsessionid(mut self, value: &'a [u8]) -> Request<'a> {
        self.jsessionid = Some(value);
        self
    }

    /// The `Access-Control-Request-Headers` header.
    pub fn cors_request_headers(mut self, value: &'a [u8]) -> Request<'a> {
        self.cors_request_headers = Some(value);
        self
    }

    /// The `Content-Type` header.
    pub fn content_type(mut self, value: &'a [u8]) -> Request<'a> {
        self.content_type = Some(value);
        self
    }

    /// The `If-None-Match` header.
    pub fn if_none_match(mut self, value: &'a [u8]) -> Request<'a> {
        self.if_none_match = Some(value);
        self
    }

    /// Whether the request asks for a WebSocket (HTTP/1.1 `Upgrade: websocket` with
    /// `Connection: upgrade`, or an RFC 8441 `CONNECT`); the WebSocket handshake checks
    /// the rest.
    pub fn upgrade(mut self, upgrade: bool) -> Request<'a> {
        self.upgrade = upgrade;
        self
    }

    /// The current time as seconds since the Unix epoch (for `Expires`).
    pub fn now_unix_secs(mut self, secs: u64) -> Request<'a> {
        self.now_unix_secs = secs;
        self
    }

    /// A random number for `/info`'s `entropy` (sockjs-protocol `test_entropy`: "Info url
    /// must supply a good, unpredictable random number from the range <0; 2^32-1>").
    pub fn entropy(mut self, entropy: u32) -> Request<'a> {
        self.entropy = entropy;
        self
    }
}

/// How to answer a request: status and headers, and what to do for the body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Answer<'a> {
    /// The status to answer with (for [`Action::Send`], the status if the body is not
    /// read: see [`SendReply`]).
    pub status: u16,
    /// Response headers, lower-case names, in order. Values borrowed from the request are
    /// header values already.
    pub headers: Vec<Header<'a>>,
    /// The body.
    pub action: Action<'a>,
}

/// What the glue does after writing an [`Answer`]'s status and headers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action<'a> {
    /// The whole body (possibly empty).
    Respond(Cow<'static, [u8]>),
    /// A receiving request: find or create the session, [`attach`](crate::Session::attach)
    /// with `framing`, write its [`prelude`](Framing::encode_prelude) and then the frames
    /// [`poll_transmit`](crate::Session::poll_transmit) gives. A registry that is full
    /// answers [`SERVICE_UNAVAILABLE`] instead.
    Receive {
        /// The session id.
        session: &'a str,
        /// The transport's wrapping.
        framing: Framing,
    },
    /// A sending request: find the session (else [`SendReply::UnknownSession`]), read the
    /// body (bounded: else [`SendReply::TooLarge`]), hand it to
    /// [`receive`](crate::Session::receive) as `payload`, and answer as [`SendReply`] says
    /// with the answer's headers.
    Send {
        /// The session id.
        session: &'a str,
        /// How to decode the body.
        payload: Payload,
    },
    /// Upgrade to a WebSocket (the WebSocket handshake's own checks apply): `framed` for
    /// `{session}/websocket` (SockJS frames, a new session per WebSocket — sockjs-node:
    /// "websockets possess no session_id"), raw for `{base}/websocket`.
    WebSocket {
        /// SockJS framing (`o`, `a[...]`, `h`, `c[...]`) rather than raw messages.
        framed: bool,
    },
}

/// The status and body for a receiving request that found the registry full: 503.
pub const SERVICE_UNAVAILABLE: (u16, &str) = (503, "Too many SockJS sessions.\n");

/// How a sending request ([`Action::Send`]) ended, and what to answer (with the answer's
/// headers and a `text/plain; charset=UTF-8` content type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendReply {
    /// The messages were taken: `xhr_send` answers `204` (sockjs-protocol: "The content type
    /// of `xhr_send` must be set to `text/plain`, even though the response code is `204`"),
    /// `jsonp_send` `200 ok` ("Konqueror does weird things on 204. As a workaround we need
    /// to respond with something - let it be the string `ok`.").
    Accepted,
    /// No such session: 404 (sockjs-protocol: "Sending messages to not existing sessions is
    /// invalid.").
    UnknownSession,
    /// The body is not a payload: 500 "Broken JSON encoding." or "Payload expected.".
    Invalid(PayloadError),
    /// The body is longer than the bound: 413, and nothing of it was taken.
    TooLarge,
}

impl SendReply {
    /// The status and body to answer a sending request decoded as `payload` with.
    pub fn response(&self, payload: Payload) -> (u16, &'static str) {
        match self {
            SendReply::Accepted if payload == Payload::XhrSend => (204, ""),
            SendReply::Accepted => (200, "ok"),
            SendReply::UnknownSession => (404, NOT_FOUND),
            SendReply::Invalid(e) => (e.http_status(), e.http_body()),
            SendReply::TooLarge => (413, "Payload too large.\n"),
        }
    }
}

impl Endpoint {
    /// The defaults: every transport on, no cookie, sockjs-client from
    /// [`DEFAULT_SOCKJS_URL`], every origin allowed (sockjs-node's defaults).
    pub fn new() -> Endpoint {
        let (iframe_page, iframe_etag) = iframe::page(DEFAULT_SOCKJS_URL);
        Endpoint {
            websocket: true,
            cookie_needed: false,
            sockjs_url: String::from(DEFAULT_SOCKJS_URL),
            iframe_page,
            iframe_etag,
            origins: AllowedOrigins::any(),
            every_origin: true,
        }
    }

    /// Serves the WebSocket transports (`{base}/websocket` and `{session}/websocket`;
    /// default on). Off, both are 404 and `/info` says `"websocket":false`, so clients use
    /// the HTTP transports (sockjs-protocol's `disabled_websocket_echo`).
    pub fn websocket(mut self, on: bool) -> Endpoint {
        self.websocket = on;
        self
    }

    /// Whether the WebSocket transports are on.
    pub fn websocket_enabled(&self) -> bool {
        self.websocket
    }

    /// Sets `JSESSIONID` on every session request and says `"cookie_needed":true` in
    /// `/info`, for load balancers that keep sessions sticky by that cookie (default off).
    /// sockjs-protocol `JsessionidCookie`: "User of a sockjs server must be able to opt-in
    /// for this functionality - and set this cookie for all the session urls."
    pub fn cookie_needed(mut self, on: bool) -> Endpoint {
        self.cookie_needed = on;
        self
    }

    /// Where `iframe.html` loads sockjs-client from (default [`DEFAULT_SOCKJS_URL`]): the
    /// same build as the pages that connect.
    pub fn sockjs_url(mut self, url: &str) -> Endpoint {
        self.sockjs_url = String::from(url);
        (self.iframe_page, self.iframe_etag) = iframe::page(url);
        self
    }

    /// The sockjs-client URL.
    pub fn get_sockjs_url(&self) -> &str {
        &self.sockjs_url
    }

    /// Which pages may use the endpoint: the policy of the WebSocket handshake
    /// ([`AllowedOrigins`]), applied to every request that carries an `Origin` (403 when
    /// refused; a request without one passes unless the policy requires it).
    ///
    /// A policy that refuses some origins also turns off what an origin check cannot
    /// protect (404, as for a disabled transport; sockjs-client falls back to the others):
    /// `iframe.html`, which any site may frame and which then talks to the endpoint from
    /// the endpoint's own origin on the framing site's behalf (Spring: "Iframe support is
    /// disabled when an origin check is required"), and `jsonp` / `jsonp_send`, whose
    /// `<script>` requests carry no `Origin` and whose answers any site can read.
    pub fn allowed_origins(mut self, origins: AllowedOrigins) -> Endpoint {
        // `null` (a sandboxed or `file:` page) passes only a policy that allows everything.
        self.every_origin = origins.is_allowed(Some(b"null"), None);
        self.origins = origins;
        self
    }

    /// The origin policy.
    pub fn origins(&self) -> &AllowedOrigins {
        &self.origins
    }

    /// The `iframe.html` page and its ETag.
    pub fn iframe(&self) -> (&str, &str) {
        (&self.iframe_page, &self.iframe_etag)
    }

    /// How to answer `request`.
    pub fn answer<'a>(&self, request: &Request<'a>) -> Answer<'a> {
        let mut headers = Vec::new();
        match Route::parse(request.path) {
            Route::Greeting => match request.method {
                Method::Get => text(200, headers, GREETING),
                _ => method_not_allowed("GET"),
            },
            Route::Info => self.info(request, headers),
            Route::Iframe if self.every_origin => match request.method {
                Method::Get => self.iframe_answer(request, headers),
                _ => method_not_allowed("GET"),
            },
            Route::RawWebSocket if self.websocket => self.websocket_answer(request, headers, false),
            Route::Session { session, transport } => {
                self.session_answer(request, session, transport, &mut headers)
            }
            Route::Iframe | Route::RawWebSocket | Route::NotFound => not_found(headers),
        }
    }

    /// 403 when the request's `Origin` is refused (or missing, if the policy requires one).
    fn refused(&self, request: &Request<'_>) -> Option<Answer<'static>> {
        (!self.origins.is_allowed(request.origin, request.host))
            .then(|| text(403, Vec::new(), "Origin not allowed.\n"))
    }

    fn info<'a>(&self, request: &Request<'a>, mut headers: Vec<Header<'a>>) -> Answer<'a> {
        match request.method {
            Method::Get | Method::Options => {}
            _ => return method_not_allowed("OPTIONS, GET"),
        }
        if let Some(refused) = self.refused(request) {
            return refused;
        }
        if request.method == Method::Options {
            // sockjs-node: `OPTIONS /info` → h_sid, xhr_cors, info_options.
            self.jsessionid(request, &mut headers);
            headers::cors(
                request.origin,
                request.cors_request_headers,
                false,
                &mut headers,
            );
            headers::preflight("OPTIONS, GET", request.now_unix_secs, &mut headers);
            return Answer {
                status: 204,
                headers,
                action: Action::Respond(Cow::Borrowed(b"")),
            };
        }
        // sockjs-protocol InfoTest.test_basic: 200, `application/json;charset=UTF-8`, no
        // cookie, not cached, CORS; `websocket`, `cookie_needed`, `origins: ['*:*']`
        // ("List of allowed origins. Currently ignored."), `entropy`.
        headers::cors(
            request.origin,
            request.cors_request_headers,
            false,
            &mut headers,
        );
        headers::no_cache(&mut headers);
        headers.push((
            "content-type",
            Cow::Borrowed(b"application/json; charset=UTF-8".as_slice()),
        ));
        let mut body = String::with_capacity(96);
        let _ = write!(
            body,
            "{{\"websocket\":{},\"cookie_needed\":{},\"origins\":[\"*:*\"],\"entropy\":{}}}",
            self.websocket, self.cookie_needed, request.entropy
        );
        Answer {
            status: 200,
            headers,
            action: Action::Respond(Cow::Owned(body.into_bytes())),
        }
    }

    fn iframe_answer<'a>(&self, request: &Request<'a>, mut headers: Vec<Header<'a>>) -> Answer<'a> {
        // sockjs-protocol test_cacheability: "Server must support 'if-none-match' requests."
        // — 304 with no content type and no body.
        if request.if_none_match == Some(self.iframe_etag.as_bytes()) {
            return Answer {
                status: 304,
                headers,
                action: Action::Respond(Cow::Borrowed(b"")),
            };
        }
        // "The iframe page must be strongly cacheable, supply Cache-Control, Expires and Etag
        // headers and avoid Last-Modified header."
        headers::cache_for_a_year(request.now_unix_secs, &mut headers);
        headers.push(("content-type", Cow::Borrowed(HTML.as_bytes())));
        headers.push(("etag", Cow::Owned(self.iframe_etag.as_bytes().to_vec())));
        Answer {
            status: 200,
            headers,
            action: Action::Respond(Cow::Owned(self.iframe_page.as_bytes().to_vec())),
        }
    }

    fn websocket_answer<'a>(
        &self,
        request: &Request<'a>,
        headers: Vec<Header<'a>>,
        framed: bool,
    ) -> Answer<'a> {
        match request.method {
            Method::Get | Method::Connect => {}
            // sockjs-protocol WebsocketHttpErrors.test_invalidMethod: "WebSocket should only
            // accept GET" (405).
            _ => return method_not_allowed("GET"),
        }
        if !request.upgrade {
            // test_httpMethod: "Normal requests to websocket should not succeed." (400), and
            // test_invalidConnectionHeader: "Some proxies and load balancers can rewrite
            // 'Connection' header, in such case we must refuse connection."
            return text(400, headers, "Not a valid websocket request\n");
        }
        if let Some(refused) = self.refused(request) {
            return refused;
        }
        Answer {
            status: 101,
            headers,
            action: Action::WebSocket { framed },
        }
    }

    fn jsessionid<'a>(&self, request: &Request<'a>, headers: &mut Vec<Header<'a>>) {
        if self.cookie_needed {
            headers::jsessionid(request.jsessionid, headers);
        }
    }

    fn session_answer<'a>(
        &self,
        request: &Request<'a>,
        session: &'a str,
        transport: Transport,
        headers: &mut Vec<Header<'a>>,
    ) -> Answer<'a> {
        let enabled = match transport {
            Transport::WebSocket => self.websocket,
            Transport::Jsonp | Transport::JsonpSend => self.every_origin,
            _ => true,
        };
        if !enabled {
            return not_found(core::mem::take(headers));
        }
        if transport == Transport::WebSocket {
            return self.websocket_answer(request, core::mem::take(headers), true);
        }
        let preflight = request.method == Method::Options
            && matches!(
                transport,
                Transport::Xhr | Transport::XhrSend | Transport::XhrStreaming
            );
        let expected = match transport {
            Transport::Xhr
            | Transport::XhrSend
            | Transport::XhrStreaming
            | Transport::JsonpSend => Method::Post,
            _ => Method::Get,
        };
        if request.method != expected && !preflight {
            return method_not_allowed(transport.allow());
        }
        if let Some(refused) = self.refused(request) {
            return refused;
        }
        // sockjs-node's middleware order: h_sid, then h_no_cache (not for preflights), then
        // xhr_cors for the XHR transports.
        self.jsessionid(request, headers);
        let cors = |headers: &mut Vec<Header<'a>>| {
            headers::cors(request.origin, request.cors_request_headers, false, headers);
        };
        if preflight {
            // sockjs-protocol verify_options: 204 (or 200), "public" and a large max-age,
            // Expires, Access-Control-Max-Age > 1000000, the methods, no body, CORS.
            cors(headers);
            headers::preflight("OPTIONS, POST", request.now_unix_secs, headers);
            return Answer {
                status: 204,
                headers: core::mem::take(headers),
                action: Action::Respond(Cow::Borrowed(b"")),
            };
        }
        headers::no_cache(headers);
        let receive = |headers: &mut Vec<Header<'a>>, content_type: &'static str, framing| Answer {
            status: 200,
            headers: {
                headers.push(("content-type", Cow::Borrowed(content_type.as_bytes())));
                core::mem::take(headers)
            },
            action: Action::Receive { session, framing },
        };
        match transport {
            Transport::Xhr => {
                cors(headers);
                receive(headers, JAVASCRIPT, Framing::Xhr)
            }
            Transport::XhrStreaming => {
                cors(headers);
                receive(headers, JAVASCRIPT, Framing::XhrStreaming)
            }
            Transport::EventSource => {
                // sockjs-node's eventsource handler: its own CORS, `*` for a `null` origin.
                headers::cors(request.origin, request.cors_request_headers, true, headers);
                receive(headers, "text/event-stream", Framing::EventSource)
            }
            Transport::HtmlFile => match self.callback(request) {
                Ok(cb) => receive(headers, HTML, Framing::HtmlFile(cb)),
                Err(e) => text(e.http_status(), core::mem::take(headers), e.http_body()),
            },
            Transport::Jsonp => match self.callback(request) {
                Ok(cb) => {
                    // sockjs-node: "protect against SWF JSONP exploit - #163".
                    headers.push((
                        "x-content-type-options",
                        Cow::Borrowed(b"nosniff".as_slice()),
                    ));
                    receive(headers, JAVASCRIPT, Framing::Jsonp(cb))
                }
                Err(e) => text(e.http_status(), core::mem::take(headers), e.http_body()),
            },
            Transport::XhrSend => {
                cors(headers);
                // sockjs-node `expect_xhr`: these content types (parameters ignored) carry
                // the body; any other leaves it unread, so "Payload expected."
                // (sockjs-protocol XhrPolling.test_content_types).
                match media_type(request.content_type) {
                    b"text/plain" | b"T" | b"application/json" | b"application/xml" | b""
                    | b"text/xml" => send(headers, session, Payload::XhrSend),
                    _ => invalid(headers, PayloadError::Empty),
                }
            }
            Transport::JsonpSend => match media_type(request.content_type) {
                // sockjs-node `expect_form`.
                b"application/x-www-form-urlencoded" => {
                    send(headers, session, Payload::JsonpSendForm)
                }
                b"text/plain" | b"" => send(headers, session, Payload::JsonpSendText),
                _ => invalid(headers, PayloadError::Empty),
            },
            // Answered above; the same answer again if it ever gets here.
            Transport::WebSocket => self.websocket_answer(request, Vec::new(), true),
        }
    }

    /// The `c` (or `callback`) query parameter, validated.
    fn callback(&self, request: &Request<'_>) -> Result<Callback, CallbackError> {
        let query = request.query.unwrap_or("").as_bytes();
        let value = crate::payload::form_field(query, b"c")
            .or_else(|| crate::payload::form_field(query, b"callback"))
            .ok_or(CallbackError::Missing)?;
        let name = core::str::from_utf8(&value).map_err(|_| CallbackError::Invalid)?;
        Callback::new(name)
    }
}

/// The media type of a `Content-Type` value: before any `;`, trimmed.
fn media_type(content_type: Option<&[u8]>) -> &[u8] {
    let value = content_type.unwrap_or(b"");
    let end = value.iter().position(|&b| b == b';').unwrap_or(value.len());
    value[..end].trim_ascii()
}

fn send<'a>(headers: &mut Vec<Header<'a>>, session: &'a str, payload: Payload) -> Answer<'a> {
    Answer {
        status: 204,
        headers: core::mem::take(headers),
        action: Action::Send { session, payload },
    }
}

fn invalid<'a>(headers: &mut Vec<Header<'a>>, error: PayloadError) -> Answer<'a> {
    text(
        error.http_status(),
        core::mem::take(headers),
        error.http_body(),
    )
}

/// A `text/plain` answer.
fn text<'a>(status: u16, mut headers: Vec<Header<'a>>, body: &'static str) -> Answer<'a> {
    headers.push(("content-type", Cow::Borrowed(TEXT_PLAIN.as_bytes())));
    Answer {
        status,
        headers,
        action: Action::Respond(Cow::Borrowed(body.as_bytes())),
    }
}

fn not_found(headers: Vec<Header<'_>>) -> Answer<'_> {
    text(404, headers, NOT_FOUND)
}

/// sockjs-protocol `verify405`: 405, no content type, an `Allow` header, no body.
fn method_not_allowed(allow: &'static str) -> Answer<'static> {
    Answer {
        status: 405,
        headers: alloc::vec![("allow", Cow::Borrowed(allow.as_bytes()))],
        action: Action::Respond(Cow::Borrowed(b"")),
    }
}

#[cfg(test)]
mod tests;
