//! HTTP proxies for clients: the tunnel a `ws://` or `wss://` connection takes through an
//! HTTP proxy with `CONNECT` (RFC 9110 §9.3.6).
//!
//! RFC 6455 §4.1: "if the client is configured to use a proxy when using the WebSocket
//! Protocol to connect to host /host/ and port /port/, then the client SHOULD connect to
//! that proxy and ask it to open a TCP connection to the host given by /host/ and the port
//! given by /port/", for example:
//!
//! ```text
//! CONNECT example.com:80 HTTP/1.1
//! Host: example.com
//! ```
//!
//! For `wss://` the TLS handshake then runs inside the tunnel, end to end with the server:
//! the proxy sees only the host and port.
//!
//! * [`Proxy`] is one proxy (`http://[user:password@]host[:port]`), with Basic
//!   authentication (RFC 7617) sent as `Proxy-Authorization`.
//! * [`Proxy::from_env`] picks the proxy the environment names for a request, the way curl
//!   and reqwest do: `HTTPS_PROXY` for `wss://`, `HTTP_PROXY` for `ws://`, `ALL_PROXY` for
//!   either, except for the hosts [`NoProxy`] lists in `NO_PROXY`.
//! * [`Connector`](crate::io::Connector) decides between them for the adapters' `connect`
//!   functions: environment by default, or an explicit proxy, or none.

use std::fmt;
use std::net::IpAddr;
use std::string::{String, ToString};
use std::vec::Vec;

use base64::Engine as _;

use crate::frame::Status;
use crate::handshake::{ClientRequest, DEFAULT_MAX_HEAD_SIZE, DEFAULT_MAX_HEADERS};

/// An HTTP proxy that clients tunnel through with `CONNECT`.
///
/// ```
/// use rfc6455::io::Proxy;
///
/// let proxy = Proxy::parse("http://alice:s%3Acret@proxy.example:3128")?;
/// assert_eq!((proxy.host(), proxy.port()), ("proxy.example", 3128));
/// // The credentials never show up in logs.
/// assert_eq!(format!("{proxy:?}"), r#"Proxy { host: "proxy.example", port: 3128, auth: "<hidden>" }"#);
/// # Ok::<(), rfc6455::io::ProxyError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// The host name or IP address, IPv6 without brackets.
    host: String,
    port: u16,
    /// The `Proxy-Authorization` value, `Basic …`.
    authorization: Option<String>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Proxy");
        d.field("host", &self.host).field("port", &self.port);
        match self.authorization {
            Some(_) => d.field("auth", &"<hidden>"),
            None => d.field("auth", &"none"),
        };
        d.finish()
    }
}

