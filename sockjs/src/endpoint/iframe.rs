//! The page iframe-based transports run in (`{base}/iframe.html`).
//!
//! sockjs-protocol `IframePage`: "Some transports don't support cross domain communication
//! (CORS). In order to support them we need to do a cross-domain trick: on remote (server)
//! domain we serve an simple html page, that loads back SockJS client javascript and is able
//! to communicate with the server within the same domain." The body "must be exactly as
//! specified, with the exception of `sockjs_url`, which should be configurable".

use alloc::string::String;
use core::fmt::Write;

const HEAD: &str = "<!DOCTYPE html>\n<html>\n<head>\n  \
<meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n  \
<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n  \
<script src=\"";
const TAIL: &str = "\"></script>\n  <script>\n    document.domain = document.domain;\n    \
SockJS.bootstrap_iframe();\n  </script>\n</head>\n<body>\n  <h2>Don't panic!</h2>\n  \
<p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>\n</body>\n</html>";

/// The page for `sockjs_url`, and its quoted ETag.
pub(crate) fn page(sockjs_url: &str) -> (String, String) {
    let mut page = String::with_capacity(HEAD.len() + sockjs_url.len() + TAIL.len());
    page.push_str(HEAD);
    // The URL sits in a double-quoted attribute: escape what could end it or start markup.
    for c in sockjs_url.chars() {
        match c {
            '"' => page.push_str("&quot;"),
            '&' => page.push_str("&amp;"),
            '<' => page.push_str("&lt;"),
            '>' => page.push_str("&gt;"),
            c => page.push(c),
        }
    }
    page.push_str(TAIL);
    // sockjs-protocol `test_cacheability`: "ETag headers must not change too often": the
    // same page has the same tag on every server and after every restart (sockjs-node uses
    // the page's MD5; any stable digest will do, FNV-1a needs no dependency).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in page.as_bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let mut etag = String::with_capacity(18);
    let _ = write!(etag, "\"{hash:016x}\"");
    (page, etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_is_the_protocols() {
        let (page, etag) = page("https://example.com/sockjs.js?a=1&b=\"2\"");
        assert_eq!(
            page,
            "<!DOCTYPE html>\n<html>\n<head>\n  \
<meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n  \
<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n  \
<script src=\"https://example.com/sockjs.js?a=1&amp;b=&quot;2&quot;\"></script>\n  \
<script>\n    document.domain = document.domain;\n    SockJS.bootstrap_iframe();\n  \
</script>\n</head>\n<body>\n  <h2>Don't panic!</h2>\n  \
<p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>\n</body>\n</html>"
        );
        assert_eq!(etag.len(), 18);
        assert!(etag.starts_with('"') && etag.ends_with('"'));
        assert_eq!(
            super::page("https://example.com/sockjs.js?a=1&b=\"2\"").1,
            etag
        );
        assert_ne!(super::page("/other.js").1, etag);
    }
}
