//! Which `Origin`s may open a WebSocket (RFC 6455 §10.2), against cross-site WebSocket
//! hijacking: a browser attaches the victim's cookies to a WebSocket opened by any page, so
//! a server that authenticates by cookie must check where the page came from.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::UsageError;

/// The server's origin policy.
///
/// Requests without an `Origin` header are allowed unless
/// [`require_origin`](AllowedOrigins::require_origin) is set: browsers always send one, so a
/// missing `Origin` means a non-browser client, which cannot be hijacked cross-site.
///
/// ```
/// use rfc6455::handshake::AllowedOrigins;
/// let origins = AllowedOrigins::same_origin()
///     .allow("https://app.example.com")?
///     .allow("https://*.example.org")?;
/// assert!(origins.is_allowed(Some(b"https://app.example.com"), Some(b"ws.example.com")));
/// assert!(origins.is_allowed(Some(b"https://a.b.example.org"), Some(b"ws.example.com")));
/// assert!(origins.is_allowed(Some(b"http://ws.example.com"), Some(b"ws.example.com")));
/// assert!(!origins.is_allowed(Some(b"https://evil.example"), Some(b"ws.example.com")));
/// # Ok::<(), rfc6455::UsageError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedOrigins {
    any: bool,
    same_origin: bool,
    require_origin: bool,
    patterns: Vec<OriginPattern>,
}

/// `[scheme://]host-or-*.domain[:port|:*]`
#[derive(Clone, Debug, PartialEq, Eq)]
struct OriginPattern {
    /// `None` matches `http` and `https`.
    scheme: Option<String>,
    /// Lower-case host, or the domain after `*.`.
    host: String,
    wildcard: bool,
    port: PortPattern,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PortPattern {
    /// The scheme's default port (no port in the origin, or the default written out).
    Default,
    Exact(u16),
    Any,
}

/// An origin taken apart: `scheme://host[:port]`.
struct Origin<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<u16>,
}

impl AllowedOrigins {
    /// Every origin is allowed (the default, and what non-browser APIs want).
    pub fn any() -> AllowedOrigins {
        AllowedOrigins {
            any: true,
            ..AllowedOrigins::none()
        }
    }

    /// Only pages served from the same host and port as the WebSocket (compared with the
    /// request's `Host`), plus whatever [`allow`](AllowedOrigins::allow) adds.
    pub fn same_origin() -> AllowedOrigins {
        AllowedOrigins {
            same_origin: true,
            ..AllowedOrigins::none()
        }
    }

    /// No origin except those added with [`allow`](AllowedOrigins::allow).
    pub fn none() -> AllowedOrigins {
        AllowedOrigins {
            any: false,
            same_origin: false,
            require_origin: false,
            patterns: Vec::new(),
        }
    }

    /// Also allows origins matching `pattern`:
    ///
    /// * `https://example.com` — exactly this origin (default port);
    /// * `http://localhost:8080` — with an explicit port; `http://localhost:*` — any port;
    /// * `https://*.example.com` — any subdomain of `example.com` (not `example.com` itself);
    /// * `*.example.com`, `example.com` — either `http` or `https`.
    ///
    /// # Errors
    ///
    /// [`UsageError::InvalidHandshakeInput`] for a pattern that is not of these forms.
    pub fn allow(mut self, pattern: &str) -> Result<AllowedOrigins, UsageError> {
        self.patterns.push(OriginPattern::parse(pattern)?);
        Ok(self)
    }

    /// Rejects requests that carry no `Origin` header (default: allowed).
    pub fn require_origin(mut self, required: bool) -> AllowedOrigins {
        self.require_origin = required;
        self
    }

    /// Whether a request with this `Origin` (and `Host`) header may open a WebSocket.
    pub fn is_allowed(&self, origin: Option<&[u8]>, host: Option<&[u8]>) -> bool {
        let Some(origin) = origin else {
            return !self.require_origin;
        };
        if self.any {
            return true;
        }
        let Some(origin) = core::str::from_utf8(origin).ok().and_then(Origin::parse) else {
            // "null" (sandboxed frames, file: pages) and anything unparsable.
            return false;
        };
        if self.same_origin && host.is_some_and(|h| origin.same_authority(h)) {
            return true;
        }
        self.patterns.iter().any(|p| p.matches(&origin))
    }
}

impl Default for AllowedOrigins {
    /// [`AllowedOrigins::any`].
    fn default() -> AllowedOrigins {
        AllowedOrigins::any()
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("ws") {
        Some(80)
    } else if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("wss") {
        Some(443)
    } else {
        None
    }
}

/// Splits `host[:port]`, keeping IPv6 literals (`[::1]:8080`) whole.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, rest) = authority.split_at(close + 1);
        return match rest {
            "" => Some((host, None)),
            _ => Some((host, Some(rest.strip_prefix(':')?))),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((authority, None)),
    }
}