impl Proxy {
    /// A proxy from its URL, `http://[user:password@]host[:port][/]` (port 80 by default).
    /// The scheme may be left out (`proxy:3128`), as in many `HTTP_PROXY` values. User and
    /// password are percent-decoded and sent with Basic authentication.
    ///
    /// # Errors
    ///
    /// [`ProxyError::InvalidUrl`] for another scheme (`https://` and `socks5://` proxies are
    /// not supported), a path, a missing host, a bad port or bad percent-encoding.
    pub fn parse(url: &str) -> Result<Proxy, ProxyError> {
        let invalid = |why: &str| ProxyError::InvalidUrl(why.into());
        let url = url.trim();
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some(_) => return Err(invalid("only http:// proxies are supported")),
            None => url,
        };
        let authority = match rest.find('/') {
            Some(i) if rest[i..] != *"/" => return Err(invalid("a proxy URL has no path")),
            Some(i) => &rest[..i],
            None => rest,
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport).ok_or_else(|| invalid("bad host or port"))?;
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let mut proxy = Proxy {
            host: host.to_string(),
            port: port.unwrap_or(80),
            authorization: None,
        };
        if let Some(userinfo) = userinfo {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let user = percent_decode(user).ok_or_else(|| invalid("bad percent-encoding"))?;
            let password =
                percent_decode(password).ok_or_else(|| invalid("bad percent-encoding"))?;
            proxy = proxy.basic_auth(&user, &password);
        }
        Ok(proxy)
    }

    /// Authenticates to the proxy with Basic authentication (RFC 7617): every `CONNECT`
    /// carries `Proxy-Authorization: Basic base64(user ":" password)`.
    ///
    /// RFC 7617 §2: "a user-id containing a colon character is invalid", since the first
    /// colon separates it from the password; such a user-id is sent as given and the proxy
    /// will read it differently.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Proxy {
        let credentials = base64::engine::general_purpose::STANDARD
            .encode(std::format!("{user}:{password}").as_bytes());
        self.authorization = Some(std::format!("Basic {credentials}"));
        self
    }

    /// The proxy's host name or IP address (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The proxy the environment names for `request`, as curl and reqwest read it:
    ///
    /// * `wss://`: `https_proxy`, `HTTPS_PROXY`, then `all_proxy`, `ALL_PROXY`;
    /// * `ws://`: `http_proxy`, `HTTP_PROXY` (not in a CGI script, where `HTTP_PROXY` could
    ///   come from a request's `Proxy:` header: "httpoxy"), then `all_proxy`, `ALL_PROXY`;
    /// * none if `no_proxy`/`NO_PROXY` lists the host (see [`NoProxy`]), or if the host is
    ///   a loopback address or `localhost` (as Go's `ProxyFromEnvironment` does: a proxy
    ///   cannot reach the client's own loopback).
    ///
    /// Empty variables count as unset.
    ///
    /// # Errors
    ///
    /// [`ProxyError::InvalidUrl`] if the variable that applies holds an unusable URL (such
    /// as `socks5://…`): going direct instead would bypass a proxy the user asked for.
    pub fn from_env(request: &ClientRequest) -> Result<Option<Proxy>, ProxyError> {
        Proxy::from_vars(request, |name| std::env::var(name).ok())
    }

    /// [`from_env`](Proxy::from_env) with the variables read through `var`.
    pub(crate) fn from_vars(
        request: &ClientRequest,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Proxy>, ProxyError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let host = unbracket(request.host());
        if is_loopback(host) {
            return Ok(None);
        }
        let no_proxy = var("no_proxy").or_else(|| var("NO_PROXY"));
        if no_proxy
            .is_some_and(|list| NoProxy::parse(&list).matches(host, request.effective_port()))
        {
            return Ok(None);
        }
        let cgi = var("REQUEST_METHOD").is_some();
        let found = if request.is_secure() {
            [("https_proxy", true), ("HTTPS_PROXY", true)]
        } else {
            [("http_proxy", true), ("HTTP_PROXY", !cgi)]
        }
        .into_iter()
        .chain([("all_proxy", true), ("ALL_PROXY", true)])
        .filter(|&(_, allowed)| allowed)
        .find_map(|(name, _)| var(name).map(|value| (name, value)));
        match found {
            None => Ok(None),
            Some((name, value)) => Proxy::parse(&value).map(Some).map_err(|e| match e {
                ProxyError::InvalidUrl(why) => {
                    ProxyError::InvalidUrl(std::format!("{name}: {why}"))
                }
                other => other,
            }),
        }
    }

    /// The `CONNECT` request for `request`'s host and port, appended to `out`.
    ///
    /// RFC 9112 §3.2.3: "When making a CONNECT request to establish a tunnel through one or
    /// more proxies, a client MUST send only the host and port of the tunnel destination as
    /// the request-target."
    pub(crate) fn write_connect(&self, request: &ClientRequest, out: &mut Vec<u8>) {
        let authority = std::format!("{}:{}", request.host(), request.effective_port());
        out.extend_from_slice(b"CONNECT ");
        out.extend_from_slice(authority.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        out.extend_from_slice(authority.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(authorization) = &self.authorization {
            out.extend_from_slice(b"Proxy-Authorization: ");
            out.extend_from_slice(authorization.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// The hosts that are reached directly even when a proxy is configured: the `NO_PROXY`
/// list, with the semantics curl and reqwest share.
///
/// Entries are separated by commas (whitespace around them is ignored):
///
/// * `*` alone matches every host;
/// * a domain name matches itself and its subdomains: `example.com` and `.example.com`
///   both match `example.com` and `ws.example.com`, not `badexample.com`;
/// * an IP address matches that address (IPv6 with or without brackets), and
///   `10.0.0.0/8` style entries match a network;
/// * `host:port` (`[::1]:8080` for IPv6) matches that host on that port only.
///
/// Matching ignores case and a trailing dot. Host names are not resolved: an IP entry
/// matches only URLs that use the IP address.
///
/// ```
/// use rfc6455::io::NoProxy;
///
/// let no_proxy = NoProxy::parse("localhost, .corp.example, 10.0.0.0/8, [::1]:8080");
/// assert!(no_proxy.matches("ws.corp.example", 443));
/// assert!(no_proxy.matches("corp.example", 443));
/// assert!(!no_proxy.matches("notcorp.example", 443));
/// assert!(no_proxy.matches("10.1.2.3", 80));
/// assert!(no_proxy.matches("::1", 8080));
/// assert!(!no_proxy.matches("::1", 8081));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    entries: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    All,
    /// A lowercase domain without leading or trailing dots.
    Domain(String, Option<u16>),
    Net(IpAddr, u8, Option<u16>),
}

impl NoProxy {
    /// Parses a `NO_PROXY` value. Entries that are not understood are ignored.
    pub fn parse(list: &str) -> NoProxy {
        let entries = list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .filter_map(Entry::parse)
            .collect();
        NoProxy { entries }
    }

    /// The `no_proxy` (or else `NO_PROXY`) variable of the environment; empty if unset.
    pub fn from_env() -> NoProxy {
        let list = std::env::var("no_proxy").or_else(|_| std::env::var("NO_PROXY"));
        NoProxy::parse(&list.unwrap_or_default())
    }

    /// Whether `host` (a name or an IP address, IPv6 with or without brackets) on `port`
    /// is to be reached without the proxy.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        let host = unbracket(host).trim_end_matches('.');
        let ip = host.parse::<IpAddr>().ok();
        self.entries.iter().any(|entry| match entry {
            Entry::All => true,
            Entry::Domain(domain, p) => {
                p.is_none_or(|p| p == port)
                    && ip.is_none()
                    && host.len() >= domain.len()
                    && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
                    && (host.len() == domain.len()
                        || host.as_bytes()[host.len() - domain.len() - 1] == b'.')
            }
            Entry::Net(net, bits, p) => {
                p.is_none_or(|p| p == port) && ip.is_some_and(|ip| in_network(ip, *net, *bits))
            }
        })
    }
}

impl Entry {
    fn parse(entry: &str) -> Option<Entry> {
        if entry == "*" {
            return Some(Entry::All);
        }
        // An address or network without a port: `::1` would otherwise split at a colon.
        if let Some(net) = Entry::network(entry, None) {
            return Some(net);
        }
        let (host, port) = split_host_port(entry)?;
        if let Some(net) = Entry::network(host, port) {
            return Some(net);
        }
        let domain = host.trim_start_matches('*').trim_matches('.');
        (!domain.is_empty()).then(|| Entry::Domain(domain.to_ascii_lowercase(), port))
    }

    fn network(entry: &str, port: Option<u16>) -> Option<Entry> {
        let (addr, bits) = match entry.split_once('/') {
            Some((addr, bits)) => (addr, Some(bits.parse::<u8>().ok()?)),
            None => (entry, None),
        };
        let addr = unbracket(addr).parse::<IpAddr>().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Entry::Net(addr, bits, port))
    }
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => (u32::from(ip) as u128, u32::from(net) as u128, 32),
        (IpAddr::V6(ip), IpAddr::V6(net)) => (u128::from(ip), u128::from(net), 128),
        _ => return false,
    };
    let shift = width - u32::from(bits);
    shift >= width || (ip >> shift) == (net >> shift)
}

/// `host[:port]` with IPv6 in brackets; `None` for a bad port or unclosed bracket.
fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        match after {
            "" => (host, None),
            after => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match s.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (s, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host, port))
}

