//! JSON string literals as SockJS servers write them, and the parser for what clients send.
//!
//! # The escaping rule
//!
//! sockjs-node writes every string (`utils.quote`) as `JSON.stringify(string)` and then
//! replaces each UTF-16 code unit of its escapable set with `\uXXXX` (lowercase hex). That set
//! is, exactly (sockjs-node `lib/utils.js`):
//!
//! ```text
//! /[\x00-\x1f\ud800-\udfff\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]/g
//! ```
//!
//! and the protocol's tests check it from the other side (sockjs-protocol,
//! `JSONEncoding.test_xhr_server_encodes`: "Make sure that server encodes at least all the
//! characters it's supposed to encode", with
//! `escapable_by_server = [\x00-\x1f\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]`
//! and an exact comparison of the `\u%04x` escapes). So [`quote`] writes:
//!
//! | input | output |
//! | --- | --- |
//! | `"` `\` | `\"` `\\` |
//! | U+0008, U+0009, U+000A, U+000C, U+000D | `\b` `\t` `\n` `\f` `\r` (`JSON.stringify`) |
//! | other U+0000–U+001F | `\u0000`–`\u001f` (`JSON.stringify`, lowercase) |
//! | U+200C–U+200F, U+2028–U+202F, U+2060–U+206F, U+FFF0–U+FFFF | `\u200c` … `\uffff` |
//! | U+10000 and above (a surrogate pair in JavaScript) | both halves, `\ud83d\ude00` |
//! | anything else, DEL and U+FEFF included | itself, as UTF-8 |
//!
//! U+FEFF (the byte order mark) is *not* in sockjs-node's set, nor in the protocol's
//! `escapable_by_server`; it goes out as itself, like every other character outside the set.
//! Surrogates of non-BMP characters are escaped because sockjs-node's regular expression
//! works on UTF-16 code units: U+1F600 is `\ud83d\ude00` there, and is here.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether sockjs-node escapes this (BMP) character as `\uXXXX` after `JSON.stringify`.
///
/// sockjs-node `lib/utils.js`: `escapable =
/// /[\x00-\x1f\ud800-\udfff\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]/g`.
/// (Surrogates are handled by the caller: a `char` is never one.)
#[inline]
fn is_sockjs_escapable(c: char) -> bool {
    matches!(c,
        '\u{200c}'..='\u{200f}'
        | '\u{2028}'..='\u{202f}'
        | '\u{2060}'..='\u{206f}'
        | '\u{fff0}'..='\u{ffff}')
}

/// Writes `\u` and the four lowercase hex digits of one UTF-16 code unit.
#[inline]
fn push_unit_escape(unit: u16, out: &mut Vec<u8>) {
    out.extend_from_slice(&[
        b'\\',
        b'u',
        HEX[usize::from(unit >> 12)],
        HEX[usize::from((unit >> 8) & 0xf)],
        HEX[usize::from((unit >> 4) & 0xf)],
        HEX[usize::from(unit & 0xf)],
    ]);
}

/// Whether [`quote`] escapes `c`.
#[inline]
fn needs_escape(c: char) -> bool {
    c < ' ' || c == '"' || c == '\\' || is_sockjs_escapable(c) || c > '\u{ffff}'
}

/// Writes the escape of a character for which [`needs_escape`] holds.
fn push_escape(c: char, out: &mut Vec<u8>) {
    match c {
        '"' => out.extend_from_slice(b"\\\""),
        '\\' => out.extend_from_slice(b"\\\\"),
        '\u{8}' => out.extend_from_slice(b"\\b"),
        '\t' => out.extend_from_slice(b"\\t"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\u{c}' => out.extend_from_slice(b"\\f"),
        '\r' => out.extend_from_slice(b"\\r"),
        c if c > '\u{ffff}' => {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                push_unit_escape(*unit, out);
            }
        }
        // Other controls and sockjs-node's extra set: one BMP code unit.
        c => push_unit_escape(c as u16, out),
    }
}

