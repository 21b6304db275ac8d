//! The client's side of the opening handshake (RFC 6455 §4.1).

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::head::{self, Fields, HeadBuffer, HeaderFields};
use super::{
    DEFAULT_MAX_HEAD_SIZE, DEFAULT_MAX_HEADERS, Extension, HandshakeError, RejectedResponse,
    accept_key, has_token, is_safe_value, is_token, parse_extensions, trim,
};
use crate::error::UsageError;
use crate::frame::Status;

/// What to ask the server for: where, and with which origin, subprotocols, extensions and
/// extra headers.
///
/// ```
/// use rfc6455::handshake::ClientRequest;
/// let request = ClientRequest::from_url("ws://example.com:8080/chat?room=1")?
///     .origin("http://example.com")
///     .protocols(["v11.stomp", "v10.stomp"])
///     .header("Authorization", "Bearer abc");
/// assert_eq!(request.host_header(), "example.com:8080");
/// assert_eq!(request.target(), "/chat?room=1");
/// # Ok::<(), rfc6455::UsageError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRequest {
    host: String,
    port: Option<u16>,
    secure: bool,
    target: String,
    origin: Option<String>,
    protocols: Vec<String>,
    extensions: Vec<Extension>,
    headers: Vec<(String, String)>,
    max_head_size: usize,
    max_headers: usize,
    pub(crate) handshake_timeout: Option<core::time::Duration>,
    #[cfg(feature = "deflate")]
    deflate: Option<crate::deflate::DeflateConfig>,
}

/// How long the adapters' `connect`/`client` wait for the server by default: for the
/// connection (with `connect`) and its whole answer to the handshake.
pub const DEFAULT_CLIENT_HANDSHAKE_TIMEOUT: core::time::Duration =
    core::time::Duration::from_secs(10);

