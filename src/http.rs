//! The opening handshake on [`http`] types — for servers and clients built on hyper, axum,
//! `h2` or an HTTP/3 stack — in every version a browser uses:
//!
//! * **HTTP/1.1**: `GET` + `Upgrade: websocket`, answered `101 Switching Protocols` with
//!   `Sec-WebSocket-Accept` (RFC 6455 §4).
//! * **HTTP/2** (RFC 8441) and **HTTP/3** (RFC 9220): an *extended CONNECT* — method
//!   `CONNECT` with the `:protocol` pseudo-header `websocket` — answered `200`, on a stream
//!   of a connection whose server sent `SETTINGS_ENABLE_CONNECT_PROTOCOL`.
//!
//! The checks, the origin policy and the subprotocol and permessage-deflate negotiation
//! are those of [`ServerConfig::accept`] and [`ClientHandshake`](crate::handshake::ClientHandshake):
//! one policy whatever the version. `http` has no `:protocol` pseudo-header, so it is
//! passed as a plain value (hyper: `request.extensions().get::<hyper::ext::Protocol>()`;
//! `h2`: `h2::ext::Protocol`).
//!
//! ```
//! use rfc6455::handshake::ServerConfig;
//! use rfc6455::http::WebSocketRequest;
//!
//! let request = http::Request::connect("https://example.com/chat")
//!     .version(http::Version::HTTP_2)
//!     .header("sec-websocket-version", "13")
//!     .header("sec-websocket-protocol", "chat, superchat")
//!     .body(())?;
//! let config = ServerConfig::default().subprotocols(["chat"]);
//! let incoming = WebSocketRequest::new(&request, Some("websocket"));
//! let (response, accepted) = config.accept_http(&incoming)?;
//! assert_eq!(response.status(), 200); // RFC 8441 §5: "200 (OK)", not 101
//! assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
//! let (connection, _leftover) = accepted.into_connection(rfc6455::Config::default());
//! assert_eq!(connection.protocol(), Some("chat"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::boxed::Box;
use std::string::{String, ToString};
use std::vec::Vec;

use ::http::header::{HeaderMap, HeaderName, HeaderValue};
use ::http::{Method, Request, Response, StatusCode, Uri, Version};

use crate::UsageError;
use crate::handshake::client::{Offers, check_upgrade_response, encode_key};
use crate::handshake::head::HeaderFields;
use crate::handshake::server::{validate_upgrade_fields, validate_version};
use crate::handshake::{
    AcceptOptions, Accepted, ClientRequest, HandshakeError, HandshakeResponse, RejectedResponse,
    ServerConfig, accept_key,
};

impl<'a> HeaderFields<'a> for &'a HeaderMap {
    fn all(self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.get_all(name).into_iter().map(HeaderValue::as_bytes)
    }
}

/// How a request asks for a WebSocket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeKind {
    /// HTTP/1.1 `GET` with `Upgrade: websocket` (RFC 6455 §4.2.1); answered `101`.
    Upgrade,
    /// HTTP/2 (RFC 8441) or HTTP/3 (RFC 9220) extended `CONNECT` with `:protocol`
    /// `websocket`; answered `200`.
    ExtendedConnect,
}

/// A request that may open a WebSocket, seen through [`http`] types: the method, version,
/// URI and header fields of an `http::Request` (or its `Parts`), and the `:protocol`
/// pseudo-header of an HTTP/2 or HTTP/3 request, which `http` does not carry.
#[derive(Clone, Copy, Debug)]
pub struct WebSocketRequest<'a> {
    method: &'a Method,
    version: Version,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    protocol: Option<&'a str>,
}

