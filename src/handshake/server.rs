//! The server's side of the opening handshake (RFC 6455 §4.2).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::head::{self, Fields, HeadBuffer, HeaderFields, HeaderSpan, MAX_HEADERS_CAP};
use super::{
    AllowedOrigins, DEFAULT_MAX_HEAD_SIZE, DEFAULT_MAX_HEADERS, Extension, HandshakeError,
    accept_key, is_safe_value, is_token, parse_extensions,
};
use crate::config::Config;
use crate::connection::{Connection, Role};
use crate::error::UsageError;
use crate::frame::Status;

type Selector = dyn for<'a> Fn(&[&'a str]) -> Option<&'a str> + Send + Sync;

/// The server's handshake policy: limits, allowed origins, subprotocols.
///
/// ```
/// use rfc6455::handshake::{AllowedOrigins, ServerConfig};
/// let config = ServerConfig::default()
///     .allowed_origins(AllowedOrigins::same_origin().allow("https://*.example.com")?)
///     .subprotocols(["v12.stomp", "v11.stomp", "v10.stomp"]);
/// # let _ = config;
/// # Ok::<(), rfc6455::UsageError>(())
/// ```
#[derive(Clone)]
pub struct ServerConfig {
    max_head_size: usize,
    max_headers: usize,
    origins: AllowedOrigins,
    subprotocols: Vec<String>,
    selector: Option<Arc<Selector>>,
    #[cfg(feature = "deflate")]
    deflate: Option<crate::deflate::DeflateConfig>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            max_head_size: DEFAULT_MAX_HEAD_SIZE,
            max_headers: DEFAULT_MAX_HEADERS,
            origins: AllowedOrigins::any(),
            subprotocols: Vec::new(),
            selector: None,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("max_head_size", &self.max_head_size)
            .field("max_headers", &self.max_headers)
            .field("origins", &self.origins)
            .field("subprotocols", &self.subprotocols)
            .field("selector", &self.selector.is_some())
            .finish()
    }
}

impl ServerConfig {
    /// The longest request head accepted, in bytes (default 16 KiB, at most
    /// [`MAX_HEAD_SIZE_CAP`](super::MAX_HEAD_SIZE_CAP)); longer gets 431.
    pub fn max_head_size(mut self, bytes: usize) -> ServerConfig {
        self.max_head_size = bytes.min(super::MAX_HEAD_SIZE_CAP);
        self
    }

    /// The most header fields accepted (default 64, at most 256); more gets 431.
    pub fn max_headers(mut self, count: usize) -> ServerConfig {
        self.max_headers = count.min(MAX_HEADERS_CAP);
        self
    }

    /// Which origins may connect (default: any); others get 403.
    pub fn allowed_origins(mut self, origins: AllowedOrigins) -> ServerConfig {
        self.origins = origins;
        self
    }