impl<'a> Origin<'a> {
    fn parse(s: &'a str) -> Option<Origin<'a>> {
        let (scheme, authority) = s.split_once("://")?;
        let (host, port) = split_host_port(authority)?;
        if host.is_empty() || host.contains('/') {
            return None;
        }
        let port = match port {
            Some(p) => Some(p.parse().ok()?),
            None => None,
        };
        Some(Origin { scheme, host, port })
    }

    fn effective_port(&self) -> Option<u16> {
        self.port.or_else(|| default_port(self.scheme))
    }

    /// Same host and port as the request's `Host` header value.
    fn same_authority(&self, host_header: &[u8]) -> bool {
        let Some((host, port)) = core::str::from_utf8(host_header)
            .ok()
            .and_then(|h| split_host_port(h.trim()))
        else {
            return false;
        };
        let port = match port {
            Some(p) => p.parse::<u16>().ok(),
            None => default_port(self.scheme),
        };
        host.eq_ignore_ascii_case(self.host) && port.is_some() && port == self.effective_port()
    }
}

impl OriginPattern {
    fn parse(pattern: &str) -> Result<OriginPattern, UsageError> {
        let invalid = UsageError::InvalidHandshakeInput("origin pattern");
        let (scheme, authority) = match pattern.split_once("://") {
            Some((s, a)) if !s.is_empty() => (Some(s.to_ascii_lowercase()), a),
            Some(_) => return Err(invalid),
            None => (None, pattern),
        };
        let (host, port) = split_host_port(authority).ok_or(invalid.clone())?;
        let port = match port {
            None => PortPattern::Default,
            Some("*") => PortPattern::Any,
            Some(p) => PortPattern::Exact(p.parse().map_err(|_| invalid.clone())?),
        };
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(domain) => (domain, true),
            None => (host, false),
        };
        if host.is_empty() || host.contains(['*', '/', ' ']) {
            return Err(invalid);
        }
        Ok(OriginPattern {
            scheme,
            host: host.to_ascii_lowercase(),
            wildcard,
            port,
        })
    }

    fn matches(&self, origin: &Origin<'_>) -> bool {
        let scheme_ok = match &self.scheme {
            Some(s) => origin.scheme.eq_ignore_ascii_case(s),
            None => {
                origin.scheme.eq_ignore_ascii_case("http")
                    || origin.scheme.eq_ignore_ascii_case("https")
            }
        };
        let host_ok = if self.wildcard {
            // "a.example.com" ends with ".example.com": a proper subdomain.
            let (h, d) = (origin.host.as_bytes(), self.host.as_bytes());
            h.len() > d.len() + 1
                && h[h.len() - d.len()..].eq_ignore_ascii_case(d)
                && h[h.len() - d.len() - 1] == b'.'
        } else {
            origin.host.eq_ignore_ascii_case(&self.host)
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Exact(p) => origin.effective_port() == Some(p),
            PortPattern::Default => {
                origin.port.is_none() || origin.port == default_port(origin.scheme)
            }
        };
        scheme_ok && host_ok && port_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(policy: &AllowedOrigins, origin: &str, host: &str) -> bool {
        policy.is_allowed(Some(origin.as_bytes()), Some(host.as_bytes()))
    }

    #[test]
    fn exact_origins() {
        let p = AllowedOrigins::none().allow("https://example.com").unwrap();
        assert!(allowed(&p, "https://example.com", "x"));
        assert!(allowed(&p, "HTTPS://EXAMPLE.COM", "x"));
        assert!(allowed(&p, "https://example.com:443", "x"));
        assert!(!allowed(&p, "http://example.com", "x"));
        assert!(!allowed(&p, "https://example.com:8443", "x"));
        assert!(!allowed(&p, "https://example.com.evil.org", "x"));
        assert!(!allowed(&p, "https://sub.example.com", "x"));
        assert!(!allowed(&p, "null", "x"));
    }

    #[test]
    fn subdomain_patterns() {
        let p = AllowedOrigins::none().allow("*.example.com").unwrap();
        assert!(allowed(&p, "https://a.example.com", "x"));
        assert!(allowed(&p, "http://a.b.example.com", "x"));
        assert!(!allowed(&p, "https://example.com", "x"));
        assert!(!allowed(&p, "https://badexample.com", "x"));
        assert!(!allowed(&p, "https://a.example.com:8443", "x"));
        assert!(!allowed(&p, "ftp://a.example.com", "x"));
        let p = AllowedOrigins::none()
            .allow("https://*.example.com:*")
            .unwrap();
        assert!(allowed(&p, "https://a.example.com:8443", "x"));
        assert!(!allowed(&p, "http://a.example.com", "x"));
    }

    #[test]
    fn ports_and_ipv6() {
        let p = AllowedOrigins::none()
            .allow("http://localhost:8080")
            .unwrap()
            .allow("http://[::1]:3000")
            .unwrap();
        assert!(allowed(&p, "http://localhost:8080", "x"));
        assert!(!allowed(&p, "http://localhost:8081", "x"));
        assert!(!allowed(&p, "http://localhost", "x"));
        assert!(allowed(&p, "http://[::1]:3000", "x"));
    }

    #[test]
    fn same_origin_compares_with_host() {
        let p = AllowedOrigins::same_origin();
        assert!(allowed(&p, "http://chat.local:8080", "chat.local:8080"));
        assert!(allowed(&p, "https://chat.local", "CHAT.local"));
        assert!(allowed(&p, "http://chat.local", "chat.local:80"));
        assert!(!allowed(&p, "http://chat.local:8080", "chat.local:9090"));
        assert!(!allowed(&p, "http://evil.local:8080", "chat.local:8080"));
        assert!(!p.is_allowed(Some(b"http://chat.local"), None));
    }

    #[test]
    fn missing_origin() {
        assert!(AllowedOrigins::none().is_allowed(None, None));
        assert!(
            !AllowedOrigins::any()
                .require_origin(true)
                .is_allowed(None, None)
        );
    }

    #[test]
    fn invalid_patterns() {
        for bad in ["", "://x", "https://", "a.*.com", "http://x:port", "x y"] {
            assert!(AllowedOrigins::none().allow(bad).is_err(), "{bad:?}");
        }
    }
}