impl<'a> WebSocketRequest<'a> {
    /// A view of `request`, with `protocol` the value of its `:protocol` pseudo-header
    /// (`None` for HTTP/1.1).
    pub fn new<B>(request: &'a Request<B>, protocol: Option<&'a str>) -> WebSocketRequest<'a> {
        WebSocketRequest {
            method: request.method(),
            version: request.version(),
            uri: request.uri(),
            headers: request.headers(),
            protocol,
        }
    }

    /// A view of the pieces of a request kept apart.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn from_fields(
        method: &'a Method,
        version: Version,
        uri: &'a Uri,
        headers: &'a HeaderMap,
        protocol: Option<&'a str>,
    ) -> WebSocketRequest<'a> {
        WebSocketRequest {
            method,
            version,
            uri,
            headers,
            protocol,
        }
    }

    /// A view of a request's `Parts` (e.g. inside an axum extractor).
    pub fn from_parts(
        parts: &'a ::http::request::Parts,
        protocol: Option<&'a str>,
    ) -> WebSocketRequest<'a> {
        WebSocketRequest {
            method: &parts.method,
            version: parts.version,
            uri: &parts.uri,
            headers: &parts.headers,
            protocol,
        }
    }

    /// The handshake this request attempts, by its HTTP version: an extended CONNECT for
    /// HTTP/2 and HTTP/3, an Upgrade otherwise.
    pub fn kind(&self) -> HandshakeKind {
        match self.version {
            Version::HTTP_2 | Version::HTTP_3 => HandshakeKind::ExtendedConnect,
            _ => HandshakeKind::Upgrade,
        }
    }

    /// Whether the request asks for a WebSocket at all (`Upgrade: websocket` and
    /// `Connection: Upgrade`, or `CONNECT` with `:protocol` `websocket`), for routing
    /// plain HTTP and WebSocket on one path. [`validate`](WebSocketRequest::validate)
    /// does the full check.
    pub fn is_websocket(&self) -> bool {
        match self.kind() {
            HandshakeKind::Upgrade => {
                self.headers.has_token("upgrade", "websocket")
                    && self.headers.has_token("connection", "upgrade")
            }
            HandshakeKind::ExtendedConnect => self.is_extended_connect(),
        }
    }

    fn is_extended_connect(&self) -> bool {
        // RFC 8441 §4: "The :protocol pseudo-header field MUST be included in the CONNECT
        // request, and it MUST have a value of "websocket"". Upgrade tokens compare
        // case-insensitively, as `Upgrade: websocket` does (RFC 6455 §4.2.1 item 3).
        *self.method == Method::CONNECT
            && self
                .protocol
                .is_some_and(|p| p.eq_ignore_ascii_case("websocket"))
    }

    /// The host the client addressed: the `:authority` of HTTP/2 and HTTP/3 (RFC 8441
    /// §4: "the :authority pseudo-header field is interpreted according to Section
    /// 8.1.2.3 of \[RFC7540\]"), the `Host` header of HTTP/1.1.
    pub fn host(&self) -> Option<&'a str> {
        match self.kind() {
            HandshakeKind::ExtendedConnect => self.uri.authority().map(|a| a.as_str()),
            HandshakeKind::Upgrade => self.headers.get("host")?.to_str().ok(),
        }
    }

    /// The `Origin` header (browsers always send one).
    pub fn origin(&self) -> Option<&'a str> {
        self.headers.get("origin")?.to_str().ok()
    }

    /// The path the client asked for.
    pub fn path(&self) -> &'a str {
        self.uri.path()
    }

    /// The query, if any.
    pub fn query(&self) -> Option<&'a str> {
        self.uri.query()
    }

    /// The header fields.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The subprotocols the client offered in `Sec-WebSocket-Protocol`, in its order.
    pub fn protocols(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.list("sec-websocket-protocol")
    }

    /// Checks every requirement of RFC 6455 §4.2.1 (HTTP/1.1) or RFC 8441 §4–5 / RFC 9220
    /// (HTTP/2, HTTP/3) on the request.
    ///
    /// # Errors
    ///
    /// The first requirement not met.
    pub fn validate(&self) -> Result<(), HandshakeError> {
        match self.kind() {
            HandshakeKind::Upgrade => {
                // RFC 6455 §4.2.1 1: "An HTTP/1.1 or higher GET request".
                if *self.method != Method::GET {
                    return Err(HandshakeError::MethodNotGet);
                }
                if self.version < Version::HTTP_11 {
                    return Err(HandshakeError::HttpVersion);
                }
                validate_upgrade_fields(self.headers)
            }
            HandshakeKind::ExtendedConnect => {
                if !self.is_extended_connect() {
                    return Err(HandshakeError::NotExtendedConnect);
                }
                // RFC 8441 §4: "The :scheme pseudo-header field MUST be included in the
                // CONNECT request and MUST have a value of "http" or "https"."
                let scheme = self.uri.scheme_str();
                if !scheme.is_some_and(|s| s == "http" || s == "https") {
                    return Err(HandshakeError::NotExtendedConnect);
                }
                // §5: "The :authority pseudo-header field MUST be set to the authority
                // part of the target URI" — the host of the origin policy.
                if self.uri.authority().is_none_or(|a| a.as_str().is_empty()) {
                    return Err(HandshakeError::MissingHost);
                }
                // Connection, Upgrade and Sec-WebSocket-Key are not used (§4: "do not do
                // the processing of the Sec-WebSocket-Key and Sec-WebSocket-Accept header
                // fields"); the version is, as in §5.1's example ("sec-websocket-version
                // = 13").
                validate_version(self.headers)
            }
        }
    }
}