    /// Subprotocols the server speaks, most preferred first. The first one the client also
    /// offered is selected (RFC 6455 §4.2.2 item 5.4).
    pub fn subprotocols<I, S>(mut self, preference: I) -> ServerConfig
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.subprotocols = preference.into_iter().map(Into::into).collect();
        self
    }

    /// Chooses the subprotocol with a function of the client's offers (in the client's
    /// order) instead of the preference list.
    pub fn subprotocol_selector(
        mut self,
        select: impl for<'a> Fn(&[&'a str]) -> Option<&'a str> + Send + Sync + 'static,
    ) -> ServerConfig {
        self.selector = Some(Arc::new(select));
        self
    }

    /// Accepts permessage-deflate offers (RFC 7692) with this policy (default: declined).
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, config: Option<crate::deflate::DeflateConfig>) -> ServerConfig {
        self.deflate = config;
        self
    }

    /// The permessage-deflate policy, if enabled.
    #[cfg(feature = "deflate")]
    pub fn deflate_config(&self) -> Option<&crate::deflate::DeflateConfig> {
        self.deflate.as_ref()
    }

    /// The origin policy.
    pub fn origins(&self) -> &AllowedOrigins {
        &self.origins
    }

    /// Validates `request` as a WebSocket handshake, applies the origin and subprotocol
    /// policies, and appends the `101 Switching Protocols` response to `out`.
    ///
    /// # Errors
    ///
    /// If the request is not acceptable, the rejection response (400, 403 or 426; see
    /// [`HandshakeError::status`]) is appended to `out` instead, and the error returned.
    pub fn accept(
        &self,
        request: &Request<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Accepted, HandshakeError> {
        self.accept_with(request, &AcceptOptions::default(), out)
    }

    /// [`accept`](ServerConfig::accept) with a subprotocol choice and extra response
    /// headers from the application.
    pub fn accept_with(
        &self,
        request: &Request<'_>,
        options: &AcceptOptions,
        out: &mut Vec<u8>,
    ) -> Result<Accepted, HandshakeError> {
        let answer = self
            .check(request)
            .and_then(|()| self.negotiate(request, options));
        Self::answer(answer, options, out)
    }

    /// [`accept_with`](ServerConfig::accept_with) for a request that [`check`](ServerConfig::check)
    /// has just accepted: the §4.2.1 and origin checks are not run again (the adapters check
    /// before asking the application, so that a bad request is answered without it).
    pub(crate) fn accept_checked(
        &self,
        request: &Request<'_>,
        options: &AcceptOptions,
        out: &mut Vec<u8>,
    ) -> Result<Accepted, HandshakeError> {
        Self::answer(self.negotiate(request, options), options, out)
    }

    fn answer(
        answer: Result<([u8; 28], Accepted), HandshakeError>,
        options: &AcceptOptions,
        out: &mut Vec<u8>,
    ) -> Result<Accepted, HandshakeError> {
        match answer {
            Ok((key, accepted)) => {
                write_switching_protocols(&key, &accepted, &options.headers, out);
                Ok(accepted)
            }
            Err(e) => {
                e.write_response(out);
                Err(e)
            }
        }
    }

    /// Checks `request` against RFC 6455 §4.2.1 and the origin policy, without answering.
    ///
    /// # Errors
    ///
    /// The first requirement not met; [`HandshakeError::write_response`] answers it.
    pub fn check(&self, request: &Request<'_>) -> Result<(), HandshakeError> {
        request.validate()?;
        self.check_origin(request.header("origin"), request.header("host"))
    }

    /// The origin policy, for a request whose authority is `host`.
    pub(crate) fn check_origin(
        &self,
        origin: Option<&[u8]>,
        host: Option<&[u8]>,
    ) -> Result<(), HandshakeError> {
        // §10.2: "servers that are not intended to process input from any web page but only
        // for certain sites SHOULD verify the |Origin| field is an origin they expect. If the
        // origin indicated is unacceptable to the server, then it SHOULD respond to the
        // WebSocket handshake with a reply containing HTTP 403 Forbidden status code."
        if !self.origins.is_allowed(origin, host) {
            return Err(HandshakeError::OriginRejected);
        }
        Ok(())
    }

    fn negotiate(
        &self,
        request: &Request<'_>,
        options: &AcceptOptions,
    ) -> Result<([u8; 28], Accepted), HandshakeError> {
        let accepted = self.negotiate_fields(request.fields, request.leftover, options)?;
        Ok((accept_key(request.key().unwrap_or_default()), accepted))
    }

    /// Subprotocol and extension negotiation on a request already checked, whatever its
    /// HTTP version.
    pub(crate) fn negotiate_fields<'a>(
        &self,
        fields: impl HeaderFields<'a>,
        leftover: &[u8],
        options: &AcceptOptions,
    ) -> Result<Accepted, HandshakeError> {
        for (name, value) in &options.headers {
            if !is_token(name) || !is_safe_value(value) {
                return Err(HandshakeError::Usage(UsageError::InvalidHandshakeInput(
                    "response header",
                )));
            }
        }
        let offered: Vec<&str> = fields.list("sec-websocket-protocol").collect();
        // §4.2.2: "The value chosen MUST be derived from the client's handshake,
        // specifically by selecting one of the values from the |Sec-WebSocket-Protocol|
        // field".
        let protocol = match &options.protocol {
            Some(choice) => match choice {
                Some(p) if !offered.contains(&p.as_str()) => {
                    return Err(HandshakeError::Usage(UsageError::InvalidHandshakeInput(
                        "subprotocol not offered by the client",
                    )));
                }
                other => other.clone(),
            },
            None => self.select_protocol(&offered).map(String::from),
        };
        #[allow(unused_mut)]
        let mut accepted = Accepted {
            protocol,
            leftover: leftover.to_vec(),
            ..Accepted::default()
        };
        // RFC 7692 §5: the server accepts at most one permessage-deflate offer; offers it
        // cannot parse or does not support are declined, not rejected.
        #[cfg(feature = "deflate")]
        if let Some(config) = &self.deflate {
            let offers = extensions_of(fields).unwrap_or_default();
            if let Some((params, response)) = config.accept_offers(&offers) {
                accepted.extensions.push(response);
                accepted.deflate = Some(params);
                accepted.deflate_config = Some(config.clone());
            }
        }
        Ok(accepted)
    }

    fn select_protocol<'a>(&self, offered: &[&'a str]) -> Option<&'a str> {
        if offered.is_empty() {
            return None;
        }
        match &self.selector {
            Some(select) => select(offered).filter(|p| offered.contains(p)),
            None => self
                .subprotocols
                .iter()
                .find_map(|mine| offered.iter().copied().find(|o| o == mine)),
        }
    }
}