fn unbracket(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Why a tunnel through a proxy could not be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL (given, or from the named environment variable) cannot be used. The
    /// text never contains the credentials.
    InvalidUrl(String),
    /// The proxy answered the `CONNECT` with a status other than 2xx: 407 when it wants
    /// (other) credentials, 403 when it does not allow the destination, 502 or 504 when it
    /// could not reach it.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The reason phrase.
        reason: String,
    },
    /// The proxy's answer was not an HTTP/1.x response head, or was longer than
    /// [`DEFAULT_MAX_HEAD_SIZE`] bytes or [`DEFAULT_MAX_HEADERS`] fields.
    InvalidResponse(&'static str),
}

impl ProxyError {
    /// The proxy's status, if it refused the tunnel.
    pub fn status(&self) -> Option<u16> {
        match self {
            ProxyError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::InvalidUrl(why) => write!(f, "invalid proxy URL: {why}"),
            ProxyError::Refused {
                status: 407,
                reason,
            } => {
                write!(f, "proxy authentication required (407 {reason})")
            }
            ProxyError::Refused { status, reason } => {
                write!(f, "the proxy refused the tunnel: {status} {reason}")
            }
            ProxyError::InvalidResponse(why) => write!(f, "invalid proxy response: {why}"),
        }
    }
}

