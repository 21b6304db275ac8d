//! `Sec-WebSocket-Extensions` values (RFC 6455 §9.1, as used by RFC 7692 §5):
//!
//! ```text
//! extension-list = 1#extension
//! extension = extension-token *( ";" extension-param )
//! extension-token = registered-token
//! extension-param = token [ "=" (token | quoted-string) ]
//!     ;When using the quoted-string syntax variant, the value
//!     ;after quoted-string unescaping MUST conform to the
//!     ;'token' ABNF.
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::{HandshakeError, is_tchar};

/// One extension offer or acceptance, e.g. `permessage-deflate; client_max_window_bits=10`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Extension {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Its parameters, in order.
    pub params: Vec<ExtensionParam>,
}

/// An extension parameter, e.g. `server_no_context_takeover` or `client_max_window_bits=10`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExtensionParam {
    /// The parameter name.
    pub name: String,
    /// The value, unquoted, if one was given.
    pub value: Option<String>,
}

impl Extension {
    /// The first parameter named `name`: `None` if absent, `Some(None)` if it has no value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_deref())
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for p in &self.params {
            write!(f, "; {}", p.name)?;
            if let Some(v) = &p.value {
                write!(f, "={v}")?;
            }
        }
        Ok(())
    }
}

/// Parses one `Sec-WebSocket-Extensions` header value, appending its extensions to `out`
/// (a request may carry several such headers; their lists concatenate).
///
/// ```
/// let mut offers = Vec::new();
/// rfc6455::handshake::parse_extensions(
///     "permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=\"10\"",
///     &mut offers,
/// )?;
/// assert_eq!(offers.len(), 2);
/// assert_eq!(offers[0].param("client_max_window_bits"), Some(None));
/// assert_eq!(offers[1].param("server_max_window_bits"), Some(Some("10")));
/// # Ok::<(), rfc6455::handshake::HandshakeError>(())
/// ```
///
/// # Errors
///
/// [`HandshakeError::MalformedExtensions`] when the value does not follow the grammar.
pub fn parse_extensions(value: &str, out: &mut Vec<Extension>) -> Result<(), HandshakeError> {
    let mut p = Parser {
        s: value.as_bytes(),
        pos: 0,
    };
    loop {
        p.skip_ows();
        // `#` lists tolerate empty elements (RFC 7230 §7).
        if p.eat(b',') {
            continue;
        }
        if p.at_end() {
            return Ok(());
        }
        let name = p.token()?;
        let mut params = Vec::new();
        loop {
            p.skip_ows();
            if !p.eat(b';') {
                break;
            }
            p.skip_ows();
            let name = p.token()?;
            p.skip_ows();
            let value = if p.eat(b'=') {
                p.skip_ows();
                Some(p.value()?)
            } else {
                None
            };
            params.push(ExtensionParam { name, value });
        }
        out.push(Extension { name, params });
        p.skip_ows();
        if !p.at_end() && !p.eat(b',') {
            return Err(HandshakeError::MalformedExtensions);
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn skip_ows(&mut self) {
        while matches!(self.s.get(self.pos), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn token(&mut self) -> Result<String, HandshakeError> {
        let start = self.pos;
        while self.s.get(self.pos).is_some_and(|&b| is_tchar(b)) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(HandshakeError::MalformedExtensions);
        }
        // Token characters are ASCII.
        Ok(self.s[start..self.pos].iter().map(|&b| b as char).collect())
    }

    fn value(&mut self) -> Result<String, HandshakeError> {
        if !self.eat(b'"') {
            return self.token();
        }
        let mut value = String::new();
        loop {
            match self.s.get(self.pos) {
                None => return Err(HandshakeError::MalformedExtensions),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    let Some(&b) = self.s.get(self.pos + 1) else {
                        return Err(HandshakeError::MalformedExtensions);
                    };
                    value.push(b as char);
                    self.pos += 2;
                }
                Some(&b) => {
                    value.push(b as char);
                    self.pos += 1;
                }
            }
        }
        // "the value after quoted-string unescaping MUST conform to the 'token' ABNF".
        if value.is_empty() || !value.bytes().all(is_tchar) {
            return Err(HandshakeError::MalformedExtensions);
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn parse(s: &str) -> Result<Vec<Extension>, HandshakeError> {
        let mut v = Vec::new();
        parse_extensions(s, &mut v).map(|()| v)
    }

    fn param(name: &str, value: Option<&str>) -> ExtensionParam {
        ExtensionParam {
            name: name.into(),
            value: value.map(Into::into),
        }
    }

    #[test]
    fn rfc_7692_offers() {
        let offers = parse(
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10 , \
             permessage-deflate;client_max_window_bits=\"15\",x-webkit-deflate-frame",
        )
        .unwrap();
        assert_eq!(
            offers,
            vec![
                Extension {
                    name: "permessage-deflate".into(),
                    params: vec![
                        param("client_max_window_bits", None),
                        param("server_max_window_bits", Some("10")),
                    ],
                },
                Extension {
                    name: "permessage-deflate".into(),
                    params: vec![param("client_max_window_bits", Some("15"))],
                },
                Extension {
                    name: "x-webkit-deflate-frame".into(),
                    params: vec![],
                },
            ]
        );
        assert_eq!(
            offers[0].to_string(),
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10"
        );
    }

    #[test]
    fn escapes_and_empty_elements() {
        assert_eq!(
            parse(", a; p=\"x\\y\" ,,").unwrap(),
            vec![Extension {
                name: "a".into(),
                params: vec![param("p", Some("xy"))],
            }]
        );
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn malformed() {
        for bad in [
            "a;",
            "a; =1",
            "a; p=",
            "a; p=\"\"",
            "a; p=\"1 2\"",
            "a; p=\"unterminated",
            "a b",
            "a; p=1 2",
            "a;p=\"\\",
            "é",
        ] {
            assert_eq!(
                parse(bad),
                Err(HandshakeError::MalformedExtensions),
                "{bad:?}"
            );
        }
    }
}