/// Choices the application makes when accepting a particular request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AcceptOptions {
    /// `Some(choice)` overrides the configured subprotocol policy: `Some(None)` selects no
    /// subprotocol; `Some(Some(p))` selects `p`, which the client must have offered.
    pub protocol: Option<Option<String>>,
    /// Extra response header fields, e.g. `Set-Cookie`.
    pub headers: Vec<(String, String)>,
}

impl AcceptOptions {
    /// Options with no overrides.
    pub fn new() -> AcceptOptions {
        AcceptOptions::default()
    }

    /// Selects `protocol` (or none) regardless of the configured policy.
    pub fn protocol(mut self, protocol: Option<&str>) -> AcceptOptions {
        self.protocol = Some(protocol.map(String::from));
        self
    }

    /// Adds a response header field.
    pub fn header(mut self, name: &str, value: &str) -> AcceptOptions {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What the server agreed to — and, with [`into_connection`](Accepted::into_connection),
/// the connection that follows, with nothing left to set up by hand.
///
/// ```
/// use rfc6455::handshake::{ServerConfig, ServerHandshake};
/// use rfc6455::{Config, Status};
///
/// let config = ServerConfig::default().subprotocols(["chat"]);
/// let mut handshake = ServerHandshake::new(&config);
/// let request = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
///     Sec-WebSocket-Protocol: chat\r\n\r\n\x81\x80\0\0\0\0";
/// assert_eq!(handshake.receive(request)?, Status::Complete(()));
/// let mut out = Vec::new();
/// let accepted = config.accept(&handshake.request().unwrap(), &mut out)?;
/// let (conn, leftover) = accepted.into_connection(Config::default());
/// assert_eq!(conn.protocol(), Some("chat"));
/// assert_eq!(leftover, b"\x81\x80\0\0\0\0"); // a pipelined first frame, for the connection
/// # Ok::<(), rfc6455::handshake::HandshakeError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accepted {
    /// The selected subprotocol.
    pub protocol: Option<String>,
    /// The accepted extensions, as written in the response.
    pub extensions: Vec<Extension>,
    /// The permessage-deflate parameters, if it was negotiated (applied by
    /// [`into_connection`](Accepted::into_connection)).
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateParams>,
    /// The bytes that arrived after the request head: the first WebSocket frames, which
    /// the connection must receive before anything read later.
    pub leftover: Vec<u8>,
    /// Our permessage-deflate configuration, for the connection.
    #[cfg(feature = "deflate")]
    deflate_config: Option<crate::deflate::DeflateConfig>,
}

impl Accepted {
    /// The server connection for what was agreed — permessage-deflate enabled with the
    /// negotiated parameters, the subprotocol recorded — and the bytes that arrived after
    /// the request head, to pass to it first.
    pub fn into_connection(self, config: Config) -> (Connection, Vec<u8>) {
        // A server never masks: the mask source is never asked.
        let mut conn = Connection::with_mask_source(Role::Server, config, || [0; 4]);
        conn.set_protocol(self.protocol.as_deref());
        #[cfg(feature = "deflate")]
        if let (Some(params), Some(deflate)) = (&self.deflate, &self.deflate_config) {
            conn.enable_deflate(params, deflate);
        }
        (conn, self.leftover)
    }
}

/// Parses a client's handshake request from pieces.
///
/// ```
/// use rfc6455::handshake::{ServerConfig, ServerHandshake};
/// use rfc6455::Status;
///
/// let config = ServerConfig::default();
/// let mut handshake = ServerHandshake::new(&config);
/// let request = b"GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\n\
///     Upgrade: websocket\r\nConnection: Upgrade\r\n\
///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// assert_eq!(handshake.receive(&request[..20])?, Status::Partial);
/// assert_eq!(handshake.receive(&request[20..])?, Status::Complete(()));
///
/// let req = handshake.request().unwrap();
/// assert_eq!((req.path(), req.query()), ("/chat", Some("room=1")));
/// let mut out = Vec::new();
/// config.accept(&req, &mut out)?;
/// assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
/// assert!(handshake.leftover().is_empty());
/// # Ok::<(), rfc6455::handshake::HandshakeError>(())
/// ```
#[derive(Debug)]
pub struct ServerHandshake {
    head: HeadBuffer,
    max_headers: usize,
    parsed: Option<ParsedRequest>,
}

#[derive(Debug)]
struct ParsedRequest {
    method: Range<u32>,
    target: Range<u32>,
    version: u8,
    headers: Vec<HeaderSpan>,
    known: head::Known,
}

impl ServerHandshake {
    /// A parser with `config`'s limits.
    pub fn new(config: &ServerConfig) -> ServerHandshake {
        ServerHandshake {
            head: HeadBuffer::new(config.max_head_size),
            max_headers: config.max_headers,
            parsed: None,
        }
    }