impl std::error::Error for ProxyError {}

/// Reads the proxy's answer to `CONNECT` from bytes peeked at the stream, so that nothing
/// after the head is taken from the stream: those bytes are the server's (its TLS or
/// WebSocket handshake) and stay there for the next reader.
#[derive(Debug, Default)]
pub(crate) struct ConnectResponse {
    /// The part of the head consumed so far.
    head: Vec<u8>,
}

/// What to do with bytes peeked from the stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Take {
    /// Read (consume) this many of them.
    pub(crate) consume: usize,
    /// The head ends there: the tunnel is open.
    pub(crate) done: bool,
}

impl ConnectResponse {
    /// Looks at `peeked`, the bytes waiting on the stream (not consumed yet).
    pub(crate) fn peeked(&mut self, peeked: &[u8]) -> Result<Take, ProxyError> {
        let before = self.head.len();
        let room = DEFAULT_MAX_HEAD_SIZE - before;
        self.head
            .extend_from_slice(&peeked[..peeked.len().min(room)]);
        match parse_head(&self.head)? {
            Status::Complete(len) => {
                self.head.truncate(len);
                Ok(Take {
                    consume: len - before,
                    done: true,
                })
            }
            Status::Partial if self.head.len() >= DEFAULT_MAX_HEAD_SIZE => Err(
                ProxyError::InvalidResponse("response head longer than 16 KiB"),
            ),
            Status::Partial => Ok(Take {
                consume: self.head.len() - before,
                done: false,
            }),
        }
    }
}