/// Appends `s` as a JSON string literal (with its quotes), escaped exactly as sockjs-node's
/// `quote` escapes it (see the [module docs](self) for the table).
pub fn quote(s: &str, out: &mut Vec<u8>) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0; // start of the bytes not yet copied
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // ASCII other than controls, '"' and '\\' — and every byte of a multi-byte
        // character whose lead byte cannot start an escapable one — is copied as is.
        // Escapable non-ASCII characters all start with 0xE2 (U+2xxx), 0xEF (U+Fxxx) or
        // 0xF0..=0xF4 (outside the BMP).
        let plain = match b {
            0x20..=0x7f => b != b'"' && b != b'\\',
            0xe2 | 0xef | 0xf0..=0xf4 => false,
            0x80.. => true,
            _ => false,
        };
        if plain {
            i += 1;
            continue;
        }
        // `i` is at a char boundary: it is ASCII or a lead byte.
        let c = s[i..].chars().next().unwrap_or('\0');
        let len = c.len_utf8();
        if needs_escape(c) {
            out.extend_from_slice(&bytes[run..i]);
            push_escape(c, out);
            run = i + len;
        }
        i += len;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// The length [`quote`] gives `s`, quotes included, without writing it.
pub fn quoted_len(s: &str) -> usize {
    let mut len = 2;
    for c in s.chars() {
        len += match c {
            '"' | '\\' | '\u{8}' | '\t' | '\n' | '\u{c}' | '\r' => 2,
            '\0'..='\u{1f}' => 6,
            c if is_sockjs_escapable(c) => 6,
            c if c > '\u{ffff}' => 12,
            c => c.len_utf8(),
        };
    }
    len
}

/// A JSON value as the payload parsers see it: strings (borrowed where no escape had to be
/// undone), arrays of them, and anything else only as a fact.
pub(crate) enum Value<'a> {
    /// A JSON string.
    String(Cow<'a, str>),
    /// A JSON array; `all_strings` is false when some element was not a string (such
    /// elements are skipped, not kept).
    Array {
        strings: Vec<Cow<'a, str>>,
        all_strings: bool,
    },
    /// A number, `true`, `false`, `null` or an object.
    Other,
}

/// Why a JSON text did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not well-formed JSON (or not UTF-8, or a lone surrogate escape, which no Rust string
    /// can hold).
    Syntax,
}

/// Parses one JSON value (whitespace around it allowed, nothing else).
pub(crate) fn parse(text: &[u8]) -> Result<Value<'_>, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let value = de
        .deserialize_any(ValueVisitor)
        .map_err(|_| JsonError::Syntax)?;
    de.end().map_err(|_| JsonError::Syntax)?;
    Ok(value)
}