    /// Takes the next bytes from the client. `Partial` until the request head is complete;
    /// bytes after it in the same call are kept as [`leftover`](ServerHandshake::leftover).
    /// Once it returned `Complete`, later bytes belong to the connection: passing more is
    /// an error ([`UsageError::HandshakeComplete`]) and nothing is buffered.
    ///
    /// # Errors
    ///
    /// The head is too large, has too many fields, or is not HTTP/1.x. Answer with
    /// [`HandshakeError::write_response`].
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Status<()>, HandshakeError> {
        if self.parsed.is_some() {
            // Bytes after the head belong to the connection: not buffered here.
            return Err(HandshakeError::Usage(UsageError::HandshakeComplete));
        }
        if self.head.push(bytes)? == Status::Partial {
            return Ok(Status::Partial);
        }
        let head_len = self.head.head_len.unwrap_or(0);
        let buf = &self.head.buf[..head_len];
        let mut storage = head::header_storage();
        let mut req = httparse::Request::new(&mut []);
        let parsed = match req.parse_with_uninit_headers(buf, &mut storage[..self.max_headers]) {
            Ok(httparse::Status::Complete(_)) => match (req.method, req.path, req.version) {
                (Some(method), Some(target), Some(version)) => {
                    let (headers, known) = head::header_spans(buf, req.headers);
                    Ok(ParsedRequest {
                        method: head::span_of(buf, method.as_bytes()),
                        target: head::span_of(buf, target.as_bytes()),
                        version,
                        headers,
                        known,
                    })
                }
                _ => Err(HandshakeError::Malformed("malformed request line")),
            },
            Ok(httparse::Status::Partial) => Err(HandshakeError::Malformed("malformed HTTP head")),
            Err(e) => Err(head::parse_error(e, self.max_headers)),
        };
        match parsed {
            Ok(parsed) => self.parsed = Some(parsed),
            // Final: the head is dropped and later bytes are not buffered.
            Err(e) => return Err(self.head.fail(e)),
        }
        Ok(Status::Complete(()))
    }

