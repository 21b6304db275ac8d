//! The SockJS endpoint's HTTP decisions on arbitrary requests: never a panic; every header
//! it answers with is a valid field value when the request's were; what it routes to a
//! session names a valid session id; 405s carry `Allow` and no body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::handshake::AllowedOrigins;
use rfc6455_sockjs::endpoint::{Action, Endpoint, Method, Request};

/// An HTTP field value (RFC 9110 §5.5): visible ASCII, obs-text, space and tab.
fn valid_value(v: &[u8]) -> bool {
    v.iter().all(|&b| b == b'\t' || b >= 0x20 && b != 0x7f)
}

fuzz_target!(|data: &[u8]| {
    let mut fields = data.split(|&b| b == 0xff);
    let mut next = || fields.next().unwrap_or(b"");
    let flags = next().first().copied().unwrap_or(0);
    let method = [Method::Get, Method::Post, Method::Options, Method::Connect, Method::Other]
        [usize::from(flags % 5)];
    let path = String::from_utf8_lossy(next()).into_owned();
    let query = String::from_utf8_lossy(next()).into_owned();
    let values: Vec<&[u8]> = (0..5).map(|_| next()).collect();
    if !values.iter().all(|v| valid_value(v)) {
        return;
    }
    let mut endpoints = vec![Endpoint::new(), Endpoint::new().websocket(false).cookie_needed(true)];
    if let Ok(policy) = AllowedOrigins::same_origin().allow("https://app.example") {
        endpoints.push(Endpoint::new().allowed_origins(policy).sockjs_url("/\"<x>&"));
    }
    for endpoint in &endpoints {
        let mut request = Request::new(method, &path)
            .query(&query)
            .origin(values[0])
            .cors_request_headers(values[1])
            .content_type(values[2])
            .if_none_match(values[3])
            .host(values[4])
            .upgrade(flags & 0x80 != 0)
            .entropy(u32::from(flags))
            .now_unix_secs(u64::from(flags) << 30);
        if let Some(jsessionid) = rfc6455_sockjs::endpoint::find_jsessionid(values[1]) {
            request = request.jsessionid(jsessionid);
        }
        let answer = endpoint.answer(&request);
        assert!((101..600).contains(&answer.status));
        for (name, value) in &answer.headers {
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{name}");
            assert!(valid_value(value), "{name}: {value:?}");
        }
        match &answer.action {
            Action::Receive { session, .. } | Action::Send { session, .. } => {
                assert!(rfc6455_sockjs::SessionId::new(session).is_ok(), "{session:?}");
            }
            Action::Respond(body) if answer.status == 405 => {
                assert!(body.is_empty());
                assert!(answer.headers.iter().any(|(n, _)| *n == "allow"));
            }
            _ => {}
        }
    }
});