/// Parses a JSON string literal (the whole text), unescaped.
pub(crate) fn parse_string(text: &[u8]) -> Result<Cow<'_, str>, JsonError> {
    match parse(text)? {
        Value::String(s) => Ok(s),
        _ => Err(JsonError::Syntax),
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(String::from(v))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value<'de>, E> {
        Ok(Value::String(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Value<'de>, E> {
        Ok(Value::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Value<'de>, E> {
        Ok(Value::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Value<'de>, E> {
        Ok(Value::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Value<'de>, E> {
        Ok(Value::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value<'de>, E> {
        Ok(Value::Other)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Value::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let mut strings = Vec::new();
        let mut all_strings = true;
        while let Some(element) = seq.next_element::<Element<'de>>()? {
            match element {
                Element::String(s) => strings.push(s),
                Element::Other => all_strings = false,
            }
        }
        Ok(Value::Array {
            strings,
            all_strings,
        })
    }
}

/// An array element: a string, or anything else (skipped, but still checked for syntax).
enum Element<'a> {
    String(Cow<'a, str>),
    Other,
}

impl<'de> de::Deserialize<'de> for Element<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(ElementVisitor)
    }
}

struct ElementVisitor;

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Element<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Element<'de>, E> {
        Ok(Element::String(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Element<'de>, E> {
        Ok(Element::String(Cow::Owned(String::from(v))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Element<'de>, E> {
        Ok(Element::String(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Element<'de>, E> {
        Ok(Element::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Element<'de>, E> {
        Ok(Element::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Element<'de>, E> {
        Ok(Element::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Element<'de>, E> {
        Ok(Element::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Element<'de>, E> {
        Ok(Element::Other)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Element<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Element::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Element::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    fn q(s: &str) -> String {
        let mut out = Vec::new();
        quote(s, &mut out);
        assert_eq!(out.len(), quoted_len(s), "quoted_len of {s:?}");
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_strings_are_copied() {
        assert_eq!(q(""), r#""""#);
        assert_eq!(q("hello"), r#""hello""#);
        assert_eq!(q("é ü 日本 \u{7f}"), "\"é ü 日本 \u{7f}\"");
    }

    #[test]
    fn json_stringify_escapes() {
        assert_eq!(q("\"\\"), r#""\"\\""#);
        assert_eq!(q("\u{8}\t\n\u{c}\r"), r#""\b\t\n\f\r""#);
        assert_eq!(q("\0\u{1}\u{b}\u{1f}"), r#""\u0000\u0001\u000b\u001f""#);
        // '/' is not escaped by JSON.stringify.
        assert_eq!(q("</script>"), r#""</script>""#);
    }

    #[test]
    fn sockjs_extra_escapes() {
        assert_eq!(q("\u{2028}\u{2029}"), r#""\u2028\u2029""#);
        assert_eq!(
            q("\u{200b}\u{200c}\u{200f}\u{2010}"),
            "\"\u{200b}\\u200c\\u200f\u{2010}\""
        );
        assert_eq!(q("\u{2027}\u{202f}\u{2030}"), "\"\u{2027}\\u202f\u{2030}\"");
        assert_eq!(
            q("\u{205f}\u{2060}\u{206f}\u{2070}"),
            "\"\u{205f}\\u2060\\u206f\u{2070}\""
        );
        assert_eq!(
            q("\u{ffef}\u{fff0}\u{fffd}\u{ffff}"),
            "\"\u{ffef}\\ufff0\\ufffd\\uffff\""
        );
        // Not in sockjs-node's set: U+FEFF, U+200B, U+00AD.
        assert_eq!(q("\u{feff}\u{ad}"), "\"\u{feff}\u{ad}\"");
    }

    #[test]
    fn astral_characters_become_escaped_surrogate_pairs() {
        assert_eq!(q("😀"), r#""\ud83d\ude00""#);
        assert_eq!(
            q("a\u{10000}b\u{10ffff}"),
            r#""a\ud800\udc00b\udbff\udfff""#
        );
    }

    #[test]
    fn every_bmp_character_matches_the_table() {
        for cp in 0u32..=0xffff {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let s = c.to_string();
            let expected = match c {
                '"' => "\"\\\"\"".into(),
                '\\' => "\"\\\\\"".into(),
                '\u{8}' => "\"\\b\"".into(),
                '\t' => "\"\\t\"".into(),
                '\n' => "\"\\n\"".into(),
                '\u{c}' => "\"\\f\"".into(),
                '\r' => "\"\\r\"".into(),
                '\0'..='\u{1f}'
                | '\u{200c}'..='\u{200f}'
                | '\u{2028}'..='\u{202f}'
                | '\u{2060}'..='\u{206f}'
                | '\u{fff0}'..='\u{ffff}' => format!("\"\\u{cp:04x}\""),
                _ => format!("\"{c}\""),
            };
            assert_eq!(q(&s), expected, "U+{cp:04X}");
            // And it parses back.
            assert_eq!(parse_string(expected.as_bytes()).unwrap(), s);
        }
    }

    #[test]
    fn parse_borrows_unescaped_strings() {
        let Value::Array {
            strings,
            all_strings,
        } = parse(br#"["a", "b\nc"]"#).unwrap()
        else {
            panic!("not an array")
        };
        assert!(all_strings);
        assert!(matches!(strings[0], Cow::Borrowed("a")));
        assert!(matches!(&strings[1], Cow::Owned(s) if s == "b\nc"));
    }

    #[test]
    fn parse_reports_non_strings_after_checking_syntax() {
        let Value::Array {
            strings,
            all_strings,
        } = parse(br#"[1, "a", {"b": [null]}, true]"#).unwrap()
        else {
            panic!("not an array")
        };
        assert!(!all_strings);
        assert_eq!(strings, ["a"]);
        assert!(parse(br#"[1, "a"#).is_err());
        assert!(matches!(parse(b" 12 "), Ok(Value::Other)));
        assert!(parse(b"[] x").is_err());
        // A lone surrogate cannot be a Rust string.
        assert!(parse(br#"["\ud800"]"#).is_err());
        assert_eq!(parse_string(br#""\ud83d\ude00""#).unwrap(), "😀");
    }
}