    /// The parsed request, once [`receive`](ServerHandshake::receive) completed.
    pub fn request(&self) -> Option<Request<'_>> {
        let p = self.parsed.as_ref()?;
        let buf = &self.head.buf;
        let text = |r: &Range<u32>| {
            // httparse only accepts token and URI characters (ASCII) here.
            core::str::from_utf8(&buf[r.start as usize..r.end as usize]).unwrap_or("")
        };
        Some(Request {
            method: text(&p.method),
            target: text(&p.target),
            version: p.version,
            fields: Fields {
                buf,
                spans: &p.headers,
                known: p.known,
            },
            leftover: self.head.leftover(),
        })
    }

    /// Bytes received after the request head: the start of the WebSocket stream.
    pub fn leftover(&self) -> &[u8] {
        self.head.leftover()
    }

    /// The bytes after the request head, owned.
    pub fn into_leftover(self) -> Vec<u8> {
        self.head.into_leftover()
    }
}

/// A parsed HTTP request head, borrowed from the [`ServerHandshake`].
#[derive(Clone, Copy)]
pub struct Request<'a> {
    method: &'a str,
    target: &'a str,
    version: u8,
    fields: Fields<'a>,
    leftover: &'a [u8],
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl<'a> Request<'a> {
    /// The bytes that arrived after the request head (a pipelined first frame).
    pub fn leftover(&self) -> &'a [u8] {
        self.leftover
    }

    /// The method, e.g. `GET`.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The request target as sent: path and query.
    pub fn target(&self) -> &'a str {
        self.target
    }

    /// The path: the target up to `?`.
    pub fn path(&self) -> &'a str {
        self.target.split_once('?').map_or(self.target, |(p, _)| p)
    }

    /// The query: the target after `?`, if any.
    pub fn query(&self) -> Option<&'a str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// The HTTP minor version (1 for HTTP/1.1).
    pub fn http_minor_version(&self) -> u8 {
        self.version
    }

    /// The first header field named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.fields.get(name)
    }

    /// The first header field named `name`, if its value is UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&'a str> {
        core::str::from_utf8(self.header(name)?).ok()
    }

    /// All header fields, in order, names as sent.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        self.fields.iter()
    }

    /// The `Host` header.
    pub fn host(&self) -> Option<&'a str> {
        self.header_str("host")
    }

    /// The `Origin` header (browsers always send one).
    pub fn origin(&self) -> Option<&'a str> {
        self.header_str("origin")
    }

    /// The subprotocols the client offered in `Sec-WebSocket-Protocol`, in its order.
    pub fn protocols(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.fields.list("sec-websocket-protocol")
    }

    /// The extensions the client offered in `Sec-WebSocket-Extensions`, in its order.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::MalformedExtensions`] when a value does not follow RFC 6455 §9.1.
    pub fn extensions(&self) -> Result<Vec<Extension>, HandshakeError> {
        extensions_of(self.fields)
    }

    /// The `Sec-WebSocket-Key` header.
    pub fn key(&self) -> Option<&'a [u8]> {
        self.header("sec-websocket-key")
    }

    /// Whether the request asks for a WebSocket upgrade at all (`Upgrade: websocket` and
    /// `Connection: Upgrade`), for routing plain HTTP and WebSocket on one port. Use
    /// [`validate`](Request::validate) for the full check.
    pub fn is_websocket_upgrade(&self) -> bool {
        self.fields.has_token("upgrade", "websocket")
            && self.fields.has_token("connection", "upgrade")
    }

    /// Checks every requirement of RFC 6455 §4.2.1 on the request.
    ///
    /// # Errors
    ///
    /// The first requirement not met, in the RFC's order.
    pub fn validate(&self) -> Result<(), HandshakeError> {
        // §4.2.1 1: "An HTTP/1.1 or higher GET request, including a "Request-URI"".
        if self.method != "GET" {
            return Err(HandshakeError::MethodNotGet);
        }
        if self.version < 1 {
            return Err(HandshakeError::HttpVersion);
        }
        validate_upgrade_fields(self.fields)
    }
}

