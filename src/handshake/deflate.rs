//! The permessage-deflate negotiation (RFC 7692 §7.1): a client's offer, a server's
//! choice among offers, a client's check of the answer. The negotiation lives with the
//! handshake; [`deflate`](crate::deflate) only holds the agreed parameters and the codec,
//! so the dependency goes one way.

use alloc::string::ToString;
use alloc::vec::Vec;

use super::{Extension, ExtensionParam, HandshakeError};
use crate::deflate::{DeflateConfig, DeflateParams, PERMESSAGE_DEFLATE};

impl DeflateConfig {
    /// The client's offer (RFC 7692 §7.1).
    pub fn offer(&self) -> Extension {
        let mut params = Vec::new();
        let mut flag = |name: &str| {
            params.push(ExtensionParam {
                name: name.into(),
                value: None,
            })
        };
        if self.server_no_context_takeover {
            flag("server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            flag("client_no_context_takeover");
        }
        if self.server_max_window_bits < 15 {
            params.push(ExtensionParam {
                name: "server_max_window_bits".into(),
                value: Some(self.server_max_window_bits.to_string()),
            });
        }
        // §7.1.2.2: "the client supports the client_max_window_bits extension parameter in
        // an extension negotiation response", with our own limit as a hint.
        params.push(ExtensionParam {
            name: "client_max_window_bits".into(),
            value: (self.client_max_window_bits < 15)
                .then(|| self.client_max_window_bits.to_string()),
        });
        Extension {
            name: PERMESSAGE_DEFLATE.into(),
            params,
        }
    }

    /// Picks the first acceptable `permessage-deflate` offer (a server's job), returning
    /// the agreed parameters and the extension to put in the response; `None` declines
    /// them all.
    ///
    /// RFC 7692 §7.1: "A server MUST decline an extension negotiation offer for this
    /// extension if [...] The negotiation offer contains an extension parameter not defined
    /// for use in an offer. [...] an extension parameter with an invalid value. [...]
    /// multiple extension parameters with the same name."
    pub fn accept_offers(&self, offers: &[Extension]) -> Option<(DeflateParams, Extension)> {
        offers
            .iter()
            .filter(|e| e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
            .find_map(|offer| self.accept_offer(offer))
    }

    fn accept_offer(&self, offer: &Extension) -> Option<(DeflateParams, Extension)> {
        let p = Params::parse(offer, Side::Offer)?;
        // §7.1.1.1: accepting an offer with server_no_context_takeover means including it.
        let server_no_context_takeover =
            p.server_no_context_takeover || self.server_no_context_takeover;
        // §7.1.1.2: a server MAY include client_no_context_takeover even if not offered.
        let client_no_context_takeover =
            p.client_no_context_takeover || self.client_no_context_takeover;
        // §7.1.2.1: "the same or smaller value as the offer"; we may also announce our own.
        let server_bits = match p.server_max_window_bits {
            Some(bits) => bits.min(self.server_max_window_bits),
            None => self.server_max_window_bits,
        };
        // §7.1.2.2: only if offered; "equal to or smaller than the received value".
        let client_bits = match p.client_max_window_bits {
            Offered::No => None,
            Offered::Bare => Some(self.client_max_window_bits),
            Offered::Value(bits) => Some(bits.min(self.client_max_window_bits)),
        };
        let mut params = Vec::new();
        let flag = |params: &mut Vec<ExtensionParam>, name: &str| {
            params.push(ExtensionParam {
                name: name.into(),
                value: None,
            })
        };
        if server_no_context_takeover {
            flag(&mut params, "server_no_context_takeover");
        }
        if client_no_context_takeover {
            flag(&mut params, "client_no_context_takeover");
        }
        if p.server_max_window_bits.is_some() || server_bits < 15 {
            params.push(ExtensionParam {
                name: "server_max_window_bits".into(),
                value: Some(server_bits.to_string()),
            });
        }
        if let Some(bits) =
            client_bits.filter(|&b| b < 15 || p.client_max_window_bits != Offered::Bare)
        {
            params.push(ExtensionParam {
                name: "client_max_window_bits".into(),
                value: Some(bits.to_string()),
            });
        }
        Some((
            DeflateParams {
                server_no_context_takeover,
                client_no_context_takeover,
                server_max_window_bits: server_bits,
                client_max_window_bits: client_bits.unwrap_or(15),
            },
            Extension {
                name: PERMESSAGE_DEFLATE.into(),
                params,
            },
        ))
    }

    /// Checks the server's answer to [`offer`](DeflateConfig::offer) (a client's job).
    ///
    /// # Errors
    ///
    /// RFC 7692 §7.1: "A client MUST _Fail the WebSocket Connection_ if the peer server
    /// accepted an extension negotiation offer for this extension with an extension
    /// negotiation response meeting any of the following conditions": an undefined, invalid
    /// or repeated parameter, or a configuration the client does not support — here a
    /// `client_max_window_bits` we did not offer, a `server_max_window_bits` larger than we
    /// asked for or missing when we asked, or a missing `server_no_context_takeover` that we
    /// requested.
    pub fn accept_response(&self, response: &Extension) -> Result<DeflateParams, HandshakeError> {
        let invalid = HandshakeError::InvalidExtensionResponse;
        let p = Params::parse(response, Side::Response).ok_or(invalid.clone())?;
        if self.server_no_context_takeover && !p.server_no_context_takeover {
            return Err(invalid);
        }
        let server_bits = match p.server_max_window_bits {
            Some(bits) if bits <= self.server_max_window_bits => bits,
            Some(_) => return Err(invalid),
            None if self.server_max_window_bits < 15 => return Err(invalid),
            None => 15,
        };
        let client_bits = match p.client_max_window_bits {
            Offered::No => 15,
            Offered::Value(bits) => bits,
            // A response must give a value.
            Offered::Bare => return Err(invalid),
        };
        Ok(DeflateParams {
            server_no_context_takeover: p.server_no_context_takeover,
            client_no_context_takeover: p.client_no_context_takeover
                || self.client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Offer,
    Response,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Offered {
    No,
    Bare,
    Value(u8),
}

struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: Offered,
}

impl Params {
    /// The parameters of one offer or response, or `None` if any is undefined, repeated
    /// or invalid.
    fn parse(ext: &Extension, side: Side) -> Option<Params> {
        let mut p = Params {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: Offered::No,
        };
        let mut seen = [false; 4];
        for param in &ext.params {
            let (index, value) = (
                match param.name.to_ascii_lowercase().as_str() {
                    "server_no_context_takeover" => 0,
                    "client_no_context_takeover" => 1,
                    "server_max_window_bits" => 2,
                    "client_max_window_bits" => 3,
                    _ => return None,
                },
                param.value.as_deref(),
            );
            if core::mem::replace(&mut seen[index], true) {
                return None;
            }
            match (index, value) {
                (0, None) => p.server_no_context_takeover = true,
                (1, None) => p.client_no_context_takeover = true,
                (2, Some(v)) => p.server_max_window_bits = Some(window_bits(v)?),
                (3, None) if side == Side::Offer => p.client_max_window_bits = Offered::Bare,
                (3, Some(v)) => p.client_max_window_bits = Offered::Value(window_bits(v)?),
                _ => return None,
            }
        }
        Some(p)
    }
}

/// §7.1.2: "a decimal integer value without leading zeroes between 8 to 15, inclusive".
fn window_bits(value: &str) -> Option<u8> {
    match value.as_bytes() {
        [d @ b'8'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Some(10 + d - b'0'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::{Codec, DEFAULT};
    use alloc::string::ToString;

    fn ext(params: &[(&str, Option<&str>)]) -> Extension {
        Extension {
            name: PERMESSAGE_DEFLATE.into(),
            params: params
                .iter()
                .map(|(n, v)| ExtensionParam {
                    name: (*n).into(),
                    value: v.map(Into::into),
                })
                .collect(),
        }
    }

    #[test]
    fn server_negotiation() {
        let config = DeflateConfig::default();
        let accept = |offers: &[Extension]| {
            config
                .accept_offers(offers)
                .map(|(p, e)| (p, e.to_string()))
        };
        assert_eq!(
            accept(&[ext(&[])]),
            Some((DEFAULT, "permessage-deflate".into()))
        );
        // Bare client_max_window_bits: we may set a value; with 15 we leave it out.
        assert_eq!(
            accept(&[ext(&[("client_max_window_bits", None)])])
                .unwrap()
                .1,
            "permessage-deflate"
        );
        let (p, e) = accept(&[ext(&[
            ("server_no_context_takeover", None),
            ("server_max_window_bits", Some("10")),
            ("client_max_window_bits", Some("12")),
        ])])
        .unwrap();
        assert_eq!(
            e,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12"
        );
        assert_eq!(p.server_max_window_bits, 10);
        assert_eq!(p.client_max_window_bits, 12);
        // Invalid offers are declined; the next acceptable one is taken.
        let bad = [
            ext(&[("server_max_window_bits", Some("7"))]),
            ext(&[("server_max_window_bits", Some("16"))]),
            ext(&[("server_max_window_bits", Some("010"))]),
            ext(&[("server_max_window_bits", None)]),
            ext(&[("server_no_context_takeover", Some("1"))]),
            ext(&[("unknown", None)]),
            ext(&[
                ("client_no_context_takeover", None),
                ("client_no_context_takeover", None),
            ]),
        ];
        for offer in &bad {
            assert_eq!(
                config.accept_offers(core::slice::from_ref(offer)),
                None,
                "{offer}"
            );
        }
        let mut offers = bad.to_vec();
        offers.push(ext(&[("client_no_context_takeover", None)]));
        assert_eq!(
            accept(&offers).unwrap().1,
            "permessage-deflate; client_no_context_takeover"
        );
        // Window 8 for our compressor is accepted (and then not used for sending).
        let (p, e) = accept(&[ext(&[("server_max_window_bits", Some("8"))])]).unwrap();
        assert_eq!(e, "permessage-deflate; server_max_window_bits=8");
        let codec = Codec::new(&p, &config, true);
        assert!(!codec.should_compress(1000));
    }

    #[test]
    fn client_negotiation() {
        let config = DeflateConfig::default().server_max_window_bits(10);
        assert_eq!(
            config.offer().to_string(),
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits"
        );
        let ok = config
            .accept_response(&ext(&[
                ("server_max_window_bits", Some("9")),
                ("client_max_window_bits", Some("11")),
            ]))
            .unwrap();
        assert_eq!(
            (ok.server_max_window_bits, ok.client_max_window_bits),
            (9, 11)
        );
        for bad in [
            ext(&[]),                                       // we asked for 10
            ext(&[("server_max_window_bits", Some("12"))]), // larger than asked
            ext(&[
                ("server_max_window_bits", Some("10")),
                ("client_max_window_bits", None),
            ]),
            ext(&[("server_max_window_bits", Some("10")), ("x", None)]),
        ] {
            assert_eq!(
                config.accept_response(&bad),
                Err(HandshakeError::InvalidExtensionResponse),
                "{bad}"
            );
        }
    }
}