impl ClientRequest {
    /// A request for `target` (path and query, starting with `/`) on `host`, port 80.
    pub fn new(host: &str, target: &str) -> ClientRequest {
        ClientRequest {
            host: host.into(),
            port: None,
            secure: false,
            target: target.into(),
            origin: None,
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
            max_head_size: DEFAULT_MAX_HEAD_SIZE,
            max_headers: DEFAULT_MAX_HEADERS,
            handshake_timeout: Some(DEFAULT_CLIENT_HANDSHAKE_TIMEOUT),
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }

    /// A request for a `ws://` or `wss://` URL (RFC 6455 §3):
    /// `ws[s]://host[:port][/path][?query]`. IPv6 literals go in brackets.
    ///
    /// # Errors
    ///
    /// [`UsageError::InvalidHandshakeInput`] for another scheme, user info, a fragment
    /// ("Fragment identifiers [...] MUST NOT be used"), or an invalid port.
    pub fn from_url(url: &str) -> Result<ClientRequest, UsageError> {
        let invalid = UsageError::InvalidHandshakeInput;
        let (scheme, rest) = url.split_once("://").ok_or(invalid("URL without scheme"))?;
        let secure = if scheme.eq_ignore_ascii_case("ws") {
            false
        } else if scheme.eq_ignore_ascii_case("wss") {
            true
        } else {
            return Err(invalid("URL scheme is not ws or wss"));
        };
        if rest.contains('#') {
            return Err(invalid("URL has a fragment"));
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        if authority.contains('@') {
            return Err(invalid("URL has user info"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or(invalid("URL has a bad IPv6 host"))?;
            (&authority[..h.len() + 2], after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(invalid("URL has no host"));
        }
        let port = match port {
            Some(p) => Some(p.parse().map_err(|_| invalid("URL has an invalid port"))?),
            None => None,
        };
        let target = match target {
            "" => "/".into(),
            t if t.starts_with('?') => alloc::format!("/{t}"),
            t => t.into(),
        };
        let mut request = ClientRequest::new(host, &target);
        request.port = port;
        request.secure = secure;
        Ok(request)
    }

    /// Sets the port (default 80, or 443 for `wss`).
    pub fn port(mut self, port: u16) -> ClientRequest {
        self.port = Some(port);
        self
    }

    /// Marks the connection as TLS (`wss`), which changes the default port.
    pub fn secure(mut self, secure: bool) -> ClientRequest {
        self.secure = secure;
        self
    }

    /// Sends an `Origin` header, as browsers do.
    pub fn origin(mut self, origin: &str) -> ClientRequest {
        self.origin = Some(origin.into());
        self
    }

    /// Offers subprotocols, most preferred first.
    pub fn protocols<I, S>(mut self, protocols: I) -> ClientRequest
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Offers an extension (offers are sent in the order added).
    pub fn extension(mut self, offer: Extension) -> ClientRequest {
        self.extensions.push(offer);
        self
    }

    /// Offers permessage-deflate (RFC 7692) with this configuration, after any other
    /// extension offers.
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, config: crate::deflate::DeflateConfig) -> ClientRequest {
        self.deflate = Some(config);
        self
    }

    /// The permessage-deflate offer's configuration, if any.
    #[cfg(feature = "deflate")]
    pub fn deflate_config(&self) -> Option<&crate::deflate::DeflateConfig> {
        self.deflate.as_ref()
    }

    /// Adds a header field, e.g. `Authorization` or `Cookie`.
    pub fn header(mut self, name: &str, value: &str) -> ClientRequest {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The longest response head accepted, in bytes (default 16 KiB, at most
    /// [`MAX_HEAD_SIZE_CAP`](super::MAX_HEAD_SIZE_CAP)).
    pub fn max_head_size(mut self, bytes: usize) -> ClientRequest {
        self.max_head_size = bytes.min(super::MAX_HEAD_SIZE_CAP);
        self
    }

    /// How long the adapters wait for the connection and the server's whole answer to the
    /// handshake (default [`DEFAULT_CLIENT_HANDSHAKE_TIMEOUT`], 10 s; `None`: forever). A
    /// server that accepts the connection and never answers cannot hang the client. The
    /// sans-IO [`ClientHandshake`] reads no clock and ignores it.
    pub fn handshake_timeout(mut self, timeout: Option<core::time::Duration>) -> ClientRequest {
        self.handshake_timeout = timeout;
        self
    }

    /// The host name or address (IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(if self.secure { 443 } else { 80 })
    }

    /// Whether this is a `wss` request.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The request target: path and query.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The `Host` header value: the host, plus the port unless it is the default.
    pub fn host_header(&self) -> String {
        match self.port {
            Some(p) if p != if self.secure { 443 } else { 80 } => {
                alloc::format!("{}:{p}", self.host)
            }
            _ => self.host.clone(),
        }
    }

    fn check(&self) -> Result<(), UsageError> {
        let invalid = UsageError::InvalidHandshakeInput;
        if self.host.is_empty() || self.host.bytes().any(|b| b <= b' ' || b == 0x7F) {
            return Err(invalid("host"));
        }
        if !self.target.starts_with('/') || self.target.bytes().any(|b| b <= b' ' || b == 0x7F) {
            return Err(invalid("request target"));
        }
        // §4.1: subprotocol elements "MUST be non-empty strings with characters in the range
        // U+0021 to U+007E not including separator characters" — RFC 7230 tokens.
        if !self.protocols.iter().all(|p| is_token(p)) {
            return Err(invalid("subprotocol"));
        }
        if self.origin.as_deref().is_some_and(|o| !is_safe_value(o)) {
            return Err(invalid("origin"));
        }
        if !self
            .headers
            .iter()
            .all(|(n, v)| is_token(n) && is_safe_value(v))
        {
            return Err(invalid("header"));
        }
        Ok(())
    }

    fn write(&self, key: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(self.target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let mut line = |name: &str, value: &[u8]| {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        };
        line("Host", self.host_header().as_bytes());
        line("Upgrade", b"websocket");
        line("Connection", b"Upgrade");
        line("Sec-WebSocket-Key", key);
        self.for_each_header(line);
        out.extend_from_slice(b"\r\n");
    }

    /// The header fields every version of the handshake sends (HTTP/1.1 adds `Host`,
    /// `Upgrade`, `Connection` and the key): version, origin, subprotocols, extension
    /// offers and the application's own.
    pub(crate) fn for_each_header(&self, mut line: impl FnMut(&str, &[u8])) {
        line("Sec-WebSocket-Version", b"13");
        if let Some(origin) = &self.origin {
            line("Origin", origin.as_bytes());
        }
        if !self.protocols.is_empty() {
            line(
                "Sec-WebSocket-Protocol",
                self.protocols.join(", ").as_bytes(),
            );
        }
        #[allow(unused_mut)]
        let mut offers: Vec<String> = self.extensions.iter().map(ToString::to_string).collect();
        #[cfg(feature = "deflate")]
        if let Some(config) = &self.deflate {
            offers.push(config.offer().to_string());
        }
        if !offers.is_empty() {
            line("Sec-WebSocket-Extensions", offers.join(", ").as_bytes());
        }
        for (name, value) in &self.headers {
            line(name, value.as_bytes());
        }
    }

    /// Checks the request can be written, and what the client offered, to check the
    /// answer against.
    pub(crate) fn offers(&self) -> Result<Offers, UsageError> {
        self.check()?;
        Ok(Offers {
            protocols: self.protocols.clone(),
            extensions: self.extensions.iter().map(|e| e.name.clone()).collect(),
            #[cfg(feature = "deflate")]
            deflate: self.deflate.clone(),
        })
    }
}

/// What a client offered: the answer may select only from these.
#[derive(Clone, Debug)]
pub(crate) struct Offers {
    protocols: Vec<String>,
    extensions: Vec<String>,
    #[cfg(feature = "deflate")]
    deflate: Option<crate::deflate::DeflateConfig>,
}

impl Offers {
    /// Checks the subprotocol and extensions of a successful answer (RFC 6455 §4.1) and
    /// returns what was agreed.
    pub(crate) fn negotiated<'a>(
        &self,
        fields: impl HeaderFields<'a>,
        headers: Vec<(String, Vec<u8>)>,
        leftover: Vec<u8>,
    ) -> Result<HandshakeResponse, HandshakeError> {
        // "If the response includes a |Sec-WebSocket-Extensions| header field and this
        // header field indicates the use of an extension that was not present in the
        // client's handshake [...], the client MUST _Fail the WebSocket Connection_."
        let mut extensions = Vec::new();
        for value in fields.all("sec-websocket-extensions") {
            let value =
                core::str::from_utf8(value).map_err(|_| HandshakeError::MalformedExtensions)?;
            parse_extensions(value, &mut extensions)?;
        }
        #[cfg(feature = "deflate")]
        let mut deflate = None;
        for e in &extensions {
            #[cfg(feature = "deflate")]
            if let Some(config) = &self.deflate {
                if e.name
                    .eq_ignore_ascii_case(crate::deflate::PERMESSAGE_DEFLATE)
                {
                    // The server may accept one of our permessage-deflate offers, once.
                    if deflate.is_some() {
                        return Err(HandshakeError::InvalidExtensionResponse);
                    }
                    deflate = Some(config.accept_response(e)?);
                    continue;
                }
            }
            if !self
                .extensions
                .iter()
                .any(|o| o.eq_ignore_ascii_case(&e.name))
            {
                return Err(HandshakeError::UnexpectedExtension);
            }
        }
        // "If the response includes a |Sec-WebSocket-Protocol| header field and this header
        // field indicates the use of a subprotocol that was not present in the client's
        // handshake [...], the client MUST _Fail the WebSocket Connection_."
        let mut protocols = fields.all("sec-websocket-protocol");
        let protocol = match (protocols.next(), protocols.next()) {
            (None, _) => None,
            (Some(p), None) => {
                let p = core::str::from_utf8(trim(p)).ok();
                match p.filter(|p| self.protocols.iter().any(|o| o == p)) {
                    Some(p) => Some(p.into()),
                    None => return Err(HandshakeError::UnexpectedProtocol),
                }
            }
            (Some(_), Some(_)) => return Err(HandshakeError::UnexpectedProtocol),
        };
        Ok(HandshakeResponse {
            protocol,
            extensions,
            headers,
            leftover,
            #[cfg(feature = "deflate")]
            deflate_config: deflate.is_some().then(|| self.deflate.clone()).flatten(),
            #[cfg(feature = "deflate")]
            deflate,
        })
    }
}

/// What the server agreed to in its `101` response — and, with
/// [`into_connection`](HandshakeResponse::into_connection), the connection that follows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandshakeResponse {
    /// The subprotocol the server selected, one of those offered.
    pub protocol: Option<String>,
    /// The extensions the server accepted, each one offered.
    pub extensions: Vec<Extension>,
    /// All response header fields, names as sent.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The permessage-deflate parameters, if the server accepted our offer (applied by
    /// [`into_connection`](HandshakeResponse::into_connection)).
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateParams>,
    /// The bytes that arrived with the response after its head: the first WebSocket
    /// frames, which the connection must receive before anything read later.
    pub leftover: Vec<u8>,
    /// Our permessage-deflate configuration, for the connection.
    #[cfg(feature = "deflate")]
    deflate_config: Option<crate::deflate::DeflateConfig>,
}

impl HandshakeResponse {
    /// The client connection for what was agreed — permessage-deflate enabled with the
    /// negotiated parameters, the subprotocol recorded, mask keys from the operating
    /// system's generator — and the bytes that arrived after the response head, to pass
    /// to it first.
    #[cfg(feature = "std")]
    pub fn into_connection(self, config: crate::Config) -> (crate::Connection, Vec<u8>) {
        let conn = crate::Connection::new(crate::Role::Client, config);
        self.finish(conn)
    }

    /// [`into_connection`](HandshakeResponse::into_connection) with mask keys from `masks`
    /// (without the `std` feature, the only way).
    pub fn into_connection_with_masks(
        self,
        config: crate::Config,
        masks: impl crate::MaskSource + Send + 'static,
    ) -> (crate::Connection, Vec<u8>) {
        let conn = crate::Connection::with_mask_source(crate::Role::Client, config, masks);
        self.finish(conn)
    }

    fn finish(self, mut conn: crate::Connection) -> (crate::Connection, Vec<u8>) {
        conn.set_protocol(self.protocol.as_deref());
        #[cfg(feature = "deflate")]
        if let (Some(params), Some(deflate)) = (&self.deflate, &self.deflate_config) {
            conn.enable_deflate(params, deflate);
        }
        (conn, self.leftover)
    }
}

/// The client's handshake: writes the request, then checks the response.
///
/// ```
/// use rfc6455::handshake::{ClientHandshake, ClientRequest};
/// use rfc6455::Status;
///
/// let mut out = Vec::new();
/// let request = ClientRequest::new("server.example.com", "/chat");
/// let nonce = *b"the sample nonce"; // from a CSPRNG in real use
/// let mut handshake = ClientHandshake::new(&request, nonce, &mut out)?;
/// assert!(out.starts_with(b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n"));
///
/// let response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
/// assert!(matches!(handshake.receive(response), Ok(Status::Complete(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ClientHandshake {
    head: HeadBuffer,
    max_headers: usize,
    accept: [u8; 28],
    offers: Offers,
    done: bool,
}

impl ClientHandshake {
    /// Appends the handshake request to `out`, with `nonce` as the key.
    ///
    /// §4.1: the key "MUST be a nonce consisting of a randomly selected 16-byte value that
    /// has been base64-encoded". Use a CSPRNG, or [`ClientHandshake::with_random_nonce`].
    ///
    /// # Errors
    ///
    /// A request that cannot be written as HTTP (bad host, target, subprotocol or header).
    pub fn new(
        request: &ClientRequest,
        nonce: [u8; 16],
        out: &mut Vec<u8>,
    ) -> Result<ClientHandshake, UsageError> {
        let offers = request.offers()?;
        let key = encode_key(nonce);
        request.write(&key, out);
        Ok(ClientHandshake {
            head: HeadBuffer::new(request.max_head_size),
            max_headers: request.max_headers,
            accept: accept_key(&key),
            offers,
            done: false,
        })
    }

    /// [`ClientHandshake::new`] with a nonce from the operating system's generator.
    #[cfg(feature = "std")]
    pub fn with_random_nonce(
        request: &ClientRequest,
        out: &mut Vec<u8>,
    ) -> Result<ClientHandshake, UsageError> {
        ClientHandshake::new(request, rand::random(), out)
    }

    /// Takes the next bytes from the server. `Partial` until the response head is
    /// complete; then the negotiated result. Bytes after the head in the same call are kept
    /// as [`leftover`](ClientHandshake::leftover); once complete, passing more is an error
    /// ([`UsageError::HandshakeComplete`]) and nothing is buffered.
    ///
    /// # Errors
    ///
    /// A non-`101` status ([`HandshakeError::Rejected`], with the status and headers), or a
    /// `101` that breaks §4.1 — the connection must then be failed.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Status<HandshakeResponse>, HandshakeError> {
        if self.done {
            // Bytes after the head belong to the connection: not buffered here.
            return Err(HandshakeError::Usage(UsageError::HandshakeComplete));
        }
        if self.head.push(bytes)? == Status::Partial {
            return Ok(Status::Partial);
        }
        match self.check_response() {
            Ok(response) => {
                self.done = true;
                Ok(Status::Complete(response))
            }
            // Final: the head is dropped and later bytes are not buffered.
            Err(e) => Err(self.head.fail(e)),
        }
    }

    /// Parses and checks the complete response head (RFC 6455 §4.1).
    fn check_response(&self) -> Result<HandshakeResponse, HandshakeError> {
        let head_len = self.head.head_len.unwrap_or(0);
        let buf = &self.head.buf[..head_len];
        let mut storage = head::header_storage();
        let mut response = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut response,
            buf,
            &mut storage[..self.max_headers.min(head::MAX_HEADERS_CAP)],
        );
        match parsed {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => {
                return Err(HandshakeError::Malformed("malformed HTTP head"));
            }
            Err(e) => return Err(head::parse_error(e, self.max_headers)),
        }
        let (spans, known) = head::header_spans(buf, response.headers);
        let fields = Fields {
            buf,
            spans: &spans,
            known,
        };
        let headers: Vec<(String, Vec<u8>)> =
            fields.iter().map(|(n, v)| (n.into(), v.into())).collect();
        // §4.1: "If the status code received from the server is not 101, the client handles
        // the response per HTTP [RFC2616] procedures."
        let status = response.code.unwrap_or(0);
        if status != 101 {
            return Err(HandshakeError::Rejected(Box::new(RejectedResponse {
                status,
                reason: response.reason.unwrap_or("").into(),
                headers,
            })));
        }
        check_upgrade_response(fields, &self.accept)?;
        self.offers
            .negotiated(fields, headers, self.head.leftover().to_vec())
    }

    /// Bytes received after the response head: the start of the WebSocket stream.
    pub fn leftover(&self) -> &[u8] {
        self.head.leftover()
    }

    /// The bytes after the response head, owned.
    pub fn into_leftover(self) -> Vec<u8> {
        self.head.into_leftover()
    }
}

/// The `Sec-WebSocket-Key` for a nonce: its base64 (§4.1: "a nonce consisting of a randomly
/// selected 16-byte value that has been base64-encoded").
pub(crate) fn encode_key(nonce: [u8; 16]) -> [u8; 24] {
    let mut key = [0u8; 24];
    // 16 bytes always encode to exactly 24 base64 characters.
    let _ = STANDARD.encode_slice(nonce, &mut key);
    key
}

/// RFC 6455 §4.1 on the header fields of a `101` answer: `Upgrade`, `Connection` and the
/// `Sec-WebSocket-Accept` expected for our key.
pub(crate) fn check_upgrade_response<'a>(
    fields: impl HeaderFields<'a>,
    accept: &[u8; 28],
) -> Result<(), HandshakeError> {
    // "If the response lacks an |Upgrade| header field or the |Upgrade| header field
    // contains a value that is not an ASCII case-insensitive match for the value
    // "websocket", the client MUST _Fail the WebSocket Connection_."
    if !fields
        .get("upgrade")
        .is_some_and(|v| trim(v).eq_ignore_ascii_case(b"websocket"))
    {
        return Err(HandshakeError::ResponseNotUpgrade);
    }
    // "If the response lacks a |Connection| header field or the |Connection| header
    // field doesn't contain a token that is an ASCII case-insensitive match for the
    // value "Upgrade", the client MUST _Fail the WebSocket Connection_."
    if !fields.all("connection").any(|v| has_token(v, "upgrade")) {
        return Err(HandshakeError::ResponseMissingConnectionUpgrade);
    }
    // "If the |Sec-WebSocket-Accept| contains a value other than the base64-encoded
    // SHA-1 of the concatenation of the |Sec-WebSocket-Key| (as a string, not base64-
    // decoded) with the string "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" but ignoring any
    // leading and trailing whitespace, the client MUST _Fail the WebSocket Connection_."
    let mut accepts = fields.all("sec-websocket-accept");
    match (accepts.next(), accepts.next()) {
        (Some(v), None) if trim(v) == accept => {}
        _ => return Err(HandshakeError::InvalidAccept),
    }
    Ok(())
}