/// Parses the proxy's answer: `Partial`, the head's length for a 2xx, or why not.
///
/// RFC 9110 §9.3.6: "Any 2xx (Successful) response indicates that the sender (and all
/// inbound proxies) will switch to tunnel mode immediately after the response header
/// section" … "A client MUST ignore any Content-Length or Transfer-Encoding header fields
/// received in a successful response to CONNECT."
fn parse_head(buf: &[u8]) -> Result<Status<usize>, ProxyError> {
    let mut headers = [httparse::EMPTY_HEADER; DEFAULT_MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(buf) {
        Ok(httparse::Status::Partial) => Ok(Status::Partial),
        Ok(httparse::Status::Complete(len)) => match response.code {
            Some(code) if (200..300).contains(&code) => Ok(Status::Complete(len)),
            Some(status) => Err(ProxyError::Refused {
                status,
                reason: response.reason.unwrap_or_default().into(),
            }),
            None => Err(ProxyError::InvalidResponse("no status")),
        },
        Err(httparse::Error::TooManyHeaders) => {
            Err(ProxyError::InvalidResponse("more than 64 header fields"))
        }
        Err(_) => Err(ProxyError::InvalidResponse("not an HTTP/1.x response head")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(url: &str) -> ClientRequest {
        ClientRequest::from_url(url).unwrap()
    }

    #[test]
    fn connect_request_bytes() {
        let proxy = Proxy::parse("http://Aladdin:open%20sesame@proxy:3128").unwrap();
        let mut out = Vec::new();
        proxy.write_connect(&request("wss://example.com/chat"), &mut out);
        // RFC 7617 §2's example credentials.
        assert_eq!(
            out,
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\
              Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
        );
        out.clear();
        Proxy::parse("[::1]:8080")
            .unwrap()
            .write_connect(&request("ws://[2001:db8::1]:9001/"), &mut out);
        assert_eq!(
            out,
            b"CONNECT [2001:db8::1]:9001 HTTP/1.1\r\nHost: [2001:db8::1]:9001\r\n\r\n"
        );
    }

    #[test]
    fn parse_urls() {
        let p = Proxy::parse("proxy.example").unwrap();
        assert_eq!(
            (p.host(), p.port(), p.authorization.as_deref()),
            ("proxy.example", 80, None)
        );
        let p = Proxy::parse("HTTP://[::1]:3128/").unwrap();
        assert_eq!((p.host(), p.port()), ("::1", 3128));
        let p = Proxy::parse("http://u%40x:p%3Aw%25@h:1").unwrap();
        assert_eq!(p, Proxy::parse("h:1").unwrap().basic_auth("u@x", "p:w%"));
        let p = Proxy::parse("http://user@h:1").unwrap();
        assert_eq!(p, Proxy::parse("h:1").unwrap().basic_auth("user", ""));
        for bad in [
            "socks5://h:1080",
            "https://h:443",
            "http://h:99999",
            "http://h:port",
            "http://:80",
            "http://h/path",
            "http://u:%zz@h",
            "http://[::1",
        ] {
            assert!(
                matches!(Proxy::parse(bad), Err(ProxyError::InvalidUrl(_))),
                "{bad}"
            );
        }
        let e = Proxy::parse("http://user:secret@h:bad").unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[test]
    fn no_proxy_matching() {
        let list = NoProxy::parse(
            " example.com ,.Corp.Example., 192.168.1.7,10.0.0.0/8, [fd00::]/8 ,::2,host.test:8080,[::3]:81, bad/x",
        );
        let cases: &[(&str, u16, bool)] = &[
            ("example.com", 443, true),
            ("EXAMPLE.com.", 443, true),
            ("ws.example.com", 80, true),
            ("badexample.com", 80, false),
            ("example.com.evil", 80, false),
            ("corp.example", 80, true),
            ("a.b.corp.example", 80, true),
            ("192.168.1.7", 80, true),
            ("192.168.1.8", 80, false),
            ("10.255.0.1", 80, true),
            ("11.0.0.1", 80, false),
            ("fd12::1", 443, true),
            ("[fd12::1]", 443, true),
            ("fe80::1", 443, false),
            ("::2", 1, true),
            ("[::2]", 1, true),
            ("host.test", 8080, true),
            ("host.test", 8081, false),
            ("sub.host.test", 8080, true),
            ("::3", 81, true),
            ("::3", 80, false),
            ("other.test", 80, false),
        ];
        for &(host, port, expected) in cases {
            assert_eq!(list.matches(host, port), expected, "{host}:{port}");
        }
        assert!(NoProxy::parse("a, *").matches("anything", 1));
        assert!(!NoProxy::parse("").matches("anything", 1));
        assert!(NoProxy::parse("*.example.com").matches("ws.example.com", 1));
    }

    #[test]
    fn environment() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let host = |p: Option<Proxy>| p.map(|p| p.host);
        let vars = env(&[
            ("HTTPS_PROXY", "secure:1"),
            ("http_proxy", "plain:2"),
            ("HTTP_PROXY", "upper:3"),
            ("NO_PROXY", "direct.test"),
        ]);
        let from = |url: &str| Proxy::from_vars(&request(url), vars).unwrap();
        assert_eq!(host(from("wss://a.test/")), Some("secure".into()));
        assert_eq!(host(from("ws://a.test/")), Some("plain".into()));
        assert_eq!(host(from("ws://x.direct.test/")), None);
        assert_eq!(host(from("ws://127.0.0.1:9001/")), None);
        assert_eq!(host(from("wss://[::1]/")), None);
        assert_eq!(host(from("ws://localhost/")), None);

        let cgi = env(&[("HTTP_PROXY", "evil:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(
            host(Proxy::from_vars(&request("ws://a.test/"), cgi).unwrap()),
            None
        );
        let all = env(&[("ALL_PROXY", "all:1"), ("https_proxy", "")]);
        assert_eq!(
            host(Proxy::from_vars(&request("wss://a.test/"), all).unwrap()),
            Some("all".into())
        );
        let socks = env(&[("all_proxy", "socks5://s:1080")]);
        assert_eq!(
            Proxy::from_vars(&request("ws://a.test/"), socks),
            Err(ProxyError::InvalidUrl(
                "all_proxy: only http:// proxies are supported".into()
            ))
        );
    }

    #[test]
    fn response_head_is_consumed_exactly() {
        let answer =
            b"HTTP/1.1 200 Connection established\r\nContent-Length: 9\r\n\r\n\x16\x03\x01";
        // Peeked in pieces of every size: only the head is consumed.
        for piece in 1..answer.len() {
            let mut reader = ConnectResponse::default();
            let mut at = 0;
            loop {
                let end = (at + piece).min(answer.len());
                let take = reader.peeked(&answer[at..end]).unwrap();
                at += take.consume;
                if take.done {
                    break;
                }
            }
            assert_eq!(&answer[at..], b"\x16\x03\x01", "pieces of {piece}");
        }
    }

    #[test]
    fn refusals_and_bad_heads() {
        let refused = |head: &[u8]| ConnectResponse::default().peeked(head);
        let e = refused(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n\r\n")
            .unwrap_err();
        assert_eq!(e.status(), Some(407));
        assert_eq!(
            e.to_string(),
            "proxy authentication required (407 Proxy Authentication Required)"
        );
        assert_eq!(
            refused(b"HTTP/1.0 403 Forbidden\r\n\r\n"),
            Err(ProxyError::Refused {
                status: 403,
                reason: "Forbidden".into()
            })
        );
        assert_eq!(
            refused(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(ProxyError::InvalidResponse("not an HTTP/1.x response head"))
        );
        let mut long = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        long.resize(DEFAULT_MAX_HEAD_SIZE + 10, b'a');
        let mut reader = ConnectResponse::default();
        assert_eq!(
            reader.peeked(&long[..DEFAULT_MAX_HEAD_SIZE - 1]),
            Ok(Take {
                consume: DEFAULT_MAX_HEAD_SIZE - 1,
                done: false
            })
        );
        assert_eq!(
            reader.peeked(&long[DEFAULT_MAX_HEAD_SIZE - 1..]),
            Err(ProxyError::InvalidResponse(
                "response head longer than 16 KiB"
            ))
        );
    }
}
