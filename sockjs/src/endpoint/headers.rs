//! The response headers SockJS asks for: CORS, caching, the `JSESSIONID` cookie, and the
//! HTTP date they need.

use alloc::borrow::Cow;
use alloc::vec::Vec;

/// One response header: a lower-case name and its value.
pub type Header<'a> = (&'static str, Cow<'a, [u8]>);

/// One year, in seconds: how long cacheable answers may be kept (sockjs-node `cache_for`:
/// `365 * 24 * 60 * 60`; sockjs-protocol: "max-age must be large, one year (31536000) is
/// best").
pub const ONE_YEAR_SECS: u64 = 365 * 24 * 60 * 60;

/// sockjs-protocol `verify_not_cached`: "Sometimes, due to transports limitations we need to
/// request private data using GET method. In such case it's very important to disallow any
/// caching." (`Cache-Control` exactly this, no `Expires`, no `Last-Modified`.)
pub const NO_CACHE: &str = "no-store, no-cache, no-transform, must-revalidate, max-age=0";

pub(crate) fn no_cache(out: &mut Vec<Header<'_>>) {
    out.push(("cache-control", Cow::Borrowed(NO_CACHE.as_bytes())));
}

/// sockjs-node `cache_for`: `Cache-Control: public, max-age=31536000` and an `Expires` a year
/// from now. sockjs-protocol (`verify_options`, `IframePage.verify`): "must be strongly
/// cacheable, supply Cache-Control, Expires [...]".
pub(crate) fn cache_for_a_year(now_unix_secs: u64, out: &mut Vec<Header<'_>>) {
    out.push((
        "cache-control",
        Cow::Borrowed(b"public, max-age=31536000".as_slice()),
    ));
    let mut date = Vec::with_capacity(29);
    http_date(now_unix_secs.saturating_add(ONE_YEAR_SECS), &mut date);
    out.push(("expires", Cow::Owned(date)));
}

/// sockjs-node `xhr_cors`: the request's `Origin` echoed with
/// `Access-Control-Allow-Credentials: true`, or `*` without credentials when there is none;
/// `Vary: Origin`; `Access-Control-Request-Headers` echoed as `Access-Control-Allow-Headers`.
///
/// sockjs-protocol `verify_cors`: "In order to get cookies (`JSESSIONID` mostly) flying, we
/// need to set `allow-credentials` header to true." and `test_request_headers_cors`: "When
/// client sends a CORS request with 'Access-Control-Request-Headers' header set, the server
/// must echo back this header as 'Access-Control-Allow-Headers'." An origin of `null` (a
/// `file:` page) is echoed too (`test_options_null_origin` expects `null`) — except by the
/// `eventsource` transport, which sockjs-node answers `*` then (`null_as_star`).
pub(crate) fn cors<'a>(
    origin: Option<&'a [u8]>,
    request_headers: Option<&'a [u8]>,
    null_as_star: bool,
    out: &mut Vec<Header<'a>>,
) {
    match origin {
        Some(o) if !(null_as_star && o == b"null") => {
            out.push(("access-control-allow-origin", Cow::Borrowed(o)));
            out.push((
                "access-control-allow-credentials",
                Cow::Borrowed(b"true".as_slice()),
            ));
        }
        _ => out.push((
            "access-control-allow-origin",
            Cow::Borrowed(b"*".as_slice()),
        )),
    }
    out.push(("vary", Cow::Borrowed(b"Origin".as_slice())));
    if let Some(h) = request_headers.filter(|h| !h.is_empty()) {
        out.push(("access-control-allow-headers", Cow::Borrowed(h)));
    }
}

/// The answer to a CORS preflight (sockjs-node `xhr_options` / `info_options`): the methods,
/// and a max-age of a year.
pub(crate) fn preflight(
    allow_methods: &'static str,
    now_unix_secs: u64,
    out: &mut Vec<Header<'_>>,
) {
    cache_for_a_year(now_unix_secs, out);
    out.push((
        "access-control-allow-methods",
        Cow::Borrowed(allow_methods.as_bytes()),
    ));
    out.push((
        "access-control-max-age",
        Cow::Borrowed(b"31536000".as_slice()),
    ));
}