impl ServerConfig {
    /// [`check`](ServerConfig::check) for a request given as [`http`] types: the
    /// requirements of its handshake kind, then the origin policy.
    ///
    /// # Errors
    ///
    /// The first requirement not met; [`HandshakeError::http_response`] answers it.
    pub fn check_http(&self, request: &WebSocketRequest<'_>) -> Result<(), HandshakeError> {
        request.validate()?;
        self.check_http_origin(request)
    }

    /// The origin policy alone, for a request whose authority is its `Host` field or, over
    /// HTTP/2 and 3, its `:authority`.
    pub(crate) fn check_http_origin(
        &self,
        request: &WebSocketRequest<'_>,
    ) -> Result<(), HandshakeError> {
        let host = request.host().map(str::as_bytes);
        self.check_origin(request.headers.get("origin").map(|v| v.as_bytes()), host)
    }

    /// [`accept`](ServerConfig::accept) for a request given as [`http`] types: checks
    /// it, negotiates subprotocol and permessage-deflate, and returns the response to send
    /// — `101` with `Sec-WebSocket-Accept` for HTTP/1.1, `200` for an extended CONNECT —
    /// with what was agreed ([`Accepted::into_connection`] makes the connection).
    ///
    /// # Errors
    ///
    /// The request is not an acceptable handshake; answer with
    /// [`HandshakeError::http_response`].
    pub fn accept_http(
        &self,
        request: &WebSocketRequest<'_>,
    ) -> Result<(Response<()>, Accepted), HandshakeError> {
        self.accept_http_with(request, &AcceptOptions::default())
    }

    /// [`accept_http`](ServerConfig::accept_http) with a subprotocol choice and extra
    /// response headers from the application.
    ///
    /// # Errors
    ///
    /// As [`accept_http`](ServerConfig::accept_http).
    pub fn accept_http_with(
        &self,
        request: &WebSocketRequest<'_>,
        options: &AcceptOptions,
    ) -> Result<(Response<()>, Accepted), HandshakeError> {
        self.check_http(request)?;
        self.answer_http(request, options)
    }