/// The `Sec-WebSocket-Extensions` offers of a request, in order.
pub(crate) fn extensions_of<'a>(
    fields: impl HeaderFields<'a>,
) -> Result<Vec<Extension>, HandshakeError> {
    let mut out = Vec::new();
    for value in fields.all("sec-websocket-extensions") {
        let value = core::str::from_utf8(value).map_err(|_| HandshakeError::MalformedExtensions)?;
        parse_extensions(value, &mut out)?;
    }
    Ok(out)
}

/// RFC 6455 §4.2.1 items 2–6 on the header fields of an HTTP/1.1 GET.
pub(crate) fn validate_upgrade_fields<'a>(
    fields: impl HeaderFields<'a>,
) -> Result<(), HandshakeError> {
    // 2: "A |Host| header field containing the server's authority."
    if fields.get("host").is_none_or(|h| super::trim(h).is_empty()) {
        return Err(HandshakeError::MissingHost);
    }
    // 3: "An |Upgrade| header field containing the value "websocket", treated as an
    // ASCII case-insensitive value."
    if !fields.has_token("upgrade", "websocket") {
        return Err(HandshakeError::NotWebSocketUpgrade);
    }
    // 4: "A |Connection| header field that includes the token "Upgrade", treated as an
    // ASCII case-insensitive value."
    if !fields.has_token("connection", "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    // 5: "A |Sec-WebSocket-Key| header field with a base64-encoded value that, when
    // decoded, is 16 bytes in length." (§11.3.1: it "MUST NOT appear more than once".)
    let mut keys = fields.all("sec-websocket-key");
    let (Some(key), None) = (keys.next(), keys.next()) else {
        return Err(HandshakeError::InvalidKey);
    };
    let mut decoded = [0u8; 18];
    if STANDARD.decode_slice(super::trim(key), &mut decoded) != Ok(16) {
        return Err(HandshakeError::InvalidKey);
    }
    validate_version(fields)
}

/// §4.2.1 item 6: "A |Sec-WebSocket-Version| header field, with a value of 13." §4.2.2:
/// otherwise "send an appropriate HTTP error code (such as 426 Upgrade Required) and a
/// |Sec-WebSocket-Version| header field indicating the version(s) the server is capable of
/// understanding."
pub(crate) fn validate_version<'a>(fields: impl HeaderFields<'a>) -> Result<(), HandshakeError> {
    let mut versions = fields.all("sec-websocket-version");
    match (versions.next(), versions.next()) {
        (None, _) => Err(HandshakeError::MissingVersion),
        (Some(v), None) if super::trim(v) == b"13" => Ok(()),
        _ => Err(HandshakeError::UnsupportedVersion),
    }
}

fn write_switching_protocols(
    key_accept: &[u8; 28],
    accepted: &Accepted,
    headers: &[(String, String)],
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Accept: ",
    );
    out.extend_from_slice(key_accept);
    out.extend_from_slice(b"\r\n");
    if let Some(p) = &accepted.protocol {
        out.extend_from_slice(b"Sec-WebSocket-Protocol: ");
        out.extend_from_slice(p.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !accepted.extensions.is_empty() {
        out.extend_from_slice(b"Sec-WebSocket-Extensions: ");
        for (i, e) in accepted.extensions.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(alloc::format!("{e}").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a complete HTTP error response: `status`, a `text/plain` body of `reason`,
/// `Connection: close`, and `headers` (e.g. `WWW-Authenticate` for a 401).
///
/// Header fields that would break the response (CR/LF in a value, a name that is not a
/// token) are left out.
pub fn write_rejection(status: u16, reason: &str, headers: &[(&str, &str)], out: &mut Vec<u8>) {
    let phrase = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let head = alloc::format!(
        "HTTP/1.1 {status} {phrase}\r\nConnection: close\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n",
        reason.len()
    );
    out.extend_from_slice(head.as_bytes());
    for (name, value) in headers {
        if is_token(name) && is_safe_value(value) {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(reason.as_bytes());
}