/// The longest `JSESSIONID` value echoed back; longer ones are replaced by `dummy`.
pub const MAX_JSESSIONID_LEN: usize = 256;

/// The `JSESSIONID` value in one `Cookie` header value, if it is there and usable: at most
/// [`MAX_JSESSIONID_LEN`] bytes of RFC 6265 `cookie-octet`s (so that echoing it cannot
/// inject anything into `Set-Cookie`).
pub fn find_jsessionid(cookie_header: &[u8]) -> Option<&[u8]> {
    cookie_header.split(|&b| b == b';').find_map(|pair| {
        let eq = pair.iter().position(|&b| b == b'=')?;
        let (name, value) = (trim(&pair[..eq]), trim(&pair[eq + 1..]));
        let value = value
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(value);
        // RFC 6265 §4.1.1: cookie-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
        let octet =
            |b: &u8| matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e);
        (name == b"JSESSIONID"
            && !value.is_empty()
            && value.len() <= MAX_JSESSIONID_LEN
            && value.iter().all(octet))
        .then_some(value)
    })
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// sockjs-node `h_sid`: "Some load balancers do sticky sessions, but only if there is a
/// JSESSIONID cookie. If this cookie isn't yet set, we shall set it to a dummy value." — the
/// client's value echoed, else `dummy`, with `path=/` (sockjs-protocol `verify_cookie`).
pub(crate) fn jsessionid<'a>(value: Option<&'a [u8]>, out: &mut Vec<Header<'a>>) {
    let mut cookie = Vec::with_capacity(20 + value.map_or(5, <[u8]>::len));
    cookie.extend_from_slice(b"JSESSIONID=");
    cookie.extend_from_slice(value.unwrap_or(b"dummy"));
    cookie.extend_from_slice(b"; path=/");
    out.push(("set-cookie", Cow::Owned(cookie)));
}

/// Appends the IMF-fixdate of `unix_secs` (RFC 9110 §5.6.7), e.g.
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(unix_secs: u64, out: &mut Vec<u8>) {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    // Years past 9999 do not fit the format; nothing that far ahead is meaningful.
    let unix_secs = unix_secs.min(253_402_300_799);
    let days = unix_secs / 86_400;
    let secs = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let two = |n: u64, out: &mut Vec<u8>| {
        out.push(b'0' + (n / 10 % 10) as u8);
        out.push(b'0' + (n % 10) as u8);
    };
    out.extend_from_slice(DAYS[(days % 7) as usize]);
    out.extend_from_slice(b", ");
    two(day, out);
    out.push(b' ');
    out.extend_from_slice(MONTHS[(month - 1) as usize]);
    out.push(b' ');
    two(year / 100, out);
    two(year % 100, out);
    out.push(b' ');
    two(secs / 3600, out);
    out.push(b':');
    two(secs / 60 % 60, out);
    out.push(b':');
    two(secs % 60, out);
    out.extend_from_slice(b" GMT");
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31): Howard Hinnant's
/// `civil_from_days`, for dates from 1970 on.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(secs: u64) -> alloc::string::String {
        let mut out = Vec::new();
        http_date(secs, &mut out);
        alloc::string::String::from_utf8(out).unwrap()
    }

    #[test]
    fn http_dates() {
        // RFC 9110 §5.6.7's example.
        assert_eq!(date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(date(4_133_980_799), "Fri, 31 Dec 2100 23:59:59 GMT");
        assert_eq!(date(u64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn jsessionid_values() {
        assert_eq!(find_jsessionid(b"JSESSIONID=abcdef"), Some(&b"abcdef"[..]));
        assert_eq!(
            find_jsessionid(b"a=b; JSESSIONID = \"x.y\" ; c=d"),
            Some(&b"x.y"[..])
        );
        assert_eq!(find_jsessionid(b"jsessionid=abc"), None);
        assert_eq!(find_jsessionid(b"JSESSIONID="), None);
        assert_eq!(find_jsessionid(b"JSESSIONID=a,b"), None);
        assert_eq!(find_jsessionid(b"JSESSIONID=a\\b"), None);
        let long = [b'x'; MAX_JSESSIONID_LEN + 1];
        let mut header = b"JSESSIONID=".to_vec();
        header.extend_from_slice(&long);
        assert_eq!(find_jsessionid(&header), None);
    }
}