    /// The negotiation and the response, for a request that [`check_http`] (or
    /// [`WebSocketRequest::validate`] and [`check_http_origin`]) accepted: what the axum
    /// extractor runs in `on_upgrade`, having validated the request when it was extracted.
    ///
    /// [`check_http`]: ServerConfig::check_http
    /// [`check_http_origin`]: ServerConfig::check_http_origin
    pub(crate) fn answer_http(
        &self,
        request: &WebSocketRequest<'_>,
        options: &AcceptOptions,
    ) -> Result<(Response<()>, Accepted), HandshakeError> {
        let accepted = self.negotiate_fields(request.headers, &[], options)?;
        let mut response = Response::new(());
        match request.kind() {
            HandshakeKind::Upgrade => {
                *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
                let headers = response.headers_mut();
                headers.insert(
                    ::http::header::UPGRADE,
                    HeaderValue::from_static("websocket"),
                );
                headers.insert(
                    ::http::header::CONNECTION,
                    HeaderValue::from_static("Upgrade"),
                );
                let key = request
                    .headers
                    .get("sec-websocket-key")
                    .map(|k| k.as_bytes());
                let accept = accept_key(crate::handshake::trim(key.unwrap_or_default()));
                headers.insert(
                    ::http::header::SEC_WEBSOCKET_ACCEPT,
                    HeaderValue::from_bytes(&accept).map_err(|_| internal("accept key"))?,
                );
            }
            // RFC 8441 §5: "If the server agrees to the WebSocket connection, it MUST
            // respond with a 200 (OK) status code."
            HandshakeKind::ExtendedConnect => *response.status_mut() = StatusCode::OK,
        }
        let headers = response.headers_mut();
        if let Some(p) = &accepted.protocol {
            headers.insert(
                ::http::header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_str(p).map_err(|_| internal("subprotocol"))?,
            );
        }
        if !accepted.extensions.is_empty() {
            let list: Vec<String> = accepted.extensions.iter().map(|e| e.to_string()).collect();
            headers.insert(
                ::http::header::SEC_WEBSOCKET_EXTENSIONS,
                HeaderValue::from_str(&list.join(", ")).map_err(|_| internal("extensions"))?,
            );
        }
        for (name, value) in &options.headers {
            // Checked as tokens and safe values by the negotiation.
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| internal("response header"))?;
            let value = HeaderValue::from_str(value).map_err(|_| internal("response header"))?;
            headers.append(name, value);
        }
        Ok((response, accepted))
    }
}

fn internal(what: &'static str) -> HandshakeError {
    HandshakeError::Usage(UsageError::InvalidHandshakeInput(what))
}

impl HandshakeError {
    /// The HTTP response a server sends for this error, on [`http`] types: the
    /// [`status`](HandshakeError::status), a plain-text body with the
    /// [`reason`](HandshakeError::reason), and for a wrong version
    /// `Sec-WebSocket-Version: 13` (RFC 6455 §4.2.2). `B` is any body that can be made
    /// from a `&'static str` (`String`, `http_body_util::Full<Bytes>`, axum's `Body`).
    pub fn http_response<B: From<&'static str>>(&self) -> Response<B> {
        let mut response = Response::new(B::from(self.reason()));
        *response.status_mut() =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let headers = response.headers_mut();
        headers.insert(
            ::http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if *self == HandshakeError::UnsupportedVersion {
            headers.insert(
                ::http::header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            );
        }
        response
    }
}

/// The client's side of a handshake made with [`http`] types: what it offered, to check
/// the server's answer against. Made by [`ClientRequest::to_http`] or
/// [`ClientRequest::to_extended_connect`].
#[derive(Clone, Debug)]
pub struct HttpClientHandshake {
    offers: Offers,
    /// The expected `Sec-WebSocket-Accept` (HTTP/1.1 only).
    accept: Option<[u8; 28]>,
}

impl HttpClientHandshake {
    /// Checks the server's answer — `101` with the right `Sec-WebSocket-Accept` for an
    /// Upgrade (RFC 6455 §4.1), `200` for an extended CONNECT (RFC 8441 §5) — and the
    /// subprotocol and extensions it selected.
    ///
    /// # Errors
    ///
    /// Another status ([`HandshakeError::Rejected`], with the status and headers), or an
    /// answer that breaks the RFC: the connection must then be failed.
    pub fn check_response(
        &self,
        response: &::http::response::Parts,
    ) -> Result<HandshakeResponse, HandshakeError> {
        let expected = match self.accept {
            Some(_) => StatusCode::SWITCHING_PROTOCOLS,
            None => StatusCode::OK,
        };
        let headers: Vec<(String, Vec<u8>)> = response
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().into(), v.as_bytes().into()))
            .collect();
        if response.status != expected {
            return Err(HandshakeError::Rejected(Box::new(RejectedResponse {
                status: response.status.as_u16(),
                reason: response.status.canonical_reason().unwrap_or("").into(),
                headers,
            })));
        }
        if let Some(accept) = &self.accept {
            check_upgrade_response(&response.headers, accept)?;
        }
        self.offers
            .negotiated(&response.headers, headers, Vec::new())
    }
}

impl ClientRequest {
    /// The HTTP/1.1 Upgrade request as [`http`] types (`GET`, `Host`, `Upgrade`,
    /// `Connection`, a `Sec-WebSocket-Key` from the operating system's generator, and
    /// everything the request carries), with the handshake that checks the answer.
    ///
    /// # Errors
    ///
    /// A request that cannot be written as HTTP (bad host, target, subprotocol or header).
    pub fn to_http(&self) -> Result<(Request<()>, HttpClientHandshake), UsageError> {
        self.to_http_with_nonce(rand::random())
    }

    /// [`to_http`](ClientRequest::to_http) with `nonce` as the key.
    ///
    /// # Errors
    ///
    /// As [`to_http`](ClientRequest::to_http).
    pub fn to_http_with_nonce(
        &self,
        nonce: [u8; 16],
    ) -> Result<(Request<()>, HttpClientHandshake), UsageError> {
        let offers = self.offers()?;
        let key = encode_key(nonce);
        let mut request = Request::get(self.uri()?)
            .version(Version::HTTP_11)
            .header(::http::header::HOST, self.host_header())
            .header(::http::header::UPGRADE, "websocket")
            .header(::http::header::CONNECTION, "Upgrade")
            .header(::http::header::SEC_WEBSOCKET_KEY, &key[..])
            .body(())
            .map_err(|_| UsageError::InvalidHandshakeInput("host"))?;
        self.add_headers(request.headers_mut())?;
        let handshake = HttpClientHandshake {
            offers,
            accept: Some(accept_key(&key)),
        };
        Ok((request, handshake))
    }

    /// The extended CONNECT of RFC 8441 (`version` HTTP/2) or RFC 9220 (HTTP/3) as
    /// [`http`] types: method `CONNECT`, the URI giving `:scheme` (`https` for `wss`,
    /// `http` for `ws`), `:authority` and `:path`, and the handshake's header fields —
    /// no `Upgrade`, `Connection` or key. `http` cannot carry the `:protocol`
    /// pseudo-header: set it to `websocket` with your HTTP/2 library (for `h2`,
    /// `request.extensions_mut().insert(h2::ext::Protocol::from_static("websocket"))`).
    ///
    /// # Errors
    ///
    /// As [`to_http`](ClientRequest::to_http).
    pub fn to_extended_connect(
        &self,
        version: Version,
    ) -> Result<(Request<()>, HttpClientHandshake), UsageError> {
        let offers = self.offers()?;
        let mut request = Request::connect(self.uri()?)
            .version(version)
            .body(())
            .map_err(|_| UsageError::InvalidHandshakeInput("request URI"))?;
        self.add_headers(request.headers_mut())?;
        Ok((
            request,
            HttpClientHandshake {
                offers,
                accept: None,
            },
        ))
    }

    /// The handshake's header fields (checked by `offers`: tokens and safe values).
    fn add_headers(&self, headers: &mut HeaderMap) -> Result<(), UsageError> {
        let mut result = Ok(());
        self.for_each_header(|name, value| {
            match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value),
            ) {
                (Ok(name), Ok(value)) => {
                    headers.append(name, value);
                }
                _ => result = Err(UsageError::InvalidHandshakeInput("header")),
            }
        });
        result
    }

    /// `http(s)://authority/target`: RFC 8441 §5: "The :scheme pseudo-header field MUST be
    /// set to "https" for wss URIs and "http" for ws URIs."
    fn uri(&self) -> Result<Uri, UsageError> {
        let scheme = if self.is_secure() { "https" } else { "http" };
        let uri = std::format!("{scheme}://{}{}", self.host_header(), self.target());
        Uri::try_from(uri).map_err(|_| UsageError::InvalidHandshakeInput("request URI"))
    }
}
